"""Storage URLs as pages and console lines show them: never with the database password; the study names that a
"no study" error lists."""

from __future__ import annotations

import re
from collections.abc import Sequence

# user:PASSWORD@ up to the last '@': a password with an unencoded '@' is hidden whole (SQLAlchemy would split it)
_USERINFO = re.compile(r"^([\w+]+://[^:/]*):.*@")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&]*", re.I)  # a URL alone: to the next parameter
_TEXT_PASSWORD = re.compile(r"([?&]password=)([^&\s'\"]*)", re.I)  # inside a longer text: to the end of the URL too
_ANY_USERINFO = re.compile(r"\b([a-z][\w+.-]*://[^:/@\s'\"]*):(?:[^@\s'\"]*@)+", re.I)  # inside a longer text
_MASKED = ("***", "***;", "***,", "***.", "***:", "***)")
"""A ``password=`` value already masked (a sentence's punctuation after it): left as it is, so masking twice
changes nothing."""


def display_url(url: str) -> str:
    """``url`` with a password (``user:PASSWORD@`` or a ``password=`` query parameter) replaced by ``***``; a URL
    without one (SQLite, ``memory``) unchanged."""
    return _QUERY_PASSWORD.sub(r"\1***", _USERINFO.sub(r"\1:***@", url, count=1))


def without_password(url: str) -> str:
    """``url`` with its password removed (``user:PASSWORD@`` becomes ``user@``, a ``password=`` query parameter is
    dropped): what may be stored and shown, and still connects where the password comes from elsewhere
    (``PGPASSWORD``, ``~/.pgpass``, or the URL a user passes)."""
    url = _USERINFO.sub(r"\1@", url, count=1)
    url = re.sub(r"([?&])password=[^&]*(&|$)", r"\1", url, flags=re.I)
    return url[:-1] if url.endswith(("?", "&")) else url


def hide_password(text: str, url: str) -> str:
    """``text`` (an error message) with every occurrence of the storage ``url`` shown by :func:`display_url`."""
    return text.replace(url, display_url(url)) if url else text


def mask_passwords(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` URL (or ``password=`` parameter) in it
    replaced by ``***``, the rest of the text kept (the last guard of the command line's error lines)."""
    text = _ANY_USERINFO.sub(r"\1:***@", text)
    return _TEXT_PASSWORD.sub(lambda m: m.group(0) if m.group(2) in _MASKED else m.group(1) + "***", text)


PASSWORD_NOT_RECORDED = ("the password is not recorded: set PGPASSWORD, use ~/.pgpass, or add user:PASSWORD@ to "
                         "the URL")
"""What a printed resume command, or a stored URL shown, says of the password it leaves out."""

SHOWN_NAMES = 10
"""How many study names a "no study" error lists."""


def some_names(names: Sequence[str]) -> str:
    """The study names for a "no study" error: the first :data:`SHOWN_NAMES`, then how many more there are."""
    if len(names) <= SHOWN_NAMES:
        return str(list(names))
    return f"{list(names[:SHOWN_NAMES])} and {len(names) - SHOWN_NAMES} more (see nasforge studies)"


__all__ = ["PASSWORD_NOT_RECORDED", "SHOWN_NAMES", "display_url", "hide_password", "mask_passwords", "some_names",
           "without_password"]
