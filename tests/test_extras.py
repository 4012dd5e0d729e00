"""Optional dependencies: the module -> extra map, the helpers that name the extra, the error's pickling."""

import pickle
import sys

import pytest

from nasforge.exceptions import MissingDependencyError, UsageError
from nasforge.extras import EXTRAS, check_installed, installed, missing_dependency, require


def test_require_names_the_feature_the_package_and_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "plotly", None)  # makes `import plotly` raise ModuleNotFoundError
    with pytest.raises(MissingDependencyError) as info:
        require("plotly", "the HTML report")
    assert str(info.value) == "the HTML report needs plotly: pip install 'nasforge[report]'"
    assert isinstance(info.value, UsageError) and isinstance(info.value, ImportError)  # exit 2; caught as before


def test_require_returns_an_installed_module():
    assert require("json", "anything").dumps([1]) == "[1]"


def test_check_installed_imports_nothing(monkeypatch):
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    assert not installed("lightgbm") and installed("numpy")
    with pytest.raises(MissingDependencyError, match=r"predictor 'lgb' needs lightgbm: pip install 'nasforge\[boost]'"):
        check_installed(("numpy", "lightgbm"), "predictor 'lgb'")
    assert not installed("nasforge_no_such_package")
    check_installed(("numpy",), "anything")


def test_missing_dependency_finds_a_listed_module_in_the_chain(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # not installed
    try:
        try:
            raise ModuleNotFoundError("No module named 'optuna'", name="optuna")
        except ModuleNotFoundError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as exc:
        found = missing_dependency(exc)
    assert str(found) == "this command needs optuna: pip install 'nasforge[peers]'"
    assert missing_dependency(ModuleNotFoundError("No module named 'left_pad'", name="left_pad")) is None
    assert missing_dependency(ValueError("x")) is None


def test_every_extra_named_is_one_of_the_project():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert set(EXTRAS.values()) <= set(project["optional-dependencies"])


def test_the_error_survives_a_worker_process():
    error = MissingDependencyError("predictor 'lgb' needs lightgbm: pip install 'nasforge[boost]'")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is MissingDependencyError and str(copy) == str(error)


def test_a_module_missing_from_an_installed_package_is_not_called_a_missing_extra():
    """Would fail: plotly installed but plotly.graph_objects missing (a too-old or broken install) was reported as
    'needs plotly: pip install nasforge[report]', and its traceback dropped."""
    pytest.importorskip("plotly")
    gone = ModuleNotFoundError("No module named 'plotly.not_there'", name="plotly.not_there")
    assert missing_dependency(gone) is None
    with pytest.raises(ModuleNotFoundError):
        require("plotly.not_there", "the HTML report")


def test_the_ray_executor_without_ray_is_refused_before_the_study_starts(monkeypatch):
    """Would fail: the study started, then ``import ray`` raised a raw ModuleNotFoundError (twice: at the start
    and again at the shutdown while handling it)."""
    from nasforge import Study
    from nasforge.spaces import get_space

    monkeypatch.setitem(sys.modules, "ray", None)
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    with pytest.raises(MissingDependencyError, match=r"^the ray executor needs ray: pip install 'nasforge\[ray]'$"):
        study.optimize(lambda arch: {"acc": 1.0}, 2, executor="ray")
    assert study.trials == []


def test_every_missing_package_is_named_in_one_message(monkeypatch):
    """Would fail: a feature needing several extras named them one at a time (install one, be told the next)."""
    for module in ("lightgbm", "xgboost", "sqlalchemy", "psycopg"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError) as info:
        check_installed(("numpy", "lightgbm", "xgboost", "lightgbm", "plotly"), "a feature")
    assert str(info.value) == "a feature needs lightgbm, xgboost: pip install 'nasforge[boost]'"
    with pytest.raises(MissingDependencyError) as info:
        check_installed(("sqlalchemy", "psycopg"), "a PostgreSQL storage")  # postgres installs sqlalchemy too
    assert str(info.value) == "a PostgreSQL storage needs sqlalchemy, psycopg: pip install 'nasforge[postgres]'"


def test_an_extra_said_to_include_another_installs_its_packages():
    import re
    import tomllib
    from pathlib import Path

    from nasforge.extras import INCLUDES

    extras = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]

    def packages(extra):
        return {re.split(r"[<>=;\[ ]", requirement)[0] for requirement in extras[extra]}

    for extra, included in INCLUDES.items():
        for other in included:
            assert packages(other) <= packages(extra), (extra, other)


def test_the_default_ensemble_names_every_missing_package_of_its_members(monkeypatch):
    from nasforge.predictors import get_predictor

    for module in ("lightgbm", "xgboost", "torch"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError, match=r"^predictor 'ensemble' needs lightgbm, xgboost, torch: "
                                                     r"pip install 'nasforge\[boost,torch]'$"):
        get_predictor("ensemble", "nb201")


def test_a_postgresql_url_without_sqlalchemy_names_the_postgres_extra(monkeypatch):
    """Would fail: it named nasforge[sql], then, with that installed, nasforge[postgres]."""
    from nasforge.experiment.storage import open_storage

    for module in ("sqlalchemy", "psycopg"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError, match=r"needs sqlalchemy, psycopg: pip install 'nasforge\[postgres]'$"):
        open_storage("postgresql+psycopg://user@localhost/db")


def test_the_report_and_dashboard_of_a_stored_study_name_both_extras(monkeypatch, tmp_path, capsys):
    from nasforge.cli import main

    for module in ("sqlalchemy", "plotly"):
        monkeypatch.setitem(sys.modules, module, None)
    assert main(["report", "s1", "--storage", f"sqlite:///{tmp_path / 'st.db'}"]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "the report of a stored study needs sqlalchemy, plotly: pip install 'nasforge[sql,report]'")
    assert main(["dashboard", "--storage", f"sqlite:///{tmp_path / 'st.db'}", "--port", "0"]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "the dashboard needs sqlalchemy, plotly: pip install 'nasforge[sql,report]'")
