"""A Study refuses what would mislead it or lose stored results: other studies' trials, a stored study
opened with another setup, misnamed objectives or constrained metrics, evaluators that are not ones."""

import copy
import pickle
import sqlite3

import pytest

from nasforge import Architecture, Result, Study, TableEvaluator, TrialState
from nasforge.exceptions import UsageError
from nasforge.spaces import ChainSpace, NASBench201Space, get_space
from nasforge.strategies import STRATEGIES, Strategy, get_strategy

SPACE = NASBench201Space()


def evaluator(arch):
    convs = sum(op.startswith("nor_conv") for op in arch.genotype)
    return Result(metrics={"acc": 50.0 + 5 * convs, "params": float(convs)})


def test_tell_refuses_a_trial_of_another_study(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    a = Study(SPACE, "random", objectives="acc", seed=0, name="a", storage=url)
    b = Study(SPACE, "random", objectives="acc", seed=1, name="b", storage=url)
    trial_a, trial_b = a.ask(), b.ask()
    with pytest.raises(UsageError, match="not one of study 'b'"):
        b.tell(trial_a, 90.0)
    assert b.trials[0].state == TrialState.RUNNING and trial_a.state == TrialState.RUNNING
    a.tell(trial_a, 50.0)  # still its own study's to tell
    again = Study.load("b", url)  # another Study object on the same stored study: its trials are accepted
    again.tell(trial_b, 70.0)
    assert Study.load("b", url).trials[0].metrics == {"acc": 70.0}


def test_load_if_exists_refuses_another_setup(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study(SPACE, "evolution", objectives="acc", seed=0, name="re", storage=url, population_size=5,
          sample_size=2).optimize(evaluator, 4)
    for kwargs, message in [({"strategy": "random"}, "strategy 'evolution', not 'random'"),
                            ({"seed": 1, "population_size": 5, "sample_size": 2}, "seed 0, not 1"),
                            ({}, "population_size=5, not 20")]:
        setup = {"strategy": "evolution", "seed": 0, **kwargs}
        with pytest.raises(UsageError, match=message):
            Study(SPACE, objectives="acc", name="re", storage=url, load_if_exists=True, **setup)
    same = Study(SPACE, "evolution", objectives="acc", seed=0, name="re", storage=url, load_if_exists=True,
                 population_size=5, sample_size=2)
    assert len(same.trials) == 4


def test_a_strategy_object_and_the_study_agree_on_the_seed():
    with pytest.raises(UsageError, match="seed=0 but the strategy object was seeded with 1"):
        Study(SPACE, get_strategy("evolution", SPACE, seed=1), objectives="acc", seed=0)
    assert Study(SPACE, get_strategy("evolution", SPACE, seed=3), objectives="acc").seed == 3


class Sampler(Strategy):
    """A custom strategy as the docs describe it (registered by the tests that use it)."""

    def _propose(self):
        return self.space.sample(self.rng)


class Mistaken(Strategy):
    name = "mistaken"

    def __init__(self, space, seed=None, proposal=None):
        super().__init__(space, seed)
        self.proposal = proposal

    def _propose(self):
        return self.space.sample(self.rng) if self.n_asked == 0 else self.proposal


class Lenient(ChainSpace):
    """A user's space whose canonical form does not check its input (as a hand-written one may not)."""

    def canonical(self, arch):
        return arch


@pytest.mark.parametrize("space, proposal, message", [
    (SPACE, Architecture("nb201", ("z",) * 6), "what is no architecture of space 'nb201': .*'z'"),
    (Lenient([["a", "b"]] * 2), get_space("nb101").sample(0), "belongs to space 'nb101', not 'chain'"),
    (Lenient([["a", "b"]] * 2), "a|b", "expected an Architecture, got str 'a|b'; use space.parse")])
def test_a_strategy_proposing_no_architecture_of_the_space_is_named_before_anything_is_stored(
        tmp_path, space, proposal, message):
    study = Study(space, Mistaken(space, seed=0, proposal=proposal), objectives="acc")
    evaluated = []
    with pytest.raises(UsageError, match=f"strategy 'mistaken' \\(Mistaken\\) proposed .*{message}"):
        study.optimize(lambda arch: evaluated.append(arch) or 1.0, 3)
    assert len(evaluated) == 1 and [t.state for t in study.storage.trials(study.id)] == [TrialState.COMPLETE]


def test_a_custom_strategy_is_recorded_under_the_name_it_can_be_rebuilt_by(tmp_path, monkeypatch):
    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))
    monkeypatch.setattr(STRATEGIES, "_tags", dict(STRATEGIES._tags))
    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(UsageError, match="strategy class Sampler has no name of its own .* register it"):
        Study(SPACE, Sampler(SPACE, seed=0), objectives="acc")
    STRATEGIES.register("sampler", Sampler)
    by_name = Study(SPACE, "sampler", objectives="acc", seed=1, name="by_name", storage=url).optimize(evaluator, 2)
    by_object = Study(SPACE, Sampler(SPACE, seed=2), objectives="acc", name="by_object", storage=url)
    by_object.optimize(evaluator, 2)
    for study in (by_name, by_object):
        loaded = Study.load(study.name, url)
        assert loaded.record.strategy == "sampler" and isinstance(loaded.strategy, Sampler)
        assert [t.arch for t in loaded.trials] == [t.arch for t in study.trials]
    joined = Study(SPACE, "sampler", objectives="acc", seed=1, name="by_name", storage=url, load_if_exists=True)
    assert len(joined.trials) == 2 and "strategy='sampler'" in repr(joined)
    assert Study(SPACE, "re", objectives="acc", seed=0).record.strategy == "evolution"  # an alias: as before


def test_a_strategy_that_skipped_strategy_init_is_one_line():
    class NoSuper(Strategy):
        name = "nosuper"

        def __init__(self, space, seed=None):
            self.rounds = 3

        def _propose(self):
            return self.space.sample(self.rng)

    with pytest.raises(UsageError, match=r"strategy NoSuper was not initialised: its __init__ must call "
                                         r"super\(\).__init__\(space, seed\)"):
        Study(SPACE, NoSuper(SPACE), objectives="acc")


@pytest.mark.parametrize("storage, where", [
    (None, "an in-memory study lives in this process only"),
    ("sqlite", "pass its storage URL and name and open it there: Study.load\\('p', 'sqlite:///")])
def test_a_study_is_not_pickled_or_copied_but_loaded_where_it_is_needed(tmp_path, storage, where):
    url = f"sqlite:///{tmp_path / 's.db'}" if storage else None
    study = Study(SPACE, "random", objectives="acc", seed=0, name="p", storage=url)
    for copier in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(TypeError, match=f"a Study cannot be pickled or copied: it is a handle on a storage; "
                                            f"{where}"):
            copier(study)


def test_one_direction_per_objective_unless_one_name_for_all():
    with pytest.raises(UsageError, match="2 objectives but 1 directions"):
        Study(SPACE, "nsga2", objectives=["acc", "params"], directions=["maximize"])
    assert Study(SPACE, "nsga2", objectives=["acc", "params"], directions="minimize").directions == ["minimize"] * 2


def test_an_objective_named_twice_is_refused():
    with pytest.raises(UsageError, match=r"objectives \['acc', 'acc'\] name \['acc'\] more than once"):
        Study(SPACE, "nsga2", objectives=["acc", "acc"])


def test_a_misnamed_objective_stops_the_run_at_the_first_result():
    study = Study(SPACE, "evolution", objectives="accuracy")
    with pytest.raises(UsageError, match=r"lacks an objective: objective 'accuracy' missing from metrics \['acc'"):
        study.optimize(evaluator, 20)
    assert [t.state for t in study.trials] == [TrialState.FAILED]  # stored, and nothing more was spent


@pytest.mark.parametrize("returns, message", [
    (lambda arch: None, r"returned NoneType, expected a Result, a dict of metrics or a number: None"),
    (lambda arch: (1.0, 2.0), r"returned 2 value\(s\) for 1 objective\(s\) \(acc\): \(1.0, 2.0\)"),
])
def test_an_evaluator_returning_no_usable_outcome_stops_the_run_at_the_first_result(returns, message):
    study = Study(SPACE, "random", objectives="acc", seed=0)
    with pytest.raises(UsageError, match="the evaluator's first result cannot be used: the evaluator " + message):
        study.optimize(returns, 20)
    assert [t.state for t in study.trials] == [TrialState.FAILED]  # stored, and nothing more was spent


def test_an_evaluator_refusing_its_use_stops_the_run_before_any_result():
    """A UsageError from the evaluator (e.g. a table asked for hyperband's budget) is misuse, not a flaky trial."""
    def refuses(arch, fidelity=None):
        raise UsageError("this evaluator cannot answer at a fidelity")

    study = Study(SPACE, "random", objectives="acc", seed=0)
    with pytest.raises(UsageError, match="evaluator refused the trial as misuse before any result: this evaluator"):
        study.optimize(refuses, 20)
    assert [t.state for t in study.trials] == [TrialState.FAILED]


def test_a_constraint_on_a_metric_the_evaluator_does_not_report_stops_the_run():
    study = Study(SPACE, "nsga2", objectives=["acc", "params"], directions=["maximize", "minimize"],
                  constraints="param <= 3")
    with pytest.raises(UsageError, match=r"constraint\(s\) on \['param'\] name metrics the evaluator does not"):
        study.optimize(evaluator, 20)
    assert len(study.trials) == 1


def test_constraints_may_be_one_comma_separated_string():
    study = Study(SPACE, "nsga2", objectives=["acc", "params"], directions=["maximize", "minimize"],
                  constraints="params <= 3, acc >= 55")
    assert study.strategy.constraints == ["params <= 3", "acc >= 55"]
    study.optimize(evaluator, 12)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)


@pytest.mark.parametrize("evaluator_, callbacks, message", [
    (None, (), "evaluator must have an evaluate"),
    (SPACE, (), "got NASBench201Space"),
    (evaluator, print, "callbacks must be a list of callables"),
    (evaluator, [1], "callbacks must be a list of callables"),
    (TableEvaluator, (), r"evaluator TableEvaluator is a class; pass an instance: TableEvaluator\(...\)"),
])
def test_optimize_checks_the_evaluator_and_callbacks_before_any_work(evaluator_, callbacks, message):
    study = Study(SPACE, "random", objectives="acc")
    with pytest.raises(UsageError, match=message):
        study.optimize(evaluator_, 3, callbacks=callbacks)
    assert study.trials == []


def test_a_fidelity_an_evaluator_of_the_architecture_alone_would_ignore_is_refused_before_any_work():
    ignored = "the evaluator takes no fidelity argument \\(it is called as f\\(arch\\)\\), so {} would be ignored"
    study = Study(SPACE, "random", objectives="acc", seed=0)
    with pytest.raises(UsageError, match=ignored.format("fidelity={'epochs': 3}")):
        study.optimize(evaluator, 1, fidelity={"epochs": 3})
    study.enqueue(SPACE.sample(0), fidelity={"epochs": 200})
    with pytest.raises(UsageError, match=ignored.format("the fidelity {'epochs': 200} of WAITING trial 0")):
        study.optimize(evaluator, 0)
    asha = Study(SPACE, "asha", objectives="acc", seed=0)
    with pytest.raises(UsageError, match=ignored.format("the 'epochs' strategy 'asha' asks of each trial")):
        asha.optimize(evaluator, 1)
    assert study.trials[0].state == TrialState.WAITING and len(study.trials) == 1 and asha.trials == []
    asha.optimize(lambda arch, fidelity: evaluator(arch), 2)
    assert [t.fidelity for t in asha.trials] == [{"epochs": 1}] * 2


def test_optimize_names_an_unknown_option():
    study = Study(SPACE, "random", objectives="acc")
    with pytest.raises(UsageError, match=r"optimize got unknown option\(s\) \['bogus_option'\]; accepted: .*'max_r"):
        study.optimize(evaluator, n_trials=3, bogus_option=1)
    assert study.trials == []


def test_resume_refuses_n_trials_and_unknown_options(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="r", storage=url).optimize(evaluator, 3)
    with sqlite3.connect(tmp_path / "s.db") as db:  # as if killed with trials left to run
        db.execute("UPDATE nasforge_trials SET state = 'WAITING' WHERE number = 2")
    loaded = Study.load("r", url)
    with pytest.raises(UsageError, match="resume continues to the recorded total"):
        loaded.resume(evaluator, n_trials=10)
    with pytest.raises(UsageError, match=r"unknown option\(s\) \['n_workrs'\]"):
        loaded.resume(evaluator, n_workrs=2)
    assert len(study.trials) == 3


def test_the_dataframe_keeps_metrics_named_like_its_own_columns():
    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.optimize(lambda arch: Result(metrics={"acc": 1.0, "cost": 99.0, "number": 42.0, "state": 7.0}, cost=3.0), 2)
    frame = study.trials_dataframe()
    assert frame["number"].tolist() == [0, 1] and frame["state"].tolist() == ["COMPLETE"] * 2
    assert frame["cost"].tolist() == [3.0, 3.0] and frame["metric_cost"].tolist() == [99.0, 99.0]
    assert frame["metric_number"].tolist() == [42.0, 42.0] and frame["metric_state"].tolist() == [7.0, 7.0]



def test_dataframe_columns_of_metrics_and_user_attrs_never_collide():
    study = Study(SPACE, "random", objectives="acc", seed=0)
    metrics = {"acc": 1.0, "cost": 7.0, "metric_cost": 8.0, "user_attrs_k": 4.0}
    study.optimize(lambda arch: Result(metrics=metrics, cost=2.0, user_attrs={"k": "v"}), 1)
    row = study.trials_dataframe().iloc[0]
    assert (row["cost"], row["metric_cost"], row["metric_metric_cost"]) == (2.0, 7.0, 8.0)
    assert (row["user_attrs_k"], row["metric_user_attrs_k"], row["acc"]) == ("v", 4.0, 1.0)

def test_load_creates_no_database_and_refuses_another_space(tmp_path):
    missing = tmp_path / "typo.db"
    with pytest.raises(KeyError, match="no database file"):  # a StudyNotFoundError: the load-or-create idiom works
        Study.load("s", f"sqlite:///{missing}")
    assert list(tmp_path.iterdir()) == []
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study(SPACE, "random", objectives="acc", seed=0, name="s", storage=url).optimize(evaluator, 2)
    with pytest.raises(UsageError, match="searches space 'nb201' .* not 'darts'"):
        Study.load("s", url, space=get_space("darts"))
    with pytest.raises(UsageError, match="'canonical_rule': 'network'.* not 'nb201' with .*'functional'"):
        Study.load("s", url, space=NASBench201Space("functional"))
    assert len(Study.load("s", url, space=NASBench201Space()).trials) == 2


def test_plausible_mistakes_are_usage_errors_naming_the_argument(tmp_path):
    assert Study("nb201", "random", objectives="acc").space.name == "nb201"  # a space name is built
    for call, message in [(lambda: Study(None, "random"), "space must be a SearchSpace or a space name"),
                          (lambda: Study(SPACE, "evolution", seed=-1), "seed must be a non-negative integer"),
                          (lambda: get_strategy("evolution", SPACE, seed=-3), "seed must be a non-negative integer"),
                          (lambda: Study(SPACE, "random", storage=3), "storage must be a Storage, a URL string"),
                          (lambda: Study(SPACE, "random").ask(fidelity=5), "fidelity must be a dict")]:
        with pytest.raises(UsageError, match=message):
            call()
    from nasforge.experiment.storage import get_storage

    url = f"sqlite:///{tmp_path / 's.db'}"
    Study(SPACE, "random", objectives="acc", name="r", storage=url)
    for new in ("", "   ", "x" * 1000, 5, "a\nb", "a\tb", "a\x00b"):
        with pytest.raises(UsageError, match="study name"):
            get_storage(url).rename_study("r", new)
    assert [s.name for s in get_storage(url).list_studies()] == ["r"]
    with pytest.raises(UsageError, match="must not contain control characters"):
        Study(SPACE, "random", objectives="acc", name="two\nlines", storage=url)
    with sqlite3.connect(tmp_path / "s.db") as raw:  # one stored by an older version still loads
        raw.execute("UPDATE nasforge_studies SET name = 'old\tname'")
    assert Study.load("old\tname", url).name == "old\tname"
    # Would fail: load_if_exists refused the stored name as if it were a new one; a new such name is still refused
    assert Study(SPACE, "random", objectives="acc", name="old\tname", storage=url, load_if_exists=True).name == \
        "old\tname"
    with pytest.raises(UsageError, match="must not contain control characters"):
        Study(SPACE, "random", objectives="acc", name="new\tname", storage=url, load_if_exists=True)
    assert [s.name for s in get_storage(url).list_studies()] == ["old\tname"]


def test_keys_that_json_would_turn_into_strings_are_refused(tmp_path):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="k", storage=f"sqlite:///{tmp_path / 'k.db'}")
    arch = study.space.sample(0)
    for call, message in [(lambda: study.set_user_attr(5, "int-key"), "key must be a string, got int 5"),
                          (lambda: study.set_user_attr("a", {"b": {1: 2}}), "must have string keys"),
                          (lambda: study.enqueue(arch, fidelity={1: 2}), "fidelity must have string keys"),
                          (lambda: study.set_trial_user_attr(study.ask(), 3, "x"), "key must be a string"),
                          (lambda: Study(SPACE, "random", user_attrs={1: 2}), "user_attrs must have string keys")]:
        with pytest.raises(UsageError, match=message):
            call()
    study.set_user_attr("5", "str-key")
    assert study.user_attrs == Study.load("k", study.storage).user_attrs == {"5": "str-key"}


def test_two_study_objects_on_one_stored_study_tell_each_others_trials(tmp_path):
    setup = dict(objectives="acc", seed=0, name="two", storage=f"sqlite:///{tmp_path / 's.db'}", load_if_exists=True)
    first, second = Study(SPACE, "evolution", **setup), Study(SPACE, "evolution", **setup)
    asked = first.ask()
    second.tell(asked, 70.0)  # second has not seen the trial yet: it looks in the storage
    other = first.ask()
    second.tell(other.number, 71.0)
    assert [t.metrics["acc"] for t in Study.load("two", setup["storage"]).trials] == [70.0, 71.0]
    with pytest.raises(UsageError, match=r"has no trial 5 \(trials 0..1\)"):
        second.tell(5, 1.0)
    with pytest.raises(UsageError, match="has no trial 0 \\(it has none yet\\)"):
        Study(SPACE, "random", objectives="acc").tell(0, 1.0)


def test_a_study_of_a_preset_space_loads_again(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    space = get_space("proxylessnas")  # a preset: get_space takes no options for it, the record holds its layers
    Study(space, "random", objectives="acc", seed=0, name="px", storage=url).optimize(
        lambda arch: Result(metrics={"acc": float(len(arch.genotype))}), 2)
    loaded = Study.load("px", url)
    assert loaded.space.name == "proxylessnas" and len(loaded.trials) == 2
    from nasforge.analysis.studyreport import load_study_data, open_readonly

    assert len(load_study_data(open_readonly(url), "px").trials) == 2


def test_a_study_stored_with_whole_float_settings_by_an_older_version_still_loads(tmp_path):
    """Older versions took population_size=10.0 and stored it so; the strategies now refuse a float."""
    import json

    url = f"sqlite:///{tmp_path / 'old.db'}"
    study = Study("nb201", "evolution", objectives="acc", name="old", storage=url, seed=0, population_size=10,
                  sample_size=3)
    for _ in range(3):
        study.tell(study.ask(), 1.0)
    with sqlite3.connect(tmp_path / "old.db") as db:
        db.execute("UPDATE nasforge_studies SET strategy_config = ?",
                   (json.dumps({"population_size": 10.0, "sample_size": 3.0}),))
    loaded = Study.load("old", url)
    assert (loaded.strategy.population_size, loaded.strategy.sample_size) == (10, 3)
    assert len(loaded.trials) == 3


def test_seeds_beyond_64_bits_are_refused_where_they_are_given(tmp_path):
    """A study stores its seed as a signed 64-bit integer (2**63 overflowed there); strategies and one-shot
    trainers take the same range."""
    from nasforge.oneshot import OneShotConfig, ScoreConfig
    from nasforge.strategies import get_strategy

    message = r"seed must be < 2\*\*63"
    for make in (lambda: Study(SPACE, "random", seed=2**63, storage=f"sqlite:///{tmp_path / 's.db'}"),
                 lambda: get_strategy("random", SPACE, seed=2**64), lambda: OneShotConfig(seed=2**70),
                 lambda: ScoreConfig(seed=2**63)):
        with pytest.raises(UsageError, match=message):
            make()
    Study(SPACE, "random", seed=2**63 - 1, storage=f"sqlite:///{tmp_path / 's.db'}").ask()


def test_a_keyword_neither_study_nor_its_strategy_takes_is_not_blamed_on_the_strategy_alone():
    """Would fail: Study(..., study_name=...) said 'bad parameters for strategy' without naming Study."""
    with pytest.raises(UsageError, match=r"Study\(\) got the keyword argument\(s\) \['study_name'\], which are neither "
                                         r"Study's own nor parameters of strategy 'evolution' \(did you mean name=\?\)"):
        Study(SPACE, "evolution", objectives="acc", study_name="x")
    assert Study(SPACE, "evolution", objectives="acc", population_size=7).strategy.population_size == 7


def test_numpy_strategy_settings_are_recorded_as_plain_numbers_and_a_function_is_refused(tmp_path):
    import numpy as np

    from nasforge.experiment import get_storage

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, "tpe", seed=0, name="np", storage=url, n_initial=np.int64(5), gamma=np.float64(0.2))
    recorded = study.record.strategy_config  # with tpe's rule settings, recorded by every study since 2026-12-07
    assert recorded == {"n_initial": 5, "gamma": 0.2, "rank_power": 1.0, "good_set": "successes"}
    assert type(recorded["n_initial"]) is int and type(recorded["gamma"]) is float
    two = {"objectives": ["acc", "conv"], "directions": ["maximize", "minimize"], "seed": 0, "storage": url}
    assert Study.load("np", url).strategy.n_initial == 5
    Study(SPACE, "ts_hvi", name="ref", reference=np.array([0.0, -60.0]), **two)
    assert Study.load("ref", url).strategy.reference == [0.0, -60.0]
    cost = {"name": "known", "cost": lambda arch: 1.0, "sign": -1}
    with pytest.raises(UsageError, match=r"strategy setting surrogates=.*function .*not a JSON value; .*register"):
        Study(SPACE, "ts_hvi", name="fn", surrogates=[None, cost], **two)
    assert sorted(s.name for s in get_storage(url).list_studies()) == ["np", "ref"]
    Study(SPACE, "ts_hvi", name="fn", surrogates=[None, cost], objectives=two["objectives"],
          directions=two["directions"])  # in memory nothing is recorded: a function is fine
