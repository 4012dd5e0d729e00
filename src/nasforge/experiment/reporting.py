"""Intermediate reporting: how a running evaluation tells the engine its learning curve.

An evaluator that can report declares a ``reporter`` keyword::

    def evaluate(self, arch, fidelity=None, reporter=None):
        for epoch in range(1, epochs + 1):   # step = epochs completed: the last report is at the budget
            ...
            if reporter is not None:
                reporter.report(epoch, val_acc)   # raises TrialPruned when the engine stops the trial
        return Result(metrics={...})

``report`` records ``(step, value)`` (value in the units of the study's first objective, so the
pruner can compare trials, unless the evaluator declares the direction of what it reports:
:data:`REPORT_DIRECTION`) and raises :class:`TrialPruned` when the study's pruner decides the
trial is hopeless. Letting the exception propagate (after any cleanup) is the normal way out; the
engine then stores the trial as PRUNED with its curve. Evaluators without a ``reporter`` parameter
are called as ``evaluate(arch, fidelity)``. :class:`Reporter` lives in the leaf module
:mod:`nasforge.evaluators.reporter` (re-exported here), so evaluators need not import the engine.
"""

from __future__ import annotations

import inspect
import itertools
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from ..evaluators.base import Result
from ..checks import check_int
from ..exceptions import UsageError
from ..evaluators.reporter import Decide, Reporter, TrialPruned  # noqa: F401  (re-exported)
from ..settings import bind_error
from ..spaces import Architecture
from ._results import evaluator_outcome


REPORT_DIRECTION = "report_direction"
"""The attribute an evaluator may set to the direction of the values it reports, "maximize" or "minimize" (e.g.
``TrainingEvaluator``: its validation accuracy), whatever the study's objectives; without it the reports are taken
in the direction of the study's first objective."""


FIRST_REPORT_STEP = "first_report_step"
"""The attribute an evaluator may set to the step of a trial's first report (``TrainingEvaluator``: 1, epochs
completed); without it a pruner counting reports (``curve``'s ``min_points``) is judged as if steps may start at 0."""


def _declared(evaluator: Any, name: str) -> Any:
    """The evaluator's attribute ``name``, or that of a bound method's object (``TrainingEvaluator().evaluate``);
    None where neither sets it."""
    owner = getattr(evaluator, "__self__", None)
    return getattr(evaluator, name, getattr(owner, name, None))


def first_report_step(evaluator: Any) -> int:
    """The step of a trial's first report as ``evaluator`` declares it (:data:`FIRST_REPORT_STEP`), else 0."""
    step = _declared(evaluator, FIRST_REPORT_STEP)
    return 0 if step is None else check_int(f"the evaluator's {FIRST_REPORT_STEP}", step, 0)


def report_sign(evaluator: Any, first_sign: float) -> float:
    """1.0 where ``evaluator``'s reports are higher-is-better, -1.0 where lower is: its :data:`REPORT_DIRECTION`,
    else ``first_sign`` (the study's first objective's); another declared value is a UsageError."""
    direction = _declared(evaluator, REPORT_DIRECTION)
    if direction is None:
        return first_sign
    if direction not in ("maximize", "minimize"):
        raise UsageError(f"the evaluator's {REPORT_DIRECTION} must be 'maximize' or 'minimize' (the direction of the "
                         f"values it reports), got {direction!r}")
    return 1.0 if direction == "maximize" else -1.0


def accepts_reporter(evaluate: Callable[..., Any]) -> bool:
    """Whether ``evaluate`` takes a ``reporter`` keyword (explicitly or through ``**kwargs``)."""
    return _call_style(evaluate)[1]


def takes_fidelity(evaluator: Any) -> bool:
    """Whether ``evaluator`` (an object with ``evaluate`` or a plain callable) is called with a fidelity; a plain
    ``f(arch)`` is not, so a fidelity would never reach it."""
    return _call_style(_evaluate_of(evaluator))[0]


def takes_reporter(evaluator: Any) -> bool:
    """Whether ``evaluator`` (an object with ``evaluate`` or a plain callable) is handed a reporter, so that its
    reports can reach a pruner."""
    return _call_style(_evaluate_of(evaluator))[1]


def _evaluate_of(evaluator: Any) -> Callable[..., Any]:
    return evaluator.evaluate if hasattr(evaluator, "evaluate") else evaluator


def _call_style(evaluate: Callable[..., Any]) -> tuple[bool, bool]:
    """(takes a fidelity argument, takes a reporter keyword), cached per function: the loop asks
    for every trial and ``inspect.signature`` would otherwise dominate cheap evaluations."""
    func = getattr(evaluate, "__func__", None)
    try:
        return _signature_style(func, True) if func is not None else _signature_style(evaluate, False)
    except TypeError:  # unhashable callable object
        return _signature_style.__wrapped__(evaluate, False)


@lru_cache(maxsize=256)
def _signature_style(function: Callable[..., Any], bound: bool) -> tuple[bool, bool]:
    try:
        params = list(inspect.signature(function).parameters.values())[1 if bound else 0:]
    except (TypeError, ValueError):
        return True, False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
                  and not (p.name == "reporter" and p.kind is not p.VAR_POSITIONAL)]  # passed by keyword
    takes_fidelity = len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in positional)
    takes_reporter = any(p.name == "reporter" or p.kind is p.VAR_KEYWORD for p in params)
    return takes_fidelity, takes_reporter


def _call_misuse(evaluate: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> UsageError | None:
    """A UsageError when ``evaluate`` cannot be called with these arguments at all (a wrong signature, the same
    for every trial), else None (the evaluator raised by itself)."""
    if (error := bind_error(evaluate, *args, **kwargs)) is None:
        return None
    call = ", ".join(["arch", "fidelity"][:len(args)] + [f"{k}=" for k in kwargs])
    return UsageError(f"the evaluator cannot be called as evaluate({call}): {error}; declare "
                      "evaluate(arch, fidelity=None, reporter=None) or f(arch)")


TRACEBACK = "traceback"
"""The user attribute where a trial whose evaluator raised keeps where it was raised: the last
:data:`TRACEBACK_FRAMES` frames of the traceback as Python prints them, at most :data:`TRACEBACK_CHARS` long."""
TRACEBACK_FRAMES = 4
TRACEBACK_CHARS = 2000
_ENGINE = os.path.dirname(os.path.abspath(__file__)) + os.sep  # the frames of this package's code are left out
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # nasforge's own code

EMPTY_MESSAGES = {MemoryError: "out of memory", SystemExit: "the evaluator called sys.exit()"}
"""The reason stored for an exception raised without a message, by type (others: "(no message)")."""


def error_text(exc: BaseException) -> str:
    """``"ExceptionType: message"``, with a reason even when the exception carries no message or cannot give it (its
    ``__str__`` raises)."""
    try:
        message = str(exc)
    except Exception as failed:  # noqa: BLE001 - the trial still fails with its exception's type
        message = f"<no message: str() of the exception raised {type(failed).__name__}>"
    message = message or next((text for kind, text in EMPTY_MESSAGES.items() if isinstance(exc, kind)),
                              "(no message)")
    return f"{type(exc).__name__}: {message}"


def failed_result(exc: BaseException) -> Result:
    """The FAILED outcome of an evaluator that raised ``exc``: :func:`error_text`, and where it was raised in the
    user attribute :data:`TRACEBACK` (when the exception has a traceback below the engine's own frames)."""
    result = Result.failed(error_text(exc))
    where = _raised_at(exc)
    if where:
        result.user_attrs[TRACEBACK] = where
    return result


def _raised_at(exc: BaseException) -> str:
    """The last frames of ``exc``'s traceback below the engine's (the evaluator's and what it called), each as
    Python prints it without the ``^^^`` marker lines, cut at the start to :data:`TRACEBACK_CHARS`; "" when there
    are none. An exception nasforge's own code raised from another (``raise ... from cause``, as training wraps a
    model-space network's error in an ArchitectureError) gives the frames of that cause: where the failure began,
    not nasforge's re-raise (a user's own ``raise ... from`` keeps its frames)."""
    import traceback

    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen and _raised_by_nasforge(exc):
        exc = exc.__cause__
        seen.add(id(exc))
    frames = list(itertools.dropwhile(lambda frame: frame.filename.startswith(_ENGINE),
                                      traceback.extract_tb(exc.__traceback__)))
    text = "".join(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n'
                   + (f"    {frame.line.strip()}\n" if frame.line else "") for frame in frames[-TRACEBACK_FRAMES:])
    return text if len(text) <= TRACEBACK_CHARS else "..." + text[-(TRACEBACK_CHARS - 3):]


def _raised_by_nasforge(exc: BaseException) -> bool:
    """Whether ``exc`` was raised in nasforge's own code (its innermost frame is in this package)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_PACKAGE)


def _interrupt_in(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt (the CLI's SIGTERM is one too) inside an exception group ``exc``, at any depth; None
    where there is none."""
    if isinstance(exc, KeyboardInterrupt):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        return next((found for inner in exc.exceptions if (found := _interrupt_in(inner)) is not None), None)
    return None


def run_evaluation(evaluator: Any, arch: Architecture, fidelity: dict[str, Any] | None,
                   reporter: Reporter, catch: bool = True, objectives: Sequence[str] = ()) -> Result:
    """Evaluate one architecture, turning exceptions into FAILED (unless ``catch=False``) and
    TrialPruned into PRUNED results. Any other BaseException of the evaluator fails its trial too, as in a worker
    process (``sys.exit()``: "SystemExit: 2", ``asyncio.CancelledError``); only a KeyboardInterrupt (Ctrl-C, and
    the CLI's SIGTERM) propagates, the clean interrupt of the run.

    ``evaluator`` is an object with ``evaluate`` or a plain callable ``f(arch[, fidelity][, reporter=])``;
    it may return what ``Study.tell`` takes: a Result, a metrics dict, or one number per objective
    (of ``objectives``, the study's); anything else is a FAILED result saying so.
    The reported curve becomes the result's ``intermediate`` unless the evaluator filled it itself.
    """
    evaluate = _evaluate_of(evaluator)
    with_fidelity, with_reporter = _call_style(evaluate)
    kwargs = {"reporter": reporter} if with_reporter else {}
    args = (arch, fidelity) if with_fidelity else (arch,)
    try:
        value = evaluate(*args, **kwargs)
        result = evaluator_outcome(value, objectives)
    except TrialPruned as exc:
        result = Result(status="pruned", error=str(exc))
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - anything else the evaluator raises becomes a FAILED trial
        interrupt = _interrupt_in(exc)
        if interrupt is not None:  # Ctrl-C inside a task group (trio's nursery): still the run's clean interrupt
            raise interrupt from exc
        if not catch:
            raise
        cause = (_call_misuse(evaluate, args, kwargs) if isinstance(exc, TypeError) else None) or exc
        result = failed_result(cause)
    if reporter.pruned and result.status == "ok":
        result.status = "pruned"
    if not result.intermediate:
        result.intermediate = list(reporter.curve)
    return result
