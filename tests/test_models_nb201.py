"""NAS-Bench-201 networks and the shared operation blocks."""

import pytest
import torch

from nasforge.models import NB201Cell, available_models, create_model, make_op
from nasforge.spaces import get_space
from nasforge.training import count_params

SPACE = get_space("nb201")
ALL_CONV = SPACE.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
SKIP = SPACE.parse("|skip_connect~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
CUT = SPACE.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|")  # node 2 gets nothing


def test_registry_lists_nb201_and_rejects_unknown_or_mismatched():
    assert "nb201" in available_models()
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        create_model("nope", ALL_CONV, num_classes=10)
    other = type(ALL_CONV)("darts", ALL_CONV.genotype)
    with pytest.raises(ValueError, match="space 'darts'"):
        create_model("nb201", other, num_classes=10)


@pytest.mark.parametrize("in_channels,size,classes", [(1, 8, 10), (3, 16, 100)])
def test_forward_shape_follows_data(in_channels, size, classes):
    torch.manual_seed(0)
    model = create_model("nb201", ALL_CONV, num_classes=classes, in_channels=in_channels, C=4, N=1)
    assert model(torch.randn(2, in_channels, size, size)).shape == (2, classes)


def test_parameter_count_matches_hand_count():
    """C=4, N=1, one input channel, 10 classes: stem + 2 residual blocks + cells + head, counted by hand."""
    model = create_model("nb201", SKIP, num_classes=10, in_channels=1, C=4, N=1)
    stem = 1 * 4 * 9 + 2 * 4
    res = lambda ci, co: ci * co * 9 + 2 * co + co * co * 9 + 2 * co + ci * co  # noqa: E731
    head = 2 * 16 + 16 * 10 + 10
    assert count_params(model) == stem + res(4, 8) + res(8, 16) + head
    conv_cell = 6 * (9 * 4 * 4 + 2 * 4) + 6 * (9 * 8 * 8 + 2 * 8) + 6 * (9 * 16 * 16 + 2 * 16)
    assert count_params(create_model("nb201", ALL_CONV, num_classes=10, in_channels=1, C=4, N=1)) == \
        count_params(model) + conv_cell


def test_dead_edges_are_not_built_and_cut_cell_outputs_zeros():
    cell = NB201Cell(CUT.genotype, 4)
    assert cell.live == [] and len(cell.edges) == 0  # the 0->1 conv leads nowhere, the 2->3 conv gets nothing
    x = torch.randn(2, 4, 5, 5)
    assert torch.equal(cell(x), torch.zeros_like(x))
    skip_cell = NB201Cell(SKIP.genotype, 4)
    assert skip_cell.live == [(0, 3)]
    assert torch.equal(skip_cell(x), x)


def test_cell_sums_inputs_in_topological_order():
    arch = SPACE.parse("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|none~1|skip_connect~2|")
    x = torch.randn(1, 4, 3, 3)
    assert torch.allclose(NB201Cell(arch.genotype, 4)(x), 2 * x)  # node2 = x + node1 = 2x; node3 = node2


def test_make_op_names_unknown_operation():
    with pytest.raises(ValueError, match="unknown operation 'conv9'"):
        make_op("conv9", 4, 4)


@pytest.mark.parametrize("name", ["skip_connect", "nor_conv_3x3", "avg_pool_3x3", "sep_conv_5x5", "dil_conv_3x3",
                                  "max_pool_3x3", "none", "conv1x1-bn-relu"])
def test_reducing_ops_halve_resolution_and_change_channels(name):
    op = make_op(name, 4, 8, stride=2)
    assert op(torch.randn(2, 4, 8, 8)).shape == (2, 8, 4, 4)


@pytest.mark.parametrize("genotype,match", [(("skip_connect",) * 3, "must be a tuple of 6 operations"),
                                            (("foo",) * 6, r"unknown NAS-Bench-201 operation\(s\)")])
def test_create_model_checks_the_genotype(genotype, match):
    from nasforge.exceptions import UsageError
    from nasforge.spaces import Architecture

    with pytest.raises(UsageError, match=match):
        create_model("nb201", Architecture("nb201", genotype), num_classes=10, in_channels=3)
    with pytest.raises(UsageError, match="normal must be"):
        create_model("darts", Architecture("darts", (1, 2)), num_classes=10, in_channels=3)


def test_every_image_side_works_and_even_sides_build_the_same_network_as_before():
    """The reduction block's 2x2 pooled shortcut rounded an odd side down, its strided conv up: 10x10 images failed
    with a tensor-size error."""
    from nasforge.models.layers import ResNetBasicBlock

    for side in range(1, 14):
        torch.manual_seed(0)
        model = create_model("nb201", ALL_CONV, num_classes=3, in_channels=3, C=4, N=1).eval()
        assert model(torch.randn(2, 3, side, side + 1)).shape == (2, 3)
    torch.manual_seed(0)
    model = create_model("nb201", SKIP, num_classes=10, in_channels=1, C=4, N=1).eval()
    x = torch.randn(2, 1, 16, 16)
    new = model(x)
    for block in (m for m in model.modules() if isinstance(m, ResNetBasicBlock)):
        block.shortcut[0] = torch.nn.AvgPool2d(2, 2)  # the shortcut as it was
    assert torch.equal(model(x), new)
