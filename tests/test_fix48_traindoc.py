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


def test_a_supernet_evaluation_leaves_the_callers_thread_count():
    """Would fail: SupernetEvaluator.evaluate set torch's thread count to its own and kept it (TrainingEvaluator
    restores it; a notebook then trained on 1 thread)."""
    from nasforge.evaluators import SupernetEvaluator
    from nasforge.oneshot.elastic import ElasticChainSupernet
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["mbconv_e3_k3", "mbconv_e6_k5"], ["mbconv_e6_k5", "skip"]], name="mb")
    evaluator = SupernetEvaluator(ElasticChainSupernet(space, 10, 1, C=8), "digits", {"bn_mode": "inherited"},
                                  latency_repeats=0, threads=1)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        evaluator.evaluate(space.sample(0))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
