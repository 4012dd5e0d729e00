"""The ask/tell Strategy interface, with de-duplication and resumable state shared by all strategies."""

from __future__ import annotations

import contextlib
import contextvars
import copy
import reprlib
import weakref
from abc import ABC, abstractmethod
from collections.abc import Collection, Hashable, Iterator, Sequence
from typing import Any

import numpy as np

from ..checks import check_bool, check_seed, is_real
from ..exceptions import SpaceExhausted, UsageError  # SpaceExhausted re-exported: it was defined here before
from ..settings import changed_settings, constructor_settings, is_plain
from ..spaces import Architecture, SearchSpace, as_space

_DISTINCT: dict[int, tuple[weakref.ref, int]] = {}  # id(space) -> (a weak reference to it, its canonical forms)
_CLASSES: dict[int, tuple[weakref.ref, Any]] = {}  # id(space) -> (it, unique_architectures(space))
COUNT_AT_ONCE = 2_000  # counted at the first ask only when cheap: NB201 (15,625) would add 0.3 s to every process

Score = float | tuple[float, ...] | None
"""What a strategy is told: higher is better (the study flips minimized objectives); a tuple for
several objectives; None for a failed evaluation."""
SCORE_LIMIT = 1e150
"""The largest magnitude a told value may have: the model-based strategies square and standardize the scores, which
overflows (to inf, then NaN) beyond about 1e154. Every strategy takes the same range, so any can continue a study."""
SCORE_LIMIT_REASON = ("(the range every strategy takes: model-based ones square and standardize scores, which would "
                      "overflow beyond it)")
"""Why :data:`SCORE_LIMIT` applies, worded for any strategy (random search squares nothing)."""
ORIGIN = "saved_by"
"""The key of a :meth:`Strategy.state_dict` that records which strategy and space the state belongs to."""
_RESTORING: contextvars.ContextVar[bool] = contextvars.ContextVar("restoring_stored_settings", default=False)
_GIVING_UP: contextvars.ContextVar[bool] = contextvars.ContextVar("giving_up_as_before", default=False)


@contextlib.contextmanager
def restoring_stored_settings() -> Iterator[None]:
    """Strategies built inside are rebuilt from settings a study stored: a check a strategy makes only of new
    settings (one that a later version added, such as the Optuna adapters' sampling check) is skipped, so a stored
    study loads as it did. Continuing its search still fails where a setting does not work. Asks inside replay a
    stored study's (:mod:`nasforge.experiment._replay`): a warning meant for a run is not given there."""
    token = _RESTORING.set(True)
    try:
        yield
    finally:
        _RESTORING.reset(token)


def restoring() -> bool:
    """Whether strategies are being rebuilt from stored settings, or replay a stored study's asks (inside
    :func:`restoring_stored_settings`)."""
    return _RESTORING.get()


@contextlib.contextmanager
def giving_up_as_before() -> Iterator[None]:
    """Asks inside raise :class:`SpaceExhausted` once ``max_dedup_tries`` proposals were all repeats, without
    drawing an unproposed class of an enumerable space (:meth:`Strategy._unproposed`): as every ask did before
    2026-12-07. The replay repeats with it the ask that ended a stored study's run, to reach its saved state."""
    token = _GIVING_UP.set(True)
    try:
        yield
    finally:
        _GIVING_UP.reset(token)


def beyond_limit(values: Sequence[float]) -> bool:
    """Whether a value of ``values`` (a score's, or its one value) lies beyond +-:data:`SCORE_LIMIT`; compared as a
    Python float (numpy would cast the limit to a float32 value's type, which overflows)."""
    return any(abs(float(v)) > SCORE_LIMIT for v in values)


def _cached(cache: dict[int, tuple[weakref.ref, Any]], space: SearchSpace) -> Any:
    """What ``cache`` keeps for ``space``, None if nothing yet."""
    cached = cache.get(id(space))
    return cached[1] if cached is not None and cached[0]() is space else None


def _remember(cache: dict[int, tuple[weakref.ref, Any]], space: SearchSpace, value: Any) -> Any:
    """Keep ``value`` for ``space`` in ``cache`` while it lives (a weak reference: the cache keeps no space alive)."""
    key = id(space)  # every SearchSpace takes weak references (it has __weakref__, its subclasses too)
    cache[key] = (weakref.ref(space, lambda _, key=key: cache.pop(key, None)), value)
    return value


def _distinct(space: SearchSpace) -> int | None:
    """The number of canonical forms of ``space`` counted before, None if not counted yet."""
    return _cached(_DISTINCT, space)


def _remember_distinct(space: SearchSpace, count: int) -> int:
    """Keep ``count`` for ``space`` while it lives."""
    return _remember(_DISTINCT, space, count)


def unique_architectures(space: SearchSpace) -> tuple[list[Architecture], dict[Hashable, int]]:
    """One architecture per canonical form of an enumerable ``space`` (the first of each in enumeration order), and
    key -> its row: enumerated once per space while it lives; their number is remembered as :func:`_distinct`'s."""
    cached = _cached(_CLASSES, space)
    if cached is None:
        archs, index = [], {}
        for arch in space.enumerate():
            key = space.canonical_key(arch)
            if key not in index:
                index[key] = len(archs)
                archs.append(arch)
        cached = _remember(_CLASSES, space, (archs, index))
        _remember_distinct(space, len(archs))
    return cached


def _built_in(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "nasforge"


def proposal_error(strategy: Strategy, name: str, space_name: str, cause: Exception) -> UsageError:
    """The error for ``strategy`` (recorded as ``name``) proposing what is no architecture of space ``space_name``:
    a bug of the strategy, named as such; or, for a built-in strategy on a space of the user's, of the space, whose
    own methods make what the strategy proposes."""
    what = (f"strategy {name!r} ({type(strategy).__name__}) proposed what is no architecture of space "
            f"{space_name!r}: {cause}")
    space = getattr(strategy, "space", None)
    if _built_in(strategy) and space is not None and not _built_in(space):
        return UsageError(f"{what}; the built-in strategy proposes what the space's own methods return (sample, "
                          f"neighbors, mutate, from_params, enumerate), so one of {type(space).__name__}'s returned "
                          "it: each must return an Architecture of the space")
    return UsageError(f"{what}; its _propose must return one (e.g. self.space.sample(self.rng))")


class Strategy(ABC):
    """Proposes architectures (``ask``) and learns from their scores (``tell``).

    A strategy knows only its search space. All randomness comes from ``self.rng``, seeded at
    construction. With ``dedup=True`` (the default) ``ask`` never returns an architecture whose
    canonical form was already proposed, so no evaluation is spent twice on the same function;
    rejected proposals are reported to ``_on_duplicate`` with the score already known, if any.
    """

    name: str = "strategy"
    max_dedup_tries: int = 10_000
    own_tries: int = 1_000  # the strategy's own proposals per ask before uniform samples take over
    stuck_tries: int = 20  # the same, while the last ask needed uniform samples
    objective_counts: tuple[int, int | None] = (1, 1)  # how many objectives it handles: (least, most; None: any)
    transient: tuple[str, ...] = ()  # attributes rebuilt from the settings, left out of state_dict
    older_rules: dict[str, Any] = {}
    """Settings that choose a rule the strategy changed, mapped to the rule of before the change: a study records
    the setting, and a stored study that does not is replayed by both rules (:mod:`nasforge.experiment._replay`); a
    state without the setting loads with the older rule, and a loaded state need not share it (its rule is taken
    over)."""
    states_without: dict[str, Any] = {}
    """The rule a :meth:`state_dict` saved before a setting of :attr:`older_rules` existed followed, where it is not
    the older rule (the setting came after its rule changed: TPE's ``good_set``); else the older rule."""
    rules_changed_at: dict[str, float] = {}
    """When each setting of :attr:`older_rules` got today's rule (epoch seconds): a stored study created before that
    time that does not record the setting was made by the older rule, and is replayed by it first; one created since
    (its strategy's factory did not take the setting) by today's first. A setting not listed: today's first."""
    recorded_since_change: frozenset[str] = frozenset()
    """Settings of :attr:`older_rules` that every study has recorded since their rule changed (where its strategy's
    factory takes them): a study whose factory takes one and that does not record it was made by the older rule,
    whenever it was created (an older nasforge still installed)."""

    @classmethod
    def rules_of_its_time(cls, created_at: float | None, recorded: Collection[str],
                          taken: Collection[str] = ()) -> dict[str, Any]:
        """The older rules that a study created at ``created_at`` (epoch seconds; None: unknown, taken as older)
        followed for the settings of :attr:`older_rules` it does not record (``recorded``): those whose rule changed
        after it was created (:attr:`rules_changed_at`), and those of :attr:`recorded_since_change` that its
        strategy's factory takes (``taken``)."""
        return {k: v for k, v in cls.older_rules.items()
                if k not in recorded and (created_at is None or created_at < cls.rules_changed_at.get(k, 0.0)
                                          or (k in cls.recorded_since_change and k in taken))}

    def __init__(self, space: SearchSpace | str, seed: int | None = None, dedup: bool = True) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise UsageError(f"seed must be a non-negative integer or None, got {seed!r}")
        if seed is not None:
            seed = check_seed("seed", seed)  # a Python int: a numpy one would be stored as bytes
        check_bool("dedup", dedup)
        self.space = as_space(space)  # a space name too, as get_strategy takes
        self.seed = seed
        self.dedup = dedup
        self.rng = np.random.default_rng(seed)
        self._scores: dict[Hashable, Score] = {}  # canonical key -> score (None while pending/failed)
        self.n_asked = 0
        self.n_told = 0
        self.told_width: int | None = None  # values per score told so far (1 for a plain number)
        self.stuck = False  # the last ask found no new architecture among the strategy's own proposals

    # -- public ask/tell -----------------------------------------------------------------------
    def ask(self) -> Architecture:
        """A new architecture. When the strategy's own proposals keep repeating (``own_tries`` in a row,
        e.g. evolution whose few surviving parents have no untried child left because the others
        failed or were pruned), the rest of the ``max_dedup_tries`` are uniform samples of the space,
        and until an own proposal is new again each ask tries only ``stuck_tries`` of its own; when none of
        them is new either, :meth:`_unproposed` gives one. :class:`SpaceExhausted` when an enumerable space
        has no untried architecture left (known at once, without proposing), or when a space that cannot be
        enumerated gave none in all the tries."""
        if self.dedup and self._used_up(known_only=True):
            raise self._used_up_error()
        own = self.stuck_tries if self.stuck else self.own_tries
        for attempt in range(self.max_dedup_tries):
            if attempt == own and self.dedup and self._used_up(known_only=False):
                raise self._used_up_error()
            arch = self._propose() if attempt < own else self.space.sample(self.rng)
            try:
                key = self.space.canonical_key(arch)
            except UsageError as exc:  # a strategy's bug, named as such (the study checks the genotype too)
                raise proposal_error(self, self.name, self.space.name, exc) from None
            if not self.dedup or key not in self._scores:
                return self._asked(arch, key, stuck=attempt >= own)
            self._on_duplicate(arch, self._scores[key])
        arch = self._unproposed()
        return self._asked(arch, self.space.canonical_key(arch), stuck=True)

    def _asked(self, arch: Architecture, key: Hashable, stuck: bool) -> Architecture:
        """Record ``arch`` (canonical ``key``) as proposed by an ask and return it."""
        self._scores.setdefault(key, None)
        self.n_asked += 1
        self.stuck = stuck
        return arch

    def _unproposed(self) -> Architecture:
        """An architecture whose canonical form was not proposed yet, once ``max_dedup_tries`` proposals were all
        repeats: of an enumerable space, a class drawn with ``self.rng`` from those not proposed (uniform samples
        easily miss a rare class, such as NB-201's cells written by one genotype only), else
        :class:`SpaceExhausted`: none is left, or the space cannot be enumerated and the strategy gave up."""
        if _GIVING_UP.get():
            raise SpaceExhausted(f"{self.name}: no new architecture after {self.max_dedup_tries} proposals")
        if not self.space.is_enumerable:
            raise SpaceExhausted(f"{self.name}: gave up after {self.max_dedup_tries} proposals that were all "
                                 f"repeats, with {len(self._scores)} distinct architectures proposed or told "
                                 f"(space {self.space.name!r} cannot be enumerated to find one not proposed)")
        archs, index = unique_architectures(self.space)
        missing = [archs[row] for key, row in index.items() if key not in self._scores]
        if not missing:
            raise self._used_up_error()
        return missing[int(self.rng.integers(len(missing)))]

    def _used_up(self, known_only: bool) -> bool:
        """Has every canonical form of an enumerable space been proposed? The forms are counted once
        per space (``count_unique``): at the first ask when the space has at most ``COUNT_AT_ONCE``
        architectures, else only when the strategy is stuck (``known_only=False``)."""
        count = _distinct(self.space)
        if count is None:
            if not self.space.is_enumerable or (known_only and self.space.size > COUNT_AT_ONCE):
                return False
            count = _remember_distinct(self.space, self.space.count_unique())
        return len(self._scores) >= count

    def _used_up_error(self) -> SpaceExhausted:
        return SpaceExhausted(f"{self.name}: all {_distinct(self.space)} distinct architectures of space "
                              f"{self.space.name!r} were proposed")

    def tell(self, arch: Architecture, score: Score) -> None:
        """Learn the ``score`` of ``arch``: a finite number within +-:data:`SCORE_LIMIT` (higher is better), a tuple
        of them with one value per objective, or None for a failed evaluation. Anything else, or a tuple of another
        length than the strategy handles or was told before, is a UsageError and leaves the strategy unchanged; so is
        an ``arch`` that is not a valid architecture of the strategy's space (:meth:`SearchSpace.check`)."""
        self._record(self.space.check(arch), self.checked_score(score))

    def _record(self, arch: Architecture, score: Score) -> None:
        """Learn a score :meth:`checked_score` passed, of an architecture :meth:`SearchSpace.check` passed."""
        self._scores[self.space.canonical_key(arch)] = score
        self.n_told += 1
        if score is not None:
            self.told_width = len(score) if isinstance(score, tuple) else 1
        self._observe(arch, score)

    def checked_score(self, score: Any) -> Score:
        """``score`` if :meth:`tell` may take it (a one-value tuple as its value for a single-objective
        strategy), else a UsageError."""
        if score is None:
            return None
        values = score if isinstance(score, tuple) else (score,)
        if not values or not all(is_real(v) for v in values):
            raise UsageError(f"{self.name}: a score must be a finite number, a tuple of finite numbers (one per "
                             f"objective) or None (a failed evaluation), got {score!r:.100}")
        if beyond_limit(values):
            raise UsageError(f"{self.name}: a score's values must lie within +-{SCORE_LIMIT:g} {SCORE_LIMIT_REASON}, "
                             f"got {score!r:.100}; rescale the metric")
        low, high = self.objective_counts
        if len(values) < low or (high is not None and len(values) > high):
            wanted = "one objective" if high == 1 else f"{low} objectives" if low == high else \
                f"at least {low} objectives" if high is None else f"{low} to {high} objectives"
            raise UsageError(f"strategy {self.name!r} handles {wanted}, got a score of {len(values)} value(s): "
                             f"{score!r:.100}")
        if self.told_width is not None and len(values) != self.told_width:
            raise UsageError(f"{self.name}: the scores told so far had {self.told_width} value(s), got "
                             f"{len(values)}: {score!r:.100}")
        return values[0] if high == 1 else score

    def known_score(self, arch: Architecture) -> Score:
        """The score told for ``arch`` (or a functionally identical one), None if unknown."""
        return self._scores.get(self.space.canonical_key(arch))

    def library_settings(self) -> dict[str, Any]:
        """What a benchmark records next to the settings when the strategy runs another library whose version
        changes the algorithm (the Optuna peers): that library's version and the settings it resolved; none for
        nasforge's own strategies."""
        return {}

    # -- hooks for subclasses ------------------------------------------------------------------
    @abstractmethod
    def _propose(self) -> Architecture:
        """The next candidate, before de-duplication."""

    def _observe(self, arch: Architecture, score: Score) -> None:
        """Learn from a result (default: nothing to learn)."""

    def _on_duplicate(self, arch: Architecture, score: Score) -> None:
        """A proposal was rejected as already seen; ``score`` is its known score, if any."""

    # -- persistence ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this strategy is (deep-copied), and under
        :data:`ORIGIN` the strategy class and the space it belongs to."""
        left_out = self._left_out()
        state = copy.deepcopy({k: v for k, v in vars(self).items() if k not in left_out})
        return {**state, ORIGIN: self._origin()}

    def _left_out(self) -> set[str]:
        """The attributes :meth:`state_dict` leaves out: the space and the :attr:`transient` ones. A class adds here
        what it keeps out whatever a subclass's ``transient`` lists (a subclass may override it with an older
        tuple), so that states saved before it had the attribute still load."""
        return {"space", *self.transient}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of a strategy of the same class, space and settings (its seed
        and random generator are taken over); anything else is a UsageError and changes nothing."""
        if not isinstance(state, dict):
            raise UsageError(f"{self.name}: a strategy state is the dict state_dict() returns, got "
                             f"{type(state).__name__} {state!r:.60}")
        if isinstance(state.get(ORIGIN), dict):  # a state saved before a rule was recorded followed the older one
            state = {**self.older_rules, **self.states_without, **state}
        origin, mine = state.get(ORIGIN), self._origin()
        if not isinstance(origin, dict) or origin.keys() != mine.keys():
            raise UsageError(f"{self.name}: not a strategy state from state_dict() (it has no {ORIGIN!r} record)")
        if origin["strategy"] != mine["strategy"]:
            raise UsageError(f"the state was saved by a {origin['strategy']} strategy, not a {mine['strategy']}")
        if origin["space"] != mine["space"]:
            theirs, ours = origin["space"], mine["space"]
            if theirs.get("name") != ours["name"]:
                raise UsageError(f"the state was saved by a strategy on space {theirs.get('name')!r}, not on "
                                 f"{ours['name']!r}")
            raise UsageError(f"the state was saved by a strategy on space {ours['name']!r} with other options "
                             f"({theirs!r:.150}, this one: {ours!r:.150})")
        left_out = self._left_out()  # a state saved where one was not left out carries it: not taken
        state = {k: v for k, v in state.items() if k not in left_out}
        expected = set(vars(self)) - left_out
        unknown, missing = sorted(set(state) - expected - {ORIGIN}), sorted(expected - set(state))
        if unknown or missing:
            wrong = [f"{what} {keys}" for what, keys in (("unknown key(s)", unknown), ("no", missing)) if keys]
            raise UsageError(f"{self.name}: the state has {' and '.join(wrong)}; load a state_dict() of the same "
                             "strategy")
        ours, saved = self._settings(vars(self)), self._settings(state)
        older = self.older_rules
        other = [k for k, v in ours.items()  # a rule setting's older value is taken over either way (replays)
                 if k in saved and saved[k] != v and not (k in older and older[k] in (saved[k], v))]
        if other:
            theirs = ", ".join(f"{k}={saved[k]!r}" for k in other)
            mine = ", ".join(f"{k}={ours[k]!r}" for k in other)
            raise UsageError(f"{self.name}: the state was saved with {theirs}, this strategy has {mine}; build it "
                             "with the same settings")
        for key, value in copy.deepcopy(state).items():
            if key != ORIGIN:
                setattr(self, key, value)

    def _settings(self, values: dict[str, Any]) -> dict[str, Any]:
        """The settings a loaded state must share, read from ``values`` (``vars(self)`` or a state): by default
        the constructor arguments kept under their own names (:func:`constructor_settings`); those of
        :attr:`older_rules` may differ where one side holds the older rule."""
        return {k: values[k] for k in constructor_settings(self)[0] if k in values}

    def _origin(self) -> dict[str, Any]:
        space = {k: v for k, v in vars(self.space).items() if not k.startswith("_") and is_plain(v)}
        return {"strategy": type(self).__name__, "space": {"name": self.space.name, **space}}

    def __repr__(self) -> str:
        """The class, space, seed and the settings that differ from their defaults (:func:`changed_settings`)."""
        changed = "".join(f", {k}={reprlib.repr(v)}" for k, v in changed_settings(self).items())
        return f"{type(self).__name__}(space={self.space.name!r}, seed={self.seed}{changed})"


WARMUP_RULES = ("asks", "proposals")
"""How :class:`RandomWarmUp` counts its warm-up: architectures ask returned (since 2026-12), or ``_propose``
calls, the rejected duplicates included (the older rule, kept so that studies stored by it replay exactly)."""


class RandomWarmUp(Strategy):
    """A population-based strategy whose first ``population_size`` architectures returned by :meth:`ask` are
    uniform samples. ``n_random`` counts the asks that returned one (the duplicates ``ask`` rejects on the way
    do not count); the warm-up ends early once ``population`` is full (architectures told without an ask join
    it too). Afterwards, and while ``population`` is not empty, each proposal is a :meth:`_child` of it.
    ``warmup="proposals"`` counts every uniform proposal instead, rejected duplicates included: the rule of
    nasforge before 2026-12, which a study stored by it is replayed with (:data:`WARMUP_RULES`)."""

    older_rules = {"warmup": "proposals"}
    population_size: int
    population: list[Any]
    n_random: int
    warmup: str

    def _start_warm_up(self, population_size: int, warmup: str) -> None:
        """Set the warm-up's attributes (called by the constructor); a UsageError for an unknown rule."""
        if warmup not in WARMUP_RULES:
            raise UsageError(f"{self.name}: warmup must be one of {list(WARMUP_RULES)}, got {warmup!r}")
        self.population_size = population_size
        self.warmup = warmup
        self.n_random = 0

    def ask(self) -> Architecture:
        counted = self.warmup == "asks" and self._warming_up()
        arch = super().ask()
        self.n_random += counted
        return arch

    def _warming_up(self) -> bool:
        return len(self.population) < self.population_size and self.n_random < self.population_size

    def _propose(self) -> Architecture:
        if self._warming_up():
            self.n_random += self.warmup == "proposals"
            return self.space.sample(self.rng)
        if not self.population:  # no population yet (every member failed): keep sampling
            return self.space.sample(self.rng)
        return self._child()

    @abstractmethod
    def _child(self) -> Architecture:
        """A new candidate made from the population (called once the warm-up is over)."""


class PendingAware(Strategy):
    """A strategy that keeps ``pending``: the architectures asked and not yet told (by canonical key),
    so a model can condition on them (kriging believer, fantasies) or steer parallel asks apart."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: dict[Hashable, Architecture] = {}

    def ask(self) -> Architecture:
        arch = super().ask()
        self.pending[self.space.canonical_key(arch)] = arch
        return arch

    def _record(self, arch: Architecture, score: Score) -> None:  # a bad score never gets here: still pending
        self.pending.pop(self.space.canonical_key(arch), None)
        super()._record(arch, score)
