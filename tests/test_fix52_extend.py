"""Review 52 (extend) fixes: a user's own surrogate inside ``warped`` or ``residual``, and the Thompson draws
``ts_hvi`` takes from one, are checked like a strategy's own surrogate: a wrong number of values is one error naming
the user's surrogate, and a correct one sees exactly the calls it saw unchecked."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from bit_spaces import BitSpace

from nasforge.exceptions import UsageError
from nasforge.strategies import mobo
from nasforge.strategies.mobo import ThompsonHVI
from nasforge.strategies.model_based import ModelBasedStrategy
from nasforge.strategies.model_based import surrogates as surrogates_module
from nasforge.strategies.model_based.surrogates import ResidualSurrogate, Surrogate, WarpedSurrogate

SPACE = BitSpace(8)
SMALL_ENSEMBLE = {"name": "ensemble", "predictor": "rf", "n_members": 2, "n_estimators": 5}


class Rec(Surrogate):
    """A least-squares surrogate with its own random state (noise on its predictions), logging each call into it."""

    name = "rec_fix52"

    def __init__(self, space, log=None, tag=0):
        super().__init__(space)
        self.log, self.tag = ([] if log is None else log), tag

    def _mean(self, archs):
        x = np.array([self.space.encode_onehot(a) for a in archs]).reshape(len(archs), -1)
        return np.c_[x, np.ones(len(x))] @ self.w

    def fit(self, archs, y, seed):
        self.log.append(("fit", self.tag, len(archs)))
        x = np.array([self.space.encode_onehot(a) for a in archs])
        self.w = np.linalg.lstsq(np.c_[x, np.ones(len(x))], y, rcond=None)[0]
        self.rng = np.random.default_rng(seed)
        return self

    def predict(self, archs, pending=()):
        self.log.append(("predict", self.tag, len(archs)))
        return self._mean(archs) + 1e-3 * self.rng.standard_normal(len(archs)), np.full(len(archs), 0.1)

    def sample(self, archs, rng, pending=()):
        self.log.append(("sample", self.tag, len(archs)))
        return self._mean(archs) + 0.1 * rng.standard_normal(len(archs)) + 1e-3 * self.rng.standard_normal(len(archs))


class ShortPredict(Rec):
    def predict(self, archs, pending=()):
        mean, std = super().predict(archs, pending)
        return mean[:1], std[:1]


class ShortSample(Rec):
    def sample(self, archs, rng, pending=()):
        return super().sample(archs, rng, pending)[:1]


def _value(arch):
    g = arch.genotype
    return float(sum(g) + 0.5 * g[0])


def _model_based(surrogate, acquisition, n=8):
    """Proposals of a model-based search with ``surrogate`` (ask/tell, one at a time)."""
    strategy = ModelBasedStrategy(SPACE, seed=0, surrogate=surrogate, acquisition=acquisition, optimizer="mutation",
                                  n_initial=3, refit_every=2)
    proposals = []
    for _ in range(n):
        arch = strategy.ask()
        strategy.tell(arch, _value(arch))
        proposals.append(arch.genotype)
    return proposals


def _ts_hvi(models, n=8):
    """Proposals of ``ts_hvi`` with one user surrogate per objective (ask/tell, one at a time)."""
    strategy = ThompsonHVI(SPACE, seed=0, optimizer="mutation", n_initial=3, refit_every=2, surrogates=models)
    proposals = []
    for _ in range(n):
        arch = strategy.ask()
        strategy.tell(arch, (_value(arch), -float(sum(arch.genotype))))
        proposals.append(arch.genotype)
    return proposals


def _warped(inner):
    return WarpedSurrogate(SPACE, inner=inner)


def _residual(correction):
    return ResidualSurrogate(SPACE, base={**SMALL_ENSEMBLE, "bootstrap": True}, correction=correction)


# -- 1: a user's surrogate inside warped or residual ---------------------------------------------------------------
@pytest.mark.parametrize("outer", [_warped, _residual])
def test_a_short_prediction_inside_another_surrogate_is_refused_naming_the_users_surrogate(outer):
    """Would fail: warped refused it naming the acquisition (ExpectedImprovement); residual broadcast the one value
    onto every candidate and searched on silently."""
    with pytest.raises(UsageError, match=r"^surrogate ShortPredict: predict's mean: shape \(1,\) for \d+ "
                                         r"architectures"):
        _model_based(outer(ShortPredict(SPACE)), "ei")


def test_a_short_thompson_draw_inside_warped_is_refused_naming_the_users_surrogate():
    """Would fail: refused naming the acquisition (ThompsonSampling)."""
    with pytest.raises(UsageError, match=r"^surrogate ShortSample: sample's draws: shape \(1,\) for \d+ "
                                         r"architectures, expected"):
        _model_based(_warped(ShortSample(SPACE)), "its")


# -- 2: ts_hvi's Thompson draws ------------------------------------------------------------------------------------
@pytest.mark.parametrize("wrap", [lambda model: model, _warped])
def test_a_short_thompson_draw_in_ts_hvi_is_refused_naming_the_users_surrogate(wrap):
    """Would fail: the one draw was stacked into a single candidate's point, the search went on silently."""
    with pytest.raises(UsageError, match=r"^surrogate ShortSample: sample's draws: shape \(1,\) for \d+ "
                                         r"architectures"):
        _ts_hvi([wrap(ShortSample(SPACE, tag=0)), wrap(ShortSample(SPACE, tag=1))])


def test_a_scalar_std_inside_warped_still_runs():
    class ScalarStd(Rec):
        def predict(self, archs, pending=()):
            return super().predict(archs)[0], 0.1

    assert len(_model_based(_warped(ScalarStd(SPACE)), "ei")) == 8


# -- 3: a correct user's surrogate sees exactly the calls it saw unchecked -------------------------------------------
def _spy(monkeypatch, owner, name, log, logged):
    """Log ``("outer", name, *logged(self, args))`` on each call of ``owner.name`` (it stays nasforge's)."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def spy(self, *args, **kwargs):
        entry = logged(self, *args)
        if entry is not None:
            log.append(("outer", name, *entry))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, spy)


def _spy_module(monkeypatch, module, name, log, logged):
    original = getattr(module, name)

    @functools.wraps(original)
    def spy(*args, **kwargs):
        log.append(("outer", name, *logged(*args)))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)


def _checked_and_unchecked(monkeypatch, run, log):
    """(proposals, log) of ``run()`` (which logs into ``log``), with the checks and without (:func:`check_calls`
    passing the models on unchanged, as before the checks)."""
    checked = run(), list(log)
    log.clear()
    with monkeypatch.context() as patch:
        patch.setattr(surrogates_module, "check_calls", lambda model: model)
        unchecked = run(), list(log)
    return checked, unchecked


def _user_calls_match(log, expand):
    """The user's surrogates got the calls the surrounding code made for them, in order, nothing else."""
    made = [entry for entry in log if entry[0] == "outer"]
    assert made, log
    assert [entry for entry in log if entry[0] != "outer"] == [call for entry in made for call in expand(entry)]


@pytest.mark.parametrize("acquisition", ["ei", "its"])
@pytest.mark.parametrize("outer", [_warped, _residual])
def test_a_correct_users_surrogate_inside_another_sees_the_same_calls(monkeypatch, outer, acquisition):
    """Each fit, predict and sample of the outer surrogate calls the user's once (residual: a prediction it has
    not cached), and the proposals and calls are those of the run without checks."""
    log = []
    for owner in (WarpedSurrogate, ResidualSurrogate):
        _spy(monkeypatch, owner, "fit", log, lambda self, archs, *_: (len(archs),))
        _spy(monkeypatch, owner, "predict", log, lambda self, archs, *_: None if getattr(
            self, "_cache", None) is not None and self._cache.get(archs) is not None else (len(archs),))
    _spy(monkeypatch, WarpedSurrogate, "sample", log, lambda self, archs, *_: (len(archs),))

    (checked, checked_log), unchecked = _checked_and_unchecked(
        monkeypatch, lambda: _model_based(outer(Rec(SPACE, log)), acquisition), log)
    assert (checked, checked_log) == unchecked
    _user_calls_match(checked_log, lambda entry: [(entry[1], 0, entry[2])])
    assert any(entry[0] == "sample" for entry in checked_log) == (acquisition == "its" and outer is _warped)


@pytest.mark.parametrize("wrap", [lambda model: model, _warped])
def test_a_correct_users_surrogate_in_ts_hvi_sees_the_same_calls(monkeypatch, wrap):
    """Each refit fits each objective's model once, each hypervolume draw samples each model once (before it), and
    the proposals and calls are those of the run without checks."""
    log = []
    _spy_module(monkeypatch, mobo, "fit_surrogate", log,
                lambda template, archs, *_: (getattr(template, "inner", template).tag, len(archs)))
    _spy_module(monkeypatch, mobo, "hypervolume_improvement", log, lambda front, draws, *_: (len(draws),))

    (checked, checked_log), unchecked = _checked_and_unchecked(
        monkeypatch, lambda: _ts_hvi([wrap(Rec(SPACE, log, tag=0)), wrap(Rec(SPACE, log, tag=1))]), log)
    assert (checked, checked_log) == unchecked
    fits = [entry for entry in checked_log if "fit" in entry[:2] or "fit_surrogate" in entry[:2]]
    _user_calls_match(fits, lambda entry: [("fit", *entry[2:])])
    draws = [entry for entry in checked_log if entry not in fits]
    hvi = [entry for entry in draws if entry[0] == "outer"]
    assert len(hvi) >= 5 and draws == [call for _, _, n in hvi for call in (("sample", 0, n), ("sample", 1, n),
                                                                            ("outer", "hypervolume_improvement", n))]


class ColumnSample(Rec):
    def sample(self, archs, rng, pending=()):
        return super().sample(archs, rng, pending).reshape(-1, 1)


def test_a_column_of_thompson_draws_in_ts_hvi_still_runs_as_before():
    """ts_hvi stacks the draws as columns, so an (n, 1) answer has always read as (n,): it is not refused."""
    assert _ts_hvi([ColumnSample(SPACE, tag=0), ColumnSample(SPACE, tag=1)]) == \
        _ts_hvi([Rec(SPACE, tag=0), Rec(SPACE, tag=1)])
