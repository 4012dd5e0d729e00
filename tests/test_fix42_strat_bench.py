"""Review 42 fixes (strategy benchmarks): the Optuna peers of ``strategies_learning.py`` spend their budget on
distinct architectures like every other row; ``strategies_nb201.py`` warms up each overhead level untimed and
prints no unsourced reference figures."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge import get_strategy


def test_learning_runs_the_optuna_peers_without_repeats(bench_module):
    learning = bench_module("strategies_learning")
    assert learning.strategy_kwargs_for("optuna_tpe", {}) == {"dedup": True}
    assert learning.strategy_kwargs_for("optuna_tpe", {"dedup": False}) == {"dedup": False}
    assert learning.strategy_kwargs_for("tpe", {}) == {}


def test_learning_runs_optuna_tpe_with_dedup(bench_module, monkeypatch):
    import nasforge.analysis.harness as harness
    from nasforge.analysis.regret import RunTrace

    learning = bench_module("strategies_learning")
    seen: list[tuple[str, dict]] = []

    def fake_trace(table, name, seed, trials, objective, **kwargs):
        seen.append((name, kwargs))
        return RunTrace(np.arange(trials, dtype=float), np.full(trials, np.nan), list(range(trials)), 0.0)

    class Table:
        @staticmethod
        def optimum(objective, direction):
            return 10.0

    monkeypatch.setattr(harness, "run_trace", fake_trace)
    for name in ("optuna_tpe", "evolution"):
        learning.run_strategy(Table(), name, range(2), 5, 1, strategy_kwargs=learning.strategy_kwargs_for(name, {}))
    assert seen == [("optuna_tpe", {"dedup": True})] * 2 + [("evolution", {})] * 2


def test_nb201_overhead_warms_up_each_level_untimed(bench_module, monkeypatch):
    nb201 = bench_module("strategies_nb201")
    assert not hasattr(nb201, "REFERENCE")
    calls: list[str] = []
    real_get_strategy, real_study = nb201.get_strategy, nb201.Study
    monkeypatch.setattr(nb201, "get_strategy", lambda *a, **k: calls.append("strategy") or real_get_strategy(*a, **k))
    monkeypatch.setattr(nb201, "Study", lambda *a, **k: calls.append("study") or real_study(*a, **k))

    class Bench:
        space = get_strategy("random", "nb201").space

    out = nb201.ask_tell_overhead(Bench(), n_runs=2, budget=5)
    assert calls == ["strategy"] * 3 + ["study"] * 3  # one untimed run per level, then the timed ones
    assert set(out) == {"strategy_us_per_trial", "study_us_per_trial"}


def test_learning_refuses_merging_dedup_seeds_into_an_old_plain_optuna_row(bench_module):
    learning = bench_module("strategies_learning")
    old = {"trials": 300, "canonical_rule": "functional", "per_seed": {}}  # stored before 2026-12-06: no kwargs
    kwargs = learning.strategy_kwargs_for("optuna_tpe", {})
    assert "not {'dedup': True}" in learning.merge_refusal("optuna_tpe", old, 300, kwargs, "functional")
    assert learning.merge_refusal("optuna_tpe", old, 300, {}, "functional") is None
    assert learning.merge_refusal("tpe", old, 300, {}, "functional") is None
