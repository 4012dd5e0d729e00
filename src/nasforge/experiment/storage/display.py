"""Storage URLs as pages and console lines show them: never with the database password; the study names that a
"no study" error lists."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

_USERINFO = re.compile(r"([\w+]+://[^:/]*):[^@]*@")  # user:PASSWORD@ as SQLAlchemy reads it (to the first '@')
_AUTHORITY = re.compile(r"(\[[^/?]+\]|[^/:?]*)(?::([^/?]*))?")  # the host and port read after it
_KEY = r"[?&]\w*password="  # a query parameter holding a secret: password=, libpq's sslpassword= (and any *password=)
_QUERY_PASSWORD = re.compile(f"({_KEY})[^&]*", re.I)  # a URL alone: to the next parameter
_TEXT_PASSWORD = re.compile(f"({_KEY})([^&\\s'\"]*)", re.I)  # inside a longer text: to the end of the URL too
_ANY_URL = re.compile(r"\b[a-z][\w+.-]*://[^:/@\s'\"]*:[^\s'\"]*", re.I)  # inside a longer text, with a user:
_MASKED = ("***", "***;", "***,", "***.", "***:", "***)")
"""A ``password=`` value already masked (a sentence's punctuation after it): left as it is, so masking twice
changes nothing."""


def _userinfo(url: str) -> tuple[str, int] | None:
    """(``scheme://user``, where its ``:PASSWORD@`` ends) in ``url``; None without a password. The password ends at
    the '@' SQLAlchemy ends it at (the first after ``user:``), so an '@' in the database name or the query stays;
    where the host or port read so would hold an '@' (the password holds an unencoded one, and the URL is
    refused), at the last '@', so that none of the password shows."""
    found = _USERINFO.match(url)
    if not found:
        return None
    host, port = _AUTHORITY.match(url, found.end()).groups()  # type: ignore[union-attr]  (it matches "")
    if "@" in host or (port and not port.isdigit() and "@" in url[found.end():]):
        return found.group(1), url.rindex("@") + 1
    return found.group(1), found.end()


def _masked(url: str) -> str:
    """``url`` with ``user:PASSWORD@`` as ``user:***@``."""
    found = _userinfo(url)
    return url if found is None else f"{found[0]}:***@{url[found[1]:]}"


def display_url(url: str) -> str:
    """``url`` with a password (``user:PASSWORD@`` or a query parameter whose key ends in ``password``:
    ``password=``, ``sslpassword=``) replaced by ``***``; a URL without one (SQLite, ``memory``) unchanged."""
    return _QUERY_PASSWORD.sub(r"\1***", _masked(url))


def without_password(url: str) -> str:
    """``url`` with its password removed (``user:PASSWORD@`` becomes ``user@``, a query parameter whose key ends in
    ``password`` is dropped): what may be stored and shown, and still connects where the password comes from elsewhere
    (``PGPASSWORD``, ``~/.pgpass``, or the URL a user passes). An '@' after the host (in the database name or the
    query) is percent-encoded there: without the password SQLAlchemy would read ``user@host:port/db@`` as userinfo."""
    found = _userinfo(url)
    if found:
        url = f"{found[0]}@{url[found[1]:].replace('@', '%40')}"
    url = re.sub(r"(?<=[?&])\w*password=[^&]*(&|$)", "", url, flags=re.I)  # each such key, side by side too
    return url[:-1] if url.endswith(("?", "&")) else url


def hide_password(text: str, url: str) -> str:
    """``text`` (an error message) with every occurrence of the storage ``url`` shown by :func:`display_url`."""
    return text.replace(url, display_url(url)) if url else text


def mask_passwords(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` URL (or ``*password=`` parameter) in it
    replaced by ``***``, the rest of the text kept (the last guard of the command line's error lines)."""
    text = _ANY_URL.sub(lambda m: _masked(m.group(0)), text)
    return _TEXT_PASSWORD.sub(lambda m: m.group(0) if m.group(2) in _MASKED else m.group(1) + "***", text)


PASSWORD_NOT_RECORDED = ("the password is not recorded: set PGPASSWORD, use ~/.pgpass, or add user:PASSWORD@ to "
                         "the URL")
"""What a printed resume command, or a stored URL shown, says of the password it leaves out."""

SHOWN_NAMES = 10
"""How many study names a "no study" error lists."""


def study_command(verb: str, name: str, storage: str, *options: str) -> str:
    """``nasforge VERB NAME --storage URL OPTIONS...`` (never with the storage's password: commands are stored and
    shown), each word quoted for a shell; a name starting with '-' (stored before such names were refused) goes last,
    after ``--``, so that it is not read as an option."""
    url = without_password(storage) if storage else storage
    words = " ".join(shlex.quote(word) for word in ("--storage", url, *options))
    if name.startswith("-"):
        return f"nasforge {verb} {words} -- {shlex.quote(name)}"
    return f"nasforge {verb} {shlex.quote(name)} {words}"


def some_names(names: Sequence[str]) -> str:
    """The study names for a "no study" error: the first :data:`SHOWN_NAMES`, then how many more there are."""
    if len(names) <= SHOWN_NAMES:
        return str(list(names))
    return f"{list(names[:SHOWN_NAMES])} and {len(names) - SHOWN_NAMES} more (see nasforge studies)"


__all__ = ["PASSWORD_NOT_RECORDED", "SHOWN_NAMES", "display_url", "hide_password", "mask_passwords", "some_names",
           "without_password"]
