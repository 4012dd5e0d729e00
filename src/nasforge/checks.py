"""Argument checks shared across nasforge: each raises :class:`~nasforge.exceptions.UsageError` naming the
argument and its value (a leaf module: no heavy imports)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from .exceptions import UsageError


def check_int(name: str, value: Any, low: int = 0) -> None:
    """``value`` must be an integer (not a bool) >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise UsageError(f"{name} must be an integer >= {low}, got {value!r}")


def is_real(value: Any) -> bool:
    """Whether ``value`` is a finite real number (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)


def check_real(name: str, value: Any, ok: Callable[[float], bool], want: str) -> None:
    """``value`` must be a finite real number (not a bool) for which ``ok`` holds; ``want`` says what is expected."""
    if not is_real(value) or not ok(value):
        raise UsageError(f"{name} must be {want}, got {value!r}")
