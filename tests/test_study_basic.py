import math
import sqlite3
import warnings

import pytest

from nasforge import Result, Study, TableEvaluator, TrialState
from nasforge.analysis.studyreport.data import load_study_data
from nasforge.exceptions import UsageError
from nasforge.experiment.stages import HIGHEST_BUDGET_ONLY
from nasforge.spaces import NASBench201Space

from engine_backends import backend  # noqa: F401  (a fixture: memory, SQLite, PostgreSQL)

SPACE = NASBench201Space()


def params(arch):
    return float(sum(op.startswith("nor_conv") for op in arch.genotype))


def acc(arch):
    return 50.0 + 5 * params(arch) - 2 * sum(op == "avg_pool_3x3" for op in arch.genotype)


def evaluator(arch):
    return Result(metrics={"acc": acc(arch), "params": params(arch)}, cost=0.1)


def test_optimize_ask_tell_best_and_dataframe(backend):
    study = Study(SPACE, "evolution", objectives="acc", seed=0, storage=backend)
    study.optimize(evaluator, n_trials=60)
    assert len(study.trials) == 60 and all(t.state == TrialState.COMPLETE for t in study.trials)
    assert study.best_value == max(t.metrics["acc"] for t in study.trials)
    assert study.best_arch == study.best_trial.arch
    frame = study.trials_dataframe()
    assert list(frame["number"]) == list(range(60))
    assert {"arch", "acc", "params", "state", "cost"} <= set(frame.columns)
    assert frame["arch"][0].startswith("|")


def test_integer_user_attributes_stay_integers_beside_trials_without_them():
    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.optimize(evaluator, n_trials=2)
    study.tell(study.enqueue(SPACE.sample(3), user_attrs={"source_trial": 1, "flag": True, "ratio": 0.5}), 7.0)
    frame = study.trials_dataframe()
    assert frame["user_attrs_source_trial"].tolist()[2] == 1 and str(frame["user_attrs_source_trial"].dtype) == "Int64"
    assert frame["user_attrs_flag"].dtype != "Int64" and frame["user_attrs_ratio"].tolist()[2] == 0.5
    assert frame.to_csv(index=False).splitlines()[3].endswith(",1,True,0.5")  # not 1.0
    study.tell(study.enqueue(SPACE.sample(4), user_attrs={"source_trial": 2 ** 64}), 7.0)  # beyond int64: kept as is
    assert study.trials_dataframe()["user_attrs_source_trial"].tolist()[-1] == 2 ** 64


def test_a_multi_fidelity_search_ranks_its_highest_budget_only():
    """Would fail without ranking by fidelity: a 1-epoch result (here inflated, as a noisy short run) beat every
    12-epoch one. Before any trial reached the full budget, the highest budget reached is ranked."""
    def train(arch, fidelity):
        return Result(metrics={"acc": acc(arch) + 100.0 / fidelity["epochs"], "params": params(arch)})

    study = Study(SPACE, "hyperband", objectives="acc", seed=0)
    study.optimize(train, n_trials=5)
    assert {t.fidelity["epochs"] for t in study.ranked()} == {1} and study.best_trial.fidelity == {"epochs": 1}
    study.optimize(train, n_trials=35)
    full = [t for t in study.trials if t.fidelity == {"epochs": 12}]
    assert full and max(t.metrics["acc"] for t in study.trials) > max(t.metrics["acc"] for t in full)
    assert study.best_trial in full and study.best_value == max(t.metrics["acc"] for t in full)
    assert {t.number for t in study.pareto_front()} <= {t.number for t in full}
    data = load_study_data(study.storage, study.name)  # what status and the report rank: the same trials
    assert data.best().number == study.best_trial.number and data.ranked() == study.ranked()
    assert [t.number for t in data.front()] == [t.number for t in study.pareto_front()]
    enqueued = study.enqueue(SPACE.sample(5), tell_strategy=True)  # no fidelity: counts as at the full budget
    study.tell(enqueued, {"acc": 500.0, "params": 0.0})
    assert study.best_trial.number == enqueued.number


def test_a_multi_fidelity_study_created_before_the_highest_budget_rule_keeps_ranking_every_budget(tmp_path):
    """Would fail: resuming an older finished multi-fidelity search recomputed its front at the highest budget and
    retrained trials it never chose; a study without the rule's attribute keeps the rule it ran by."""
    def train(arch, fidelity):
        return Result(metrics={"acc": acc(arch) + 100.0 / fidelity["epochs"]})

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, "hyperband", objectives="acc", seed=0, name="old", storage=url)
    study.optimize(train, n_trials=40)
    assert study.user_attrs[HIGHEST_BUDGET_ONLY] is True and study.best_trial.fidelity == {"epochs": 12}
    study.storage.update_study(study._id, user_attrs={})  # as an older nasforge stored it
    old = Study.load("old", url)
    best = max(old.completed(searched_only=True), key=lambda t: t.metrics["acc"])
    assert best.fidelity == {"epochs": 1} and old.best_trial.number == best.number
    assert load_study_data(old.storage, "old").best().number == best.number


def test_same_seed_same_trials():
    runs = [Study(SPACE, "random", objectives="acc", seed=4).optimize(evaluator, 30) for _ in range(2)]
    assert [t.arch for t in runs[0].trials] == [t.arch for t in runs[1].trials]


def test_a_study_without_a_seed_draws_one_and_resumes_exactly(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, "evolution", objectives="acc", name="unseeded", storage=url, population_size=5)
    assert isinstance(study.seed, int) and study.seed >= 0
    study.optimize(evaluator, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the replay reproduces the strategy: no "replay diverged" warning
        loaded = Study.load("unseeded", url).optimize(evaluator, 8)
        joined = Study(SPACE, "evolution", objectives="acc", name="unseeded", storage=url, load_if_exists=True,
                       population_size=5)  # no seed given: the stored one
    assert loaded.seed == joined.seed == study.seed
    reference = Study(SPACE, "evolution", objectives="acc", seed=study.seed, population_size=5).optimize(evaluator, 20)
    assert [t.arch for t in loaded.trials] == [t.arch for t in reference.trials]
    assert joined.strategy_fingerprint() == reference.strategy_fingerprint()


def test_a_stored_study_of_an_older_version_without_a_seed_still_loads(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study(SPACE, "random", objectives="acc", seed=5, name="old", storage=url).optimize(evaluator, 6)
    with sqlite3.connect(tmp_path / "s.db") as db:  # as an older nasforge stored a study created without one
        db.execute("UPDATE nasforge_studies SET seed = NULL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its replay may diverge, as it did before
        loaded = Study.load("old", url).optimize(evaluator, 2)
        joined = Study(SPACE, "random", objectives="acc", name="old", storage=url, load_if_exists=True)
    assert loaded.seed is None and joined.seed is None
    assert len(joined.trials) == 8 and all(t.state == TrialState.COMPLETE for t in joined.trials)


def test_minimize_flips_the_score():
    study = Study(SPACE, "local_search", objectives="params", directions="minimize", seed=0)
    study.optimize(evaluator, 80)
    assert study.best_value == 0.0


def test_a_trial_state_prints_as_its_name():
    assert str(TrialState.COMPLETE) == f"{TrialState.COMPLETE}" == "COMPLETE" == TrialState.COMPLETE
    assert TrialState("PRUNED") is TrialState.PRUNED and "COMPLETE" in TrialState.__doc__


def test_manual_ask_tell_with_dict_float_and_failures(backend):
    study = Study(SPACE, "random", objectives="acc", seed=1, storage=backend)
    t0, t1, t2, t3 = (study.ask() for _ in range(4))
    study.tell(t0, 70.0)
    study.tell(t1, {"acc": 75.0})
    study.tell(t2, Result.failed("out of memory"))
    with pytest.warns(RuntimeWarning, match="trial 3 FAILED: invalid result: objective 'acc' is nan"):
        study.tell(t3, {"acc": math.nan})
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAILED,
                                               TrialState.FAILED]
    assert study.trials[2].error == "out of memory" and "'acc' is nan" in study.trials[3].error
    assert study.best_value == 75.0
    with pytest.raises(ValueError, match="already COMPLETE"):
        study.tell(t0, 1.0)
    loaded = Study.load("study", backend)
    assert [(t.state, t.metrics, t.error) for t in loaded.trials] == [(t.state, t.metrics, t.error)
                                                                      for t in study.trials]


def test_sorting_or_emptying_the_trials_list_leaves_the_study_as_it_is(backend):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="sorted", storage=backend)
    first, second = study.ask(), study.ask()
    mine = study.trials
    mine.reverse()  # e.g. newest first, in place
    study.trials.clear()
    study.tell(0, 11.0)
    study.set_trial_user_attr(1, "k", "v")
    assert study.get_trial(0) is first and first.metrics == {"acc": 11.0}
    assert [t.number for t in study.trials] == [0, 1] and study.ask().number == 2
    stored = Study.load("sorted", backend).trials
    assert [(t.number, t.state, t.user_attrs) for t in stored] == [
        (0, TrialState.COMPLETE, {}), (1, TrialState.RUNNING, {"k": "v"}), (2, TrialState.RUNNING, {})]


def test_tell_takes_one_value_per_objective_in_objective_order(backend):
    study = Study(SPACE, "nsga2", objectives=["acc", "params"], directions=["maximize", "minimize"], seed=0,
                  storage=backend)
    t0, t1, t2 = (study.ask() for _ in range(3))
    study.tell(t0, (80.0, 1.2))
    study.tell(t1, [70.0, 0.5])
    for bad, message in [((80.0,), r"tell got 1 value\(s\) for 2 objective\(s\) \(acc, params\): \(80.0,\)"),
                         ((1.0, 2.0, 3.0), r"tell got 3 value\(s\) for 2 objective\(s\)"),
                         (80.0, r"tell got float, expected a Result, a dict of metrics or a tuple of 2 numbers")]:
        with pytest.raises(UsageError, match=message):
            study.tell(t2, bad)
    assert [t.metrics for t in study.trials[:2]] == [{"acc": 80.0, "params": 1.2}, {"acc": 70.0, "params": 0.5}]
    assert [t.state for t in Study.load("study", backend).trials] == [TrialState.COMPLETE] * 2 + [TrialState.RUNNING]
    single = Study(SPACE, "random", objectives="acc", seed=0)
    trial = single.ask()
    with pytest.raises(UsageError, match="tell got str, expected a Result, a dict of metrics or a number: 'high'"):
        single.tell(trial, "high")
    assert single.tell(trial, [75.0]).metrics == {"acc": 75.0}


@pytest.mark.parametrize("objectives, returns", [
    ("acc", lambda arch: {"acc": acc(arch), "params": params(arch)}),
    ("acc", acc),
    ("acc", lambda arch: [acc(arch)]),
    (["acc", "params"], lambda arch: (acc(arch), params(arch))),
])
def test_a_plain_evaluator_may_return_what_tell_takes(objectives, returns):
    study = Study(SPACE, "nsga2" if isinstance(objectives, list) else "random", objectives=objectives, seed=0,
                  directions=["maximize", "minimize"] if isinstance(objectives, list) else "maximize")
    study.optimize(returns, n_trials=6)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 6
    assert all(t.metrics["acc"] == acc(t.arch) for t in study.trials)


def test_evaluator_exceptions_become_failed_trials(backend):
    def flaky(arch):
        if "avg_pool_3x3" in arch.genotype:
            raise RuntimeError("pooling kernel crashed")
        return evaluator(arch)

    study = Study(SPACE, "random", objectives="acc", seed=0, storage=backend).optimize(flaky, 40)
    failed = [t for t in study.trials if t.state == TrialState.FAILED]
    assert failed and all("RuntimeError: pooling kernel crashed" in t.error for t in failed)
    with pytest.raises(RuntimeError):
        Study(SPACE, "random", objectives="acc", seed=0).optimize(flaky, 40, catch=False)


def test_multi_objective_pareto_front(backend):
    study = Study(SPACE, "random", objectives=["acc", "params"], directions=["maximize", "minimize"], seed=0,
                  storage=backend)
    study.optimize(evaluator, 60)
    front = study.pareto_front()
    assert front
    for t in front:
        for u in study.completed():
            better = u.metrics["acc"] >= t.metrics["acc"] and u.metrics["params"] <= t.metrics["params"]
            strictly = u.metrics["acc"] > t.metrics["acc"] or u.metrics["params"] < t.metrics["params"]
            assert not (better and strictly)
    with pytest.raises(ValueError, match="Pareto front"):
        study.best_trial
    loaded = Study.load("study", backend)
    assert [t.number for t in loaded.pareto_front()] == [t.number for t in front]


def test_bad_configuration():
    with pytest.raises(ValueError, match="unknown direction"):
        Study(SPACE, "random", directions="up")
    with pytest.raises(ValueError, match="2 objectives but 3 directions"):
        Study(SPACE, "random", objectives=["a", "b"], directions=["maximize"] * 3)
    with pytest.raises(ValueError, match="no complete trial"):
        Study(SPACE, "random").best_trial


def test_table_evaluator_in_a_study(nb201_table):
    study = Study(nb201_table.space, "evolution", seed=0).optimize(TableEvaluator(nb201_table), 100)
    assert study.best_value > 83.0
    assert study.best_trial.metrics["test_acc"] > 0
