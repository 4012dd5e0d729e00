"""A blank path option (usually an unset shell variable) is refused in one line, naming the option, before any work:
it used to read the working directory (--data-dir, --supernet, --table, ARTIFACT) or, for --space-config, run the
space's defaults without a word."""
import pytest

from nasforge.cli import main


@pytest.mark.parametrize("argv, option, what", [
    (["search", "--space-config", "", "--out", "{tmp}"], "--space-config", "a file"),
    (["search", "--space-module", " ", "--out", "{tmp}"], "--space-module", "a Python file and a name in it"),
    (["search", "--data", "npz", "--data-dir", "", "--out", "{tmp}"], "--data-dir", "a file or folder"),
    (["search", "--evaluator", "supernet", "--supernet", "", "--out", "{tmp}"], "--supernet", "a folder"),
    (["bench", "--table", "", "--out", "{tmp}"], "--table", "a file"),
    (["surrogate", "info", ""], "ARTIFACT", "a folder"),
    (["oneshot", "search", "--checkpoint", ""], "--checkpoint", "a folder"),
    (["oneshot", "search", "--supernet", " "], "--supernet", "a folder"),
    (["report", "x", ""], "STUDY", "a study (its name in --storage) or a 'nasforge search' run folder"),
    (["status", ""], "STUDY", "a study (its name in --storage) or a 'nasforge search' run folder"),
    (["resume", " "], "STUDY", "a study (its name in --storage) or a 'nasforge search' run folder"),
    (["oneshot", "search", "--supernet", "x", "--data-dir", " "], "--data-dir", "a file or folder"),
    (["report", "x", "--out", ""], "--out", "a file"),
    (["search", "--out", ""], "--out", "a file or folder"),
])
def test_a_blank_path_is_refused_in_one_line(argv, option, what, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = str(tmp_path / "out")
    assert main([a.replace("{tmp}", out) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"error: {option} must name {what}, got " in err, err
    assert "(an unset shell variable?)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written, no study stored
