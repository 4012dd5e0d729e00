"""Argument checks shared across nasforge: each raises :class:`~nasforge.exceptions.UsageError` naming the
argument and its value (a leaf module: no heavy imports)."""

from __future__ import annotations

import math
import numbers
import os
import reprlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .exceptions import UsageError

SEED_LIMIT = 2**63
"""Seeds lie below this: torch takes seeds < 2**64 and a study stores its seed as a signed 64-bit integer."""
MAX_THREADS = max(64, 4 * (os.cpu_count() or 1))
"""The most torch threads one process may ask for (4 per CPU, at least 64): far more exhaust the process limit."""


def check_int(name: str, value: Any, low: int = 0, high: int | None = None) -> int:
    """``value`` must be an integer (not a bool) >= ``low`` and, given ``high``, <= ``high``; returned as a
    Python ``int`` (a numpy integer is accepted and converted, so it stores and serialises like one)."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < low
            or (high is not None and value > high)):
        raise UsageError(f"{name} must be an integer >= {low}{'' if high is None else f' and <= {high}'}, "
                         f"got {value!r}")
    return int(value)


def check_seed(name: str, value: Any) -> int:
    """``value`` must be a seed: an integer in [0, 2**63); returned as a Python ``int``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= SEED_LIMIT:
        raise UsageError(f"{name} must be < 2**63 (a 64-bit seed), got {value!r}")
    return check_int(name, value, 0)


def check_names(name: str, value: Any) -> list[str]:
    """``value`` must be a name or a collection of names (strings: a list, tuple, set, pandas Index, NumPy array,
    generator, ...); returned as a list (one string is one name, not its characters)."""
    if isinstance(value, str):
        return [value]
    names = list(value) if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)) else None
    if not names or not all(isinstance(item, str) for item in names):
        raise UsageError(f"{name} must be a name or a non-empty list of names, got {value!r}")
    return [str.__str__(item) for item in names]  # a str Enum member or np.str_ as its plain value


def check_path(name: str, value: Any, what: str = "a file or folder") -> None:
    """``value`` must be a str or ``os.PathLike`` naming something (not empty or blank, which ``Path`` would read as
    the working directory: usually an unset shell variable); ``what`` says what it should name."""
    if not isinstance(value, (str, os.PathLike)):
        raise UsageError(f"{name} must be a path (str or Path), got {type(value).__name__} {value!r}")
    if not str(value).strip():
        raise UsageError(f"{name} must name {what}, got {str(value)!r} (an unset shell variable?)")


def float_array(name: str, values: Any) -> np.ndarray:
    """``values`` (a list, tuple or array of numbers, nested for several dimensions) as a float array; None, an
    iterator (read once: a list is needed), a ragged list and text are a ``UsageError`` naming ``name``."""
    hint = " (an iterator is read once: give a list)" if isinstance(values, Iterator) else ""
    if values is not None and not hint:
        try:
            array = np.asarray(values)
            if array.dtype.kind not in "USV":  # text would be read as the numbers it spells
                return array.astype(np.float64, copy=False)
        except (TypeError, ValueError):  # a ragged list, or objects that are no numbers
            pass
    raise UsageError(f"{name} must be a list or array of numbers, got {type(values).__name__} "
                     f"{reprlib.repr(values)}{hint}")


def check_bool(name: str, value: Any) -> None:
    """``value`` must be True or False (a truthy string such as "no" is a UsageError, not True)."""
    if not isinstance(value, (bool, np.bool_)):
        raise UsageError(f"{name} must be True or False, got {value!r}")


def check_threads(name: str, value: Any) -> None:
    """``value`` must be a thread count: an integer in [1, :data:`MAX_THREADS`]."""
    check_int(name, value, 1, MAX_THREADS)


def check_input_shape(value: Any) -> tuple[int, ...]:
    """``value`` must be the shape of one input without the batch dimension: a non-empty list or tuple of positive
    integers (numpy integers too); returned as a tuple of Python ints."""
    if (isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or not value or not all(
            isinstance(n, numbers.Integral) and not isinstance(n, (bool, np.bool_)) and n > 0 for n in value)):
        raise UsageError(f"input_shape must be the shape of one input, positive integers without the batch "
                         f"dimension (e.g. [1, 8, 8], (C, H, W) for an image), got {value!r}")
    return tuple(int(n) for n in value)


_PLAIN_NUMBERS = (int, float)
"""Exact types that are real numbers, found without the ABC check (slow on a hot path: every result's metrics)."""


def is_number(value: Any) -> bool:
    """Whether ``value`` is a real number (an int, a float or a numpy one; not a bool), infinite or NaN included."""
    return type(value) in _PLAIN_NUMBERS or (not isinstance(value, bool) and isinstance(value, numbers.Real))


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer (a Python or numpy one; not a bool)."""
    return type(value) is int or (not isinstance(value, bool) and isinstance(value, numbers.Integral))


def is_real(value: Any) -> bool:
    """Whether ``value`` is a finite real number (not a bool)."""
    return is_number(value) and math.isfinite(value)


def is_scored(value: Any) -> bool:
    """Whether a stored objective value is scored (told to the strategy, ranked): a finite number, true/false
    counting as 1/0 as they always have; text, null, NaN, an infinity or an int beyond the float range (an old row,
    stored before results were checked, may hold any) is not."""
    if type(value) is float:  # the usual value, answered without the general checks (every ranked trial asks)
        return math.isfinite(value)
    if not (is_number(value) or isinstance(value, bool)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_real(name: str, value: Any, ok: Callable[[float], bool], want: str) -> None:
    """``value`` must be a finite real number (not a bool) for which ``ok`` holds; ``want`` says what is expected
    (e.g. "> 0"). A value that is no finite number is told so, with its type when it is no number at all."""
    if is_real(value) and ok(value):
        return
    why = "" if is_real(value) else " (not a finite number)" if is_number(value) else \
        f" (a {type(value).__name__}, not a number)"
    raise UsageError(f"{name} must be {want}, got {value!r}{why}")
