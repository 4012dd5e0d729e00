"""Run Optuna samplers as nasforge strategies over a space's categorical view (for peer comparisons)."""

from __future__ import annotations

from typing import Any

from ..checks import check_int
from ..exceptions import UsageError
from ..spaces import Architecture, SearchSpace
from .base import Score, Strategy

OPTUNA_SAMPLERS = ("random", "tpe")


class OptunaStrategy(Strategy):
    """An Optuna sampler behind ask/tell. Each categorical parameter of ``space.categorical_params()``
    becomes a ``suggest_categorical``; assignments the space rejects are told to Optuna as failed.

    ``sampler`` is "random", "tpe", or any ``optuna.samplers.BaseSampler``. Optuna does not avoid
    repeats itself: with ``dedup=True`` a repeated proposal is told its known score without being
    evaluated; with ``dedup=False`` (plain Optuna) repeats are evaluated like any other proposal.
    """

    name = "optuna"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = False,
                 sampler: Any = "tpe", n_objectives: int = 1, **sampler_kwargs: Any) -> None:
        import optuna

        check_int("n_objectives", n_objectives, 1)
        super().__init__(space, seed, dedup)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if isinstance(sampler, str):
            if sampler not in OPTUNA_SAMPLERS:
                raise UsageError(f"unknown Optuna sampler {sampler!r}; choose from {list(OPTUNA_SAMPLERS)}")
            self.name = f"optuna_{sampler}"
            cls = optuna.samplers.TPESampler if sampler == "tpe" else optuna.samplers.RandomSampler
            sampler = cls(seed=seed, **sampler_kwargs)
        self._params = space.categorical_params()
        self.objective_counts = (n_objectives, n_objectives)
        self._study = optuna.create_study(sampler=sampler, directions=["maximize"] * n_objectives)
        self._pending: dict[Architecture, list[Any]] = {}

    def _propose(self) -> Architecture:
        import optuna

        while True:
            trial = self._study.ask()
            params = {name: trial.suggest_categorical(name, choices) for name, choices in self._params.items()}
            try:
                arch = self.space.from_params(params)
            except ValueError:
                self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            self._pending.setdefault(arch, []).append(trial)
            return arch

    def _finish(self, arch: Architecture, score: Score) -> None:
        import optuna

        trials = self._pending.get(arch)
        if not trials:
            return
        trial = trials.pop(0)
        if not trials:
            del self._pending[arch]
        if score is None:
            self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self._study.tell(trial, list(score) if isinstance(score, tuple) else score)

    _observe = _finish
    _on_duplicate = _finish

    def state_dict(self) -> dict:
        raise TypeError("Optuna-backed strategies keep their state inside Optuna and cannot be snapshotted; "
                        "resume them by replaying the stored trials")
