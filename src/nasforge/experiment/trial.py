"""Trial: one proposed architecture and what became of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..spaces import Architecture


class TrialState(str, Enum):
    """Where a trial is: ``WAITING`` to run, ``RUNNING``, or finished as ``COMPLETE`` (its metrics stored),
    ``FAILED`` (no usable result) or ``PRUNED`` (stopped early from its reports). A state
    equals its name as a string, and ``str()`` gives that name (``"COMPLETE"``)."""

    WAITING = "WAITING"    # queued to run (a re-queued stale trial or a retry)
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    PRUNED = "PRUNED"

    def __str__(self) -> str:
        return self.value

    @property
    def finished(self) -> bool:
        """COMPLETE, FAILED or PRUNED: nothing more will happen to the trial."""
        return self in (TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED)


@dataclass(repr=False)
class Trial:
    """One trial of a study.

    ``ask_seq``/``tell_seq`` are the study-wide event numbers at which the strategy proposed the
    architecture and was told its outcome (None: not a proposal, e.g. a retry or an enqueued trial /
    not told yet); they let a loaded study replay its strategy exactly. ``event`` is the number of
    the last change. ``user_attrs`` are JSON values stored with the trial (set by
    :meth:`Study.enqueue`, an evaluator's ``Result.user_attrs`` or :meth:`Study.set_trial_user_attr`);
    ``tell_strategy`` False keeps the outcome from the strategy (enqueued trials by default).
    """

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
    worker: str | None = None
    heartbeat: float | None = None
    retry_of: int | None = None
    attempts: int = 1
    ask_seq: int | None = None
    tell_seq: int | None = None
    event: int = 0
    user_attrs: dict[str, Any] = field(default_factory=dict)
    tell_strategy: bool = True

    def __copy__(self) -> Trial:
        """A shallow copy, as ``copy.copy`` makes one, without its generic reduce protocol (each tell makes one)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __repr__(self) -> str:
        """Short, for notebooks: number, state, architecture (its space and its genotype, whole up to 120
        characters, else its first 80 and a digest of the rest: two architectures never print alike), metrics and,
        where set, fidelity and error (cut at 80 characters); the bookkeeping fields are left out."""
        space, genotype = getattr(self.arch, "space", None), getattr(self.arch, "genotype", self.arch)
        shown = _genotype_text(genotype)
        arch = f"{space}:{shown}" if space is not None else shown
        state = getattr(self.state, "value", self.state)  # never raises: a loosely built trial is shown as it is
        parts = [f"number={self.number}", f"state={state}", f"arch={arch}", f"metrics={self.metrics}"]
        if self.fidelity:
            parts.append(f"fidelity={self.fidelity}")
        if self.error:
            parts.append(f"error={_cut(self.error, 80)!r}")
        return f"Trial({', '.join(parts)})"

    @property
    def done(self) -> bool:
        return self.state.finished

    @property
    def is_proposal(self) -> bool:
        """Whether the strategy proposed this trial (not a retry, not an enqueued trial)."""
        return self.ask_seq is not None

    @property
    def told(self) -> bool:
        """Whether the strategy was told this trial's outcome: False while it runs, for a failed attempt that was
        retried (only a chain's last outcome is told) and for an enqueued trial kept from the strategy."""
        return self.tell_seq is not None


def _genotype_text(genotype: Any) -> str:
    """``repr(genotype)``, or where longer than 120 characters (a DARTS cell) its first 80 and ``... #`` with 8 hex
    digits of its SHA-1: short, and two genotypes never shown alike."""
    text = repr(genotype)
    if len(text) <= 120:
        return text
    import hashlib

    return f"{text[:80]}... #{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def _cut(text: Any, limit: int) -> str:
    """``text`` (made a string) cut to ``limit`` characters, ending in "..." when cut."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def error_line(trial: Trial) -> str:
    """The first line of a finished trial's error, or its state when it has no error text (an evaluator that
    returned ``Result(status="failed")`` without one)."""
    if trial.error:
        return str(trial.error).partition("\n")[0]
    return f"{getattr(trial.state, 'value', trial.state)} with no error text"
