"""Predictors by name, and loading saved predictors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..spaces import SearchSpace
from .base import PREDICTOR_FILE, Predictor
from .ensemble import EnsemblePredictor
from .gin import GINPredictor
from .kernels import GPPredictor, KNNPredictor, SVRPredictor
from .mlp import MLPEnsemblePredictor
from .trees import LGBPredictor, NGBoostPredictor, RandomForestPredictor, XGBPredictor

PREDICTORS: dict[str, type[Predictor]] = {cls.name: cls for cls in (
    GINPredictor, MLPEnsemblePredictor, XGBPredictor, LGBPredictor, RandomForestPredictor, SVRPredictor,
    NGBoostPredictor, GPPredictor, KNNPredictor, EnsemblePredictor)}


def available_predictors() -> list[str]:
    return list(PREDICTORS)


def predictor_class(name: str) -> type[Predictor]:
    if name not in PREDICTORS:
        raise ValueError(f"unknown predictor {name!r}; choose from {available_predictors()}")
    return PREDICTORS[name]


def get_predictor(name: str, space: SearchSpace, **params: Any) -> Predictor:
    """Build a predictor by name, e.g. ``get_predictor("xgb", space, seed=0, n_estimators=500)``."""
    cls = predictor_class(name)
    try:
        return cls(space, **params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for predictor {name!r}: {exc}") from None


def load_predictor(folder: str | Path, space: SearchSpace) -> Predictor:
    """A fitted predictor from a folder written by ``Predictor.save``."""
    path = Path(folder) / PREDICTOR_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no saved predictor in {folder}: {PREDICTOR_FILE} is missing")
    try:
        record = json.loads(path.read_text())
        name, params, state, files = record["predictor"], record["params"], record["state"], record["files"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a saved predictor record ({exc})") from None
    missing = [f for f in files if not (Path(folder) / f).exists()]
    if missing:
        raise FileNotFoundError(f"saved predictor in {folder} lacks its file(s) {missing}")
    predictor = get_predictor(name, space, **params)
    predictor._restore(state, Path(folder))
    return predictor
