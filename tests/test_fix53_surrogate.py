"""Surrogate artifacts: --overwrite keeps files a user put into a model folder and refuses a damaged surrogate, a
manifest's format version starts at 1, and a resume that cannot find a recorded surrogate says where it looked."""

from __future__ import annotations

import json
import os
import re

import pytest
from predictor_data import seed_table

from nasforge.benchmarks import SurrogateBenchmark
from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.spaces import NASBench201Space

from test_fix46_surr import err_line


def knn_surrogate(metrics: str | list[str] = "val_acc", frame=None) -> SurrogateBenchmark:
    frame = seed_table(30, seeds=1).rename(columns={"val_acc_seed0": "val_acc"}) if frame is None else frame
    return SurrogateBenchmark.fit(NASBench201Space(), frame, metrics=metrics, model="knn", holdout=0.2)


def snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "t.csv"
    seed_table(30, seeds=1).rename(columns={"val_acc_seed0": "val_acc"}).to_csv(path, index=False)
    return path


# -- 1. --overwrite replaces only a surrogate whose files are all as its manifest lists them --------------------
def _user_file(out):
    (out / "val_acc" / "my_experiments").mkdir()
    (out / "val_acc" / "my_experiments" / "log.txt").write_text("weeks of notes")
    return "has no checksum of my_experiments/log.txt"


def _changed_model(out):
    model = next(p for p in (out / "val_acc").iterdir() if p.name != "predictor.json")
    model.write_bytes(model.read_bytes()[:-1])
    return "does not match its SHA-256 in the manifest"


def _changed_holdout(out):
    (out / "holdout.json").write_text("[]")
    return "holdout.json does not match its SHA-256 in the manifest"


@pytest.mark.parametrize("change", [_user_file, _changed_model, _changed_holdout])
def test_overwrite_refuses_a_user_file_in_a_model_folder_or_a_damaged_surrogate(table, tmp_path, capsys,
                                                                                 monkeypatch, change):
    """Would fail: --overwrite (and save(overwrite=True)) removed the user's files and the damaged surrogate."""
    out = knn_surrogate().save(tmp_path / "s")
    reason = change(out)
    before = snapshot(out)
    with pytest.raises(UsageError, match=f"cannot replace the surrogate in {out}: .*{reason}"):
        knn_surrogate().save(out, overwrite=True)
    assert snapshot(out) == before
    monkeypatch.setattr(SurrogateBenchmark, "fit", lambda *a, **k: pytest.fail("fitted before the refusal"))
    assert main(["surrogate", "fit", "--table", str(table), "--model", "knn", "--out", str(out), "--overwrite"]) == 2
    line = err_line(capsys)
    assert reason in line and line.startswith(f"nasforge surrogate fit: error: --out: cannot replace the surrogate "
                                              f"in {out}: ")
    assert line.endswith("remove the folder yourself (keeping what you need of it) to fit a new one there, or "
                         "choose another folder")
    assert "refit" not in line  # the loader's advice ("refit or restore the surrogate") is no advice here
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no staging folder left


def test_overwrite_checks_the_model_folders_again_before_the_rename(tmp_path):
    """A file put into a model folder while the new surrogate was written is kept, and so is the old surrogate."""
    out = knn_surrogate().save(tmp_path / "s")
    write = SurrogateBenchmark._write

    def write_then_a_user_adds_a_file(self, staging):
        write(self, staging)
        (out / "val_acc" / "notes.txt").write_text("mine")

    surrogate = knn_surrogate()
    surrogate._write = write_then_a_user_adds_a_file.__get__(surrogate)
    before = snapshot(out)
    with pytest.raises(UsageError, match="has no checksum of notes.txt"):
        surrogate.save(out, overwrite=True)
    assert snapshot(out) == {**before, "val_acc/notes.txt": b"mine"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_overwrite_refuses_a_file_beside_a_nested_model_folder_of_an_older_fit(tmp_path):
    """An older fit kept metric 'a/b' in a/b: a file in a, beside b, is the user's, kept."""
    frame = seed_table(30, seeds=1).rename(columns={"val_acc_seed0": "a/b"})
    out = knn_surrogate("a/b", frame).save(tmp_path / "old")
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "a").mkdir()
    os.rename(out / manifest["metrics"]["a/b"]["folder"], out / "a" / "b")
    manifest["metrics"]["a/b"]["folder"] = "a/b"
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "a" / "notes.txt").write_text("mine")
    before = snapshot(out)
    with pytest.raises(UsageError, match="the folder also holds a/notes.txt; nothing was overwritten"):
        knn_surrogate().save(out, overwrite=True)
    assert snapshot(out) == before
    (out / "a" / "notes.txt").unlink()
    knn_surrogate().save(out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["holdout.json", "manifest.json", "val_acc"]


def test_an_older_format_surrogate_without_a_holdout_checksum_is_still_replaced(tmp_path):
    out = knn_surrogate().save(tmp_path / "s")
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["holdout_sha256"]
    (out / "manifest.json").write_text(json.dumps({**manifest, "space_config": None, "format_version": 2}))
    SurrogateBenchmark.load(out)  # as info and eval read it
    knn_surrogate("params", seed_table(30, seeds=1).rename(columns={"val_acc_seed0": "val_acc"})).save(
        out, overwrite=True)
    assert SurrogateBenchmark.load(out).metrics == ["params"]


# -- 2. a manifest's format version starts at 1 ------------------------------------------------------------------
@pytest.mark.parametrize("version", [0, -1])
def test_a_format_version_below_one_is_refused_as_other_bad_versions(tmp_path, capsys, version):
    """Would fail: info showed 'artifact format -1' and load accepted it."""
    out = knn_surrogate().save(tmp_path / "s")
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "format_version": version}))
    message = f"field format_version is missing or not a version number ({version})"
    with pytest.raises(UsageError, match=re.escape(message)):
        SurrogateBenchmark.load(out)
    assert main(["surrogate", "info", str(out)]) == 2
    assert err_line(capsys).endswith(message)


# -- 3. a resume that cannot find the recorded surrogate says where it looked and how to point elsewhere ---------
def test_resume_from_another_folder_names_the_recorded_surrogate_and_how_to_point_to_it(tmp_path, capsys,
                                                                                        monkeypatch):
    """Would fail: the message was only 'surrogate folder not found: s'."""
    import shlex

    from nasforge import Study
    from nasforge.evaluators import SurrogateEvaluator

    monkeypatch.chdir(tmp_path)
    surrogate = knn_surrogate()
    surrogate.save("s")
    kwargs = {"surrogate": "s", "seed": 3}
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = Study(surrogate.space, "random", objectives="val_acc", seed=0, name="sst", storage=url)
    study.optimize(SurrogateEvaluator(**kwargs), 3,
                   evaluator_spec={"factory": "nasforge.evaluators:SurrogateEvaluator", "kwargs": kwargs})
    study.set_run_config({**study.run_config, "n_trials_total": 5})  # work left, as after a kill
    study.storage.close()
    (tmp_path / "deep").mkdir()
    monkeypatch.chdir(tmp_path / "deep")
    assert main(["resume", "sst", "--storage", url, "--no-progress"]) == 2
    line = err_line(capsys)
    assert (f"SurrogateEvaluator's surrogate 's': surrogate folder not found: s (looked for {tmp_path / 'deep' / 's'})"
            "; the study's recorded evaluator arguments name 's', a relative path looked for from the current "
            "directory") in line
    hint = ("--evaluator nasforge.evaluators:SurrogateEvaluator --evaluator-kwargs "
            f"{shlex.quote(json.dumps(kwargs))} (they replace the recorded ones)")
    assert line.endswith(hint), line
    moved = json.dumps({**kwargs, "surrogate": str(tmp_path / "s")})
    assert main(["resume", "sst", "--storage", url, "--no-progress", "--evaluator",
                 "nasforge.evaluators:SurrogateEvaluator", "--evaluator-kwargs", moved]) == 0  # the hint works
    assert "5 in total" in capsys.readouterr().out
