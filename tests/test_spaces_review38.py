"""Review 38 of the search spaces: chain names and choices, DARTS fast validity, NB101 text errors, recorded
space size, network C and the input shape of count_flops / measure_latency."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasforge.exceptions import UsageError
from nasforge.models import create_model
from nasforge.models.chain import check_choice
from nasforge.spaces import Architecture, ChainSpace, get_space
from nasforge.spaces.recorded import RecordedSpace
from nasforge.training import count_flops, measure_latency

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
    ("conv0", "kernel K must be at least 1")])
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


def test_without_stages_a_moved_skip_stays_its_own_class():
    """A table may come from a network where a skip's position matters: bench must reach its best row."""
    space = ChainSpace([["conv3", "conv5", "skip"], ["conv3", "conv5", "skip"], ["conv3", "conv5"]])
    arch = space.parse("skip|conv3|conv3")
    assert space.canonical(arch) == arch and space.count_unique() == space.size == 18
    assert len(space.neighbors(arch)) == 5


def test_plain_convs_may_have_an_even_kernel_and_stored_records_keep_their_name():
    check_choice("conv4")
    assert ChainSpace.from_config({"layers": [["a", "b"]], "name": "darts"}, stored=True).name == "darts"


def test_staged_counts_are_unchanged():
    assert get_space("proxylessnas").count_unique() == 54_375_883_032_510_144


def test_a_stage_tail_may_list_its_choices_in_another_order():
    space = ChainSpace([["a", "b"], ["a", "skip"], ["skip", "a"]], stages=[3])
    assert space.canonical(space.parse("a|skip|a")) == space.parse("a|a|skip")
    assert space.count_unique() == len({space.canonical_key(a) for a in space.enumerate()}) == 6


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


@pytest.mark.parametrize("text, message", [
    ("ops=input,conv3x3-bn-relu,output;matrix=0110/001/000", "row 0 '0110' has 4 digits; 3 ops need 3"),
    ("ops=input,output;matrix=", "matrix is empty"),
])
def test_nb101_text_errors_speak_of_the_text(text, message):
    with pytest.raises(UsageError, match=message):
        get_space("nb101").parse(text)


@pytest.mark.parametrize("shape, message", [
    ((1, 3, 32, 32), "cannot take one input of shape \\(1, 3, 32, 32\\)"), ((32, 32), "cannot take one input"),
    ((3, 0, 32), "positive integers"), ("3,32,32", "positive integers"), ((), "positive integers")])
def test_count_flops_and_latency_name_a_bad_input_shape(shape, message):
    model = create_model("chain", Architecture("chain", ("conv3",)), num_classes=10, C=4)
    for measure in (count_flops, measure_latency):
        with pytest.raises(UsageError, match=message):
            measure(model, shape)
    assert count_flops(model, (3, 8, 8)) > 0 and count_flops(model, (np.int64(3), 8, 8)) > 0


def test_count_flops_takes_any_input_rank():
    assert count_flops(torch.nn.Linear(30, 4), (30,)) == 2 * 30 * 4
