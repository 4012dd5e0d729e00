"""A surrogate manifest whose row counts contradict each other or holdout.json, or whose held-out scores are out
of their range, is refused (Python: UnsafeFileError; CLI: one line, exit status 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from predictor_data import seed_table

from nasforge.benchmarks import SurrogateBenchmark, TabularBenchmark
from nasforge.cli import main
from nasforge.exceptions import UnsafeFileError
from nasforge.spaces import NASBench201Space


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    table = TabularBenchmark(seed_table(120, seeds=2), NASBench201Space(), name="synthetic")
    surrogate = SurrogateBenchmark.fit(table.space, table, metrics=["val_acc"], model="lgb",
                                       model_params={"n_estimators": 20}, holdout=0.25, seed=0)
    return surrogate.save(tmp_path_factory.mktemp("s") / "s")


def _edited(artifact: Path, tmp_path: Path, edit) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(artifact, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    edit(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


CASES = {
    "rows": (lambda m: m["training_data"].update(rows=10), "training_data.rows (10) is not train_rows + holdout"),
    "holdout_rows": (lambda m: m["training_data"].update(holdout_rows=5, rows=m["training_data"]["train_rows"] + 5),
                     "holds 30 architectures, but the manifest's field training_data.holdout_rows says 5"),
    "kendall_tau": (lambda m: m["metrics"]["val_acc"]["holdout"].update(kendall_tau=7),
                    "kendall_tau is 7, outside its range [-1.0, 1.0]"),
    "rmse": (lambda m: m["metrics"]["val_acc"]["holdout"].update(rmse=-0.5), "rmse is -0.5, outside its range"),
    "precision": (lambda m: m["metrics"]["val_acc"]["holdout"].update(precision_top1pct=2),
                  "precision_top1pct is 2, outside its range [0.0, 1.0]"),
}


def test_the_saved_artifact_loads(artifact):
    loaded = SurrogateBenchmark.load(artifact)
    assert len(loaded.holdout) == loaded.manifest["training_data"]["holdout_rows"] == 30


@pytest.mark.parametrize("case", CASES)
def test_contradictory_manifest_numbers_are_refused(case, artifact, tmp_path, capsys):
    edit, message = CASES[case]
    copy = _edited(artifact, tmp_path, edit)
    with pytest.raises(UnsafeFileError) as info:
        SurrogateBenchmark.load(copy)
    assert message in str(info.value)
    assert main(["surrogate", "info", str(copy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
