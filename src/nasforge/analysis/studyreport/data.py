"""What a report shows, read from a Study, from a storage (read-only) or from a ``nasforge bench`` folder.

Nothing here writes: a stored study is read straight from its storage (no strategy replay), and
SQL storages are opened read-only (SQLite with ``mode=ro``, PostgreSQL with read-only transactions).
The best trial and the Pareto set follow ``Study``'s rules: only trials told to the strategy are ranked,
and both are feasible-first under the strategy's constraints.
"""

from __future__ import annotations

import hashlib
import json
import os
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...benchmarks.tabular import data_rows
from ...checks import check_path, is_int, is_scored
from ...exceptions import UsageError
from ...spaces import SearchSpace, stored_space
from ...spaces.recorded import RecordedSpace
from ...experiment._export import study_json, trials_dataframe
from ...experiment.storage import Storage, StorageError
from ...experiment.storage.display import display_url, hide_password
from ...experiment.stages import FEASIBLE_ONLY, HIGHEST_BUDGET_ONLY, is_retrain, recorded_retrains, trial_number, \
    unsaved_retrain
from ...experiment.storage.base import check_stored_arch
from ...experiment.trial import Trial, TrialState
from ...pareto import non_dominated_mask
from ...strategies.constraints import constrain, violation_of
from ...strategies.multi_fidelity import at_highest_budget, budget_rule
from ..regret import negative_regret


@dataclass
class Retrained:
    """A stage-2 result: the search trial it retrains (if known), its metrics, its own trial number, its error and
    whether it completed (a failed or pruned retrain did not)."""

    source: int | None
    metrics: dict[str, float]
    number: int | None = None
    error: str | None = None
    completed: bool = True


@dataclass
class StudyData:
    """A read-only snapshot of one study: its settings and trials, with the architectures as text."""

    name: str
    space: SearchSpace
    objectives: list[str]
    directions: list[str]
    strategy: str
    seed: int | None
    trials: list[Trial]
    user_attrs: dict[str, Any] = field(default_factory=dict)
    strategy_config: dict[str, Any] | None = None
    run_config: dict[str, Any] | None = None
    storage_url: str = "memory"
    version: int = 0  # the last event of its trials
    identity: tuple[int, int] = (0, 0)  # study_identity() of a stored study
    constraints: list[str] = field(default_factory=list)  # the strategy's outcome constraints

    def __post_init__(self) -> None:
        self.arch_text = arch_texts(self.space, self.trials)

    @property
    def space_note(self) -> str | None:
        """Why architectures are shown as stored (the space could not be rebuilt here), else None."""
        return self.space.note if isinstance(self.space, RecordedSpace) else None

    @property
    def n_proposals(self) -> int:
        """``Study.n_proposals``: trials the strategy proposed (not retries, not enqueued trials)."""
        return sum(t.is_proposal for t in self.trials)

    def trials_dataframe(self):
        """``Study.trials_dataframe()`` of the stored trials."""
        return trials_dataframe(self.trials, lambda t: self.arch_text[t.number], self.objectives)

    def to_json(self) -> dict[str, Any]:
        """``Study.to_json()`` of the stored study."""
        header = {"name": self.name, "space": self.space.name, "strategy": self.strategy,
                  "objectives": self.objectives, "directions": self.directions, "seed": self.seed,
                  "user_attrs": self.user_attrs}
        return study_json(header, self.trials, lambda t: self.arch_text[t.number])

    # -- trial groups -------------------------------------------------------------------------
    @property
    def search_trials(self) -> list[Trial]:
        """All trials except stage-2 retrains."""
        return [t for t in self.trials if not is_retrain(t)]

    @property
    def complete(self) -> list[Trial]:
        """The trials the study ranks: COMPLETE, told to the strategy (``Study.completed(searched_only=True)``;
        enqueued trials kept from it, such as stage-2 retrains, are not) and with every objective."""
        return [t for t in self.trials if t.state == TrialState.COMPLETE and t.tell_strategy
                and all(is_scored(t.metrics.get(o)) for o in self.objectives)]

    def values(self, trials: list[Trial] | None = None) -> np.ndarray:
        """(n, n_objectives) objective values of ``trials`` (default: the complete ones)."""
        trials = self.complete if trials is None else trials
        return np.array([[t.metrics[o] for o in self.objectives] for t in trials], dtype=float).reshape(
            len(trials), len(self.objectives))

    def violations(self, trials: list[Trial] | None = None) -> np.ndarray:
        """Total violation of the constraints per trial of ``trials`` (default: the complete ones), 0 where
        feasible: the ``violation`` of the score the study tells the strategy."""
        trials = self.complete if trials is None else trials
        return np.array([violation_of(constrain(tuple(v), t.metrics, self.constraints))
                         for t, v in zip(trials, self.values(trials))], dtype=float)

    def infeasible(self) -> list[Trial]:
        """The complete trials that break a constraint."""
        done = self.complete
        return [t for t, v in zip(done, self.violations(done)) if v > 0]

    def ranked(self) -> list[Trial]:
        """``Study.ranked()``: the complete trials, with a multi-fidelity strategy only those at the highest
        budget reached."""
        rule = budget_rule(self.strategy, self.strategy_config) if self.user_attrs.get(HIGHEST_BUDGET_ONLY) else None
        return self.complete if rule is None else at_highest_budget(self.complete, *rule)

    def front(self) -> list[Trial]:
        """``Study.pareto_front()``: the ranked trials not dominated, feasible-first (when none is feasible,
        the least-violating ones not dominated among them), except for a search run's study (:data:`FEASIBLE_ONLY`),
        whose front holds only the trials meeting its constraints (none while no trial does), as ``nasforge status``
        and ``front.json`` count it; a search job older than that rule: every least-violating trial, as it ran."""
        done = self.ranked()
        if not done:
            return []
        violations = self.violations(done)
        # a search job started before the feasible-only rule took every least-violating trial as its front (its
        # front.json and retrains): shown as it ran
        older_job = bool(self.user_attrs.get("pipeline")) and not self.feasible_only()
        mask = non_dominated_mask(self.values(done), self.directions, violations, least_violated_front=not older_job)
        if self.feasible_only():
            mask &= violations == 0
        return [t for t, keep in zip(done, mask) if keep]

    def feasible_only(self) -> bool:
        """Whether the front holds only trials meeting the constraints (a search run's study)."""
        return bool(self.user_attrs.get(FEASIBLE_ONLY))

    def best(self) -> Trial | None:
        """``Study.best_trial``: the ranked trial best on the first objective (the first of equals), feasible-first
        under the constraints (while none meets them, the best of the least-violating ones)."""
        done = self.ranked()
        if not done:
            return None
        sign = 1.0 if self.directions[0] == "maximize" else -1.0
        ranked = zip(done, self.violations(done))
        return max(ranked, key=lambda tv: (-tv[1], sign * tv[0].metrics[self.objectives[0]]))[0]

    def retrained(self) -> list[Retrained]:
        """Stage-2 results: finished retrain trials (``user_attrs["stage"] == "retrain"``) and the older
        ``study.user_attrs["retrained"]`` form ({search trial number: Result JSON}); failed ones included, with
        ``completed`` False."""
        by_arch = {}
        for t in self.complete:
            by_arch.setdefault(self.arch_text[t.number], t.number)
        out = []
        searched = self.user_attrs.get("pipeline") == "search"  # its retrains save networks; a Python study's need not
        for t in self.trials:
            if is_retrain(t) and t.state.finished and not (searched and unsaved_retrain(t)):  # as its outputs do
                attrs = _attrs(t)
                source = trial_number(attrs.get("source_trial", attrs.get("retrain_of")))  # else: by architecture
                if source is None:
                    source = by_arch.get(self.arch_text[t.number])
                out.append(Retrained(source, dict(t.metrics), t.number, t.error, t.state == TrialState.COMPLETE))
        numbered = {r.source for r in out}
        for number, result in recorded_retrains(self.user_attrs).items():
            if number not in numbered:
                completed = result.get("status", "ok") == "ok" and not result.get("error")
                out.append(Retrained(number, dict(result.get("metrics") or {}), None, result.get("error"), completed))
        return out

    # -- summary figures ----------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in TrialState}
        for t in self.trials:
            counts[t.state.value] += 1
        return counts

    def first_start(self) -> float | None:
        """When the first trial was claimed to run; None when none was (a WAITING trial's time is when it was
        enqueued)."""
        return min((t.started_at for t in self._started()), default=None)

    def wall_seconds(self) -> float | None:
        """First trial start to last trial end (or last heartbeat of a running one); None when no trial started
        (WAITING trials, enqueued, never did)."""
        started = self._started()
        ends = [t.finished_at or t.heartbeat or t.started_at for t in started]
        return float(max(ends) - min(t.started_at for t in started)) if started else None

    def _started(self) -> list[Trial]:
        return [t for t in self.trials if t.started_at and t.state != TrialState.WAITING]

    def strategy_settings(self) -> dict[str, Any]:
        """The strategy's effective settings, as ``nasforge bench`` records them: the stored ones over its
        constructor's defaults (built once on the space, never run); the stored ones alone when it cannot be built
        here (an unknown name, a package it needs missing, a space only recorded)."""
        from ...exceptions import MissingDependencyError
        from ...strategies import get_strategy
        from ...strategies.base import restoring_stored_settings
        from ..harness import strategy_settings

        stored = dict(self.strategy_config or {})
        if isinstance(self.space, RecordedSpace):
            return stored
        try:
            with restoring_stored_settings():
                strategy = get_strategy(self.strategy, self.space, seed=self.seed, **stored)
            built = strategy_settings(strategy)
        except (UsageError, MissingDependencyError, TypeError, ValueError, KeyError):
            return stored
        return {**built, **stored}

    def sessions(self) -> int:
        """Distinct sessions that claimed trials: each ``Study`` running the loop (a run, a resume, another process
        sharing the study) stamps the trials it hands to its workers with its own id, so worker processes are not
        told apart."""
        return len({t.worker for t in self.trials if t.worker})

    def retries(self) -> dict[int, int]:
        """Failed trial number -> the trial that retried it."""
        return {t.retry_of: t.number for t in self.trials if t.retry_of is not None}


def arch_texts(space: SearchSpace, trials: list[Trial]) -> dict[int, str]:
    """Trial number -> the text of its architecture, formatted once per architecture object (the trials read from
    a storage share one per stored genotype)."""
    texts: dict[int, str] = {}
    out = {}
    for t in trials:
        text = texts.get(id(t.arch))
        if text is None:
            text = texts[id(t.arch)] = space.format(t.arch)
        out[t.number] = text
    return out


def _attrs(trial: Trial) -> dict[str, Any]:
    return getattr(trial, "user_attrs", None) or {}


# -- sources ---------------------------------------------------------------------------------------
def from_study(study: Any) -> StudyData:
    """Snapshot of a live ``Study`` object (its trials as it knows them now)."""
    record = getattr(study, "record", None) or getattr(study, "_record", None)
    strategy = record.strategy if record is not None else study.strategy.name  # the name it is recorded (and loaded) by
    return StudyData(study.name, study.space, list(study.objectives), list(study.directions), strategy,
                     study.seed, list(study.trials), dict(study.user_attrs),
                     getattr(record, "strategy_config", None), study.run_config, study.storage.url,
                     max((t.event for t in study.trials), default=0),
                     constraints=_constraint_list(getattr(study.strategy, "constraints", None)))


def open_readonly(url: str) -> Storage:
    """A storage on ``url`` that cannot write (SQLite ``mode=ro``, PostgreSQL read-only transactions). The URL
    is read as a writable storage reads it (SQLAlchemy's ``make_url``: ``%41`` is ``A``, ``?`` starts the
    query); a missing SQLite file is a UsageError, an unusable database a StorageError."""
    from ...experiment.storage import open_storage

    return open_storage(url, readonly=True)


def _constraint_list(constraints: Any) -> list[str]:
    """A strategy's constraints as a list: one given as a single string (``constraints="params <= 1e6"``) is one
    constraint, not its characters."""
    if isinstance(constraints, str):
        return [constraints]
    return list(constraints or [])


def load_study_data(storage: Storage | str | os.PathLike[str], name: str) -> StudyData:
    """Read one study from ``storage`` (a Storage, or a storage URL or SQLite path, opened read-only for the read:
    :func:`open_readonly`) without changing anything (no strategy is rebuilt). A space that cannot be rebuilt here
    (a model space whose module moved) is a :class:`RecordedSpace` of the stored texts."""
    if isinstance(storage, (str, os.PathLike)):
        store = open_readonly(os.fspath(storage))
        try:
            return load_study_data(store, name)
        finally:
            store.close()
    if not isinstance(storage, Storage):
        raise UsageError(f"load_study_data: storage must be a Storage or a storage URL, got {type(storage).__name__} "
                         f"{reprlib.repr(storage)}")
    try:
        record = storage.load_study(name)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    trials = storage.trials(record.id)
    space = _readable_space(storage, record, trials)
    return StudyData(record.name, space, list(record.objectives), list(record.directions), record.strategy,
                     record.seed, trials, dict(record.user_attrs), record.strategy_config, record.run_config,
                     storage.url, max((t.event for t in trials), default=0), study_identity(record),
                     _constraint_list((record.strategy_config or {}).get("constraints")))


def _readable_space(storage: Storage, record: Any, trials: list[Trial]) -> SearchSpace:
    """The study's space; a :class:`RecordedSpace` of the stored texts for a model space (its module, stored code,
    is never run here: the note says when its file is gone or was edited), or when the space cannot be rebuilt
    here (a corrupted row stays an error)."""
    def recorded(reason: str | None) -> RecordedSpace:
        return RecordedSpace(record.space, record.space_config, storage.arch_texts(record.id), reason)

    if record.space == "model_space":
        from ...spaces.model_space.reference import file_problem

        config = record.space_config or {}
        return recorded(file_problem(config.get("module"), config.get("source_sha1")))
    try:
        space = stored_space(record.space, record.space_config)
    except UsageError as exc:
        return recorded(str(exc))
    checked: set[int] = set()  # architecture objects: the trials read from a storage share one per genotype
    try:
        for trial in trials:
            if id(trial.arch) not in checked:
                check_stored_arch(space, trial, storage.url, record.name)
                checked.add(id(trial.arch))
    except UsageError as exc:  # the module file was edited
        return recorded(str(exc))
    return space


def study_identity(record: Any) -> tuple[int, int]:
    """(storage id, creation time in microseconds) of a stored study: tells it from a study deleted before it
    was created under the same name (SQLite may give the new one the same id, never the same creation time)."""
    return record.id or 0, round(record.created_at * 1e6)


Version = tuple[int, int, int, str]
""":func:`study_version`: (study id, creation time, last event, :func:`change_stamp`)."""


def study_version(storage: Storage, name: str, since: tuple[int, ...] | None = None) -> Version:
    """(storage id, creation time, last event, change stamp) of a stored study: a change marker that changes when
    a trial changes, when a running trial reports progress or the study's ``user_attrs`` or ``run_config`` change
    (no event: :func:`change_stamp`), and when the study is replaced by a new one of that name. Reads only the
    trials changed after the event of ``since`` when it is a version of this same study, and the running ones."""
    record = storage.load_study(name)
    identity = study_identity(record)
    after = since[2] if since is not None and tuple(since[:2]) == identity else -1
    event = max((t.event for t in storage.trials(record.id, after)), default=after)
    return (*identity, event, change_stamp(record.user_attrs, record.run_config, storage.running_trials(record.id)))


def change_stamp(user_attrs: dict[str, Any], run_config: dict[str, Any] | None, trials: list[Trial]) -> str:
    """16 hex digits of what changes without a trial event: the study's ``user_attrs`` (retrained results, model
    diagnostics) and ``run_config``, and the intermediate values of the RUNNING ``trials`` and whether their process
    is gone (the views flag those). Progress is stamped rather than given events, which every worker's sync would
    then fetch; heartbeats alone change nothing shown."""
    from ...experiment.identity import process_gone

    running = [(t.number, t.intermediate, process_gone(t.worker)) for t in trials if t.state == TrialState.RUNNING]
    text = json.dumps([user_attrs, run_config, running], default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


# -- benchmark folders -----------------------------------------------------------------------------
@dataclass
class BenchData:
    """A ``nasforge bench`` result folder: regret statistics per strategy."""

    folder: Path
    meta: dict[str, Any]
    curves: Any  # pandas DataFrame of bench_curves.csv

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(self.curves["strategy"]))


def load_bench(folder: str | Path) -> BenchData:
    """Read ``bench.json`` and ``bench_curves.csv`` from a ``nasforge bench --out`` folder."""
    import pandas as pd

    check_path("folder", folder, "a 'nasforge bench --out' folder")
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder (of 'nasforge bench --out')" if not folder.exists() else
                         f"{folder} is not a nasforge bench folder: it is a file, not a folder")
    meta_path, csv_path = folder / "bench.json", folder / "bench_curves.csv"
    for path in (meta_path, csv_path):
        if not path.is_file():
            raise UsageError(f"{folder} is not a nasforge bench folder: {path.name} is missing")
    try:
        meta = json.loads(meta_path.read_text())
        curves = pd.read_csv(csv_path, converters={"strategy": str})  # a name as written ("NA", "1e3")
    except (ValueError, OSError) as exc:
        raise UsageError(f"cannot read bench results in {folder}: {exc}") from None
    if not isinstance(meta, dict):
        raise UsageError(f"{meta_path}: not a JSON object of bench results (found a {type(meta).__name__})")
    summary = meta.get("summary")
    if summary is not None and not (isinstance(summary, list) and all(isinstance(row, dict) for row in summary)):
        raise UsageError(f"{meta_path}: 'summary' must be a list of objects (one per strategy), got {summary!r:.60}")
    for column in ("strategy", "evaluations", "regret_mean"):
        if column not in curves.columns:
            raise UsageError(f"{csv_path}: column {column!r} is missing")
    if curves.empty:
        raise UsageError(f"{csv_path}: no data rows (only the header): the bench wrote no curve")
    for column in ["evaluations", *(c for c in curves.columns if str(c).startswith("regret_"))]:
        numbers = pd.to_numeric(curves[column], errors="coerce")
        bad = np.flatnonzero(numbers.isna() & curves[column].notna())
        if bad.size:
            raise UsageError(f"{csv_path}: column {column!r} holds a non-number in {data_rows([bad[0]])}: "
                             f"{curves[column].iloc[bad[0]]!r:.40}")
        curves[column] = numbers
    _check_one_run(folder, meta, curves)
    _check_bench_regret(csv_path, meta, curves)
    return BenchData(folder, meta, curves)


def _check_one_run(folder: Path, meta: dict[str, Any], curves: Any) -> None:
    """A UsageError when ``bench_curves.csv`` is not of the run of ``bench.json``: its strategies are not those of
    the ``summary`` or its last evaluation is not the ``budget`` (as every bench run wrote them; e.g. an overwrite
    of an earlier release killed between its files)."""
    summary, budget = meta.get("summary"), meta.get("budget")
    found = list(dict.fromkeys(curves["strategy"]))
    expected = [str(row.get("strategy")) for row in summary or ()]
    last = curves["evaluations"].max()
    if summary is not None and set(found) != set(expected):
        differs = f"strategies {', '.join(found)} (bench.json's: {', '.join(expected)})"
    elif is_int(budget) and last != budget:
        differs = f"evaluations up to {last:g} (bench.json's budget: {budget})"
    else:
        return
    raise UsageError(f"{folder} holds outputs of two runs: bench_curves.csv has {differs}: run the bench again "
                     "with --overwrite")


def _check_bench_regret(csv_path: Path, meta: dict[str, Any], curves: Any) -> None:
    """A UsageError at the first negative ``regret_*`` value of ``bench_curves.csv``: a value better than the
    optimum in ``bench.json`` was found, so that optimum is wrong."""
    for column in (c for c in curves.columns if str(c).startswith("regret_")):
        bad = np.flatnonzero(curves[column] < 0)
        if not bad.size:
            continue
        regret = float(curves[column].iloc[bad[0]])
        reason = negative_regret(regret, meta.get("optimum"), meta.get("direction"), "in bench.json", bound=True)
        raise UsageError(f"{csv_path}: column {column!r}, {data_rows([bad[0]])}: {reason}")


__all__ = ["BenchData", "Retrained", "StorageError", "StudyData", "Version", "change_stamp", "display_url",
           "from_study", "hide_password", "load_bench", "load_study_data", "open_readonly", "study_identity",
           "study_version"]
