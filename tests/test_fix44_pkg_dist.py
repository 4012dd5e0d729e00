"""The built sdist and wheel: the licence text ships, the version has one source, the sdist holds no partial tests."""

import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BUILD = """
import sys
from setuptools import build_meta
out = sys.argv[1]
names = build_meta.build_sdist(out), build_meta.build_wheel(out)
print("BUILT", *names)
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, str]:
    """The sdist and wheel built from a copy of the checkout (no egg-info written into it), and the version."""
    work = tmp_path_factory.mktemp("build")
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy(ROOT / name, work / name)
    for folder in ("src", "tests"):
        shutil.copytree(ROOT / folder, work / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    done = subprocess.run([sys.executable, "-c", BUILD, str(work / "dist")], cwd=work, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    sdist, wheel = done.stdout.strip().splitlines()[-1].split()[1:]
    version = re.search(r'^__version__ = "([^"]+)"$', (ROOT / "src/nasforge/__init__.py").read_text(), re.M)
    return work / "dist" / sdist, work / "dist" / wheel, version[1]


def test_the_version_has_one_source(built):
    """Would fail: pyproject.toml wrote 0.1.0 itself, beside nasforge.__version__."""
    sdist, wheel, version = built
    assert "version =" not in (ROOT / "pyproject.toml").read_text().split("[project]", 1)[1].split("\n[", 1)[0]
    assert wheel.name.startswith(f"nasforge-{version}-") and sdist.name == f"nasforge-{version}.tar.gz"
    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read(f"nasforge-{version}.dist-info/METADATA").decode()
    assert f"\nVersion: {version}\n" in metadata


def test_the_licence_text_ships_in_both(built):
    """Would fail: license = "MIT" with no LICENSE file anywhere."""
    sdist, wheel, version = built
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = zf.read(f"nasforge-{version}.dist-info/METADATA").decode()
        licence = zf.read(f"nasforge-{version}.dist-info/licenses/LICENSE").decode()
    assert "License-File: LICENSE" in metadata and "License-Expression: MIT" in metadata
    assert "Copyright (c) 2026 nasforge contributors" in licence and "MIT License" in licence
    assert not any(name.startswith("tests/") for name in names)
    with tarfile.open(sdist) as tf:
        assert f"nasforge-{version}/LICENSE" in tf.getnames()


def test_the_sdist_ships_no_test_file_without_its_conftest_and_helpers(built):
    """Would fail: setuptools' default rules took tests/test_*.py without conftest.py and the helper modules,
    a suite that could not run; the suite needs the whole checkout, so the sdist holds none of it."""
    sdist, _, version = built
    with tarfile.open(sdist) as tf:
        names = tf.getnames()
    assert not [name for name in names if name.startswith(f"nasforge-{version}/tests/")]
    assert f"nasforge-{version}/src/nasforge/__init__.py" in names
