"""A ``--space-module`` file that imports an optional package which is not installed: the one line naming the extra
to install, from every command that loads it and from the Python API (a MissingDependencyError)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from cli_lines import error_line
from nasforge.exceptions import MissingDependencyError, UsageError
from nasforge.spaces.model_space.reference import load_reference

NEEDS_TORCH = "import torch\nclass Net(torch.nn.Module):\n    pass\n"


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import torch`` raises ModuleNotFoundError, as in an install without the torch extra."""
    monkeypatch.setitem(sys.modules, "torch", None)


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_python_api_names_the_extra(tmp_path: Path, no_torch: None) -> None:
    path = _file(tmp_path, "net54a.py", NEEDS_TORCH)
    with pytest.raises(MissingDependencyError, match=r"net54a\.py needs torch: pip install 'nasforge\[torch\]'$"):
        load_reference(f"{path}:Net")


def test_python_api_names_the_extra_for_a_package_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          no_torch: None) -> None:
    (tmp_path / "pkg54").mkdir()
    _file(tmp_path, "pkg54/__init__.py", "")
    _file(tmp_path, "pkg54/net.py", NEEDS_TORCH)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingDependencyError, match=r"^pkg54\.net needs torch: pip install 'nasforge\[torch\]'$"):
        load_reference("pkg54.net:Net")


@pytest.mark.parametrize("command", [["bench", "--objective", "acc"], ["predictors", "eval", "--metric", "acc"],
                                     ["surrogate", "fit", "--metrics", "acc", "--model", "knn", "--out", "{out}"]])
def test_commands_name_the_extra(tmp_path: Path, capsys: pytest.CaptureFixture[str], no_torch: None,
                                 command: list[str]) -> None:
    path = _file(tmp_path, "net54b.py", NEEDS_TORCH)
    table = _file(tmp_path, "x.csv", "arch,acc\nfoo,1\n")
    argv = [arg.format(out=tmp_path / "sx") for arg in command]
    line = error_line(capsys, [*argv, "--space-module", f"{path}:Net", "--table", str(table)])
    assert line.endswith(f"--space-module {path}:Net: {path} needs torch: pip install 'nasforge[torch]'"), line


def test_a_missing_module_of_no_extra_keeps_its_error(tmp_path: Path) -> None:
    path = _file(tmp_path, "net54c.py", "import no_such_module_fix54\n")
    with pytest.raises(UsageError, match=r"loading .*net54c\.py failed: ModuleNotFoundError: No module named "
                                         r"'no_such_module_fix54'$") as caught:
        load_reference(f"{path}:Net")
    assert not isinstance(caught.value, MissingDependencyError)


ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["digits_cnn", "tabular_mlp", "mobilenet_chain"])
def test_each_example_says_it_needs_torch(name: str) -> None:
    doc = ast.get_docstring(ast.parse((ROOT / "examples" / f"{name}.py").read_text()))
    assert "It needs PyTorch: ``pip install 'nasforge[torch]'``" in doc


def test_readme_says_to_remove_build_before_reinstalling() -> None:
    install = (ROOT / "README.md").read_text().partition("## Install")[2].partition("\n## ")[0]
    assert "`rm -rf build && pip install .`" in " ".join(install.split())
