"""Restoring a loaded study's strategy: replay the stored ask/tell events, or relearn from the results.

Nothing about a strategy is pickled. A study records its strategy's name, settings and seed; on
load a fresh strategy is asked and told again in the stored order (``ask_seq``/``tell_seq``),
which reproduces it exactly for a single writer. A small fingerprint (counts and a hash of the
random generator) saved after each run checks the replay.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import SpaceExhausted, UsageError, user_stacklevel
from ..settings import constructor_settings
from ..strategies import Strategy, get_strategy
from ..strategies.base import RandomWarmUp, giving_up_as_before, restoring_stored_settings
from .storage.base import DamagedRowError
from .storage.display import display_url
from .trial import Trial, TrialState

if TYPE_CHECKING:
    from .study import Study

GIVE_UPS = 10
"""The most asks in a row that gave up a replay repeats where no trial records them: each optimize call that found
no new architecture (before 2026-12-07 also on an enumerable space that still had some) ended with one."""


def init_config(obj: Any, skip: Sequence[str] = ("self", "space", "seed")) -> dict[str, Any] | None:
    """Constructor arguments of ``obj`` read back from same-named attributes (plain data only); None when
    they do not suffice to rebuild it (:func:`nasforge.settings.constructor_settings`). An object with a
    ``recorded_settings()`` method (a model-based strategy, whose parts are built into objects) gives them itself."""
    recorded = getattr(obj, "recorded_settings", None)
    if callable(recorded) and tuple(skip) == ("self", "space", "seed"):
        return recorded()
    settings, complete = constructor_settings(obj, skip)
    return settings if complete else None


def replay(study: Study, stored: list[Trial]) -> None:
    """Re-ask and re-tell the strategy in the stored event order; relearn if it proposes otherwise. A study that does
    not record a rule setting of its strategy (:attr:`~nasforge.strategies.Strategy.older_rules`) may have been
    stored by the older rule: its replay is tried by the rules of its time first (the older rule of each setting that
    changed after the study was created, :attr:`~nasforge.strategies.Strategy.rules_changed_at`; today's of the
    others, e.g. ``warmup``, which has no date), then by the other combinations (:func:`_rule_states`), each with the
    asks that gave up between the stored ones (:func:`_replays_with_given_up_asks`); the strategy goes on by the first
    that was exact (relearns by the first where none is)."""
    events = sorted([(t.ask_seq, 0, t) for t in stored if t.ask_seq is not None] +
                    [(t.tell_seq, 1, t) for t in stored if t.tell_seq is not None], key=lambda e: e[:2])
    edited = _edited_module(study)
    fresh_state, others = _rule_states(study, state_or_none(study.strategy))  # relearned by the first where none
    diverged_at = _diverges_at(study, events)
    if (diverged_at is not None and not _replays_with_given_up_asks(study, events, fresh_state, diverged_at)
            and not any(_replays_again(study, events, state, diverged_at) for state in others)):
        _relearn(study, stored, fresh_state, warn=not edited)
        return
    if not edited:
        _check_snapshot(study)


def restart(study: Study, base_state: dict[str, Any] | None) -> None:
    """Rebuild the strategy of a study whose ask or tell was interrupted (it may be ahead of the trials): back to
    ``base_state``, its state when the study was opened (None: rebuilt from the record), then :func:`replay` of the
    study's trials, so that it continues exactly as if the interrupted ask or tell never began."""
    with restoring_stored_settings():  # rebuilt from the stored settings, as Study.load does
        if base_state is None:
            study.strategy = get_strategy(study.record.strategy, study.space, seed=study.seed,
                                          **(study.record.strategy_config or {}))
        else:
            study.strategy.load_state_dict(base_state)
        replay(study, study.trials)


def _rule_states(study: Study, state: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The strategy's states to replay the study by, from its ``state`` (None: a strategy without one, replayed as it
    is): first by the rules of the study's time for the rule settings it does not record (the strategy is set to
    them); then, each once and in this order, the others: by all their older rules (code older than its
    ``created_at`` suggests: a user's older install), by today's, and, with three or more such settings, by the other
    combinations."""
    strategy, recorded = study.strategy, study.record.strategy_config or {}
    unrecorded = {k: v for k, v in strategy.older_rules.items() if k not in recorded}
    if state is None or not unrecorded:
        return state, []
    built = {k: getattr(strategy, k) for k in unrecorded}
    taken = {k for k in unrecorded if _factory_takes(study.record.strategy, k)}  # a study made by name records them
    first = {**built, **strategy.rules_of_its_time(study.record.created_at, recorded, taken)}
    rules = [first, unrecorded, built]
    if len(unrecorded) >= 3:
        rules += [{**built, **{k: unrecorded[k] for k in older}}
                  for size in range(1, len(unrecorded)) for older in itertools.combinations(unrecorded, size)]
    if first != built:
        strategy.load_state_dict({**state, **first})
    return {**state, **first}, [{**state, **rule} for n, rule in enumerate(rules) if n and rule not in rules[:n]]


def _factory_takes(name: str, keyword: str) -> bool:
    """Whether the registered strategy ``name``'s factory takes ``keyword`` (False for a name not registered)."""
    from ..strategies import STRATEGIES
    from .study import _takes_keyword

    return name in STRATEGIES and _takes_keyword(name, keyword)


def _edited_module(study: Study) -> bool:
    """Whether the study's model-space module file changed since the study was made; if so, a warning names the
    file (the replay runs on the edited space, so it may well diverge: that is the cause, not another writer)."""
    try:
        study._check_source()
    except UsageError as exc:
        warnings.warn(f"{exc}; the trials load for inspection, and the strategy is replayed on the edited space "
                      "(asks, optimize and resume refuse)", RuntimeWarning, stacklevel=user_stacklevel())
        return True
    return False


def _diverges_at(study: Study, events: list[tuple[int, int, Trial]], given_up: dict[int, int] | None = None,
                 until: int | None = None) -> int | None:
    """Ask and tell the strategy in the order of ``events``; the number of asks it repeated before it first
    proposed otherwise (None: the replay is exact). ``given_up``: ask number -> the asks that gave up just before it
    (:func:`_gives_up`; one that proposes instead is a divergence there); ``until``: stop before that ask."""
    asks = 0
    for _, kind, trial in events:
        if kind == 1:
            study.learn_from(trial)
            continue
        if asks == until:
            return None
        if not all(_gives_up(study.strategy) for _ in range((given_up or {}).get(asks, 0))):
            return asks
        try:
            proposed = study.strategy.ask()
        except SpaceExhausted:
            proposed = None
        if proposed != trial.arch:
            return asks
        asks += 1
    return None


def _gives_up(strategy: Strategy) -> bool:
    """Whether an ask of ``strategy`` gives up (:class:`SpaceExhausted`) as asks did before 2026-12-07, when all its
    ``max_dedup_tries`` proposals are repeats (it then proposes nothing; else it proposed, and is ahead)."""
    try:
        with giving_up_as_before():
            strategy.ask()
    except SpaceExhausted:
        return True
    return False


def _replays_with_given_up_asks(study: Study, events: list[tuple[int, int, Trial]], state: dict[str, Any] | None,
                                diverged_at: int, given_up: dict[int, int] | None = None) -> bool:
    """Replay again from ``state``, finding where asks that gave up came between the stored ones: a run that found
    no new architecture ended with such an ask, which no trial records, and a later run (an optimize call, which
    before 2026-12-07 gave up with classes of an enumerable space left) went on after it. Tried only where the
    diverging ask needed uniform samples (``stuck``): a strategy that gave up there had no new proposal of its own.
    Before the ask that diverged, 1 to :data:`GIVE_UPS` such asks after which it proposes the stored architecture
    are tried, fewest first, each with the rest of the replay (and the asks ``given_up`` found before it); whether one
    made the replay exact and reach the saved state."""
    given_up = given_up or {}
    if state is None or not getattr(study.strategy, "stuck", False) or diverged_at in given_up:
        return False
    arch = [trial for _, kind, trial in events if kind == 0][diverged_at].arch
    study.strategy.load_state_dict(state)
    _diverges_at(study, events, given_up, until=diverged_at)  # exact up to there, as the last replay was
    probe = copy.deepcopy(study.strategy)
    for count in range(1, GIVE_UPS + 1):
        if not _gives_up(probe):
            return False
        try:
            if copy.deepcopy(probe).ask() != arch:
                continue
        except SpaceExhausted:
            continue
        tried = {**given_up, diverged_at: count}
        study.strategy.load_state_dict(state)
        later = _diverges_at(study, events, tried)
        if (_reaches_snapshot(study) if later is None
                else later > diverged_at and _replays_with_given_up_asks(study, events, state, later, tried)):
            return True
    return False


def _replays_again(study: Study, events: list[tuple[int, int, Trial]], state: dict[str, Any],
                   diverged_at: int) -> bool:
    """Replay once more from ``state`` (other rules of :func:`replay`), with the asks that gave up between the stored
    ones where it diverges (:func:`_replays_with_given_up_asks`); whether that was exact. The older warm-up rule
    (:data:`~nasforge.strategies.base.WARMUP_RULES`) ends the warm-up no later than the newer, so the two first differ
    within the first ``population_size`` asks, and only a replay that diverged (``diverged_at``, by the first rules)
    there is tried again."""
    strategy = study.strategy
    if isinstance(strategy, RandomWarmUp) and diverged_at >= strategy.population_size:
        return False
    strategy.load_state_dict(state)
    later = _diverges_at(study, events)
    return later is None or _replays_with_given_up_asks(study, events, state, later)


def _relearn(study: Study, stored: list[Trial], fresh_state: dict[str, Any] | None, warn: bool = True) -> None:
    """Fallback when replay diverges (several writers, a nondeterministic strategy, or a study stored by a nasforge
    whose strategy proposed otherwise): a fresh strategy told every finished result in order (a multi-fidelity one at
    the budget it was evaluated at, waiting for those still running); pending architectures are avoided by the
    study. ``warn``: say so (not when the study's module file was edited, which :func:`_edited_module` said)."""
    if warn:
        # unrecorded settings: the strategy is the object the caller gave, which nothing could compare with the study's
        given = ("the strategy object given may differ from the one the study was made with, whose settings were not "
                 "recorded to compare: build it and its parts exactly as before; "
                 if study.record.strategy_config is None else "")
        warnings.warn(f"study {study.name!r}: the strategy's replay diverged from the stored trials ({given}several "
                      "processes wrote the study, the strategy is nondeterministic, or the study was stored by a "
                      "nasforge version whose strategy proposed otherwise, or interrupted inside an ask by one "
                      "before 2026-12); continuing from the told results only",
                      RuntimeWarning, stacklevel=5)  # the Study(...) or Study.load(...) call
    if fresh_state is None:
        study.strategy = get_strategy(study.record.strategy, study.space, seed=study.seed,
                                      **(study.record.strategy_config or {}))
    else:
        study.strategy.load_state_dict(fresh_state)
    told = sorted((t for t in stored if t.tell_seq is not None), key=lambda t: t.tell_seq)
    if callable(getattr(study.strategy, "relearn", None)):  # multi-fidelity: each result at its budget
        running = [(t.arch, t.fidelity) for t in stored
                   if t.tell_seq is None and t.state in (TrialState.RUNNING, TrialState.WAITING)]
        study.strategy.relearn([(t.arch, study.score_to_tell(t), t.fidelity) for t in told], running)
        return
    for trial in told:
        study.strategy.tell(trial.arch, study.score_to_tell(trial))


FINGERPRINT_COUNTS = ("n_asked", "n_told")
"""The keys of a saved :func:`fingerprint` that a load compares first."""


def fingerprint(strategy: Strategy) -> dict[str, Any]:
    """A small summary of a strategy's state (counts and a hash of its random generator)."""
    rng_state = json.dumps(strategy.rng.bit_generator.state, sort_keys=True, default=str)
    return {"n_asked": strategy.n_asked, "n_told": strategy.n_told,
            "rng": hashlib.sha1(rng_state.encode()).hexdigest()[:16]}


def _check_snapshot(study: Study) -> None:
    if not _reaches_snapshot(study):
        warnings.warn(f"study {study.name!r}: replaying the stored trials did not reproduce the strategy's "
                      "saved state (is the strategy deterministic given its seed?)", RuntimeWarning, stacklevel=4)


def _reaches_snapshot(study: Study) -> bool:
    """Whether the replayed strategy is in the state its last run saved (with the asks that gave up after its last
    trial, :func:`_repeat_the_exhausted_ask`); True where the fingerprint cannot tell (none saved, other counts)."""
    saved, now = study.record.strategy_state, fingerprint(study.strategy)
    if saved and not all(key in saved for key in FINGERPRINT_COUNTS):  # every version saved them (or nothing)
        raise DamagedRowError(f"storage {display_url(study.storage.url)!r}: study {study.name!r} has a corrupted "
                              f"'strategy_state' field: a strategy fingerprint with {' and '.join(FINGERPRINT_COUNTS)} "
                              f"expected, got {json.dumps(saved)[:100]}")
    if saved and (saved["n_asked"], saved["n_told"]) == (now["n_asked"], now["n_told"]) and saved != now:
        return _repeat_the_exhausted_ask(study, saved)
    return True


def _repeat_the_exhausted_ask(study: Study, saved: dict[str, Any]) -> bool:
    """A run that used up the space ended with an ask that drew candidates but proposed none (no trial
    records it), and each later run that found none again added one. Repeat such asks on a copy, giving up as asks
    did before 2026-12-07 (a study stored then may have stopped before a class drawn from those not proposed: its
    next ask finds one), up to :data:`GIVE_UPS` while they give up; when one lands on the saved state, the copy
    becomes the study's strategy and the replay was exact."""
    probe = copy.deepcopy(study.strategy)
    for _ in range(GIVE_UPS):
        if not _gives_up(probe):
            return False
        if fingerprint(probe) == saved:
            study.strategy = probe
            return True
    return False


def state_or_none(strategy: Strategy) -> dict[str, Any] | None:
    """The strategy's state, or None for strategies that cannot snapshot themselves (Optuna's)."""
    try:
        return strategy.state_dict()
    except TypeError:  # NoStateError, or a state that cannot be copied
        return None
