"""Stop 52 fixes made on main (beside the helpers' branches)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from bit_spaces import BitSpace

from nasforge.exceptions import StorageError
from nasforge.experiment.storage.base import check_stored_arch, check_stored_archs
from nasforge.experiment.trial import Trial
from nasforge.spaces import Architecture, get_space
from nasforge.strategies.mobo import ThompsonHVI
from nasforge.strategies.model_based import ModelBasedStrategy
from nasforge.strategies.model_based.surrogates import Surrogate, WarpedSurrogate

URL = "postgresql://ann:s3cret@db.example/nas"
SPACE = BitSpace(8)


def _bad_trial() -> Trial:
    return Trial(number=3, arch=Architecture("nb201", ("not an nb201 op",) * 6))


@pytest.mark.parametrize("check", [lambda t: check_stored_arch(get_space("nb201"), t, URL, "s"),
                                   lambda t: check_stored_archs(get_space("nb201"), [t], URL, "s", {})])
def test_a_damaged_stored_architecture_is_named_without_the_storage_password(check):
    """Would fail: the message showed the URL as given, password included."""
    with pytest.raises(StorageError) as info:
        check(_bad_trial())
    assert "s3cret" not in str(info.value) and "ann:***@db.example" in str(info.value)


# -- a user's surrogate checked on each call (fix52-extend) survives copies, pickles and its own attributes ----------
class _Own(Surrogate):
    """Least squares, its Thompson draws from its own random state."""

    name = "own_fix52_main"

    def _mean(self, archs):
        x = np.array([self.space.encode_onehot(a) for a in archs]).reshape(len(archs), -1)
        return np.c_[x, np.ones(len(x))] @ self.w

    def fit(self, archs, y, seed):
        x = np.array([self.space.encode_onehot(a) for a in archs])
        self.w = np.linalg.lstsq(np.c_[x, np.ones(len(x))], y, rcond=None)[0]
        self.rng = np.random.default_rng(seed)
        return self

    def predict(self, archs, pending=()):
        return self._mean(archs), np.full(len(archs), 0.1)

    def sample(self, archs, rng, pending=()):
        return self._mean(archs) + 2.0 * self.rng.standard_normal(len(archs))


def _value(arch):
    return float(sum(arch.genotype) + 0.5 * arch.genotype[0])


def _run(strategy, n, probe=None):
    proposals = []
    for i in range(n):
        if i == n // 2 and probe is not None:
            probe(strategy)
        arch = strategy.ask()
        strategy.tell(arch, _value(arch))
        proposals.append(arch.genotype)
    return proposals


@pytest.mark.parametrize("wrap", [lambda m: m, lambda m: WarpedSurrogate(SPACE, inner=m)])
def test_a_deep_copy_of_a_strategy_asks_its_own_copy_of_a_users_surrogate(wrap):
    """Would fail: the copy's checked sample called the original model, drawing from its random state, so the
    original's later proposals changed (nasforge deep-copies strategies when it replays a study)."""
    def make():
        return ModelBasedStrategy(SPACE, seed=3, surrogate=wrap(_Own(SPACE)), acquisition="its", optimizer="mutation",
                                  n_initial=4, refit_every=50)

    def probe(strategy):
        twin = copy.deepcopy(strategy)
        twin.ask(), twin.ask()

    assert _run(make(), 10, probe) == _run(make(), 10)


def test_a_strategy_with_a_users_surrogate_inside_warped_pickles():
    """Would fail: PicklingError (the check was a local function)."""
    strategy = ModelBasedStrategy(SPACE, seed=3, surrogate=WarpedSurrogate(SPACE, inner=_Own(SPACE)), acquisition="ei",
                                  optimizer="mutation", n_initial=4)
    _run(strategy, 6)
    twin = pickle.loads(pickle.dumps(strategy))
    assert twin.ask() == strategy.ask()


def test_a_predict_the_users_surrogate_sets_on_itself_stays_in_use_in_ts_hvi():
    """Would fail: the refit after the first ask dropped the instance's own predict (the class's was called)."""
    calls = {"own": 0, "class": 0}

    class Chosen(_Own):
        def __init__(self, space):
            super().__init__(space)
            self.predict = self._chosen

        def _chosen(self, archs, pending=()):
            calls["own"] += 1
            return self._mean(archs), np.full(len(archs), 0.1)

        def predict(self, archs, pending=()):
            calls["class"] += 1
            return self._mean(archs), np.full(len(archs), 5.0)

        sample = Surrogate.sample

    strategy = ThompsonHVI(SPACE, seed=4, n_initial=4, surrogate=Chosen(SPACE))
    for _ in range(8):
        arch = strategy.ask()
        strategy.tell(arch, (_value(arch), -float(sum(arch.genotype[:4]))))
    assert calls["own"] > 0 and calls["class"] == 0


def test_a_strategy_whose_constructor_tells_itself_priors_is_fresh(tmp_path):
    """Would fail (regression of check_fresh): refused as 'already ... told 2 time(s)', though every new object of
    the class is the same and replays the stored study exactly."""
    from nasforge import Study
    from nasforge.strategies import RandomSearch

    class Warm(RandomSearch):
        name = "warm_fix52_main"

        def __init__(self, space, seed=0):
            super().__init__(space, seed=seed)
            for arch in (space.sample(np.random.default_rng(i)) for i in range(2)):
                self.tell(arch, 1.0)

    space, url = get_space("nb201"), f"sqlite:///{tmp_path / 'w.db'}"
    study = Study(space, Warm(space), storage=url, name="w")
    study.optimize(lambda arch: 1.0, n_trials=3)
    study.close()
    again = Study.load("w", url, strategy=Warm(space))
    again.optimize(lambda arch: 1.0, n_trials=2)
    assert len(again.trials) == 5


def test_a_model_based_study_recording_no_object_of_diagnostics_still_gets_them_computed(tmp_path):
    """Would fail (regression of the report fix): a bananas study with user_attrs model_diagnostics [1, 2] showed
    'recorded but unusable' instead of the diagnostics computed from its strategy, as before."""
    from nasforge import Study
    from nasforge.analysis.studyreport import model_diagnostics
    from nasforge.analysis.studyreport.data import load_study_data, open_readonly

    url = f"sqlite:///{tmp_path / 'd.db'}"
    study = Study("nb201", "bananas", objectives="acc", seed=0, storage=url, name="g", n_initial=4,
                  user_attrs={"model_diagnostics": [1, 2]})
    for i in range(8):
        trial = study.ask()
        study.tell(trial, {"acc": float(len(study.space.format(trial.arch)) % 11 + i)})
    study.close()
    diagnostics = model_diagnostics(load_study_data(open_readonly(url), "g"))
    assert "actual" in diagnostics and "skipped" not in diagnostics


def test_a_metric_named_like_a_column_trials_adds_keeps_its_values(tmp_path, capsys):
    """Would fail: with constraints, a metric named 'infeasible' was overwritten by the feasibility flag (CSV) or
    shown blank (table)."""
    from nasforge import Study
    from nasforge.cli import main

    url = f"sqlite:///{tmp_path / 'i.db'}"
    study = Study("nb201", "mo_random", objectives=["acc", "params"], directions=["maximize", "minimize"], seed=0,
                  storage=url, name="t", constraints=["infeasible <= 0.75"])
    for i in range(3):
        trial = study.ask()
        study.tell(trial, {"acc": 50.0 + i, "params": 3.0, "infeasible": 0.5 * i})
    study.close()
    assert main(["trials", "t", "--storage", url, "--format", "csv"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    columns = header.split(",")
    assert columns.count("infeasible") == 1 and "metric_infeasible" in columns
    values = [dict(zip(columns, row.split(","))) for row in rows]
    assert [v["metric_infeasible"] for v in values] == ["0.0", "0.5", "1.0"]
    assert [v["infeasible"] for v in values] == ["False", "False", "True"]
    assert main(["trials", "t", "--storage", url]) == 0
    table = capsys.readouterr().out
    assert "metric_infeasible" in table and "yes" in table


@pytest.mark.parametrize(("encoding", "text", "written"), [
    ("utf-8", "f\udcffx", b"f\xffx"),  # a C-locale (UTF-8) stdout writes a file name's byte back as it was
    ("ascii", "caf\xe9 f\udcffx", b"caf\\xe9 f\\udcffx")])  # an ASCII one escapes what it cannot write
def test_trials_csv_on_a_stdout_escaping_surrogates_writes_what_it_can(tmp_path, monkeypatch, encoding, text, written):
    """Would fail: the byte came out as the six characters \\udcff (regression of the lone-surrogate fix), and a
    stored 'caf\xe9' on an ASCII stdout (LC_ALL=C without UTF-8 mode) was a traceback, nothing written."""
    import io
    import sys

    from nasforge import Study
    from nasforge.cli import main

    url = f"sqlite:///{tmp_path / 'e.db'}"
    study = Study("nb201", "random", objectives="acc", seed=0, name="e", storage=url)
    trial = study.ask()
    study.set_trial_user_attr(trial, "p", text)
    study.tell(trial, {"acc": 1.0})
    study.close()
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["trials", "e", "--storage", url, "--format", "csv"]) == 0
    stdout.flush()
    assert written in raw.getvalue() and raw.getvalue().startswith(b"number,state,arch")


def test_a_search_runs_trials_csv_keeps_its_stage_column_beside_a_metric_named_stage():
    """Would fail: with_stages added no stage column when a metric was named 'stage' (the run folder's trials.csv
    lost it, and nasforge trials renamed the metric on its own)."""
    import pandas as pd

    from nasforge.pipelines.search import with_stages

    arch = get_space("nb201").sample(np.random.default_rng(0))
    trials = [Trial(number=0, arch=arch), Trial(number=1, arch=arch, user_attrs={"stage": "retrain"})]
    frame = pd.DataFrame({"number": [0, 1], "arch": ["a", "a"], "stage": [0.5, 0.7]})
    out = with_stages(frame, trials, staged=True)
    assert list(out.columns) == ["number", "arch", "stage", "metric_stage"]
    assert list(out["stage"]) == ["search", "retrain"] and list(out["metric_stage"]) == [0.5, 0.7]
