"""Regressions of stop 53's own fixes (review d): status's 'outputs: not written' line for a finished search whose
study sits in a study.db outside its run folder; bench --overwrite keeping the permissions of bench.json."""

from __future__ import annotations

import os
import stat

from nasforge import Study
from nasforge.analysis.harness import save_outputs
from nasforge.cli import main
from nasforge.spaces import get_space


def _finished_search(storage_db, out):
    """A study recorded as a finished ``nasforge search`` whose outputs go to ``out``."""
    url = f"sqlite:///{storage_db}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="shB", storage=url)
    study.optimize(lambda arch: {"acc": 1.0}, n_trials=1)
    study.set_user_attr("pipeline", "search")
    study.set_user_attr("pipeline_config", {"out": str(out), "storage": url})
    study.set_user_attr("search_done", True)
    study.storage.close()
    return url


def test_status_reads_the_recorded_run_folder_of_a_study_stored_elsewhere(tmp_path, capsys):
    """Would fail: a finished run stored with --storage sqlite:///shared/study.db was told its outputs were not
    written, as its summary.json is in its own --out folder, not beside the database."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "runB").mkdir()
    (tmp_path / "runB" / "summary.json").write_text("{}")
    url = _finished_search(tmp_path / "shared" / "study.db", tmp_path / "runB")
    assert main(["status", "shB", "--storage", url]) == 0
    assert "outputs:" not in capsys.readouterr().out
    (tmp_path / "runB" / "summary.json").unlink()  # the run killed while it wrote them
    assert main(["status", "shB", "--storage", url]) == 0
    assert "outputs: not written" in capsys.readouterr().out


def test_bench_overwrite_keeps_the_permissions_of_bench_json(tmp_path):
    """Would fail: the earlier bench.json was removed first (so a killed overwrite leaves no mixed folder), and the new
    one got the default mode: a folder kept private got a world-readable bench.json."""
    files = {"json": ("bench.json", '{"benchmark": "nb201"}'), "csv": ("bench_curves.csv", "strategy,evaluations,\n")}
    save_outputs(tmp_path, files, overwrite=False)
    os.chmod(tmp_path / "bench.json", 0o600)
    os.chmod(tmp_path / "bench_curves.csv", 0o640)
    save_outputs(tmp_path, files, overwrite=True)
    assert stat.S_IMODE((tmp_path / "bench.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "bench_curves.csv").stat().st_mode) == 0o640


def test_status_of_a_moved_run_folder_whose_study_recorded_a_relative_storage(tmp_path, capsys, monkeypatch):
    """Would fail: a run stored as sqlite:///runA/study.db (relative, as older releases recorded it) whose folder was
    moved was looked for at its recorded --out, which is gone, and the line was dropped."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runA").mkdir()
    _finished_search(tmp_path / "runA" / "study.db", tmp_path / "runA")
    from nasforge.experiment import get_storage

    storage = get_storage(f"sqlite:///{tmp_path / 'runA' / 'study.db'}")
    study = Study.load("shB", storage)
    study.set_user_attr("pipeline_config", {"out": str(tmp_path / "runA"), "storage": "sqlite:///runA/study.db"})
    storage.close()
    (tmp_path / "runA").rename(tmp_path / "runB")
    assert main(["status", "shB", "--storage", f"sqlite:///{tmp_path / 'runB' / 'study.db'}"]) == 0
    assert "outputs: not written" in capsys.readouterr().out


def test_the_resume_hint_says_resume_from_the_run_directory_only_for_a_recorded_relative_path():
    """Would fail: an absolute data path missing got 'resume from the directory the study was run in' too."""
    from pathlib import Path

    from nasforge.cli.engine import _recorded_path_hint

    spec = {"factory": "f:g", "kwargs": {"data": "npz", "data_dir": "/gone/d.npz"}}
    hint = _recorded_path_hint(spec, "data path '/gone/d.npz' for data set 'npz' does not exist")
    assert hint.startswith("pass the recorded evaluator arguments with the path changed: --evaluator f:g")
    spec = {"factory": "f:g", "kwargs": {"surrogate": "s"}}
    hint = _recorded_path_hint(spec, f"surrogate folder not found: s (looked for {Path('s').absolute()})")
    assert hint.startswith("the study's recorded evaluator arguments name 's', a relative path looked for")


def test_status_of_a_moved_run_folder_whose_study_is_stored_elsewhere_says_nothing(tmp_path, capsys):
    """Would fail: with the recorded --out gone (moved), the check looked beside the database, which never held the
    outputs, and told the user to resume (which would recreate the run folder empty)."""
    (tmp_path / "shared").mkdir()
    url = _finished_search(tmp_path / "shared" / "study.db", tmp_path / "R1")  # R1 moved away: not there
    assert main(["status", "shB", "--storage", url]) == 0
    assert "outputs:" not in capsys.readouterr().out


def test_the_resume_hint_names_a_recorded_relative_data_path_as_written():
    """Would fail: only a path printed in its absolute form was recognised, so a relative data_dir (printed as given)
    lost the 'resume from the directory the study was run in' advice."""
    from nasforge.cli.engine import _recorded_path_hint

    spec = {"factory": "f:g", "kwargs": {"data": "npz", "data_dir": "data/d.npz"}}
    hint = _recorded_path_hint(spec, "data path 'data/d.npz' for data set 'npz' does not exist")
    assert hint.startswith("the study's recorded evaluator arguments name 'data/d.npz', a relative path")


def test_the_report_keeps_a_python_two_stage_studys_retrains(tmp_path):
    """Would fail: a retrain without model_dir was left out of every study's report, though only nasforge search's
    retrains save networks (docs/engine.md's two-stage recipe stores none)."""
    from nasforge.analysis.studyreport.data import load_study_data, open_readonly

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="two", storage=url)
    study.optimize(lambda arch: {"acc": 1.0}, n_trials=2)
    retrain = study.enqueue(study.trials[0].arch, user_attrs={"stage": "retrain", "source_trial": 0})
    assert study.claim(retrain)
    study.tell(retrain.number, {"acc": 2.0})
    study.storage.close()
    assert [r.number for r in load_study_data(open_readonly(url), "two").retrained()] == [retrain.number]
