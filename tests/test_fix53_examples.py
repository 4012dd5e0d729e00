"""Stop 53 examples review: examples/mobilenet_chain.py gives the same network for the same --seed, on one torch
thread by default."""

from __future__ import annotations

import pytest

from example_modules import load_example


@pytest.mark.slow  # two supernet trainings: about 8 s
def test_mobilenet_chain_gives_the_same_network_for_the_same_seed(torch_one_thread):
    """Would fail: the supernet's initial weights came from the unseeded global generator, so two runs with --seed 0
    chose different networks (and the script trained on every core)."""
    import torch

    example = load_example("mobilenet_chain")
    torch.manual_seed(123)
    first = example.main(["--epochs", "1", "--candidates", "2"])
    torch.manual_seed(456)  # whatever the generator held before
    torch.set_num_threads(2)
    assert example.main(["--epochs", "1", "--candidates", "2"]) == first
    assert torch.get_num_threads() == 1  # --threads 1, the default
