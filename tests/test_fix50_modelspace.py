"""Fixes from review 50 of user model spaces: attention FLOPs, the MobileNet example's saved BatchNorm statistics,
export of attention, a Repeat's mixed-depth shape error, the front's chance-level note and package-relative
imports in --space-module FILE.py."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from nasforge.exceptions import UsageError
from nasforge.spaces.model_space import LayerChoice, ModelSpace, Repeat, ValueChoice
from nasforge.training import count_flops

# 8 tokens of width 16: in-projection 12,288 + Q K^T 2,048 + A V 2,048 + out-projection 4,096
ATTENTION_FLOPS = 20_480


class SelfAttention(nn.Module):
    """One self-attention block over (tokens, width) inputs."""

    def __init__(self, heads: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(16, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, need_weights=False)[0]


@pytest.mark.parametrize("heads", [1, 2, 4])
def test_count_flops_counts_attention_whatever_the_number_of_heads(heads):
    assert count_flops(SelfAttention(heads), (8, 16)) == ATTENTION_FLOPS
    assert torch.backends.mha.get_fastpath_enabled()


def test_count_flops_counts_a_transformer_encoder_layer_and_restores_the_fast_path_setting():
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    feed_forward = 2 * (8 * 16 * 32 * 2)
    assert count_flops(layer, (8, 16)) == ATTENTION_FLOPS + feed_forward
    failing = nn.Sequential(layer, nn.Linear(15, 2))
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with pytest.raises(UsageError, match="cannot take one input"):
            count_flops(failing, (8, 16))
        assert not torch.backends.mha.get_fastpath_enabled()
    finally:
        torch.backends.mha.set_fastpath_enabled(True)
    with pytest.raises(UsageError, match="cannot take one input"):
        count_flops(failing, (8, 16))
    assert torch.backends.mha.get_fastpath_enabled()


class BNNet(nn.Module):
    """A conv stem with BatchNorm, one LayerChoice of BN blocks and a linear head."""

    def __init__(self, num_classes: int = 4, in_channels: int = 1) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.op = LayerChoice({"c3": nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8)),
                               "c1": nn.Sequential(nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8))}, label="op")
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.op(self.stem(x)))


def test_a_network_exported_inside_the_scorers_preparation_is_the_one_scored(toy_images):
    from torch.nn import functional as F

    from nasforge.oneshot.scoring import ScoreConfig, SubnetScorer

    torch.manual_seed(0)
    space = ModelSpace(BNNet, num_classes=4, input_shape=(1, 8, 8))
    supernet = space.supernet()
    before = {k: v.clone() for k, v in supernet.state_dict().items()}
    scorer = SubnetScorer(supernet, toy_images, ScoreConfig(bn_mode="recalibrate", recal_batches=2))
    arch = space.parse("op=c3")
    score = scorer.score(arch)
    net, inherited = space.build(arch), space.build(arch)
    with scorer.prepared(arch):
        net.load_state_dict(supernet.subnet_state_dict(arch))
    inherited.load_state_dict(supernet.subnet_state_dict(arch))
    assert all(torch.equal(v, supernet.state_dict()[k]) for k, v in before.items())  # the supernet as it was

    def val_loss(model: nn.Module) -> float:
        with torch.no_grad():
            return float(F.cross_entropy(model.eval()(toy_images.x_val), toy_images.y_val))

    assert val_loss(net) == pytest.approx(score["val_loss"], rel=1e-5)
    assert val_loss(inherited) != pytest.approx(score["val_loss"], rel=1e-3)


ATTENTION_SPACE = '''
from torch import nn
from nasforge.spaces.model_space import ValueChoice


class Attn(nn.Module):
    """Image rows as 8 tokens of width 16, self-attention with a choice of heads."""

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.embed = nn.Linear(8, 16)
        self.attn = nn.MultiheadAttention(16, ValueChoice([1, 2], label="heads"), batch_first=True)
        self.head = nn.Linear(16, num_classes)

    def forward(self, x):
        t = self.embed(x[:, 0])
        return self.head((t + self.attn(t, t, t, need_weights=False)[0]).mean(1))
'''


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_a_network_with_multi_head_attention_exports(tmp_path, fmt):
    from nasforge.export import export_model, save_model

    (tmp_path / "attn_net.py").write_text(ATTENTION_SPACE)
    space = ModelSpace(f"{tmp_path / 'attn_net.py'}:Attn", input_shape=(1, 8, 8))
    arch = space.parse("heads=2")
    torch.manual_seed(0)
    folder = save_model(tmp_path / "net", space.build(arch), model_name="model_space", arch=arch,
                        model_kwargs={"space": space.config()}, num_classes=10, in_channels=1,
                        preprocessing={"input_shape": [1, 8, 8], "scale": 1 / 16, "mean": [0.0], "std": [1.0],
                                       "class_names": [str(i) for i in range(10)]})
    out = export_model(folder, fmt, tmp_path / f"model.{'pt' if fmt == 'torchscript' else fmt}")
    assert out.stat().st_size > 0
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 steers towards torch.export
            assert "_native_multi_head_attention" not in str(torch.jit.load(str(out)).inlined_graph)
    assert torch.backends.mha.get_fastpath_enabled()


class LazyRepeat(nn.Module):
    """Per-block widths in a Repeat of lazy convs: the depths agree at the default widths, not at w0=4, w1=8."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.blocks = Repeat(lambda i: nn.Sequential(nn.LazyConv2d(ValueChoice([4, 8], label=f"w{i}"), 3, padding=1),
                                                     nn.ReLU()), depth=ValueChoice([1, 2], label="depth"))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LazyLinear(num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(x))


def test_a_repeat_whose_depths_disagree_only_for_some_values_is_named_by_the_supernet():
    space = ModelSpace(LazyRepeat, input_shape=(1, 8, 8))
    space.build(space.parse("depth=2|w0=4|w1=8"))  # each network builds
    with pytest.raises(UsageError) as info:
        space.supernet()
    assert str(info.value) == ("Repeat 'depth': output shape depends on the depth (depth 1: (4, 8, 8), depth 2: "
                               "(8, 8, 8)); blocks after the smallest depth must keep the shape (with w0=4, w1=8)")


@pytest.mark.parametrize("only_reachable", [True, False])
def test_the_chance_level_note_says_only_built_operations_count_only_where_the_space_prunes(only_reachable):
    from rich.console import Console

    from nasforge.pipelines.search import _print_front_notes

    console = Console(record=True, width=400)
    _print_front_notes(console, [{"trial": 3, "chance_level": True}], latency_objective=False,
                       only_reachable=only_reachable)
    said = console.export_text()
    assert "! trial 3: search val % at chance level (its output barely depends on its input, or it barely trained)" \
        in said
    assert ("those on a path from its input to its output" in said) is only_reachable


def test_only_nb201_and_nb101_networks_build_only_the_reachable_operations():
    from nasforge.spaces import get_space

    assert get_space("nb201").builds_only_reachable and get_space("nb101").builds_only_reachable
    assert not get_space("darts").builds_only_reachable
    assert not ModelSpace(BNNet, input_shape=(1, 8, 8)).builds_only_reachable


@pytest.mark.parametrize("import_line", ["from .blocks import width", "from mynets.blocks import width"])
def test_a_package_file_named_by_path_is_refused_with_its_dotted_module_name(tmp_path, import_line):
    package = tmp_path / "pkg" / "mynets"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "blocks.py").write_text("width = 8\n")
    (package / "net.py").write_text(f"{import_line}\n")
    with pytest.raises(UsageError) as info:
        ModelSpace(f"{package / 'net.py'}:RelNet", input_shape=(1, 8, 8))
    assert str(info.value).endswith(f"(net.py is part of package 'mynets': name it mynets.net:RelNet and run from "
                                    f"{tmp_path / 'pkg'}, or put that folder on PYTHONPATH)")


def test_a_file_outside_a_package_that_imports_a_missing_module_gets_no_package_hint(tmp_path):
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "net.py").write_text("import not_installed_anywhere_50\n")
    with pytest.raises(UsageError, match="No module named 'not_installed_anywhere_50'") as info:
        ModelSpace(f"{tmp_path / 'net.py'}:Net", input_shape=(1, 8, 8))
    assert "part of package" not in str(info.value)
