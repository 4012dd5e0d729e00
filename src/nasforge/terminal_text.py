"""Text as a terminal may show it: control characters and bidi overrides written as escapes, so a name or cell
never drives the terminal (tables, logs and progress lines share this rule)."""

from __future__ import annotations

import re

# control characters but newline (C0, DEL, C1) and bidirectional overrides: they would drive the terminal
_UNPRINTABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escaped(text: str) -> str:
    """``text`` with its control characters and bidi overrides shown as escapes (``\\x1b``, ``\\u202e``)."""
    return _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], text)
