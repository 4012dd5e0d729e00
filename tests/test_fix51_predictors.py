"""Review 51 of predictors: the fidelity check's seed table holds out whole ``network`` classes, the encoding cache
is bounded by bytes, and DARTS's ``cell_path`` encoding counts paths per cell and per cell input (BANANAS)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from nasforge.exceptions import UsageError
from nasforge.predictors import encode, get_predictor
from nasforge.spaces import Architecture, NASBench201Space, get_space


def test_seed_table_has_one_row_per_network_class(nb201_table, bench_module):
    """Check (a) splits the seed table by row: a row per ``network`` class keeps every run of one network on one
    side, where the finer ``nb201`` rule put runs of one network in different rows (leaking into training)."""
    table = bench_module("surrogate_fidelity").isomorphism_seed_table(nb201_table)
    network = NASBench201Space(canonical_rule="network")
    keys = [network.canonical_key(arch) for arch in table.archs]
    assert len(keys) == len(set(keys)) == 1107  # of the 1,188 multi-member classes, 81 hold copies only


# A normal cell that is one chain of sep_conv_3x3 from c_{k-2} (paths of 1 to 4 operations) and a reduction cell whose
# four nodes each max-pool both inputs (4 paths of one max_pool_3x3 from each input).
CHAIN_CELL = ("Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 2), ('max_pool_3x3', 1), "
              "('sep_conv_3x3', 3), ('avg_pool_3x3', 0), ('sep_conv_3x3', 4), ('dil_conv_3x3', 1)], "
              "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
              "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
              "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


def test_darts_cell_path_counts_every_path_per_cell_and_cell_input():
    """Hand-counted: the operations index as DARTS_OPS (max 0, avg 1, skip 2, sep3 3, sep5 4, dil3 5, dil5 6), a
    path of operations o_1..o_n at sum(7^k, k < n) + (o_1 o_2 .. o_n in base 7), in blocks of 2,801 columns for
    normal c_{k-2}, normal c_{k-1}, reduction c_{k-2}, reduction c_{k-1}."""
    space = get_space("darts")
    row = encode(space, [space.parse(CHAIN_CELL)], "cell_path")[0]
    block = 1 + 7 + 49 + 343 + 2401
    expected = np.zeros(4 * block, dtype=np.float32)
    expected[[4, 32, 228, 1600, 2, 18]] = 1  # c_{k-2}: sep3, sep3^2, sep3^3, sep3^4, avg, avg sep3
    expected[block + np.array([3, 25, 179, 1257, 1, 11, 81, 6])] = 1  # skip sep3^0..3, max sep3^0..2, dil3
    expected[[2 * block + 1, 3 * block + 1]] = 4  # each reduction input: 4 paths of one max_pool_3x3
    np.testing.assert_array_equal(row, expected)


def test_darts_cell_path_tells_the_cells_apart_where_path_merges_them():
    """Swapping the normal and reduction cells makes another network: ``cell_path`` differs, ``path`` (kept as it
    was for stored studies and saved predictors: one bag of paths of up to 2 operations) does not."""
    space = get_space("darts")
    arch = space.parse(CHAIN_CELL)
    swapped = Architecture(arch.space, arch.genotype[::-1])
    assert space.canonical_key(arch) != space.canonical_key(swapped)
    merged = encode(space, [arch, swapped], "path")
    assert np.array_equal(merged[0], merged[1]) and merged.shape == (2, 585)
    cells = encode(space, [arch, swapped], "cell_path")
    assert not np.array_equal(cells[0], cells[1]) and cells.shape == (2, 11204)


@pytest.mark.parametrize("name", ["nb201", "nb101", "proxylessnas"])
def test_cell_path_is_refused_off_darts_naming_what_is_available(name):
    space = get_space(name)
    with pytest.raises(UsageError, match=rf"encoding 'cell_path' is not available for space '{name}': its graph has "
                                         r"no cells .*; choose from onehot, adjacency, (path, )?features"):
        encode(space, [space.sample(np.random.default_rng(0))], "cell_path")
    with pytest.raises(UsageError, match="encoding 'cell_path' is not available"):
        get_predictor("lgb", space, encoding="cell_path")


def test_encoding_cache_is_bounded_by_bytes_and_hands_out_the_same_rows(monkeypatch):
    """The encoded-row cache kept up to 131,072 rows (most of a GB of DARTS rows per process); it now keeps at most
    64 MiB of rows per encoding and space, the least recently used going first, and a row is what encoding it
    afresh gives."""
    from nasforge.predictors import encodings
    from nasforge.predictors.graphs import graph_form, graph_view

    assert encodings.CACHE_BYTES == 64 << 20
    monkeypatch.setattr(encodings, "CACHE_BYTES", 10_000)  # 2 features rows, 4 path rows
    monkeypatch.setattr(encodings, "_row_caches", {})
    space = get_space("darts")
    view = graph_view(space)
    archs = [graph_form(space, view, space.sample(np.random.default_rng(i))) for i in range(20)]
    for kind in ("features", "path"):
        for arch in archs + archs[::-1]:
            np.testing.assert_array_equal(encodings._encode_one(kind, view, arch),
                                          encodings._encode_row(kind, view, arch))
        info = encodings._row_caches[kind, view].cache_info()
        assert info.maxsize == {"features": 2, "path": 4}[kind] and info.currsize == info.maxsize
    latest = encodings._encode_one("path", view, archs[0])
    assert encodings._encode_one("path", view, archs[0]) is latest  # kept while among the most recent


def test_onehot_does_not_build_a_graph_view(monkeypatch):
    """Review regression f: check_encoding built the graph view for every encoding, so a custom space whose view
    factory raises lost its onehot predictors (the strategies fall back to onehot on such spaces)."""
    from nasforge.predictors import encodings

    def no_view(space):
        raise TypeError("no view here")

    monkeypatch.setattr(encodings, "graph_view", no_view)
    encodings.check_encoding(get_space("nb201"), "onehot")
    encodings.check_encoding(get_space("nb201"), "features")


@pytest.mark.parametrize(("name", "kind", "digest"), [
    ("nb201", "path", "8e2908bd28934a62"), ("nb101", "path", "6936c78b545a81d9"),
    ("darts", "path", "d9067b4bcab401fb"), ("darts", "features", "bf60c5e14ea964b7")])
def test_path_encodings_stay_as_stored_studies_and_saved_predictors_have_them(name, kind, digest):
    """Bytes of 40 sampled architectures' encodings as nasforge gave them before ``cell_path`` (model-based studies
    replay their proposals from them, saved predictors were fitted on them)."""
    space = get_space(name)
    matrix = encode(space, [space.sample(np.random.default_rng(i)) for i in range(40)], kind)
    assert hashlib.sha256(matrix.tobytes()).hexdigest()[:16] == digest


def test_row_caches_stay_few_when_a_view_factory_builds_a_new_view_per_call(monkeypatch):
    """Review regression i: one cache per (encoding, view) and a view rebuilt per call (a lambda build) added a cache
    per encode call, without bound (871 MiB after 300,000 calls)."""
    from nasforge.predictors import encodings
    from nasforge.predictors.graphs import GraphView, graph_view

    monkeypatch.setattr(encodings, "_row_caches", {})
    space = get_space("nb201")
    view = graph_view(space)
    arch = space.sample(np.random.default_rng(0))
    for _ in range(50):
        fresh = GraphView(**{**vars(view), "build": lambda a, b=view.build: b(a)})
        encodings._encode_one("path", fresh, arch)
    assert len(encodings._row_caches) == encodings.CACHES
