"""Hyperband, ASHA and BOHB: budgets, promotions, the study passing their fidelity, exact resume."""

import numpy as np
import pytest

from nasforge.evaluators.base import Result
from nasforge.exceptions import SpaceExhausted, UsageError
from nasforge.experiment import Study
from nasforge.spaces import get_space
from nasforge.strategies import ASHA, BOHB, Hyperband, available_strategies, get_strategy
from nasforge.strategies.multi_fidelity import rung_budgets

SPACE = get_space("nb201")


def _final(arch):
    return sum((i + 2.0) * (op == "nor_conv_3x3") + (op == "nor_conv_1x1") for i, op in enumerate(arch.genotype))


def _value(arch, epochs):
    return _final(arch) * epochs / 12


def _run(strategy, n):
    asked = []
    for _ in range(n):
        arch = strategy.ask()
        epochs = strategy.asked_fidelity["epochs"]
        asked.append((arch, epochs))
        strategy.tell(arch, _value(arch, epochs))
    return asked


def test_budgets_and_registry():
    assert rung_budgets(1, 12, 3) == [1, 4, 12]
    assert rung_budgets(1, 27, 3) == [1, 3, 9, 27]
    assert rung_budgets(0.1, 1.0, 2) == pytest.approx([0.125, 0.25, 0.5, 1.0])
    with pytest.raises(UsageError, match="eta"):
        rung_budgets(1, 12, 1)
    with pytest.raises(UsageError, match="min_budget"):
        Hyperband(SPACE, min_budget=20, max_budget=12)
    assert {"hyperband", "asha", "bohb"} <= set(available_strategies(multi_fidelity=True))
    assert isinstance(get_strategy("bohb", SPACE, seed=0), BOHB)


@pytest.mark.parametrize("settings, match", [
    (dict(min_budget=1e-300, max_budget=1e300, eta=2), "max_budget / min_budget overflows; at most 20 rungs"),
    (dict(min_budget=1, max_budget=2 ** 40, eta=3), "that gives 26 rungs; at most 20 rungs are supported")])
@pytest.mark.parametrize("cls", [Hyperband, ASHA, BOHB])
def test_absurd_budget_ranges_are_refused_with_the_number_of_rungs(cls, settings, match):
    """Would fail without the rung limit: an OverflowError, or a MemoryError at the first ask."""
    with pytest.raises(UsageError, match=match):
        cls(SPACE, **settings)
    assert len(rung_budgets(1, 3 ** 19, 3)) == 20  # the most rungs taken


def test_a_large_bracket_counts_its_new_configurations_instead_of_allocating_them():
    import tracemalloc

    Hyperband(SPACE, seed=0).ask()  # one-time caches of the space
    strategy = Hyperband(SPACE, seed=0, max_budget=3 ** 12)  # the first bracket starts 3**12 = 531441 configurations
    tracemalloc.start()
    try:
        strategy.ask()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert strategy.asked_fidelity == {"epochs": 1} and peak < 1_000_000  # a list of them took 4 MB


@pytest.mark.parametrize("settings", [dict(min_budget=1, max_budget=2, eta=3), dict(eta=10 ** 6)])
def test_settings_that_leave_one_budget_warn(settings):
    with pytest.warns(RuntimeWarning, match=r"give one budget \((2|12)\): max_budget / min_budget is below eta"):
        strategy = Hyperband(SPACE, **settings)
    assert len(strategy.budgets) == 1
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Hyperband(SPACE, min_budget=12, max_budget=12)  # one budget on purpose: no warning


def test_hyperband_first_bracket_halves_and_promotes_the_best():
    strategy = Hyperband(SPACE, seed=0)
    asked = _run(strategy, 13)
    assert [e for _, e in asked] == [1] * 9 + [4] * 3 + [12]
    first = sorted(asked[:9], key=lambda a: -_final(a[0]))
    assert {SPACE.canonical_key(a) for a, _ in asked[9:12]} == {SPACE.canonical_key(a) for a, _ in first[:3]}
    assert SPACE.canonical_key(asked[12][0]) == SPACE.canonical_key(first[0][0])
    assert [e for _, e in _run(strategy, 5)] == [4] * 5  # the next bracket (s=1) starts at budget 4


def test_hyperband_opens_brackets_while_rungs_wait():
    strategy = Hyperband(SPACE, seed=0)
    pending = [strategy.ask() for _ in range(12)]  # 12 workers, nothing finished
    assert len({SPACE.canonical_key(a) for a in pending}) == 12 and len(strategy.brackets) == 2


def test_asha_promotes_the_top_third_asynchronously():
    strategy = ASHA(SPACE, seed=1)
    asked = _run(strategy, 3)
    assert [e for _, e in asked] == [1, 1, 1]
    arch = strategy.ask()
    best = max(asked, key=lambda a: _final(a[0]))[0]
    assert strategy.asked_fidelity == {"epochs": 4} and SPACE.canonical_key(arch) == SPACE.canonical_key(best)
    strategy.tell(arch, _value(arch, 4))
    budgets = [e for _, e in _run(strategy, 60)]
    assert budgets.count(12) >= 2 and budgets.count(1) > budgets.count(4) > budgets.count(12)


def test_new_configurations_are_never_duplicates():
    for cls in (Hyperband, ASHA, BOHB):
        asked = _run(cls(SPACE, seed=3), 120)
        # an architecture is evaluated again only one rung higher (a promotion), never at a budget it had
        pairs = [(SPACE.canonical_key(a), e) for a, e in asked]
        assert len(set(pairs)) == len(pairs)


def test_bohb_model_proposes_better_configurations_than_random():
    """Would fail if BOHB's model stopped learning: its new configurations score higher than Hyperband's."""
    def mean_new(cls):
        out = []
        for seed in range(4):
            strategy = cls(SPACE, seed=seed)
            asked = _run(strategy, 150)
            seen, news = set(), []
            for arch, _ in asked:
                if SPACE.canonical_key(arch) not in seen:
                    seen.add(SPACE.canonical_key(arch))
                    news.append(_final(arch))
            out.append(np.mean(news[-40:]))
        return np.mean(out)

    assert mean_new(BOHB) > mean_new(Hyperband) + 2.0


@pytest.mark.parametrize("name", ["hyperband", "asha", "bohb"])
def test_study_passes_fidelity_and_resumes_exactly(tmp_path, name):
    url = f"sqlite:///{tmp_path / 'mf.db'}"

    def run(study, n):
        for _ in range(n):
            trial = study.ask()
            assert set(trial.fidelity) == {"epochs"}
            study.tell(trial, Result(metrics={"val_acc": _value(trial.arch, trial.fidelity["epochs"])}))

    whole = Study(SPACE, name, seed=4)
    run(whole, 30)
    first = Study(SPACE, name, seed=4, name="mf", storage=url)
    run(first, 17)
    del first
    again = Study.load("mf", url)
    run(again, 13)
    assert [(t.arch, t.fidelity) for t in again.trials] == [(t.arch, t.fidelity) for t in whole.trials]
    assert len({SPACE.canonical_key(t.arch) for t in whole.trials}) < 30  # promotions re-evaluate architectures


@pytest.mark.parametrize("name", ["hyperband", "asha"])
def test_two_processes_never_run_the_same_architecture_at_the_same_budget(tmp_path, name):
    url = f"sqlite:///{tmp_path / 'mf.db'}"
    one = Study(SPACE, name, seed=0, name="mf", storage=url)
    two = Study(SPACE, name, seed=0, name="mf", storage=url, load_if_exists=True)  # same seed: same proposals
    running = []
    for step in range(40):
        running.append(one.ask() if step % 2 else two.ask())
        if len(running) == 3:  # results arrive late: the other process proposes while they run
            trial = running.pop(0)
            study = one if trial.worker == one.worker_id else two
            study.tell(trial, Result(metrics={"val_acc": _value(trial.arch, trial.fidelity["epochs"])}))
    one.sync()
    pairs = [(SPACE.canonical_key(t.arch), t.fidelity["epochs"]) for t in one.trials]
    assert len(set(pairs)) == len(pairs) == 40
    assert {t.worker for t in one.trials} == {one.worker_id, two.worker_id}
    assert max(epochs for _, epochs in pairs) > 1  # promotions happened, each run once
    for study in (one, two):  # each strategy learnt every result at the budget it was run at
        study.sync()
        strategy, archs = study.strategy, {SPACE.canonical_key(t.arch): t.arch for t in study.trials}
        for rung, results in enumerate(strategy.rung_results):
            assert all(value == _value(archs[key], strategy.budget(rung)) for key, value in results.items())
        running = {(SPACE.canonical_key(t.arch), t.fidelity["epochs"]) for t in study.trials if not t.done}
        assert {(key, strategy.budget(rung)) for key, rung in strategy.pending.items()} <= running
    assert sum(len(r) for r in two.strategy.rung_results) > sum(t.worker == two.worker_id and t.done
                                                                  for t in two.trials)  # it learnt others' too


def test_a_fidelity_setting_the_strategys_budget_key_is_refused():
    study = Study(SPACE, "asha", seed=0)
    with pytest.raises(UsageError, match="'epochs', which strategy 'asha' chooses"):
        study.optimize(lambda arch, fidelity: 1.0, n_trials=2, fidelity={"epochs": 3})
    with pytest.raises(UsageError, match="chooses"):
        study.ask(fidelity={"epochs": 3})
    assert study.trials == []
    trial = study.ask(fidelity={"dataset": "cifar10"})  # other keys ride along
    assert trial.fidelity == {"dataset": "cifar10", "epochs": 1}


def test_study_optimize_hands_the_budget_to_the_evaluator():
    seen = []

    def evaluate(arch, fidelity):
        seen.append(fidelity["epochs"])
        return Result(metrics={"val_acc": _value(arch, fidelity["epochs"])})

    Study(SPACE, "hyperband", seed=0).optimize(evaluate, n_trials=13)
    assert seen == [1] * 9 + [4] * 3 + [12]


CHAIN = get_space("chain", layers=[["conv3", "conv5"]] * 3)  # 8 architectures


def _conv5(arch, epochs):
    return CHAIN.format(arch).count("conv5") * epochs


@pytest.mark.parametrize("name", ["hyperband", "asha", "bohb"])
def test_a_used_up_space_still_promotes_to_the_full_budget(name):
    """Would fail without the shrinking brackets / final promotions: all 8 ran at epochs=1 (hyperband, bohb)
    or nothing reached 12 epochs (asha), and the study stopped."""
    study = Study(CHAIN, name, seed=0)
    study.optimize(lambda arch, fidelity: Result(metrics={"val_acc": _conv5(arch, fidelity["epochs"])}),
                   n_trials=30)
    runs = [(CHAIN.format(t.arch), t.fidelity["epochs"]) for t in study.trials]
    assert sorted(e for _, e in runs) == [1] * 8 + [4] * 2 + [12]
    assert ("conv5|conv5|conv5", 12) in runs


@pytest.mark.parametrize("cls", [Hyperband, ASHA, BOHB])
def test_a_tiny_space_is_used_up_at_once_with_the_base_message(cls):
    space = get_space("chain", layers=[["conv3", "conv5"]] * 2)  # 4 architectures: fewer than a bracket
    strategy = cls(space, seed=0)
    budgets = []
    with pytest.raises(SpaceExhausted, match="all 4 distinct architectures of space"):
        for _ in range(20):
            arch = strategy.ask()
            budgets.append(strategy.asked_fidelity["epochs"])
            strategy.tell(arch, float(space.format(arch).count("conv5")))
    assert sorted(budgets) == [1, 1, 1, 1, 4, 12]


def test_used_up_with_evaluations_running_says_what_it_waits_for():
    strategy = Hyperband(get_space("chain", layers=[["conv3", "conv5"]] * 2), seed=0)
    for _ in range(4):
        strategy.ask()
    with pytest.raises(SpaceExhausted, match="until the 4 running evaluation"):
        strategy.ask()


def test_parallel_workers_wait_for_promotions_on_a_used_up_space():
    """Would fail if the study stopped asking at the first ask that had nothing to hand out yet."""
    study = Study(CHAIN, "hyperband", seed=0)
    study.optimize(lambda arch, fidelity: Result(metrics={"val_acc": _conv5(arch, fidelity["epochs"])}),
                   n_trials=30, max_pending=3)
    assert sorted(t.fidelity["epochs"] for t in study.trials) == [1] * 8 + [4] * 2 + [12]


@pytest.mark.parametrize("cls", [Hyperband, ASHA, BOHB])
def test_a_result_that_was_not_asked_is_not_ranked_at_the_full_budget(cls):
    """Would fail: a repeated or unasked tell was filed as a full-budget result (rung 12 epochs)."""
    strategy = cls(SPACE, seed=0)
    arch = strategy.ask()
    strategy.tell(arch, 1.0)
    strategy.tell(arch, 5.0)  # told again, not pending any more
    other = SPACE.sample(np.random.default_rng(1))
    strategy.tell(other, 9.0)  # never asked
    assert [len(r) for r in strategy.rung_results] == [1, 0, 0]
    assert strategy.known_score(other) == 9.0 and strategy.ask() != other  # still never proposed as new
