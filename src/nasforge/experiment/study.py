"""Study: the durable record of one search, with ask/tell, loading and the optimize loop.

Trials live in a storage (in memory by default, SQLite/PostgreSQL by URL). A loaded study rebuilds
its strategy by replaying the stored ask/tell events in order with the stored seed, so it
continues exactly where it stopped. Several processes may run the same study: each one syncs the
trials the others created before asking, and never proposes an architecture another one runs.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import socket
import time
import uuid
import warnings
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from ..evaluators.base import Evaluator, Result
from ..exceptions import StudyExistsError, UsageError
from ..spaces import Architecture, SearchSpace, get_space
from ..strategies import SpaceExhausted, Strategy, get_strategy
from .storage import Storage, StudyRecord, get_storage
from .trial import Trial, TrialState

DIRECTIONS = ("maximize", "minimize")


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def init_config(obj: Any, skip: Sequence[str] = ("self", "space", "seed")) -> dict[str, Any] | None:
    """Constructor arguments of ``obj`` read back from same-named attributes (JSON values only);
    None when one cannot be recovered and has no default."""
    config: dict[str, Any] = {}
    for name, param in inspect.signature(type(obj).__init__).parameters.items():
        if name in skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if not hasattr(obj, name):
            if param.default is inspect.Parameter.empty:
                return None
            continue  # not kept under its own name: the default applies on reload
        value = getattr(obj, name)
        try:
            json.dumps(value)
        except TypeError:
            return None
        config[name] = value
    return config


class Study:
    """Trials of one search: the strategy proposes, an evaluator (or the caller) measures.

    ``objectives`` names the metric(s) to optimize and ``directions`` how ("maximize"/"minimize");
    the strategy always sees scores where higher is better. ``storage`` is a Storage, a URL
    (``sqlite:///file.db``, ``postgresql+psycopg://...``) or None for memory. A study whose
    ``name`` already exists in the storage is an error unless ``load_if_exists=True``.
    """

    def __init__(self, space: SearchSpace, strategy: Strategy | str = "evolution",
                 objectives: str | Sequence[str] = "val_acc", directions: str | Sequence[str] = "maximize",
                 seed: int | None = None, name: str = "study", storage: Storage | str | None = None,
                 load_if_exists: bool = False, user_attrs: dict[str, Any] | None = None,
                 **strategy_kwargs: Any) -> None:
        objectives, directions = _as_list(objectives), _as_list(directions)
        if len(directions) == 1 and len(objectives) > 1:
            directions = directions * len(objectives)
        if len(directions) != len(objectives):
            raise UsageError(f"{len(objectives)} objectives but {len(directions)} directions")
        bad = [d for d in directions if d not in DIRECTIONS]
        if bad:
            raise UsageError(f"unknown direction(s) {bad}; use 'maximize' or 'minimize'")
        if isinstance(strategy, str):
            strategy_config: dict[str, Any] | None = dict(strategy_kwargs)
            strategy = get_strategy(strategy, space, seed=seed, **strategy_kwargs)
        else:
            strategy_config = init_config(strategy)
        if strategy.space is not space and strategy.space.name != space.name:
            raise UsageError(f"strategy searches {strategy.space.name!r} but the study's space is {space.name!r}")
        store = get_storage(storage)
        record = StudyRecord(name=name, space=space.name, objectives=objectives, directions=directions,
                             strategy=strategy.name, seed=seed, space_config=init_config(space) or {},
                             strategy_config=strategy_config, user_attrs=dict(user_attrs or {}))
        try:
            store.create_study(record)
        except StudyExistsError:
            if not load_if_exists:
                raise StudyExistsError(f"study {name!r} already exists in {store.url}; load it with Study.load "
                                 "or pass load_if_exists=True") from None
            record = store.load_study(name)
            if record.space != space.name or record.objectives != objectives or record.directions != directions:
                raise UsageError(f"study {name!r} in {store.url} searches {record.space!r} for "
                                 f"{record.objectives}/{record.directions}, not {space.name!r} for "
                                 f"{objectives}/{directions}") from None
        self._attach(space, strategy, record, store)

    @classmethod
    def load(cls, name: str, storage: Storage | str, strategy: Strategy | None = None,
             space: SearchSpace | None = None) -> Study:
        """Open a stored study and restore its strategy by replaying its trials.

        ``strategy`` (a fresh instance, seeded like the original) is needed only for studies created
        with a strategy object whose settings could not be recorded.
        """
        store = get_storage(storage)
        record = store.load_study(name)
        space = space or get_space(record.space, **record.space_config)
        if strategy is None:
            if record.strategy_config is None:
                raise UsageError(f"study {name!r} was created with a {record.strategy!r} strategy object whose "
                                 "settings were not recorded; pass a fresh one as strategy=")
            strategy = get_strategy(record.strategy, space, seed=record.seed, **record.strategy_config)
        study = cls.__new__(cls)
        study._attach(space, strategy, record, store)
        return study

    def _attach(self, space: SearchSpace, strategy: Strategy, record: StudyRecord, storage: Storage) -> None:
        self.space, self.strategy, self.storage = space, strategy, storage
        self.name, self.seed = record.name, record.seed
        self.objectives, self.directions = list(record.objectives), list(record.directions)
        self._signs = [1.0 if d == "maximize" else -1.0 for d in self.directions]
        self._record = record
        self._id: int = record.id  # type: ignore[assignment]
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.trials: list[Trial] = []
        self._keys: dict[Hashable, int] = {}  # canonical key -> number of a trial proposing it
        self._synced = 0  # every change up to this event is reflected in self.trials
        storage.register_space(self._id, space)
        stored = storage.trials(self._id)
        if stored:
            self._replay(stored)

    # -- properties ----------------------------------------------------------------------------
    @property
    def is_multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @property
    def n_proposals(self) -> int:
        """Trials the strategy proposed (not retries, not enqueued trials)."""
        return sum(t.is_proposal for t in self.trials)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._record.user_attrs)

    def set_user_attr(self, key: str, value: Any) -> None:
        """Store a JSON-serializable value with the study."""
        json.dumps(value)
        self._record.user_attrs[key] = value
        self.storage.update_study(self._id, user_attrs=self._record.user_attrs)

    @property
    def run_config(self) -> dict[str, Any] | None:
        """Settings of the last ``optimize`` call (used by ``resume``)."""
        return self._record.run_config

    # -- ask / tell ----------------------------------------------------------------------------
    def ask(self, fidelity: dict[str, Any] | None = None) -> Trial:
        """A new RUNNING trial with the strategy's next proposal (stored before it is returned)."""

        def make(number: int, event: int, changed: list[Trial]) -> Trial:
            self._absorb(changed)
            while True:
                arch = self.strategy.ask()
                keys.append(self.space.canonical_key(arch))
                other = self._keys.get(keys[-1]) if self.strategy.dedup else None
                if other is None:
                    break
                if self.trials[other].tell_seq is not None:  # another process finished it: learn, ask again
                    self.strategy.tell(arch, self._told_score(self.trials[other]))
            now = time.time()
            return Trial(number, arch, fidelity=fidelity, started_at=now, worker=self.worker_id, heartbeat=now,
                         ask_seq=event)

        keys: list[Hashable] = []
        trial = self.storage.create_trial(self._id, self._synced, make)
        self._add(trial, keys[-1])
        self._synced = trial.event
        return trial

    def enqueue(self, arch: Architecture, fidelity: dict[str, Any] | None = None,
                user_attrs: dict[str, Any] | None = None, tell_strategy: bool = False) -> Trial:
        """Queue ``arch`` as a WAITING trial; ``optimize``/``resume`` run WAITING trials before asking
        the strategy (``optimize(evaluator, n_trials=0)`` runs just the queue).

        The trial is stored, claimed, resumed, retried and listed like any other, with its own
        ``fidelity`` and ``user_attrs`` (JSON values, e.g. ``{"stage": "retrain"}``). It is not a
        proposal: it does not count towards ``n_trials``, and by default (``tell_strategy=False``)
        its outcome is kept from the strategy, so a retrain at another fidelity cannot mislead the
        search; ``tell_strategy=True`` tells it like a proposal's (e.g. a warm-start architecture).
        """
        arch = self.space.check(arch)
        attrs = dict(user_attrs or {})
        _check_json(attrs, "user_attrs")
        if fidelity is not None:
            _check_json(fidelity, "fidelity")

        def make(number: int, event: int, changed: list[Trial]) -> Trial:
            self._absorb(changed)
            return Trial(number, arch, TrialState.WAITING, fidelity=None if fidelity is None else dict(fidelity),
                         started_at=time.time(), user_attrs=attrs, tell_strategy=tell_strategy)

        trial = self.storage.create_trial(self._id, self._synced, make)
        self._add(trial)
        self._synced = trial.event
        return trial

    def set_trial_user_attr(self, trial: Trial | int, key: str, value: Any) -> None:
        """Store a JSON value with one trial (e.g. where its weights were saved)."""
        trial = self._trial(trial)
        _check_json(value, f"user attribute {key!r}")
        event = self.storage.set_trial_user_attrs(self._id, trial.number, {key: value})
        trial.user_attrs[key] = value
        trial.event = event
        self._after_write(event)

    def tell(self, trial: Trial | int, result: Result | dict[str, float] | float) -> Trial:
        """Record a result: a Result, a metrics dict, or the single objective's value."""
        trial = self._trial(trial)
        if trial.done:
            raise UsageError(f"trial {trial.number} of study {self.name!r} is already {trial.state.value}")
        if not isinstance(result, Result):
            metrics = result if isinstance(result, dict) else {self.objectives[0]: float(result)}
            result = Result(metrics=metrics)
        self._finish(trial, result)
        return trial

    def _trial(self, trial: Trial | int) -> Trial:
        """A trial of this study, by object or number (UsageError naming the range otherwise)."""
        if isinstance(trial, Trial):
            return trial
        if isinstance(trial, bool) or not isinstance(trial, int) or not 0 <= trial < len(self.trials):
            raise UsageError(f"study {self.name!r} has no trial {trial!r} (trials 0..{len(self.trials) - 1})")
        return self.trials[trial]

    def _finish(self, trial: Trial, result: Result, retry: bool = False) -> Trial | None:
        """Store the outcome; tell the strategy, or (``retry=True`` and FAILED) queue a linked retry instead.
        Returns the retry trial, if any."""
        trial.metrics, trial.cost, trial.error = dict(result.metrics), result.cost, result.error
        trial.user_attrs.update(result.user_attrs)
        trial.intermediate = [(int(s), float(v)) for s, v in result.intermediate] or trial.intermediate
        trial.finished_at = time.time()
        score = self.score(result) if result.ok else None
        if result.ok and score is None:
            trial.state = TrialState.FAILED
            trial.error = f"objective missing or NaN in metrics {sorted(result.metrics)}"
        else:
            trial.state = {"ok": TrialState.COMPLETE, "pruned": TrialState.PRUNED}.get(result.status, TrialState.FAILED)
        again = None
        if retry and trial.state == TrialState.FAILED:
            again = Trial(-1, trial.arch, TrialState.WAITING, fidelity=trial.fidelity, started_at=time.time(),
                          retry_of=trial.number, user_attrs=dict(trial.user_attrs),
                          tell_strategy=trial.tell_strategy)
        told = again is None and trial.tell_strategy
        self.storage.finish_trial(self._id, trial, told=told, retry=again)
        self._after_write(trial.event)
        if told:
            self.strategy.tell(trial.arch, score)
        elif again is not None:
            self._add(again)
        return again

    def retries_of(self, trial: Trial) -> int:
        """How many failed attempts precede ``trial`` in its retry chain."""
        count, current = 0, trial
        while current.retry_of is not None:
            count, current = count + 1, self.trials[current.retry_of]
        return count

    def score(self, result: Result) -> float | tuple[float, ...] | None:
        """Strategy-facing score (higher is better), None if an objective is missing or NaN."""
        return self._score(result.metrics)

    def _score(self, metrics: dict[str, float]) -> float | tuple[float, ...] | None:
        values = []
        for name, sign in zip(self.objectives, self._signs):
            value = metrics.get(name)
            if value is None or math.isnan(value):
                return None
            values.append(sign * float(value))
        return values[0] if len(values) == 1 else tuple(values)

    def _told_score(self, trial: Trial) -> float | tuple[float, ...] | None:
        return self._score(trial.metrics) if trial.state == TrialState.COMPLETE else None

    # -- sync with the storage -----------------------------------------------------------------
    def _add(self, trial: Trial, key: Hashable | None = None) -> None:
        if trial.number < len(self.trials):
            self.trials[trial.number] = trial
        elif trial.number == len(self.trials):
            self.trials.append(trial)
        else:
            raise RuntimeError(f"trial {trial.number} arrived before trials {len(self.trials)}..{trial.number - 1}")
        if trial.tell_strategy:  # trials kept from the strategy do not stop it proposing their architecture
            self._keys.setdefault(self.space.canonical_key(trial.arch) if key is None else key, trial.number)

    def _absorb(self, changed: list[Trial]) -> None:
        """Take in trials changed by others; tell the strategy the results it has not seen."""
        for stored in changed:
            local = self.trials[stored.number] if stored.number < len(self.trials) else None
            if local is not None and local.event >= stored.event:
                continue
            newly_told = stored.tell_seq is not None and (local is None or local.tell_seq is None)
            if local is None:
                self._add(stored)
            else:
                vars(local).update(vars(stored))
            if newly_told:
                self.strategy.tell(stored.arch, self._told_score(stored))

    def _after_write(self, event: int) -> None:
        """Advance the sync mark past our own write, fetching others' changes if they came first."""
        if event == self._synced + 1:
            self._synced = event
        else:
            self.sync()

    def claim(self, trial: Trial) -> bool:
        """Take a WAITING trial to run it here; False if another process got it first."""
        claimed = self.storage.claim_trial(self._id, trial.number, self.worker_id)
        if claimed is None:
            self.sync()
            return False
        vars(trial).update(vars(claimed))
        self._after_write(claimed.event)
        return True

    def sync(self) -> None:
        """Fetch what other processes changed since this study last looked."""
        changed = self.storage.trials(self._id, self._synced)
        self._absorb(changed)
        if changed:
            self._synced = max(self._synced, max(t.event for t in changed))

    def _replay(self, stored: list[Trial]) -> None:
        """Rebuild the strategy from the stored ask/tell events (exact for single-writer studies)."""
        for trial in stored:
            self._add(trial)
        self._synced = max(t.event for t in stored)
        events = sorted([(t.ask_seq, 0, t) for t in stored if t.ask_seq is not None] +
                        [(t.tell_seq, 1, t) for t in stored if t.tell_seq is not None], key=lambda e: e[:2])
        fresh_state = _state_or_none(self.strategy)
        for _, kind, trial in events:
            if kind == 1:
                self.strategy.tell(trial.arch, self._told_score(trial))
                continue
            try:
                proposed = self.strategy.ask()
            except SpaceExhausted:
                proposed = None
            if proposed != trial.arch:
                self._relearn(stored, fresh_state)
                return
        self._check_snapshot()

    def _relearn(self, stored: list[Trial], fresh_state: dict[str, Any] | None) -> None:
        """Fallback when replay diverges (several writers, or a nondeterministic strategy): a fresh
        strategy told every finished result in order; pending architectures are avoided by the study."""
        warnings.warn(f"study {self.name!r}: the strategy's replay diverged from the stored trials (several "
                      "processes, or a nondeterministic strategy); continuing from the told results only",
                      RuntimeWarning, stacklevel=3)
        if fresh_state is None:
            self.strategy = get_strategy(self.strategy.name, self.space, seed=self.seed,
                                         **(self._record.strategy_config or {}))
        else:
            self.strategy.load_state_dict(fresh_state)
        for trial in sorted((t for t in stored if t.tell_seq is not None), key=lambda t: t.tell_seq):
            self.strategy.tell(trial.arch, self._told_score(trial))

    def strategy_fingerprint(self) -> dict[str, Any]:
        """A small summary of the strategy's state (counts and a hash of its random generator)."""
        rng_state = json.dumps(self.strategy.rng.bit_generator.state, sort_keys=True, default=str)
        return {"n_asked": self.strategy.n_asked, "n_told": self.strategy.n_told,
                "rng": hashlib.sha1(rng_state.encode()).hexdigest()[:16]}

    def save_snapshot(self) -> None:
        """Store the strategy fingerprint; a later load checks that its replay reproduces it."""
        self._record.strategy_state = self.strategy_fingerprint()
        self.storage.update_study(self._id, strategy_state=self._record.strategy_state)

    def _check_snapshot(self) -> None:
        saved, now = self._record.strategy_state, self.strategy_fingerprint()
        if saved and (saved["n_asked"], saved["n_told"]) == (now["n_asked"], now["n_told"]) and saved != now:
            warnings.warn(f"study {self.name!r}: replaying the stored trials did not reproduce the strategy's "
                          "saved state (is the strategy deterministic given its seed?)", RuntimeWarning, stacklevel=3)

    # -- the loop ------------------------------------------------------------------------------
    def optimize(self, evaluator: Evaluator | Callable[..., Result], n_trials: int,
                 timeout: float | None = None, n_workers: int = 1, executor: str = "inline",
                 catch: bool = True, callbacks: Sequence[Callable[[Study, Trial], None]] = (),
                 **options: Any) -> Study:
        """Propose and evaluate ``n_trials`` new architectures (plus any trials left WAITING), at most
        ``n_workers`` at a time, asynchronously. See :func:`nasforge.experiment.scheduler.run` for
        ``executor``, ``max_pending``, ``max_retries``, ``trial_timeout``, ``max_failure_rate``,
        ``pruner``, ``fidelity``, ``progress`` and the other options."""
        from .scheduler import run

        run(self, evaluator, n_trials=n_trials, timeout=timeout, n_workers=n_workers, executor=executor,
            catch=catch, callbacks=callbacks, **options)
        return self

    def resume(self, evaluator: Evaluator | Callable[..., Result], **overrides: Any) -> Study:
        """Continue the last ``optimize`` call to its total: re-run stale and WAITING trials, then
        propose the rest of its ``n_trials``. ``overrides`` replace stored settings (e.g. n_workers)."""
        config = dict(self.run_config or {})
        if not config:
            raise UsageError(f"study {self.name!r} has no recorded optimize run to resume")
        total = config.pop("n_trials_total")
        config["evaluator_spec"] = config.pop("evaluator", None)
        config.update(overrides)
        remaining = max(0, total - self.n_proposals)
        return self.optimize(evaluator, n_trials=remaining, **config)

    # -- results -------------------------------------------------------------------------------
    def completed(self, searched_only: bool = False) -> list[Trial]:
        """COMPLETE trials; ``searched_only``: just those told to the strategy (not enqueued retrains)."""
        return [t for t in self.trials if t.state == TrialState.COMPLETE and (t.tell_strategy or not searched_only)]

    @property
    def best_trial(self) -> Trial:
        """The best complete trial of the search (single objective; trials kept from the strategy,
        such as enqueued retrains at another fidelity, are not ranked)."""
        if self.is_multi_objective:
            raise UsageError("a multi-objective study has a Pareto front, not one best trial; use pareto_front()")
        done = self.completed(searched_only=True)
        if not done:
            raise UsageError(f"study {self.name!r} has no complete trial yet")
        sign, name = self._signs[0], self.objectives[0]
        return max(done, key=lambda t: sign * t.metrics[name])

    @property
    def best_value(self) -> float:
        return self.best_trial.metrics[self.objectives[0]]

    @property
    def best_arch(self) -> Architecture:
        return self.best_trial.arch

    def pareto_front(self) -> list[Trial]:
        """Complete trials of the search not dominated on the objectives (enqueued trials kept from
        the strategy are not ranked)."""
        from ..pareto import non_dominated_mask

        done = self.completed(searched_only=True)
        if not done:
            return []
        mask = non_dominated_mask([[t.metrics[o] for o in self.objectives] for t in done], self.directions)
        return [t for t, keep in zip(done, mask) if keep]

    def trials_dataframe(self):
        """One row per trial: number, state, arch (text), metrics, cost, error, retry link, times."""
        import pandas as pd

        rows = []
        for t in self.trials:
            rows.append({"number": t.number, "state": t.state.value, "arch": self.space.format(t.arch),
                         **t.metrics, "cost": t.cost, "error": t.error, "retry_of": t.retry_of,
                         "attempts": t.attempts, "worker": t.worker, "n_intermediate": len(t.intermediate),
                         "started_at": t.started_at, "finished_at": t.finished_at,
                         **{f"user_attrs_{k}": v for k, v in t.user_attrs.items()}})
        return pd.DataFrame(rows)

    def to_json(self) -> dict[str, Any]:
        """The study and all its trials as JSON-ready data."""
        return {"name": self.name, "space": self.space.name, "strategy": self.strategy.name,
                "objectives": self.objectives, "directions": self.directions, "seed": self.seed,
                "user_attrs": self.user_attrs,
                "trials": [{"number": t.number, "state": t.state.value, "arch": self.space.format(t.arch),
                            "metrics": t.metrics, "cost": t.cost, "error": t.error, "fidelity": t.fidelity,
                            "intermediate": [list(p) for p in t.intermediate], "retry_of": t.retry_of,
                            "attempts": t.attempts, "worker": t.worker, "started_at": t.started_at,
                            "finished_at": t.finished_at, "user_attrs": t.user_attrs,
                            "told_to_strategy": t.tell_strategy} for t in self.trials]}

    def __repr__(self) -> str:
        return (f"Study({self.name!r}, space={self.space.name!r}, strategy={self.strategy.name!r}, "
                f"objectives={self.objectives}, trials={len(self.trials)}, storage={self.storage.url!r})")


def _check_json(value: Any, what: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{what} must hold JSON values (str, number, bool, None, list, dict): {exc}") from None


def _state_or_none(strategy: Strategy) -> dict[str, Any] | None:
    """The strategy's state, or None for strategies that cannot snapshot themselves (Optuna's)."""
    try:
        return strategy.state_dict()
    except TypeError:
        return None
