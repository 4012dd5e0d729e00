"""Fixes of review compat50: stored data of older releases goes on as those releases would."""

from __future__ import annotations

import re
import time
import warnings
import zlib

import numpy as np
import pytest

from nasforge import Study
from nasforge.experiment import stages
from nasforge.experiment.pruners import MedianPruner
from nasforge.experiment.stages import PRUNES_WITHIN_BUDGET
from nasforge.spaces import get_space
from nasforge.strategies.reinforce import FactorizedPolicy, _softmax
from engine_evaluators import Annealed

SPACE = get_space("nb201")


@pytest.fixture
def judged(monkeypatch):
    """Each verdict of the median pruner: (the judged trial, the trials whose curves it was given)."""
    seen: list[tuple[int, frozenset[int]]] = []
    should_prune = MedianPruner.should_prune

    def spy(self, number, curves):
        seen.append((number, frozenset(curves)))
        return should_prune(self, number, curves)

    monkeypatch.setattr(MedianPruner, "should_prune", spy)
    return seen


def _budgets(study: Study, seen: list[tuple[int, frozenset[int]]]) -> list[set[int]]:
    """The budgets of the curves each verdict compared."""
    epochs = {t.number: t.fidelity["epochs"] for t in study.trials}
    return [{epochs[n] for n in numbers | {number}} for number, numbers in seen]


@pytest.mark.parametrize("go_on", ["optimize", "resume"])
def test_a_stored_multi_fidelity_study_made_before_the_same_budget_rule_keeps_comparing_every_budget(
        tmp_path, judged, go_on, monkeypatch):
    """Would fail: a hyperband study stored before 2026-12-07 went on comparing only the curves at the judged
    trial's budget, so it pruned (and proposed) otherwise than the release that made it would have."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, "hyperband", objectives="val_acc", seed=0, max_budget=8, eta=2, name="s", storage=url)
    assert study.user_attrs[PRUNES_WITHIN_BUDGET] is True  # a new study records the rule
    study.optimize(Annealed(), n_trials=12, pruner={"name": "median", "n_startup_trials": 1}, progress=False)
    assert judged and all(len(b) == 1 for b in _budgets(study, judged))  # its pruner compared one budget only
    attrs = {k: v for k, v in study.user_attrs.items() if k != PRUNES_WITHIN_BUDGET}
    study.storage.update_study(study._id, user_attrs=attrs)  # as a release before 2026-12-07 stored it
    # created before the rule came (the study above was made just now, after it)
    monkeypatch.setattr(stages, "WITHIN_BUDGET_SINCE", time.time() + 3600)
    old = Study.load("s", url)
    judged.clear()
    if go_on == "optimize":
        old.optimize(Annealed(), n_trials=12, pruner={"name": "median", "n_startup_trials": 1}, progress=False)
    else:  # the recorded pruner rebuilt (nasforge resume goes this way), after a larger target is recorded
        old.set_run_config({**old.run_config, "n_trials_total": 24})
        old.resume(Annealed())
    assert len(old.trials) > 12 and any(len(b) > 1 for b in _budgets(old, judged))
    assert PRUNES_WITHIN_BUDGET not in Study.load("s", url).user_attrs  # going on records no other rule


def test_a_study_made_after_the_rule_came_by_a_release_that_did_not_record_it_keeps_the_same_budget_rule(
        tmp_path, judged):
    """Would fail: the release of 2026-12-07 08:39 compared same-budget curves without recording the rule, so its
    studies must not go back to comparing every budget; the rule taken from the date alone is said, with how to keep
    an older release's."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, "hyperband", objectives="val_acc", seed=0, max_budget=8, eta=2, name="s", storage=url)
    attrs = {k: v for k, v in study.user_attrs.items() if k != PRUNES_WITHIN_BUDGET}
    study.storage.update_study(study._id, user_attrs=attrs)  # as that release stored it
    assert stages.prunes_within_budget(attrs, Study.load("s", url).record.created_at)
    assert not stages.prunes_within_budget(attrs, stages.WITHIN_BUDGET_SINCE - 1)
    assert not stages.prunes_within_budget(attrs, None)
    old = Study.load("s", url)
    with pytest.warns(UserWarning, match=r"does not record which curves its pruner compares.*"
                      r"set_user_attr\('prunes_within_budget', False\)"):
        old.optimize(Annealed(), n_trials=12, pruner={"name": "median", "n_startup_trials": 1}, progress=False)
    assert judged and all(len(b) == 1 for b in _budgets(old, judged))


def test_a_study_set_to_the_older_rule_compares_every_budget_without_a_warning(tmp_path, judged):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, "hyperband", objectives="val_acc", seed=0, max_budget=8, eta=2, name="s", storage=url)
    study.optimize(Annealed(), n_trials=12, pruner={"name": "median", "n_startup_trials": 1}, progress=False)
    study.set_user_attr(PRUNES_WITHIN_BUDGET, False)  # as the warning says for an older release's study
    judged.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Study.load("s", url).optimize(Annealed(), n_trials=12, pruner={"name": "median", "n_startup_trials": 1},
                                      progress=False)
    assert any(len(b) > 1 for b in _budgets(Study.load("s", url), judged))


def test_reinforce_goes_on_once_a_policy_probability_underflows_to_zero():
    """Would fail: a logit gap past about 745 made a probability 0, its log -inf, the entropy step 0 * -inf = NaN
    logits, and the next draw raised numpy's "Probabilities contain NaN"."""
    space = get_space("chain", layers=[["conv3x3", "conv5x5", "skip", "conv1x1"]] * 3)

    def score(arch):
        return {"val_acc": float(zlib.crc32(space.format(arch).encode()) % 1000) / 10}

    study = Study(space, "reinforce", seed=3, algorithm="ppo", batch_size=5, lr=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide by zero in log, no invalid value in multiply
        study.optimize(score, n_trials=40, progress=False)
    assert len(study.trials) == 40 and all(np.isfinite(z).all() for z in study.strategy.policy.logits)


def test_a_policy_log_probability_is_today_s_where_finite_and_the_log_softmax_where_it_underflowed():
    policy = FactorizedPolicy([3, 3], lr=1.0)
    policy.logits = [np.array([0.0, 800.0, 1.5]), np.array([0.25, -1.0, 2.0])]
    log_softmax = 0.0 - 800.0 - np.log1p(np.exp(1.5 - 800.0) + np.exp(-800.0))
    assert policy.log_prob([0, 2]) == pytest.approx(log_softmax + np.log(_softmax(policy.logits[1])[2]))
    today = [np.log(_softmax(z)[c]) for z, c in zip(policy.logits, (1, 2))]  # finite: kept to the bit
    assert policy.log_prob([1, 2]) == float(sum(today))
    policy.step([0, 1], 1.5, 0.01)
    assert all(np.isfinite(z).all() for z in policy.logits)


def test_a_policy_step_that_would_make_the_logits_non_finite_is_skipped_with_a_warning():
    """Would fail: a PPO ratio that overflowed to inf under a huge lr wrote inf and NaN into the logits."""
    policy = FactorizedPolicy([3], lr=1e4)
    policy.logits = [np.array([0.0, 800.0, 1.5])]
    with pytest.warns(RuntimeWarning, match=r"lr=10000 would make the policy's logits non-finite"):
        policy.step([0], -np.inf, 0.01)
    assert policy.logits[0].tolist() == [0.0, 800.0, 1.5]


class _ReadsNpz:
    """The part of a search evaluator that ``_load_data`` uses: its data set, from an NPZ file."""

    def __init__(self, path):
        self.path = path

    def dataset(self):
        from nasforge.data.sources import load_npz

        return load_npz(self.path)


def test_resuming_a_run_whose_images_shape_is_now_refused_names_the_layout_its_trials_read(tmp_path):
    """Would fail: the refusal said to give layout='NCHW' or 'NHWC' but not which one the run was trained on, so a
    user guessing NCHW learned only from a second refusal (the data changed) that the guess was wrong."""
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import _load_data

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (60, 8, 4, 4), dtype=np.uint8), np.arange(60) % 2
    np.savez(tmp_path / "d.npz", x=x, y=y)
    hint = "this run's trials read them as NHWC (4 channels of 8x4 pixels), as every release that took this " \
           "shape did: add layout='NHWC' to resume it"
    with pytest.raises(UsageError, match="nasforge does not guess") as refused:
        _load_data(_ReadsNpz(tmp_path / "d.npz"))
    assert hint not in str(refused.value)  # a new run: nothing was read yet
    with pytest.raises(UsageError, match=re.escape(hint)):
        _load_data(_ReadsNpz(tmp_path / "d.npz"), resumed=True)
    np.savez(tmp_path / "d.npz", x=x, y=y, layout="NHWC")  # as the hint says: read as the run read it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert tuple(_load_data(_ReadsNpz(tmp_path / "d.npz"), resumed=True).x_train.shape[1:]) == (4, 8, 4)


def test_the_layout_refusal_crosses_a_process_boundary():
    """Would fail: LayoutUntold could not be unpickled (its extra arguments), so a data set loaded in a process pool
    broke the pool instead of raising the one-line refusal."""
    import pickle

    from nasforge.data.dataset import LayoutUntold

    copy = pickle.loads(pickle.dumps(LayoutUntold("images: say which", "NHWC", "4 channels of 8x4 pixels")))
    assert (str(copy), copy.read_as, copy.reading) == ("images: say which", "NHWC", "4 channels of 8x4 pixels")
