import numpy as np
import pandas as pd
import pytest

from nasforge.benchmarks import TabularBenchmark, load_nb201, read_table
from nasforge.evaluators import TableEvaluator
from nasforge.exceptions import UsageError
from nasforge.spaces import NASBench201Space

A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
B = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
C = "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"  # the same network as B
D = "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|"


def seeded_records():
    return [
        {"arch": A, "val_seed0": 90.0, "val_seed1": 92.0, "val_seed2": 94.0, "params": 1.2},
        {"arch": B, "val_seed0": 10.0, "val_seed1": 12.0, "val_seed2": np.nan, "params": 0.0},
    ]


def test_records_with_seed_columns_give_mean_std_and_draws():
    bench = TabularBenchmark(seeded_records(), NASBench201Space())
    space = bench.space
    a, b = space.parse(A), space.parse(B)
    assert bench.seed_metrics == ["val"]
    q = bench.query(a)
    assert q["val"] == pytest.approx(92.0) and q["val_std"] == pytest.approx(np.std([90, 92, 94]))
    assert q["params"] == 1.2
    assert bench.query(b)["val"] == pytest.approx(11.0)  # missing seed ignored
    rng = np.random.default_rng(0)
    draws = {bench.query(a, rng=rng)["val"] for _ in range(60)}
    assert draws == {90.0, 92.0, 94.0}
    assert {bench.query(b, rng=rng)["val"] for _ in range(40)} == {10.0, 12.0}
    assert bench.seed_values("val").shape == (2, 3)
    assert bench.optimum("val") == pytest.approx(92.0) and bench.best("val") == a
    assert bench.optimum("params", "minimize") == 0.0


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".json"])
def test_reads_files(tmp_path, suffix):
    path = tmp_path / f"table{suffix}"
    frame = pd.DataFrame(seeded_records())
    if suffix == ".json":
        frame.to_json(path)
    else:
        frame.to_csv(path, index=False)
    bench = TabularBenchmark(path, NASBench201Space())
    assert len(bench) == 2 and NASBench201Space().parse(A) in bench


def test_clear_errors(tmp_path):
    space = NASBench201Space()
    with pytest.raises(FileNotFoundError, match="not found"):
        TabularBenchmark(tmp_path / "missing.csv", space)
    with pytest.raises(ValueError, match="architecture column 'cell'"):
        TabularBenchmark(seeded_records(), space, arch_column="cell")
    with pytest.raises(ValueError, match=r"data row 1 \(1 = the first row after the header\) of table 'table' "
                                         r"\(column 'arch'\): unknown operation"):
        TabularBenchmark([{"arch": A.replace("skip_connect", "skip"), "v": 1}], space)
    with pytest.raises(ValueError, match=r"data row 2 of table 'table' repeats architecture .* \(first at data row 1; "
                                         r"1 = the first row after the header\)"):
        TabularBenchmark([{"arch": A, "v": 1}, {"arch": A, "v": 2}], space)
    with pytest.raises(ValueError, match=r"metric\(s\) \['acc'\] not in table"):
        TabularBenchmark(seeded_records(), space, metrics=["acc"])
    bench = TabularBenchmark(seeded_records(), space)
    with pytest.raises(KeyError, match="is not in benchmark"):
        bench.query(space.parse(D))
    with pytest.raises(KeyError, match="metric 'acc' not in benchmark"):
        bench.values("acc")
    with pytest.raises(UsageError, match="not in benchmark"):  # misuse: a study stops at its first trial
        TableEvaluator(bench).evaluate(space.parse(D))


def test_architectures_may_be_given_as_text():
    bench = TabularBenchmark(seeded_records(), NASBench201Space())
    assert bench.query(A) == bench.query(bench.space.parse(A))
    assert bench.value(B, "params") == 0.0 and bench.row(B) == 1
    assert A in bench and D not in bench and "not an arch" not in bench
    with pytest.raises(KeyError, match="is not in benchmark"):  # a valid architecture the table lacks
        bench.query(D)
    with pytest.raises(UsageError, match="'\\|skip~0\\|' is not an architecture of space 'nb201'"):
        bench.query("|skip~0|")


def test_table_evaluator_mean_and_noisy():
    bench = TabularBenchmark(seeded_records(), NASBench201Space())
    a = bench.space.parse(A)
    assert TableEvaluator(bench).evaluate(a).metrics["val"] == pytest.approx(92.0)
    # one draw per (seed, architecture): other seeds draw the other training runs
    assert {TableEvaluator(bench, noisy=True, seed=s).evaluate(a).metrics["val"] for s in range(50)} == \
        {90.0, 92.0, 94.0}
    with pytest.raises(ValueError, match="cost metric"):
        TableEvaluator(bench, cost_metric="seconds")
    assert TableEvaluator(bench, cost_metric="params").evaluate(a).cost == 1.2



def test_a_noisy_time_drawn_below_zero_costs_nothing_and_the_trial_completes():
    """Would fail: a noisy cost below 0 failed its trial ('cost -0.7 is not ... >= 0'), losing its accuracy."""
    from nasforge import Study

    space = NASBench201Space()
    records = [{"arch": A, "val": 90.0, "secs": -0.7}, {"arch": B, "val": 80.0, "secs": 2.0}]
    evaluator = TableEvaluator(TabularBenchmark(records, space), cost_metric="secs")
    assert evaluator.evaluate(space.parse(A)).cost == 0.0 and evaluator.evaluate(space.parse(B)).cost == 2.0
    study = Study(space, "random", objectives="val", seed=0)
    study.enqueue(space.parse(A))
    study.optimize(evaluator, n_trials=0)
    assert study.trials[0].state.value == "COMPLETE" and study.trials[0].cost == 0.0


def test_table_evaluator_repr_shows_its_table_and_settings():
    bench = TabularBenchmark(seeded_records(), NASBench201Space(), name="mine")
    assert repr(TableEvaluator(bench)) == "TableEvaluator('mine')"
    assert repr(TableEvaluator(bench, noisy=True, seed=0, cost_metric="params")) == \
        "TableEvaluator('mine', noisy=True, seed=0, cost_metric='params')"


def test_nb201_table_facts(nb201_table):
    bench = nb201_table
    assert len(bench) == 15_625
    assert bench.optimum("cifar10-val") == pytest.approx(84.892)
    assert bench.optimum("test_acc") == pytest.approx(89.16)
    assert bench.row(bench.best("val_acc")) == 13714  # the official index; the `index` column is no metric
    assert "index" not in bench.metrics and "index" not in bench.query(A)
    assert bench.space.format(bench.best("val_acc")) == A
    assert set(bench.metrics) >= {"cifar100-val", "imagenet-test", "val_acc", "test_acc"}
    assert load_nb201(dataset="cifar100").optimum("val_acc") == pytest.approx(bench.optimum("cifar100-val"))
    with pytest.raises(ValueError, match="unknown NAS-Bench-201 dataset"):
        load_nb201(dataset="mnist")


def test_reads_parquet(tmp_path):
    pytest.importorskip("pyarrow", reason="Parquet support needs the 'parquet' extra (pyarrow)")
    path = tmp_path / "table.parquet"
    pd.DataFrame(seeded_records()).to_parquet(path)
    bench = TabularBenchmark(path, NASBench201Space())
    assert bench.seed_metrics == ["val"] and len(bench) == 2


# -- bad tables: one clear error naming the file, column or rows ----------------------------------
def write(path, content):
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


@pytest.mark.parametrize("name, content, message", [
    ("garbage.csv.gz", "arch,acc\nx,1\n", "ends in .gz but is not a gzip file"),
    ("empty.csv", "", "is an empty file"),
    ("blank.csv", "\n\n", "has no header and no rows"),
    ("binary.csv", bytes(range(256)) * 4, "is not UTF-8 text"),
    ("table.xlsx", "arch,acc\n", "unsupported table format of .*table.xlsx"),
    ("bad.json", "{not json", "cannot be read"),
])
def test_unreadable_files_are_named(tmp_path, name, content, message):
    from nasforge.exceptions import UsageError

    path = write(tmp_path / name, content)
    with pytest.raises(UsageError, match=message) as info:
        TabularBenchmark(path, NASBench201Space())
    assert str(path) in str(info.value)


def test_truncated_gzip_is_named(tmp_path):
    import gzip

    data = gzip.compress(("arch,acc\n" + f"{A},1\n" * 2000).encode())
    path = write(tmp_path / "cut.csv.gz", data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or damaged gzip"):
        TabularBenchmark(path, NASBench201Space())


@pytest.mark.parametrize("flags", [[True, False, True], [True, None, False]])
def test_a_true_false_column_is_a_flag_not_a_damaged_metric(tmp_path, flags):
    """A flag column (an exported study's told_to_strategy, with gaps or not) is neither a metric nor an error."""
    space = NASBench201Space()
    frame = pd.DataFrame({"arch": [A, B, C], "acc": [1.0, 2.0, 3.0], "trained_fully": flags})
    frame.to_csv(tmp_path / "flags.csv", index=False)
    for data in (frame, tmp_path / "flags.csv"):
        table = TabularBenchmark(data, space)
        assert table.metrics == ["acc"] and "trained_fully" in table.text_columns
    with pytest.raises(ValueError, match=r"\['trained_fully'\] not in table .*are not numeric"):
        TabularBenchmark(frame, space, metrics=["trained_fully"])


def test_header_only_and_non_numeric_tables(tmp_path):
    space = NASBench201Space()
    with pytest.raises(ValueError, match="has a header but no rows"):
        TabularBenchmark(write(tmp_path / "h.csv", "arch,acc\n"), space)
    with pytest.raises(ValueError, match=r"no numeric metric column besides 'arch'; non-numeric columns: acc"):
        TabularBenchmark([{"arch": A, "acc": "high"}, {"arch": B, "acc": "low"}], space)
    with pytest.raises(ValueError, match=r"column 'acc' of table 'table' is numeric except 1 cell\(s\) "
                                         r"\(data row 2: 'n/a'; 1 = the first row after the header\)"):
        TabularBenchmark([{"arch": A, "acc": "90.5"}, {"arch": B, "acc": "n/a"}, {"arch": C, "acc": "3"}], space)
    with pytest.raises(ValueError, match=r"\['note'\] not in table 'table' \(column\(s\) \['note'\] are not numeric\)"):
        TabularBenchmark([{"arch": A, "acc": 1.0, "note": "x"}], space, metrics=["note"])


def test_nan_and_inf_are_found_at_load_time():
    space = NASBench201Space()
    rows = [{"arch": A, "acc": 1.0}, {"arch": B, "acc": float("nan")}, {"arch": C, "acc": float("inf")}]
    with pytest.raises(ValueError, match=r"column\(s\) \['acc'\] hold NaN/inf .* in data rows 2, 3 "
                                         r"\(1 = the first row after the header\)"):
        TabularBenchmark(rows, space)
    seeds = [{"arch": A, "v_seed0": 1.0, "v_seed1": float("-inf")}, {"arch": B, "v_seed0": 2.0, "v_seed1": 3.0}]
    with pytest.raises(ValueError, match=r"\['v_seed1'\] hold inf values in data row 1 "):
        TabularBenchmark(seeds, space)
    empty = [{"arch": A, "v_seed0": 1.0, "v_seed1": 2.0}, {"arch": B, "v_seed0": np.nan, "v_seed1": np.nan}]
    with pytest.raises(ValueError, match=r"data row 2 \(1 = the first row after the header\) has no value in any "
                                         "of the seed columns"):
        TabularBenchmark(empty, space)


def test_user_nb201_table_with_own_metric_names(tmp_path):
    """The README example: a table of one's own over NAS-Bench-201 cells with an 'acc' column."""
    path = write(tmp_path / "my.csv", f"arch,acc\n{A},90\n{B},10\n{C},20\n")
    bench = load_nb201(path)
    assert bench.metrics == ["acc"] and bench.optimum("acc") == 90


def test_direction_is_max_min_maximize_or_minimize():
    """Spelled as nasforge bench takes it (pareto.as_direction); anything else is refused, never a silent minimize."""
    bench = TabularBenchmark(seeded_records(), NASBench201Space())
    for direction in ("up", "", None):
        with pytest.raises(UsageError, match=f"unknown direction {direction!r}; use max, min, maximize or minimize"):
            bench.optimum("val", direction)
        with pytest.raises(UsageError, match="unknown direction"):
            bench.best("val", direction)
    assert bench.optimum("val", "MAX") == bench.optimum("val", "maximize")
    assert bench.optimum("val", "min") == bench.optimum("val", "minimize")
    assert bench.best("params", "minimize") == bench.best("params", "Min") == bench.space.parse(B)


def test_unknown_metric_is_a_usage_error_that_is_still_a_key_error():
    bench = TabularBenchmark(seeded_records(), NASBench201Space(), name="t")
    arch = bench.space.parse(A)
    with pytest.raises(UsageError, match=r"^metric 'val_accc' not in benchmark 't'; available: \['params', "):
        bench.value(arch, "val_accc")
    with pytest.raises(KeyError, match="metric 'v' not in benchmark"):
        bench.optimum("v")
    with pytest.raises(UsageError, match="metric 'params' has no per-seed columns"):
        bench.seed_values("params")


def test_load_nb201_refuses_unknown_keywords():
    with pytest.raises(UsageError, match=r"load_nb201 got unknown keyword argument\(s\) \['datset'\]; it takes path"):
        load_nb201(seeded_records(), datset="cifar100")
    with pytest.raises(UsageError, match="unknown canonical_rule 'func'"):
        load_nb201("no/such/file.csv", canonical_rule="func")  # refused before the table is read
    assert load_nb201(seeded_records(), metrics=["val"]).metrics == ["val", "val_std"]


def test_the_nb201_index_column_is_an_identifier_not_a_metric():
    rows = [{"index": i, "arch": arch, "cifar10-val": 80.0 + i, "cifar10-test": 81.0 + i}
            for i, arch in enumerate((A, B, C))]
    bench = load_nb201(rows)
    assert bench.metrics == ["cifar10-val", "cifar10-test", "val_acc", "test_acc"]
    assert bench.row(C) == 2
    with pytest.raises(UsageError, match=r"metric 'index' not in benchmark 'nb201'"):
        bench.values("index")
    assert load_nb201(rows, metrics=["index"]).metrics == ["index"]  # named explicitly, it is kept
    assert load_nb201(rows, metrics=["cifar10-val"]).metrics == ["cifar10-val", "val_acc"]  # only wanted aliases


def test_parquet_without_pyarrow_names_the_extra(tmp_path, monkeypatch):
    import sys

    pd.DataFrame({"arch": ["a"], "val_acc": [1.0]}).to_csv(tmp_path / "t.parquet", index=False)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(UsageError, match=r"^reading the Parquet table .*t\.parquet needs pyarrow: pip install "
                                         r"'nasforge\[parquet\]'$"):
        read_table(tmp_path / "t.parquet")


def test_data_dirs_name_the_checkout_only_when_running_from_one(tmp_path):
    from nasforge.benchmarks.data_files import source_checkout

    package = tmp_path / "repo" / "src" / "nasforge"
    package.mkdir(parents=True)
    (tmp_path / "repo" / "pyproject.toml").write_text("")
    assert source_checkout(package) == tmp_path / "repo"
    installed = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "nasforge"
    installed.mkdir(parents=True)
    assert source_checkout(installed) is None
