"""Synthetic NAS-Bench-201 data for predictor and surrogate tests (no shared data needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from nasforge.spaces import Architecture, NASBench201Space

# Edge indices of the four input->output routes of the NB201 cell: 0-3, 0-1-3, 0-2-3, 0-1-2-3.
ROUTES = ((3,), (0, 4), (1, 5), (0, 2, 5))
CONVS = ("nor_conv_1x1", "nor_conv_3x3")


def score(arch: Architecture) -> float:
    """A smooth "accuracy": depth in convolutions on live routes, conv3x3 count and route count."""
    ops = arch.genotype
    live = [r for r in ROUTES if all(ops[e] != "none" for e in r)]
    if not live:
        return 10.0
    depth = max(sum(ops[e] in CONVS for e in r) for r in live)
    conv3 = len({e for r in live for e in r if ops[e] == "nor_conv_3x3"})
    return 50.0 + 6.0 * depth + 2.0 * conv3 + 1.5 * len(live)


def sample(n: int, seed: int = 0) -> tuple[NASBench201Space, list[Architecture], np.ndarray]:
    """``n`` distinct random architectures and their scores."""
    space = NASBench201Space()
    rng = np.random.default_rng(seed)
    archs = list(dict.fromkeys(space.sample(rng) for _ in range(3 * n)))[:n]
    return space, archs, np.array([score(a) for a in archs])


def seed_table(n: int | None, seeds: int = 3, noise: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """A table with ``val_acc_seed<k>`` columns: the score plus Gaussian training-seed noise, for
    ``n`` random architectures or (``n=None``) every architecture of the space."""
    if n is None:
        space = NASBench201Space()
        archs = list(space.enumerate())
        y = np.array([score(a) for a in archs])
    else:
        space, archs, y = sample(n, seed)
    rng = np.random.default_rng(seed + 1)
    frame = pd.DataFrame({"arch": [space.format(a) for a in archs]})
    for k in range(seeds):
        frame[f"val_acc_seed{k}"] = y + noise * rng.standard_normal(len(y))
    frame["params"] = [sum(op in CONVS for op in a.genotype) for a in archs]
    return frame


def rehash_surrogate(artifact: Path) -> None:
    """What an attacker (or a careless hand) would do after changing model files: make every checksum match,
    those in each model's ``predictor.json``, then the manifest's."""
    from nasforge.predictors.checksums import file_checksums

    manifest = json.loads((artifact / "manifest.json").read_text())
    for entry in manifest["metrics"].values():
        record_file = artifact / entry["folder"] / "predictor.json"
        record = json.loads(record_file.read_text())
        record["sha256"] = file_checksums(record_file.parent, record["files"])
        record_file.write_text(json.dumps(record))
        entry["files"] = file_checksums(artifact / entry["folder"])
    (artifact / "manifest.json").write_text(json.dumps(manifest))
