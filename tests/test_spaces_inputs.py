"""Bad input to search spaces is a one-line UsageError (a ValueError) naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.exceptions import NotEnumerableError, UsageError
from nasforge.spaces import (Architecture, ChainSpace, DartsSpace, NASBench101Space, NASBench201Space,
                             get_space)

CHAIN = ChainSpace([["a", "b"], ["a", "c"], ["a", "b", "skip"]])
SPACES = [NASBench201Space(), NASBench101Space(), DartsSpace(), CHAIN]
IDS = ["nb201", "nb101", "darts", "chain"]


@pytest.mark.parametrize("name, kwargs, message", [
    ("nb201", {"canonical_rul": "x"}, "got an unexpected keyword argument 'canonical_rul' .*takes: canonical_rule"),
    ("chain", {}, "missing a required argument: 'layers'"),
    ("proxylessnas", {"layers": []}, "got an unexpected keyword argument 'layers' \\(it takes: no options\\)"),
])
def test_get_space_names_a_bad_keyword(name, kwargs, message):
    with pytest.raises(UsageError, match=f"bad parameters for search space '{name}': {message}"):
        get_space(name, **kwargs)


def test_a_space_taking_any_keyword_is_not_said_to_take_none(monkeypatch):
    from nasforge.spaces import SPACES as REGISTRY

    def mine(layers, **options):
        return ChainSpace(layers)

    monkeypatch.setitem(REGISTRY._entries, "mine", mine)
    with pytest.raises(UsageError, match="missing a required argument: 'layers' \\(it takes: keyword options of its "
                                         "own\\)"):
        get_space("mine")


def test_unknown_canonical_rule_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown canonical_rule 'func'"):
        NASBench201Space("func")
    for bad in (["network"], {"network": 1}):  # unhashable: a TypeError before
        with pytest.raises(UsageError, match=r"unknown canonical_rule .*network.*; choose from"):
            get_space("nb201", canonical_rule=bad)


@pytest.mark.parametrize("space", SPACES, ids=IDS)
def test_sample_and_mutate_take_an_int_seed_or_none(space):
    a = space.sample(0)
    assert a == space.sample(0) == space.sample(np.random.default_rng(0))
    assert space.mutate(a, 1) == space.mutate(a, np.random.default_rng(1)) != a
    space.check(space.sample(None))
    for bad in (1.5, -1, "0", True):
        with pytest.raises(UsageError, match="rng must be a numpy.random.Generator, a non-negative int seed or None"):
            space.sample(bad)


@pytest.mark.parametrize("space", SPACES, ids=IDS)
def test_architecture_arguments_are_checked(space):
    arch = space.sample(np.random.default_rng(0))
    text = space.format(arch)
    with pytest.raises(UsageError, match="encode takes a list of architectures, got one Architecture; pass \\[arch\\]"):
        space.encode(arch)
    assert space.encode([arch]).shape[0] == 1
    for method in (space.format, space.canonical, space.canonical_key, space.to_params):
        with pytest.raises(UsageError, match="expected an Architecture, got str .*; use space.parse"):
            method(text)
    foreign = (CHAIN if space is not CHAIN else NASBench201Space()).sample(np.random.default_rng(0))
    for method in (space.format, space.canonical, space.neighbors):
        with pytest.raises(UsageError, match=f"belongs to space '{foreign.space}', not '{space.name}'"):
            method(foreign)


@pytest.mark.parametrize("space, bad", [
    (NASBench201Space(), Architecture("nb201", ("conv",) * 6)),
    (CHAIN, Architecture("chain", ("a", "z", "a"))),
    (NASBench101Space(), Architecture("nb101", (((0, 1), (0, 0)), ("input", "conv")))),
    (DartsSpace(), Architecture("darts", ((("conv", 0),) * 8,) * 2)),
], ids=IDS)
def test_neighbors_and_mutate_refuse_an_invalid_architecture(space, bad):
    with pytest.raises(UsageError):
        space.neighbors(bad)
    with pytest.raises(UsageError):
        space.mutate(bad, 0)


@pytest.mark.parametrize("space, bad, message", [
    (NASBench201Space(), Architecture("nb201", ("conv",) * 6), "unknown NAS-Bench-201 operation"),
    (NASBench201Space(), Architecture("nb201", ("none",) * 3), "genotype must be a tuple of 6 operations"),
    (CHAIN, Architecture("chain", ("a", "z", "a")), "layer 1: unknown choice 'z'"),
    (CHAIN, Architecture("chain", ("a",)), "genotype must be a tuple of 3 choices"),
    (NASBench101Space(), Architecture("nb101", ("input",)), "must be a \\(matrix, ops\\) pair"),
    (DartsSpace(), Architecture("darts", ((("foo", 9),) * 8, ())), "unknown operation 'foo' in normal pair 0"),
    (DartsSpace(), Architecture("darts", ((("skip_connect", 0),) * 8,) * 2), "node 2 reads input 0 twice"),
], ids=["nb201-op", "nb201-short", "chain-choice", "chain-short", "nb101", "darts-op", "darts-twice"])
def test_every_method_taking_an_architecture_refuses_an_invalid_one(space, bad, message):
    methods = [space.format, space.canonical, space.canonical_key, space.to_params]
    methods += [lambda a, kind=kind: space.encode([a], kind) for kind in space.encoders()]
    for method in methods:  # nb201 and darts gave KeyErrors, IndexErrors or silent garbage
        with pytest.raises(UsageError, match=message):
            method(bad)


@pytest.mark.parametrize("space", SPACES, ids=IDS)
def test_a_valid_architecture_skips_validate_where_the_space_has_a_fast_check(space, monkeypatch):
    """SearchSpace._valid: the space's cheap _fast_valid hook alone passes a valid genotype (the hot path)."""
    arch = space.sample(0)
    monkeypatch.setattr(space, "validate", lambda a: pytest.fail("validate ran"))
    if isinstance(space, NASBench101Space):  # no fast check: validate decides
        with pytest.raises(pytest.fail.Exception, match="validate ran"):
            space.format(arch)
    else:
        assert space.parse(space.format(arch)) == arch


@pytest.mark.parametrize("space, text", [
    (NASBench201Space(), "|conv~0|"), (NASBench101Space(), "ops=input"), (DartsSpace(), "Genotype()"),
    (CHAIN, "a|z|a"),
], ids=IDS)
def test_parse_check_and_from_params_raise_usage_errors(space, text):
    with pytest.raises(UsageError):
        space.parse(text)
    with pytest.raises(UsageError):
        space.from_params({})
    with pytest.raises(UsageError):
        Architecture.from_json({"genotype": []})


def test_from_json_refuses_text_that_is_not_json():
    with pytest.raises(UsageError, match=r"not an architecture record: '\{oops' is not JSON"):
        Architecture.from_json("{oops")


@pytest.mark.parametrize("record, message", [
    ('{"space": ["nb201"], "genotype": []}', r"record's space must be a space name, got \['nb201'\]"),
    ('{"space": "nb201", "genotype": {"a": 1}}', r"genotype must be nested lists or tuples .*got \{'a': 1\}"),
    ('{"space": "nb201", "genotype": [["a", {"b": 1}]]}', r"genotype must be nested lists or tuples"),
    ("[1, 2]", r"not an architecture record \(a 'space' and a 'genotype'\): \[1, 2\]"),
])
def test_from_json_names_the_bad_part_of_a_record(record, message):
    with pytest.raises(UsageError, match=message):  # a list space was str()-ed, a dict genotype unhashable
        Architecture.from_json(record)


@pytest.mark.parametrize("space", SPACES, ids=IDS)
def test_a_genotype_given_as_lists_is_the_same_hashable_architecture(space):
    arch = space.sample(0)
    listed = Architecture(arch.space, arch.to_json()["genotype"])  # nested lists, as JSON gives them
    assert isinstance(listed.genotype, tuple) and listed == arch and hash(listed) == hash(arch)
    assert {listed: 1}[arch] == 1 and space.check(listed) == arch


@pytest.mark.parametrize("space", [NASBench101Space(), DartsSpace(), get_space("proxylessnas")],
                         ids=["nb101", "darts", "proxylessnas"])
def test_enumerating_a_large_space_is_a_usage_error_and_still_a_type_error(space):
    with pytest.raises(NotEnumerableError, match="enumerate") as info:
        next(iter(space.enumerate()))
    assert isinstance(info.value, UsageError) and isinstance(info.value, TypeError)


def test_uniform_chain_refuses_a_bare_string():
    with pytest.raises(UsageError, match="choices must be a list of choice names, got 'ab'"):
        ChainSpace.uniform(2, "ab")
    assert ChainSpace.uniform(2, ("a", "b")).layers == (("a", "b"), ("a", "b"))


@pytest.mark.parametrize("space", SPACES, ids=IDS)
def test_from_params_refuses_unknown_parameters(space):
    params = space.to_params(space.sample(0))
    assert space.from_params(params) == space.from_params(dict(params))
    extra = "layer_3" if space is CHAIN else "bogus"
    with pytest.raises(UsageError, match=rf"unknown parameter\(s\) \['{extra}'\]"):
        space.from_params({**params, extra: "a"})
    with pytest.raises(UsageError, match="from_params takes a dict"):
        space.from_params(list(params.items()))


def test_empty_encode_has_the_encoding_width():
    for space in SPACES:
        assert space.encode([]).shape == (0, space.encode([space.sample(0)]).shape[1])
