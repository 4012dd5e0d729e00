"""A model file's own error raised while it handles a missing optional package keeps its own message: only a
ModuleNotFoundError that escapes the file becomes the line naming the extra (file and package references alike)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nasforge.exceptions import MissingDependencyError, UsageError
from nasforge.spaces.model_space.reference import load_reference

HANDLES_TORCH = ("try:\n    import torch\nexcept ImportError:\n    SCALE = sum([16, 32, '64'])\n"
                 "class Net:\n    pass\n")
OWN_IMPORT_ERROR = ("try:\n    import torch\nexcept ImportError as exc:\n"
                    "    raise ImportError('this model needs torch 3 or newer') from exc\nclass Net:\n    pass\n")


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import torch`` raises ModuleNotFoundError, as in an install without the torch extra."""
    monkeypatch.setitem(sys.modules, "torch", None)


@pytest.mark.parametrize("text,own", [(HANDLES_TORCH, "TypeError: unsupported operand"),
                                      (OWN_IMPORT_ERROR, "this model needs torch 3 or newer")])
def test_a_files_own_error_is_kept(tmp_path: Path, no_torch: None, text: str, own: str) -> None:
    path = tmp_path / "own54.py"
    path.write_text(text)
    with pytest.raises(UsageError, match=own) as caught:
        load_reference(f"{path}:Net")
    assert not isinstance(caught.value, MissingDependencyError)


def test_a_package_modules_own_import_error_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     no_torch: None) -> None:
    (tmp_path / "pkg54d").mkdir()
    (tmp_path / "pkg54d" / "__init__.py").write_text("")
    (tmp_path / "pkg54d" / "net.py").write_text(OWN_IMPORT_ERROR)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UsageError, match="this model needs torch 3 or newer") as caught:
        load_reference("pkg54d.net:Net")
    assert not isinstance(caught.value, MissingDependencyError)


@pytest.mark.parametrize("text,own", [(HANDLES_TORCH, "raised TypeError: unsupported operand"),
                                      (OWN_IMPORT_ERROR, "raised ImportError: this model needs torch 3 or newer")])
def test_an_evaluator_modules_own_error_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_torch: None,
                                               text: str, own: str) -> None:
    """Would fail before: --evaluator modules were judged by the chain, so their own error became the extra line."""
    from nasforge.experiment.evaluator_spec import EvaluatorFactoryError, build_evaluator

    (tmp_path / "ev54d.py").write_text(text + "def make():\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ev54d", raising=False)
    with pytest.raises(EvaluatorFactoryError, match=own):
        build_evaluator({"factory": "ev54d:make"}, trusted=True)


def test_an_evaluator_module_importing_a_missing_extra_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 no_torch: None) -> None:
    from nasforge.experiment.evaluator_spec import build_evaluator

    (tmp_path / "ev54e.py").write_text("import torch\ndef make():\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ev54e", raising=False)
    with pytest.raises(MissingDependencyError, match=r"^evaluator module 'ev54e' needs torch: pip install "):
        build_evaluator({"factory": "ev54e:make"}, trusted=True)


def test_a_mistyped_or_unimportable_evaluator_module_stays_a_usage_error(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Would fail (regression review h): both became an EvaluatorFactoryError (exit 1) as if the module had run."""
    from nasforge.experiment.evaluator_spec import EvaluatorFactoryError, build_evaluator

    (tmp_path / "ev54f.py").write_text("import no_such_package_54f\ndef make():\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for factory, missing in (("no_such_module_54:make", "no_such_module_54"), ("ev54f:make", "no_such_package_54f")):
        with pytest.raises(UsageError, match=rf"^cannot import evaluator module .*No module named '{missing}'") as err:
            build_evaluator({"factory": factory}, trusted=True)
        assert not isinstance(err.value, EvaluatorFactoryError)


def test_an_evaluator_module_found_in_the_working_directory_names_a_missing_extra(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_torch: None) -> None:
    """Would fail: the working-directory fallback (the nasforge script's case) kept the generic import line."""
    from nasforge.experiment.evaluator_spec import build_evaluator

    (tmp_path / "ev54g.py").write_text("import torch\ndef make():\n    return None\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "ev54g", raising=False)
    with pytest.raises(MissingDependencyError, match=r"^evaluator module 'ev54g' needs torch: pip install "):
        build_evaluator({"factory": "ev54g:make"}, trusted=True)
