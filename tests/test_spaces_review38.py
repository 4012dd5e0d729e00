"""Review 38 of the search spaces: chain names and choices, chain canonical form without stages, DARTS fast
validity, NB101 text errors, recorded space size, network C and count_flops shape checks."""

from __future__ import annotations

import itertools
import json

import pytest
import torch

from nasforge.exceptions import UsageError
from nasforge.models import create_model
from nasforge.models.chain import check_choice
from nasforge.spaces import Architecture, ChainSpace, get_space
from nasforge.spaces.chain import SKIP_CHOICES
from nasforge.spaces.recorded import RecordedSpace
from nasforge.training import count_flops

LAYERS = [["conv3", "conv5"], ["conv3", "conv5"]]


@pytest.mark.parametrize("name", ["../../escaped", "mobile/v2", "a\\b", "my\nspace", "tab\there", "..", ".", " "])
def test_a_chain_name_that_cannot_be_a_file_name_is_refused_naming_it(name):
    with pytest.raises(UsageError, match="chain space name") as info:
        ChainSpace(LAYERS, name=name)
    assert repr(name) in str(info.value)
    with pytest.raises(UsageError, match="chain space name"):
        ChainSpace.from_config({"layers": LAYERS, "name": name})


def test_a_stored_chain_keeps_a_name_accepted_before():
    assert ChainSpace.from_config({"layers": LAYERS, "name": "mobile/v2"}, stored=True).name == "mobile/v2"
    assert ChainSpace(LAYERS, name="v1.2-mobile").name == "v1.2-mobile"


@pytest.mark.parametrize("choice, message", [
    ("foo", "unknown chain choice 'foo'"), ("mbconv_e0_k3", "expansion E must be at least 1"),
    ("mbconv_e3_k4", "kernel K must be an odd"), ("mbconv_e3_k0_se", "kernel K must be an odd"),
    ("conv4", "kernel K must be an odd"), ("conv0", "kernel K must be an odd")])
def test_chain_choices_the_network_cannot_build_are_refused(choice, message):
    with pytest.raises(UsageError, match=message):
        check_choice(choice)
    arch = Architecture("chain", (choice, "conv3"))
    with pytest.raises(UsageError, match=message):
        create_model("chain", arch, num_classes=10, in_channels=1, C=4)


@pytest.mark.parametrize("choice", ["mbconv_e1_k1", "mbconv_e6_k7_se", "conv1", "conv3", "skip", "identity"])
def test_chain_choices_the_network_builds_are_accepted(choice):
    check_choice(choice)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_search_refuses_a_bad_choice_of_any_layer_whatever_the_seed(tmp_path, seed):
    from nasforge.pipelines.search import SearchConfig, run_search

    space = ChainSpace([["conv3", "conv5"], ["conv3", "conv5", "foo"]])
    config = SearchConfig(trials=4, retrain=0, search_epochs=1, workers=1, threads=1, seed=seed,
                          out=str(tmp_path / "run"), name="job")
    with pytest.raises(UsageError, match="layer 1 of chain space 'chain': unknown chain choice 'foo'"):
        run_search(config, space=space)
    assert not (tmp_path / "run" / "trials.csv").exists()


@pytest.mark.parametrize("bad", [1.0, True, False, 0.0])
def test_darts_inputs_must_be_ints_on_every_path(bad):
    space = get_space("darts")
    normal, reduce = space.sample(0).genotype
    k = next(i for i in (0, 1) if normal[i][1] == int(bad))  # node 2 reads inputs 0 and 1
    normal = normal[:k] + ((normal[k][0], bad),) + normal[k + 1 :]
    arch = Architecture("darts", (normal, reduce))
    with pytest.raises(UsageError) as expected:
        space.check(arch)
    for method in (space.format, space.canonical, space.canonical_key, space.to_params,
                   lambda a: space.encode([a])):
        with pytest.raises(UsageError) as info:
            method(arch)
        assert str(info.value) == str(expected.value)


def _networks(space: ChainSpace) -> dict[tuple[str, ...], set]:
    """Canonical keys per distinct chain network (its sequence of non-skip blocks)."""
    out: dict[tuple[str, ...], set] = {}
    for arch in space.enumerate():
        out.setdefault(tuple(c for c in arch.genotype if c not in SKIP_CHOICES), set()).add(space.canonical_key(arch))
    return out


@pytest.mark.parametrize("layers", [
    [["conv3", "conv5", "skip"], ["conv3", "conv5", "skip"], ["conv3", "conv5"]],  # docs/training.md's layers.yaml
    [["skip", "conv3"]] * 4,
    [["conv3", "identity"], ["conv5"], ["skip", "conv5", "conv3"], ["conv3", "skip"]],
])
def test_without_stages_one_canonical_form_per_network(layers):
    space = ChainSpace(layers)
    networks = _networks(space)
    assert all(len(keys) == 1 for keys in networks.values())
    assert space.count_unique() == len(networks) == len(set().union(*networks.values()))


def test_moved_skips_build_the_same_network_and_share_a_canonical_form():
    space = ChainSpace([["conv3", "conv5", "skip"], ["conv3", "conv5", "skip"], ["conv3", "conv5"]])
    a, b = space.parse("conv3|skip|conv3"), space.parse("skip|conv3|conv3")
    assert space.canonical(a) == space.canonical(b) == a and space.count_unique() == 14
    x = torch.randn(2, 1, 8, 8)
    outputs = []
    for arch in (a, b):
        torch.manual_seed(0)
        outputs.append(create_model("chain", arch, num_classes=3, in_channels=1, C=4).eval()(x))
    assert torch.equal(*outputs)


def test_staged_counts_are_unchanged():
    assert get_space("proxylessnas").count_unique() == 54_375_883_032_510_144


def test_a_stage_tail_may_list_its_choices_in_another_order():
    space = ChainSpace([["a", "b"], ["a", "skip"], ["skip", "a"]], stages=[3])
    assert space.canonical(space.parse("a|skip|a")) == space.parse("a|a|skip")
    assert space.count_unique() == len({space.canonical_key(a) for a in space.enumerate()}) == 6


def test_stored_is_not_a_user_option_of_the_chain_space():
    with pytest.raises(UsageError, match=r"unexpected keyword argument 'stored' \(it takes: layers, name, stages\)"):
        get_space("chain", layers=[["a", "b"]], name="darts", stored=True)
    with pytest.raises(UsageError, match="built-in darts space"):
        get_space("chain", layers=[["a", "b"]], name="darts")


@pytest.mark.parametrize("model, kw", [("proxylessnas", {}), ("chain", {})])
@pytest.mark.parametrize("C", [0, -1, 2.5, True])
def test_chain_networks_check_C(model, kw, C):
    arch = get_space("proxylessnas").sample(0) if model == "proxylessnas" else Architecture("chain", ("conv3",))
    with pytest.raises(UsageError, match=r"C >= 1 \(the stem's channels\)"):
        create_model(model, arch, num_classes=10, C=C, **kw)


def test_recorded_space_size_refuses_like_the_rest():
    space = RecordedSpace("x", None, {})
    for call in (lambda: space.size, lambda: list(space.enumerate()), space.count_unique):
        with pytest.raises(UsageError, match="this needs the space itself"):
            call()


def test_chain_neighbors_are_one_per_canonical_form_and_mutate_stays_uniform_over_them():
    space = get_space("proxylessnas")
    g = list(space.sample(0).genotype)
    g[1:4] = ["skip"] * 3  # stage tail skip, skip, skip
    arch = Architecture("proxylessnas", tuple(g))
    neighbors = space.neighbors(arch)
    keys = [space.canonical_key(n) for n in neighbors]
    edits = {space.canonical_key(Architecture("proxylessnas", tuple(g[:i] + [c] + g[i + 1 :])))
             for i, choices in enumerate(space.layers) for c in choices if c != g[i]}
    assert len(keys) == len(set(keys)) == len(edits) < 6 * 5 + 15 * 6 and set(keys) == edits
    seen = {space.canonical_key(space.mutate(arch, seed)) for seed in range(600)}
    assert seen <= set(keys) and len(seen) > 90


@pytest.mark.parametrize("text, message", [
    ("ops=input,conv3x3-bn-relu,output;matrix=0110/001/000", "row 0 '0110' has 4 digits; 3 ops need 3"),
    ("ops=input,output;matrix=", "matrix is empty"),
])
def test_nb101_text_errors_speak_of_the_text(text, message):
    with pytest.raises(UsageError, match=message):
        get_space("nb101").parse(text)


@pytest.mark.parametrize("shape", [(1, 3, 32, 32), (32, 32), (3, 0, 32), "3,32,32"])
def test_count_flops_names_a_bad_input_shape(shape):
    model = create_model("chain", Architecture("chain", ("conv3",)), num_classes=10, C=4)
    with pytest.raises(UsageError, match="input_shape must be the \\(C, H, W\\)"):
        count_flops(model, shape)
    assert count_flops(model, (3, 8, 8)) > 0


def test_chain_counts_agree_with_brute_force_on_random_unstaged_chains():
    import random

    rng = random.Random(38)
    for _ in range(60):
        layers = []
        for _ in range(rng.randint(2, 4)):
            choices = rng.sample(["a", "b", "c"], rng.randint(1, 3)) + (["skip"] if rng.random() < 0.5 else [])
            layers.append(choices)
        if all(len(c) == 1 for c in layers):
            continue
        space = ChainSpace(layers)
        networks = _networks(space)
        assert all(len(keys) == 1 for keys in networks.values()), json.dumps(layers)
        assert space.count_unique() == len(networks)
        for arch in itertools.islice(space.enumerate(), 20):
            assert space.canonical(space.canonical(arch)) == space.canonical(arch)
