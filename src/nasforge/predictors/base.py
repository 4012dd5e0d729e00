"""The Predictor interface: scikit-learn-like ``fit``/``predict`` on architectures, plus safe saving.

A predictor encodes architectures itself (``encoding``), standardizes the targets (and, for
kernel and neural models, the encoded columns) before training, and maps predictions back.
Hyper-parameters are the constructor's keyword arguments, so ``get_params()`` and a saved
``predictor.json`` fully describe an unfitted model. Saving never pickles: a model that has no
safe file format says so.
"""

from __future__ import annotations

import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..exceptions import NasforgeError, NotFittedError, UnsafeFileError  # NotFittedError re-exported
from ..spaces import Architecture, SearchSpace
from .encodings import encode

PREDICTOR_FILE = "predictor.json"


class Predictor(ABC):
    """Base class of all predictors (subclasses set ``name`` and implement ``_fit``/``_predict``)."""

    name: ClassVar[str] = "predictor"
    default_encoding: ClassVar[str] = "features"
    has_uncertainty: ClassVar[bool] = False
    scale_inputs: ClassVar[bool] = False

    def __init__(self, space: SearchSpace, encoding: str | None = None, seed: int = 0) -> None:
        self.space = space
        self.encoding = encoding or self.default_encoding
        self.seed = int(seed)
        self.state_: dict[str, Any] | None = None

    # -- parameters ----------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Constructor arguments except the space (JSON-able), as in scikit-learn."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p not in ("self", "space")]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- fit / predict -------------------------------------------------------------------------
    def fit(self, archs: Sequence[Architecture], y: Sequence[float]) -> Predictor:
        """Train on architectures and their measured values (higher or lower, any scale)."""
        archs = list(archs)
        target = np.asarray(y, dtype=np.float64).ravel()
        if len(archs) != target.size:
            raise ValueError(f"got {len(archs)} architectures but {target.size} target values")
        if target.size < 2:
            raise ValueError(f"{self.name} needs at least 2 training architectures, got {target.size}")
        if not np.all(np.isfinite(target)):
            raise ValueError(f"target values must be finite; found {int(np.sum(~np.isfinite(target)))} NaN/inf")
        for arch in archs:
            self.space.check(arch)
        scale = float(target.std()) or 1.0
        self.state_ = {"y_mean": float(target.mean()), "y_scale": scale, "n_train": int(target.size)}
        x = self._encode(archs)
        if self.scale_inputs:
            x_scale = x.std(axis=0)
            self.state_["x_mean"] = x.mean(axis=0).tolist()
            self.state_["x_scale"] = np.where(x_scale > 0, x_scale, 1.0).tolist()
            x = self._scale(x, self.state_)
        self._fit(x, (target - self.state_["y_mean"]) / scale)
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Predicted values, one per architecture."""
        state = self._state  # an unfitted model says so, also for an empty list
        if len(archs) == 0:  # the encoders and the fitted models need at least one row
            return np.zeros(0)
        z = self._predict(self._inputs(archs))
        return np.asarray(z, dtype=np.float64) * state["y_scale"] + state["y_mean"]

    def predict_std(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Predictive standard deviation (models with ``has_uncertainty``, which define ``_predict_std``)."""
        if not self.has_uncertainty:
            raise TypeError(f"predictor {self.name!r} gives no uncertainty; use gp, ngboost, rf, mlp or an ensemble")
        state = self._state
        if len(archs) == 0:
            return np.zeros(0)
        return np.asarray(self._predict_std(self._inputs(archs)), dtype=np.float64) * state["y_scale"]

    @property
    def is_fitted(self) -> bool:
        return self.state_ is not None

    @property
    def _state(self) -> dict[str, Any]:
        if self.state_ is None:
            raise NotFittedError(f"predictor {self.name!r} is not fitted yet; call fit(archs, y) first")
        return self.state_

    # -- inputs --------------------------------------------------------------------------------
    def _encode(self, archs: Sequence[Architecture]) -> Any:
        """Model input for ``archs`` before column scaling (graph models override this)."""
        return encode(self.space, archs, self.encoding)

    @staticmethod
    def _scale(x: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        return ((x - np.asarray(state["x_mean"])) / np.asarray(state["x_scale"])).astype(np.float32)

    def _inputs(self, archs: Sequence[Architecture]) -> Any:
        state = self._state  # raises NotFittedError before any encoding work
        x = self._encode(list(archs))
        return self._scale(x, state) if self.scale_inputs else x

    # -- model hooks ---------------------------------------------------------------------------
    @abstractmethod
    def _fit(self, x: Any, z: np.ndarray) -> None:
        """Train on encoded inputs and standardized targets."""

    @abstractmethod
    def _predict(self, x: Any) -> np.ndarray:
        """Standardized predictions."""

    # -- saving --------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write ``predictor.json`` and the model's files (safe formats only) into ``folder``."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        files = self._save_model(out)
        record = {"predictor": self.name, "params": self.get_params(), "state": self._state, "files": files}
        (out / PREDICTOR_FILE).write_text(json.dumps(record, indent=1))
        return out

    @classmethod
    def can_save(cls) -> bool:
        """Whether this predictor has a safe file format (``save`` works)."""
        return cls._save_model is not Predictor._save_model

    def _save_model(self, folder: Path) -> list[str]:
        """Write the trained model into ``folder`` and return the file names written."""
        raise TypeError(f"predictor {self.name!r} has no safe file format (it would need pickle); "
                        "save one of: xgb, lgb, knn, gin, mlp, or an ensemble of those")

    def _load_model(self, folder: Path) -> None:
        """Read what ``_save_model`` wrote."""
        raise TypeError(f"predictor {self.name!r} cannot be loaded from files")

    def _restore(self, state: dict[str, Any], folder: Path) -> None:
        """Load a saved model; a damaged state or model file is an ``UnsafeFileError`` naming it."""
        where = Path(folder) / PREDICTOR_FILE
        if not isinstance(state, dict):
            raise UnsafeFileError(f"{where}: field 'state' must be an object")
        required = ["y_mean", "y_scale"] + (["x_mean", "x_scale"] if self.scale_inputs else [])
        for key in required:
            value = state.get(key)
            numbers = value if isinstance(value, list) else [value]
            if key not in state or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
                raise UnsafeFileError(f"{where}: field 'state.{key}' is missing or not numeric")
        self.state_ = dict(state)
        try:
            self._load_model(Path(folder))
        except NasforgeError:
            raise
        except Exception as exc:  # a native library rejecting the file: name it, keep the cause chained
            self.state_ = None
            reason = " ".join(str(exc).split())[:300] or type(exc).__name__
            raise UnsafeFileError(f"cannot load the {self.name} model saved in {folder}: "
                                  f"{type(exc).__name__}: {reason}") from exc


def check_positive(name: str, value: Any, allow_zero: bool = False) -> None:
    """Constructor-time validation of a numeric hyper-parameter."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value >= 0 if allow_zero else value > 0):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, got {value!r}")
