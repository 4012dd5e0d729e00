"""Fixes of stop 45's training review: an ignored train seed warns, split advice, search recipe, messages."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from nasforge.evaluators import TrainingEvaluator
from nasforge.exceptions import UsageError


def test_a_train_seed_the_evaluator_replaces_warns_once_at_the_users_line() -> None:
    with pytest.warns(UserWarning, match=r"^train\['seed'\] 7 is ignored: the evaluator's seed=0 seeds training; "
                                         r"pass TrainingEvaluator\(seed=7\)$") as caught:
        evaluator = TrainingEvaluator("digits", C=4, train={"seed": 7})
    assert len(caught) == 1 and caught[0].filename == __file__
    assert evaluator.seed == 0 and evaluator.train.seed == 7  # kept (specs record it), never used


def test_a_default_or_matching_train_seed_and_a_stored_spec_are_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TrainingEvaluator("digits", C=4, train={"seed": 0}, seed=5)
        evaluator = TrainingEvaluator("digits", C=4, train={"seed": 5}, seed=5)
        TrainingEvaluator(**evaluator.spec()["kwargs"])  # resume rebuilds it from the stored spec
