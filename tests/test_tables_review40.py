"""Review tables40: canonical lookups, failed trials, seed columns, surrogate eval direction/coverage, gap rule."""

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from nasforge import Study
from nasforge.analysis.harness import run_trace
from nasforge.analysis.surrogate_fidelity import fidelity_report, regret_fidelity
from nasforge.benchmarks import SurrogateBenchmark, TabularBenchmark, load_nb201
from nasforge.benchmarks.data_files import data_dirs
from nasforge.cli import main
from nasforge.evaluators import TableEvaluator
from nasforge.exceptions import UsageError
from nasforge.spaces import ChainSpace, NASBench201Space

OPS = ["skip", "conv3", "conv5"]
LAYERS = [OPS] * 4
B = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
C = "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"  # the same network as B


def chain_frame(space: ChainSpace, canonical_only: bool = False, seed: int = 0) -> pd.DataFrame:
    """One row per architecture of ``space`` (or per distinct network), random ``acc`` and ``time``."""
    rng = np.random.default_rng(seed)
    archs = list(space.enumerate())
    if canonical_only:
        archs = list({space.canonical_key(a): space.canonical(a) for a in archs}.values())
    return pd.DataFrame({"arch": [space.format(a) for a in archs], "acc": rng.uniform(50, 90, len(archs)),
                         "time": rng.uniform(10, 20, len(archs))})


def write_config(path, stages=None) -> str:
    path.write_text(json.dumps({"layers": LAYERS, **({"stages": stages} if stages else {})}))
    return str(path)


# -- item 1: a table of one row per distinct network ------------------------------------------------------------
def test_a_duplicate_is_found_through_its_canonical_form():
    """Would fail: an architecture without its own row was 'not in benchmark' though its network is held."""
    space = NASBench201Space()
    table = TabularBenchmark([{"arch": B, "acc": 1.0}], space)
    assert C in table and table.query(C) == table.query(B) and table.row(C) == 0


def test_a_study_on_a_table_of_distinct_networks_completes_every_trial():
    """Would fail: most trials FAILED ("not in benchmark") on a staged chain tabulated once per network."""
    space = ChainSpace(LAYERS, stages=[4])
    table = TabularBenchmark(chain_frame(space, canonical_only=True), space)
    assert len(table) < space.size
    study = Study(space, "random", objectives="acc", seed=0)
    study.optimize(TableEvaluator(table), n_trials=30)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 30


def test_bench_runs_on_a_table_of_distinct_networks(tmp_path, capsys):
    space = ChainSpace(LAYERS, stages=[4])
    chain_frame(space, canonical_only=True).to_csv(tmp_path / "t.csv", index=False)
    assert main(["bench", "--table", str(tmp_path / "t.csv"), "--space", "chain", "--space-config",
                 write_config(tmp_path / "s.json", [4]), "--objective", "acc", "--strategies", "random,evolution",
                 "--seeds", "3", "--trials", "20", "--workers", "1", "--out", str(tmp_path / "b")]) == 0
    assert "uniq mean -" not in capsys.readouterr().out


def test_failed_trials_are_refused_not_dropped():
    """Would fail: FAILED trials were dropped silently and the regret rested on fewer evaluations."""
    space = ChainSpace(LAYERS)
    frame = chain_frame(space)
    study = Study(space, "random", objectives="acc", seed=0)  # the run's first proposal, which the table keeps
    study.optimize(TableEvaluator(TabularBenchmark(frame, space)), n_trials=1)
    first = space.format(study.trials[0].arch)
    table = TabularBenchmark(frame[(frame.arch == first) | (frame.index >= 40)], space, name="partial")
    with pytest.raises(UsageError, match=r"strategy 'random', seed 0: \d+ of 30 trials FAILED on partial"):
        run_trace(table, "random", 0, 30, "acc")


# -- item 2: seed columns never overwrite a user's column ------------------------------------------------------
@pytest.mark.parametrize("column", ["acc", "acc_std"])
def test_a_plain_column_beside_seed_columns_of_its_metric_is_kept(column):
    """Would fail: the user's acc / acc_std were replaced by the seed mean / spread without a word."""
    frame = pd.DataFrame({"arch": ["conv3|conv3", "conv3|conv5"], "acc_seed0": [1.0, 2.0], "acc_seed1": [3.0, 4.0],
                          column: [9.0, 9.0]})
    table = TabularBenchmark(frame, ChainSpace([["conv3", "conv5"]] * 2))
    assert table.values(column).tolist() == [9.0, 9.0] and table.seed_metrics == ["acc"]


# -- item 3: one seed per noisy query ---------------------------------------------------------------------------
def test_a_noisy_query_draws_one_seed_for_every_metric_and_alias():
    """Would fail: each metric (aliases too) drew its own seed, so val and test came from different runs."""
    space = NASBench201Space()
    archs = [space.format(a) for a in list(space.enumerate())[:3]]
    frame = pd.DataFrame({"arch": archs, **{f"cifar10-val_seed{k}": [10.0 * k + i for i in range(3)]
                                            for k in range(4)},
                          **{f"cifar10-test_seed{k}": [100.0 * k + i for i in range(3)] for k in range(4)}})
    table = load_nb201(frame)
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = table.query(archs[1], rng=rng)
        assert q["val_acc"] == q["cifar10-val"] and q["test_acc"] == q["cifar10-test"]
        assert (q["cifar10-val"] - 1) * 10 == q["cifar10-test"] - 1  # the same seed k
    assert q["val_acc_std"] == q["cifar10-val_std"]


# -- items 4, 8, 10: surrogate eval ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chain_sur(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chain")
    space = ChainSpace(LAYERS)
    chain_frame(space).to_csv(folder / "t.csv", index=False)
    config = write_config(folder / "s.json")
    assert main(["surrogate", "fit", "--table", str(folder / "t.csv"), "--space", "chain", "--space-config", config,
                 "--metrics", "time", "--model", "knn", "--holdout", "0.3", "--out", str(folder / "s")]) == 0
    return folder


def test_surrogate_eval_minimizes_with_direction(chain_sur, tmp_path):
    """Would fail: --direction was an unknown argument and the optimum of a time was its largest value."""
    out = tmp_path / "e"
    assert main(["surrogate", "eval", str(chain_sur / "s"), "--table", str(chain_sur / "t.csv"), "--space",
                 "chain", "--space-config", str(chain_sur / "s.json"), "--direction", "minimize", "--seeds", "2",
                 "--trials", "10", "--out", str(out)]) == 0
    regret = json.loads((out / "fidelity.json").read_text())["regret"]
    times = pd.read_csv(chain_sur / "t.csv")["time"]
    assert regret["direction"] == "minimize" and regret["optimum"] == pytest.approx(times.min())
    assert all(v >= 0 for s in regret["strategies"].values() for v in s["final_regret"].values())


def test_surrogate_eval_refuses_more_trials_than_distinct_architectures(chain_sur, tmp_path, capsys):
    """Would fail: "(b) final regret after 100 evaluations" on an 81-architecture space."""
    assert main(["surrogate", "eval", str(chain_sur / "s"), "--table", str(chain_sur / "t.csv"), "--space",
                 "chain", "--space-config", str(chain_sur / "s.json"), "--trials", "100",
                 "--out", str(tmp_path / "e")]) == 2
    assert "--trials 100 exceeds the 81 distinct architectures of t.csv" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_fidelity_counts_distinct_architectures_with_separators():
    """Would fail: "holds 50 of the space's 10000 architectures" (raw size, no separators, unlike bench)."""
    space = ChainSpace([[f"op{i}" for i in range(10)]] * 4)
    archs = list(itertools.islice(space.enumerate(), 50))
    table = TabularBenchmark(pd.DataFrame({"arch": [space.format(a) for a in archs], "acc": np.arange(50.0)}), space,
                             name="part")
    sur = SurrogateBenchmark.fit(space, table, metrics="acc", model="knn", holdout=0.2)
    with pytest.raises(UsageError, match="part holds 50 of the 10,000 distinct architectures of space 'chain'"):
        fidelity_report(sur, table)
    with pytest.raises(UsageError, match="10,000 distinct"):
        regret_fidelity(sur, table, "acc")


# -- items 5, 6, 7, 9: bench / surrogate fit / predictors eval on tables with gaps ----------------------------
@pytest.fixture
def gap_table(tmp_path):
    frame = chain_frame(ChainSpace(LAYERS)).rename(columns={"time": "flops"})
    frame["acc_top5"] = frame["acc"] + 5
    frame.loc[3, "acc_top5"] = np.nan
    frame.loc[4, "flops"] = np.nan
    frame.to_csv(tmp_path / "gap.csv", index=False)
    return str(tmp_path / "gap.csv"), write_config(tmp_path / "s.json")


def test_bench_ignores_a_gap_in_an_unread_column_sharing_the_objective_prefix(gap_table, tmp_path):
    """Would fail: acc_top5 counted as read by --objective acc (a prefix match), so the run was refused."""
    table, config = gap_table
    assert main(["bench", "--table", table, "--space", "chain", "--space-config", config, "--objective", "acc",
                 "--strategies", "random", "--seeds", "2", "--trials", "10", "--workers", "1",
                 "--out", str(tmp_path / "b")]) == 0


def test_surrogate_fit_and_predictors_eval_ignore_a_gap_in_an_unread_column(gap_table, tmp_path):
    """Would fail: both refused the table for the gap in acc_top5, a column neither reads."""
    table, config = gap_table
    space = ["--space", "chain", "--space-config", config]
    assert main(["surrogate", "fit", "--table", table, *space, "--metrics", "acc", "--model", "knn",
                 "--out", str(tmp_path / "s")]) == 0
    assert main(["predictors", "eval", "--table", table, *space, "--metric", "acc", "--predictors", "knn",
                 "--train-sizes", "10", "--test-size", "10", "--seeds", "1", "--out", str(tmp_path / "p")]) == 0


def test_bench_secondary_follows_the_objectives_data_set(tmp_path):
    """Would fail: --objective <set>-val reported test_acc (another data set's test accuracy)."""
    frame = chain_frame(ChainSpace(LAYERS))
    frame = frame.assign(**{"c100-val": frame.acc, "c100-test": frame.acc - 1, "test_acc": frame.acc + 50})
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert main(["bench", "--table", str(tmp_path / "t.csv"), "--space", "chain", "--space-config",
                 write_config(tmp_path / "s.json"), "--objective", "c100-val", "--strategies", "random", "--seeds",
                 "1", "--trials", "5", "--workers", "1", "--out", str(tmp_path / "b")]) == 0
    report = json.loads((tmp_path / "b" / "bench.json").read_text())
    assert report["secondary"] == "c100-test"
    assert report["table_path"] == str((tmp_path / "t.csv").resolve())


def test_the_narrower_space_hint_only_for_chain_spaces(tmp_path, capsys):
    """Would fail: an NB201 (or NB101, DARTS) partial table was told to use a --space-config it cannot take."""
    space = NASBench201Space()
    archs = [space.format(a) for a in list(space.enumerate())[:30]]
    pd.DataFrame({"arch": archs, "val_acc": np.arange(30.0)}).to_csv(tmp_path / "p.csv", index=False)
    assert main(["bench", "--table", str(tmp_path / "p.csv"), "--objective", "val_acc", "--strategies", "random",
                 "--seeds", "1", "--trials", "5", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "--space-config" not in err and "bench cannot run on a partial table of this space" in err
    chain = chain_frame(ChainSpace(LAYERS)).iloc[:20]
    chain.to_csv(tmp_path / "c.csv", index=False)
    assert main(["bench", "--table", str(tmp_path / "c.csv"), "--space", "chain", "--space-config",
                 write_config(tmp_path / "s.json"), "--objective", "acc", "--out", str(tmp_path / "b")]) == 2
    assert "a --space-config with only the choices it covers" in capsys.readouterr().err


# -- items 12, 13 -----------------------------------------------------------------------------------------------
def test_surrogate_query_takes_the_text_form():
    """Would fail: UsageError 'expected an Architecture, got str'."""
    space = ChainSpace(LAYERS)
    table = TabularBenchmark(chain_frame(space), space)
    sur = SurrogateBenchmark.fit(space, table, metrics="acc", model="knn", holdout=0.0)
    assert sur.query("conv3|conv5|skip|conv3") == sur.query(space.parse("conv3|conv5|skip|conv3"))
    with pytest.raises(UsageError, match="is not an architecture of space 'chain'"):
        sur.query("conv7|conv3")


def test_a_nasforge_data_that_is_no_folder_is_an_error(monkeypatch, tmp_path):
    """Would fail: the variable was ignored and another folder's files were read without a word."""
    monkeypatch.setenv("NASFORGE_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(UsageError, match="NASFORGE_DATA=.*nowhere is not a folder"):
        data_dirs()
