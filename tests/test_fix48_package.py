"""Packaging: the `bo` extra installs what SAASBO's NUTS needs, and a missing JAX/NumPyro is refused up front."""

import re
import sys
import tomllib
from pathlib import Path

import pytest

from nasforge.cli import main
from nasforge.exceptions import MissingDependencyError
from nasforge.extras import EXTRAS, installed
from nasforge.spaces import NASBench201Space
from nasforge.strategies.model_based.surrogates import SaasSurrogate

needs_botorch = pytest.mark.skipif(not installed("botorch"), reason="the bo extra is not installed")
NUTS_KWARGS = '{"surrogate": {"name": "saas", "inference": "nuts"}}'


def test_the_extras_of_every_requirement_are_written_normalised():
    """Would fail: `botorch[fully_bayesian]`; pip < 23.3 (what `python3.11 -m venv` gives) does not normalise an
    extra's name (PEP 685), so it installed botorch without JAX/NumPyro after a warning easy to miss."""
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *(r for rs in project["optional-dependencies"].values() for r in rs)]
    for requirement in requirements:
        for extra in re.findall(r"\[([^\]]*)\]", requirement.partition(";")[0]):
            names = [name.strip() for name in extra.split(",")]
            assert names == [re.sub(r"[-_.]+", "-", name).lower() for name in names], requirement
    assert "botorch[fully-bayesian]>=0.18" in project["optional-dependencies"]["bo"]


def test_the_bo_extra_names_jax_and_numpyro():
    assert EXTRAS["jax"] == EXTRAS["numpyro"] == "bo"


@needs_botorch
@pytest.mark.parametrize("module", ["jax", "numpyro"])
def test_a_nuts_saas_surrogate_without_jax_or_numpyro_is_refused_when_built(monkeypatch, module):
    """Would fail: it was built, and the first fit (after the initial trials) raised BoTorch's ImportError."""
    monkeypatch.setitem(sys.modules, module, None)  # not installed
    with pytest.raises(MissingDependencyError, match=rf"^the saas surrogate's inference 'nuts' needs {module}: "
                                                     r"pip install 'nasforge\[bo]'$"):
        SaasSurrogate(NASBench201Space(), inference="nuts")
    SaasSurrogate(NASBench201Space(), inference="map")  # MAP needs no JAX


@needs_botorch
def test_search_with_nuts_saasbo_without_jax_stops_in_one_line_before_any_trial(monkeypatch, tmp_path, capsys):
    """Would fail: 10 trials trained, then a traceback ending in BoTorch's ImportError, exit status 1."""
    monkeypatch.setitem(sys.modules, "jax", None)  # not installed
    out = tmp_path / "runs"
    assert main(["search", "--strategy", "saasbo", "--objectives", "val_acc", "--strategy-kwargs", NUTS_KWARGS,
                 "--trials", "14", "--search-epochs", "1", "--retrain", "0", "--workers", "1", "--threads", "1",
                 "--no-progress", "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == ("nasforge search: error: the saas surrogate's "
                                               "inference 'nuts' needs jax: pip install 'nasforge[bo]'")
    assert not out.exists()  # nothing trained, no folder left behind


def test_the_readme_says_the_torch_extra_pins_the_version_and_how_to_get_the_cpu_build():
    """Would fail: it said the extra pins "the CPU build"; pip installs the CUDA build (and ~20 NVIDIA packages) on
    Linux unless the CPU wheel is installed first, from PyTorch's CPU index."""
    root = Path(__file__).parents[1]
    install = " ".join((root / "README.md").read_text().split("## Install")[1].split("\n## ")[0].split())
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pin = re.fullmatch(r"torch==([\w.]+)", extras["torch"][0])[1]
    assert "the CPU build the project's" not in install and "pins torch's version" in install
    assert f"`pip install torch=={pin} --index-url https://download.pytorch.org/whl/cpu`" in install
