"""Known problems of tables fixed on 2026-12-07: a JSON table's decimals read with pandas' imprecise float parser,
and a noisy TableEvaluator on a table without per-seed columns silently noise-free."""

import json
import warnings

import pytest

from nasforge.benchmarks import TabularBenchmark, load_nb201
from nasforge.evaluators import TableEvaluator
from nasforge.spaces import NASBench201Space

ARCHS = ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
         "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"]


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_a_json_table_serves_the_decimals_it_holds(tmp_path, suffix):
    """Would fail: pd.read_json's default parser read 5.73333 as 5.7333300000000005."""
    records = [{"arch": a, "imagenet-test": v} for a, v in zip(ARCHS, (5.73333, 38.6667))]
    path = tmp_path / f"t{suffix}"
    path.write_text(json.dumps(records) if suffix == ".json" else "\n".join(json.dumps(r) for r in records) + "\n")
    bench = load_nb201(path)
    assert bench.value(ARCHS[0], "imagenet-test") == 5.73333
    assert bench.value(ARCHS[1], "imagenet-test") == 38.6667


def _table(seeds: bool) -> TabularBenchmark:
    seed_columns = {f"acc_seed{k}": float(k) for k in range(3)} if seeds else {"acc": 1.0}
    return TabularBenchmark([{"arch": a, **seed_columns} for a in ARCHS], NASBench201Space(), name="mine")


def test_a_noisy_evaluator_on_a_table_without_seed_columns_warns_once_when_made():
    """Would fail: noisy=True on a table of seed means was accepted silently, every query the mean."""
    with pytest.warns(UserWarning, match=r"^TableEvaluator\(noisy=True\): table 'mine' has no per-seed columns "
                                         r"\(<metric>_seed<k>.*returns the seed mean"):
        evaluator = TableEvaluator(_table(seeds=False), noisy=True, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert evaluator.evaluate(evaluator.benchmark.archs[0]).metrics["acc"] == 1.0  # queries do not warn again
        TableEvaluator(_table(seeds=True), noisy=True, seed=0)  # a table with seed columns: no warning
        TableEvaluator(_table(seeds=False))  # not noisy: no warning
    assert repr(evaluator) == "TableEvaluator('mine', noisy=True, seed=0)"  # still made: a stored study resumes


def test_a_json_table_with_a_number_beyond_the_precise_parsers_range_is_still_read(tmp_path):
    """Would fail: the precise parser refused the whole table over one subnormal cell ("Range error")."""
    import json

    from nasforge.benchmarks.tabular import read_table

    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"arch": "a", "acc": 5.73333, "loss": 4e-320}, {"arch": "b", "acc": 1.5, "loss": 1.0}]))
    frame = read_table(path, text_columns=("arch",))
    assert frame["loss"].tolist() == [4e-320, 1.0] and frame["acc"].tolist() == [5.73333, 1.5]
