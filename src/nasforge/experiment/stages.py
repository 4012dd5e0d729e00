"""A trial's stage: the user attribute ``stage`` a multi-stage run sets (``nasforge search`` marks its stage-2
retrains ``"retrain"``); a trial that names none belongs to the search. A leaf module: no heavy imports."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

STAGE_KEY = "stage"
"""The user attribute that names a trial's stage."""
SEARCH = "search"
"""The stage of a trial that names none."""
RETRAIN = "retrain"
"""The stage of a full-fidelity retraining (stage 2 of ``nasforge search``)."""
FEASIBLE_ONLY = "front_feasible_only"
"""The study attribute of a ``nasforge search`` job whose front keeps only the trials that satisfy its
constraints (jobs started since 2026-12-05); a job started earlier keeps the rule it ran by (the least
violating trials), so resuming it changes neither its front nor its retrains."""

RANGE_REFERENCE = "hypervolume_range_reference"
"""The study attribute of a ``nasforge search`` job whose ``summary.json`` measures its hypervolume from
:func:`nasforge.pareto.reference_point` (jobs started since 2026-12-07); a job started earlier keeps the
reference 1e-9 beyond the worst value of each objective, so resuming it rewrites the ``hypervolume`` it had."""

PIPELINE_CONFIG = "pipeline_config"
"""The study attribute holding the settings a ``nasforge search`` run recorded (``SearchConfig.to_json()``)."""


def search_config(user_attrs: dict[str, Any] | None) -> dict[str, Any]:
    """The settings a ``nasforge search`` run recorded with its study (:data:`PIPELINE_CONFIG`); ``{}`` when it
    recorded none, or for an attribute that is not a JSON object (a damaged or hand-edited record: read as none)."""
    config = (user_attrs or {}).get(PIPELINE_CONFIG)
    return config if isinstance(config, dict) else {}


HIGHEST_BUDGET_ONLY = "ranks_highest_budget"
"""The study attribute of a study with a multi-fidelity strategy whose best trial and front are ranked at the
highest budget reached (``Study.ranked``; studies created since 2026-12-05); one created earlier keeps ranking
every budget, so resuming it changes neither its front nor its retrains."""
PRUNES_WITHIN_BUDGET = "prunes_within_budget"
"""The study attribute of a study with a multi-fidelity strategy whose pruner compares a trial only with the trials
trained at its budget (true; recorded since this rule's second release); false or, for a study created before
:data:`WITHIN_BUDGET_SINCE`, absent: it compares the curves of every budget, so continuing it prunes (and so
proposes) as the release that made it did."""
WITHIN_BUDGET_SINCE = 1796632789.0
"""2026-12-07 08:39:49 UTC, the release that began comparing only same-budget curves without recording
:data:`PRUNES_WITHIN_BUDGET`: a study created since without the attribute is taken to follow that rule (one an older
release made since did not: ``study.set_user_attr("prunes_within_budget", False)`` keeps its rule)."""


def prunes_within_budget(user_attrs: dict[str, Any], created_at: float | None) -> bool:
    """Whether the pruner of a study with ``user_attrs``, created at ``created_at`` (epoch seconds; None: unknown,
    taken as older), compares a trial only with the trials trained at its budget (:data:`PRUNES_WITHIN_BUDGET`)."""
    if PRUNES_WITHIN_BUDGET in user_attrs:
        return bool(user_attrs[PRUNES_WITHIN_BUDGET])
    return created_at is not None and created_at >= WITHIN_BUDGET_SINCE


def within_budget_guessed(user_attrs: dict[str, Any], created_at: float | None) -> bool:
    """Whether :func:`prunes_within_budget` answers true from the creation time alone (no recorded rule)."""
    return PRUNES_WITHIN_BUDGET not in user_attrs and prunes_within_budget(user_attrs, created_at)


def stage_of(trial: Any, default: str | None = SEARCH) -> str | None:
    """``trial``'s stage (its user attribute ``stage``, as text), else ``default``."""
    stage = (getattr(trial, "user_attrs", None) or {}).get(STAGE_KEY)
    return str(stage) if stage else default


def is_retrain(trial: Any) -> bool:
    """Whether ``trial`` is a stage-2 retraining."""
    return stage_of(trial) == RETRAIN


def trial_number(value: Any) -> int | None:
    """``value`` when it is a trial number (an int, not a bool), else None: a stored attribute of another type (a
    damaged or hand-edited record) names no trial."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def source_trial(trial: Any) -> int | None:
    """The search trial a stage-2 retrain retrains (its user attribute ``source_trial``), else None (also for a value
    that is no trial number: such a retrain counts as the retrain of no trial)."""
    return trial_number((getattr(trial, "user_attrs", None) or {}).get("source_trial"))


def saved_model_dir(trial: Any) -> str | None:
    """The folder ``trial`` saved its network in (its user attribute ``model_dir``), else None (also for a value that
    is no non-empty text: such a trial saved no network that can be found)."""
    folder = (getattr(trial, "user_attrs", None) or {}).get("model_dir")
    return folder if isinstance(folder, str) and folder else None


def recorded_retrains(user_attrs: dict[str, Any] | None) -> dict[int, dict[str, Any]]:
    """Stage-2 results in the older study attribute ``retrained`` ({search trial number as text: Result JSON}), by
    trial number; an entry whose key is no trial number or whose value is no JSON object is skipped, as is the whole
    attribute when it is no JSON object (a damaged or hand-edited record)."""
    recorded = (user_attrs or {}).get("retrained")
    if not isinstance(recorded, dict):
        return {}
    return {int(key): result for key, result in recorded.items()
            if isinstance(key, str) and key.isascii() and key.isdigit() and isinstance(result, dict)}


def unsaved_retrain(trial: Any) -> bool:
    """Whether ``trial`` is a COMPLETE retrain that saved no network: not stage 2's evaluator's result (it saves
    every network it trains) but a search-size one, as a stage-1 run of another process stored before it left
    retrains to stage 2; it counts as not retrained: the outputs leave it out (as ``nasforge export`` does) and a
    resume retrains its source again."""
    return is_retrain(trial) and trial.state.value == "COMPLETE" and saved_model_dir(trial) is None


def has_stages(trials: Iterable[Any]) -> bool:
    """Whether any of ``trials`` names its stage."""
    return any(stage_of(t, default=None) for t in trials)


def stage_counts(trials: Iterable[Any]) -> dict[str, dict[str, int]]:
    """Per state (``"COMPLETE"``...), how many trials each stage has, in the order met; empty when no trial names
    its stage (a one-stage study)."""
    trials = list(trials)
    if not has_stages(trials):
        return {}
    counts: dict[str, dict[str, int]] = {}
    for t in trials:
        stages = counts.setdefault(t.state.value, {})
        stages[stage_of(t)] = stages.get(stage_of(t), 0) + 1
    return counts
