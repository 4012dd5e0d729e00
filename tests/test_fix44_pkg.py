"""Missing extras are named up front, in one line, by ``nasforge search`` and by every torch-only module."""

import subprocess
import sys
from pathlib import Path

import pytest

TORCH_ONLY = ["nasforge.training", *(f"nasforge.oneshot.{m}" for m in (
    "chain", "checkpoint", "darts", "derive", "elastic", "fewshot", "mixed", "nb201", "progressive", "registry",
    "scoring", "trainer")), *(f"nasforge.spaces.model_space.{m}" for m in ("primitives", "space", "supernet"))]
SRC = Path(__file__).parents[1] / "src"


def test_search_names_every_missing_extra_before_any_work(monkeypatch, tmp_path, capsys):
    """Would fail: torch was named first, then sqlalchemy (a later run), then plotly after the whole search and
    retraining had run (no summary.json)."""
    from nasforge.cli import main

    for module in ("torch", "sqlalchemy", "plotly"):
        monkeypatch.setitem(sys.modules, module, None)
    out = tmp_path / "run"
    assert main(["search", "--trials", "2", "--retrain", "0", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("needs torch, sqlalchemy, plotly: pip install 'nasforge[torch,sql,report]'")
    assert len(err.splitlines()) == 1 and not out.exists()


def test_search_without_plotly_alone_stops_before_any_work(monkeypatch, tmp_path, capsys):
    """Would fail: with [torch,sql] the search and the retraining ran, then the report failed on plotly."""
    from nasforge.cli import main

    monkeypatch.setitem(sys.modules, "plotly", None)
    out = tmp_path / "run"
    assert main(["search", "--trials", "2", "--retrain", "0", "--out", str(out), "--no-progress"]) == 2
    assert capsys.readouterr().err.strip().endswith("needs plotly: pip install 'nasforge[report]'")
    assert not out.exists()


def test_search_on_postgresql_names_psycopg_with_the_rest(monkeypatch, capsys):
    from nasforge.cli import main

    for module in ("plotly", "psycopg"):
        monkeypatch.setitem(sys.modules, module, None)
    assert main(["search", "--storage", "postgresql+psycopg://u@localhost/db", "--no-progress"]) == 2
    assert capsys.readouterr().err.strip().endswith("needs plotly, psycopg: pip install 'nasforge[report,postgres]'")


def test_search_on_a_psycopg2_url_is_not_asked_for_psycopg_3(monkeypatch, capsys):
    """A postgresql+psycopg2 URL needs psycopg2, which the storage names in its own line (not the postgres extra)."""
    from nasforge.cli import main

    for module in ("psycopg", "psycopg2"):
        monkeypatch.setitem(sys.modules, module, None)
    assert main(["search", "--storage", "postgresql+psycopg2://u@localhost/db", "--trials", "1", "--retrain", "0",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "needs psycopg" not in err and "psycopg2" in err


@pytest.mark.parametrize("module", TORCH_ONLY)
def test_a_torch_only_module_without_torch_names_the_extra(module):
    """Would fail: ``import nasforge.oneshot.trainer`` (and the rest) raised a bare ModuleNotFoundError for torch."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from nasforge.exceptions import MissingDependencyError\n"
            f"try:\n    __import__({module!r})\n"
            "except MissingDependencyError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{module} needs torch: pip install 'nasforge[torch]'"


def test_importing_nasforge_and_the_lazy_packages_still_imports_no_torch():
    code = ("import sys; import nasforge, nasforge.oneshot, nasforge.spaces.model_space, nasforge.cli\n"
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "False", done.stderr


def test_the_readme_install_section_matches_the_project():
    """Would fail: README said `pip install nasforge` (not on PyPI), listed plotly for report/dashboard only
    (a search writes report.html too), the export extra without onnxscript, SupernetEvaluator in nasforge.oneshot."""
    import re
    import tomllib

    readme = (SRC.parent / "README.md").read_text()
    extras = tomllib.loads((SRC.parent / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "pip install nasforge" not in readme and "`pip install .`" in readme
    assert "`pip install '.[torch,sql,report]'`" in readme
    rows = {m[1]: (m[2], m[3]) for m in re.finditer(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|$", readme, re.M)}
    assert "nasforge search" in rows["report"][1]
    packages = {re.match(r"[\w-]+", p)[0] for p in extras["export"]}
    assert packages == {p.strip() for p in rows["export"][0].split(",")}
    assert "`SupernetEvaluator` (in `nasforge.evaluators`)" in readme
    from nasforge.evaluators import SupernetEvaluator  # noqa: F401 - where the README says it is


def test_the_ranking_report_does_not_hide_a_failing_plot(monkeypatch, tmp_path):
    """Would fail: an ImportError while plotting (read as 'matplotlib is missing', a base dependency) was swallowed
    and the earlier plots deleted, leaving a report without its figures and no word why."""
    from types import SimpleNamespace

    from nasforge.oneshot import study

    def broken(result, out):
        raise ImportError("matplotlib is broken")

    monkeypatch.setattr(study, "plot_study", broken)
    monkeypatch.setattr(study, "format_table", lambda result: "table")
    (tmp_path / "ranking_tau.png").write_bytes(b"earlier")
    with pytest.raises(ImportError, match="broken"):
        study.write_report(SimpleNamespace(to_json=lambda: {"rows": []}), tmp_path)
    assert (tmp_path / "ranking_tau.png").read_bytes() == b"earlier"
