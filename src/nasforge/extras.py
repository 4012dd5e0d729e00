"""Optional dependencies: which extra of nasforge installs each optional package, and the one error naming it.

Code that needs an optional package imports it with :func:`require` (or checks it up front with
:func:`check_installed`, which imports nothing); a missing one, or a version known to fail (:data:`MINIMUMS`),
is a :class:`MissingDependencyError` ("<feature> needs <package>: pip install
'nasforge[<extra>]'"; "<package>>=<minimum> (<version> installed)" for an old one). The command line turns any
other ``ModuleNotFoundError`` of a package listed here (also one raised in a worker process) into the same
line through :func:`missing_dependency`, as does loading a user's module file (``--space-module FILE.py:NAME``,
a model space's ``"file.py:Class"`` reference), also from Python.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Iterable
from types import ModuleType

from .exceptions import MissingDependencyError

EXTRAS: dict[str, str] = {
    "torch": "torch",
    "onnx": "export", "onnxruntime": "export", "onnxscript": "export",
    "xgboost": "boost", "lightgbm": "boost",
    "ngboost": "ngboost",
    "botorch": "bo", "gpytorch": "bo", "jax": "bo", "numpyro": "bo",
    "sqlalchemy": "sql",
    "psycopg": "postgres",
    "ray": "ray",
    "optuna": "peers",
    "pyarrow": "parquet",
    "plotly": "report",
}
"""Top-level module of each optional package -> the extra of nasforge that installs it."""

MINIMUMS: dict[str, dict[str, str]] = {
    "lightgbm": {"lightgbm": "4.0"},  # 3.3: check_X_y() got an unexpected keyword argument 'force_all_finite'
    "sqlalchemy": {"sqlalchemy": "2.0"},  # 1.4: RETURNING is not supported by this dialect's statement compiler
}
"""Top-level module of an optional package -> {distribution that installs it: the least version that works} (the
first distribution installed is the one compared): only the versions known to fail are refused, at the minimum its
extra declares in pyproject.toml; an older version of another package, untested rather than known to fail, is
used as it always was."""

INCLUDES: dict[str, tuple[str, ...]] = {"postgres": ("sql",)}
"""Extras that install every package of other extras too (postgres: sqlalchemy besides psycopg)."""


def missing_error(modules: str | Iterable[str], feature: str) -> MissingDependencyError:
    """The error saying that ``feature`` needs ``modules`` (one or several keys of :data:`EXTRAS`) and the extras
    that install them, in one ``pip install`` (an extra that another one named installs is left out)."""
    names = [modules] if isinstance(modules, str) else list(dict.fromkeys(modules))
    extras = list(dict.fromkeys(EXTRAS[name] for name in names))
    covered = {included for extra in extras for included in INCLUDES.get(extra, ())}
    wanted = ",".join(extra for extra in extras if extra not in covered)
    named = [(_too_old(name) or name) if _found(name) else name for name in names]  # an old one: its version
    return MissingDependencyError(f"{feature} needs {', '.join(named)}: pip install 'nasforge[{wanted}]'")


def installed(module: str) -> bool:
    """Whether the top-level ``module`` can be imported (found without importing it) at a version its extra
    accepts (:data:`MINIMUMS`)."""
    return _found(module) and not _too_old(module)


def check_installed(modules: Iterable[str], feature: str) -> None:
    """A :class:`MissingDependencyError` naming ``feature`` and every one of ``modules`` that is not installed
    (so that one ``pip install`` fixes it): for checks before work starts (nothing is imported)."""
    missing = [module for module in modules if not installed(module)]
    if missing:
        raise missing_error(missing, feature)


def require(module: str, feature: str) -> ModuleType:
    """``import module`` (a key of :data:`EXTRAS`, or a sub-module of one), or a :class:`MissingDependencyError`
    naming ``feature`` when the package, or an optional package it needs, is not installed, or is older than its
    extra's minimum (refused before it is imported: an old one imports, then fails where it is used)."""
    package = module.partition(".")[0]
    if _too_old(package) and _found(package):
        raise missing_error(package, feature)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = _missing_package(exc, module)
        if missing is None:  # our bug, or a part missing from an installed package
            raise
        raise missing_error(missing, feature) from exc


def missing_dependency(exc: BaseException, feature: str = "this command",
                       chained: bool = True) -> MissingDependencyError | None:
    """The :class:`MissingDependencyError` for ``exc`` when it is (or, with ``chained``, was raised while handling) a
    ``ModuleNotFoundError`` of a package listed in :data:`EXTRAS` that is not installed, or is older than its
    extra's minimum; else None (a module missing from an installed package that is new enough keeps its
    traceback). A user's file is judged with ``chained=False``: an error it raises while handling a missing package
    is its own."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MissingDependencyError):
            return current
        missing = _missing_package(current) if isinstance(current, ModuleNotFoundError) else None
        if missing is not None:
            return missing_error(missing, feature)
        current = (current.__cause__ or current.__context__) if chained else None
    return None


def _missing_package(exc: ModuleNotFoundError, module: str = "") -> str | None:
    """The package listed in :data:`EXTRAS` and not installed (or too old) whose absence ``exc`` reports
    (``module``: the one being imported, if ``exc`` names none); None for any other missing module."""
    missing = (exc.name or "").partition(".")[0] or module.partition(".")[0]
    return missing if missing in EXTRAS and not installed(missing) else None


def _found(module: str) -> bool:
    """Whether the top-level ``module`` can be found (nothing is imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a module entry without a spec, or a broken parent
        return False


def _too_old(module: str) -> str | None:
    """``"<distribution>>=<minimum> (<version> installed)"`` when the installed distribution of ``module`` is older
    than its extra's minimum (:data:`MINIMUMS`), else None: also for a module without a minimum, or whose
    distribution has no metadata (a vendored copy counts as new enough). Reads the metadata, imports nothing."""
    from importlib import metadata

    for distribution, minimum in MINIMUMS.get(module, {}).items():
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
        return f"{distribution}>={minimum} ({version} installed)" if _older(version, minimum) else None
    return None


def _older(version: str, minimum: str) -> bool:
    """Whether ``version`` is before ``minimum`` (PEP 440 with ``packaging``; without it, their leading numbers
    compared); a version that cannot be read is not refused."""
    try:
        from packaging.version import InvalidVersion, Version
    except ImportError:
        return version[:1].isdigit() and _release(version) < _release(minimum)
    try:
        return Version(version) < Version(minimum)
    except InvalidVersion:
        return False


def _release(version: str) -> tuple[int, ...]:
    """The leading numbers of ``version``, trailing zeros left out: "2.0.1rc1" -> (2, 0, 1), "2.0" -> (2,)."""
    numbers = [int(part) for part in re.match(r"[0-9.]*", version).group().split(".") if part]
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)
