"""Reading JSON that a user or a file supplies: nesting too deep, or text too large for memory, is an error the
caller names like any invalid JSON, not a ``RecursionError`` traceback (a leaf module)."""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 200
"""The deepest nesting of lists and objects :func:`loads` takes by default: far more than any file nasforge writes
(a handful of levels), far less than the ~1000 at which Python's parser, ``repr``, ``==`` or ``json.dumps`` of the
value raise ``RecursionError``."""


class JSONLimitError(ValueError):
    """JSON that nests too deeply or is too large to parse (a ``ValueError``, as invalid JSON is)."""


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(text)``; :class:`JSONLimitError` when it nests deeper than ``max_depth`` levels of lists and
    objects, or does not fit in memory. ``json.JSONDecodeError`` (invalid JSON) passes through."""
    try:
        value = json.loads(text)
        if depth(value) > max_depth:
            raise RecursionError
        return value
    except RecursionError:
        raise JSONLimitError(f"nests too deeply (over {max_depth} levels)") from None
    except MemoryError:
        raise JSONLimitError("is too large to parse in memory") from None


def depth(value: Any) -> int:
    """How deeply lists and mappings nest in ``value`` (a scalar: 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
