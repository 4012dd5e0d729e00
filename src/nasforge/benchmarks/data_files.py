"""Locate third-party benchmark files that live outside the repository."""

from __future__ import annotations

import os
from pathlib import Path

from ..exceptions import MissingFileError


def data_dirs() -> list[Path]:
    """Folders searched for benchmark files: ``$NASFORGE_DATA``, then ``../shared/data`` from the
    working directory and from the source checkout."""
    dirs = []
    if os.environ.get("NASFORGE_DATA"):
        dirs.append(Path(os.environ["NASFORGE_DATA"]))
    dirs.append(Path.cwd().parent / "shared" / "data")
    dirs.append(Path(__file__).resolve().parents[3].parent / "shared" / "data")
    return list(dict.fromkeys(dirs))


def find_data_file(name: str) -> Path:
    """Path of a benchmark file, or ``MissingFileError`` (a ``FileNotFoundError``) saying where it was looked for."""
    for folder in data_dirs():
        candidate = folder / name
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(d) for d in data_dirs())
    raise MissingFileError(f"benchmark file {name!r} not found (looked in: {looked}); set NASFORGE_DATA to its folder")
