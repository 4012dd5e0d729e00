"""Stop 53 networks review: the chain and proxylessnas networks take a numpy integer C, as the others do."""
from __future__ import annotations

import numpy as np
import pytest

from nasforge.exceptions import UsageError
from nasforge.models import create_model
from nasforge.spaces import get_space


@pytest.mark.parametrize("name, kwargs", [("proxylessnas", {}), ("chain", {"layers": [["conv3", "mbconv_e3_k3"]] * 2})])
def test_a_numpy_integer_c_builds_the_same_network(name, kwargs):
    space = get_space(name, **kwargs)
    arch = space.sample(np.random.default_rng(0))
    plain = create_model(name, arch, num_classes=10, C=8)
    numpy = create_model(name, arch, num_classes=10, C=np.int64(8))  # was refused as "needs C >= 1"
    assert [p.shape for p in numpy.parameters()] == [p.shape for p in plain.parameters()]
    with pytest.raises(UsageError, match="needs C >= 1"):
        create_model(name, arch, num_classes=10, C=True)
    with pytest.raises(UsageError, match="needs C >= 1"):
        create_model(name, arch, num_classes=10, C=np.int64(0))
