"""``import nasforge`` and the CLI's start-up stay light: no heavy library is imported until used."""

import json
import subprocess
import sys

import pytest

HEAVY = ["scipy", "pandas", "torch", "sqlalchemy", "sklearn", "matplotlib", "optuna", "xgboost", "lightgbm", "ray"]


def loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY + ['rich']!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("code", [
    "import nasforge",
    "import nasforge.spaces, nasforge.benchmarks, nasforge.evaluators, nasforge.predictors, nasforge.strategies",
    "from nasforge import Study, TableEvaluator, get_space; get_space('nb201')",
])
def test_import_loads_no_heavy_library(code):
    assert [m for m in loaded_after(code) if m in HEAVY] == []


def test_cli_parser_loads_no_heavy_library():
    """Building the parser imports every command module: their heavy imports must stay inside functions."""
    assert loaded_after("from nasforge.cli import build_parser; build_parser()") == []


def test_version_flag():
    from nasforge import __version__

    done = subprocess.run([sys.executable, "-m", "nasforge", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"nasforge {__version__}"
