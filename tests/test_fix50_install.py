"""Installing: an optional package older than its extra's minimum, saasbo/qnehvi naming torch, resume's check."""

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

from nasforge.exceptions import MissingDependencyError
from nasforge.extras import EXTRAS, check_installed, installed, missing_dependency, require

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def installed_versions(monkeypatch, **versions):
    """importlib.metadata.version answers ``versions`` (distribution -> version) and the real one otherwise."""
    real = importlib.metadata.version

    def version(distribution):
        return versions[distribution] if distribution in versions else real(distribution)

    monkeypatch.setattr(importlib.metadata, "version", version)


def test_the_minimums_are_the_ones_pyproject_declares():
    """The table is the only copy in code: it must say what each extra of pyproject.toml asks for."""
    from nasforge.extras import MINIMUMS

    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    declared: dict[str, set[tuple[str, str]]] = {}  # distribution -> {(extra, minimum)}
    for extra, requirements in extras.items():
        for requirement in requirements:
            name, op, version = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*])?\s*(>=|==)?\s*([^;,\s]*)",
                                         requirement).groups()
            if op == ">=":
                declared.setdefault(name.lower(), set()).add((extra, version))
    table = {distribution: (module, minimum)
             for module, distributions in MINIMUMS.items() for distribution, minimum in distributions.items()}
    wanted = {name for name, found in declared.items() if any(extra != "dev" for extra, _ in found)}
    assert set(table) == wanted  # every minimum of an extra, and nothing else
    for distribution, (module, minimum) in table.items():
        assert {version for _, version in declared[distribution]} == {minimum}, distribution  # dev agrees too
        assert EXTRAS[module] in {extra for extra, _ in declared[distribution]}, distribution


def test_a_package_older_than_its_extra_is_refused_naming_the_version_and_the_pip_command(monkeypatch):
    """Would fail: SQLAlchemy 1.4 counted as installed; writing a study then died in a traceback (RETURNING)."""
    pytest.importorskip("sqlalchemy")
    installed_versions(monkeypatch, sqlalchemy="1.4.54")
    assert not installed("sqlalchemy") and installed("numpy")
    with pytest.raises(MissingDependencyError) as info:
        check_installed(("numpy", "sqlalchemy"), "a search")
    assert str(info.value) == "a search needs sqlalchemy>=2.0 (1.4.54 installed): pip install 'nasforge[sql]'"
    with pytest.raises(MissingDependencyError, match=r"^the store needs sqlalchemy>=2\.0 \(1\.4\.54 installed\)"):
        require("sqlalchemy.orm", "the store")
    gone = ModuleNotFoundError("No module named 'sqlalchemy.x'", name="sqlalchemy.x")  # an old one's missing part
    assert str(missing_dependency(gone)) == ("this command needs sqlalchemy>=2.0 (1.4.54 installed): "
                                             "pip install 'nasforge[sql]'")


def test_an_old_package_is_named_with_the_missing_ones_in_one_line(monkeypatch):
    pytest.importorskip("lightgbm")
    installed_versions(monkeypatch, lightgbm="3.3.5")
    monkeypatch.setitem(sys.modules, "xgboost", None)  # not installed
    with pytest.raises(MissingDependencyError) as info:
        check_installed(("lightgbm", "xgboost"), "predictor 'lgb'")
    assert str(info.value) == ("predictor 'lgb' needs lightgbm>=4.0 (3.3.5 installed), xgboost: "
                               "pip install 'nasforge[boost]'")


def test_the_cli_refuses_an_old_package_before_the_run_folder_is_made(monkeypatch, tmp_path, capsys):
    """Would fail: exit 1 with a 58-line traceback, leaving a run folder whose study.db holds no study."""
    from nasforge.cli import main

    pytest.importorskip("sqlalchemy")
    installed_versions(monkeypatch, sqlalchemy="1.4.54")
    out = tmp_path / "runs"
    assert main(["search", "--trials", "2", "--workers", "1", "--retrain", "0", "--search-epochs", "1",
                 "--no-progress", "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "needs sqlalchemy>=2.0 (1.4.54 installed): pip install 'nasforge[sql]'")
    assert not out.exists()


def test_versions_are_compared_as_versions_with_or_without_packaging(monkeypatch):
    pytest.importorskip("plotly")
    for without_packaging in (False, True):
        if without_packaging:
            monkeypatch.setitem(sys.modules, "packaging.version", None)  # `from packaging.version import` fails
        for version, accepted in (("5.9.0", False), ("5.20", True), ("5.20.0", True), ("6.0.0.post1", True),
                                  ("5.100", True), ("not-a-version", True)):
            installed_versions(monkeypatch, plotly=version)
            assert installed("plotly") is accepted, (version, without_packaging)


def test_a_package_without_metadata_counts_as_installed(monkeypatch):
    """A vendored copy (importable, no dist-info) is not refused."""
    pytest.importorskip("plotly")

    def version(distribution):
        raise importlib.metadata.PackageNotFoundError(distribution)

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert installed("plotly")
    assert require("plotly", "the report").__name__ == "plotly"


def test_the_first_installed_distribution_of_a_module_is_compared(monkeypatch):
    """xgboost comes from xgboost-cpu (>=2.1) on Linux x86-64, from xgboost (>=2.0) elsewhere."""
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())  # found, whatever it is

    def version(distribution):
        if distribution == "xgboost":
            return "2.0.3"
        raise importlib.metadata.PackageNotFoundError(distribution)

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert installed("xgboost")
    monkeypatch.setattr(importlib.metadata, "version", lambda distribution: "2.0.3")  # xgboost-cpu is asked first
    with pytest.raises(MissingDependencyError, match=r"needs xgboost-cpu>=2\.1 \(2\.0\.3 installed\)"):
        check_installed(("xgboost",), "predictor 'xgb'")


@pytest.mark.parametrize("strategy", ["qnehvi", "saasbo"])
def test_saasbo_and_qnehvi_without_torch_name_the_torch_extra_too(monkeypatch, strategy):
    """Would fail: 'needs botorch: pip install nasforge[bo]', which installs an unpinned torch (the CUDA build)."""
    from nasforge.strategies import get_strategy

    for module in ("botorch", "torch"):
        monkeypatch.setitem(sys.modules, module, None)  # not installed
    with pytest.raises(MissingDependencyError, match=r"needs botorch, torch: pip install 'nasforge\[bo,torch]'$"):
        get_strategy(strategy, "nb201", seed=0)


def test_the_readme_says_the_bo_extra_needs_torch_too():
    row = next(line for line in (PYPROJECT.parent / "README.md").read_text().splitlines() if line.startswith("| `bo`"))
    assert "`nasforge[bo,torch]`" in row


def test_resume_of_a_search_run_folder_checks_its_extras_before_saying_resuming(monkeypatch, tmp_path, capsys):
    """Would fail: stdout said "resuming 's1' (0 trials finished)", then stderr that torch is needed."""
    from nasforge.cli import main
    from nasforge.pipelines import search

    monkeypatch.setattr(search, "_complete", lambda *args: {})  # the stored search study, no training (fast)
    out = tmp_path / "s1"
    search.run_search(search.SearchConfig(trials=1, retrain=0, search_epochs=1, workers=1, threads=1, seed=0,
                                          out=str(out), name="s1"), progress=False)
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "torch", None)  # not installed
    assert main(["resume", str(out), "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == ("nasforge resume: error: resuming a search (its training, stored study and "
                                    "report) needs torch: pip install 'nasforge[torch]'")
