"""The never-overwrite file helpers (nasforge.writes)."""

import os

import pytest

from nasforge.exceptions import UsageError
from nasforge.writes import check_target, new_folders_removed_on_failure, write_atomic, write_figure


def test_write_atomic_writes_through_a_symbolic_link_and_keeps_it(tmp_path):
    real = tmp_path / "data" / "trials.csv"
    real.parent.mkdir()
    real.write_text("number,state,arch\n")
    link = tmp_path / "latest.csv"
    link.symlink_to(real)
    assert write_atomic(link, "number,state,arch\n0,COMPLETE,x\n", "--out") == link
    assert link.is_symlink() and os.path.realpath(link) == str(real)
    assert real.read_text().endswith("0,COMPLETE,x\n")
    assert sorted(p.name for p in real.parent.iterdir()) == ["trials.csv"]  # no temporary file left


def test_a_file_kept_in_a_run_folder_is_no_link_written_through(tmp_path):
    real = tmp_path / "mine.csv"
    real.write_text("number,state,arch\n")  # even a file that looks like one of ours: it is outside the folder
    link = tmp_path / "run" / "trials.csv"
    link.parent.mkdir()
    link.symlink_to(real)
    with pytest.raises(UsageError, match="is a symbolic link .*not writing through it"):
        check_target(link, "out", lambda _p: True, "a trials file", links=False)
    write_atomic(link, "number,state,arch\n0,COMPLETE,x\n", "out", follow=False)
    assert not link.is_symlink() and link.read_text().endswith("0,COMPLETE,x\n")
    assert real.read_text() == "number,state,arch\n"  # the link was replaced, its target left alone


def test_check_target_refuses_what_is_not_its_own_output(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("precious")
    with pytest.raises(UsageError, match="--out 'notes.txt'|exists and is not an earlier export"):
        check_target(notes, "--out", lambda _p: False, "an earlier export")
    blank = tmp_path / "blank.csv"
    blank.write_text("  \n")
    assert check_target(blank, "--out", lambda _p: False, "an earlier export") == blank


def test_check_target_names_a_path_too_long_for_the_file_system(tmp_path):
    for path in (tmp_path / ("a" * 300 + ".csv"), tmp_path / ("a" * 300) / "trials.csv"):
        with pytest.raises(UsageError, match="--out '.*': File name too long"):
            check_target(path, "--out", lambda _p: False, "an earlier export")


def test_write_figure_uses_the_suffix_format_closes_the_figure_and_keeps_the_old_file_on_failure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    assert write_figure(fig, tmp_path / "a.svg", "plot") == tmp_path / "a.svg"
    assert b"<svg" in (tmp_path / "a.svg").read_bytes()
    assert not plt.fignum_exists(fig.number)
    fig, _ = plt.subplots()
    write_figure(fig, tmp_path / "b", "plot")
    assert (tmp_path / "b").read_bytes().startswith(b"\x89PNG")
    (tmp_path / "c.xyz").write_text("keep me")
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="xyz"):
        write_figure(fig, tmp_path / "c.xyz", "plot")
    assert (tmp_path / "c.xyz").read_text() == "keep me" and not plt.fignum_exists(fig.number)


def test_new_folders_removed_on_failure_removes_only_the_empty_folders_it_found_missing(tmp_path):
    (tmp_path / "old").mkdir()
    with pytest.raises(KeyboardInterrupt):
        with new_folders_removed_on_failure(tmp_path / "old" / "a" / "b"):
            (tmp_path / "old" / "a" / "b").mkdir(parents=True)
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"] and not any((tmp_path / "old").iterdir())
    with pytest.raises(RuntimeError):
        with new_folders_removed_on_failure(tmp_path / "c" / "d"):
            (tmp_path / "c" / "d").mkdir(parents=True)
            (tmp_path / "c" / "kept.txt").write_text("written meanwhile")
            raise RuntimeError("boom")
    assert not (tmp_path / "c" / "d").exists() and (tmp_path / "c" / "kept.txt").exists()
    with new_folders_removed_on_failure(tmp_path / "e"):
        (tmp_path / "e").mkdir()
    assert (tmp_path / "e").is_dir()  # success keeps what the block made
