import json

import numpy as np
import pytest

from nasforge.analysis.harness import compare
from nasforge.analysis.regret import RunTrace, incumbent_curves, regret_matrix
from nasforge.cli import main


def test_incumbent_curves_track_best_and_its_secondary():
    best, second = incumbent_curves(np.array([1.0, 3.0, 2.0, 5.0]), np.array([10.0, 30.0, 20.0, 50.0]))
    assert list(best) == [1, 3, 3, 5] and list(second) == [10, 30, 30, 50]
    best, second = incumbent_curves(np.array([4.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]), maximize=False)
    assert list(best) == [4, 2, 2] and list(second) == [1, 2, 2]


def test_failed_evaluations_never_stop_the_incumbent():
    best, second = incumbent_curves(np.array([50.0, np.nan, 60.0, 70.0]), np.array([1.0, 2.0, 3.0, 4.0]))
    assert list(best) == [50, 50, 60, 70] and list(second) == [1, 1, 3, 4]
    best, second = incumbent_curves(np.array([np.nan, 4.0, np.nan, 2.0]), np.arange(4.0), maximize=False)
    assert np.isnan(best[0]) and np.isnan(second[0]) and list(best[1:]) == [4, 4, 2] and list(second[1:]) == [1, 1, 3]
    trace = RunTrace(np.array([np.nan, 1.0, np.nan, 4.0]), np.zeros(4), ["a", "b", "c", "d"])
    regret, _ = regret_matrix([trace], optimum=5.0, budget=4)
    assert np.isnan(regret[0, 0]) and list(regret[0, 1:]) == [4, 4, 1]


def test_regret_per_unique_evaluation_skips_repeats():
    trace = RunTrace(np.array([1.0, 1.0, 2.0, 4.0]), np.zeros(4), ["a", "a", "b", "c"])
    assert trace.n_duplicates == 1
    per_eval, _ = regret_matrix([trace], optimum=5.0, budget=4)
    per_unique, _ = regret_matrix([trace], optimum=5.0, budget=4, unique_only=True)
    assert list(per_eval[0]) == [4, 4, 3, 1]
    assert list(per_unique[0][:3]) == [4, 3, 1] and np.isnan(per_unique[0][3])


def test_a_value_better_than_the_optimum_is_refused():
    """Would fail: an optimum below the best value found gave a negative regret (-1), silently."""
    from nasforge.exceptions import UsageError

    trace = RunTrace(np.array([4.0, 9.0, 7.0]), np.zeros(3), ["a", "b", "c"])
    with pytest.raises(UsageError, match=r"run 0 evaluation 2: regret -1 is negative, so the optimum 8 is wrong "
                                         r"\(maximize: a value of 9 was found\); regret is never negative"):
        regret_matrix([trace], optimum=8.0, budget=3)
    with pytest.raises(UsageError, match=r"run 0 evaluation 1: regret -1 is negative, so the optimum 5 is wrong "
                                         r"\(minimize: a value of 4 was found\)"):
        regret_matrix([trace], optimum=5.0, budget=3, maximize=False)
    assert regret_matrix([trace], optimum=8.0, budget=3, allow_negative=True)[0].tolist() == [[4, -1, -1]]
    assert regret_matrix([trace], optimum=9.0 - 1e-12, budget=3)[0][0, -1] < 0  # rounding is no error
    assert regret_matrix([trace], optimum=4.0, budget=3, maximize=False)[0].tolist() == [[0, 0, 0]]


def test_compare_on_nb201(nb201_table, tmp_path):
    report = compare(nb201_table, ["random", "local_search", "optuna_random"], seeds=4, budget=40, workers=1)
    for name, rep in report.strategies.items():
        curve = rep.per_eval["mean"]
        assert np.all(np.diff(curve) <= 1e-12) and np.all(curve >= 0), name
        assert rep.n_runs == 4
    assert report.strategies["random"].mean_duplicates == 0
    paths = report.save(tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["optimum"] == pytest.approx(84.892) and len(data["summary"]) == 3
    assert paths["png"].stat().st_size > 10_000
    assert "regret_unique_mean" in paths["csv"].read_text().splitlines()[0]


def test_bench_cli(nb201_table, tmp_path, capsys):
    code = main(["bench", "--strategies", "random,evolution", "--seeds", "3", "--trials", "20",
                 "--workers", "1", "--out", str(tmp_path)])
    assert code == 0 and (tmp_path / "bench.json").exists()
    assert "evolution" in capsys.readouterr().out


def test_default_strategies_skipped_are_recorded_and_reported(nb201_table, tmp_path, capsys, monkeypatch):
    """Would fail: a default bench without optuna ran 3 strategies and its outputs did not say that 2 were left
    out, so the results of two installs could not be told apart."""
    import sys

    from nasforge.analysis.studyreport import bench_report

    monkeypatch.setitem(sys.modules, "optuna", None)  # not installed
    why = "the Optuna sampler needs optuna: pip install 'nasforge[peers]'"
    for name, extra in (("bench.json", ["--workers", "1"]), ("simulated.json", ["--workers-simulated", "2"])):
        out = tmp_path / name
        assert main(["bench", "--seeds", "1", "--trials", "5", "--out", str(out), *extra]) == 0
        data = json.loads((out / name).read_text())
        assert data["skipped_defaults"] == {"optuna_random": why, "optuna_tpe": why}
    html = bench_report(tmp_path / "bench.json").read_text()
    assert "Default strategies not run: optuna_random (the Optuna sampler needs optuna" in html
    capsys.readouterr()
    assert main(["bench", "--strategies", "random", "--seeds", "1", "--trials", "5", "--workers", "1",
                 "--out", str(tmp_path / "given")]) == 0
    assert json.loads((tmp_path / "given" / "bench.json").read_text())["skipped_defaults"] == {}


def test_bench_cli_bad_input_exits_2(tmp_path, capsys):
    assert main(["bench", "--strategies", "annealing", "--out", str(tmp_path)]) == 2
    assert "unknown strategies" in capsys.readouterr().err
    assert main(["bench", "--table", str(tmp_path / "nope.csv"), "--out", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["bench", "--trials", "0", "--strategies", "random", "--out", str(tmp_path)]) == 2


def _chain_table():
    """A 9-architecture chain table: acc = the sum of the choices' positions (a=0, b=1, c=2)."""
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"]] * 2)
    records = [{"arch": space.format(a), "acc": float(sum("abc".index(c) for c in a.genotype))}
               for a in space.enumerate()]
    return TabularBenchmark(records, space)


class _ChainSim:
    """The chain table in simulated time: every evaluation takes its budget in seconds."""

    max_budget, fidelity = 12.0, "epochs"

    def __init__(self, table):
        self.table, self.space = table, table.space

    def evaluate(self, arch, budget):
        return self.table.value(arch, "acc"), budget

    def optimum(self):
        return 4.0

    def worst(self):
        return 0.0


def _chain_bench(seeds: int = 2, budget: int = 4):
    return compare(_chain_table(), ["random"], seeds=seeds, budget=budget, objective="acc", secondary=None, workers=1)


def test_save_never_replaces_an_earlier_run_unless_told(tmp_path):
    from nasforge.analysis.studyreport import bench_report
    from nasforge.exceptions import UsageError

    first, second = _chain_bench(budget=4), _chain_bench(budget=6)
    first.save(tmp_path)
    report = bench_report(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(UsageError, match=r"already holds an earlier bench run \(bench.json, bench_curves.csv, "
                                         r"bench_regret.png, report.html\); .* overwrite=True"):
        second.save(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    second.save(tmp_path, overwrite=True)
    assert json.loads((tmp_path / "bench.json").read_text())["budget"] == 6
    assert not report.exists()  # the report of the first run is gone, not left describing it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json", "bench_curves.csv", "bench_regret.png"]
    (tmp_path / "report.html").write_text("<html>my own notes</html>")  # not nasforge's: neither blocks nor goes
    second.save(tmp_path, overwrite=True)
    assert (tmp_path / "report.html").read_text() == "<html>my own notes</html>"


def test_bench_cli_refuses_an_earlier_run_before_any_work(nb201_table, tmp_path, capsys, monkeypatch):
    import nasforge.analysis.harness as harness

    argv = ["bench", "--strategies", "random", "--seeds", "2", "--workers", "1", "--out", str(tmp_path), "--trials"]
    assert main([*argv, "5"]) == 0
    assert main(["report", str(tmp_path)]) == 0
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def no_work(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(harness, "compare", no_work)
    assert main([*argv, "5"]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "--out" in err and "already holds an earlier bench run" in err, err
    assert "--overwrite" in err and out == ""
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    monkeypatch.undo()
    assert main([*argv, "7", "--overwrite"]) == 0
    assert json.loads((tmp_path / "bench.json").read_text())["budget"] == 7
    assert not (tmp_path / "report.html").exists()


def test_bench_table_explains_a_cut_per_unique_curve(nb201_table, tmp_path, capsys, monkeypatch):
    # plain optuna_tpe repeats architectures: after 30 evaluations fewer than half its runs made 30 unique ones
    import nasforge.analysis.harness as harness

    monkeypatch.setattr(harness, "peer_settings", lambda strategies: {})  # bench charges the peers as ours otherwise
    assert main(["bench", "--strategies", "random,optuna_tpe", "--seeds", "3", "--trials", "30", "--workers", "1",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out
    row = next(line for line in out.splitlines() if line.startswith("optuna_tpe"))
    assert " - " in row and "uniq mean -: under half the runs reached n unique evaluations" in out
    assert main(["bench", "--strategies", "optuna_tpe", "--seeds", "3", "--trials", "30", "--workers", "1",
                 "--format", "json", "--out", str(tmp_path / "j")]) == 0
    assert json.loads(capsys.readouterr().out)[0]["mean_unique"] is None
    strict = json.loads((tmp_path / "j" / "bench.json").read_text(), parse_constant=pytest.fail)  # no bare NaN
    assert strict["summary"][0]["mean_unique@30"] is None


@pytest.mark.parametrize("kwargs, message", [({"tpee": {"gamma": 0.1}}, r"'tpee' is not one of the strategies run"),
                                             ({"random": 0.1}, r"strategy_kwargs\['random'\] must be a dict"),
                                             ([("random", {})], "must be a dict of strategy name")])
def test_compare_refuses_settings_it_would_ignore(kwargs, message, monkeypatch):
    import nasforge.analysis.harness as harness
    from nasforge.analysis.simulate import compare_simulated
    from nasforge.exceptions import UsageError

    monkeypatch.setattr(harness, "_map", lambda *args: pytest.fail("the runs started"))
    table = _chain_table()
    with pytest.raises(UsageError, match=message):
        compare(table, ["random"], seeds=1, budget=3, objective="acc", secondary=None, strategy_kwargs=kwargs)
    with pytest.raises(UsageError, match=message):
        compare_simulated(_ChainSim(table), ["random"], seeds=1, hours=0.1, strategy_kwargs=kwargs)


def test_a_multi_objective_strategy_is_refused_before_any_run(nb201_table, tmp_path, capsys, monkeypatch):
    import nasforge.analysis.harness as harness
    import nasforge.analysis.simulate as simulate
    from nasforge.exceptions import UsageError

    monkeypatch.setattr(harness, "_map", lambda *args: pytest.fail("the runs started"))
    monkeypatch.setattr(simulate, "simulate", lambda *args, **kwargs: pytest.fail("the runs started"))
    for extra in ([], ["--workers-simulated", "2"]):
        out = tmp_path / "out"
        assert main(["bench", "--strategies", "random,ts_hvi", "--seeds", "1", "--trials", "5", "--out", str(out),
                     *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--strategies: strategy 'ts_hvi' handles 2 objectives" in err, err
        assert not out.exists()
    with pytest.raises(UsageError, match="strategy 'ts_hvi' handles 2 objectives"):
        compare(_chain_table(), ["random", "ts_hvi"], seeds=1, budget=3, objective="acc", secondary=None)
    with pytest.raises(UsageError, match="strategy 'qnehvi' handles 2 or more objectives"):
        simulate.compare_simulated(_ChainSim(_chain_table()), ["random", "qnehvi"], seeds=1, hours=0.1)


def test_a_strategy_refused_anyway_is_not_sent_to_install_a_package(tmp_path, capsys, monkeypatch):
    """Would fail: without lightgbm/xgboost, ts_hvi was refused naming nasforge[boost], and after installing it
    as multi-objective; a strategy whose message names it was named twice ("strategy 'qnehvi': strategy ...")."""
    import sys

    from nasforge.exceptions import MissingDependencyError, UsageError

    for module in ("lightgbm", "xgboost", "botorch"):
        monkeypatch.setitem(sys.modules, module, None)  # not installed
    assert main(["bench", "--strategies", "random,ts_hvi", "--seeds", "1", "--trials", "5",
                 "--out", str(tmp_path / "out")]) == 2
    assert "--strategies: strategy 'ts_hvi' handles 2 objectives" in capsys.readouterr().err
    with pytest.raises(UsageError, match="strategy 'qnehvi' handles 2 or more objectives"):
        compare(_chain_table(), ["random", "qnehvi"], seeds=1, budget=3, objective="acc", secondary=None)
    with pytest.raises(MissingDependencyError, match=r"^strategies: strategy 'saasbo': the saas surrogate needs "
                                                     r"botorch: pip install 'nasforge\[bo]'$"):
        compare(_chain_table(), ["random", "saasbo"], seeds=1, budget=3, objective="acc", secondary=None)


def test_bench_refuses_a_strategy_named_twice(tmp_path, capsys):
    """Would fail: "random,random" printed "2 strategies" and ran one row."""
    out = tmp_path / "out"
    assert main(["bench", "--strategies", "random,evolution,random", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--strategies: random given more than once" in err, err
    assert not out.exists()


def test_plain_bench_refuses_multi_fidelity_strategies(nb201_table, tmp_path, capsys, monkeypatch):
    """A table holds final values only: hyperband's low rungs would get them for free (its curve was random
    search's, its promotions counted as duplicates), so plain bench points to --workers-simulated instead."""
    import nasforge.analysis.harness as harness
    from nasforge.exceptions import UsageError

    monkeypatch.setattr(harness, "_map", lambda *args: pytest.fail("the runs started"))
    out = tmp_path / "out"
    assert main(["bench", "--strategies", "optuna_tpe,hyperband,asha", "--seeds", "2", "--trials", "10",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--strategies: hyperband, asha choose a budget per evaluation" in err, err
    assert "--workers-simulated" in err and not out.exists()
    with pytest.raises(UsageError, match="bohb chooses a budget per evaluation.*compare_simulated"):
        compare(_chain_table(), ["random", "bohb"], seeds=1, budget=3, objective="acc", secondary=None)


def test_table_evaluator_refuses_a_fidelity_it_cannot_honour():
    """hyperband in a Study on a table: the run stops at its first trial saying why, instead of every rung getting
    the final value; a stand-in that may ignore the fidelity says so."""
    from nasforge import Study, TableEvaluator
    from nasforge.exceptions import UsageError

    table = _chain_table()
    study = Study(table.space, "hyperband", objectives="acc", seed=0)
    with pytest.raises(UsageError, match="cannot answer at fidelity"):
        study.optimize(TableEvaluator(table), n_trials=3)
    assert [t.state.value for t in study.trials] == ["FAILED"]
    assert "cannot answer at fidelity {'epochs': 1}" in study.trials[0].error
    assert "ignore_fidelity=True" in study.trials[0].error
    stand_in = TableEvaluator(table, ignore_fidelity=True)
    assert stand_in.evaluate(table.archs[0], {"epochs": 200}).metrics == table.query(table.archs[0])


def test_bench_json_summary_has_the_checkpoints_the_cli_prints(nb201_table, tmp_path, capsys):
    """bench.json's summary (and the report's table drawn from it) held 100 and 300 only: --trials 150 lacked
    @150, and --trials 20 had no regret at all."""
    from nasforge.analysis.studyreport import bench_report

    for trials, expected in ((150, [100, 150]), (20, [20])):
        out = tmp_path / str(trials)
        assert main(["bench", "--strategies", "random", "--seeds", "2", "--trials", str(trials), "--workers", "1",
                     "--format", "json", "--out", str(out)]) == 0
        printed = json.loads(capsys.readouterr().out)
        summary = json.loads((out / "bench.json").read_text())["summary"][0]
        assert [row["evaluations"] for row in printed] == expected
        for row in printed:
            n = row["evaluations"]
            assert summary[f"mean@{n}"] == row["mean"] and summary[f"median@{n}"] == row["median"]
            assert summary[f"test_acc@{n}"] == row["test_acc"]
        assert f"<th>mean@{trials}</th>" in bench_report(out).read_text()


def test_no_incumbent_columns_without_a_secondary_metric(tmp_path):
    paths = _chain_bench().save(tmp_path)  # secondary=None, as `nasforge bench --secondary ''`
    header = paths["csv"].read_text().splitlines()[0]
    assert "incumbent" not in header and "None" not in header
    assert "incumbent_secondary" not in json.loads(paths["json"].read_text())["curves"]["random"]


def test_bench_json_records_the_space_and_strategy_settings(tmp_path):
    """What counts as a duplicate depends on the space's canonical rule, and results on each strategy's
    settings: both are recorded (plain and simulated)."""
    from nasforge.analysis.simulate import compare_simulated

    table = _chain_table()
    report = compare(table, ["random", "evolution"], seeds=1, budget=4, objective="acc", secondary=None, workers=1,
                     strategy_kwargs={"evolution": {"population_size": 3, "sample_size": 2}})
    data = json.loads(report.save(tmp_path)["json"].read_text())
    assert data["space"] == {"name": "chain", "config": {"layers": [["a", "b", "c"]] * 2, "name": "chain",
                                                         "stages": [1, 1]}}
    assert data["strategy_settings"]["random"] == {"dedup": True}
    assert data["strategy_settings"]["evolution"]["population_size"] == 3
    simulated = compare_simulated(_ChainSim(table), ["evolution"], seeds=1, hours=0.01,
                                  strategy_kwargs={"evolution": {"sample_size": 3}}).to_json()
    assert simulated["space"] == data["space"] and simulated["strategy_settings"]["evolution"]["sample_size"] == 3


def test_a_run_that_stops_keeps_its_last_regret_in_the_statistics():
    """Would fail: run b (regret 0 after one unique evaluation) left the mean at n=2, which rose from 2 to 3
    (survivor bias). A stopped run keeps its last regret; n_runs counts the runs that reached n."""
    from nasforge.analysis.regret import summarize

    a = RunTrace(np.array([0.0, 1.0, 2.0]), np.zeros(3), ["x", "y", "z"])
    b = RunTrace(np.array([4.0, 4.0, 4.0]), np.zeros(3), ["w", "w", "w"])
    stats = summarize(regret_matrix([a, b], optimum=4.0, budget=3, unique_only=True)[0])
    assert list(stats["mean"]) == [2.0, 1.5, 1.0] and list(stats["n_runs"]) == [2, 1, 1]
    assert list(stats["median"]) == [2.0, 1.5, 1.0]


def test_per_unique_mean_curve_never_rises(nb201_table):
    """optuna_random repeats architectures: its per-unique mean rose where a run ran out of unique evaluations."""
    report = compare(nb201_table, ["optuna_random"], seeds=3, budget=120, secondary=None, workers=1,
                     strategy_kwargs={"optuna_random": {"dedup": False}})  # plain Optuna: it repeats
    per_unique = report.strategies["optuna_random"].per_unique
    shown = per_unique["mean"][~np.isnan(per_unique["mean"])]
    assert np.all(np.diff(shown) <= 1e-12) and per_unique["n_runs"].min() < 3


@pytest.mark.parametrize("names, message", [("evolution,re", "evolution and re (the same strategy)"),
                                            ("ls,random,local_search", "ls and local_search (the same strategy)")])
def test_bench_refuses_a_strategy_under_two_names(tmp_path, capsys, names, message):
    out = tmp_path / "out"
    assert main(["bench", "--strategies", names, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--strategies: {message} given more than once" in err, err
    assert not out.exists()


def _write_chain_csv(tmp_path, gap_column: bool = False):
    """The chain table as a CSV, with an unused 'secs' column holding a blank cell when ``gap_column``."""
    table = _chain_table()
    lines = ["arch,acc" + (",secs" if gap_column else "")]
    for i, arch in enumerate(table.archs):
        secs = ("," if i == 2 else f",{100 + i}") if gap_column else ""
        lines.append(f"{table.space.format(arch)},{table.value(arch, 'acc')}{secs}")
    (tmp_path / "chain.csv").write_text("\n".join(lines) + "\n")
    return ["bench", "--table", str(tmp_path / "chain.csv"), "--space", "chain", "--objective", "acc",
            "--strategies", "random", "--seeds", "1", "--trials", "3", "--workers", "1", "--format", "json"]


def test_bench_refuses_a_dataset_the_table_does_not_hold(tmp_path, capsys):
    """Would fail: --dataset imagenet beside a table of its own was silently ignored."""
    argv = _write_chain_csv(tmp_path)
    assert main([*argv, "--dataset", "imagenet", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--dataset imagenet: --table" in err and "leave --dataset out" in err
    assert not (tmp_path / "d").exists()
    assert main([*argv, "--out", str(tmp_path / "ok")]) == 0


def test_bench_ignores_a_gap_in_a_column_it_does_not_use(tmp_path, capsys):
    """Would fail: a blank cell in 'secs' refused the table although the run reads only 'acc'."""
    argv = _write_chain_csv(tmp_path, gap_column=True)
    assert main([*argv, "--secondary", "", "--out", str(tmp_path / "ok")]) == 0
    capsys.readouterr()
    assert main([*argv, "--secondary", "secs", "--out", str(tmp_path / "used")]) == 2
    assert "secs" in capsys.readouterr().err and not (tmp_path / "used").exists()


def test_a_failed_bench_run_leaves_no_empty_folder(tmp_path, monkeypatch):
    import nasforge.analysis.harness as harness

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(harness, "compare", broken)
    with pytest.raises(RuntimeError, match="boom"):
        main([*_write_chain_csv(tmp_path), "--out", str(tmp_path / "new" / "run")])
    assert not (tmp_path / "new").exists()  # nor the parent folder it created


def test_a_study_report_in_a_bench_folder_is_no_part_of_the_run(tmp_path):
    """Would fail: a study's report.html there was called an earlier bench run and deleted on overwrite."""
    from nasforge.analysis.harness import earlier_outputs
    from nasforge.analysis.studyreport import bench_report, report
    from nasforge.experiment.study import Study

    study = Study(_chain_table().space, "random", objectives="acc", seed=0)
    for _ in range(3):
        trial = study.ask()
        study.tell(trial, {"acc": 1.0})
    report(study, tmp_path / "report.html")
    before = (tmp_path / "report.html").read_bytes()
    assert earlier_outputs(tmp_path) == []
    _chain_bench().save(tmp_path)
    _chain_bench(budget=5).save(tmp_path, overwrite=True)
    assert (tmp_path / "report.html").read_bytes() == before
    bench_report(tmp_path, tmp_path / "bench.html")
    (tmp_path / "bench.html").replace(tmp_path / "report.html")  # a bench report there is the run's
    assert tmp_path / "report.html" in earlier_outputs(tmp_path)


def test_bench_json_records_the_model_based_parts(tmp_path):
    """Would fail: bananas, gp_bo, smac recorded only dedup, model_based no surrogate/acquisition/optimizer."""
    from nasforge.analysis.harness import check_strategies

    settings = check_strategies(_chain_table().space, ["bananas", "smac", "model_based"])
    assert settings["bananas"]["surrogate_spec"]["predictor"] == "lgb"
    assert settings["bananas"]["acquisition"] == "ThompsonSampling()" and "optimizer" in settings["bananas"]
    assert settings["smac"]["optimizer"].startswith("LocalSearchOnAcquisition(")
    assert settings["model_based"]["surrogate_spec"] == "gp" and settings["model_based"]["n_initial"] == 10
    json.dumps(settings)  # plain data
