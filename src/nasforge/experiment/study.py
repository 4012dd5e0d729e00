"""Study: the durable record of one search, with ask/tell, loading and the optimize loop.

Trials live in a storage (in memory by default, SQLite/PostgreSQL by URL). A loaded study rebuilds
its strategy by replaying the stored ask/tell events in order with the stored seed
(:mod:`._replay`), so it continues exactly where it stopped. Several processes may run the same
study: each one syncs the trials the others created before asking, and never proposes an
architecture another one runs. Results are checked before they are stored (:mod:`._results`);
exports live in :mod:`._export`; the loop in :mod:`.scheduler` uses only the public methods here.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import math
import numbers
import os
import reprlib
import sys
import threading
import time
import warnings
from collections.abc import Callable, Collection, Hashable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from ..checks import check_bool, check_seed, is_real, is_scored
from ..evaluators.base import Evaluator, Result
from ..exceptions import SpaceExhausted, StudyExistsError, StudyNotFoundError, UsageError, user_stacklevel
from ..pareto import as_direction
from ..settings import owned_by_nasforge, unkept_settings
from ..spaces import Architecture, SearchSpace, as_space, stored_space
from ..spaces.base import check_storable
from ..strategies import Strategy, check_fresh, check_initialised, get_strategy
from ..strategies.base import SCORE_LIMIT, SCORE_LIMIT_REASON, beyond_limit, proposal_error
from ..strategies.base import restoring_stored_settings
from ..strategies.constraints import check_satisfiable, constrain, parse_constraints, violation_of
from ..strategies.multi_objective import MultiObjectiveStrategy
from . import _export, _replay
from ._guard import exit_if_unguarded_child, stop_model_file
from ._results import as_result, checked_result, non_string_keys, plain_values, storable_text
from .identity import STALE_AFTER, is_orphan, new_worker_id, process_gone
from .keepalive import HEARTBEAT_INTERVAL, KeepAlive
from .reporting import takes_reporter
from .stages import HIGHEST_BUDGET_ONLY, PRUNES_WITHIN_BUDGET
from .storage import Storage, StudyRecord, get_storage, open_storage
from .storage.base import MAX_NAME_LENGTH, check_name, check_stored_arch  # noqa: F401  (the first two: re-exports)
from .storage.base import check_labels, check_stored_archs, valid_target
from .storage.base import RUN_N_TRIALS, DamagedRowError, FinishedTrialError, WriteRightsError
from .storage.display import display_url, without_password
from .trial import Trial, TrialState

DRAWN_SEEDS = 2 ** 31
"""A study created without a seed draws one below this."""
EARLIER_CURVES = "earlier_curves"
"""The user attribute keeping the intermediate curves of a trial's earlier, unfinished attempts."""
SPACE_EXHAUSTED = "space_exhausted"
"""The study user attribute the optimize loop sets to the number of proposals at which the strategy found no new
architecture to propose: while the study has no more proposals than that, none is due (see :func:`exhausted`)."""
init_config = _replay.init_config  # re-exported: used by other modules to record settings
_Method = TypeVar("_Method", bound=Callable[..., Any])


def _locked(method: _Method) -> _Method:
    """``method`` run under the study's lock: one Study object may be shared by threads (ask/tell from a pool)."""
    @functools.wraps(method)
    def locked(self: Study, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)
    return locked  # type: ignore[return-value]


class _StrategyStep:
    """:meth:`Study._strategy_step`: marks the study's strategy stale when an exception other than running out of
    proposals leaves the block. A plain context manager: entered twice per trial, it costs less than a
    generator-based one."""

    __slots__ = ("_study",)

    def __init__(self, study: Study) -> None:
        self._study = study

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is not None and not issubclass(kind, (SpaceExhausted, _TotalReached)):
            self._study._strategy_stale = True


class Study:
    """Trials of one search: the strategy proposes, an evaluator (or the caller) measures.

    ``objectives`` names the metric(s) to optimize and ``directions`` how ("maximize"/"minimize");
    the strategy always sees scores where higher is better. ``storage`` is a Storage, a URL
    (``sqlite:///file.db``, ``postgresql+psycopg://...``) or None for memory. A study whose
    ``name`` already exists in the storage is an error unless ``load_if_exists=True``. Without a
    ``seed`` a strategy named by a string gets a drawn one, recorded (``study.seed``) so that a loaded
    study replays its strategy exactly.

    A trial asked by hand (:meth:`ask`) stays RUNNING while this object lives and is open: a daemon thread
    heartbeats it every :attr:`heartbeat_interval` seconds until it is told (or the study closed), so that
    another process re-queues it only once this one dies or is paused, as it would the optimize loop's trials.

    One Study object may be shared by threads (``ask``/``tell`` from a thread pool): its methods that read or
    change its trials and strategy hold a lock of its own, so each result is told to the strategy once.
    """

    heartbeat_interval: float = HEARTBEAT_INTERVAL
    """Seconds between heartbeats of the trials asked by hand; below the ``stale_after`` of every process sharing
    the study (60 s by default)."""

    def __init__(self, space: SearchSpace | str, strategy: Strategy | str = "evolution",
                 objectives: str | Sequence[str] = "val_acc", directions: str | Sequence[str] = "maximize",
                 seed: int | None = None, name: str = "study",
                 storage: Storage | str | os.PathLike[str] | None = None,
                 load_if_exists: bool = False, user_attrs: dict[str, Any] | None = None,
                 **strategy_kwargs: Any) -> None:
        exit_if_unguarded_child(reading=load_if_exists is True)  # a study to create stops a model file (below)
        check_bool("load_if_exists", load_if_exists)
        check_name(name, new=not load_if_exists)  # a study stored under an older version's name may be loaded
        space = as_space(space)
        one_direction = isinstance(directions, str)  # a single name applies to every objective
        objectives, directions = _as_list(objectives, "objectives"), _as_list(directions, "directions")
        repeated = sorted({o for o in objectives if objectives.count(o) > 1})
        if repeated:
            raise UsageError(f"objectives {objectives} name {repeated} more than once; each objective is one metric")
        if not load_if_exists:  # with it, checked below unless the study is stored (an old one keeps its names)
            _check_objective_names(objectives)
        if one_direction:
            directions = directions * len(objectives)
        if len(directions) != len(objectives):
            raise UsageError(f"{len(objectives)} objectives but {len(directions)} directions")
        directions = [as_direction(d) for d in directions]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise UsageError(f"seed must be a non-negative integer or None, got {seed!r}")
        if seed is not None:
            seed = check_seed("seed", seed)  # stored as a signed 64-bit integer (a Python int, never numpy's)
        if user_attrs is not None and not isinstance(user_attrs, dict):
            raise UsageError(f"user_attrs must be a dict of JSON values, got {type(user_attrs).__name__}")
        user_attrs = _check_json(user_attrs or {}, "user_attrs")
        if not isinstance(strategy, (str, Strategy)):
            raise UsageError(f"strategy must be a name or a Strategy, got {type(strategy).__name__} {strategy!r}")
        drawn = seed is None and isinstance(strategy, str)  # drawn here and recorded: a resume replays exactly
        given = strategy if isinstance(strategy, str) else None
        if isinstance(strategy, str):
            strategy_kwargs = plain_values(strategy_kwargs)
            strategy_config: dict[str, Any] | None = dict(strategy_kwargs)
            if drawn:
                import secrets  # only here: `import nasforge` stays light

                seed = secrets.randbelow(DRAWN_SEEDS)
            _check_strategy_keywords(strategy, strategy_kwargs)
            strategy = get_strategy(strategy, space, seed=seed, **strategy_kwargs)
            for rule in strategy.older_rules:
                if _takes_keyword(given, rule):
                    strategy_config.setdefault(rule, getattr(strategy, rule))  # recorded: a replay uses it alone
        else:
            _check_no_strategy_keywords(strategy, strategy_kwargs)
            check_initialised(strategy)
            if seed is not None and strategy.seed != seed:
                raise UsageError(f"seed={seed} but the strategy object was seeded with {strategy.seed}; pass the "
                                 "same seed (or seed=None to take the strategy's)")
            seed = None if strategy.seed is None else check_seed("strategy.seed", strategy.seed)
            strategy_config = init_config(strategy)
        _check_strategy_space(strategy, space)
        _check_objective_count(strategy, objectives)
        strategy_name = _recorded_name(strategy, given)
        storage = _storage_arg(storage)
        store = get_storage(storage)
        self._owns_storage = store is not storage  # opened here from a URL (or None): close() closes it
        if load_if_exists is True and not _is_stored(store, name):  # created, not joined: stops a model file
            try:
                stop_model_file()
            except BaseException:
                if self._owns_storage:
                    store.close()
                raise
        if store.url != "memory":  # a stored study records its settings as JSON
            if given is None:  # and replays its trials into the object: a used one would not resume exactly
                check_fresh(strategy, f"study {name!r}")
            _check_recordable(strategy_config or {}, name)
        attrs = dict(user_attrs or {})
        if getattr(strategy, "multi_fidelity", False):
            attrs[HIGHEST_BUDGET_ONLY] = True  # the rule it is ranked by (older studies keep theirs)
            attrs[PRUNES_WITHIN_BUDGET] = True  # and the one its pruner compares curves by
        record = StudyRecord(name=name, space=space.name, objectives=objectives, directions=directions,
                             strategy=strategy_name, seed=seed, space_config=init_config(space) or {},
                             strategy_config=strategy_config, user_attrs=attrs)
        if store.url != "memory" and not _is_stored(store, name):  # to be created, not loaded: warned before, so
            _warn_settings_unkept(space, "space", name)  # that warnings as errors leave nothing stored
            if given is None and strategy_config is not None:  # by name, the keywords given are recorded
                _warn_settings_unkept(strategy, "strategy", name)
        if not (load_if_exists and _is_stored(store, name)):  # a stored study keeps the constraints it recorded
            if given is None:  # and the strategy name it recorded
                _check_name_free(strategy, strategy_name)
            if not _is_stored(store, name):  # a stored one says it exists (load_if_exists=True joins it)
                check_labels(space.name, strategy_name, getattr(store, "label_limit", None))
            check_satisfiable(parse_constraints(getattr(strategy, "constraints", None)))
            if load_if_exists:  # a study to create: its objective names are checked as above
                _check_objective_names(objectives)
        try:
            if load_if_exists:
                _check_name_to_create(store, name)
            store.create_study(record)
        except StudyExistsError:
            if not load_if_exists:
                raise StudyExistsError(f"study {name!r} already exists in {display_url(store.url)}; load it with "
                                       "Study.load or pass load_if_exists=True") from None
            record = store.load_study(name)
            if drawn and record.seed != seed:  # no seed given: continue with the stored one
                seed = record.seed
                strategy = get_strategy(strategy_name, space, seed=seed, **strategy_kwargs)
            _check_same_setup(record, display_url(store.url), space, strategy, strategy_name, objectives, directions,
                              seed)
        self._attach(space, strategy, record, store)

    @classmethod
    def load(cls, name: str, storage: Storage | str | os.PathLike[str], strategy: Strategy | str | None = None,
             space: SearchSpace | str | None = None, replay: bool = True) -> Study:
        """Open a stored study and restore its strategy by replaying its trials.

        ``strategy`` (a fresh instance, seeded like the original) is needed only for studies created
        with a strategy object whose settings could not be recorded; a name, or an object of another strategy,
        seed or settings than the stored ones, is a UsageError, as for ``Study(..., load_if_exists=True)``
        (a name may be given: the stored one rebuilds the stored strategy). ``space`` is rebuilt from the
        stored name and options by default (``get_space(name, **options)``); pass the space object (or a
        space name, as ``Study`` takes) to use yours instead, e.g. one whose class is not registered in this
        process: it must be the stored space with the same options (UsageError otherwise). ``storage`` may be
        read-only (``open_storage(url, readonly=True)``) for inspection. The replay asks and tells the strategy once per
        stored trial, so for a model-based strategy (tpe, gp_bo, bananas, ...) it costs about what the search's
        own asks did; ``replay=False`` skips it for inspection (trials, best_trial, pareto_front, to_json(), ...):
        the strategy stays fresh, so it takes a read-only storage, which refuses any ask or tell.
        """
        exit_if_unguarded_child(reading=True)  # opened only: its asks, tells and runs stop a model file
        check_name(name, new=False)
        check_bool("replay", replay)
        space = None if space is None else as_space(space)
        storage = _storage_arg(storage)
        if not replay and not getattr(storage, "readonly", False):
            raise UsageError(f"Study.load({name!r}, replay=False) leaves the strategy unrestored, so it needs a "
                             "read-only storage (which refuses asks and tells): open_storage(url, readonly=True)")
        try:
            store = open_storage(storage, create=False)  # a mistyped path is an error, not a new empty database
        except WriteRightsError as exc:  # a role that may only read: loaded for inspection, writes refused
            warnings.warn(f"{exc}; Study.load opened it read-only (its asks and tells are refused): pass "
                          "open_storage(url, readonly=True) to say so", UserWarning, stacklevel=user_stacklevel())
            store = open_storage(storage, readonly=True)
        record = store.load_study(name)
        if space is not None:
            _check_space(record, display_url(store.url), space, "; leave space= out to rebuild the stored one")
        space = space or stored_space(record.space, record.space_config)
        strategy = _strategy_to_load(record, display_url(store.url), space, strategy)
        study = cls.__new__(cls)
        study._owns_storage = store is not storage
        study._attach(space, strategy, record, store, replay=replay)
        return study

    def _attach(self, space: SearchSpace, strategy: Strategy, record: StudyRecord, storage: Storage,
                replay: bool = True) -> None:
        self._lock = threading.RLock()  # see _locked
        self._strategy_stale = False  # an ask or tell was interrupted: rebuilt before the strategy is used again
        self._base_state = _replay.state_or_none(strategy)  # what a rebuild starts from (before any replay)
        self.space, self.strategy, self.storage = space, strategy, storage
        self.name, self.seed = record.name, record.seed
        self.objectives, self.directions = list(record.objectives), list(record.directions)
        self.record = record
        self._id: int = record.id  # type: ignore[assignment]
        self.worker_id = new_worker_id()
        self._keepalive = KeepAlive(self)
        self._trials: list[Trial] = []
        self._keys: dict[Hashable, int] = {}  # canonical key -> number of a trial proposing it
        self._pairs: dict[tuple[Hashable, str], int] = {}  # (canonical key, fidelity as JSON) -> the same
        self._waiting: set[int] = set()  # numbers of every WAITING trial, and of some that have moved on since
        self._synced = 0  # every change up to this event is reflected in self._trials
        storage.register_space(self._id, space)
        stored = storage.trials(self._id)  # read after the record: trials others add meanwhile only add rows
        check_stored_archs(space, stored, storage.url, self.name, record.space_config)
        for trial in stored:
            self._add(trial)
        if record.numbered is not None and len(self._trials) < record.numbered:  # the last rows deleted by hand
            raise self._missing_rows(record.numbered, f"it numbered {record.numbered} trials")
        if stored:
            self._synced = max(t.event for t in stored)
            if replay:
                with restoring_stored_settings():  # a replay that diverges rebuilds the strategy from the record
                    _replay.replay(self, stored)

    def _check_stored(self, trial: Trial) -> None:
        check_stored_arch(self.space, trial, self.storage.url, self.name)

    # -- properties ----------------------------------------------------------------------------
    @property
    def strategy(self) -> Strategy:
        """The strategy, in the state the trials imply: one whose ask or tell was interrupted (Ctrl-C, an error)
        is rebuilt by replaying the trials first (see :meth:`_strategy_step`)."""
        if self._strategy_stale:
            self._restore_strategy()
        return self._strategy

    @strategy.setter
    def strategy(self, strategy: Strategy) -> None:
        self._strategy = strategy

    @property
    def trials(self) -> list[Trial]:
        """The trials, ordered by number: a fresh list at each access, so sorting or emptying it leaves the
        study as it is (the Trial objects are the study's own: read them, change them through the study)."""
        return list(self._trials)

    @property
    def is_multi_objective(self) -> bool:
        """Whether the study optimizes more than one objective (then it has a :meth:`pareto_front`, not one
        :attr:`best_trial`)."""
        return len(self.objectives) > 1

    @property
    def id(self) -> int:
        """The study's id in its storage."""
        return self._id

    @property
    def signs(self) -> list[float]:
        """+1 for maximized objectives, -1 for minimized ones (scores are ``sign * value``)."""
        return [1.0 if d == "maximize" else -1.0 for d in self.directions]

    @property
    def n_proposals(self) -> int:
        """Trials the strategy proposed (not retries, not enqueued trials)."""
        return sum(t.is_proposal for t in self._trials)

    @property
    def exhausted(self) -> bool:
        """Whether the strategy ran out of new architectures (as of the last :meth:`sync`): no new proposal is due,
        whatever the target."""
        return exhausted(self.record.user_attrs, self.n_proposals)

    @property
    def user_attrs(self) -> dict[str, Any]:
        """A copy of the JSON values stored with the study (as of the last :meth:`sync`); change them with
        :meth:`set_user_attr`."""
        return dict(self.record.user_attrs)

    def set_user_attr(self, key: str, value: Any) -> None:
        """Store a JSON value with the study (merged into the stored ones: keys other processes set stay)."""
        _check_key(key, "a study user attribute's")
        value = _check_json(value, f"study user attribute {key!r}")
        self.record.user_attrs = self.storage.set_study_user_attrs(self._id, {key: value})

    @property
    def run_config(self) -> dict[str, Any] | None:
        """Settings of the last ``optimize`` call (used by ``resume``)."""
        return self.record.run_config

    def stored_run_config(self) -> dict[str, Any] | None:
        """:attr:`run_config` as stored now: another process may have recorded its run since this study was
        opened."""
        return self.storage.study(self._id).run_config

    def set_run_config(self, config: dict[str, Any] | None, keep_target: bool = False) -> None:
        """Record the settings of an ``optimize`` call (the scheduler does this); ``keep_target``: never lower the
        stored ``n_trials_total`` (checked with the write, so that concurrent runs keep the highest)."""
        if config is not None and not (isinstance(config, dict) and valid_target(config.get("n_trials_total", 0))):
            raise UsageError(f"study {self.name!r}: a run config is a dict whose n_trials_total, when given, is a "
                             f"number >= 0 (or None: no run), got {config!r:.100}")
        if keep_target:
            self.record.run_config = self.storage.record_run_config(self._id, config)
            return
        self.record.run_config = config
        self.storage.update_study(self._id, run_config=config)

    # -- ask / tell ----------------------------------------------------------------------------
    @_locked
    def ask(self, fidelity: dict[str, Any] | None = None, queued: bool = False) -> Trial:
        """A new RUNNING trial with the strategy's next proposal (stored before it is returned); ``queued``: a
        WAITING one instead, to :meth:`claim` when it starts (the optimize loop queues proposals so)."""
        fidelity = _check_fidelity(fidelity)
        _check_fidelity_clash(self.strategy, fidelity)
        return self._propose(fidelity, None, queued)

    @_locked
    def ask_until(self, n_trials_total: int, fidelity: dict[str, Any] | None = None,
                  queued: bool = False) -> Trial | None:
        """Like :meth:`ask` while the study has fewer than ``n_trials_total`` proposals, counting those of every
        process running it; None once it has them. The count is checked atomically with the trial's creation,
        so processes sharing a study never propose more than ``n_trials_total`` together."""
        fidelity = _check_fidelity(fidelity)
        _check_fidelity_clash(self.strategy, fidelity)
        try:
            return self._propose(fidelity, n_trials_total, queued)
        except _TotalReached:
            return None

    def _check_source(self) -> None:
        """A ``UsageError`` when the study searches a model space whose module file changed since the study was
        made: its networks would not be those its trials trained, so no trial is proposed or run."""
        try:
            getattr(self.space, "check_source", lambda: None)()
        except UsageError as exc:
            module = str(_plain(init_config(self.space)).get("module") or "")
            raise UsageError(f"study {self.name!r}: {exc}{_source_advice(module)}") from None

    def _propose(self, fidelity: dict[str, Any] | None, limit: int | None, queued: bool = False) -> Trial:
        """Store and return the strategy's next proposal (WAITING when ``queued``); ``limit``: raise
        :class:`_TotalReached` (creating nothing) when the study already has that many proposals."""
        stop_model_file()  # a model file's top-level code asking a trial: script code
        check_bool("queued", queued)  # of ask and ask_until: any other value would be taken for a flag
        self._check_source()
        if self._strategy_stale:  # rebuilt before the storage's transaction: the rebuild reads the storage
            self._restore_strategy()

        def make(number: int, event: int, changed: list[Trial]) -> Trial:
            self._absorb(changed)
            if limit is not None and self.n_proposals >= limit:
                raise _TotalReached  # cancels the reservation of the number
            while True:
                arch = self._checked_proposal(self.strategy.ask())
                asked = getattr(self.strategy, "asked_fidelity", None)  # multi-fidelity: the strategy's budget
                chosen = {**(fidelity or {}), **asked} if asked else fidelity
                keys.append(self.space.canonical_key(arch))
                # another process has it: the architecture, or for a multi-fidelity strategy the (architecture,
                # budget) pair (a promotion asks again for an architecture at a higher budget)
                other = (None if not self.strategy.dedup else self._keys.get(keys[-1]) if asked is None
                         else self._pairs.get((keys[-1], _fidelity_key(chosen))))
                if other is None:
                    break
                # the strategy keeps it pending: another process's result reaches it by sync, as its own would
                if self._trials[other].tell_seq is not None:  # another process finished it: learn, ask again
                    self.learn_from(self._trials[other])
            now = time.time()
            if queued:
                return Trial(number, arch, TrialState.WAITING, fidelity=chosen, started_at=now, ask_seq=event)
            return Trial(number, arch, fidelity=chosen, started_at=now, worker=self.worker_id, heartbeat=now,
                         ask_seq=event)

        keys: list[Hashable] = []
        with self._strategy_step():  # the strategy asked a proposal only once it is stored and in memory
            trial = self.storage.create_trial(self._id, self._synced, make)
            self._add(trial, keys[-1])
        self._synced = trial.event
        if not queued:
            self._keepalive.start()
        return trial

    def _checked_proposal(self, arch: Any) -> Architecture:
        """``arch`` when it is an architecture of the study's space; a UsageError naming the strategy otherwise
        (before anything is stored or evaluated)."""
        try:
            return check_storable(self.space.check(arch))
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise proposal_error(self.strategy, self.record.strategy, self.space.name, exc) from None

    @_locked
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
        stop_model_file()  # a model file's top-level code queueing a trial: script code
        try:
            arch = check_storable(self.space.check(arch))
        except (ValueError, TypeError) as exc:
            raise UsageError(f"enqueue: {exc}") from None
        if user_attrs is not None and not isinstance(user_attrs, dict):
            raise UsageError(f"user_attrs must be a dict of JSON values, got {type(user_attrs).__name__}")
        attrs = _check_json(dict(user_attrs or {}), "user_attrs")
        fidelity = _check_fidelity(fidelity)
        if not isinstance(tell_strategy, bool):
            raise UsageError(f"tell_strategy must be True or False, got {tell_strategy!r}")

        def make(number: int, event: int, changed: list[Trial]) -> Trial:
            self._absorb(changed)
            return Trial(number, arch, TrialState.WAITING, fidelity=None if fidelity is None else dict(fidelity),
                         started_at=time.time(), user_attrs=attrs, tell_strategy=tell_strategy)

        trial = self.storage.create_trial(self._id, self._synced, make)
        self._add(trial)
        self._synced = trial.event
        return trial

    @_locked
    def tell(self, trial: Trial | int,
             result: Result | dict[str, float] | float | Sequence[float]) -> Trial:
        """Record a result: a Result, a metrics dict, a tuple or list with one value per objective (in
        objective order), or the single objective's value.

        A value of another kind, or a tuple of the wrong length, is a UsageError and nothing is stored.
        A result that cannot be stored as it is (a metric that is not a number, a non-finite
        objective, ...) makes the trial FAILED with the reason, with a warning. A finished trial is a
        UsageError, also one that another Study object or process told first: its stored result is kept."""
        stop_model_file()  # a model file's top-level code telling a result: script code
        trial = self.get_trial(trial)
        if trial.done:
            raise UsageError(f"trial {trial.number} of study {self.name!r} is already {trial.state.value}")
        self.record_result(trial, as_result(result, self.objectives, "tell got"))
        if trial.state == TrialState.FAILED and trial.error and trial.error.startswith("invalid result"):
            warnings.warn(f"study {self.name!r}: trial {trial.number} FAILED: {trial.error}", RuntimeWarning,
                          stacklevel=user_stacklevel())
        return trial

    @_locked
    def get_trial(self, trial: Trial | int) -> Trial:
        """A trial of this study, by object or number (an int or a NumPy integer; UsageError naming the range
        otherwise). A Trial object must be one of this study's (from this Study object or another one opened on the
        same stored study); one of another study is refused, since its number would address a stranger."""
        number = trial.number if isinstance(trial, Trial) else trial
        if type(number) is not int and (isinstance(number, bool) or not isinstance(number, numbers.Integral)):
            # np.int64 (from trials_dataframe()) is an Integral too; a plain int skips the slow ABC check
            raise UsageError(f"a trial is a Trial or its number, got {type(trial).__name__} {trial!r}")
        number = int(number)
        if not 0 <= number < len(self._trials):
            self.sync()  # another process (or Study object) may have asked it
        if not 0 <= number < len(self._trials):
            held = f"trials 0..{len(self._trials) - 1}" if self._trials else "it has none yet"
            raise UsageError(f"study {self.name!r} has no trial {number!r} ({held})")
        local = self._trials[number]
        if isinstance(trial, Trial) and local is not trial and (local.arch != trial.arch
                                                                or local.started_at != trial.started_at):
            raise UsageError(f"this trial {number} is not one of study {self.name!r}: a Trial object of another "
                             "study?")
        return local

    @_locked
    def set_trial_user_attr(self, trial: Trial | int, key: str, value: Any) -> None:
        """Store a JSON value with one trial (e.g. where its weights were saved)."""
        trial = self.get_trial(trial)
        _check_key(key, "a user attribute's")
        value = _check_json(value, f"user attribute {key!r}")
        event = self.storage.set_trial_user_attrs(self._id, trial.number, {key: value})
        trial.user_attrs[key] = value
        trial.event = event
        self._after_write(event)

    @_locked
    def record_result(self, trial: Trial, result: Any, retry: bool = False) -> Trial | None:
        """Check and store a trial's outcome, then tell the strategy; or, with ``retry=True`` and a
        FAILED outcome, queue a linked retry instead. Returns the retry trial, if any.

        The trial object changes only once the storage has the outcome, so memory never claims
        more than the database holds. A trial stored finished already (by another Study object or process)
        is a :class:`FinishedTrialError`, once memory took in the outcome stored first."""
        result = checked_result(result, self.objectives, need_objectives=trial.tell_strategy)
        done = copy.copy(trial)
        done.metrics, done.cost, done.error = dict(result.metrics), result.cost, result.error
        done.user_attrs = {**trial.user_attrs, **result.user_attrs}
        done.intermediate = list(result.intermediate) or list(trial.intermediate)
        done.finished_at = time.time()
        done.state = {"ok": TrialState.COMPLETE, "pruned": TrialState.PRUNED}.get(result.status, TrialState.FAILED)
        again = None
        if retry and done.state == TrialState.FAILED:
            again = Trial(-1, trial.arch, TrialState.WAITING, fidelity=trial.fidelity, started_at=time.time(),
                          retry_of=trial.number, user_attrs=dict(trial.user_attrs),
                          tell_strategy=trial.tell_strategy)
        told = again is None and trial.tell_strategy
        if told and done.state == TrialState.COMPLETE:  # a score the strategy cannot take (beyond SCORE_LIMIT)
            try:
                self.strategy.checked_score(self.told_score(done))
            except UsageError as exc:
                reason = self._beyond_limit(done.metrics) or str(exc)
                done.state, done.error = TrialState.FAILED, storable_text(f"invalid result: {reason}")  # metrics kept
        try:
            self.storage.finish_trial(self._id, done, told=told, retry=again)
        except FinishedTrialError:
            self.sync()  # memory (and the strategy) take in the outcome stored first
            raise
        with self._strategy_step():  # stored told: memory, then the strategy
            vars(trial).update(vars(done))
            self._after_write(trial.event)
            if told:
                self.learn_from(trial)
            elif again is not None:
                self._add(again)
        return again

    def _first_attempt(self, trial: Trial) -> Trial:
        """The first trial of ``trial``'s retry chain (``trial`` itself unless it is a retry)."""
        while trial.retry_of is not None:
            trial = self._trials[trial.retry_of]
        return trial

    def retries_of(self, trial: Trial) -> int:
        """How many failed attempts precede ``trial`` in its retry chain."""
        count, current = 0, trial
        while current.retry_of is not None:
            count, current = count + 1, self._trials[current.retry_of]
        return count

    def score(self, result: Result) -> float | tuple[float, ...] | None:
        """Strategy-facing score (higher is better), None if an objective is missing or not finite."""
        return self._score(result.metrics)

    def _score(self, metrics: dict[str, float]) -> float | tuple[float, ...] | None:
        """The strategy-facing score of ``metrics``; None if an objective is missing or not :func:`is_scored` (an
        old row may hold NaN, text or null: such a trial is told as a failure and not ranked)."""
        values = []
        for name, sign in zip(self.objectives, self.signs):
            value = metrics.get(name)
            if not is_scored(value):
                return None
            values.append(sign * float(value))
        return constrain(values[0] if len(values) == 1 else tuple(values), metrics,
                         getattr(self.strategy, "constraints", None))

    def learn_from(self, trial: Trial) -> None:
        """Tell the strategy a finished trial's result. A multi-fidelity strategy ranks a result that another process
        asked (a proposal, or its retry, that this strategy is not waiting for) at the budget it was evaluated at, as
        a relearn does; one running the same architecture at another budget (another process drew it anew while this
        one ran it) is not told: it would take the result for the budget it waits for. A strategy to rebuild
        (:meth:`_strategy_step`) is not told either: its rebuild replays the trial."""
        if self._strategy_stale:
            return
        strategy = self.strategy
        if getattr(strategy, "multi_fidelity", False):
            rung = strategy.pending.get(self.space.canonical_key(trial.arch))
            if rung is None and self._first_attempt(trial).is_proposal:
                strategy.tell_at(trial.arch, self.score_to_tell(trial), trial.fidelity)
                return
            if rung is not None and (trial.fidelity or {}).get(strategy.fidelity) != strategy.budget(rung):
                return
        strategy.tell(trial.arch, self.score_to_tell(trial))

    def told_score(self, trial: Trial) -> float | tuple[float, ...] | None:
        """The score the strategy was (or is to be) told for a finished trial (None unless COMPLETE)."""
        return self._score(trial.metrics) if trial.state == TrialState.COMPLETE else None

    def score_to_tell(self, trial: Trial) -> float | tuple[float, ...] | None:
        """:meth:`told_score` as the strategy takes it: a result stored COMPLETE with a value beyond
        +-:data:`~nasforge.strategies.base.SCORE_LIMIT` (nasforge before 2026-12 stored such; a run now stores it
        FAILED) is told as a failure, so that such a study still loads and resumes; nothing stored changes."""
        score = self.told_score(trial)
        return None if score is not None and beyond_limit(score if isinstance(score, tuple) else (score,)) else score

    def _beyond_limit(self, metrics: dict[str, float]) -> str:
        """What is wrong with objective values beyond +-SCORE_LIMIT, named as stored (not sign-flipped); "" if
        none is."""
        beyond = [f"{name!r} is {metrics[name]!r}" for name in self.objectives
                  if is_real(metrics.get(name)) and beyond_limit((float(metrics[name]),))]
        if not beyond:
            return ""
        return (f"{self.strategy.name}: objective {', '.join(beyond)}, not within +-{SCORE_LIMIT:g} "
                f"{SCORE_LIMIT_REASON}; rescale the metric")

    # -- sync with the storage -----------------------------------------------------------------
    def _missing_rows(self, upto: int, why: str) -> DamagedRowError:
        """The error for trial rows ``len(self._trials)`` to ``upto - 1`` deleted by hand (``why``: how it shows)."""
        return DamagedRowError(f"storage {display_url(self.storage.url)!r}: study {self.name!r} lacks trials "
                               f"{len(self._trials)}..{upto - 1} ({why}): their rows were deleted")

    def _add(self, trial: Trial, key: Hashable | None = None) -> None:
        if trial.number < len(self._trials):
            self._trials[trial.number] = trial
        elif trial.number == len(self._trials):
            self._trials.append(trial)
        else:  # rows deleted from the database by hand
            raise self._missing_rows(trial.number, f"trial {trial.number} is stored")
        if trial.state == TrialState.WAITING:
            self._waiting.add(trial.number)
        if trial.tell_strategy:  # trials kept from the strategy do not stop it proposing their architecture
            key = self.space.canonical_key(trial.arch) if key is None else key
            self._keys.setdefault(key, trial.number)
            self._pairs.setdefault((key, _fidelity_key(trial.fidelity)), trial.number)

    def _absorb(self, changed: list[Trial]) -> None:
        """Take in trials changed by others; tell the strategy the results it has not seen."""
        if not changed:  # the common case: nobody else wrote since our last sync
            return
        with self._strategy_step():
            self._absorb_each(changed)

    def _absorb_each(self, changed: list[Trial]) -> None:
        for stored in changed:
            local = self._trials[stored.number] if stored.number < len(self._trials) else None
            if local is not None and local.event >= stored.event:
                continue
            newly_told = stored.tell_seq is not None and (local is None or local.tell_seq is None)
            if local is None:
                self._check_stored(stored)
                self._add(stored)
            else:
                vars(local).update(vars(stored))
                if local.state == TrialState.WAITING:
                    self._waiting.add(local.number)
            if newly_told:
                self.learn_from(stored)

    def _strategy_step(self) -> _StrategyStep:
        """Around a change of the strategy and of the trials in memory that must go together (an ask and its stored
        trial, a stored result and its tell): an exception inside (Ctrl-C, an error of the strategy or storage)
        may leave the strategy ahead of the trials, so it is rebuilt from them before its next use
        (:meth:`_restore_strategy`). A strategy that ran out of proposals is not: the run records that."""
        return _StrategyStep(self)

    @_locked
    def _restore_strategy(self) -> None:
        """Rebuild a strategy left ahead of the trials by an interrupted ask or tell: take in the stored trials
        (not telling it), then bring it back to its state when this object was opened and replay them, as
        :meth:`load` does; once the rebuild finished the strategy is used again (an interrupted one is redone)."""
        if not self._strategy_stale:
            return
        self.sync()
        self._strategy_stale = False
        try:
            _replay.restart(self, self._base_state)
        except BaseException:
            self._strategy_stale = True
            raise

    def _after_write(self, event: int) -> None:
        """Advance the sync mark past our own write, fetching others' changes if they came first."""
        if event == self._synced + 1:
            self._synced = event
        else:
            self.sync()

    @_locked
    def claim(self, trial: Trial) -> bool:
        """Take a WAITING trial to run it here; False if another process got it first."""
        claimed = self.storage.claim_trial(self._id, trial.number, self.worker_id)
        if claimed is None:
            self.sync()
            return False
        vars(trial).update(vars(claimed))
        self._after_write(claimed.event)
        self._keepalive.start()
        if trial.intermediate:  # a re-run starts a fresh curve; the earlier attempt's is kept apart
            self.set_trial_user_attr(trial, EARLIER_CURVES,
                                     [*trial.user_attrs.get(EARLIER_CURVES, []), [list(p) for p in trial.intermediate]])
            trial.intermediate = []
            self.record_progress(trial)
        return True

    @_locked
    def next_waiting(self, accept: Callable[[Trial], bool] | None = None) -> Trial | None:
        """Claim the lowest-numbered WAITING trial (of those ``accept`` takes, if given), if any (one another
        process took first is passed over)."""
        after = -1
        while True:
            trial = next((t for t in self.waiting(accept) if t.number > after), None)
            if trial is None or self.claim(trial):
                return trial
            after = trial.number

    def waiting(self, accept: Callable[[Trial], bool] | None = None) -> list[Trial]:
        """The WAITING trials (those ``accept`` takes, if given), by number, as of the last sync (costs the number
        of trials WAITING lately, not of all trials)."""
        self._waiting = {n for n in self._waiting if self._trials[n].state == TrialState.WAITING}
        return [self._trials[n] for n in sorted(self._waiting) if accept is None or accept(self._trials[n])]

    @_locked
    def sync(self) -> None:
        """Fetch what other processes changed since this study last looked: its trials, its ``user_attrs``, and
        its name when the stored study was renamed."""
        stored = self.storage.study(self._id)
        self.name = self.record.name = stored.name
        self.record.user_attrs = stored.user_attrs
        changed = self.storage.trials(self._id, self._synced)
        self._absorb(changed)
        if changed:
            self._synced = max(self._synced, max(t.event for t in changed))

    # -- liveness (used by the loop) -----------------------------------------------------------
    def heartbeat(self, numbers: Sequence[int]) -> None:
        """Mark these RUNNING trials alive now."""
        self.storage.heartbeat(self._id, list(numbers))

    def own_running(self) -> list[int]:
        """Numbers of the trials RUNNING in this study object (as of its last look at the storage), which its
        heartbeat thread keeps alive."""
        return [t.number for t in list(self._trials) if t.state == TrialState.RUNNING and t.worker == self.worker_id]

    def record_progress(self, trial: Trial) -> bool:
        """Store a running trial's intermediate values and heartbeat; False (nothing stored) when it no longer
        runs here: another process judged this one dead and re-queued (or finished) it. A storage written before
        save_progress returned a bool returns None: stored."""
        return self.storage.save_progress(self._id, trial) is not False

    @_locked
    def requeue(self, numbers: Sequence[int], crashed: bool = True) -> list[int]:
        """Put these RUNNING trials back to WAITING; memory follows the database. ``crashed``: their process
        died (``attempts`` + 1, which ``max_crash_reruns`` bounds); False for a clean interrupt."""
        done = self.storage.requeue(self._id, numbers=list(numbers), crashed=crashed) if numbers else []
        self.sync()
        return done

    @_locked
    def release(self, keep: Collection[int] = ()) -> list[int]:
        """Put back to WAITING, as a clean interrupt (``attempts`` unchanged), every trial this study object runs
        (RUNNING under its worker id, as stored now) except those in ``keep``; never another worker's trial,
        even one re-queued and taken over since this object last looked (a storage whose ``requeue`` takes no
        ``worker``, written before it did, re-queues them by number). A failed read still re-queues the trials
        memory knows, then raises."""
        try:
            self.sync()  # a claim stored just before a signal may not be in memory yet
        finally:
            mine = [number for number in self.own_running() if number not in keep]
            own = {"worker": self.worker_id} if "worker" in inspect.signature(self.storage.requeue).parameters else {}
            done = self.storage.requeue(self._id, numbers=mine, crashed=False, **own) if mine else []
        if done:
            self.sync()
        return done

    def orphans(self, stale_after: float) -> list[Trial]:
        """RUNNING trials of other workers that are dead: their process on this machine is gone, or
        their heartbeat is older than ``stale_after`` seconds."""
        now = time.time()
        return [t for t in self._trials if t.worker != self.worker_id and is_orphan(t, now, stale_after)]

    @_locked
    def requeue_orphans(self, stale_after: float = STALE_AFTER) -> list[int]:
        """Put back to WAITING the RUNNING trials whose workers died (see :meth:`orphans`); never this study
        object's own."""
        self.sync()
        others = [t for t in self._trials if t.state == TrialState.RUNNING and t.worker != self.worker_id]
        dead = [t.number for t in others if process_gone(t.worker)]
        numbers = self.storage.requeue(self._id, numbers=dead) if dead else []
        cutoff = time.time() - stale_after
        silent = [t.number for t in others if t.number not in numbers and (t.heartbeat or 0.0) < cutoff]
        if silent:  # the storage checks again that each is still RUNNING and silent
            numbers += self.storage.requeue(self._id, numbers=silent, stale_before=cutoff)
        if numbers:
            self.sync()
        return sorted(numbers)

    def work_left(self, stale_after: float = STALE_AFTER) -> int:
        """How many trials a ``resume`` would run: new proposals still due (none once the strategy ran out of new
        architectures: :attr:`exhausted`), WAITING trials and orphaned RUNNING ones (0: the study is finished;
        reads only)."""
        self.sync()
        total = (self.run_config or {}).get("n_trials_total", 0)
        due = 0 if self.exhausted else max(0, total - self.n_proposals)
        return due + len(self.waiting()) + len(self.orphans(stale_after))

    # -- the loop ------------------------------------------------------------------------------
    def optimize(self, evaluator: Evaluator | Callable[..., Result], n_trials: int | None = None,
                 timeout: float | None = None, n_workers: int = 1, executor: str = "inline",
                 catch: bool = True, callbacks: Sequence[Callable[[Study, Trial], None]] = (),
                 n_trials_total: int | None = None, **options: Any) -> Study:
        """Propose and evaluate ``n_trials`` new architectures (plus any trials left WAITING), at most
        ``n_workers`` at a time, asynchronously; or, with ``n_trials_total`` instead, propose until the study
        has that many proposals, counting those of every process running it (so that concurrent runs finish
        only what is left). See :func:`nasforge.experiment.scheduler.run` for ``executor``, ``max_pending``,
        ``max_retries``, ``max_crash_reruns``, ``trial_timeout``, ``max_failure_rate``, ``pruner``,
        ``fidelity``, ``progress`` and the other options."""
        from .scheduler import run

        accepted = set(inspect.signature(run).parameters) - {"study", "evaluator"}
        unknown = sorted(set(options) - accepted)
        if unknown:
            raise UsageError(f"optimize got unknown option(s) {unknown}; accepted: {sorted(accepted)}")
        _check_fidelity_clash(self.strategy, options.get("fidelity"))
        self._check_source()
        options = plain_values(options)  # numpy numbers as Python ones: the settings are recorded as JSON
        run(self, evaluator, n_trials=plain_values(n_trials), timeout=plain_values(timeout),
            n_workers=plain_values(n_workers), executor=executor, catch=catch, callbacks=callbacks,
            n_trials_total=plain_values(n_trials_total), **options)
        return self

    def resume(self, evaluator: Evaluator | Callable[..., Result], **overrides: Any) -> Study:
        """Continue to the study's target (``run_config["n_trials_total"]``): re-run stale and WAITING trials,
        then propose until the study has that many proposals, counting those of other processes (two resumes
        at once finish only what is left). ``overrides`` replace stored settings (e.g. n_workers). A
        finished study returns at once (no worker is started)."""
        from .scheduler import run

        config = dict(self.run_config or {})
        if not config:
            raise UsageError(no_run_to_resume(self.name, self.storage.url, len(self.waiting())))
        self._check_source()
        total = config.pop("n_trials_total", 0)  # none (a run config set by hand): re-runs only what is left
        config.pop(RUN_N_TRIALS, None)  # what the recorded call was; a resume runs to the total
        config["evaluator_spec"] = config.pop("evaluator", None)
        if {"n_trials", "n_trials_total"} & set(overrides):
            raise UsageError("resume continues to the recorded total; to run more trials, call optimize(n_trials=...)")
        unknown = sorted(set(overrides) - (set(inspect.signature(run).parameters) - {"study", "evaluator"}))
        if unknown:
            raise UsageError(f"resume got unknown option(s) {unknown}; see Study.optimize")
        if "executor" in overrides and "executor_options" not in overrides:  # only what the new one takes
            from .executors import carried_options

            config["executor_options"], dropped = carried_options(config.get("executor_options"), overrides["executor"])
            if dropped:
                warnings.warn(f"study {self.name!r}: the recorded executor_options {dropped} do not apply to executor "
                              f"{overrides['executor']!r} and are left out", stacklevel=2)
        recorded_pruner = config.get("pruner")
        if "pruner" not in overrides and isinstance(recorded_pruner, dict):
            from .pruners import PRUNERS

            if recorded_pruner.get("name") not in PRUNERS:
                raise UsageError(f"study {self.name!r} was optimized with the pruner {recorded_pruner.get('name')!r}, "
                                 "which is not registered, so resume cannot rebuild it: register it "
                                 "(nasforge.experiment.pruners.PRUNERS.register(name, cls)) or pass pruner= "
                                 "(a Pruner, a name or None; nasforge resume: --pruner NAME|none)")
        if "pruner" not in overrides and config.get("pruner") is not None and not takes_reporter(evaluator):
            warnings.warn(f"study {self.name!r}: the recorded pruner is left out: the evaluator takes no reporter "
                          "argument, so it could never act (pass pruner= to choose another)", stacklevel=2)
            config["pruner"] = None
        if "timeout" not in overrides and config.get("timeout") == 0:  # recorded before 0 was refused
            raise UsageError(f"study {self.name!r} recorded timeout=0 (an older nasforge took it: no time to run), "
                             "so a resume would run nothing: pass timeout= (seconds, or None for no limit; nasforge "
                             "resume: --timeout SECONDS or --no-timeout)")
        config.update(overrides)
        if not self.work_left(config.get("stale_after", STALE_AFTER)):
            check_resume_options(self.name, config, overrides)  # nothing to run, but a bad option is still refused
            return self
        if "executor_options" not in overrides:  # the recorded ones: a database does not choose where code runs
            from .executors import check_stored_options

            check_stored_options(self.name, config.get("executor", "inline"), config.get("executor_options"))
        if config.get("executor", "inline") == "inline":  # optimize checks the rest
            _check_inline_resume(self.name, config, overrides)
        return self.optimize(evaluator, n_trials_total=total, **config)

    def save_snapshot(self) -> None:
        """Store the strategy fingerprint; a later load checks that its replay reproduces it."""
        self.record.strategy_state = _replay.fingerprint(self.strategy)
        self.storage.update_study(self._id, strategy_state=self.record.strategy_state)

    def strategy_fingerprint(self) -> dict[str, Any]:
        """A small summary of the strategy's state (counts and a hash of its random generator)."""
        return _replay.fingerprint(self.strategy)

    # -- results -------------------------------------------------------------------------------
    def completed(self, searched_only: bool = False) -> list[Trial]:
        """COMPLETE trials; ``searched_only``: just those told to the strategy (not enqueued retrains)."""
        return [t for t in self._trials if t.state == TrialState.COMPLETE and (t.tell_strategy or not searched_only)]

    def ranked(self) -> list[Trial]:
        """The complete trials of the search that :attr:`best_trial` and :meth:`pareto_front` rank, those scored
        (an old row's objective that is NaN, text or null is not; as ``nasforge status`` ranks them): with a
        multi-fidelity strategy only those at the highest budget a complete trial reached (a noisy 1-epoch result
        does not beat 12-epoch ones), a trial without the strategy's fidelity counting as at the full budget."""
        from ..strategies.multi_fidelity import at_highest_budget

        names = self.objectives  # scored objectives: _score's constraints never make a scored result None
        done = [t for t in self.completed(searched_only=True) if all(is_scored(t.metrics.get(o)) for o in names)]
        key = getattr(self.strategy, "fidelity", None) if getattr(self.strategy, "multi_fidelity", False) else None
        if not isinstance(key, str) or not self.record.user_attrs.get(HIGHEST_BUDGET_ONLY):
            return done  # a study created before the rule keeps ranking every budget
        return at_highest_budget(done, key, getattr(self.strategy, "max_budget", math.inf))

    @property
    def best_trial(self) -> Trial:
        """The best complete trial of the search (single objective; among :meth:`ranked`: trials kept from the
        strategy, such as enqueued retrains at another fidelity, are not ranked, and a multi-fidelity search
        ranks its highest budget only); feasible-first under the strategy's constraints, as :meth:`pareto_front`
        (while no trial meets them, the best of the least-violating ones)."""
        if self.is_multi_objective:
            raise UsageError("a multi-objective study has a Pareto front, not one best trial; use pareto_front()")
        done = self.ranked()
        if not done:
            raise UsageError(f"study {self.name!r} has no complete trial yet")
        sign, name = self.signs[0], self.objectives[0]
        return max(done, key=lambda t: (-violation_of(self._score(t.metrics)), sign * t.metrics[name]))

    @property
    def best_value(self) -> float:
        """The objective's value of :attr:`best_trial` (single objective; UsageError while none is complete)."""
        return self.best_trial.metrics[self.objectives[0]]

    @property
    def best_arch(self) -> Architecture:
        """The architecture of :attr:`best_trial` (single objective; UsageError while none is complete)."""
        return self.best_trial.arch

    def pareto_front(self) -> list[Trial]:
        """Complete trials of the search not dominated on the objectives, among :meth:`ranked` (enqueued trials
        kept from the strategy are not ranked; a multi-fidelity search ranks its highest budget only). With
        constraints, feasible-first: while none is feasible, the least-violating trials not dominated among them."""
        from ..pareto import non_dominated_mask

        done = self.ranked()
        if not done:
            return []
        violation = [violation_of(self._score(t.metrics)) for t in done]  # constraints: feasible-first
        mask = non_dominated_mask([[t.metrics[o] for o in self.objectives] for t in done], self.directions, violation,
                                  least_violated_front=True)
        return [t for t, keep in zip(done, mask) if keep]

    def trials_dataframe(self):
        """One row per trial: number, state, arch (text), metrics (the objectives always, then the other metrics),
        cost, error, retry link, times, fidelity (JSON text), ``told_to_strategy`` and ``user_attrs_KEY`` columns
        (pandas)."""
        return _export.trials_dataframe(self._trials, lambda t: self.space.format(t.arch), self.objectives)

    def to_json(self) -> dict[str, Any]:
        """The study and all its trials as strict JSON data: NaN and infinite values become None."""
        header = {"name": self.name, "space": self.space.name, "strategy": self.record.strategy,
                  "objectives": self.objectives, "directions": self.directions, "seed": self.seed,
                  "user_attrs": self.user_attrs}
        return _export.study_json(header, self._trials, lambda t: self.space.format(t.arch))

    # -- the handle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the storage this study opened from a URL (or its private memory storage); later use of the
        study is then a StorageError. A Storage object passed in stays open: whoever made it closes it. Also
        ``with Study(...) as study:``. Trials asked by hand and not told are no longer kept alive: another process
        re-queues them once their heartbeat is ``stale_after`` old."""
        self._keepalive.stop()
        if self._owns_storage:
            self.storage.close()

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __reduce__(self) -> Any:
        """A Study is a handle on its storage: it is neither pickled nor copied (``copy``, ``deepcopy``)."""
        where = ("an in-memory study lives in this process only; store it in SQLite or PostgreSQL to share it"
                 if self.storage.url == "memory" else
                 f"pass its storage URL and name and open it there: Study.load({self.name!r}, {self.storage.url!r})")
        raise TypeError(f"a Study cannot be pickled or copied: it is a handle on a storage; {where}")

    def __repr__(self) -> str:
        return (f"Study({self.name!r}, space={self.space.name!r}, strategy={self.record.strategy!r}, "
                f"objectives={self.objectives}, trials={len(self._trials)}, "
                f"storage={display_url(self.storage.url)!r})")


def _check_inline_resume(name: str, config: dict[str, Any], overrides: dict[str, Any]) -> None:
    """A resume on the inline executor cannot keep a recorded ``trial_timeout`` or ``n_workers`` > 1: say which
    recorded setting is in the way and how to override it."""
    recorded = [(key, config[key], drop, flag) for key, drop, flag in
                (("trial_timeout", "None", "--no-trial-timeout"), ("n_workers", "1", "--workers 1"))
                if key not in overrides and config.get(key) not in (None, 1)]
    if recorded:
        settings = ", ".join(f"{key}={value!r}" for key, value, _, _ in recorded)
        fixes = ", ".join(f"{key}={drop}" for key, _, drop, _ in recorded)
        flags = " ".join(flag for _, _, _, flag in recorded)
        raise UsageError(f"study {name!r} recorded {settings}, which the inline executor cannot apply; override it "
                         f"({fixes}; nasforge resume: {flags}) or resume with executor 'process'")


def check_resume_options(name: str, config: dict[str, Any], overrides: dict[str, Any]) -> None:
    """The checks :meth:`Study.resume` makes of ``overrides`` of the recorded run ``config`` when nothing is left to
    run (a UsageError naming the option): a finished study's options are still checked (nasforge resume)."""
    from .scheduler import check_recorded

    config = {**config, **overrides}
    if config.get("executor", "inline") == "inline":
        _check_inline_resume(name, config, overrides)
    check_recorded(config, overrides)


def optimize_call(name: str, url: str) -> str:
    """The Python call that runs a study for which no ``optimize`` run is recorded, so that no resume can (the
    storage ``url`` shown without its password; an in-memory study, which no other object opens, by itself)."""
    study = "study" if url == "memory" else f"Study.load({name!r}, {without_password(url)!r})"
    return f"{study}.optimize(evaluator, n_trials)"


def no_run_to_resume(name: str, url: str, waiting: int, starting: bool = False) -> str:
    """Why a study with no recorded ``optimize`` run cannot be resumed and, when ``waiting`` trials are WAITING (left
    by a first call refused at its first result, or enqueued), how they run: said by resume and ``nasforge status``
    (``starting``: which cannot tell a first call whose workers are still starting, which records its run then)."""
    if not waiting:
        return f"study {name!r} has no recorded optimize run to resume"
    them = "it" if waiting == 1 else "them"
    now = ", unless one is starting now" if starting else ""
    return (f"study {name!r} has {waiting} WAITING trial{'s' if waiting != 1 else ''} but no recorded optimize run "
            f"to resume (its first optimize call was refused, or none ran{now}): run {them} in Python with "
            f"{optimize_call(name, url)} (n_trials: new proposals beside {them}, 0 for none)")


def exhausted(user_attrs: dict[str, Any], n_proposals: int) -> bool:
    """Whether a study with these user attributes and proposals has used up its strategy's new architectures
    (:data:`SPACE_EXHAUSTED`; a later proposal, e.g. after a new optimize call found one, lifts it)."""
    at = user_attrs.get(SPACE_EXHAUSTED)
    return isinstance(at, int) and not isinstance(at, bool) and n_proposals <= at


class _TotalReached(Exception):
    """Internal: the study already has the proposals asked for (:meth:`Study.ask_until`)."""


def _check_name_to_create(store: Storage, name: str) -> None:
    """:func:`check_name` of a study about to be created, passed where a study is stored under ``name`` (an older
    version allowed control characters in names): ``load_if_exists`` loads it rather than refusing its name."""
    try:
        check_name(name)
        return
    except UsageError as exc:
        refused = exc
    try:
        store.load_study(name)
    except StudyNotFoundError:
        raise refused from None


def _is_stored(store: Storage, name: str) -> bool:
    """Whether ``store`` holds a study ``name``."""
    try:
        store.load_study(name)
    except StudyNotFoundError:
        return False
    return True


def _storage_arg(storage: Any) -> Any:
    """A ``pathlib.Path`` (any path-like) storage as its string, which names a SQLite file like a str path does."""
    return os.fspath(storage) if isinstance(storage, os.PathLike) else storage


def _strategy_to_load(record: StudyRecord, url: str, space: SearchSpace, strategy: Any) -> Strategy:
    """The strategy :meth:`Study.load` restores: the stored one rebuilt (``strategy`` None or the stored name), or
    ``strategy``, a fresh object of the stored strategy, seed and settings; anything else is a UsageError."""
    from ..strategies import STRATEGIES

    name = record.name
    if strategy is None or isinstance(strategy, str):
        if strategy is not None and not _same_strategy(strategy, record.strategy):
            raise UsageError(f"study {name!r} in {url} was created with strategy {record.strategy!r}, not "
                             f"{strategy!r}; leave strategy= out to rebuild the stored one, or start a new study")
        if record.strategy_config is None:
            raise UsageError(f"study {name!r} was created with a {record.strategy!r} strategy object whose "
                             "settings were not recorded; pass a fresh one as strategy=")
        return _stored_strategy(record, space)
    if not isinstance(strategy, Strategy):
        raise UsageError(f"strategy= must be a Strategy object (or the stored strategy's name), got "
                         f"{type(strategy).__name__} {reprlib.repr(strategy)}")
    check_initialised(strategy)
    check_fresh(strategy, f"Study.load({name!r})")
    if strategy.space is not space and strategy.space.name != space.name:
        raise UsageError(f"strategy searches {strategy.space.name!r} but study {name!r} searches {space.name!r}")
    try:
        strategy_name = _recorded_name(strategy, None)
    except UsageError:  # a class with no name of its own, unregistered here: nothing is recorded at load
        strategy_name = record.strategy if record.strategy not in STRATEGIES else strategy.name
    if _same_strategy(strategy_name, record.strategy):
        strategy_name = record.strategy  # an alias of the stored name ("re" for "evolution")
    seed = None if strategy.seed is None else check_seed("strategy.seed", strategy.seed)
    remedy = ("pass a fresh strategy built as the stored one (or leave strategy= out when its settings were "
              "recorded), or start a new study")
    if (strategy_name != record.strategy and record.strategy in STRATEGIES
            and not isinstance(STRATEGIES.get(record.strategy), type)):  # the name differs, not seed or settings
        remedy = (f"a study made by the registered factory {record.strategy!r} reloads by that name: leave strategy= "
                  "out (an object is recorded by its class's name)")
    _check_same_setup(record, url, space, strategy, strategy_name, record.objectives, record.directions, seed,
                      remedy=remedy)
    return strategy


def _check_same_setup(record: StudyRecord, url: str, space: SearchSpace, strategy: Strategy, strategy_name: str,
                      objectives: list[str], directions: list[str], seed: int | None,
                      remedy: str = "continue it with Study.load (which rebuilds its strategy), or pick another "
                                    "name") -> None:
    """``load_if_exists=True`` (and ``Study.load(..., strategy=...)``) continues a stored study only with the setup
    it was created with: a different strategy, seed or strategy setting would break its exact resume for good;
    ``remedy`` says what to do instead."""
    name = record.name
    if record.space != space.name or record.objectives != objectives or record.directions != directions:
        raise UsageError(f"study {name!r} in {url} searches {record.space!r} for {record.objectives}/"
                         f"{record.directions}, not {space.name!r} for {objectives}/{directions}")
    _check_space(record, url, space)
    differences = []
    if record.strategy != strategy_name:
        differences.append(f"strategy {record.strategy!r}, not {strategy_name!r}")
    if record.seed != seed:
        differences.append(f"seed {record.seed}, not {seed}")
    if not differences and record.strategy_config is not None:
        from ..strategies import STRATEGIES

        # a strategy registered in this process is rebuilt for its full settings; one that is not (a strategy of
        # the user's) recorded them all when built as an object, only the keywords given when built by name (the
        # others are its class's defaults: those written in its signature, None aside, which __init__ may resolve);
        # it is compared on the settings the object reports (one kept under another name cannot be read back)
        # a rule setting the study does not record may be today's or the rule of its time, and, for one recorded
        # since its rule changed, the older rule (an older install's study, whatever its date); a refusal names the
        # rule of its time
        # compared as the strategy describes them (a model-based one: its parts as the objects they build)
        # (a refusal shows each setting as given and as recorded, "acquisition='ei', not 'pi'", where it can)
        given, given_shown = _plain(_compared_settings(strategy)), _plain(init_config(strategy))
        if record.strategy in STRATEGIES:
            built = _stored_strategy(record, space)
            stored, stored_shown = _plain(_compared_settings(built)), _plain(init_config(built))
            keys = set(stored) | set(given)
        else:
            built = strategy
            stored_shown = {**_signature_defaults(type(strategy)), **_plain(record.strategy_config)}
            stored = _plain(_compared_settings(strategy, stored_shown))
            keys = set(stored) & set(given)
        unrecorded = {k: v for k, v in built.older_rules.items() if k not in (record.strategy_config or {})}
        taken = {k for k in unrecorded if record.strategy in STRATEGIES and _takes_keyword(record.strategy, k)}
        then = _plain(built.rules_of_its_time(record.created_at, record.strategy_config, taken))
        older = _plain({k: v for k, v in unrecorded.items() if k in built.recorded_since_change})  # an older install's
        changed = sorted(k for k in keys if given.get(k) not in [stored.get(k), *(rules[k] for rules in (then, older)
                                                                                   if k in rules)])
        if changed:
            differences.append("strategy settings " + ", ".join(
                f"{k}={then.get(k, stored_shown.get(k, stored.get(k)))!r}, not {given_shown.get(k, given.get(k))!r}"
                for k in changed))
    if differences:
        raise UsageError(f"study {name!r} in {url} was created with {'; '.join(differences)}; {remedy}")


def _compared_settings(strategy: Strategy, recorded: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The settings of ``strategy`` (or, given, the ``recorded`` ones) in the form a study compares them: the
    strategy's ``compared_settings()`` where it has one (equal settings spelled otherwise compare equal), else its
    :func:`init_config` (``recorded`` as they are)."""
    compare = getattr(strategy, "compared_settings", None)
    if callable(compare):
        return compare(recorded)
    return init_config(strategy) if recorded is None else recorded


def _signature_defaults(cls: type) -> dict[str, Any]:
    """The plain-data defaults ``cls.__init__`` writes in its signature, except None (a default ``__init__`` may
    resolve)."""
    defaults = {}
    for key, param in inspect.signature(cls.__init__).parameters.items():
        if param.default is not inspect.Parameter.empty and param.default is not None:
            try:
                defaults[key] = json.loads(json.dumps(param.default))
            except (TypeError, ValueError):
                continue  # not plain data: a setting that cannot be checked
    return defaults


SOURCE_ADVICE = (" (a module defined in the script that runs the study changes with every edit of that script: "
                 "keep it in a file of its own)")
"""What a refusal of an edited model-space module file adds for Python users whose module is their script."""


def _source_advice(module: str) -> str:
    """:data:`SOURCE_ADVICE` when the model-space ``module`` (a path, ``path.py:Name`` or a module name) is the
    script running now, else nothing (a module in a file of its own needs no such advice)."""
    script = getattr(sys.modules.get("__main__"), "__file__", None)
    where = module.rpartition(":")[0] if module.rpartition(":")[0].endswith(".py") else module
    if not script or not where.endswith(".py"):
        return ""
    try:
        return SOURCE_ADVICE if Path(where).expanduser().resolve() == Path(script).resolve() else ""
    except OSError:
        return ""


def _but_source(config: dict[str, Any]) -> dict[str, Any]:
    """A model space's recorded settings without the fingerprint of its module file."""
    return {k: v for k, v in config.items() if k != "source_sha1"}


def _check_space(record: StudyRecord, url: str, space: SearchSpace, hint: str = "") -> None:
    """The stored study searches ``space``: the same space with the same options (which decide de-duplication).
    Options recorded in an older spelling (a relative module path) count as the same when the stored space,
    rebuilt, has ``space``'s options."""
    current = _plain(init_config(space))
    if space.name == record.space and current != record.space_config:
        try:
            rebuilt = _plain(init_config(stored_space(record.space, record.space_config)))
        except (ValueError, TypeError, ImportError, OSError):  # a stored space that no longer builds differs
            rebuilt = None
        if rebuilt == current:
            return
    if space.name == record.space and current != record.space_config and isinstance(record.space_config, dict) \
            and "source_sha1" in current and _but_source(current) == _but_source(record.space_config):
        # only the fingerprint of the module file differs
        module = str(record.space_config.get("module") or "")
        raise UsageError(f"study {record.name!r} in {url}: the model-space module "
                         f"{module.rpartition(':')[0] or module} changed since the study was trained; restore it, or "
                         "start a new study"
                         f"{_source_advice(module)}")
    if space.name != record.space or current != record.space_config:
        raise UsageError(f"study {record.name!r} in {url} searches space {record.space!r} with {record.space_config}, "
                         f"not {space.name!r} with {_plain(init_config(space))}{hint}")


def _check_strategy_space(strategy: Strategy, space: SearchSpace) -> None:
    """A strategy object searches the study's space: one of the same name and options (they decide which
    architectures it proposes and which count as the same). Options are compared between spaces of one class (those
    of another class may mean otherwise), as far as they are recorded (those that are not cannot be compared)."""
    if strategy.space is space:
        return
    if strategy.space.name != space.name:
        raise UsageError(f"strategy searches {strategy.space.name!r} but the study's space is {space.name!r}")
    theirs, ours = init_config(strategy.space), init_config(space)
    if type(strategy.space) is type(space) and theirs is not None and ours is not None and theirs != ours:
        differ = sorted(k for k in theirs.keys() | ours.keys()
                        if k not in theirs or k not in ours or theirs[k] != ours[k])

        def shown(options: dict[str, Any]) -> str:
            return reprlib.repr({k: options[k] for k in differ if k in options})

        raise UsageError(f"the strategy searches {type(space).__name__} with options {shown(theirs)}, the study with "
                         f"{shown(ours)}: their options differ (they decide which architectures are proposed and "
                         "which count as the same); build the strategy on the study's space")


def _check_strategy_keywords(name: str, strategy_kwargs: dict[str, Any]) -> None:
    """``UsageError`` for keywords neither Study nor strategy ``name`` takes (Study passes the keywords it does not
    take itself to the strategy), with the Study argument a misspelt one is closest to."""
    from ..settings import keyword_names
    from ..strategies import STRATEGIES

    if name not in STRATEGIES:  # the registry names the unknown strategy
        return
    takes = keyword_names(STRATEGIES.get(name))
    # constraints= is left to get_strategy, which names the strategies that take it
    unknown = sorted(set(strategy_kwargs) - set(takes) - {"constraints"}) if takes is not None else []
    if unknown:
        from ..registry import takes_hint

        close = _closest_own_argument(unknown[0])
        hint = (f" (did you mean {close}=?)" if close
                else takes_hint(STRATEGIES.get(name), unknown, skip=("space", "seed")))  # Study passes those two
        raise UsageError(f"Study() got the keyword argument(s) {unknown}, which are neither Study's own nor "
                         f"parameters of strategy {name!r}{hint}")


def _check_no_strategy_keywords(strategy: Strategy, strategy_kwargs: dict[str, Any]) -> None:
    """``UsageError`` for any keyword Study does not take itself when ``strategy`` is an object: Study passes such
    keywords only to a strategy it builds by name (they would be dropped), with the Study argument a misspelt one is
    closest to."""
    if not strategy_kwargs:
        return
    unknown = sorted(strategy_kwargs)
    close = _closest_own_argument(unknown[0])
    hint = (f" (did you mean {close}=?)" if close
            else f"; pass strategy settings to {type(strategy).__name__}(...) itself")
    raise UsageError(f"Study() got the keyword argument(s) {unknown}, which are not Study's own, and strategy is an "
                     f"object (settings go to the strategy's constructor){hint}")


def _closest_own_argument(keyword: str) -> str | None:
    """The argument of :class:`Study` closest to the misspelt ``keyword``, or None when none is close."""
    import difflib

    own = [p for p in inspect.signature(Study.__init__).parameters if p not in ("self", "strategy_kwargs")]
    close = difflib.get_close_matches(keyword, own, n=1, cutoff=0.5)
    return close[0] if close else None


def _takes_keyword(name: str, keyword: str) -> bool:
    """Whether strategy ``name``'s factory names ``keyword`` as a parameter (a user's factory returning a built-in
    strategy may not take its settings: a load passes the recorded ones back to the factory)."""
    from ..settings import keyword_names
    from ..strategies import STRATEGIES

    takes = keyword_names(STRATEGIES.get(name))
    return takes is not None and keyword in takes


def _same_strategy(name: Any, other: str) -> bool:
    """Whether the strategy names ``name`` and ``other`` are the same, or names of one registered entry (an alias,
    such as "re" for "evolution")."""
    from ..strategies import STRATEGIES

    return name == other or (name in STRATEGIES and other in STRATEGIES
                             and STRATEGIES.get(name) is STRATEGIES.get(other))


def _recorded_name(strategy: Strategy, given: str | None) -> str:
    """The name a study records for its strategy, by which :meth:`Study.load` rebuilds it: the registered name the
    strategy was built by (``given``; its own ``name`` when that is an alias of the same entry, e.g. "re" for
    "evolution"); for an object, its own ``name`` when its class is registered under it, else a name its class
    is registered under, else its own ``name``. A class with neither a ``name`` of its own nor a registration is
    a UsageError: it would be recorded as its base class's name, which rebuilds another strategy."""
    from ..strategies import STRATEGIES

    if given is not None:
        return strategy.name if _same_strategy(strategy.name, given) else given
    cls = type(strategy)
    registered = [name for name in STRATEGIES.names() if STRATEGIES.get(name) is cls]
    if strategy.name in registered or (not registered and ("name" in vars(cls) or "name" in vars(strategy))):
        return strategy.name
    if registered:
        return registered[0]
    raise UsageError(f"strategy class {cls.__name__} has no name of its own (it would be recorded as "
                     f"{strategy.name!r}, so Study.load could not rebuild it): set name = '...' in the class, or "
                     f"register it (nasforge.strategies.STRATEGIES.register('mine', {cls.__name__}))")


def _check_name_free(strategy: Strategy, recorded: str) -> None:
    """A UsageError for a new study's strategy object of an unregistered class whose own name is registered to
    another class (e.g. ``name = "random"``): :meth:`Study.load` would rebuild that class by the recorded name."""
    from ..strategies import STRATEGIES

    cls = type(strategy)
    if (other := STRATEGIES.other_class(recorded, cls)) is not None:
        raise UsageError(f"strategy class {cls.__name__} is named {recorded!r}, the name of strategy class "
                         f"{other.__name__} (so Study.load would rebuild a {other.__name__}): set another name = "
                         f"'...' in the class, or register it (nasforge.strategies.STRATEGIES.register('mine', "
                         f"{cls.__name__}))")


def _stored_strategy(record: StudyRecord, space: SearchSpace) -> Strategy:
    """The strategy a stored record describes. Integer settings stored as whole floats (older versions took
    ``population_size=10.0``, which the strategies now refuse) are read back as integers; checks made only of new
    settings are skipped (:func:`~nasforge.strategies.base.restoring_stored_settings`), so the study loads as it did."""
    from ..strategies import STRATEGIES

    if record.strategy not in STRATEGIES:
        raise UsageError(f"study {record.name!r} was made with strategy {record.strategy!r}, which is not registered "
                         f"in this process (a strategy of your own?): register it again before loading, e.g. "
                         f"STRATEGIES.register({record.strategy!r}, MyStrategy), or pass a fresh instance as "
                         f"strategy=; registered now: {', '.join(STRATEGIES.names())}")
    params = inspect.signature(STRATEGIES.get(record.strategy)).parameters

    def integral(name: str) -> bool:
        param = params.get(name)
        if param is None:
            return False
        default, annotation = param.default, str(param.annotation)
        return (isinstance(default, int) and not isinstance(default, bool)) or (
            "int" in annotation and "float" not in annotation)

    config = {k: int(v) if isinstance(v, float) and v.is_integer() and integral(k) else v
              for k, v in (record.strategy_config or {}).items()}
    with restoring_stored_settings():
        return get_strategy(record.strategy, space, seed=record.seed, **config)


def _warn_settings_unkept(obj: SearchSpace | Strategy, what: str, study: str) -> None:
    """Warn, as a stored study is created, when it cannot record a constructor argument of ``obj`` (a space or
    strategy of the user's own): one kept under no attribute of its name, or a positional-only one (the stored
    settings are passed back by name). ``Study.load`` would rebuild ``obj`` without it, so the study is reopened
    with ``Study.load(..., space=...)`` (``strategy=...``); nasforge's own classes record theirs."""
    if owned_by_nasforge(obj):
        return
    params = inspect.signature(type(obj).__init__).parameters
    positional = [n for n, p in params.items() if p.kind == p.POSITIONAL_ONLY and n not in ("self", "space", "seed")]
    missing = [*positional, *(n for n in unkept_settings(obj) if n not in positional)]
    if not missing:
        return
    listed = ("argument " if len(missing) == 1 else "arguments ") + ", ".join(repr(m) for m in missing)
    fix = (f"make {positional[0]!r} a keyword argument kept as self.{positional[0]}" if positional else
           f"keep it as self.{missing[0]} in __init__")
    warnings.warn(f"study {study!r}: {what} {type(obj).__name__} cannot record its constructor {listed} (a setting "
                  "is recorded from the attribute of its name and passed back by keyword), so Study.load(name, "
                  f"storage) would rebuild the {what} without it; reopen the study with Study.load(name, storage, "
                  f"{what}=...) passing the {what} it was made with, or {fix}", UserWarning, stacklevel=3)


def _check_recordable(config: dict[str, Any], name: str) -> None:
    """Strategy settings a stored study can record as JSON (read back by every load); a UsageError naming the
    first setting that is not, before anything is stored."""
    for key, value in config.items():
        found: list[Any] = []

        def refuse(obj: Any) -> Any:
            found.append(obj)
            raise TypeError

        try:
            json.dumps(value, default=refuse)
        except (TypeError, ValueError):
            what = found[0] if found else value
            hint = ("; a function cannot be recorded: register it by name (a known cost: nasforge.strategies."
                    "model_based.costs.COSTS.register('mine', lambda space: fn)) and pass the name"
                    if callable(what) else "")
            raise UsageError(f"strategy setting {key}={value!r:.100} cannot be recorded by stored study {name!r}: "
                             f"{type(what).__name__} {what!r:.60} is not a JSON value{hint}") from None


def _plain(config: dict[str, Any] | None) -> dict[str, Any]:
    """``config`` as the storage gives it back (JSON: tuples become lists)."""
    return json.loads(json.dumps(config or {}))


def _as_list(value: str | Sequence[str], what: str) -> list[str]:
    values = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else []
    if not values or not all(isinstance(v, str) and v for v in values):
        raise UsageError(f"{what} must be a non-empty name or list of names, got {value!r}")
    return values


def _check_objective_names(objectives: list[str]) -> None:
    """A new study's objective names are no command-line list ``val_acc:max,params:min`` (which ``nasforge studies``
    prints back): a name holding "," or ending in ":max"/":min" (``"val_acc,test_acc"``) would be stored as one
    objective that no evaluator reports, found only once the first evaluation has run. A column named ``acc:top1``
    is a name."""
    from ..pareto import SENSES

    for name in objectives:
        parts = [part.strip().rpartition(":") for part in name.split(",") if part.strip()]
        sensed = [bool(sep) and sense.strip().lower() in SENSES for _, sep, sense in parts]  # as --objectives reads
        if "," not in name and not (parts and sensed[0]):
            continue
        names = [metric.strip() if ok else f"{metric}{sep}{sense}" for (metric, sep, sense), ok in zip(parts, sensed)]
        senses = [sense.strip().lower() for (_, _, sense), ok in zip(parts, sensed) if ok]
        hint = f"objectives={names}" + (f", directions={senses}" if len(senses) == len(names) else "")
        raise UsageError(f"objective {name!r} reads as the command line's METRIC:DIRECTION,... list, not one name; "
                         f"pass one name per objective: {hint}")


def _check_objective_count(strategy: Strategy, objectives: list[str]) -> None:
    """A strategy gets only as many objectives as it handles (a single-objective one told tuples would
    rank them lexicographically without a word)."""
    low, high = strategy.objective_counts
    if low <= len(objectives) and (high is None or len(objectives) <= high):
        _check_per_objective_settings(strategy, objectives)
        return
    wanted = f"{low}" if low == high else f"at least {low}" if high is None else f"{low} to {high}"
    hint = ("; for several objectives use a multi-objective strategy (nsga2, ts_hvi, ...), or give one "
            f"(e.g. objectives={objectives[0]!r})") if high == 1 else ""
    raise UsageError(f"strategy {strategy.name!r} handles {wanted} objective(s), got {len(objectives)} "
                     f"({', '.join(objectives)}){hint}")


def _check_per_objective_settings(strategy: Strategy, objectives: list[str]) -> None:
    """A multi-objective strategy's ``reference`` point and ``surrogates`` hold one entry per objective: another
    length would fail only once results arrive, and every load of the stored study would replay into it."""
    if not isinstance(strategy, MultiObjectiveStrategy):
        return
    for setting in ("reference", "surrogates"):
        values = getattr(strategy, setting, None)
        if isinstance(values, list) and len(values) != len(objectives):
            raise UsageError(f"{setting}= of strategy {strategy.name!r} has {len(values)} entries but the study has "
                             f"{len(objectives)} objectives ({', '.join(objectives)}); give one per objective")


def _fidelity_key(fidelity: dict[str, Any] | None) -> str:
    """A trial's fidelity as a hashable key (JSON with sorted keys; none, the common case, is JSON's null)."""
    return "null" if fidelity is None else json.dumps(fidelity, sort_keys=True)


def _check_fidelity(fidelity: Any) -> dict[str, Any] | None:
    """A trial's fidelity is None or a dict of JSON values (``ask`` and ``enqueue`` take the same); returned with
    numpy values as plain ones."""
    if fidelity is None:  # every ask without one: nothing to check
        return None
    if not isinstance(fidelity, dict):
        raise UsageError(f"fidelity must be a dict such as {{'epochs': 4}}, got {fidelity!r}")
    return _check_json(fidelity, "fidelity")


def _check_fidelity_clash(strategy: Strategy, fidelity: Any) -> None:
    """A multi-fidelity strategy chooses its budget's key: a fidelity setting the same key is refused (the
    strategy's budget would override it without a word)."""
    key = getattr(strategy, "fidelity", None) if getattr(strategy, "multi_fidelity", False) else None
    if isinstance(fidelity, dict) and isinstance(key, str) and key in fidelity:
        raise UsageError(f"fidelity={fidelity!r} sets {key!r}, which strategy {strategy.name!r} chooses for each "
                         f"trial (its budgets: min_budget/max_budget); leave {key!r} out of fidelity=")


def _check_json(value: Any, what: str) -> Any:
    """``value`` is stored as JSON and read back unchanged: JSON values, and dicts keyed by strings (JSON would turn
    a key 5 into "5"). Returned with numpy scalars and arrays as plain numbers and lists (:func:`plain_values`)."""
    value = plain_values(value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{what} must hold JSON values (str, number, bool, None, list, dict): {exc}") from None
    problem = non_string_keys(value, what)
    if problem:
        raise UsageError(problem)
    return value


def _check_key(key: Any, what: str) -> None:
    """A user attribute's ``key`` must be a string (:func:`_check_json` sees only its value)."""
    if not isinstance(key, str):
        raise UsageError(f"{what} key must be a string, got {type(key).__name__} {key!r}")
