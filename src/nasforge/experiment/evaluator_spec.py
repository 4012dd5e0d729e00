"""Evaluators named by an import path, so a stored study can rebuild its evaluator to resume.

A spec is ``{"factory": "package.module:callable", "kwargs": {...}}``: the callable is imported and
called with the JSON keyword arguments. Nothing is unpickled.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..exceptions import UsageError


def build_evaluator(spec: dict[str, Any] | str) -> Any:
    """Import and call the factory of ``spec`` (a dict, or a bare "module:callable" string)."""
    if isinstance(spec, str):
        spec = {"factory": spec}
    factory = spec.get("factory")
    if not isinstance(factory, str) or ":" not in factory:
        raise UsageError(f"evaluator factory must look like 'package.module:callable', got {factory!r}")
    module_name, _, attr = factory.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import evaluator module {module_name!r}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(target, part):
            raise UsageError(f"module {module_name!r} has no {attr!r} (evaluator factory {factory!r})")
        target = getattr(target, part)
    kwargs = spec.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise UsageError(f"evaluator kwargs must be a JSON object, got {kwargs!r}")
    return target(**kwargs)
