"""Review 53 of tables: about half of the members of an NB201 ``network`` class repeat another member's results digit
for digit, so the seed table of ``benchmarks/surrogate_fidelity.py`` counts only distinct result vectors as runs."""

from __future__ import annotations

import pandas as pd

from nasforge.benchmarks import TabularBenchmark
from nasforge.spaces import NASBench201Space

# Members of one ``network`` class (rows 656, 863, 662, 1471, 2851, 8064 of the NB201 table) and of another (rows
# 6927 and 11138).
ONE = ["|nor_conv_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|none~2|",
       "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_1x1~1|none~2|",
       "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|nor_conv_1x1~1|none~2|",
       "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|nor_conv_1x1~1|none~2|",
       "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|",
       "|nor_conv_3x3~0|+|skip_connect~0|skip_connect~1|+|none~0|nor_conv_1x1~1|none~2|"]
OTHER = ["|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
         "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|skip_connect~1|avg_pool_3x3~2|"]


def test_seed_table_skips_members_that_copy_another_members_results(bench_module):
    """The second member copies the first in every metric (no run of its own); the third shares only its
    ``val_acc`` (a run of its own); the other class holds one result twice, so it has a single run and no row."""
    space = NASBench201Space(canonical_rule="network")
    assert len({space.canonical_key(space.parse(a)) for a in ONE}) == 1
    assert len({space.canonical_key(space.parse(a)) for a in OTHER}) == 1
    table = TabularBenchmark(pd.DataFrame({"arch": ONE + OTHER,
                                           "val_acc": [70.0, 70.0, 70.0, 71.0, 72.0, 73.0, 50.0, 50.0],
                                           "test_acc": [75.0, 75.0, 76.0, 77.0, 78.0, 79.0, 55.0, 55.0]}), space)
    seeds = bench_module("surrogate_fidelity").isomorphism_seed_table(table)
    assert [space.format(a) for a in seeds.archs] == [space.format(space.parse(ONE[0]))]
    assert seeds.seed_values("val_acc").tolist() == [[70.0, 70.0, 71.0, 72.0]]


def test_nb201_seed_table_has_a_row_per_class_of_two_distinct_runs(nb201_table, bench_module):
    """Of the 1,188 multi-member ``network`` classes, 81 hold one result vector only (every member a copy). The
    class of row 656 has rows 656, 662, 863, 1471, 1517 first, where 863 and 1517 copy 656 in all six columns."""
    seeds = bench_module("surrogate_fidelity").isomorphism_seed_table(nb201_table)
    assert len(seeds) == 1107
    runs = seeds.seed_values("val_acc")[seeds.row(nb201_table.archs[656])].tolist()
    assert runs[:3] == [66.492, 65.202, 66.726]


def test_nb201_params_are_not_additive_over_edges():
    """docs/strategies.md: the builder keeps only a cell's live edges, so a 3x3 convolution on edge 2->3 adds no
    parameters alone (node 2 is cut off from the input) and 243,040 once a skip on 0->2 feeds it."""
    from nasforge.strategies.model_based.costs import make_cost

    space = NASBench201Space()
    cost = make_cost({"name": "params", "num_classes": 10}, space)
    cells = {"none": "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
             "conv on 2->3": "|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|",
             "skip on 0->2": "|none~0|+|skip_connect~0|none~1|+|none~0|none~1|none~2|",
             "both": "|none~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"}
    counts = {name: cost(space.parse(cell)) for name, cell in cells.items()}
    assert counts == {"none": 73306, "conv on 2->3": 73306, "skip on 0->2": 73306, "both": 316346}
