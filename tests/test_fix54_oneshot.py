"""Review 54 of one-shot NAS: what load_supernet accepts from an edited supernet.json, and what it records."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from nasforge.oneshot import build_supernet, split_supernet  # noqa: E402
from nasforge.oneshot.checkpoint import CheckpointError, load_supernet, save_supernet  # noqa: E402
from nasforge.oneshot.fewshot import FewShotSupernet  # noqa: E402
from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.spaces import get_space  # noqa: E402

GROUPS = {"edge_0_3": [["none", "skip_connect"], ["nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]],
          "edge_1_2": [["none"], ["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]]}


def _edited(folder, edit):
    """``folder``'s supernet.json after ``edit(info)``."""
    path = folder / "supernet.json"
    info = json.loads(path.read_text())
    edit(info)
    path.write_text(json.dumps(info))
    return folder


@pytest.fixture
def few_shot(tmp_path):
    """A tiny NB201 supernet split on two decisions in groups (4 parts), saved."""
    net = split_supernet(build_supernet("nb201", 10, 1, C=2, N=1), ["edge_0_3", "edge_1_2"], GROUPS)
    return save_supernet(net, tmp_path / "fs", {"data": {"data": "digits", "data_options": {}}})


def test_saved_few_shot_splits_of_every_kind_load(tmp_path, few_shot):
    assert len(load_supernet(few_shot)[0].members) == 4
    chain = get_space("chain", layers=[["conv3", "conv5"], ["conv3", "conv5"]])
    for space, on, size in (("nb201", ["edge_0_3"], {"N": 1}), (chain, ["layer_0", "layer_1"], {})):  # exhaustive
        split = split_supernet(build_supernet(space, 10, 1, C=2, **size), on)
        net, _ = load_supernet(save_supernet(split, tmp_path / "-".join(on)))
        assert net.allowed == split.allowed and len(net.members) == {"nb201": 5}.get(space, 4)


def _set_part(i, part):
    return lambda info: info["config"]["few_shot"].__setitem__(i, part)


@pytest.mark.parametrize("edit, said", [
    (_set_part(0, {"edge_0_3": ["bogus"], "edge_1_2": ["none"]}), "edge_0_3 must list distinct options"),
    (_set_part(0, {"edge_9_9": ["none"], "edge_1_2": ["none"]}), "part 0 names 'edge_9_9', not a decision"),
    (_set_part(0, {"edge_0_3": ["none", "none"], "edge_1_2": ["none"]}), "edge_0_3 must list distinct options"),
    (_set_part(0, "edge_0_3"), "part 0 must be a {decision: [options]} dict"),
    (_set_part(3, {"edge_0_3": ["nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"], "edge_1_2": ["none"]}),
     "parts 2 and 3 both hold edge_0_3=nor_conv_1x1, edge_1_2=none"),
    (lambda info: [_set_part(i, {"edge_0_3": group, "edge_1_2": ["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]})(info)
                   for i, group in ((1, GROUPS["edge_0_3"][0]), (3, GROUPS["edge_0_3"][1]))],
     "no part holds edge_1_2=avg_pool_3x3"),
    (_set_part(3, {"edge_0_3": ["nor_conv_1x1"], "edge_1_2": ["skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                                                                "avg_pool_3x3"]}),
     "the parts hold 17 of the 25 option combinations of edge_0_3, edge_1_2"),
])
def test_few_shot_parts_that_do_not_partition_the_space_are_refused_at_load(few_shot, edit, said):
    with pytest.raises(CheckpointError, match="few-shot parts") as caught:
        load_supernet(_edited(few_shot, edit))
    assert said in str(caught.value) and "supernet.json' is damaged" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_few_shot_supernet_built_by_hand_must_partition_the_space():
    nets = [build_supernet("nb201", 10, 1, C=2, N=1) for _ in range(2)]
    with pytest.raises(UsageError, match="no part holds edge_0_3=skip_connect"):
        FewShotSupernet(nets, [{"edge_0_3": ["none"]}, {"edge_0_3": ["nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]}])
    both = FewShotSupernet(nets, [{"edge_0_3": ["none"]}, {"edge_0_3": ["skip_connect", "nor_conv_1x1",
                                                                        "nor_conv_3x3", "avg_pool_3x3"]}])
    assert both.allowed[1]["edge_0_3"][0] == "skip_connect"


@pytest.mark.parametrize("key, value, said", [
    ("arch_trained", "yes", "arch_trained must be true, false or null, got 'yes'"),
    ("config", [1], "config must be an object, got [1]"),
    ("space", 201, "space must be a space's name, got 201"),
    ("weights_sha256", 5, "weights_sha256 must be a hex digest, got 5"),
])
def test_a_field_the_loader_reads_of_another_type_is_refused(ck, key, value, said):
    with pytest.raises(CheckpointError, match="supernet.json' is damaged: ") as caught:
        load_supernet(_edited(ck, lambda info: info.update({key: value})))
    assert said in str(caught.value)


def test_a_description_without_the_optional_fields_loads_as_before(ck):
    net, info = load_supernet(_edited(ck, lambda info: [info.pop(k) for k in ("arch_trained", "weights_sha256")]))
    assert getattr(net, "arch_trained", None) is None and len(info["weights_sha256"]) == 64


@pytest.mark.parametrize("derive", ["argmax", "pt"])
def test_train_records_how_the_stored_architecture_was_derived(tmp_path, derive, capsys):
    from nasforge.cli import main

    out = tmp_path / derive
    assert main(["oneshot", "train", "--data", "digits", "--method", "gdas", "--epochs", "1", "--C", "2",
                 "--batch-size", "256", "--warmup-epochs", "0", "--derive", derive, "--threads", "1",
                 "--out", str(out)]) == 0
    info = json.loads((out / "supernet.json").read_text())
    assert info["derive"] == derive and info["derived"] in capsys.readouterr().out
    assert load_supernet(out)[1]["derive"] == derive
