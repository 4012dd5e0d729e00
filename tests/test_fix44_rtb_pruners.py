"""Each pruner says where its settings put its first decision; search refuses a run no decision fits in."""

from __future__ import annotations

import pytest

from nasforge.exceptions import UsageError
from nasforge.experiment.pruners import PRUNERS, MedianPruner, Pruner, first_decision, get_pruner
from nasforge.pipelines.search import SearchConfig


@pytest.mark.parametrize("spec, expected", [
    ({"name": "median", "n_warmup_steps": 2}, ("n_warmup_steps", 2, 3)),
    ({"name": "asha", "min_resource": 3}, ("min_resource", 3, 3)),
    ({"name": "curve", "min_points": 6}, ("min_points", 6, 6)),
])
def test_built_in_pruners_answer_for_their_settings(spec, expected):
    assert first_decision(get_pruner(spec)) == expected


def test_every_registered_built_in_answers():
    """A built-in pruner added without an answer would never be checked against the epochs."""
    for name in filter(PRUNERS.is_builtin, PRUNERS.names()):
        assert first_decision(get_pruner(name)) is not None, name


class Renamed(MedianPruner):
    name = "fix44_renamed_median"


class OwnRule(MedianPruner):
    name = "fix44_own_rule"

    def should_prune(self, number, curves):
        return False


class OwnRuleAnswered(OwnRule):
    name = "fix44_own_rule_answered"

    def first_decision(self):
        return "n_warmup_steps", self.n_warmup_steps, 1


class Plain(Pruner):
    name = "fix44_plain"

    def should_prune(self, number, curves):
        return False

    def config(self):
        return {}


def test_a_subclass_answers_only_for_the_rule_its_answer_describes():
    assert first_decision(Renamed(n_warmup_steps=4)) == ("n_warmup_steps", 4, 5)  # the median rule, inherited
    assert first_decision(OwnRule(n_warmup_steps=4)) is None  # another rule: the median's answer is not its own
    assert first_decision(OwnRuleAnswered(n_warmup_steps=4)) == ("n_warmup_steps", 4, 1)
    assert first_decision(Plain()) is None


def test_a_registered_subclass_with_the_median_rule_is_checked_against_the_epochs(monkeypatch):
    """Was checked only for the exact built-in classes: a renamed MedianPruner that could never stop a trial
    was taken."""
    monkeypatch.setattr(PRUNERS, "_entries", dict(PRUNERS._entries))
    monkeypatch.setattr(PRUNERS, "_tags", dict(PRUNERS._tags))
    for cls in (Renamed, OwnRule):
        PRUNERS.register(cls.name, cls)
    with pytest.raises(UsageError, match="can never stop a trial: with n_warmup_steps 4 its first decision is "
                                         "at epoch 5, but trials train 4"):
        SearchConfig(pruner={"name": Renamed.name, "n_warmup_steps": 4}, search_epochs=4).validate()
    SearchConfig(pruner={"name": OwnRule.name, "n_warmup_steps": 4}, search_epochs=4).validate()  # its own rule
