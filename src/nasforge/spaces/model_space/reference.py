"""Name a module class by an import reference and find it again (torch-free).

A reference is ``"package.module:Class"`` or ``"path/to/file.py:Class"`` (``Class`` may be dotted,
e.g. ``Outer.Inner``). Classes of a script run as ``__main__``, or of a top-level module of the user's own
(``my_cnn.py`` beside the script), are named by the file's path.
Loading a file runs it under a private module name, so its ``if __name__ == "__main__":`` block does
not run; its folder is put first on ``sys.path`` (and left there), so it imports its sibling modules
as it would when run with ``python file.py``.

A reference read from a stored record (a study, a saved network, a supernet checkpoint) goes through
:func:`stored_reference`, which refuses, before anything calls it, whatever is not the user's own model code.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import os
import re
import site
import sys
import sysconfig
import threading
import warnings
from pathlib import Path
from typing import Any

from ...exceptions import UsageError, user_stacklevel
from ...extras import missing_dependency

_FILE_MODULES: dict[str, str] = {}  # private module name -> absolute file path
_LOADING = threading.local()  # .files: the user files whose top-level code this thread runs now (innermost last)
_STOPPED: set[str] = set()  # private module names of the files whose loading stopped at a study (StudyAtImport)


class StudyAtImport(BaseException):
    """Stops a model file's top-level code where it makes or runs a study (script code that would run the
    study again in every process rebuilding the space). A BaseException, so that the script's own
    ``except Exception`` does not swallow it."""


def stop_study_at_import() -> None:
    """Raise :class:`StudyAtImport` while a user's model file is loaded by :func:`_load_file` or :func:`_import`
    (called where a study is made, asked, told, queued or run; cheap otherwise)."""
    if getattr(_LOADING, "files", None):
        raise StudyAtImport(_LOADING.files[-1])


def load_reference(ref: str) -> Any:
    """The object named by ``ref``; ``UsageError`` naming the reference when it cannot be found."""
    if not isinstance(ref, str) or ":" not in ref:
        raise UsageError(f"module reference {ref!r} must look like 'package.module:Class' or 'file.py:Class'")
    where, _, attr = ref.rpartition(":")
    if not where or not attr:
        raise UsageError(f"module reference {ref!r} must look like 'package.module:Class' or 'file.py:Class'")
    target = _load_file(where, attr) if where.endswith(".py") else _import(where)
    stopped = getattr(target, "__name__", None) in _STOPPED
    for part in attr.split("."):
        if not hasattr(target, part):
            why = (f"; its loading stopped where its top-level code makes or runs a study, perhaps before "
                   f"defining {part!r}: guard that script code with `if __name__ == \"__main__\":`") if stopped else ""
            raise UsageError(f"{where} has no {attr!r} (module reference {ref!r}){why}")
        stopped = False
        target = getattr(target, part)
    return target


def stored_reference(ref: str) -> Any:
    """The object named by ``ref`` read from a stored record, checked before anything calls it: an ``nn.Module``
    class, or a Python function defined in a file outside the Python installation and outside nasforge (not the
    standard library, not site-packages, not nasforge's own functions wherever it is installed: the user's own code,
    wherever a package re-exports it from). ``UsageError`` naming the reference otherwise."""
    import torch  # the model code imports it anyway

    problem = _unrunnable(ref)
    if problem:
        raise UsageError(f"a stored space reference runs only your own model code (an nn.Module class, or a "
                         f"function defined in your own file or package); {ref!r} {problem}: refused")
    target = load_reference(ref)
    if isinstance(target, type) and issubclass(target, torch.nn.Module) or _own_function(target):
        return target
    raise UsageError(f"a stored space reference runs only your own model code (an nn.Module class, or a function "
                     f"defined in your own file or package); {ref!r} is {_describe(target)}: refused")


def _unrunnable(ref: Any) -> str | None:
    """Without running anything: why loading ``ref`` would run what is not the user's model code (a standard-library
    module not imported yet, a ``__main__`` module, a file of the Python installation, a name the file binds by an
    import), else None. A module already imported runs nothing when named again (checked after)."""
    if not isinstance(ref, str) or ":" not in ref:
        return None  # load_reference names the malformed reference
    where, _, attr = ref.rpartition(":")
    if not where.endswith(".py"):
        parts = where.split(".")
        if "__main__" in parts:
            return "names a __main__ module (a program, not model code)"
        if where not in sys.modules and parts[0] in sys.stdlib_module_names:
            return "names a standard-library module"
        if parts[0] == "nasforge":
            return NASFORGE_ITSELF
        return None
    path = Path(where).expanduser()
    if not path.is_file():
        return None  # load_reference says so
    if _installed(str(path)):
        return "names a file of the Python installation (the standard library or site-packages)"
    if _in_nasforge(str(path)):
        return NASFORGE_ITSELF
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, RecursionError, OSError, MemoryError) as exc:
        return f"names a file that is not readable Python ({type(exc).__name__})"
    if _imports(tree, attr.split(".")[0]):
        return (f"names {attr!r}, which {where} binds by an import (code of another module): name the file that "
                "defines it")
    return None


def _imports(node: ast.AST, name: str) -> bool:
    """Whether ``node``'s own scope (not inside functions or classes) binds ``name`` by an import statement."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(child, ast.alias) and (child.asname or child.name.split(".")[0]) == name or \
                _imports(child, name):
            return True
    return False


def _own_function(target: Any) -> bool:
    """Whether ``target`` is a Python function whose code lies in a file outside the Python installation and outside
    nasforge (in an editable install nasforge lies outside the installation, but its functions are no model code)."""
    if not inspect.isfunction(target):
        return False
    path = getattr(sys.modules.get(target.__module__), "__file__", None) or target.__code__.co_filename
    return bool(path) and Path(path).is_file() and not _installed(path) and not _in_nasforge(path)


NASFORGE_ITSELF = "names nasforge itself (a library, not model code)"


def _in_nasforge(path: str) -> bool:
    """Whether the file ``path`` lies in a package named nasforge (this one or another copy, wherever installed)."""
    folder, top = Path(path).resolve().parent, None
    while folder != folder.parent and (folder / "__init__.py").is_file():
        folder, top = folder.parent, folder.name
    return top == "nasforge"


def _installed(path: str) -> bool:
    """Whether ``path`` lies inside the Python installation: its standard library or a site-packages folder
    (not merely under ``sys.prefix``: a system Python's prefix /usr also holds users' code, e.g. /usr/src/app)."""
    paths = sysconfig.get_paths()
    roots = {site.getusersitepackages(), *site.getsitepackages(),
             *(paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")),
             *(entry for entry in sys.path if Path(entry).name in ("site-packages", "dist-packages"))}
    resolved = Path(path).resolve()
    return any(resolved.is_relative_to(Path(root).resolve()) for root in roots if root)


def _describe(target: Any) -> str:
    module, qualname = getattr(target, "__module__", None), getattr(target, "__qualname__", type(target).__name__)
    name = qualname if module in _FILE_MODULES or not module else f"{module}.{qualname}"
    if isinstance(target, type):
        return f"the class {name}, not an nn.Module"
    if inspect.isfunction(target):
        return (f"the function {name}, not your own code (a function must be defined in a file outside the Python "
                "installation and nasforge: not the standard library, site-packages or nasforge itself)")
    return f"{name}, a {type(target).__name__} (neither an nn.Module class nor a function)"


def absolute_reference(ref: str) -> str:
    """``ref`` with a file path made absolute (as :func:`load_reference` finds it); other references as they are."""
    where, sep, attr = ref.rpartition(":")
    if not sep or not where.endswith(".py"):
        return ref
    return f"{Path(where).expanduser().resolve()}:{attr}"


def reference_of(obj: Any) -> str | None:
    """An import reference that finds ``obj`` again, or None (a class defined inside a function, ...)."""
    module_name, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module_name or not qualname or "<" in qualname:
        return None
    by_path = module_name == "__main__" or _own_top_level(module_name, obj, qualname)
    if module_name in _FILE_MODULES:
        where = _FILE_MODULES[module_name]
    elif by_path:
        path = getattr(sys.modules.get(module_name), "__file__", None)
        if not path:
            return None
        where = str(Path(path).resolve())
    else:
        where = module_name
    ref = f"{where}:{qualname}"
    try:
        return ref if by_path or load_reference(ref) is obj else None
    except UsageError:
        return None


def _own_top_level(module_name: str, obj: Any, qualname: str) -> bool:
    """Whether ``obj`` is named ``qualname`` in a top-level module (not in a package) loaded from a ``.py`` file outside
    the Python installation: a module of the user's own, importable perhaps only from the script's folder or the
    working directory, so a record names it by its file."""
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if "." in module_name or not path or not path.endswith(".py") or _installed(path):
        return False
    target: Any = module
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return target is obj


def source_file(obj: Any) -> str | None:
    """The file of the module that defines ``obj`` (a class or function), or None (built in, interactive)."""
    module_name = getattr(obj, "__module__", None)
    if module_name in _FILE_MODULES:
        return _FILE_MODULES[module_name]
    path = getattr(sys.modules.get(module_name or ""), "__file__", None)
    return str(Path(path).resolve()) if path else None


def source_fingerprint(path: str) -> str | None:
    """The sha1 of the file at ``path`` as it is now, or None when it cannot be read."""
    try:
        return hashlib.sha1(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def file_problem(ref: Any, source_sha1: Any) -> str | None:
    """Without importing anything: why the file of a stored file reference ``ref`` no longer holds the module
    recorded with fingerprint ``source_sha1`` (gone, or edited), else None (package references are not looked at)."""
    where = ref.rpartition(":")[0] if isinstance(ref, str) else ""
    if not where.endswith(".py"):
        return None
    if not Path(where).expanduser().is_file():
        return f"no such Python file: {where}"
    if edited_file(ref, source_sha1):
        return f"the module file {where} changed since the study was trained"
    return None


def unparsable(path: str) -> str | None:
    """Why the Python file at ``path`` cannot be parsed (the error, with its line), else None; nothing runs."""
    try:
        ast.parse(Path(path).read_bytes(), filename=path)
    except (SyntaxError, ValueError, RecursionError, OSError, MemoryError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def edited_file(ref: Any, source_sha1: Any) -> str | None:
    """Without parsing or running it (its bytes are only read and hashed): the absolute path of the file of a stored
    file reference ``ref`` when its sha1 is no longer ``source_sha1``, else None (no fingerprint recorded, a file
    gone, a package reference: not looked at)."""
    where = ref.rpartition(":")[0] if isinstance(ref, str) else ""
    path = Path(where).expanduser()
    if source_sha1 is None or not where.endswith(".py") or not path.is_file():
        return None
    return str(path.resolve()) if source_fingerprint(str(path)) != source_sha1 else None


class _HeldStderr:
    """Stands in for ``sys.stderr`` while a module is imported: what it writes then is held, and written out after a
    normal import or folded into the message when the module exits (argparse's own line would otherwise come first,
    naming ``__main__.py``). Everything else (``fileno`` for faulthandler, a logging handler made at import that
    keeps this object) goes to the real stream, and so does every write once the import is over."""

    def __init__(self) -> None:
        import io

        self._real, self._text, self._holding = sys.stderr, io.StringIO(), False

    def write(self, text: str) -> int:
        return (self._text if self._holding else self._real).write(text)

    def flush(self) -> None:
        if not self._holding:
            self._real.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __enter__(self) -> _HeldStderr:
        self._holding, sys.stderr = True, self
        return self

    def __exit__(self, kind: Any, exc: Any, trace: Any) -> None:
        self._holding = False
        if sys.stderr is self:
            sys.stderr = self._real
        if not isinstance(exc, SystemExit) and self._text.getvalue():
            self._real.write(self._text.getvalue())

    def last_line(self) -> str:
        lines = [line for line in self._text.getvalue().splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


def _import(module_name: str) -> Any:
    """The module ``module_name``; not found on ``sys.path``, it is looked for in the working directory too (which
    ``python -m nasforge`` puts first on ``sys.path`` and the ``nasforge`` script lacks), added last so that it
    shadows no installed module, and kept there. An import of an optional package of nasforge's that is not
    installed is a :class:`MissingDependencyError` naming its extra. Its top-level code stops where it makes or runs
    a study, as a file's does (:func:`_load_file`)."""
    held = _HeldStderr()
    loading = _LOADING.__dict__.setdefault("files", [])
    loading.append(module_name)
    try:
        with held:
            try:
                return importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if not _module_missing(exc, module_name) or not _add_working_directory():
                    raise
                return importlib.import_module(module_name)
    except StudyAtImport as stop:
        return _stopped_module(module_name, stop)
    except ImportError as exc:
        if (missing := missing_dependency(exc, module_name, chained=False)) is not None:  # it imports torch: the extra
            raise missing from (None if missing is exc else exc)
        raise UsageError(f"cannot import module {module_name!r}: {exc}{_import_hint(exc, module_name)}") from None
    except SystemExit as exc:
        raise UsageError(_exited(module_name, exc, held.last_line())) from None
    except Exception as exc:  # the module itself fails (a syntax error, an exception at import time)
        raise UsageError(f"importing {module_name} failed: {type(exc).__name__}: {exc}") from None
    finally:
        loading.pop()


def _stopped_module(module_name: str, stop: StudyAtImport) -> Any:
    """The module ``module_name`` whose import ``stop`` ended at a study (importlib dropped it), put back in
    ``sys.modules`` with what it defined above that point; a UsageError when the study stopped another module's import
    (a package's ``__init__``, a module it imports) before ``module_name`` was run."""
    import gc
    import types

    namespace, tb = None, stop.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") == module_name:
            namespace = frame.f_globals
        tb = tb.tb_next
    module = next((m for m in gc.get_referrers(namespace) if isinstance(m, types.ModuleType)
                   and m.__dict__ is namespace), None) if namespace is not None else None
    if module is None:
        raise UsageError(f"importing {module_name} stopped where the top-level code of a module it imports makes "
                         f"or runs a study ({_STOP_ADVICE})") from None
    sys.modules[module_name] = module
    parent, _, child = module_name.rpartition(".")
    if parent in sys.modules:
        setattr(sys.modules[parent], child, module)
    _STOPPED.add(module_name)
    warnings.warn(_stopped_warning(module_name), UserWarning, stacklevel=user_stacklevel())
    return module


_STOP_ADVICE = "script code, which runs again whenever the file is loaded to rebuild its model space: Study.load, " \
    "resume, export, each worker"


def _stopped_warning(what: str) -> str:
    return (f"{what} makes or runs a study at its top level ({_STOP_ADVICE}); loading stopped there, keeping "
            "what it defined above it. Guard the script code with `if __name__ == \"__main__\":`")


def _import_hint(exc: ImportError, module_name: str) -> str:
    """What to do about ``exc``: find the module itself, or install what it imports."""
    if not isinstance(exc, ModuleNotFoundError):
        return ""
    if _module_missing(exc, module_name):
        return (" (a package module is found by name: run from the folder it was imported from, or put that folder "
                "on PYTHONPATH)")
    return f" ({module_name} imports {exc.name}, which is not installed here)"


def _module_missing(exc: ModuleNotFoundError, module_name: str) -> bool:
    """Whether ``exc`` says ``module_name`` or a package above it is not found (not a module it imports)."""
    parts = module_name.split(".")
    return exc.name in {".".join(parts[:k]) for k in range(1, len(parts) + 1)}


def _add_working_directory() -> bool:
    """Put the working directory last on ``sys.path`` unless it is there (as itself or as ``""``); whether it
    was added."""
    here = os.path.realpath(os.getcwd())
    if any(os.path.realpath(entry or os.curdir) == here for entry in sys.path):
        return False
    sys.path.append(here)
    importlib.invalidate_caches()
    return True


def _exited(what: str, exc: SystemExit, said: str = "") -> str:
    said = f", saying {said!r}" if said else ""
    return (f"loading {what} exited (SystemExit {exc.code}{said}) while it was imported: it runs script code "
            "(sys.exit, argument parsing) at import; guard that code with `if __name__ == \"__main__\":`")


def _imported_as_top_level(path: Path) -> Any:
    """The top-level module (not ``__main__``, not in a package) already imported from the file ``path``, or None."""
    for module_name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if "." not in module_name and module_name != "__main__" and isinstance(file, str) and file.endswith(".py") \
                and Path(file).resolve() == path:
            return module
    return None


def _load_file(path_text: str, attr: str) -> Any:
    """The module of the Python file ``path_text`` (``attr``: what the reference takes from it, for messages); a
    :class:`MissingDependencyError` naming the extra to install when running it fails on an optional package of
    nasforge's (:data:`nasforge.extras.EXTRAS`) that is not installed, else a UsageError naming the error."""
    path = Path(path_text).expanduser().resolve()
    if not path.is_file():
        raise UsageError(f"no such Python file: {path_text}")
    # an identifier of ASCII letters, digits and _ (a space, '-' or 'é' in the file's name made a qualified name
    # TorchScript cannot read back); the hash of the whole path tells files of one stem apart
    stem = re.sub(r"[^A-Za-z0-9_]", "_", path.stem)
    name = f"_nasforge_user_{stem}_{hashlib.sha1(os.fsencode(path)).hexdigest()[:10]}"
    if name in sys.modules:
        return sys.modules[name]
    imported = _imported_as_top_level(path)
    if imported is not None:  # e.g. `from my_cnn import MyCNN` in the script: the same classes, not a second run
        return imported
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load Python file {path_text}")
    module = importlib.util.module_from_spec(spec)
    if str(path.parent) not in sys.path:  # its sibling modules import as under `python file.py`
        sys.path.insert(0, str(path.parent))
    sys.modules[name] = module
    _FILE_MODULES[name] = str(path)
    held = _HeldStderr()
    loading = _LOADING.__dict__.setdefault("files", [])
    loading.append(str(path))
    try:
        with held:
            spec.loader.exec_module(module)
    except StudyAtImport:  # what the file defined above its study stays (the module class, in a script)
        _STOPPED.add(name)
        warnings.warn(_stopped_warning(path_text), UserWarning, stacklevel=user_stacklevel())
    except SystemExit as exc:
        del sys.modules[name]
        raise UsageError(_exited(path_text, exc, held.last_line())) from None
    except Exception as exc:
        del sys.modules[name]
        if (missing := missing_dependency(exc, path_text, chained=False)) is not None:  # it imports torch: the extra
            raise missing from (None if missing is exc else exc)
        raise UsageError(f"loading {path_text} failed: {type(exc).__name__}: {exc}{_package_hint(exc, path, attr)}") \
            from exc
    finally:
        loading.pop()
    return module


def _package_hint(exc: Exception, path: Path, attr: str) -> str:
    """For an import of its own package that fails in a file loaded by path (a package-relative import, which a
    file outside its package cannot make, or its package's absolute name): how to name it as a package module."""
    if not isinstance(exc, ImportError) or not (path.parent / "__init__.py").is_file():
        return ""
    parts, folder = ([] if path.name == "__init__.py" else [path.stem]), path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    if "relative import" not in str(exc) and (exc.name or "").split(".")[0] != parts[0]:
        return ""  # an import of another module
    return (f" ({path.name} is part of package {parts[0]!r}: name it {'.'.join(parts)}:{attr} and run from "
            f"{folder}, or put that folder on PYTHONPATH)")
