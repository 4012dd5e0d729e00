"""Writing result files without losing what is there.

:func:`check_target` refuses a path whose existing file nasforge does not recognise as its own earlier
output of the same kind (so a mistyped path never replaces a database, a notes file or an unrelated
page) and probes that the folder can take the file, before any long work starts; :func:`own_outputs` checks so the
files a command writes into its output folder. :func:`write_atomic`
writes a temporary file beside the target (``.NAME.PID.XXXXXXXX.tmp``, PID: the writer's process id) and renames it
over the target (``os.replace``), so an interrupted write leaves the previous file whole; the temporary files of the
same target that killed writers left (:func:`remove_dead_temporaries`) are removed by the next write.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from .exceptions import UsageError

_TEMPORARY = re.compile(r"\.(.+)\.(\d+)\.[a-z0-9_]{8}\.tmp", re.DOTALL)
"""A temporary name of :func:`write_atomic` (``tempfile``'s 8 characters), or of ``export_model`` and ``save_model``
(8 hex digits): the target's name, the writer's process id."""

HEAD_BYTES = 4096
"""How much of an existing file the recognisers of earlier outputs read."""


def head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of a file."""
    with path.open("rb") as fh:
        return fh.read(size)


def check_target(path: str | Path, name: str, is_ours: Callable[[Path], bool], what: str,
                 links: bool = True, overwrite: bool = True) -> Path:
    """``path`` as a Path that :func:`write_atomic` may write: not a folder (nor a string ending in ``/``, which
    names one); when it exists, a regular file that is empty (or white space only) or that ``is_ours``
    recognises as ``what`` (e.g. "a nasforge report") and, unless ``overwrite``, empty; no symbolic link unless
    ``links`` (a file a run keeps in its own folder: writing through a link there would replace a file outside
    it); its folder, or the nearest existing folder above it, writable (probed with a temporary file). Otherwise
    a UsageError naming ``name`` (e.g. ``--out``; then the flag to pass is ``--overwrite``) and the path."""
    if isinstance(path, str) and path.endswith(("/", os.sep)):
        raise UsageError(f"{name} {path!r} ends in {path[-1]}, so it names a folder; name the file to write")
    path = Path(path)
    shown = f"{name} {str(path)!r}"
    if not links and path.is_symlink():
        raise UsageError(f"{shown} is a symbolic link (to {os.readlink(path)!r}); not writing through it: remove "
                         "the link")
    try:
        folder = _checked_place(path, shown, is_ours, what)
        if not overwrite and path.is_file() and head(path).strip():
            raise UsageError(f"{shown} holds {what} already; choose another {name}, or pass {_flag(name)} to "
                             "replace it")
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise UsageError(f"{shown}: {exc.strerror or exc}") from None
    _probe(folder, shown)
    return path


def check_folder(folder: str | Path, name: str) -> Path:
    """``folder`` created if missing and probed writable (with a temporary file); otherwise a UsageError naming
    ``name`` (e.g. ``out``) and the folder."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if isinstance(exc, FileExistsError):
            refuse_dangling_link(folder, name)
        raise UsageError(f"{name}: cannot create {str(folder)!r} ({exc.strerror or exc})") from None
    _probe(folder, name)
    return folder


def refuse_dangling_link(folder: str | Path, name: str) -> None:
    """A UsageError naming ``name`` (e.g. ``--out runs``) when ``folder``, or a folder above it, is a symbolic link
    to nothing: creating ``folder`` there would fail, or (``mkdir`` of the link's path alone) create its target."""
    folder = Path(folder)
    link = _dangling_link(folder)
    if link is not None:
        raise UsageError(f"{name}: cannot create {str(folder)!r}: {str(link)!r} is a symbolic link to "
                         f"{os.readlink(link)!r}, which does not exist (create its target, or remove the "
                         "link)") from None


def _dangling_link(folder: Path) -> Path | None:
    """The first of ``folder`` and the folders above it that is a symbolic link to nothing (which ``mkdir`` finds
    there as a file that exists), or None."""
    with contextlib.suppress(OSError):
        for path in (*reversed(folder.parents), folder):
            if path.is_symlink() and not path.exists():
                return path
    return None


def _probe(folder: Path, shown: str) -> None:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".nasforge-probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"{shown}: cannot write in {str(folder)!r} ({exc.strerror or exc})") from None


def _checked_place(path: Path, shown: str, is_ours: Callable[[Path], bool], what: str) -> Path:
    """The checks of :func:`check_target` on ``path`` itself; returns the folder to probe."""
    if path.is_dir():
        raise UsageError(f"{shown} is a folder; name the file to write")
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise UsageError(f"{shown} exists and is not a regular file; not overwriting it (choose another path)")
        try:
            blank = not head(path).strip()
            ours = blank or is_ours(path)
        except OSError as exc:
            raise UsageError(f"{shown} exists and cannot be read ({exc.strerror or exc}); not overwriting it") from None
        if not ours:
            raise UsageError(f"{shown} exists and is not {what}; not overwriting it (choose another path)")
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("."))
    if not folder.is_dir():
        raise UsageError(f"{shown}: {str(folder)!r} is a file, not a folder")
    return folder


def refuse_earlier_run(folder: str | Path, found: list[str], overwrite: bool, name: str, what: str,
                       note: str = "") -> None:
    """A UsageError naming ``name`` (``--out`` on the command line) when ``folder`` holds the files ``found`` of
    an earlier ``what`` (e.g. "bench run") and not ``overwrite``; ``note`` ends the message."""
    if found and not overwrite:
        raise UsageError(f"{name} {str(folder)!r} already holds an earlier {what} ({', '.join(found)}); choose "
                         f"another {name}, or pass {_flag(name)} to replace it{note}")


def own_outputs(folder: str | Path, outputs: Mapping[str, Callable[[Path], bool]], name: str,
                writer: str) -> list[Path]:
    """The files of ``outputs`` (file name -> whether an existing one is an earlier output) that ``folder`` holds,
    but for empty ones. Each is checked by :func:`check_target` first, so a symbolic link there, or a file that
    its recogniser does not take for an output of ``writer`` (e.g. "nasforge bench"), is a UsageError naming
    ``name`` and the file, even where replacing earlier outputs is allowed: it is not the writer's to replace."""
    found = []
    for file, is_ours in outputs.items():
        path = check_target(Path(folder) / file, name, is_ours, f"a file written by {writer}", links=False)
        if path.is_file() and head(path).strip():
            found.append(path)
    return found


def check_outputs(folder: str | Path, outputs: Mapping[str, Callable[[Path], bool]], overwrite: bool, name: str,
                  command: str) -> list[Path]:
    """The :func:`own_outputs` of ``nasforge command`` (e.g. "predictors eval") in ``folder``, refused as an
    earlier run (:func:`refuse_earlier_run`) unless ``overwrite``."""
    found = own_outputs(folder, outputs, name, f"nasforge {command}")
    refuse_earlier_run(folder, [path.name for path in found], overwrite, name, f"{command} run")
    return found


def json_starting(pattern: bytes) -> Callable[[Path], bool]:
    """A recogniser of the JSON files nasforge wrote whose text, from the opening brace on (white space aside),
    begins with ``pattern`` (a regular expression, e.g. ``rb'"benchmark":'``: their first key)."""
    start = re.compile(rb"\s*\{\s*" + pattern)
    return lambda path: start.match(head(path)) is not None


def starts_with(prefix: bytes) -> Callable[[Path], bool]:
    """A recogniser of the files that begin with ``prefix`` (e.g. the header line of a CSV file nasforge wrote)."""
    return lambda path: head(path, len(prefix)) == prefix


def is_matplotlib_png(path: Path) -> bool:
    """Whether the file at ``path`` is a PNG image that matplotlib drew (its Software mark, before the pixels)."""
    start = head(path)
    return start.startswith(b"\x89PNG") and b"Matplotlib" in start


def _flag(name: str) -> str:
    """The way to allow a replacement: ``--overwrite`` for an option ``name`` (``--out``), else ``overwrite=True``."""
    return "--overwrite" if name.startswith("--") else "overwrite=True"


@contextlib.contextmanager
def new_folders_removed_on_failure(folder: str | Path) -> Iterator[None]:
    """If the block raises (Ctrl-C included), remove again the folders among ``folder`` and its parents that did
    not exist on entry (the block creates them), innermost first and each only while empty, so a failed run leaves
    no empty folder behind and loses nothing written into one meanwhile."""
    folder = Path(folder)
    new = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        yield
    except BaseException:
        for made in new:
            with contextlib.suppress(OSError):  # not empty (or gone): it stays
                made.rmdir()
        raise


DEAD_TEMPORARY_AGE = 60.0
"""Seconds a temporary file must have been left unchanged before :func:`remove_dead_temporaries` removes it: a
process id that is gone here may be a live writer's on another machine or container sharing the folder."""


def unchanged_for(path: Path) -> float:
    """Seconds since ``path`` (a file, or a folder and anything in it) last changed."""
    if path.is_dir() and not path.is_symlink():
        changes = [os.lstat(os.path.join(top, name)).st_mtime for top, dirs, files in os.walk(path)
                   for name in (*dirs, *files)]
        return time.time() - max([path.lstat().st_mtime, *changes])
    return time.time() - path.lstat().st_mtime


def is_dead_temporary(entry: str, names: Collection[str] | None = None) -> bool:
    """Whether the file name ``entry`` is a temporary file or staging folder (``.NAME.PID.XXXXXXXX.tmp``) of a writer
    whose process ``PID`` is gone here, of one of the targets ``names`` when given."""
    from .experiment.identity import pid_gone

    match = _TEMPORARY.fullmatch(entry) if entry.startswith(".") and entry.endswith(".tmp") else None
    pid = int(match[2]) if match else 0
    # (no process has a larger id; os.kill would overflow)
    return 0 < pid < 2 ** 31 and (names is None or match[1] in names) and pid_gone(pid)


def remove_dead_temporaries(folder: str | Path, names: Collection[str] | None = None,
                            min_age: float = DEAD_TEMPORARY_AGE) -> list[Path]:
    """Remove from ``folder`` the temporary files and staging folders (``.NAME.PID.XXXXXXXX.tmp``) that writers
    killed while they wrote left: those whose process ``PID`` is gone and that were not changed for ``min_age``
    seconds (:func:`unchanged_for`), of the targets ``names`` only when given. A live process's (this one's
    included) stay, as does anything else or what cannot be removed; one listing of the folder. Returns what was
    removed."""
    try:
        entries = os.listdir(folder)
    except OSError:  # none yet, or not readable: nothing to remove
        return []
    removed = []
    for entry in entries:
        if not is_dead_temporary(entry, names):
            continue
        path = Path(folder) / entry
        with contextlib.suppress(OSError):
            if min_age and unchanged_for(path) < min_age:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.is_file() and not path.is_symlink():
                path.unlink()
            else:
                continue
            removed.append(path)
    return removed


def utf8_text(text: str) -> str:
    """``text`` as UTF-8 can write it: a lone surrogate, which a stored user attribute may hold (a path from
    ``os.listdir`` of a file name that is not UTF-8), as its backslash escape (``\\udcff``); the rest unchanged."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def kept_mode(path: Path) -> int | None:
    """The permission bits of the regular file at ``path``, which a file written in its place keeps; None where
    there is none (or a link)."""
    return path.stat().st_mode & 0o7777 if path.is_file() and not path.is_symlink() else None


def write_atomic(path: str | Path, data: str | bytes, name: str, follow: bool = True, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder renamed over it (creating the
    folder if needed); a file replaced keeps its permissions (``mode``, when given, is the new file's instead), and a
    symbolic link is written through (its target is replaced, the link stays), or with ``follow=False`` replaced
    itself. The temporary files of the same target
    that killed writers left are removed (:func:`remove_dead_temporaries`). Text is written as UTF-8, a lone
    surrogate (:func:`utf8_text`) as its backslash escape. An OSError is a UsageError naming ``name``."""
    path = Path(path)
    target = Path(os.path.realpath(path)) if follow else path.parent.resolve() / path.name
    payload = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data  # as utf8_text writes it
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_dead_temporaries(target.parent, (target.name,))
        if mode is None:
            mode = kept_mode(target)
        if mode is None:
            mode = 0o666 & ~_umask()
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise UsageError(f"{name} {str(path)!r}: cannot write it ({exc.strerror or exc})") from None
    return path


def write_figure(fig: Any, path: str | Path, name: str, dpi: int = 110, fmt: str | None = None,
                 metadata: dict[str, str] | None = None, follow: bool = True) -> Path:
    """Render the matplotlib figure ``fig`` as ``fmt`` (by default the format the suffix of ``path`` names, PNG
    without one) and :func:`write_atomic` it to ``path`` (``follow`` as there); the figure is closed either way."""
    import matplotlib.pyplot as plt

    image = io.BytesIO()
    try:
        fig.savefig(image, dpi=dpi, format=fmt or Path(path).suffix.lstrip(".").lower() or "png", metadata=metadata)
    finally:
        plt.close(fig)
    return write_atomic(path, image.getvalue(), name, follow)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
