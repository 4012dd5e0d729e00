"""The per-trial fast paths of the in-memory ask + tell refuse and store what the full checks do (no timing here)."""

from __future__ import annotations

import copy
import enum
import json
import warnings

import numpy as np
import pytest

from nasforge.checks import is_int, is_number
from nasforge.exceptions import UsageError
from nasforge.experiment import Study
from nasforge.experiment._results import checked_result
from nasforge.experiment.study import _check_fidelity, _fidelity_key
from nasforge.evaluators.base import Result
from nasforge.spaces import get_space


class _Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize("value, number, integer", [
    (3, True, True), (2.5, True, False), (True, False, False), (np.int64(3), True, True),
    (np.float32(1.5), True, False), (_Level.HIGH, True, True), ("3", False, False), (None, False, False)])
def test_number_checks_fast_path_keeps_outcomes(value, number, integer):
    assert is_number(value) is number
    assert is_int(value) is integer


def test_fidelity_fast_paths_match_json():
    assert _fidelity_key(None) == json.dumps(None, sort_keys=True)
    assert _fidelity_key({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'
    assert _check_fidelity(None) is None
    with pytest.raises(UsageError, match="fidelity must be a dict"):
        _check_fidelity([1])
    with pytest.raises(UsageError, match="JSON values"):
        _check_fidelity({"epochs": float("nan")})


def test_result_user_attrs_checked_as_before():
    ok = checked_result(Result(metrics={"acc": 1.0}, user_attrs={"a": [1, (2, 3)], 0: "x"}), ["acc"])
    assert ok.status == "ok" and ok.user_attrs == {"a": [1, [2, 3]], "0": "x"}
    for attrs, why in [({"a": float("inf")}, "JSON values"), ({0: 1, "0": 2}, "which JSON stores as one"),
                       ({"a": object()}, "JSON values")]:
        bad = checked_result(Result(metrics={"acc": 1.0}, user_attrs=attrs), ["acc"])
        assert bad.status == "failed" and why in bad.error


def test_memory_trials_share_no_user_attrs():
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="fast")
    plain = study.ask()
    study.tell(plain, 1.0)
    attrs = study.ask()
    study.tell(attrs, Result(metrics={"acc": 2.0}, user_attrs={"deep": {"k": [1]}}))
    stored = study.storage.trials(study._id)
    stored[0].user_attrs["x"] = 1
    stored[1].user_attrs["deep"]["k"].append(2)
    assert plain.user_attrs == {} and attrs.user_attrs == {"deep": {"k": [1]}}
    assert [t.user_attrs for t in study.storage.trials(study._id)] == [{}, {"deep": {"k": [1]}}]
    twin = copy.copy(attrs)
    assert twin is not attrs and vars(twin) == vars(attrs) and twin.user_attrs is attrs.user_attrs
    with pytest.raises(UsageError, match="a trial is a Trial or its number"):
        study.get_trial(True)
    assert study.get_trial(np.int64(1)) is attrs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        study.tell(study.ask(), 3)
