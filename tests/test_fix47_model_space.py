"""Model-space module references: a package module is found in the working directory as with ``python -m``
(the ``nasforge`` script's sys.path lacks it), and --space-module names what a non-callable NAME is."""
import os
import subprocess
import sys
from pathlib import Path

from model_space_sources import TINY_MODEL_SPACE

from nasforge.cli import main
from nasforge.spaces.model_space.reference import load_reference

ROOT = Path(__file__).resolve().parents[1]


def _package(folder: Path, name: str) -> None:
    (folder / name).mkdir()
    (folder / name / "__init__.py").write_text("")
    (folder / name / "nets.py").write_text(TINY_MODEL_SPACE)


def test_a_package_module_is_found_in_the_working_directory_by_the_console_script(tmp_path):
    """As the `nasforge` script runs: sys.path[0] is the script's folder, not the working directory."""
    _package(tmp_path, "mypkg47")
    code = ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
            "from nasforge.spaces.model_space.reference import load_reference; "
            "print(load_reference('mypkg47.nets:Net').__name__)")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONSAFEPATH": "1"}  # -c would add '' otherwise
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "Net", done.stderr


def test_a_module_that_is_nowhere_is_still_one_clear_error(tmp_path, monkeypatch):
    import pytest

    from nasforge.exceptions import UsageError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(UsageError, match="cannot import module 'nopkg47.nets': No module named 'nopkg47'"):
        load_reference("nopkg47.nets:Net")


def test_a_name_that_is_no_class_or_function_says_what_it_is(tmp_path, capsys):
    module = tmp_path / "wrongtypes.py"
    module.write_text("NotAClass = 5\n")
    assert main(["search", "--space-module", f"{module}:NotAClass", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"--space-module: 'NotAClass' in {module} is int 5, not a class or function" in err


def test_a_package_reference_to_no_module_class_and_an_unprintable_name_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the working directory the import adds goes with the test
    _package(tmp_path, "constpkg47")
    (tmp_path / "constpkg47" / "consts.py").write_text(
        "CONST = 5\nclass R:\n    def __repr__(self):\n        raise RuntimeError('no repr')\nBAD = R()\n")
    (tmp_path / "bad47.py").write_text((tmp_path / "constpkg47" / "consts.py").read_text())
    for spec, said in (("constpkg47.consts:CONST", "'CONST' is int 5, not an nn.Module class with choices"),
                       ("bad47.py:BAD", "'BAD' in bad47.py is R <R instance at"),
                       ("constpkg47.consts:BAD", "'BAD' is R <R instance at")):
        assert main(["search", "--space-module", spec, "--out", str(tmp_path / "run")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and said in err, err


def test_a_package_whose_own_import_is_missing_is_not_told_to_change_folder(tmp_path, monkeypatch):
    import pytest

    from nasforge.exceptions import UsageError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    _package(tmp_path, "deppkg47")
    (tmp_path / "deppkg47" / "dep.py").write_text("import notinstalled47\n")
    with pytest.raises(UsageError, match=r"No module named 'notinstalled47' \(deppkg47.dep imports notinstalled47, "
                                         r"which is not installed here\)$"):
        load_reference("deppkg47.dep:Net")
