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
