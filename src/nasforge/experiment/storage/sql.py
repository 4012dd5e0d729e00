"""Storage in a SQL database through SQLAlchemy 2 Core: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from ...spaces import Architecture, SearchSpace
from ..trial import Trial, TrialState
from .base import SCHEMA_VERSION, MakeTrial, Storage, StorageError, StudyRecord, StudySummary, checked_fields

DURABILITY = {"full": "FULL", "normal": "NORMAL"}
BUSY_TIMEOUT = 60.0
"""Seconds a SQLite connection waits for another process's write lock before giving up."""

_meta = sa.MetaData()
_info = sa.Table("nasforge_meta", _meta,
                 sa.Column("key", sa.String(64), primary_key=True),
                 sa.Column("value", sa.String(256), nullable=False))
_studies = sa.Table(
    "nasforge_studies", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("space", sa.String(128), nullable=False),
    sa.Column("space_config", sa.Text, nullable=False),
    sa.Column("objectives", sa.Text, nullable=False),
    sa.Column("directions", sa.Text, nullable=False),
    sa.Column("strategy", sa.String(128), nullable=False),
    sa.Column("strategy_config", sa.Text),
    sa.Column("strategy_state", sa.Text),
    sa.Column("run_config", sa.Text),
    sa.Column("seed", sa.BigInteger),
    sa.Column("user_attrs", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("n_trials", sa.Integer, nullable=False, default=0),
    sa.Column("n_events", sa.Integer, nullable=False, default=0),
)
_trials = sa.Table(
    "nasforge_trials", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study_id", sa.Integer, sa.ForeignKey("nasforge_studies.id", ondelete="CASCADE"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("arch", sa.Text, nullable=False),
    sa.Column("arch_key", sa.Text, nullable=False),
    sa.Column("genotype", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("fidelity", sa.Text),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("intermediate", sa.Text, nullable=False),
    sa.Column("cost", sa.Float, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("worker", sa.String(128)),
    sa.Column("heartbeat", sa.Float),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("retry_of", sa.Integer),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("ask_seq", sa.Integer),
    sa.Column("tell_seq", sa.Integer),
    sa.Column("event", sa.Integer, nullable=False),
    sa.UniqueConstraint("study_id", "number", name="uq_nasforge_trial_number"),
    sa.Index("ix_nasforge_trials_event", "study_id", "event"),
)


class _Rollback(Exception):
    """Internal: undo a transaction that turned out to change nothing."""


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True, separators=(",", ":"))


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


class SQLStorage(Storage):
    """Studies in a SQL database reached by a SQLAlchemy URL.

    SQLite files run in WAL mode; ``durability="full"`` (default) syncs the log on every commit, so
    a trial reported finished is on disk; ``"normal"`` survives process crashes but not power loss.
    Several processes may use the same database at once.
    """

    def __init__(self, url: str, durability: str = "full", busy_timeout: float | None = None) -> None:
        if durability not in DURABILITY:
            raise ValueError(f"unknown durability {durability!r}; choose from {sorted(DURABILITY)}")
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise StorageError(f"bad storage URL {url!r}: {exc}") from None
        self.url = url
        self._spaces: dict[int, SearchSpace] = {}
        try:
            if parsed.get_backend_name() == "sqlite":
                timeout = BUSY_TIMEOUT if busy_timeout is None else busy_timeout
                self._engine = sa.create_engine(parsed, connect_args={"timeout": timeout})
                sync = DURABILITY[durability]

                @sa.event.listens_for(self._engine, "connect")
                def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                    cursor = dbapi_conn.cursor()
                    cursor.execute("PRAGMA journal_mode=WAL")
                    cursor.execute(f"PRAGMA synchronous={sync}")
                    cursor.execute("PRAGMA foreign_keys=ON")
                    cursor.close()
            else:
                self._engine = sa.create_engine(parsed, pool_pre_ping=True)
            self._init_schema()
        except (sa.exc.SQLAlchemyError, ModuleNotFoundError) as exc:
            raise StorageError(f"cannot open storage {url!r}: {_reason(exc)}") from None

    # -- schema --------------------------------------------------------------------------------
    def _init_schema(self) -> None:
        for attempt in range(3):  # concurrent first-time creation may collide once
            try:
                _meta.create_all(self._engine, checkfirst=True)
                with self._engine.begin() as conn:
                    version = conn.execute(sa.select(_info.c.value).where(_info.c.key == "schema_version")).scalar()
                    if version is None:
                        conn.execute(sa.insert(_info).values(key="schema_version", value=str(SCHEMA_VERSION)))
                        version = str(SCHEMA_VERSION)
                break
            except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
                if attempt == 2:
                    raise
                time.sleep(0.2)
        if int(version) > SCHEMA_VERSION:
            raise StorageError(f"storage {self.url!r} has schema version {version}, newer than this nasforge "
                               f"understands ({SCHEMA_VERSION}); upgrade nasforge to open it")

    @property
    def schema_version(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(_info.c.value).where(_info.c.key == "schema_version")).scalar_one())

    @contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise StorageError(f"storage {self.url!r}: {_reason(exc)}") from None

    # -- studies -------------------------------------------------------------------------------
    def register_space(self, study_id: int, space: SearchSpace) -> None:
        """Use ``space`` to write the text form and canonical key of this study's architectures."""
        self._spaces[study_id] = space

    def create_study(self, record: StudyRecord) -> StudyRecord:
        values = dict(name=record.name, space=record.space, space_config=_dumps(record.space_config),
                      objectives=_dumps(record.objectives), directions=_dumps(record.directions),
                      strategy=record.strategy,
                      strategy_config=None if record.strategy_config is None else _dumps(record.strategy_config),
                      strategy_state=None if record.strategy_state is None else _dumps(record.strategy_state),
                      run_config=None if record.run_config is None else _dumps(record.run_config),
                      seed=record.seed, user_attrs=_dumps(record.user_attrs), created_at=record.created_at,
                      n_trials=0, n_events=0)
        try:
            with self._begin() as conn:
                record.id = conn.execute(sa.insert(_studies).values(**values).returning(_studies.c.id)).scalar_one()
        except sa.exc.IntegrityError:
            raise ValueError(f"study {record.name!r} already exists in {self.url}") from None
        return record

    def load_study(self, name: str) -> StudyRecord:
        with self._begin() as conn:
            row = conn.execute(sa.select(_studies).where(_studies.c.name == name)).mappings().first()
            if row is None:
                names = conn.execute(sa.select(_studies.c.name).order_by(_studies.c.id)).scalars().all()
                raise KeyError(f"no study {name!r} in {self.url}; studies: {list(names)}")
        loads = json.loads
        return StudyRecord(
            name=row["name"], space=row["space"], objectives=loads(row["objectives"]),
            directions=loads(row["directions"]), strategy=row["strategy"], seed=row["seed"],
            space_config=loads(row["space_config"]),
            strategy_config=None if row["strategy_config"] is None else loads(row["strategy_config"]),
            strategy_state=None if row["strategy_state"] is None else loads(row["strategy_state"]),
            run_config=None if row["run_config"] is None else loads(row["run_config"]),
            user_attrs=loads(row["user_attrs"]), created_at=row["created_at"], id=row["id"])

    def list_studies(self) -> list[StudySummary]:
        with self._begin() as conn:
            rows = conn.execute(sa.select(_studies).order_by(_studies.c.id)).mappings().all()
            counts = conn.execute(sa.select(_trials.c.study_id, _trials.c.state, sa.func.count())
                                  .group_by(_trials.c.study_id, _trials.c.state)).all()
        by_study: dict[int, dict[str, int]] = {}
        for study_id, state, n in counts:
            by_study.setdefault(study_id, {})[state] = n
        return [StudySummary(r["name"], r["space"], r["strategy"], json.loads(r["objectives"]), r["created_at"],
                             by_study.get(r["id"], {})) for r in rows]

    def delete_study(self, name: str) -> None:
        with self._begin() as conn:
            study_id = conn.execute(sa.select(_studies.c.id).where(_studies.c.name == name)).scalar()
            if study_id is None:
                names = conn.execute(sa.select(_studies.c.name)).scalars().all()
                raise KeyError(f"no study {name!r} in {self.url}; studies: {sorted(names)}")
            conn.execute(sa.delete(_trials).where(_trials.c.study_id == study_id))
            conn.execute(sa.delete(_studies).where(_studies.c.id == study_id))

    def rename_study(self, old: str, new: str) -> None:
        try:
            with self._begin() as conn:
                done = conn.execute(sa.update(_studies).where(_studies.c.name == old).values(name=new)).rowcount
        except sa.exc.IntegrityError:
            raise ValueError(f"study {new!r} already exists in {self.url}") from None
        if not done:
            raise KeyError(f"no study {old!r} in {self.url}")

    def update_study(self, study_id: int, **fields: dict[str, Any]) -> None:
        values = {key: _dumps(value) for key, value in checked_fields(fields).items()}
        if values:
            with self._begin() as conn:
                conn.execute(sa.update(_studies).where(_studies.c.id == study_id).values(**values))

    # -- trials --------------------------------------------------------------------------------
    def trials(self, study_id: int, since_event: int = -1) -> list[Trial]:
        with self._begin() as conn:
            return self._select_trials(conn, study_id, since_event)

    @staticmethod
    def _select_trials(conn: sa.Connection, study_id: int, since_event: int) -> list[Trial]:
        rows = conn.execute(sa.select(_trials).where(_trials.c.study_id == study_id, _trials.c.event > since_event)
                            .order_by(_trials.c.number)).mappings().all()
        return [_to_trial(r) for r in rows]

    def _bump(self, conn: sa.Connection, study_id: int, trials: int = 0) -> tuple[int, int]:
        """Take the next event (and ``trials`` trial numbers); locks the study row until commit."""
        stmt = (sa.update(_studies).where(_studies.c.id == study_id)
                .values(n_events=_studies.c.n_events + 1, n_trials=_studies.c.n_trials + trials)
                .returning(_studies.c.n_trials, _studies.c.n_events))
        n_trials, event = conn.execute(stmt).one()
        return n_trials - trials, event

    def create_trial(self, study_id: int, since_event: int, make: MakeTrial) -> Trial:
        with self._begin() as conn:
            number, event = self._bump(conn, study_id, trials=1)
            changed = self._select_trials(conn, study_id, since_event) if event != since_event + 1 else []
            trial = make(number, event, changed)
            trial.event = event
            conn.execute(sa.insert(_trials).values(study_id=study_id, **self._row(study_id, trial)))
        return trial

    def finish_trial(self, study_id: int, trial: Trial, told: bool, retry: Trial | None = None) -> None:
        with self._begin() as conn:
            number, event = self._bump(conn, study_id, trials=1 if retry is not None else 0)
            trial.event = event
            if told:
                trial.tell_seq = event
            conn.execute(sa.update(_trials).where(_trials.c.study_id == study_id, _trials.c.number == trial.number)
                         .values(state=trial.state.value, metrics=_dumps(trial.metrics),
                                 intermediate=_dumps(trial.intermediate), cost=trial.cost, error=trial.error,
                                 finished_at=trial.finished_at, tell_seq=trial.tell_seq, event=event))
            if retry is not None:
                retry.number, retry.event = number, event
                conn.execute(sa.insert(_trials).values(study_id=study_id, **self._row(study_id, retry)))

    def save_progress(self, study_id: int, trial: Trial) -> None:
        with self._begin() as conn:
            conn.execute(sa.update(_trials).where(_trials.c.study_id == study_id, _trials.c.number == trial.number)
                         .values(intermediate=_dumps(trial.intermediate), heartbeat=trial.heartbeat))

    def claim_trial(self, study_id: int, number: int, worker: str) -> Trial | None:
        now = time.time()
        where = (_trials.c.study_id == study_id, _trials.c.number == number)
        try:
            with self._begin() as conn:
                _, event = self._bump(conn, study_id)
                claimed = conn.execute(sa.update(_trials).where(*where, _trials.c.state == TrialState.WAITING.value)
                                       .values(state=TrialState.RUNNING.value, worker=worker, heartbeat=now,
                                               started_at=now, event=event)).rowcount
                if not claimed:
                    raise _Rollback  # the trial was taken: give the event number back
                row = conn.execute(sa.select(_trials).where(*where)).mappings().one()
        except _Rollback:
            return None
        return _to_trial(row)

    def heartbeat(self, study_id: int, numbers: Sequence[int]) -> None:
        if numbers:
            with self._begin() as conn:
                conn.execute(sa.update(_trials).where(_trials.c.study_id == study_id, _trials.c.number.in_(numbers),
                                                      _trials.c.state == TrialState.RUNNING.value)
                             .values(heartbeat=time.time()))

    def requeue(self, study_id: int, numbers: Sequence[int] | None = None,
                stale_before: float | None = None) -> list[int]:
        where = [_trials.c.study_id == study_id, _trials.c.state == TrialState.RUNNING.value]
        if numbers is not None:
            where.append(_trials.c.number.in_(list(numbers)))
        if stale_before is not None:
            where.append(sa.func.coalesce(_trials.c.heartbeat, 0.0) < stale_before)
        try:
            with self._begin() as conn:
                _, event = self._bump(conn, study_id)  # lock first, so that the update sees the latest state
                done = conn.execute(sa.update(_trials).where(*where).values(
                    state=TrialState.WAITING.value, worker=None, event=event,
                    attempts=_trials.c.attempts + 1).returning(_trials.c.number)).scalars().all()
                if not done:
                    raise _Rollback  # nothing changed: give the event number back
        except _Rollback:
            return []
        return sorted(done)

    def _row(self, study_id: int, trial: Trial) -> dict[str, Any]:
        space = self._spaces.get(study_id)
        text = space.format(trial.arch) if space else json.dumps(trial.arch.to_json()["genotype"])
        key = space.format(space.canonical(trial.arch)) if space else text
        return dict(number=trial.number, arch=text, arch_key=key, genotype=_dumps(trial.arch.to_json()),
                    state=trial.state.value, fidelity=None if trial.fidelity is None else _dumps(trial.fidelity),
                    metrics=_dumps(trial.metrics), intermediate=_dumps(trial.intermediate), cost=trial.cost,
                    error=trial.error, worker=trial.worker, heartbeat=_finite(trial.heartbeat),
                    started_at=trial.started_at, finished_at=trial.finished_at, retry_of=trial.retry_of,
                    attempts=trial.attempts, ask_seq=trial.ask_seq, tell_seq=trial.tell_seq, event=trial.event)

    def close(self) -> None:
        self._engine.dispose()


def _to_trial(row: Any) -> Trial:
    return Trial(number=row["number"], arch=Architecture.from_json(row["genotype"]), state=TrialState(row["state"]),
                 metrics=json.loads(row["metrics"]), cost=row["cost"], error=row["error"],
                 fidelity=None if row["fidelity"] is None else json.loads(row["fidelity"]),
                 intermediate=[(int(s), float(v)) for s, v in json.loads(row["intermediate"])],
                 started_at=row["started_at"], finished_at=row["finished_at"], worker=row["worker"],
                 heartbeat=row["heartbeat"], retry_of=row["retry_of"], attempts=row["attempts"],
                 ask_seq=row["ask_seq"], tell_seq=row["tell_seq"], event=row["event"])


def _reason(exc: BaseException) -> str:
    """The driver's message without SQLAlchemy's statement dump."""
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]
