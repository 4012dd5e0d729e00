"""One builder for the commands nasforge prints and stores for a stored study (resume, trials, rerun hints)."""

from nasforge.experiment.storage.display import study_command
from nasforge.pipelines.search import recorded_study, resume_command


def test_study_command_quotes_hides_the_password_and_puts_a_dash_name_after_double_dash():
    url = "postgresql://me:secret@host/db"
    assert study_command("trials", "my study", url, "--out", "trials.csv") == \
        "nasforge trials 'my study' --storage postgresql://me@host/db --out trials.csv"
    assert study_command("resume", "-x", "sqlite:///a b.db", "--evaluator", "pkg.mod:make") == \
        "nasforge resume --storage 'sqlite:///a b.db' --evaluator pkg.mod:make -- -x"


def test_resume_command_keeps_the_spelling_stored_summaries_hold():
    assert resume_command("s", "sqlite:///runs/r/study.db") == "nasforge resume s --storage sqlite:///runs/r/study.db"
    assert resume_command("-s", "sqlite:///x.db") == "nasforge resume --storage sqlite:///x.db -- -s"
    assert recorded_study(resume_command("-s", "sqlite:///x.db")) == ("-s", "sqlite:///x.db")


def _ascii_run(tmp_path, *argv):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONIOENCODING": "ascii", "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-m", "nasforge", *argv], capture_output=True, text=True, env=env,
                          cwd=tmp_path, encoding="ascii", errors="strict")


def test_status_hint_and_studies_table_on_an_ascii_stdout_name_the_study_itself(tmp_path):
    """Would fail: the hint printed nasforge resume '\\xe9-run' ... (another study, when copied), and the studies
    table measured 'é-run' (5 cells) but printed '\\xe9-run' (8), shifting that row's columns."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'enc.db'}"
    make = ("from nasforge import Study; s = Study('nb201', 'random', objectives='val_acc', seed=0, name='é-run', "
            f"storage={url!r}); s.ask()")  # a RUNNING trial whose process is gone once this one exits
    subprocess.run([sys.executable, "-c", make], check=True)
    status = _ascii_run(tmp_path, "status", "é-run", "--storage", url)
    assert status.returncode == 0, status.stderr
    running = [line for line in status.stdout.splitlines() if line.startswith("running:")]
    assert f"(its process is gone: Study.load('\\xe9-run', '{url}').optimize(evaluator, n_trials) in Python" \
        in running[0], status.stdout  # a Python string: its backslash escape names the study
    assert _ascii_run(tmp_path, "status", "--storage", url, "--", "\\xe9-run").returncode == 2  # another name
    table = _ascii_run(tmp_path, "studies", "--storage", url)
    lines = table.stdout.splitlines()
    header, row = lines[0], lines[2]
    assert row.startswith("\\xe9-run") and row.index("nb201") == header.index("space"), table.stdout


def test_a_shell_word_is_spelled_for_the_stream_and_a_python_argument_left_to_its_escapes():
    import io

    from nasforge.cli.output import shown_on

    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    text = "nasforge resume 'é' --storage x or Study.load('é', 'sqlite:///é.db').resume(evaluator)"
    assert shown_on(text, ascii_out) == \
        "nasforge resume $'\\u00e9' --storage x or Study.load('é', 'sqlite:///é.db').resume(evaluator)"


def test_names_listed_in_an_error_keep_their_shell_spelling_beside_a_python_call():
    """Review regression c: the names of 'studies: [...]' lost their $'...' spelling with the Python-call rule."""
    import io

    from nasforge.cli.output import shown_on

    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert shown_on("no study 'x'; studies: ['é-a', 'é-b']", ascii_out) == \
        "no study 'x'; studies: [$'\\u00e9-a', $'\\u00e9-b']"


def test_a_table_rendered_into_a_buffer_is_measured_as_standard_output_writes_it(monkeypatch):
    """Review regression c: nasforge trials renders its table into a StringIO first, measured as UTF-8."""
    import io
    import sys

    from nasforge.cli.output import print_rows

    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    out = io.StringIO()
    print_rows([{"error": "échec", "n": 1}, {"error": "ok", "n": 2}], out=out, width=80)
    header, _, first, second = out.getvalue().splitlines()
    assert first.startswith("\\xe9chec") and first.index("1") == second.index("2") == header.index("n")


def test_a_trials_table_written_to_a_file_is_utf8_whatever_stdouts_encoding(tmp_path):
    """Review regression f: with an ASCII stdout, trials --format table --out t.txt wrote 'donn\\xe9es' into the
    UTF-8 file (the table was measured and escaped for stdout)."""
    from nasforge import Result, Study

    url = f"sqlite:///{tmp_path / 'f.db'}"
    study = Study("nb201", "random", objectives="val_acc", seed=0, name="tr", storage=url)
    study.optimize(lambda arch: Result(status="failed", error="données manquantes — naïve"), 1, progress=False)
    done = _ascii_run(tmp_path, "trials", "tr", "--storage", url, "--format", "table", "--out", "t.txt")
    assert done.returncode == 0, done.stderr
    assert "données manquantes — naïve" in (tmp_path / "t.txt").read_text(encoding="utf-8")
