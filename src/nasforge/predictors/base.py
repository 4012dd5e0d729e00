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
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..checks import check_int, check_real, is_real
from ..exceptions import NasforgeError, NotFittedError, UnsafeFileError, UsageError  # NotFittedError re-exported
from ..spaces import Architecture, SearchSpace, as_space
from ..extras import check_installed
from ..writes import head
from .checksums import file_checksums
from .encodings import ENCODING_REVISION, ENCODINGS, arch_list, check_encoding, encode

PREDICTOR_FILE = "predictor.json"


class NoUncertaintyError(UsageError, TypeError):
    """``predict_std`` of a predictor that gives no uncertainty (also a TypeError, as it was before)."""


_STAGING = ".saving"  # sub-folder a save writes into before moving the files into place


TARGET_LIMIT = 1e150
"""The largest magnitude of a target value ``fit`` takes: the spread (standard deviation) it scales the targets by
sums squared deviations, which overflow a float64 (and the predictions would be NaN) from about 1e154. The same as a
study's :data:`~nasforge.strategies.base.SCORE_LIMIT`, so a model-based strategy's predictor takes every score a
study stores."""


def target_values(y: Sequence[float], n_archs: int, where: str = "", name: str = "y") -> np.ndarray:
    """``y`` as a 1-D float array of one finite value per architecture (``n_archs``), each at most
    :data:`TARGET_LIMIT` in magnitude, or a ``UsageError`` that ``where`` begins, naming what is wrong (counted over
    the values given; ``name``: what the values are called in it)."""
    try:
        target = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise UsageError(f"{where}y must be a list of numbers, got {y!r:.80}") from None
    if target.ndim != 1:
        raise UsageError(f"{where}y must be one-dimensional (one value per architecture), got shape {target.shape}")
    if n_archs != target.size:
        raise UsageError(f"{where}got {n_archs} architectures but {target.size} target values; give one value per "
                         "architecture")
    bad = np.flatnonzero(~np.isfinite(target))
    if bad.size:
        raise UsageError(f"{where}{name} must be finite: it holds {bad.size} NaN/inf value(s) of {target.size} (first "
                         f"at position {bad[0]}); drop those architectures or fill in their values")
    huge = np.flatnonzero(np.abs(target) > TARGET_LIMIT)
    if huge.size:
        raise UsageError(f"{where}{name} holds {huge.size} value(s) beyond {TARGET_LIMIT:g} in magnitude (first "
                         f"{target[huge[0]]:g} at position {huge[0]}), whose spread a float cannot hold; rescale "
                         f"{name} (e.g. divide it by a power of 10)")
    return target


DIVERGED = "its training diverged; fit it with other settings (for mlp or gin, a smaller lr)"
"""Why a fitted model predicts NaN/inf, and what to do, for the refusals of such a model."""


def finite_predictions(predicted: np.ndarray, what: str) -> np.ndarray:
    """``predicted`` if every value is finite, else a ``UsageError`` saying that ``what`` (the model, named with
    how it was fitted) predicts NaN/inf and why."""
    bad = np.count_nonzero(~np.isfinite(predicted))
    if bad:
        raise UsageError(f"{what} predicted NaN/inf for {bad} of {predicted.size} held-out architectures: {DIVERGED}")
    return predicted


class Predictor(ABC):
    """Base class of all predictors (subclasses set ``name`` and implement ``_fit``/``_predict``)."""

    name: ClassVar[str] = "predictor"
    default_encoding: ClassVar[str] = "features"
    encodings: ClassVar[tuple[str, ...]] = ENCODINGS
    has_uncertainty: ClassVar[bool] = False
    scale_inputs: ClassVar[bool] = False
    requires: ClassVar[tuple[str, ...]] = ()  # optional packages the model needs (keys of nasforge.extras.EXTRAS)

    def __init__(self, space: SearchSpace | str, encoding: str | None = None, seed: int = 0) -> None:
        check_installed(self.requires, f"predictor {self.name!r}")  # now, not at the first fit
        self.space = space = as_space(space)
        self.encoding = encoding or self.default_encoding
        if self.encoding not in self.encodings:
            raise UsageError(f"unknown encoding {self.encoding!r}; choose from {', '.join(map(repr, self.encodings))}")
        check_encoding(space, self.encoding)
        check_int("seed", seed)
        self.seed = int(seed)
        self.state_: dict[str, Any] | None = None

    @property
    def sklearn_seed(self) -> int:
        """``seed`` as scikit-learn takes it: below 2**32 (strategies derive large seeds by multiplying)."""
        return self.seed % 2**32

    @property
    def boost_seed(self) -> int:
        """``seed`` as XGBoost and LightGBM take it: below 2**31 (a C int)."""
        return self.seed % 2**31

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
        """Train on a list of architectures and their measured values (higher or lower, any scale)."""
        archs = arch_list(archs, "fit")
        target = target_values(y, len(archs), "fit: ")
        if target.size < 2:
            raise UsageError(f"fit: {self.name} needs at least 2 training architectures, got {target.size}")
        self._check(archs)
        scale = float(target.std()) or 1.0
        state: dict[str, Any] = {"y_mean": float(target.mean()), "y_scale": scale, "n_train": int(target.size)}
        x = self._encode(archs)
        if self.scale_inputs:
            x_scale = x.std(axis=0)
            state["x_mean"] = x.mean(axis=0).tolist()
            state["x_scale"] = np.where(x_scale > 0, x_scale, 1.0).tolist()
            x = self._scale(x, state)
        # a refit that fails or is interrupted (Ctrl-C, a time limit) leaves the previous fit whole: the models
        # rebind their attributes in _fit, so restoring the attributes as they were undoes a partial fit
        before = dict(self.__dict__)
        try:
            self.state_ = state
            self._fit(x, (target - state["y_mean"]) / scale)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Predicted values for a list of architectures, one per architecture."""
        archs = arch_list(archs, "predict")
        state = self._state  # an unfitted model says so, also for an empty list
        self._check(archs)
        if len(archs) == 0:  # the encoders and the fitted models need at least one row
            return np.zeros(0)
        z = self._predict(self._inputs(archs))
        return np.asarray(z, dtype=np.float64) * state["y_scale"] + state["y_mean"]

    def predict_std(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Predictive standard deviation (models with ``has_uncertainty``, which define ``_predict_std``)."""
        if not self.has_uncertainty:
            from .registry import uncertain_predictors

            raise NoUncertaintyError(f"predictor {self.name!r} gives no uncertainty; use one of "
                                     f"{', '.join(uncertain_predictors())}")
        archs = arch_list(archs, "predict_std")
        state = self._state
        self._check(archs)
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
    def _check(self, archs: Sequence[Architecture]) -> None:
        """Every architecture must be a valid member of the predictor's space (else a UsageError naming it)."""
        for arch in archs:
            self.space.check(arch)

    def _encode(self, archs: Sequence[Architecture]) -> Any:
        """Model input for ``archs`` before column scaling (graph models override this)."""
        return encode(self.space, archs, self.encoding)

    def _encoded_width(self) -> int:
        """The number of columns of the ``encoding`` (that a saved model must take)."""
        return int(encode(self.space, [self.space.sample(np.random.default_rng(0))], self.encoding).shape[1])

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
    def save(self, folder: str | Path, overwrite: bool = False) -> Path:
        """Write ``predictor.json`` (with the SHA-256 of every model file) and the model's files (safe formats
        only) into ``folder``.

        ``folder`` must be new or empty; ``overwrite=True`` also replaces a predictor saved there
        before (a folder holding anything else is always refused). The files are written into a
        staging sub-folder first, so a failed save leaves what was there untouched.
        """
        if not self._predicts_finite():  # a load would refuse it (its one-prediction check): write nothing
            raise UsageError(f"cannot save predictor {self.name!r}: it predicts NaN/inf, so the saved model could not "
                             f"be loaded; {DIVERGED}")
        out = Path(folder)
        found = enclosing_artifact(out)
        if found is not None:
            raise UsageError(f"cannot save a predictor into {out}: it lies inside {found[0]} {found[1]}, whose files "
                             "a save there would change or break; choose a folder outside it")
        return self._save_into(out, overwrite)

    def _predicts_finite(self) -> bool:
        """Whether the fitted model gives one finite prediction for a sample architecture: the check that a load
        makes before returning the model, and a save before writing it."""
        arch = self.space.sample(np.random.default_rng(0))  # a Generator: the sample contract of every space
        predicted = self.predict([arch])
        return predicted.shape == (1,) and bool(np.all(np.isfinite(predicted)))

    def _save_into(self, out: Path, overwrite: bool) -> Path:
        """``save`` without the check of the folders above ``out`` (an ensemble's members go into its own)."""
        state = self._state
        old = _replaceable_entries(out, overwrite)
        created = not out.exists()
        staging = out / _STAGING
        staging.mkdir(parents=True)
        try:
            files = self._save_model(staging)
            record = {"predictor": self.name, "params": self.get_params(), "space": self.space.name,
                      "space_config": space_config(self.space), "encoding_revision": ENCODING_REVISION,
                      "state": state, "files": files,
                      "sha256": file_checksums(staging, files)}
            (staging / PREDICTOR_FILE).write_text(json.dumps(record, indent=1))
        except BaseException:
            shutil.rmtree(out if created else staging, ignore_errors=True)
            raise
        for entry in old:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        for entry in list(staging.iterdir()):
            entry.rename(out / entry.name)
        staging.rmdir()
        return out

    @classmethod
    def has_file_format(cls) -> bool:
        """Whether this predictor class has a safe file format; known without building one."""
        return cls._save_model is not Predictor._save_model

    def can_save(self) -> bool:
        """Whether this predictor has a safe file format (``save`` works); known before fitting."""
        return self.has_file_format()

    def _save_model(self, folder: Path) -> list[str]:
        """Write the trained model into ``folder`` and return the file names written."""
        raise TypeError(f"predictor {self.name!r} has no safe file format (it would need pickle); "
                        "save one of: xgb, lgb, knn, gin, mlp, or an ensemble of those")

    def _load_model(self, folder: Path) -> None:
        """Read what ``_save_model`` wrote."""
        raise TypeError(f"predictor {self.name!r} cannot be loaded from files")

    def _saved_state(self, record: dict[str, Any]) -> dict[str, Any]:
        """The fitted state that ``record`` (a ``predictor.json``) holds, for ``_restore`` (a model whose rules
        changed fills in the rule an older record was saved under)."""
        return record["state"]

    def _restore(self, state: dict[str, Any], folder: Path) -> None:
        """Load a saved model; a damaged state or model file is an ``UnsafeFileError`` naming it."""
        where = Path(folder) / PREDICTOR_FILE
        if not isinstance(state, dict):
            raise UnsafeFileError(f"{where}: field 'state' must be an object")
        required = ["y_mean", "y_scale"] + (["x_mean", "x_scale"] if self.scale_inputs else [])
        for key in required:
            value = state.get(key)
            numbers = value if isinstance(value, list) else [value]
            if key not in state or not all(is_real(v) for v in numbers):
                raise UnsafeFileError(f"{where}: field 'state.{key}' is missing or not a finite number")
            if key in ("y_scale", "x_scale") and not all(v > 0 for v in numbers):
                raise UnsafeFileError(f"{where}: field 'state.{key}' must be positive")
        if self.scale_inputs:
            width = self._encoded_width()
            if not len(state["x_mean"]) == len(state["x_scale"]) == width:
                raise UnsafeFileError(f"{where}: fields 'state.x_mean'/'state.x_scale' do not have the {width} "
                                      f"columns of the {self.encoding!r} encoding")
        self.state_ = dict(state)
        try:
            self._load_model(Path(folder))
            if not self._predicts_finite():  # the model takes the encoding
                raise UnsafeFileError(f"the model saved in {folder} does not give a finite prediction")
        except NasforgeError:
            self.state_ = None
            raise
        except Exception as exc:  # a native library rejecting the file: name it, keep the cause chained
            self.state_ = None
            reason = " ".join(str(exc).split())[:300] or type(exc).__name__
            raise UnsafeFileError(f"cannot load the {self.name} model saved in {folder}: "
                                  f"{type(exc).__name__}: {reason}") from exc


def space_config(space: SearchSpace) -> Any:
    """The space's options as recorded in ``predictor.json`` (a chain's layers...), None if it has none."""
    return space.to_config() if hasattr(space, "to_config") else None


def enclosing_artifact(path: str | Path, itself: bool = False) -> tuple[str, Path] | None:
    """The nasforge artifact that ``path`` lies inside (or, with ``itself``, is): ("the surrogate artifact",
    folder), ("the saved predictor", folder) or ("the saved network", folder); None if there is none. Writing
    there would add to or replace the artifact's files, and its checksums would no longer match."""
    target = Path(os.path.abspath(path))
    for folder in [target, *target.parents][0 if itself else 1:]:
        manifest = os.path.join(folder, "manifest.json")
        try:
            if os.path.isfile(manifest) and b"nasforge-surrogate" in head(Path(manifest)):
                return "the surrogate artifact", folder
        except OSError:  # an unreadable manifest.json: not known to be a surrogate's
            pass
        if os.path.isfile(folder / PREDICTOR_FILE):
            return "the saved predictor", folder
        if os.path.isfile(folder / "model.json") and os.path.isfile(folder / "model.safetensors"):
            return "the saved network", folder
    return None


def _replaceable_entries(folder: Path, overwrite: bool) -> list[Path]:
    """What a save into ``folder`` replaces: nothing for a new or empty folder, the files of the predictor
    saved there with ``overwrite``; a ``UsageError`` for anything else (nothing is silently lost)."""
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise UsageError(f"cannot save a predictor into {folder}: it is a file, not a folder")
    entries = sorted(folder.iterdir())
    if not entries:
        return []
    if not (folder / PREDICTOR_FILE).is_file():
        raise UsageError(f"cannot save a predictor into {folder}: the folder is not empty (it holds "
                         f"{', '.join(e.name for e in entries[:5])}{', ...' if len(entries) > 5 else ''}); "
                         "choose a new folder")
    if not overwrite:
        raise UsageError(f"{folder} already holds a saved predictor; choose a new folder, or pass overwrite=True "
                         "to replace it")
    try:
        files = json.loads((folder / PREDICTOR_FILE).read_text(encoding="utf-8"))["files"]
        owned = {PREDICTOR_FILE} | {Path(f).parts[0] for f in files}
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, IndexError):
        raise UsageError(f"{folder / PREDICTOR_FILE} is damaged, so which files belong to the saved predictor is "
                         "unknown; not overwriting it: choose a new folder or empty this one") from None
    foreign = [e.name for e in entries if e.name not in owned]
    if foreign:
        raise UsageError(f"{folder} holds files that are not part of the saved predictor ({', '.join(foreign)}); "
                         "not overwriting them: choose a new folder")
    return entries


def check_positive(name: str, value: Any, allow_zero: bool = False) -> None:
    """Constructor-time validation of a numeric hyper-parameter: a finite number > 0 (>= 0 with ``allow_zero``)."""
    check_real(name, value, (lambda v: v >= 0) if allow_zero else (lambda v: v > 0),
               f"a {'non-negative' if allow_zero else 'positive'} number")


def check_counts(settings: dict[str, Any]) -> None:
    """Constructor-time validation of integer hyper-parameters (sizes, counts, epochs): each an int >= 1."""
    for name, value in settings.items():
        check_int(name, value, 1)


def check_fractions(settings: dict[str, Any]) -> None:
    """Constructor-time validation of fraction hyper-parameters (subsample ratios): each in (0, 1]."""
    for name, value in settings.items():
        check_real(name, value, lambda v: 0 < v <= 1, "a fraction in (0, 1]")
