"""Surrogate saves into an existing empty folder fill it in place (its inode, permissions and mount kept, only
it must be writable), any --out name the file system takes works, and a failed save is one line."""

from __future__ import annotations

import os

import pytest
from test_fix46_surr import err_line, knn_surrogate, table  # noqa: F401 - table is a fixture

from nasforge.benchmarks import SurrogateBenchmark
from nasforge.benchmarks import surrogate as module
from nasforge.cli import main

ARTIFACT = ["holdout.json", "manifest.json", "val_acc"]


# -- R1/R2: an existing empty folder is filled in place ----------------------------------------------------------
def test_an_empty_folder_is_filled_in_place_keeping_its_inode_and_mode(tmp_path):
    """Would fail: the folder was replaced by the staging folder (another inode, the umask's mode; a mount point
    could not be replaced at all)."""
    out = tmp_path / "empty"
    out.mkdir()
    out.chmod(0o750)
    before = out.stat()
    knn_surrogate().save(out)
    after = out.stat()
    assert (after.st_ino, after.st_mode, after.st_uid) == (before.st_ino, before.st_mode, before.st_uid)
    assert sorted(p.name for p in out.iterdir()) == ARTIFACT
    assert SurrogateBenchmark.load(out).metrics == ["val_acc"] and [p.name for p in tmp_path.iterdir()] == ["empty"]


def test_out_dot_fills_the_working_folder(table, tmp_path, capsys, monkeypatch):
    """Would fail: the user's working folder was swapped for a new one, so it looked empty afterwards."""
    (tmp_path / "dot").mkdir()
    monkeypatch.chdir(tmp_path / "dot")
    assert main(["surrogate", "fit", "--table", str(table), "--model", "knn", "--out", "."]) == 0
    assert sorted(os.listdir(".")) == ARTIFACT


# -- R3: only --out itself must be writable ----------------------------------------------------------------------
def test_an_empty_out_is_staged_in_and_probed_itself_not_its_parent(table, tmp_path, capsys, monkeypatch):
    """Would fail: the parent was probed and the staging folder made there (a read-only parent was refused)."""
    import nasforge.writes

    out = tmp_path / "shared" / "out"
    out.mkdir(parents=True)
    probed, staged = [], []
    check_folder, write = nasforge.writes.check_folder, SurrogateBenchmark._write
    monkeypatch.setattr(nasforge.writes, "check_folder", lambda folder, name: probed.append(folder) or
                        check_folder(folder, name))
    monkeypatch.setattr(SurrogateBenchmark, "_write", lambda self, folder: staged.append(folder) or write(self, folder))
    assert main(["surrogate", "fit", "--table", str(table), "--model", "knn", "--out", str(out)]) == 0
    assert probed == [out] and staged[0].parent == out
    assert sorted(p.name for p in out.iterdir()) == ARTIFACT


# -- R4: a long name, and any OSError in one line ----------------------------------------------------------------
@pytest.mark.parametrize("overwrite", [False, True])
def test_a_long_folder_name_saves(tmp_path, overwrite):
    """Would fail: the staging name (the folder's name + about 20 characters) was over the 255 the file system
    allows (File name too long)."""
    out = tmp_path / ("n" * (240 if overwrite else 250))
    if overwrite:
        knn_surrogate().save(out)
    knn_surrogate(["val_acc", "params"]).save(out, overwrite=overwrite)
    assert SurrogateBenchmark.load(out).metrics == ["val_acc", "params"]
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_an_os_error_of_the_save_is_one_line(table, tmp_path, capsys, monkeypatch):
    """Would fail: the OSError was a traceback (exit 1)."""
    def full(self, folder):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SurrogateBenchmark, "_write", full)
    out = tmp_path / "out"
    assert main(["surrogate", "fit", "--table", str(table), "--model", "knn", "--out", str(out)]) == 2
    assert err_line(capsys).endswith(f"--out {out}: cannot save the surrogate (No space left on device)")
    assert list(tmp_path.iterdir()) == []


# -- races: the loser removes only its own staging folder --------------------------------------------------------
def test_a_run_that_filled_the_folder_meanwhile_wins_and_the_loser_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "race"
    out.mkdir()
    other, write = knn_surrogate("params"), SurrogateBenchmark._write

    def racing(self, folder):  # the other run, past its checks, stages inside out too and moves in first
        write(self, folder)
        theirs = out / ".nasforge-staging.1.0123abcd"
        write(other, theirs)
        module._fill_in_place(theirs, out, out)
        theirs.rmdir()

    monkeypatch.setattr(SurrogateBenchmark, "_write", racing)
    with pytest.raises(ValueError, match="it was filled while the surrogate was fitted"):
        knn_surrogate().save(out)
    assert SurrogateBenchmark.load(out).metrics == ["params"]
    assert sorted(p.name for p in out.iterdir()) == ["holdout.json", "manifest.json", "params"]


def test_another_runs_staging_folder_is_left_alone_and_a_foreign_file_refuses(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    theirs = out / ".nasforge-staging.1.0123abcd"
    write = SurrogateBenchmark._write
    monkeypatch.setattr(SurrogateBenchmark, "_write", lambda self, folder: write(self, folder) or theirs.mkdir())
    knn_surrogate().save(out)
    assert sorted(p.name for p in out.iterdir()) == [theirs.name, *ARTIFACT]
    out2 = tmp_path / "out2"
    out2.mkdir()
    monkeypatch.setattr(SurrogateBenchmark, "_write",
                        lambda self, folder: write(self, folder) or (out2 / "notes.txt").write_text("mine"))
    with pytest.raises(ValueError, match="it was filled while the surrogate was fitted"):
        knn_surrogate().save(out2)
    assert [p.name for p in out2.iterdir()] == ["notes.txt"]


def test_a_failure_while_moving_puts_everything_back(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()

    write = SurrogateBenchmark._write

    def failing(src, dst):
        raise OSError(5, "Input/output error")

    def written(self, folder):  # then the manifest, moved last, fails
        write(self, folder)
        monkeypatch.setattr(module.os, "replace", failing)

    monkeypatch.setattr(SurrogateBenchmark, "_write", written)
    with pytest.raises(OSError, match="Input/output error"):
        knn_surrogate().save(out)
    assert list(out.iterdir()) == []


def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_save_killed_while_it_wrote_leaves_no_folder_that_refuses_the_next_save(tmp_path):
    """Would fail (regression review): the staging folder a killed save left inside an empty --out made every later
    save and --overwrite refuse that folder as not empty."""
    out = tmp_path / "out"
    (out / f".nasforge-staging.{_dead_pid()}.deadbeef" / "val_acc").mkdir(parents=True)
    knn_surrogate().save(out)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    assert SurrogateBenchmark.load(out).metrics == ["val_acc"]


def test_a_save_killed_while_it_moved_its_files_in_is_named(tmp_path):
    """Would fail (regression review): a kill between the claim and the last move left an empty manifest.json, so the
    next fit said 'already holds a surrogate ... pass --overwrite' and --overwrite said 'not valid JSON'."""
    from nasforge.exceptions import UsageError

    out = tmp_path / "out"
    out.mkdir()
    (out / ".nasforge-staging.claim").write_text(str(_dead_pid()))
    (out / "holdout.json").write_text("[]")
    with pytest.raises(UsageError, match="a save into it was stopped while it moved its files in"):
        knn_surrogate().save(out)


def test_a_running_saves_staging_folder_is_named_as_such(tmp_path):
    from nasforge.exceptions import UsageError

    out = tmp_path / "out"
    (out / f".nasforge-staging.{os.getpid()}.cafebabe").mkdir(parents=True)
    with pytest.raises(UsageError, match="another save into it is running"):
        knn_surrogate().save(out)
