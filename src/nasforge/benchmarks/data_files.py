"""Locate third-party benchmark files that live outside the repository."""

from __future__ import annotations

import os
from pathlib import Path

from ..exceptions import MissingFileError, UsageError


def data_dirs() -> list[Path]:
    """Folders searched for benchmark files: ``$NASFORGE_DATA``, then ``../shared/data`` from the
    working directory and, when nasforge runs from a source checkout, from the checkout. A ``NASFORGE_DATA`` that
    names no folder is a UsageError naming the variable (a typo would else read the other folders' files); a leading
    ``~`` in it is the home folder."""
    dirs = []
    if os.environ.get("NASFORGE_DATA"):
        given = Path(os.environ["NASFORGE_DATA"]).expanduser()
        if not given.is_dir():
            raise UsageError(f"NASFORGE_DATA={given} is not a folder; set it to the folder holding the benchmark "
                             "files, or unset it to use ../shared/data")
        dirs.append(given)
    dirs.append(Path.cwd().parent / "shared" / "data")
    checkout = source_checkout()
    if checkout is not None:
        dirs.append(checkout.parent / "shared" / "data")
    return list(dict.fromkeys(dirs))


def source_checkout(package: Path = Path(__file__).resolve().parents[1]) -> Path | None:
    """The folder of the source checkout that ``package`` (nasforge's folder) lies in (``<checkout>/src/nasforge``
    beside ``<checkout>/pyproject.toml``); None for an installed copy (site-packages)."""
    root = package.parents[1]
    return root if package.parent.name == "src" and (root / "pyproject.toml").is_file() else None


def find_data_file(name: str) -> Path:
    """Path of a benchmark file, or ``MissingFileError`` (a ``FileNotFoundError``) saying where it was looked for; a
    ``UsageError`` for a ``name`` that is no file name (str or Path)."""
    if not isinstance(name, (str, os.PathLike)) or not str(name).strip():
        raise UsageError(f"name must be the file name of a benchmark file (str or Path), got {type(name).__name__} "
                         f"{name!r}")
    for folder in data_dirs():
        candidate = folder / name
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(d) for d in data_dirs())
    raise MissingFileError(f"benchmark file {name!r} not found (looked in: {looked}); set NASFORGE_DATA to its folder")
