"""Review 54 of predictors: the ``path`` encoding counts the paths of each operation sequence (BANANAS marks their
presence; the docs say so), and a model whose predictions are not finite (a diverged training) is refused by name,
size and seed in an evaluation or a surrogate fit, and by ``save`` before anything is written."""

from __future__ import annotations

import numpy as np

from nasforge.predictors import encode
from nasforge.spaces import NASBench101Space

# Two parallel conv3x3 nodes between input and output: two paths carry the one-operation sequence (conv3x3).
PARALLEL = (((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0)),
            ("input", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"))


def test_nb101_path_counts_paths_and_its_minimum_is_bananas_bits():
    """As docs/predictors.md says: the predictors' ``path`` counts (2 for the two parallel convolutions), and
    ``np.minimum(x, 1)`` of it is the space's own BANANAS path encoding (presence bits), column for column."""
    space = NASBench101Space()
    rng = np.random.default_rng(1)
    archs = [space._arch(PARALLEL)] + [space.sample(rng) for _ in range(200)]
    counts = encode(space, archs, "path")
    assert counts.shape == (201, 364) and counts[0].max() == 2.0
    assert np.array_equal(np.minimum(counts, 1), space.encode(archs, "path"))
