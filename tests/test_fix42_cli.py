"""Study management on the command line (review 42): a run's name, its folder, and what other commands may write
there (report, bench, trials, export), and one-line errors for misplaced arguments and an empty --out."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest

from nasforge.cli import build_parser, main
from nasforge.exceptions import UsageError
from nasforge.pipelines.search import SearchConfig, _password_dropped, resume_command, valid_name

SEARCH = ["search", "--trials", "1", "--workers", "1", "--retrain", "0", "--search-epochs", "1", "--threads", "1",
          "--no-progress"]
BENCH = ["bench", "--strategies", "random", "--seeds", "2", "--trials", "20"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A finished ``nasforge search`` run folder (study 'r'), to be copied, not changed."""
    out = tmp_path_factory.mktemp("run") / "run"
    assert main([*SEARCH, "--out", str(out), "--name", "r"]) == 0
    return out


@pytest.fixture(scope="module")
def bench(tmp_path_factory, nb201_table) -> Path:
    """A ``nasforge bench --out`` folder with its report, to be copied, not changed."""
    out = tmp_path_factory.mktemp("bench") / "bench"
    assert main([*BENCH, "--out", str(out)]) == 0
    assert main(["report", str(out)]) == 0
    return out


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


def _title(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return text[text.index("<title>") + 7:text.index("</title>")]


def test_report_of_a_run_found_by_its_name_replaces_that_folders_report(run, tmp_path, monkeypatch, capsys):
    """It wrote a new ./demo/report.html and left nasforge-runs/demo/report.html as it was."""
    folder = _copy(run, tmp_path / "nasforge-runs" / "demo")
    (folder / "report.html").write_text("")  # empty: taken, so the test sees it written
    monkeypatch.chdir(tmp_path)
    assert main(["report", "demo"]) == 0
    assert "wrote nasforge-runs/demo/report.html" in capsys.readouterr().out
    assert not (tmp_path / "demo").exists() and _title(folder / "report.html").startswith("nasforge study")


@pytest.mark.parametrize("name", ["foo.db", "FOO.DB", "-x", "--x"])
def test_a_new_run_name_that_commands_would_read_as_a_path_or_an_option_is_refused(name, tmp_path, capsys):
    with pytest.raises(UsageError, match="not starting with '-'.*not ending in '.db'"):
        SearchConfig(name=name).validate()
    SearchConfig(name=name).validate(resumed=True)  # a study stored so before stays resumable
    assert valid_name(name, new=False) and not valid_name(name)
    assert main([*SEARCH, f"--name={name}", "--out", str(tmp_path / "o")]) == 2
    assert "--name must be" in _one_line(capsys) and not (tmp_path / "o").exists()


def test_a_run_named_like_a_database_before_is_found_by_its_name(run, tmp_path, monkeypatch, capsys):
    """status/trials/resume foo.db exited 2 naming ./nasforge.db, which was never there."""
    _copy(run, tmp_path / "nasforge-runs" / "foo.db")
    monkeypatch.chdir(tmp_path)
    assert main(["status", "foo.db"]) == 0
    assert "study 'r'" in capsys.readouterr().out
    assert main(["status", "bar.db"]) == 2
    err = _one_line(capsys)
    assert "'bar.db' is no run folder (no such folder), nor a run name (nasforge-runs/bar.db/ does not exist)" in err
    assert "nasforge.db" not in err  # not there: not read


def test_the_resume_command_of_a_name_starting_with_a_dash_runs_as_printed(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    command = resume_command("-x", url)
    assert command == f"nasforge resume --storage {url} -- -x"
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert (args.study, args.storage) == ("-x", url)
    assert _password_dropped(f"nasforge resume -x --storage {url}") == command  # a summary.json written before
    assert resume_command("x", url) == f"nasforge resume x --storage {url}"  # other names as before


def test_a_study_name_read_as_an_option_says_to_put_it_after_dashes(capsys):
    assert main(["status", "-x"]) == 2
    assert "'-x' was read as an option: an argument starting with '-' goes after '--' (nasforge status " \
           "[OPTIONS] -- -x)" in _one_line(capsys)
    assert main(["status"]) == 2
    assert "read as an option" not in _one_line(capsys)


def test_an_option_after_dashes_is_not_a_near_miss_of_itself(capsys):
    """It said "--limit: did you mean --limit?"."""
    assert main(["trials", "--", "somestudy", "--limit", "1"]) == 2
    err = _one_line(capsys)
    assert "did you mean" not in err and "--limit: an option after '--' is read as an argument; put it before " \
                                        "'--'" in err
    assert main(["--overwrite", "trials", "s"]) == 2
    assert "--overwrite: an option of nasforge trials; give it after the command name" in _one_line(capsys)


def test_bench_refuses_a_search_run_folder(run, tmp_path, capsys, nb201_table):
    """The bench files went into the run folder; a later bench --overwrite then removed the run's report."""
    folder = _copy(run, tmp_path / "run")
    before = sorted(p.name for p in folder.iterdir())
    assert main([*BENCH, "--out", str(folder), "--overwrite"]) == 2
    assert "is the folder of a 'nasforge search' run (study.db)" in _one_line(capsys)
    assert sorted(p.name for p in folder.iterdir()) == before


def test_search_refuses_a_bench_folder(tmp_path, capsys):
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "bench.json").write_text("{}")
    assert main([*SEARCH, "--out", str(folder), "--name", "s"]) == 2
    assert "holds the results of 'nasforge bench --out'" in _one_line(capsys)
    assert sorted(p.name for p in folder.iterdir()) == ["bench.json"]


def test_report_does_not_replace_the_other_kinds_report_in_a_shared_folder(run, bench, tmp_path, capsys):
    """A bench and a run sharing a folder (made before both were refused): the bench report replaced the study's."""
    mixed = _copy(run, tmp_path / "mixed")
    for name in ("bench.json", "bench_curves.csv", "bench_regret.png"):
        shutil.copy(bench / name, mixed / name)
    assert main(["report", str(mixed)]) == 2
    assert "is the report of a 'nasforge search' study sharing this folder" in _one_line(capsys)
    assert _title(mixed / "report.html").startswith("nasforge study")
    assert main(["report", str(mixed), "--overwrite"]) == 0
    assert _title(mixed / "report.html").startswith("nasforge bench")
    capsys.readouterr()
    other = _copy(run, tmp_path / "other")  # a run folder whose report.html is a bench report
    shutil.copy(bench / "report.html", other / "report.html")
    assert main(["report", str(other)]) == 2
    assert "is the report of a 'nasforge bench' run sharing this folder" in _one_line(capsys)
    assert _title(other / "report.html").startswith("nasforge bench")


def test_the_refusal_of_a_copied_run_folder_names_the_copys_own_resume(run, tmp_path, capsys):
    """It named the original's command, which rewrites the original's outputs; and still after a delete."""
    copy = _copy(run, tmp_path / "copy")
    assert main([*SEARCH, "--out", str(copy), "--name", "new"]) == 2
    err = _one_line(capsys)
    own = resume_command("r", f"sqlite:///{copy.resolve() / 'study.db'}")
    assert f"rewrite its outputs with: {own})" in err
    assert str(run) not in err
    assert main(["delete", str(copy), "--yes"]) == 0
    capsys.readouterr()
    assert main([*SEARCH, "--out", str(copy), "--name", "new"]) == 2
    assert "rewrite its outputs" not in _one_line(capsys)


@pytest.mark.parametrize("suffix", [".parquet", ".feather", ".xlsx", ".pkl"])
def test_trials_refuses_a_file_name_of_a_format_it_does_not_write(run, tmp_path, capsys, suffix):
    out = tmp_path / f"t{suffix}"
    assert main(["trials", str(run), "--out", str(out)]) == 2
    assert "trials writes no" in _one_line(capsys) and not out.exists()


@pytest.mark.parametrize("argv", [["bench"], ["predictors", "eval"], ["export", "RUN"], ["trials", "RUN"],
                                  ["report", "RUN"], ["search"], ["surrogate", "eval", "ARTIFACT"],
                                  ["oneshot", "train"]])
def test_an_empty_out_is_refused_in_one_line(argv, run, tmp_path, monkeypatch, capsys):
    """bench, predictors eval and export wrote into the working directory; trials printed to stdout."""
    monkeypatch.chdir(tmp_path)
    argv = [str(run) if word == "RUN" else word for word in argv]
    for empty in ("", " "):
        assert main([*argv, "--out", empty]) == 2
        what = {"trials": "a file (or '-': standard output)", "report": "a file"}.get(argv[0], "a file or folder")
        assert f"--out must name {what}, got {empty!r}" in _one_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_a_suffix_that_is_not_the_formats(tmp_path):
    from nasforge.export import export_target

    with pytest.raises(UsageError, match=r"\.xyz is not the suffix of onnx files; name the file model\.onnx"):
        export_target(tmp_path, "onnx", str(tmp_path / "model.xyz"))
    assert not (tmp_path / "model.xyz").exists()
    assert export_target(tmp_path, "onnx", str(tmp_path / "m.ONNX")) == tmp_path / "m.ONNX"  # any case
    assert export_target(tmp_path, "torchscript", str(tmp_path / "m.pt")) == tmp_path / "m.pt"


def test_trials_overwrite_replaces_its_own_export_of_another_format(run, tmp_path, capsys):
    out = tmp_path / "t.txt"
    assert main(["trials", str(run), "--out", str(out)]) == 0
    assert main(["trials", str(run), "--out", str(out), "--format", "json"]) == 2  # without --overwrite: kept
    assert "holds an earlier 'nasforge trials' export already" in _one_line(capsys)
    assert main(["trials", str(run), "--out", str(out), "--format", "json", "--overwrite"]) == 0
    assert json.loads(out.read_text())["name"] == "r"
    (tmp_path / "own.txt").write_text("my notes\n")
    assert main(["trials", str(run), "--out", str(tmp_path / "own.txt"), "--overwrite"]) == 2  # never a foreign file
    assert (tmp_path / "own.txt").read_text() == "my notes\n"
