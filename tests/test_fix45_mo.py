"""Multi-objective fixes of stop 45: a search run's report and progress show no front while no trial meets its
constraints, ts_hvi/qnehvi objective counts named in the CLI, contradictory constraints refused up front, the
reference= units warning, hypervolume's reference checks and the constraint parse message."""

from __future__ import annotations

import pytest

from nasforge import Result, Study, get_space
from nasforge.experiment.progress import _best_text
from nasforge.experiment.scheduler import _best, _front_size
from nasforge.experiment.stages import FEASIBLE_ONLY


def constrained_study(feasible_only: bool, bound: float = 1.0, n: int = 6) -> Study:
    """A two-objective nb201 study under ``params <= bound`` (every trial has params >= 2: none feasible)."""
    attrs = {FEASIBLE_ONLY: True} if feasible_only else {}
    study = Study(get_space("nb201"), "nsga2", objectives=["acc", "params"], directions=["max", "min"], seed=0,
                  constraints=[f"params <= {bound}"], user_attrs=attrs)
    for k in range(n):
        trial = study.ask()
        study.tell(trial, Result(metrics={"acc": float(k), "params": float(2 + (k * 7) % 5)}))
    return study


def test_report_of_a_search_run_with_no_feasible_trial_shows_no_front():
    """Would fail: the report listed the least-violating (infeasible) trial as the Pareto set ("Pareto set: 1
    trial") while status, front.json and summary.json said none."""
    pytest.importorskip("plotly")
    from nasforge.analysis.studyreport import from_study, render_study

    data = from_study(constrained_study(feasible_only=True))
    assert data.front() == []
    page = render_study(data)
    assert "Pareto set: none feasible (of 6 complete; 6 complete trials break the constraints)" in page
    assert "No complete trial yet" not in page
    assert "0 Pareto-optimal of 6 complete trials" in page
    assert "(the front is only trials that meet them, as the search run&#x27;s front.json)" in page
    assert "least-violating" not in page  # the plot note says the run's rule (regression: the fallback's)


def test_python_api_study_keeps_the_least_violating_front():
    """Study.pareto_front()'s documented fallback (and so a Python study's report) is unchanged."""
    pytest.importorskip("plotly")
    from nasforge.analysis.studyreport import from_study

    study = constrained_study(feasible_only=False)
    assert study.pareto_front()
    assert [t.number for t in from_study(study).front()] == [t.number for t in study.pareto_front()]
    assert _front_size(study) == len(study.pareto_front())
    assert _best(study)


def test_progress_of_a_search_run_with_no_feasible_trial_says_none_feasible():
    """Would fail: the progress line said 'front 1 | best acc .. | best params ..' of infeasible trials."""
    study = constrained_study(feasible_only=True)
    assert study.pareto_front()  # the API's least-violating fallback is still there
    assert _front_size(study) == "none feasible"
    assert _best(study) == {}
    assert _best_text(_best(study), _front_size(study)) == "front none feasible"
    feasible = constrained_study(feasible_only=True, bound=3.0)
    assert _front_size(feasible) == len([t for t in feasible.pareto_front() if t.metrics["params"] <= 3])
    assert _best_text(_best(feasible), _front_size(feasible)).startswith(f"front {_front_size(feasible)} | best acc")


@pytest.mark.parametrize("objectives, got", [("val_acc,params,flops", "3 (val_acc, params, flops)"),
                                             ("params", "1 (params)"),
                                             ("val_acc,flops,latency_ms", "3 (val_acc, flops, latency_ms)")])
def test_cli_ts_hvi_with_the_wrong_number_of_objectives_names_them(objectives, got, tmp_path, capsys):
    """Would fail: with a params objective (a known surrogate the CLI builds per objective) the message blamed
    surrogates=, which the user never gave."""
    from nasforge.cli import main

    code = main(["search", "--strategy", "ts_hvi", "--objectives", objectives, "--trials", "2", "--retrain", "0",
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"nasforge search: error: --objectives: strategy 'ts_hvi' handles 2 objective(s), got {got}"
    assert "surrogates" not in err
    assert not (tmp_path / "run").exists()


def test_cli_qnehvi_with_one_objective_is_refused_before_any_work(tmp_path, capsys):
    from nasforge.cli import main

    code = main(["search", "--strategy", "qnehvi", "--objectives", "params", "--trials", "2", "--retrain", "0",
                 "--out", str(tmp_path / "run")])
    assert code == 2
    assert "--objectives: strategy 'qnehvi' handles at least 2 objective(s), got 1 (params)" in capsys.readouterr().err


@pytest.mark.parametrize("specs", [["val_acc >= 90", "val_acc <= 80"],
                                   ["val_acc <= 80", "params <= 9", "val_acc >= 85"],
                                   "val_acc >= 90, val_acc >= 95, val_acc <= 92"])
def test_python_contradictory_constraints_are_refused_up_front(specs):
    """Would fail: such a study was accepted and ran every trial with none feasible."""
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match=r"constraints 'val_acc >= (90|85|95)' and 'val_acc <= (80|92)' cannot both"):
        Study(get_space("nb201"), "nsga2", objectives=["acc", "params"], constraints=specs)


def test_equal_bounds_and_other_metrics_are_accepted():
    Study(get_space("nb201"), "nsga2", objectives=["acc", "params"], constraints=["val_acc >= 80", "val_acc <= 80",
                                                                                  "params >= 9", "flops <= 1"])


def test_a_stored_study_with_contradictory_constraints_still_loads(tmp_path):
    """Studies stored before the check keep loading (and reopening with load_if_exists)."""
    import json
    import sqlite3

    url = f"sqlite:///{tmp_path / 's.db'}"
    space = get_space("nb201")
    Study(space, "nsga2", objectives=["acc", "params"], name="old", storage=url, seed=0,
          constraints=["val_acc >= 70"]).close()
    con = sqlite3.connect(tmp_path / "s.db")  # the contradictory constraints an older version accepted
    config = json.loads(con.execute("SELECT strategy_config FROM nasforge_studies").fetchone()[0])
    config["constraints"] = ["val_acc >= 90", "val_acc <= 80"]
    con.execute("UPDATE nasforge_studies SET strategy_config = ?", (json.dumps(config),))
    con.commit()
    con.close()
    loaded = Study.load("old", url)
    assert loaded.strategy.constraints == ["val_acc >= 90", "val_acc <= 80"]
    loaded.close()
    Study(space, "nsga2", objectives=["acc", "params"], name="old", storage=url, seed=0, load_if_exists=True,
          constraints=["val_acc >= 90", "val_acc <= 80"]).close()


def test_cli_contradictory_constraints_exit_2_naming_both(tmp_path, capsys):
    """Would fail: accepted; every trial trained, then the run exited 1 with no feasible trial."""
    from nasforge.cli import main

    code = main(["search", "--strategy", "nsga2", "--trials", "2", "--retrain", "0", "--out", str(tmp_path / "run"),
                 "--constraints", "val_acc >= 50, val_acc <= 40"])
    assert code == 2
    assert capsys.readouterr().err.strip() == ("nasforge search: error: --constraints: constraints 'val_acc >= 50' and "
                                               "'val_acc <= 40' cannot both hold: no val_acc is >= 50 and <= 40")
    assert not (tmp_path / "run").exists()


def test_cli_constraint_parse_error_names_the_constraint_once(tmp_path, capsys):
    """Would fail: '... got ['params < 5']' repeated it."""
    from nasforge.cli import main

    code = main(["search", "--strategy", "nsga2", "--trials", "2", "--retrain", "0", "--out", str(tmp_path / "run"),
                 "--constraints", "params < 5"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("params < 5") == 1, err
    assert "bad constraint 'params < 5'; write it as 'METRIC <= NUMBER' or 'METRIC >= NUMBER'" in err


def told_ts_hvi(reference: list[float], n: int = 12):
    """ts_hvi on nb201 told ``n`` scores (acc, -cost) with cost in [10, 60]."""
    from nasforge.strategies import get_strategy

    strategy = get_strategy("ts_hvi", get_space("nb201"), seed=0, n_initial=10, reference=reference)
    for k in range(n):
        arch = strategy.ask()
        strategy.tell(arch, (float(50 + k), -float(10 + (k * 13) % 50)))
    return strategy


@pytest.mark.filterwarnings("error")
def test_a_reference_no_result_improves_on_warns_once():
    """Would fail: reference=[0, 55] for a minimized cost (the natural 'cost up to 55', but the strategy's units
    negate it) ran silently with every hypervolume gain zero."""
    with pytest.warns(UserWarning, match=r"reference \[0.0, 55.0\] is not improved on by any of the 10 results told "
                                         r"on objective 2 \(best -10\).*minimized objectives negated") as caught:
        strategy = told_ts_hvi([0, 55])
    assert len([w for w in caught if "reference" in str(w.message)]) == 1
    assert strategy.hypervolume([0, 55]) == 0.0
    told_ts_hvi([0, -55])  # in the strategy's units: no warning (filterwarnings error)


def test_hypervolume_checks_the_reference_with_no_feasible_result():
    """Would fail: with nothing told (or nothing feasible), a NaN, empty or wrong-length reference gave 0.0."""
    from nasforge.exceptions import UsageError
    from nasforge.strategies import get_strategy
    from nasforge.strategies.constraints import constrain

    strategy = get_strategy("nsga2", get_space("nb201"), seed=0, constraints=["acc >= 100"])
    for bad in ([float("nan"), 0, 0], [], None):
        with pytest.raises(UsageError, match="reference must be a list of finite numbers"):
            strategy.hypervolume(bad)
    assert strategy.hypervolume([0, 0, 0]) == 0.0  # nothing told: any count the strategy handles
    for k in range(4):
        arch = strategy.ask()
        metrics = {"acc": float(k), "cost": 1.0}
        strategy.tell(arch, constrain((metrics["acc"], -metrics["cost"]), metrics, strategy.constraints))
    assert strategy.hypervolume([-1, -2]) == 0.0  # none feasible
    with pytest.raises(UsageError, match="reference must have 2 values"):
        strategy.hypervolume([-1, -2, 0])
    with pytest.raises(UsageError, match="finite"):
        strategy.hypervolume([float("nan"), 1])


def test_hypervolume_takes_a_reference_array_or_tensor():
    """A numpy array or torch tensor reference works as before the checks (regression: a tensor was refused)."""
    import numpy as np

    from nasforge.strategies import get_strategy

    strategy = get_strategy("mo_evolution", get_space("nb201"), seed=0)
    for k in range(4):
        strategy.tell(strategy.ask(), (float(k), -float(1 + (k * 3) % 4)))
    want = strategy.hypervolume([0.0, -100.0])
    assert want > 0 and strategy.hypervolume(np.array([0.0, -100.0])) == want
    torch = pytest.importorskip("torch")
    assert strategy.hypervolume(torch.tensor([0.0, -100.0])) == want


def test_search_help_names_random_and_grid_and_the_counts(capsys):
    """Would fail: the help left out random and grid, which run several objectives."""
    from nasforge.cli import main

    assert main(["search", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(ts_hvi: exactly 2), or random or grid (no --constraints; they read no scores)" in text
    assert "one objective takes any strategy but ts_hvi and qnehvi" in text


@pytest.mark.parametrize("strategy", ["nsga2", "mo_evolution", "mo_random", "parego", "random", "grid"])
def test_the_documented_counts_hold(strategy):
    """docs/strategies.md: these take any number of objectives from 1."""
    from nasforge.strategies import STRATEGIES

    assert STRATEGIES.get(strategy).objective_counts == (1, None)
    assert STRATEGIES.get("ts_hvi").objective_counts == (2, 2)
    assert STRATEGIES.get("qnehvi").objective_counts == (2, None)
