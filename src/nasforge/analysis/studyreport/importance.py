"""Which operations matter: per edge/layer and op, the mean objective of the trials using it, and a
random-forest importance of each edge/layer (impurity decrease summed over its one-hot columns).

Both use the space's categorical view (``space.to_params``): NAS-Bench-201 edges, DARTS node inputs
and ops, NAS-Bench-101 edge bits and node ops, chain layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import StudyData

MIN_TRIALS_FOR_FOREST = 10
MAX_FOREST_ROWS = 2000
"""Complete trials the importance forest is fitted on: a larger study's are a random subset of this many, drawn with
the forest's seed (the same page every time), so its cost stops growing with the study."""


@dataclass
class OpTable:
    """Mean objective per (parameter, choice), with the number of trials behind each mean."""

    objective: str
    params: list[str]
    choices: list[str]
    mean: np.ndarray   # (n_params, n_choices), NaN where no trial used the choice
    count: np.ndarray  # (n_params, n_choices)


def op_means(data: StudyData, objective: str) -> OpTable | None:
    """Mean ``objective`` of the complete trials using each choice of each parameter; None without trials."""
    done = data.complete
    if not done:
        return None
    rows = [data.space.to_params(t.arch) for t in done]
    values = np.array([t.metrics[objective] for t in done], dtype=float)
    params = list(rows[0])
    options = _choices(data, params)
    uses = {}  # in how many parameters each choice appears: shared ops (columns) first
    for c in (c for choices in options.values() for c in choices):
        uses[c] = uses.get(c, 0) + 1
    choices = sorted(uses, key=lambda c: -uses[c])
    mean = np.full((len(params), len(choices)), np.nan)
    count = np.zeros((len(params), len(choices)), dtype=int)
    column = {c: k for k, c in enumerate(choices)}
    for p, name in enumerate(params):
        picked = np.array([column[str(r[name])] for r in rows])
        for c in np.unique(picked):
            mask = picked == c
            mean[p, c], count[p, c] = values[mask].mean(), mask.sum()
    return OpTable(objective, params, choices, mean, count)


def forest_importance(data: StudyData, objective: str, seed: int = 0,
                      max_rows: int | None = None) -> dict[str, float] | None:
    """Random-forest importance of each parameter for ``objective`` (sums to 1), or None when there are
    fewer than ``MIN_TRIALS_FOR_FOREST`` complete trials or nothing varies; fitted on at most ``max_rows``
    complete trials (default :data:`MAX_FOREST_ROWS`; a random subset drawn with ``seed`` when there are more)."""
    done = data.complete
    if len(done) < MIN_TRIALS_FOR_FOREST:
        return None
    max_rows = MAX_FOREST_ROWS if max_rows is None else max_rows
    if len(done) > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(done), max_rows, replace=False))
        done = [done[k] for k in keep]
    rows = [data.space.to_params(t.arch) for t in done]
    params = list(rows[0])
    columns, owners = [], []
    for name in params:
        picked = [str(r[name]) for r in rows]
        for choice in sorted(set(picked)):
            columns.append([p == choice for p in picked])
            owners.append(name)
    values = np.array([t.metrics[objective] for t in done], dtype=float)
    if not columns or np.ptp(values) == 0:
        return None
    from sklearn.ensemble import RandomForestRegressor

    X = np.array(columns, dtype=float).T
    forest = RandomForestRegressor(n_estimators=100, min_samples_leaf=2, random_state=seed, n_jobs=1).fit(X, values)
    totals = dict.fromkeys(params, 0.0)
    for owner, weight in zip(owners, forest.feature_importances_):
        totals[owner] += float(weight)
    return totals


def _choices(data: StudyData, params: list[str]) -> dict[str, list[str]]:
    try:
        view = data.space.categorical_params()
    except (NotImplementedError, TypeError):
        view = {}
    return {p: [str(c) for c in view.get(p, [])] or sorted({str(data.space.to_params(t.arch)[p]) for t in data.complete})
            for p in params}
