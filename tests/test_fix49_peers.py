"""Review 49 fixes (peer comparisons): Optuna's NSGA-II peer of ``strategies_mo.py`` is charged as our strategies
are (repeats told their known score, population 20) next to a labelled plain row; the Optuna adapter passes a
constrained score's violation to Optuna itself, so the constrained setting runs; ``strategies_learning.py``'s table
gives each mean its standard error and ``--compare`` calls rows within their noise level."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasforge.exceptions import UsageError
from nasforge.spaces import NASBench201Space
from nasforge.spaces.nb201 import conv_proxy
from nasforge.strategies.constraints import ConstrainedScore

optuna = pytest.importorskip("optuna")

SPACE = NASBench201Space()


@pytest.fixture()
def strategies_mo(bench_module):
    """``benchmarks/strategies_mo.py`` imported as when run."""
    return bench_module("strategies_mo")


def score_of(arch) -> ConstrainedScore:
    """Two made-up objectives of ``arch`` and a violation that is 0 for half the cells."""
    code = conv_proxy(arch)
    return ConstrainedScore((float(code % 7), -float(code % 5)), violation=float(code % 2) * 0.5)


def test_optuna_gets_a_constrained_score_as_its_trial_constraint():
    from nasforge.strategies.optuna_adapter import OptunaStrategy

    sampler = optuna.samplers.NSGAIISampler(seed=0, population_size=4)
    strategy = OptunaStrategy(SPACE, seed=0, dedup=True, sampler=sampler, n_objectives=2)
    told = {}
    for _ in range(12):  # past the first generation: NSGA-II ranks the told trials, feasible first
        arch = strategy.ask()
        told[SPACE.canonical_key(arch)] = score_of(arch).violation
        strategy.tell(arch, score_of(arch))
    extra = SPACE.sample(np.random.default_rng(5))  # told without an ask: added to Optuna's study as a trial
    told[SPACE.canonical_key(extra)] = score_of(extra).violation
    strategy.tell(extra, score_of(extra))
    trials = strategy._study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) >= 13
    # a repeat is told the score of its network's first cell, with that cell's violation
    assert all(t.constraints == {"violation": told[SPACE.canonical_key(SPACE.from_params(t.params))]} for t in trials)
    assert {t.constraints["violation"] for t in trials} == {0.0, 0.5}
    plain = OptunaStrategy(SPACE, seed=0, sampler="random", n_objectives=2)
    arch = plain.ask()
    plain.tell(arch, (1.0, 2.0))  # a plain score sets no constraint
    assert plain._study.trials[-1].constraints == {}
    with pytest.raises(UsageError, match="violation must be a number >= 0"):
        plain.tell(plain.ask(), ConstrainedScore((1.0, 2.0), violation=math.nan))


class Table:
    """A stand-in for the NB201 table: a made-up accuracy per cell."""

    @staticmethod
    def value(arch, metric):
        return 50.0 + score_of(arch)[0]


def fake_setting(constraint: str | None) -> dict:
    return {"space": SPACE, "table": Table(), "cost": lambda arch: -score_of(arch)[1], "constraint": constraint,
            "ref": (0.0, 10.0), "hv": 1000.0, "true": {(56.0, 0.0)}, "reachable_front": {(56.0, 0.0)},
            "true_networks": set(), "strategy_kwargs": {}}


@pytest.mark.parametrize("peer", ["optuna_nsga2", "optuna_nsga2+plain"])
def test_strategies_mo_runs_the_optuna_peers_under_a_constraint(strategies_mo, monkeypatch, peer):
    monkeypatch.setitem(strategies_mo._CTX, "fake", fake_setting("params <= 2"))
    out = strategies_mo.run((peer, "fake", 0, 30))  # stopped with a KeyError on the peer's pending trials
    assert 0.0 <= out["gap@30"] < 1.0


def test_strategies_mo_charges_the_optuna_peer_as_ours(strategies_mo):
    cfg = fake_setting(None)
    peer, plain = strategies_mo.make("optuna_nsga2", cfg, 0), strategies_mo.make("optuna_nsga2+plain", cfg, 0)
    ours = strategies_mo.make("nsga2", cfg, 0)
    assert (peer.dedup, plain.dedup) == (True, False)
    assert peer._study.sampler._population_size == ours.population_size == 20
    assert plain._study.sampler._population_size == 50  # Optuna's default


def learning_row(finals: list[float], trials: int = 300) -> dict:
    """A stored ``strategies_learning`` row whose seeds end ``finals`` below an optimum of 100 (flat traces)."""
    per_seed = {str(i): {"values": [100.0 - f] * trials, "seconds": 0.1} for i, f in enumerate(finals)}
    return {"seeds": len(finals), "trials": trials, "seconds_per_run": 0.1, "per_seed": per_seed,
            **{f"{s}@{n}": float(getattr(np, s)(finals)) for n in (50, 100, 300) for s in ("mean", "median")},
            "optimum_share@300": float(np.mean(np.array(finals) == 0))}


def test_learning_table_gives_each_mean_its_standard_error(bench_module):
    learning = bench_module("strategies_learning")
    table = learning.markdown_table({"a": learning_row([0.0, 1.0, 2.0, 3.0])}, 100.0)
    se = np.std([0, 1, 2, 3], ddof=1) / 2
    assert f"| `a` | 4 | 1.500 ± {se:.3f} | 1.500 ± {se:.3f} | 1.500 ± {se:.3f} | 1.500 | 1.500 | 25 % |" in table


def test_learning_table_of_rows_without_per_seed_traces_or_with_one_seed(bench_module):
    """Would fail: --plot-only stopped with KeyError 'per_seed' on the older files, and printed '± nan' for one seed."""
    learning = bench_module("strategies_learning")
    old = {k: v for k, v in learning_row([0.0, 1.0, 2.0, 3.0]).items() if k != "per_seed"}
    table = learning.markdown_table({"old": old, "one": learning_row([2.0])}, 100.0)
    assert "| `old` | 4 | 1.500 | 1.500 | 1.500 |" in table and "| `one` | 1 | 2.000 | 2.000 |" in table
    assert "nan" not in table


def test_learning_compare_calls_overlapping_rows_level(bench_module, capsys):
    learning = bench_module("strategies_learning")
    a, b, c = [0.0, 1.0, 2.0, 3.0] * 5, [0.5, 1.5, 2.0, 3.0] * 5, [5.0, 6.0, 7.0, 8.0] * 5
    learning.compare_rows({"a": learning_row(a), "b": learning_row(b), "c": learning_row(c)}, 100.0, "a")
    lines = capsys.readouterr().out.splitlines()
    se = [np.hypot(np.std(a, ddof=1), np.std(other, ddof=1)) / np.sqrt(20) for other in (b, c)]
    assert f"a vs b @100: 1.500 vs 1.750, difference -0.250 ± {se[0]:.3f} (level)" in lines[1]  # within 2 s.e.
    assert f"a vs c @100: 1.500 vs 6.500, difference -5.000 ± {se[1]:.3f} (ahead)" in lines[4]
    assert all("Mann-Whitney p" in line for line in lines) and len(lines) == 6


def test_optuna_refuses_plain_and_constrained_scores_mixed():
    """Would fail: Optuna's GPSampler stopped the next ask with a raw 'constraint names must be the same'."""
    from nasforge.strategies.optuna_adapter import OptunaStrategy

    for first, then in ((ConstrainedScore((1.0, 2.0), 0.0), (2.0, 1.0)),
                        ((1.0, 2.0), ConstrainedScore((2.0, 1.0), 0.5))):
        strategy = OptunaStrategy(SPACE, seed=0, sampler="random", n_objectives=2)
        strategy.tell(strategy.ask(), first)
        strategy.tell(strategy.ask(), None)  # a failure carries no constraint either way
        arch = strategy.ask()
        with pytest.raises(UsageError, match=r"optuna_random: a (plain|constrained) score after (constrained|plain) "
                                             r"ones .* all constrained or all plain"):
            strategy.tell(arch, then)
