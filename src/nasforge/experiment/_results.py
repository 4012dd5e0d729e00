"""What may be stored as a trial's outcome: checked at the boundary, so one bad result never stops a study.

:func:`as_result` reads an outcome the way ``tell`` takes it (a Result, a metrics dict, one number
per objective). An evaluator (or a caller of ``tell``) may return anything. :func:`checked_result`
turns it into a Result that the storages can always write, or into a FAILED Result that names what
was wrong: metrics must be numbers, objectives finite, the cost seconds (a finite number >= 0),
``user_attrs`` a dict of JSON values with string keys; a missing or NaN cost counts as 0 (unknown).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..checks import is_number
from ..evaluators.base import Result
from ..exceptions import UsageError

STATUSES = ("ok", "failed", "pruned")


class _Invalid(Exception):
    """Internal: the reason a result cannot be stored as it is."""


def as_result(value: Any, objectives: Sequence[str], source: str) -> Result:
    """``value`` as a Result: a Result as it is, a dict as its metrics, a tuple or list as one value per
    objective (in objective order), a plain number as the single objective's value.

    Any other value, or a tuple of the wrong length, is a UsageError whose message starts with
    ``source`` (e.g. "tell got")."""
    if isinstance(value, Result):
        return value
    if isinstance(value, Mapping):
        return Result(metrics=dict(value))
    names = ", ".join(objectives)
    if type(value).__module__ == "numpy" and getattr(value, "ndim", 0) == 1:
        value = value.tolist()  # one value per objective, e.g. a vectorised evaluation's row
    if isinstance(value, (tuple, list)):
        if len(value) != len(objectives):
            raise UsageError(f"{source} {len(value)} value(s) for {len(objectives)} objective(s) ({names}): "
                             f"{_short(value)}; give one value per objective, in that order")
        return Result(metrics=dict(zip(objectives, value)))
    if len(objectives) == 1 and is_number(as_scalar(value)):  # checked_result says when it is no finite number
        return Result(metrics={objectives[0]: as_scalar(value)})
    numbers_wanted = ("" if not objectives else " or a number" if len(objectives) == 1
                      else f" or a tuple of {len(objectives)} numbers ({names})")
    raise UsageError(f"{source} {type(value).__name__}, expected a Result, a dict of metrics{numbers_wanted}: "
                     f"{_short(value)}")


def checked_result(result: Any, objectives: Sequence[str], need_objectives: bool = True) -> Result:
    """A storable copy of ``result``, or a FAILED Result saying ``invalid result: ...``.

    ``need_objectives``: an ``ok`` result must hold every objective (False for trials whose outcome
    is kept from the strategy, e.g. an enqueued retrain that measures other metrics); objectives
    that are present must be finite. User attributes nested too deeply for Python to walk fail it too.
    """
    try:
        return _checked_result(result, objectives, need_objectives)
    except RecursionError:  # only user_attrs are walked level by level (e.g. a list nested 5,000 deep)
        return Result.failed("invalid result: user_attrs nest too deeply to be stored as JSON",
                             cost=_cost(result.cost) or 0.0)


def _checked_result(result: Any, objectives: Sequence[str], need_objectives: bool) -> Result:
    """:func:`checked_result`, for user attributes that Python can walk."""
    if not isinstance(result, Result):
        return Result.failed(f"{_UNUSABLE}{type(result).__name__}, expected a Result")
    cost = _cost(result.cost)
    user_attrs = plain_values(result.user_attrs)
    metrics: dict[str, float] = {}
    objectives_checked = False  # a refusal there keeps the finite metrics; any other keeps none (as before)
    try:
        attrs = _json_values(user_attrs, "user_attrs", clash_fails=result.status == "ok")
        status = result.status if result.status in STATUSES else _fail(
            f"status {result.status!r} is not one of {list(STATUSES)}")
        metrics = _metrics(result.metrics, numbers_only=status != "ok")
        curve = _curve(result.intermediate)
        if cost is None:
            _fail(f"cost {_short(result.cost)} is not a finite number of seconds >= 0")
        if status == "ok":
            objectives_checked = True
            _check_objectives(metrics, objectives, need_objectives)
    except _Invalid as exc:  # an objective refused keeps the finite metrics beside it (params of a NaN objective)
        kept = {name: value for name, value in metrics.items() if math.isfinite(value)} if objectives_checked else {}
        return Result(status="failed", error=f"invalid result: {exc}", metrics=kept, cost=cost or 0.0,
                      user_attrs=_kept_attrs(user_attrs))
    error = None if result.error is None else storable_text(str(result.error))
    return Result(metrics=metrics, cost=cost, status=status, error=error, intermediate=curve, user_attrs=attrs)


def plain_values(value: Any) -> Any:
    """``value`` with numpy scalars and arrays (at any depth in dicts, lists and tuples) as the Python numbers and
    lists they hold, so that ``np.int64(3)`` from ``argmax`` stores like ``3``; anything else unchanged."""
    if isinstance(value, dict):
        return {key: plain_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [plain_values(item) for item in value]
        return tuple(items) if type(value) is tuple else items  # JSON stores any sequence as a list
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    return value


def as_scalar(value: Any) -> Any:
    """A 0-d NumPy array or torch tensor (``np.array(80.5)``, ``loss.detach()``) as the Python number it holds, as
    ``reporter.report`` takes them; anything else unchanged (torch is never imported here)."""
    if getattr(value, "ndim", None) == 0 and type(value).__module__.partition(".")[0] in ("numpy", "torch"):
        return value.item()
    return value


def storable_text(text: str) -> str:
    """``text`` as every storage can keep it: NUL characters (which PostgreSQL's text columns refuse) written as
    ``\\x00``, so SQLite, PostgreSQL and memory hold the same."""
    return text.replace("\x00", "\\x00")


def _fail(reason: str) -> Any:
    raise _Invalid(reason)


def _number(value: Any) -> float | None:
    """``value`` (a 0-d array or tensor too) as a float; None when it is no real number or too large for one (an
    int such as 10**400)."""
    value = as_scalar(value)
    if not is_number(value):
        return None
    try:
        return float(value)
    except (OverflowError, ValueError, TypeError):
        return None


def _not_a_number(value: Any) -> str:
    """Why :func:`_number` refused ``value``."""
    return "too large for a float" if is_number(value) else _NOT_A_NUMBER


def _cost(value: Any) -> float | None:
    """Seconds spent; None/NaN (unknown) count as 0; None back for anything that is not a finite number >= 0."""
    if value is None:
        return 0.0
    number = _number(value)
    if number is None or math.isinf(number) or number < 0:
        return None
    return 0.0 if math.isnan(number) else number


def _metrics(metrics: Any, numbers_only: bool = False) -> dict[str, float]:
    """The metrics as numbers; a value that is no number fails the result, or with ``numbers_only`` (a result
    that failed or was pruned anyway, its own error saying why) is left out."""
    if not isinstance(metrics, Mapping):
        _fail(f"metrics must be a dict of numbers, got {type(metrics).__name__}")
    out = {}
    for name, value in metrics.items():
        if not isinstance(name, str):
            _fail(f"metric name {name!r} is not a string")
        number = _number(value)
        if number is None and numbers_only:
            continue
        if number is None:
            _fail(f"metric {name!r} is {_short(value)} ({type(value).__name__}), {_not_a_number(value)}")
        out[name] = number
    return out


def _curve(points: Any) -> list[tuple[int, float]]:
    try:
        curve = [(int(step), float(value)) for step, value in points]
    except (TypeError, ValueError, OverflowError):
        _fail(f"intermediate values must be (step, number) pairs, got {_short(points)}")
    return curve


_MISSING = " missing from metrics "  # in the error of a result without an objective
_NOT_A_NUMBER = "not a number"  # ends the error of a result with a metric of another type (text, a list, ...)
_RETURNED = "the evaluator returned"
_UNUSABLE = f"invalid result: {_RETURNED} "  # starts the error of a value that is no outcome at all


def lacks_objective(error: str | None) -> bool:
    """Whether a trial's error is the one :func:`checked_result` gives a result without an objective."""
    return bool(error) and error.startswith("invalid result: objective ") and _MISSING in error


def objective_not_a_number(error: str | None, objectives: Sequence[str]) -> bool:
    """Whether a trial's error is the one :func:`checked_result` gives a result with an objective that is no number
    (text, a list, None, ...): every result of the evaluator will be so."""
    return bool(error) and error.endswith(f", {_NOT_A_NUMBER}") and any(
        error.startswith(f"invalid result: metric {name!r} is ") for name in objectives)


def unusable_outcome(error: str | None) -> bool:
    """Whether a trial's error says the evaluator returned a value that is no outcome (see :func:`as_result`)."""
    return bool(error) and error.startswith(_UNUSABLE)


def evaluator_outcome(value: Any, objectives: Sequence[str]) -> Result:
    """What an evaluator returned, read as ``tell`` reads it (:func:`as_result`); a value that cannot be
    read is a FAILED Result saying why (:func:`unusable_outcome` recognises it)."""
    try:
        return as_result(value, objectives, _RETURNED)
    except UsageError as exc:
        return Result.failed(f"invalid result: {exc}")


def _check_objectives(metrics: dict[str, float], objectives: Sequence[str], need: bool) -> None:
    for name in objectives:
        if name not in metrics:
            if need:
                _fail(f"objective {name!r}{_MISSING}{sorted(metrics)}")
            continue
        if not math.isfinite(metrics[name]):
            _fail(f"objective {name!r} is {metrics[name]}, not a finite number")


def _json_values(value: Any, what: str, clash_fails: bool = True) -> dict[str, Any]:
    """``value`` (a dict of JSON values) as JSON stores it: other keys than strings as JSON writes them (0 as "0"),
    as results always were; two keys of one dict written alike are refused where ``clash_fails`` (an ``ok`` result,
    one of whose values would be lost), else the last one stays (a failed or pruned result keeps its own reason)."""
    if not isinstance(value, Mapping):
        _fail(f"{what} must be a dict, got {type(value).__name__}")
    if type(value) is dict and not value:  # most results hold none: what JSON would give back
        return {}
    text = _json_text(value)
    if text is None:
        _fail(f"{what} must hold JSON values (str, finite number, bool, None, list, dict): {_short(value)}")
    clash = _colliding_keys(value) if clash_fails else None
    if clash is not None:
        _fail(f"{what} has keys {clash[0]!r} and {clash[1]!r}, which JSON stores as one ({clash[2]!r}): one value "
              "would be lost")
    return json.loads(text)


def _json_key(key: Any) -> str:
    """The text JSON stores dict key ``key`` as (a string as itself)."""
    return key if type(key) is str else next(iter(json.loads(json.dumps({key: None}))))


def _colliding_keys(value: Any) -> tuple[Any, Any, str] | None:
    """Two keys of one dict in ``value`` (at any depth) that JSON writes as the same text (0 and "0", True and
    "true") and the text; None when there are none."""
    if isinstance(value, dict):
        seen: dict[str, Any] = {}
        for key in value:
            text = _json_key(key)
            if text in seen:
                return seen[text], key, text
            seen[text] = key
        items = value.values()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        return None
    return next((found for item in items if (found := _colliding_keys(item)) is not None), None)


def non_string_keys(value: Any, what: str) -> str | None:
    """Why ``value`` (JSON values, named ``what``) would not read back as it is: a dict key at any depth that is no
    string, which JSON stores as text (5 as "5", True as "true"; colliding keys would lose a value). None when all
    keys are strings."""
    key = _non_string_key(value)
    if key is None:
        return None
    stored = _json_key(key[0])
    return (f"{what} must have string keys (JSON stores the key {key[0]!r} as {stored!r}): "
            f"got {type(key[0]).__name__} {key[0]!r}")


def _non_string_key(value: Any) -> tuple[Any] | None:
    """The first dict key in ``value`` (at any depth) that is not a string, as a 1-tuple; None when there is none."""
    if isinstance(value, dict):
        for key, item in value.items():
            found = (key,) if not isinstance(key, str) else _non_string_key(item)
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for item in value:
            found = _non_string_key(item)
            if found is not None:
                return found
    return None


def _kept_attrs(user_attrs: Any) -> dict[str, Any]:
    """The ``user_attrs`` a FAILED result keeps: as :func:`_json_values` stores them, or none where they are no
    dict of JSON values (a list or a number would break the trial's dict of attributes)."""
    try:
        return _json_values(user_attrs, "user_attrs", clash_fails=False)
    except _Invalid:
        return {}


def _json_text(value: Any) -> str | None:
    """``value`` written as JSON (no NaN or infinity); None when it holds anything else."""
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return None


def _short(value: Any, limit: int = 60) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int too long for its text form
        text = f"<{type(value).__name__} too long to show>"
    return text if len(text) <= limit else text[:limit - 3] + "..."
