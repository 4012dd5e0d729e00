"""Review 46, topic spaces: a space of your own without enumerate() in bench/compare, ModelSpace's checked input,
get_space("model_space") errors, NB201 from_params naming the parameter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nasforge import Architecture, get_space
from nasforge.analysis.harness import compare
from nasforge.benchmarks.tabular import TabularBenchmark
from nasforge.exceptions import NotEnumerableError, UsageError

from model_space_sources import TINY_MODEL_SPACE

DOCS = Path(__file__).resolve().parents[1] / "docs" / "spaces.md"


def docs_bitspace() -> type:
    """The BitSpace class of docs/spaces.md ("Writing your own search space"), exactly as written there."""
    text = DOCS.read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "class BitSpace" in b)
    namespace: dict = {}
    exec(block[:block.index("register_space(")], namespace)  # the imports and the class, not its demo
    return namespace["BitSpace"]


@pytest.fixture(scope="module")
def bit_table(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bits") / "bits.csv"
    path.write_text("arch,val_acc\n" + "".join(f"{i:06b},{bin(i).count('1') / 6}\n" for i in range(64)))
    return path


def test_compare_runs_on_the_docs_bitspace_without_enumerate(bit_table):
    bits = docs_bitspace()(n=6)
    assert not bits.is_enumerable
    report = compare(TabularBenchmark(str(bit_table), bits), ["random"], seeds=2, budget=10, objective="val_acc",
                     workers=1)
    assert set(report.strategies) == {"random"}


def test_a_partial_table_of_the_docs_bitspace_is_refused_against_its_size(tmp_path, bit_table):
    partial = tmp_path / "part.csv"
    partial.write_text("".join(bit_table.read_text().splitlines(keepends=True)[:41]))  # header and 40 rows
    with pytest.raises(UsageError, match="holds 40 of the 64 distinct architectures of space 'bits'"):
        compare(TabularBenchmark(str(partial), docs_bitspace()(n=6)), ["random"], seeds=1, budget=5,
                objective="val_acc", workers=1)


def test_enumerating_a_small_space_without_enumerate_says_it_is_not_implemented():
    with pytest.raises(NotEnumerableError, match=r"space 'bits' \(64 architectures\) cannot be enumerated: it does "
                                                 r"not implement is_enumerable and enumerate\(\)"):
        next(iter(docs_bitspace()(n=6).enumerate()))
    with pytest.raises(NotEnumerableError, match=r"too large to enumerate \(2\.76e\+20 architectures\)"):
        next(iter(get_space("darts").enumerate()))


# -- ModelSpace: the checked input of every space ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_net(tmp_path_factory) -> str:
    """The reference of a model space with a width (4, 8) and a kernel choice (k3, k1)."""
    pytest.importorskip("torch")
    path = tmp_path_factory.mktemp("model") / "net.py"
    path.write_text(TINY_MODEL_SPACE)
    return f"{path}:Net"


@pytest.fixture(scope="module")
def small(small_net):
    from nasforge.spaces.model_space import ModelSpace

    return ModelSpace(small_net, input_shape=(1, 8, 8))


def test_model_space_from_params_refuses_unknown_missing_and_bad_parameters(small):
    assert small.from_params({"width": "8", "conv": "k1"}) == Architecture("model_space", ("8", "k1"))
    with pytest.raises(UsageError, match=r"unknown parameter\(s\) \['bogus'\]"):
        small.from_params({"width": "8", "conv": "k1", "bogus": "x"})
    with pytest.raises(UsageError, match=r"missing parameter\(s\) \['conv'\]"):
        small.from_params({"width": "8"})
    with pytest.raises(UsageError, match=r"parameter 'conv' must be one of \['k3', 'k1'\], got 'k9'"):
        small.from_params({"width": "8", "conv": "k9"})


@pytest.mark.parametrize("bad, message", [
    (Architecture("model_space", ("8", "k9")), r"choice 'conv': unknown candidate 'k9'"),
    (Architecture("model_space", 5), "genotype must be a tuple of 2 candidate names"),
    (Architecture("zzz", ("8", "k1")), "belongs to space 'zzz'"),
    ("width=8|conv=k1", r"use space.parse\(text\)"),
])
def test_model_space_refuses_what_check_refuses(small, bad, message):
    for call in (small.format, small.canonical, small.canonical_key, small.to_params, lambda a: small.encode([a])):
        with pytest.raises(UsageError, match=message):
            call(bad)


def test_stored_model_space_rows_still_load(tmp_path, small):
    """A model-space study stored by name keeps loading: its genotypes pass the checks it now gets."""
    from nasforge import Study

    url = f"sqlite:///{tmp_path / 'm.db'}"
    study = Study(small, "random", seed=0, storage=url, name="m")
    study.optimize(lambda arch: {"val_acc": float(arch.genotype[0] == "8")}, n_trials=4)
    again = Study.load("m", url)
    assert [again.space.format(t.arch) for t in again.trials] == [small.format(t.arch) for t in study.trials]


# -- NB201 -----------------------------------------------------------------------------------------------------------
def test_nb201_from_params_names_the_bad_edge():
    space = get_space("nb201")
    params = space.to_params(space.sample(0))
    params["edge_1_3"] = "conv3x3"
    with pytest.raises(UsageError, match=r"parameter 'edge_1_3' must be one of \['none', .*\], got 'conv3x3'"):
        space.from_params(params)
    del params["edge_1_3"]
    with pytest.raises(UsageError, match=r"missing parameter\(s\) \['edge_1_3'\]"):
        space.from_params(params)


# -- get_space("model_space", ...) -----------------------------------------------------------------------------------
OPTIONS = r"\(it takes: module, input_shape, module_args, module_kwargs, source_sha1\)"


@pytest.mark.parametrize("options, message", [
    ({}, r"get_space\('model_space'\) needs module= .* and input_shape=; missing module, input_shape " + OPTIONS
     + "; if it comes from a stored record, this model space was not recorded by name"),
    ({"input_shape": [1, 8, 8]}, r"missing module " + OPTIONS),
    ({"module": "net.py:Net"}, r"missing input_shape " + OPTIONS),
    ({"foo": 1}, r"unknown model-space option\(s\) \['foo'\] " + OPTIONS),
    ({"module": "net.py:Net", "input_shape": [1, 8, 8], "foo": 1}, r"unknown model-space option\(s\) \['foo'\]"),
])
def test_get_space_model_space_names_the_missing_or_unknown_option(options, message):
    pytest.importorskip("torch")
    with pytest.raises(UsageError, match=message):
        get_space("model_space", **options)


def test_a_stored_model_space_without_a_module_was_not_recorded_by_name():
    from nasforge.spaces import stored_space

    pytest.importorskip("torch")
    with pytest.raises(UsageError, match="this model space was not recorded by name"):
        stored_space("model_space", {})
