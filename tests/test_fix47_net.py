"""Standalone networks: the ``params`` known cost leaves out DARTS's training-only auxiliary head, DARTS's
``drop_path``/``auxiliary`` and the chain network's ``stages``/``widths``/``strides`` are checked when the network
is built, and the ``proxylessnas`` network stays the one the docs describe."""

import numpy as np
import pytest

from nasforge.exceptions import UsageError
from nasforge.models import create_model
from nasforge.spaces import get_space
from nasforge.training.cost import count_params

DARTS = get_space("darts")
ARCH = DARTS.sample(np.random.default_rng(1))
CHAIN = get_space("chain", layers=[["conv3"], ["mbconv_e3_k3", "skip"]])


def test_params_cost_leaves_out_the_auxiliary_head():
    """It counted the head (2.6x the deployed size at C=16, N=2), unlike the ``params`` a search reports."""
    from nasforge.strategies.model_based.costs import ParameterCount

    network = create_model("darts", ARCH, num_classes=10, C=8, N=1, auxiliary=True)
    cost = ParameterCount(DARTS, num_classes=10, C=8, N=1, auxiliary=True)
    assert cost(ARCH) == count_params(network) < count_params(network, training_only=True)
    assert cost(ARCH) == ParameterCount(DARTS, num_classes=10, C=8, N=1)(ARCH)
