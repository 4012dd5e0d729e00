"""Predictors by name, and loading saved predictors."""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..exceptions import MissingDependencyError, MissingFileError, UnsafeFileError, UsageError, user_stacklevel
from ..registry import Registry
from ..spaces import SearchSpace, as_space
from .base import PREDICTOR_FILE, Predictor, space_config
from .checksums import check_files, file_names
from .encodings import EncodingChangedWarning, encodings_changed
from .ensemble import DEFAULT_MEMBERS, EnsemblePredictor
from .gin import GINPredictor
from .kernels import GPPredictor, KNNPredictor, SVRPredictor
from .mlp import MLPEnsemblePredictor
from .trees import LGBPredictor, NGBoostPredictor, RandomForestPredictor, XGBPredictor

PREDICTORS: Registry[type[Predictor]] = Registry("predictor")
for _cls in (GINPredictor, MLPEnsemblePredictor, XGBPredictor, LGBPredictor, RandomForestPredictor, SVRPredictor,
             NGBoostPredictor, GPPredictor, KNNPredictor, EnsemblePredictor):
    PREDICTORS.register(_cls.name, _cls, builtin=True)


def available_predictors() -> list[str]:
    """Names of the registered predictors, sorted (those of a missing extra too: building one says which)."""
    return PREDICTORS.names()


def uncertain_predictors() -> list[str]:
    """The predictors with ``predict_std``: their names, or "NAME with CONDITION" where it depends on
    their settings (``n_models > 1``, or the class's ``uncertainty_condition``)."""
    names = []
    for name in available_predictors():
        flag = inspect.getattr_static(PREDICTORS.get(name), "has_uncertainty")
        if isinstance(flag, property):
            names.append(f"{name} with {getattr(PREDICTORS.get(name), 'uncertainty_condition', 'n_models > 1')}")
        elif flag:
            names.append(name)
    return names


def predictor_class(name: str) -> type[Predictor]:
    """The Predictor class registered as ``name`` (a UsageError naming the choices for an unknown one)."""
    return PREDICTORS.get(name)


def get_predictor(name: str, space: SearchSpace | str, **params: Any) -> Predictor:
    """Build a predictor by name on ``space`` (a SearchSpace or a space name, see
    :func:`~nasforge.spaces.get_space`), e.g. ``get_predictor("xgb", space, seed=0, n_estimators=500)``."""
    cls = predictor_class(name)
    space = as_space(space)
    try:
        return cls(space, **params)
    except MissingDependencyError:
        raise
    except (TypeError, ValueError) as exc:
        raise UsageError(f"bad parameters for predictor {name!r}: {exc}") from None


def refuse_seed(params: Mapping[str, Any], where: str, instead: str) -> None:
    """A ``seed`` among predictor settings would collide with the seed the caller passes: a UsageError naming
    ``where`` it was given and (``instead``) how to set it."""
    if "seed" in params:
        raise UsageError(f"{where} sets 'seed'; {instead}")


def load_predictor(folder: str | Path, space: SearchSpace | str, warn: bool = True) -> Predictor:
    """A fitted predictor from a folder written by ``Predictor.save``; ``space`` (or its name) must be the space it
    was fitted on (checked against ``predictor.json``, except for files saved before it recorded the space).

    One saved at encoding revision 1 on a space whose encodings changed since (NAS-Bench-101, DARTS, a chain with
    stages; see :func:`fitted_on_old_inputs`) loads with an ``EncodingChangedWarning`` saying to refit it
    (``warn=False`` leaves that to the caller: a surrogate warns once for all its models)."""
    space = as_space(space)
    path = Path(folder) / PREDICTOR_FILE
    if not path.is_file():
        from ..benchmarks.surrogate import MANIFEST_FILE

        if (Path(folder) / MANIFEST_FILE).is_file():
            raise MissingFileError(f"no saved predictor in {folder}: it holds a surrogate artifact ({MANIFEST_FILE}); "
                                   "load it with SurrogateBenchmark.load (nasforge.benchmarks) or read it with "
                                   "`nasforge surrogate info`")
        raise MissingFileError(f"no saved predictor in {folder}: {PREDICTOR_FILE} is missing")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UnsafeFileError(f"{path} is not a saved predictor record (invalid JSON: {exc})") from None
    if not isinstance(record, dict):
        raise UnsafeFileError(f"{path} is not a saved predictor record (not a JSON object)")
    for field, kind in (("predictor", str), ("params", dict), ("state", dict), ("files", list)):
        if not isinstance(record.get(field), kind):
            raise UnsafeFileError(f"{path} is not a saved predictor record: field {field!r} is missing or "
                                  f"not a{'n' if kind is int else ''} {kind.__name__}")
    _check_space(record, space, path)
    name, params, files = record["predictor"], record["params"], record["files"]
    bad = [f for f in files if not isinstance(f, str) or not f or Path(f).is_absolute() or ".." in Path(f).parts]
    if bad:
        raise UnsafeFileError(f"{path}: field 'files' names paths outside {folder}: {bad}")
    missing = [f for f in files if not (Path(folder) / f).exists()]
    if missing:
        raise MissingFileError(f"saved predictor in {folder} lacks its file(s) {missing}")
    _check_checksums(record, Path(folder), path)
    try:
        predictor = get_predictor(name, space, **params)
    except MissingDependencyError:  # the model needs a package that is not installed: the file is fine
        raise
    except UsageError as exc:
        raise UnsafeFileError(f"{path}: fields 'predictor'/'params' are damaged: {exc}") from None
    predictor._restore(predictor._saved_state(record), Path(folder))
    if warn and fitted_on_old_inputs(record, space):
        warnings.warn(f"the predictor saved in {folder} was fitted with encoding revision "
                      f"{record.get('encoding_revision', 1)}, before the canonical graph encodings: the graph "
                      f"encodings of space {space.name!r} then described each architecture as written; they now "
                      "describe its canonical form, so its predictions differ from when it was fitted and scores "
                      "measured then no longer describe it: refit it and save it again (get_predictor("
                      f"{name!r}, space, **params).fit(archs, y).save(folder, overwrite=True), with the params of its "
                      f"{PREDICTOR_FILE})",
                      EncodingChangedWarning, stacklevel=user_stacklevel())
    return predictor


def fitted_on_old_inputs(record: Mapping[str, Any], space: SearchSpace) -> bool:
    """Whether the predictor of ``record`` (its ``predictor.json``) was fitted on inputs this nasforge encodes
    otherwise: saved at an older ``encoding_revision`` (none recorded: 1) on a space whose graph encodings changed
    since, with a graph input (the space's own ``onehot`` did not change)."""
    revision = record.get("encoding_revision", 1)
    if not isinstance(revision, int) or isinstance(revision, bool) or not encodings_changed(space, revision):
        return False
    params = record.get("params") if isinstance(record.get("params"), dict) else {}
    members = params.get("members", DEFAULT_MEMBERS) if record.get("predictor") == EnsemblePredictor.name else [
        {**params, "predictor": record.get("predictor")}]
    for member in members if isinstance(members, list | tuple) else []:
        spec = {"predictor": member} if isinstance(member, str) else member
        try:
            encoding = spec.get("encoding") or predictor_class(spec["predictor"]).default_encoding
        except (AttributeError, KeyError, UsageError):  # a damaged record: its load says so; count it changed
            return True
        if encoding != "onehot":
            return True
    return False


def _check_checksums(record: dict[str, Any], folder: Path, path: Path) -> None:
    """Every model file must have the SHA-256 recorded at save, before a native library parses it, and the folder
    must hold no file the record does not list (records saved before 2026-12-05 have none: their files load
    unverified)."""
    if "sha256" not in record:
        return
    checksums = record["sha256"]
    if not isinstance(checksums, dict):
        raise UnsafeFileError(f"{path}: field 'sha256' must map the model's file names to their SHA-256")
    present = [name for name in file_names(folder) if name != PREDICTOR_FILE]
    check_files(folder, checksums, present, "saved predictor", PREDICTOR_FILE,
                "remove a file put there, restore a changed one, or fit and save the predictor again")


def _check_space(record: dict[str, Any], space: SearchSpace, path: Path) -> None:
    """Refuse loading into another space than the one recorded (older records have none: nothing to check)."""
    if "space" not in record:
        return
    if not isinstance(record["space"], str):
        raise UnsafeFileError(f"{path}: field 'space' must be a space name (a string)")
    stored, config = record["space"], record.get("space_config")
    if stored != space.name or (config is not None and config != space_config(space)):
        detail = "" if stored != space.name else " with other options (e.g. a chain's layers)"
        raise UsageError(f"the predictor saved in {path.parent} was fitted on space {stored!r}{detail}, not on "
                         f"{space.name!r}: load it with that space")
