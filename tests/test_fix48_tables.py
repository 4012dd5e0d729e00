"""Known problems of tables fixed on 2026-12-07: a JSON table's decimals read with pandas' imprecise float parser."""

import json

import pytest

from nasforge.benchmarks import load_nb201

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
