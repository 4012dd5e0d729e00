"""Whole jobs callable from Python (the CLI's commands are thin layers over them).

A pipeline that stores its settings with its study registers a resume function here; a study whose
user attribute ``pipeline`` names it is finished by :func:`resume` (``nasforge resume`` calls it),
so a killed job completes all its stages and outputs with one command.

- ``search``: :mod:`nasforge.pipelines.search`, the two-stage search (search, retrain, save).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..registry import Registry

ResumeFn = Callable[..., Any]
PIPELINES: Registry[ResumeFn] = Registry("pipeline")


def _resume_search(name: str, storage: str, **options: Any) -> Any:
    from .search import resume_search

    return resume_search(name, storage, **options)


PIPELINES.register("search", _resume_search, builtin=True)


def pipeline_of(user_attrs: dict[str, Any]) -> str | None:
    """The pipeline that created a study (from its user attributes), or None for a plain study."""
    name = user_attrs.get("pipeline")
    return name if isinstance(name, str) else None


def resume(study_name: str, storage: str, **options: Any) -> Any:
    """Finish study ``study_name`` with the pipeline that created it (``options``: e.g. ``workers``,
    ``console``); UsageError if it was not created by a registered pipeline."""
    from ..exceptions import UsageError
    from ..experiment.storage import get_storage

    record = get_storage(storage).load_study(study_name)
    name = pipeline_of(record.user_attrs or {})
    if name is None:
        raise UsageError(f"study {study_name!r} was not created by a pipeline; resume it with Study.resume")
    return PIPELINES.get(name)(study_name, storage, **options)


__all__ = ["PIPELINES", "pipeline_of", "resume"]
