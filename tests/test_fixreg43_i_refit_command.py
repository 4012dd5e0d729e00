"""Regression review 43 (i): an old chain surrogate's printed refit command rebuilds its space (``--space-config``)
and name (``--artifact-version``) and runs as printed; chains without stages (whose canonical form is the genotype)
load silently; the warning names the encoding revision, not a date."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_fixreg43_a_encoding_revision import _as_old_predictor, _as_old_surrogate

from nasforge.benchmarks.surrogate import SurrogateBenchmark
from nasforge.predictors import get_predictor, load_predictor
from nasforge.predictors.encodings import EncodingChangedWarning
from nasforge.spaces import ChainSpace

LAYERS = [["conv3", "conv5"], ["conv3", "conv5", "skip"], ["conv3", "conv5", "skip"], ["conv3", "conv5", "skip"]]


def _archs(space: ChainSpace) -> tuple[list, np.ndarray]:
    archs = list(space.enumerate())
    return archs, np.random.default_rng(0).normal(size=len(archs))


def _changed(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [w for w in caught if issubclass(w.category, EncodingChangedWarning)]


@pytest.mark.parametrize(("stages", "warns"), [(None, False), ([1, 1, 1, 1], False), ([2, 2], False),
                                               ([1, 1, 2], False), ([1, 3], True), ([4], True)])
def test_an_old_chain_predictor_warns_only_where_skips_can_move(tmp_path, stages, warns):
    """Would fail: every old chain predictor warned, though without stages its inputs did not change."""
    space = ChainSpace(LAYERS, stages=stages)
    archs, y = _archs(space)
    folder = get_predictor("knn", space).fit(archs, y).save(tmp_path / "p")
    _as_old_predictor(folder)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_predictor(folder, space)
    assert len(_changed(caught)) == int(warns)
    if warns:
        text = str(_changed(caught)[0].message)
        assert "fitted with encoding revision 1, before the canonical graph encodings" in text
        assert "2026" not in text


def test_stages_whose_tails_offer_no_skip_do_not_warn(tmp_path):
    space = ChainSpace([["a", "b"], ["a", "b"], ["a", "b"]], stages=[3])
    archs, y = _archs(space)
    folder = get_predictor("knn", space).fit(archs, y).save(tmp_path / "p")
    _as_old_predictor(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EncodingChangedWarning)
        load_predictor(folder, space)


def _old_chain_surrogate(tmp_path: Path, stages: list[int] | None, name: str = "chain") -> Path:
    """An old surrogate fitted in ``tmp_path`` (the working directory) on ``t.csv``, saved in ``surr``."""
    space = ChainSpace(LAYERS, name=name, stages=stages)
    archs, y = _archs(space)
    pd.DataFrame({"arch": [space.format(a) for a in archs], "val_acc": y}).to_csv(tmp_path / "t.csv", index=False)
    fitted = SurrogateBenchmark.fit(space, "t.csv", metrics=["val_acc"], model="knn", seed=3, version="2.5")
    folder = fitted.save(Path("surr"))
    _as_old_surrogate(folder)
    return folder


def test_an_old_chain_surrogate_without_stages_loads_silently(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = _old_chain_surrogate(tmp_path, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EncodingChangedWarning)
        SurrogateBenchmark.load(folder)


@pytest.mark.parametrize("name", ["mine", "chain"])
def test_the_printed_refit_command_runs_and_rebuilds_the_same_surrogate(tmp_path, monkeypatch, name):
    """Would fail: the command gave --space mine (unknown) or --space chain without the stages (a different space
    inferred from the table), and dropped --artifact-version (the name became ...-v1.0)."""
    monkeypatch.chdir(tmp_path)
    folder = _old_chain_surrogate(tmp_path, [1, 3], name)
    before = json.loads((folder / "manifest.json").read_text())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SurrogateBenchmark.load(folder)
    (warning,) = _changed(caught)
    text = str(warning.message)
    assert text.startswith(f"surrogate '{name}-knn-v2.5' in surr was fitted with encoding revision 1 (artifact "
                           "format 3), before the canonical graph encodings") and "2026" not in text
    command = text.split("refit it, e.g. ", 1)[1].split(" (with the --params", 1)[0]
    assert "--space chain --space-config surr.space.json" in command and "--artifact-version 2.5" in command
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "nasforge").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nasforge "$@"\n')
    (shim / "nasforge").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    run = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    after = json.loads((folder / "manifest.json").read_text())
    assert after["format_version"] == 4 and after["name"] == before["name"] == f"{name}-knn-v2.5"
    assert after["space"] == name and after["space_config"] == before["space_config"]
    assert after["space_config"]["stages"] == [1, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("error", EncodingChangedWarning)
        SurrogateBenchmark.load(folder)  # the refit loads silently
