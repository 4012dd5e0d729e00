"""Evaluators named by an import path, so a stored study can rebuild its evaluator to resume.

A spec is ``{"factory": "package.module:callable", "kwargs": {...}}``: the callable is imported and
called with the JSON keyword arguments. Nothing is unpickled.

A database is data, not code: a factory read from a stored study is only called if it is on the
allow-list :data:`TRUSTED_FACTORIES` (nasforge's own evaluators, and what a program registers with
``TRUSTED_FACTORIES.register("pkg.module:make", "pkg.module:make")``). Any other factory runs only when the user names
it (``nasforge resume --evaluator pkg.module:make``, or ``build_evaluator(spec, trusted=True)``).
A module that is not importable from ``sys.path`` is looked for in the working directory.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from ..exceptions import NasforgeError, UsageError
from ..registry import Registry
from ..settings import bind_error

TRUSTED_FACTORIES: Registry[str] = Registry("trusted evaluator factory", callable_entries=False)
"""Factories a stored study may name and ``resume`` calls without the user naming them."""
for _factory in ("nasforge.evaluators.training:TrainingEvaluator", "nasforge.evaluators.surrogate:SurrogateEvaluator",
                 "nasforge.evaluators:TrainingEvaluator", "nasforge.evaluators:SurrogateEvaluator",
                 "nasforge.evaluators.supernet:SupernetEvaluator.from_checkpoint"):
    TRUSTED_FACTORIES.register(_factory, _factory, builtin=True)


WRITTEN_PATHS = ("save_dir",)
"""Keyword arguments of nasforge's own factories that name where the evaluator writes."""


def build_evaluator(spec: dict[str, Any] | str, trusted: bool = False, folder: str | Path | None = None) -> Any:
    """Import and call the factory of ``spec`` (a dict, or a bare "module:callable" string).

    ``trusted=False`` (a spec read from a database): the factory must be in
    :data:`TRUSTED_FACTORIES`, else :class:`UsageError` saying how to name it explicitly; and a folder it writes
    to (:data:`WRITTEN_PATHS`) must be inside ``folder`` (the database's folder; None: no such folder).
    """
    spec = check_spec(spec)
    factory, kwargs = spec["factory"], spec.get("kwargs") or {}
    if not trusted:
        if factory not in TRUSTED_FACTORIES:
            raise UsageError(f"the stored evaluator factory {factory!r} is not one of nasforge's own, and a stored "
                             f"study does not run code it names; if you trust it, name it yourself: "
                             f"--evaluator {factory} (Python: build_evaluator(spec, trusted=True))")
        _check_written_paths(factory, kwargs, folder)
    target = resolve(factory)
    try:
        return target(**kwargs)
    except NasforgeError:  # said already in one line (e.g. a bad data folder)
        raise
    except TypeError as exc:
        # keyword arguments the factory does not take are the caller's mistake, named as such
        if (bad := bind_error(target, **kwargs)) is not None:
            if _takes_an_arch(target, kwargs):
                raise UsageError(f"{factory} looks like an evaluator function (it takes the architecture: {bad}), not "
                                 "a factory: --evaluator (evaluator_spec) names a factory that returns the evaluator, "
                                 f"e.g. def make_evaluator(): return {factory.partition(':')[2]}") from None
            if bad.startswith(MISSING):  # too few kwargs; a misspelt one is named too (bind reports missing first)
                unknown = unexpected_kwargs(target, kwargs)
                given = f" (it takes no {', '.join(map(repr, unknown))}: misspelt?)" if unknown else ""
                raise UsageError(f"evaluator factory {factory}: missing a required argument{bad[len(MISSING):]}"
                                 f"{given}; pass it with --evaluator-kwargs (Python: the evaluator_spec's 'kwargs')") \
                    from None
            raise UsageError(f"evaluator factory {factory} does not take the keyword arguments {kwargs}: {bad}") \
                from None
        _raised(f"evaluator factory {factory}", exc)
    except Exception as exc:  # noqa: BLE001 - the factory's own failure, told as such; --debug shows where
        _raised(f"evaluator factory {factory}", exc)


class EvaluatorFactoryError(NasforgeError, RuntimeError):
    """The evaluator factory of a spec, or the module it is in while it was imported, raised (that exception is
    chained as ``__cause__``)."""


def _raised(what: str, exc: Exception) -> NoReturn:
    """Raise the error for ``what`` (the evaluator factory called, or its module imported) raising ``exc``: a
    missing optional package escaping it is the :class:`MissingDependencyError` naming its extra, any other failure
    (also one the user's code raised while handling a missing package: its own) becomes one
    :class:`EvaluatorFactoryError` line naming ``what``, with ``exc`` chained."""
    from ..extras import missing_dependency

    if (missing := missing_dependency(exc, what.removeprefix("importing "), chained=False)) is not None:
        raise missing from (None if missing is exc else exc)
    raise EvaluatorFactoryError(f"{what} raised {type(exc).__name__}: {' '.join(str(exc).split()) or '(no message)'}") \
        from exc


MISSING = "missing a required argument:"
"""How Python's ``inspect.Signature.bind`` starts the error for an argument not given."""


def unexpected_kwargs(target: Any, kwargs: dict[str, Any]) -> list[str]:
    """The keys of ``kwargs`` that ``target``'s signature has no parameter for (none when it takes ``**kwargs``
    or has no signature)."""
    import inspect

    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return []
    return [key for key in kwargs if key not in params]


def _check_written_paths(factory: str, kwargs: dict[str, Any], folder: str | Path | None) -> None:
    """Refuse a stored keyword argument of :data:`WRITTEN_PATHS` outside ``folder``: a database alone never names
    where a resume writes."""
    for key in WRITTEN_PATHS:
        value = kwargs.get(key)
        if value is None:
            continue
        inside = (folder is not None and isinstance(value, str)
                  and Path(value).expanduser().resolve().is_relative_to(Path(folder).resolve()))
        if not inside:
            place = Path(folder).resolve() if folder is not None else "(none: not a SQLite file)"
            raise UsageError(f"the stored evaluator's {key} {value!r} is not inside the database's folder {place}, "
                             f"and a stored "
                             f"study does not choose where a resume writes; if you trust it, name the evaluator "
                             f"yourself: --evaluator {factory} (its recorded arguments are reused)")


def _takes_an_arch(target: Any, kwargs: dict[str, Any]) -> bool:
    """Whether ``target`` misses a first argument named ``arch``: an evaluator, named where its factory belongs."""
    try:
        first = next(iter(inspect.signature(target).parameters), None)
    except (TypeError, ValueError):
        return False
    return first == "arch" and "arch" not in kwargs


def check_spec(spec: dict[str, Any] | str, name: str = "evaluator spec") -> dict[str, Any]:
    """``spec`` as a dict (a bare "module:callable" string becomes ``{"factory": ...}``), its shape checked: a
    ``factory`` named ``package.module:callable`` and ``kwargs``, if any, a dict (``UsageError`` naming ``name``)."""
    if isinstance(spec, str):
        spec = {"factory": spec}
    if not isinstance(spec, dict):
        raise UsageError(f"{name} must be a JSON object with a 'factory', got {spec!r}")
    factory = spec.get("factory")
    if not isinstance(factory, str) or ":" not in factory:
        raise UsageError(f"{name}'s factory must look like 'package.module:callable', got {factory!r}")
    if not isinstance(spec.get("kwargs") or {}, dict):
        raise UsageError(f"{name}'s kwargs must be a JSON object, got {spec.get('kwargs')!r}")
    return spec


def resolve(factory: str) -> Any:
    """The callable named ``package.module:callable`` (the working directory is searched last)."""
    module_name, _, attr = factory.partition(":")
    target: Any = _import(module_name)
    for part in attr.split("."):
        if not part or not hasattr(target, part):
            raise UsageError(f"module {module_name!r} has no {attr!r} (evaluator factory {factory!r})")
        target = getattr(target, part)
    if not callable(target):
        raise UsageError(f"evaluator factory {factory!r} is not callable")
    return target


def _import(module_name: str) -> Any:
    try:
        return _run_module(module_name)
    except ModuleNotFoundError as exc:
        cwd = os.getcwd()
        if exc.name != module_name.split(".")[0] or cwd in sys.path:
            _refuse_missing_extra(exc, module_name)
            raise UsageError(f"cannot import evaluator module {module_name!r}: {exc}") from None
    sys.path.append(cwd)  # "from the same directory": worker processes inherit sys.path
    try:
        return _run_module(module_name)
    except ImportError as exc:
        sys.path.remove(cwd)
        _refuse_missing_extra(exc, module_name)
        raise UsageError(f"cannot import evaluator module {module_name!r} (looked on sys.path and in {cwd}): "
                         f"{exc}") from None


def _refuse_missing_extra(exc: ImportError, module_name: str) -> None:
    """Raise the :class:`MissingDependencyError` naming the extra when ``exc``, escaping the evaluator module, is the
    import of an optional package of nasforge's that is not installed; else return (the caller's refusal)."""
    from ..extras import missing_dependency

    if (missing := missing_dependency(exc, f"evaluator module {module_name!r}", chained=False)) is not None:
        raise missing from exc


def _run_module(module_name: str) -> Any:
    """``importlib.import_module(module_name)``; the module's own failure while it runs (a syntax error, an
    exception at import time, an import of a name its packages lack) is told in one line by :func:`_raised`. A
    :class:`ModuleNotFoundError` (told by :func:`_import`) and nasforge's refusals of bad input (an unknown space
    named at import: exit 2) stay themselves."""
    try:
        return importlib.import_module(module_name)
    except (ModuleNotFoundError, UsageError):
        raise
    except Exception as exc:  # noqa: BLE001 - the module's own failure, told as such; --debug shows where
        _raised(f"importing evaluator module {module_name!r}", exc)
