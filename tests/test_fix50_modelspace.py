"""Fixes from review 50 of user model spaces: attention FLOPs, the MobileNet example's saved BatchNorm statistics,
export of attention, a Repeat's mixed-depth shape error, the front's chance-level note and package-relative
imports in --space-module FILE.py."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nasforge.exceptions import UsageError
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
