"""Review 51 of predictors: the fidelity check's seed table holds out whole ``network`` classes, the encoding cache
is bounded by bytes, and DARTS's ``cell_path`` encoding counts paths per cell and per cell input (BANANAS)."""

from __future__ import annotations

import numpy as np

from nasforge.spaces import NASBench201Space, get_space


def test_seed_table_has_one_row_per_network_class(nb201_table, bench_module):
    """Check (a) splits the seed table by row: a row per ``network`` class keeps every run of one network on one
    side, where the finer ``nb201`` rule put runs of one network in different rows (leaking into training)."""
    table = bench_module("surrogate_fidelity").isomorphism_seed_table(nb201_table)
    network = NASBench201Space(canonical_rule="network")
    keys = [network.canonical_key(arch) for arch in table.archs]
    assert len(keys) == len(set(keys)) == 1188


def test_encoding_cache_is_bounded_by_bytes_and_hands_out_the_same_rows():
    """The encoded-row cache kept up to 131,072 rows (most of a GB of DARTS rows per process); it now keeps at most
    64 MiB of rows, the least recently used going first, and a row is what encoding it afresh gives."""
    from nasforge.predictors import encodings
    from nasforge.predictors.graphs import graph_form, graph_view

    assert isinstance(encodings._encode_one, encodings._RowCache) and encodings._encode_one.max_bytes == 64 << 20
    space = get_space("darts")
    view = graph_view(space)
    archs = [graph_form(space, view, space.sample(np.random.default_rng(i))) for i in range(20)]
    cache = encodings._RowCache(max_bytes=10_000)  # 2 features rows, 4 path rows
    for kind in ("features", "path"):
        for arch in archs + archs[::-1]:
            np.testing.assert_array_equal(cache(kind, view, arch), encodings._encode_row(kind, view, arch))
            assert cache.nbytes == sum(row.nbytes for row in cache._rows.values()) <= cache.max_bytes
        assert len(cache._rows) == {"features": 2, "path": 4}[kind]
    latest = cache("path", view, archs[0])
    assert cache("path", view, archs[0]) is latest  # kept while among the most recent
