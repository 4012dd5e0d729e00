"""Study: the record of trials of one search, with ask/tell and a sequential optimize loop."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..evaluators.base import Evaluator, Result
from ..spaces import Architecture, SearchSpace
from ..strategies import SpaceExhausted, Strategy, get_strategy

DIRECTIONS = ("maximize", "minimize")


class TrialState(str, Enum):
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    PRUNED = "PRUNED"


@dataclass
class Trial:
    """One proposed architecture and what became of it."""

    number: int
    arch: Architecture
    state: TrialState = TrialState.RUNNING
    metrics: dict[str, float] = field(default_factory=dict)
    cost: float = 0.0
    error: str | None = None
    fidelity: dict[str, Any] | None = None
    intermediate: list[tuple[int, float]] = field(default_factory=list)
    started_at: float = 0.0
    finished_at: float | None = None

    @property
    def done(self) -> bool:
        return self.state in (TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED)


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class Study:
    """Trials of one search: the strategy proposes, an evaluator (or the caller) measures.

    ``objectives`` names the metric(s) to optimize and ``directions`` how ("maximize"/"minimize").
    The strategy always sees scores where higher is better.
    """

    def __init__(self, space: SearchSpace, strategy: Strategy | str = "evolution",
                 objectives: str | Sequence[str] = "val_acc", directions: str | Sequence[str] = "maximize",
                 seed: int | None = None, name: str = "study", **strategy_kwargs: Any) -> None:
        self.space = space
        self.objectives = _as_list(objectives)
        self.directions = _as_list(directions)
        if len(self.directions) == 1 and len(self.objectives) > 1:
            self.directions = self.directions * len(self.objectives)
        if len(self.directions) != len(self.objectives):
            raise ValueError(f"{len(self.objectives)} objectives but {len(self.directions)} directions")
        bad = [d for d in self.directions if d not in DIRECTIONS]
        if bad:
            raise ValueError(f"unknown direction(s) {bad}; use 'maximize' or 'minimize'")
        self._signs = [1.0 if d == "maximize" else -1.0 for d in self.directions]
        self.strategy = get_strategy(strategy, space, seed=seed, **strategy_kwargs) if isinstance(strategy, str) else strategy
        if self.strategy.space is not space and self.strategy.space.name != space.name:
            raise ValueError(f"strategy searches {self.strategy.space.name!r} but the study's space is {space.name!r}")
        self.seed = seed
        self.name = name
        self.trials: list[Trial] = []

    @property
    def is_multi_objective(self) -> bool:
        return len(self.objectives) > 1

    # -- ask / tell ----------------------------------------------------------------------------
    def ask(self, fidelity: dict[str, Any] | None = None) -> Trial:
        trial = Trial(len(self.trials), self.strategy.ask(), fidelity=fidelity, started_at=time.time())
        self.trials.append(trial)
        return trial

    def tell(self, trial: Trial | int, result: Result | dict[str, float] | float) -> Trial:
        """Record a result: a Result, a metrics dict, or the single objective's value."""
        trial = self.trials[trial] if isinstance(trial, int) else trial
        if trial.done:
            raise ValueError(f"trial {trial.number} is already {trial.state.value}")
        if not isinstance(result, Result):
            metrics = result if isinstance(result, dict) else {self.objectives[0]: float(result)}
            result = Result(metrics=metrics)
        trial.metrics, trial.cost, trial.error = dict(result.metrics), result.cost, result.error
        trial.intermediate = list(result.intermediate)
        trial.finished_at = time.time()
        score = self.score(result) if result.ok else None
        if result.ok and score is None:
            trial.state, trial.error = TrialState.FAILED, f"objective missing or NaN in metrics {sorted(result.metrics)}"
        else:
            trial.state = {"ok": TrialState.COMPLETE, "pruned": TrialState.PRUNED}.get(result.status, TrialState.FAILED)
        self.strategy.tell(trial.arch, score)
        return trial

    def score(self, result: Result) -> float | tuple[float, ...] | None:
        """Strategy-facing score (higher is better), None if an objective is missing or NaN."""
        values = []
        for name, sign in zip(self.objectives, self._signs):
            value = result.metrics.get(name)
            if value is None or math.isnan(value):
                return None
            values.append(sign * float(value))
        return values[0] if len(values) == 1 else tuple(values)

    # -- the loop ------------------------------------------------------------------------------
    def optimize(self, evaluator: Evaluator | Callable[[Architecture], Result], n_trials: int,
                 timeout: float | None = None, catch: bool = True,
                 callbacks: Sequence[Callable[[Study, Trial], None]] = ()) -> Study:
        """Ask, evaluate and tell ``n_trials`` times (or until ``timeout`` seconds or the space runs out).

        With ``catch=True`` an evaluator exception marks the trial FAILED with its message.
        """
        evaluate = evaluator.evaluate if hasattr(evaluator, "evaluate") else evaluator
        deadline = None if timeout is None else time.monotonic() + timeout
        for _ in range(n_trials):
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                trial = self.ask()
            except SpaceExhausted:
                break
            try:
                result = evaluate(trial.arch)
            except Exception as exc:  # noqa: BLE001 - a failing evaluation must not stop the study
                if not catch:
                    raise
                result = Result.failed(f"{type(exc).__name__}: {exc}")
            self.tell(trial, result)
            for callback in callbacks:
                callback(self, trial)
        return self

    # -- results -------------------------------------------------------------------------------
    def completed(self) -> list[Trial]:
        return [t for t in self.trials if t.state == TrialState.COMPLETE]

    @property
    def best_trial(self) -> Trial:
        """The best complete trial (single objective)."""
        if self.is_multi_objective:
            raise ValueError("a multi-objective study has a Pareto front, not one best trial; use pareto_front()")
        done = self.completed()
        if not done:
            raise ValueError("no complete trial yet")
        sign, name = self._signs[0], self.objectives[0]
        return max(done, key=lambda t: sign * t.metrics[name])

    @property
    def best_value(self) -> float:
        return self.best_trial.metrics[self.objectives[0]]

    @property
    def best_arch(self) -> Architecture:
        return self.best_trial.arch

    def pareto_front(self) -> list[Trial]:
        """Complete trials not dominated on the objectives."""
        done = self.completed()
        points = [tuple(s * t.metrics[o] for s, o in zip(self._signs, self.objectives)) for t in done]
        front = []
        for i, p in enumerate(points):
            dominated = any(all(q_k >= p_k for q_k, p_k in zip(q, p)) and q != p for q in points)
            if not dominated:
                front.append(done[i])
        return front

    def trials_dataframe(self):
        """One row per trial: number, state, arch (text), metrics, cost, error, times."""
        import pandas as pd

        rows = []
        for t in self.trials:
            rows.append({"number": t.number, "state": t.state.value, "arch": self.space.format(t.arch),
                         **t.metrics, "cost": t.cost, "error": t.error,
                         "started_at": t.started_at, "finished_at": t.finished_at})
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (f"Study({self.name!r}, space={self.space.name!r}, strategy={self.strategy.name!r}, "
                f"objectives={self.objectives}, trials={len(self.trials)})")
