"""SHA-256 checksums of saved model files: recorded when a model is saved, checked before a native library
(LightGBM, XGBoost, safetensors) parses a file again, so a changed, truncated or swapped file is refused."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..exceptions import UnsafeFileError


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_names(folder: Path, entries: Iterable[str] | None = None) -> list[str]:
    """Every file under ``folder`` (or under its ``entries``: files or sub-folders), as POSIX paths relative
    to it."""
    roots = [folder] if entries is None else [folder / e for e in entries]
    found = [p for root in roots for p in ([root] if root.is_file() else sorted(root.rglob("*"))) if p.is_file()]
    return [p.relative_to(folder).as_posix() for p in found]


def file_checksums(folder: Path, entries: Iterable[str] | None = None) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (or under its ``entries``), by POSIX path relative to it."""
    return {rel: sha256_of(folder / rel) for rel in file_names(folder, entries)}


def inside(root: Path, relative: str, where: str) -> Path:
    """``root / relative``, refusing absolute paths and paths that leave ``root`` (``..``, links)."""
    if not relative or Path(relative).is_absolute() or "\\" in relative or ".." in Path(relative).parts:
        raise UnsafeFileError(f"{where}: path {relative!r} must stay inside {root}")
    path = root / relative
    if not path.resolve().is_relative_to(root.resolve()):
        raise UnsafeFileError(f"{where}: path {relative!r} leads outside {root}")
    return path


def check_files(folder: Path, checksums: Mapping[str, Any], present: Iterable[str], what: str, record: str,
                remedy: str) -> None:
    """Refuse (``UnsafeFileError`` naming the file) a file of ``present`` that ``checksums`` (relative path ->
    SHA-256, kept in ``record``, e.g. "the manifest") does not list, as it would be read unverified, and a listed
    file that is missing, outside ``folder`` or has another SHA-256. ``what`` names the files' owner in messages,
    ``remedy`` says what to do."""
    unlisted = [rel for rel in present if rel not in checksums]
    if unlisted:
        raise UnsafeFileError(f"{folder}: {record} has no checksum of {', '.join(unlisted[:5])} (the {what} "
                              f"holds files it does not list); {remedy}")
    for rel, expected in checksums.items():
        path = inside(folder, rel, f"{record} entry {rel!r} of the {what}")
        if not path.is_file():
            raise UnsafeFileError(f"{path} is missing (listed in {record} for the {what})")
        if not isinstance(expected, str) or sha256_of(path) != expected:
            raise UnsafeFileError(f"{path} does not match its SHA-256 in {record}: the file was changed, "
                                  f"truncated or replaced; {remedy}")
