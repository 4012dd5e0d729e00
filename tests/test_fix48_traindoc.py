"""Review 48 (training docs): measure_latency refuses bad settings as UsageErrors naming them (repeats=1.5 was a
TypeError, threads=0 torch's RuntimeError, warmup=-1 taken)."""

from __future__ import annotations

import pytest
import torch

from nasforge.exceptions import UsageError
from nasforge.training import measure_latency


@pytest.mark.parametrize("kwargs, name", [({"repeats": 0}, "repeats"), ({"repeats": 1.5}, "repeats"),
                                          ({"warmup": -1}, "warmup"), ({"threads": 0}, "threads")])
def test_measure_latency_refuses_bad_settings_naming_them(kwargs, name):
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    with pytest.raises(UsageError, match=name):
        measure_latency(model, (1, 2, 2), **kwargs)
