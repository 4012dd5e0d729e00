"""kill -9 review (stop 50): what a killed command leaves is accepted or removed by the next command that writes
there. Each leftover is constructed as the kill leaves it (a dead process's id in its name), not made by a kill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch
from predictor_data import seed_table

from nasforge.benchmarks import SurrogateBenchmark, TabularBenchmark
from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.export import export_model, save_model
from nasforge.models import create_model
from nasforge.oneshot import build_supernet, checkpoint
from nasforge.spaces import ChainSpace, NASBench201Space
from nasforge.writes import DEAD_TEMPORARY_AGE, write_atomic

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SPACE = ChainSpace([["conv3", "skip"], ["conv3", "conv5"]], name="tiny")
DIGITS = {"input_shape": [1, 8, 8], "scale": 1 / 16, "mean": [0.0], "std": [1.0],
          "class_names": [str(i) for i in range(10)]}


@pytest.fixture(scope="module")
def dead_pid():
    """The id of a process that has exited (and was reaped)."""
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)


@pytest.fixture
def network(tmp_path):
    """A small saved chain network."""
    arch = SPACE.parse("conv3|conv5")
    torch.manual_seed(0)
    net = create_model("chain", arch, num_classes=10, in_channels=1, C=4)
    return save_model(tmp_path / "net", net, model_name="chain", arch=arch, model_kwargs={"C": 4}, num_classes=10,
                      in_channels=1, preprocessing=DIGITS)


def _leave(folder, name, directory=False):
    """A leftover ``name`` in ``folder``: a partial file, or a staging folder holding one."""
    path = folder / name
    if directory:
        path.mkdir()
        path = path / "model.json"
    path.write_text("partial")
    left = time.time() - DEAD_TEMPORARY_AGE - 1  # left unchanged since the kill, longer than a live writer's
    os.utime(path, (left, left))
    os.utime(folder / name, (left, left))
    return folder / name


def test_a_fresh_temporary_file_of_a_process_gone_here_stays(tmp_path, dead_pid):
    """Would fail: a writer on another machine sharing the folder has a process id unknown here, and its file was
    removed while it wrote (its rename then failed)."""
    fresh = tmp_path / f".r.html.{dead_pid}.u51pn0yp.tmp"
    fresh.write_text("being written")
    write_atomic(tmp_path / "r.html", "x", "--out")
    assert fresh.exists()


def test_a_write_removes_the_temporary_files_killed_writers_of_its_target_left(tmp_path, dead_pid):
    """report, bench, predictors eval, oneshot study, trials --out...: every write_atomic of a target removes the
    temporary files of that target whose writer is gone; a live writer's, another target's, others stay."""
    gone = [_leave(tmp_path, f".r.html.{dead_pid}.u51pn0yp.tmp"), _leave(tmp_path, f".r.html.{dead_pid}.ab_cd012.tmp")]
    kept = [_leave(tmp_path, f".r.html.{os.getpid()}.u51pn0yp.tmp"),  # a live writer's (this process's)
            _leave(tmp_path, f".r.html.json.{dead_pid}.u51pn0yp.tmp"),  # another target's
            _leave(tmp_path, f".t.csv.{dead_pid}.u51pn0yp.tmp"),
            _leave(tmp_path, f".r.html.{10**30}.u51pn0yp.tmp"),  # no process has such an id
            _leave(tmp_path, ".r.html.u51pn0yp.tmp"), _leave(tmp_path, "notes.tmp")]
    write_atomic(tmp_path / "r.html", "<html></html>", "--out")
    assert (tmp_path / "r.html").read_text() == "<html></html>"
    assert not any(path.exists() for path in gone) and all(path.exists() for path in kept)


@pytest.mark.parametrize("fmt, suffix", [("safetensors", "safetensors"), ("onnx", "onnx")])
def test_an_export_removes_the_model_copies_a_killed_export_left(tmp_path, network, dead_pid, fmt, suffix):
    """export_model's own temporary model file is no write_atomic's: a killed export's copy stayed for good."""
    out = tmp_path / "out" / f"m.{suffix}"
    out.parent.mkdir()
    left = _leave(out.parent, f".m.{suffix}.{dead_pid}.0123abcd.tmp")
    export_model(network, fmt, out)
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name, f"{out.name}.json"]


def test_a_save_removes_the_staging_folder_a_killed_save_of_its_folder_left(tmp_path, dead_pid):
    left = _leave(tmp_path, f".net.{dead_pid}.0123abcd.tmp", directory=True)
    other = _leave(tmp_path, f".net2.{dead_pid}.0123abcd.tmp", directory=True)
    arch = SPACE.parse("conv3|conv5")
    save_model(tmp_path / "net", create_model("chain", arch, num_classes=10, in_channels=1, C=4), model_name="chain",
               arch=arch, model_kwargs={"C": 4}, num_classes=10, in_channels=1, preprocessing=DIGITS)
    assert not left.exists() and other.exists()


@pytest.fixture(scope="module")
def surrogate():
    table = TabularBenchmark(seed_table(60, seeds=1, noise=1.0), NASBench201Space(), name="synthetic")
    return SurrogateBenchmark.fit(table.space, table, metrics=["params"], model="knn")


def test_a_surrogate_save_removes_the_staging_folders_killed_saves_left_beside_it(tmp_path, surrogate, dead_pid):
    """surrogate fit --out NEW stages beside NEW: a save killed while it wrote (STAGING) or while it removed the
    surrogate it replaced (STAGING.old) left them there for good. One killed between its two renames keeps both:
    STAGING.old is then the only copy of the surrogate it replaced."""
    gone = [_leave(tmp_path, f".nasforge-staging.{dead_pid}.0651c275", directory=True),
            _leave(tmp_path, f".nasforge-staging.{dead_pid}.9004036e.old", directory=True)]
    kept = [_leave(tmp_path, f".nasforge-staging.{dead_pid}.11111111", directory=True),
            _leave(tmp_path, f".nasforge-staging.{dead_pid}.11111111.old", directory=True),
            _leave(tmp_path, f".nasforge-staging.{os.getpid()}.22222222", directory=True)]
    surrogate.save(tmp_path / "s")
    assert json.loads((tmp_path / "s" / "manifest.json").read_text())["name"]
    assert not any(path.exists() for path in gone) and all(path.exists() for path in kept)


DIGITS_RECORD = {"data": {"data": "digits", "data_options": {}}}


def _killed_between_the_two_files(folder, monkeypatch, overwrite=False):
    """A save_supernet into ``folder`` stopped (as by kill -9) once its first file is in place."""
    written = []

    def write_one(path, *args, **kwargs):
        if written:
            raise KeyboardInterrupt  # the kill: the second file is never written
        written.append(path.name)
        return write_atomic(path, *args, **kwargs)

    monkeypatch.setattr(checkpoint, "write_atomic", write_one)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), folder, DIGITS_RECORD, overwrite=overwrite)
    monkeypatch.undo()
    return written


def test_a_supernet_save_killed_between_its_files_leaves_a_folder_overwrite_replaces(tmp_path, monkeypatch):
    """The weights were written first: a lone supernet.pt is no earlier save's (only a supernet.json makes it one),
    so the same oneshot train, even with --overwrite, was refused with "not a file written by nasforge"."""
    folder = tmp_path / "ot"
    assert _killed_between_the_two_files(folder, monkeypatch) == ["supernet.json"]
    with pytest.raises(UsageError, match="already holds a saved supernet; .* pass overwrite=True"):
        checkpoint.check_save_folder(folder, overwrite=False)
    with pytest.raises(checkpoint.MissingCheckpointError):
        checkpoint.load_supernet(folder)
    checkpoint.save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), folder, DIGITS_RECORD, overwrite=True)
    checkpoint.load_supernet(folder)


def test_a_supernet_replaced_by_a_killed_save_is_refused_not_mixed(tmp_path, monkeypatch):
    """With --overwrite, a kill between the two files leaves the new description beside the old weights: its
    weights_sha256 keeps load_supernet from pairing them."""
    folder = tmp_path / "ot"
    torch.manual_seed(0)
    checkpoint.save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), folder, DIGITS_RECORD)
    torch.manual_seed(1)
    _killed_between_the_two_files(folder, monkeypatch, overwrite=True)
    with pytest.raises(checkpoint.CheckpointError, match="is not the weights file .* was saved with"):
        checkpoint.load_supernet(folder)


def test_a_killed_saves_temporary_file_alone_does_not_block_the_plain_rerun(tmp_path, dead_pid, capsys):
    """oneshot train --out F killed while it wrote supernet.pt left only .supernet.pt.PID.XXXXXXXX.tmp: the same
    command was refused ("already holds 1 file(s) ... pass --overwrite"), and --overwrite kept the file."""
    folder = tmp_path / "ot"
    folder.mkdir()
    left = _leave(folder, f".supernet.pt.{dead_pid}.ocar275t.tmp")
    live = _leave(tmp_path, f".supernet.pt.{os.getpid()}.ocar275t.tmp")
    assert checkpoint.check_save_folder(folder, overwrite=False) == folder and not left.exists()
    live.rename(folder / live.name)  # a save running now: its file is a reason to refuse
    assert main(["oneshot", "train", "--space", "nb201", "--epochs", "1", "--C", "2", "--N", "1",
                 "--out", str(folder)]) == 2
    assert "already holds 1 file(s)" in capsys.readouterr().err


def test_an_export_killed_between_its_two_files_leaves_one_overwrite_replaces(tmp_path, network, monkeypatch,
                                                                              capsys):
    """The model file was renamed into place before its sidecar was written: a kill in between left a model file
    without sidecar, which the same export, even with --overwrite, refused as "not a previous export"."""
    from nasforge import export

    placed = []

    def stop_at_the_second(place):
        def placing(*args, **kwargs):
            if placed:
                raise KeyboardInterrupt  # the kill
            placed.append(place(*args, **kwargs))
            return placed[-1]
        return placing

    monkeypatch.setattr(export, "write_atomic", stop_at_the_second(write_atomic))
    monkeypatch.setattr(export.Path, "replace", stop_at_the_second(export.Path.replace))
    out = tmp_path / "m.safetensors"
    with pytest.raises(KeyboardInterrupt):
        export_model(network, "safetensors", out)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors.json", "net"]
    command = ["export", str(network), "--format", "safetensors", "--out", str(out)]
    assert main(command) == 2
    assert "is a previous export; pass --overwrite" in capsys.readouterr().err
    assert main([*command, "--overwrite"]) == 0
    assert out.read_bytes() == (network / "model.safetensors").read_bytes()


def _lock_only(folder, study="ks"):
    """A run folder as a search killed before it created its study leaves it: only its lock, naming the study."""
    folder.mkdir(parents=True)
    (folder / ".nasforge-run.lock").write_text(f"nasforge resume {study} --storage sqlite:///{folder / 'study.db'}")
    return folder


@pytest.mark.parametrize("command", ["status", "resume", "trials"])
def test_a_search_folder_killed_before_its_study_says_to_run_the_search_again(tmp_path, capsys, command):
    """status/resume said "no run folder 'k_s_6' or nasforge-runs/k_s_6/" of the folder, as if it did not exist."""
    folder = _lock_only(tmp_path / "k_s_6")
    assert main([command, str(folder)]) == 2
    err = capsys.readouterr().err
    assert "no run folder" not in err and len(err.strip().splitlines()) == 1, err
    assert "stopped before it created its study 'ks'" in err and "run the same nasforge search command again" in err
    assert sorted(p.name for p in folder.iterdir()) == [".nasforge-run.lock"]


def test_a_search_folder_starting_now_is_not_said_to_be_killed(tmp_path, capsys, monkeypatch):
    """The lock of a live search (held: here by this process) names a search starting now; the default run folder
    nasforge-runs/NAME is read as the folder NAME is."""
    import fcntl

    monkeypatch.chdir(tmp_path)
    folder = _lock_only(tmp_path / "nasforge-runs" / "ks")
    with open(folder / ".nasforge-run.lock") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert main(["status", "ks"]) == 2
    err = capsys.readouterr().err
    assert "a nasforge search starting now: its study 'ks' is not created yet" in err, err
    assert main(["status", "ks"]) == 2
    assert "stopped before it created its study 'ks'" in capsys.readouterr().err


def test_an_overwrite_whose_rename_fails_leaves_the_earlier_export_and_its_sidecar(tmp_path, network, monkeypatch):
    """Would fail: the new sidecar stayed beside the earlier model file, describing another network."""
    from nasforge import export

    out = tmp_path / "m.safetensors"
    export_model(network, "safetensors", out)
    before = (out.read_bytes(), (tmp_path / "m.safetensors.json").read_bytes())

    def refused(self, target):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(export.Path, "replace", refused)
    with pytest.raises(UsageError, match="cannot write the export"):
        export_model(network, "safetensors", out, overwrite=True, metrics={"val_acc": 1.0})
    monkeypatch.undo()
    assert (out.read_bytes(), (tmp_path / "m.safetensors.json").read_bytes()) == before


def test_a_supernet_save_killed_just_now_does_not_block_the_rerun(tmp_path, dead_pid):
    """Would fail: a killed save's leftover younger than a minute was counted, so the rerun was refused; it stays
    (it may be a save on another machine sharing the folder, whose process id is unknown here) but blocks nothing."""
    folder = tmp_path / "ot"
    folder.mkdir()
    fresh = folder / f".supernet.json.{dead_pid}.ih1obpzt.tmp"
    fresh.write_text("partial")  # fresh: the kill was just now, or another machine writes it
    assert checkpoint.check_save_folder(folder, overwrite=False) == folder and fresh.exists()


def test_a_staging_folder_whose_file_is_being_written_stays(tmp_path, dead_pid):
    """Would fail: only the folder's own time was looked at, which a file written inside it does not change."""
    from nasforge.writes import remove_dead_temporaries

    staging = _leave(tmp_path, f".net.{dead_pid}.0123abcd.tmp", directory=True)
    (staging / "model.json").write_text("still being written")  # changed now; the folder's time stays old
    assert remove_dead_temporaries(tmp_path) == [] and staging.exists()


def test_a_fresh_staging_folder_beside_the_surrogate_saved_stays(tmp_path, surrogate, dead_pid):
    """Would fail: a staging folder of a save on another machine (its process id unknown here) sharing the parent
    folder was removed while it wrote."""
    fresh = tmp_path / f".nasforge-staging.{dead_pid}.0651c276"
    (fresh / "val_acc").mkdir(parents=True)
    surrogate.save(tmp_path / "s")
    assert fresh.exists()
