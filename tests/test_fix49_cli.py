"""Fixes of round 49, topic cli: a storage URL whose port is no number, a closed standard error, stage 2's ETA."""

import pytest

from nasforge.cli import main


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# -- a storage URL that cannot be parsed: search and resume give the one line every command gives ----------------
@pytest.mark.parametrize("url", ["postgresql+psycopg://nf:secretpw@127.0.0.1:notaport/db",
                                 "postgresql+psycopg://nf:secretpw@[::1/db"])
@pytest.mark.parametrize("command", [["search", "--trials", "2", "--retrain", "0"], ["resume", "s"]])
def test_search_and_resume_refuse_a_url_whose_port_is_no_number_in_one_line(tmp_path, monkeypatch, capsys, url,
                                                                               command):
    monkeypatch.chdir(tmp_path)
    out = ["--out", str(tmp_path / "run")] if command[0] == "search" else []
    assert main([*command, *out, "--storage", url]) == 2
    err = one_line(capsys.readouterr().err)
    assert f"{command[0]}: error: bad storage URL 'postgresql+psycopg://nf:***@" in err
    assert "its port is not a number" in err and "secretpw" not in err
    assert list(tmp_path.iterdir()) == []  # no run folder made
