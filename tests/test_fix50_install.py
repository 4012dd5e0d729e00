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
    """A refused version is one its extra in pyproject.toml excludes too."""
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
    assert set(table) == {"lightgbm", "sqlalchemy"}  # the versions known to fail; others are not refused
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
    pytest.importorskip("sqlalchemy")
    for without_packaging in (False, True):
        if without_packaging:
            monkeypatch.setitem(sys.modules, "packaging.version", None)  # `from packaging.version import` fails
        for version, accepted in (("1.4.54", False), ("2.0", True), ("2.0.0", True), ("2.1.0.post1", True),
                                  ("2.10", True), ("not-a-version", True)):
            installed_versions(monkeypatch, sqlalchemy=version)
            assert installed("sqlalchemy") is accepted, (version, without_packaging)


def test_a_package_without_metadata_counts_as_installed(monkeypatch):
    """A vendored copy (importable, no dist-info) is not refused."""
    pytest.importorskip("sqlalchemy")

    def version(distribution):
        raise importlib.metadata.PackageNotFoundError(distribution)

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert installed("sqlalchemy")
    assert require("sqlalchemy", "the store").__name__ == "sqlalchemy"


def test_an_older_version_not_known_to_fail_is_used_as_before(monkeypatch):
    """Would fail (regression review): plotly 5.19 and optuna 3.4, which work, were refused for being below the
    round minimums their extras declare."""
    pytest.importorskip("plotly")
    installed_versions(monkeypatch, plotly="5.19.0", optuna="3.4.0")
    assert installed("plotly") and require("plotly", "the report").__name__ == "plotly"
    check_installed(("plotly",), "the report")


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
