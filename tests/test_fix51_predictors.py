"""Review 51 of predictors: the fidelity check's seed table holds out whole ``network`` classes, the encoding cache
is bounded by bytes, and DARTS's ``cell_path`` encoding counts paths per cell and per cell input (BANANAS)."""

from __future__ import annotations

from nasforge.spaces import NASBench201Space


def test_seed_table_has_one_row_per_network_class(nb201_table, bench_module):
    """Check (a) splits the seed table by row: a row per ``network`` class keeps every run of one network on one
    side, where the finer ``nb201`` rule put runs of one network in different rows (leaking into training)."""
    table = bench_module("surrogate_fidelity").isomorphism_seed_table(nb201_table)
    network = NASBench201Space(canonical_rule="network")
    keys = [network.canonical_key(arch) for arch in table.archs]
    assert len(keys) == len(set(keys)) == 1188
