"""Review 55, reproducibility: a study made with a model-based strategy object (``get_strategy("bananas", ...)``,
``ModelBasedStrategy(...)``) records its settings, so ``Study.load(name, url)`` and ``nasforge resume`` rebuild it
and continue the same search."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge import Study
from nasforge.exceptions import UsageError
from nasforge.strategies import get_strategy
from nasforge.strategies.model_based import ModelBasedStrategy


def score(arch, fidelity=None):
    """A cheap deterministic objective of the genotype."""
    return {"val_acc": float(sum(i * (op == "nor_conv_3x3") + (op == "skip_connect") for i, op in
                                 enumerate(arch.genotype)))}


def archs(study):
    return [study.space.format(t.arch) for t in study.trials]


def make(name):
    if name == "model_based":
        return ModelBasedStrategy("nb201", seed=3, surrogate={"name": "gp", "kernel": "hamming"},
                                  acquisition={"name": "ucb", "beta": 1.5}, optimizer="auto", n_initial=3)
    return get_strategy(name, "nb201", seed=3, n_initial=3)


@pytest.mark.parametrize("name", ["gp_bo", "model_based"])
def test_model_based_object_study_reloads_and_continues_exactly(tmp_path, name):
    full = Study("nb201", make(name), objectives="val_acc", seed=3, name="full")
    full.optimize(score, n_trials=6, progress=False)
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = Study("nb201", make(name), objectives="val_acc", seed=3, name="s", storage=url)
    first.optimize(score, n_trials=4, progress=False)
    assert first.record.strategy_config["n_initial"] == 3
    again = Study.load("s", url)  # was: "created with a ... strategy object whose settings were not recorded"
    again.optimize(score, n_trials=2, progress=False)
    assert archs(again) == archs(full)
    assert again.strategy.n_initial == 3 and type(again.strategy) is type(make(name))


def test_a_part_given_as_an_object_is_still_not_recorded(tmp_path):
    from nasforge.strategies.model_based.acquisitions import make_acquisition

    strategy = ModelBasedStrategy("nb201", seed=0, acquisition=make_acquisition("ei"), n_initial=3)
    assert strategy.recorded_settings() is None
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study("nb201", strategy, objectives="val_acc", seed=0, name="s", storage=url).optimize(score, n_trials=2,
                                                                                           progress=False)
    with pytest.raises(UsageError, match="settings were not recorded"):
        Study.load("s", url)
    loaded = Study.load("s", url, strategy=ModelBasedStrategy("nb201", seed=0, acquisition=make_acquisition("ei"),
                                                              n_initial=3))
    assert len(loaded.trials) == 2


def test_another_setting_than_the_recorded_one_is_refused_at_load(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study("nb201", make("gp_bo"), objectives="val_acc", seed=3, name="s", storage=url).optimize(score, n_trials=2,
                                                                                                progress=False)
    with pytest.raises(UsageError, match="n_initial=3, not 5"):
        Study.load("s", url, strategy=get_strategy("gp_bo", "nb201", seed=3, n_initial=5))
    assert len(Study.load("s", url, strategy=make("gp_bo")).trials) == 2


def test_a_state_dict_leaves_out_the_parts_as_given():
    strategy = make("gp_bo")
    assert "_parts_given" not in strategy.state_dict()
    other = make("gp_bo")
    other.load_state_dict(strategy.state_dict())


@pytest.mark.parametrize("kwargs, given", [
    ({"acquisition": "ei"}, {"acquisition": {"name": "ei"}}),
    ({"acquisition": "ucb"}, {"acquisition": {"name": "ucb", "beta": 2}}),  # the default beta, 2.0, as an int
    ({"optimizer": {"name": "auto"}}, {"optimizer": "auto"}),
    ({}, {"surrogate": {"name": "gp", "kernel": "hamming"}, "acquisition": "ei", "optimizer": "auto"}),
    ({}, {"n_initial": np.int64(3)}),  # a numpy int: the object records no settings
    ({}, {"acquisition": "part object"}),  # a part given as an object: the same
])
def test_the_same_settings_spelled_otherwise_load_a_study_stored_by_name(tmp_path, kwargs, given):
    """A study stored by name reloads with an equivalent object (as before the settings were compared): a part
    spelled as a name or a dict, a numpy int, a part given as the object it names."""
    from nasforge.strategies.model_based.acquisitions import make_acquisition

    url = f"sqlite:///{tmp_path / 's.db'}"
    Study("nb201", "gp_bo", objectives="val_acc", seed=3, name="s", storage=url, n_initial=3,
          **kwargs).optimize(score, n_trials=2, progress=False)
    given = {"n_initial": 3, **kwargs, **given}
    if given.get("acquisition") == "part object":
        given["acquisition"] = make_acquisition(kwargs.get("acquisition", "ei"))
    again = Study.load("s", url, strategy=get_strategy("gp_bo", "nb201", seed=3, **given))
    again.optimize(score, n_trials=1, progress=False)
    assert len(again.trials) == 3


class _KeepsInit(ModelBasedStrategy):
    """A user's subclass keeping nasforge's constructor (its settings are recorded), not registered."""

    name = "keeps_init"


def test_a_subclass_keeping_the_constructor_reloads_with_its_settings_spelled_otherwise(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study("nb201", _KeepsInit("nb201", seed=3, acquisition="ucb", n_initial=3), objectives="val_acc",
          name="s", storage=url).optimize(score, n_trials=2, progress=False)
    loaded = Study.load("s", url, strategy=_KeepsInit("nb201", seed=3, acquisition={"name": "ucb"}, n_initial=3))
    assert len(loaded.trials) == 2
    with pytest.raises(UsageError, match="acquisition=.ucb., not .ei.;"):  # as written, not the built parts
        Study.load("s", url, strategy=_KeepsInit("nb201", seed=3, acquisition="ei", n_initial=3))


def test_another_part_than_the_recorded_one_is_still_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study("nb201", "gp_bo", objectives="val_acc", seed=3, name="s", storage=url, n_initial=3,
          acquisition={"name": "ucb", "beta": 1.5}).optimize(score, n_trials=2, progress=False)
    with pytest.raises(UsageError, match="'beta': 1.5}, not .*'beta': 2"):
        Study.load("s", url, strategy=get_strategy("gp_bo", "nb201", seed=3, n_initial=3,
                                                   acquisition={"name": "ucb", "beta": 2}))
    loaded = Study.load("s", url, strategy=get_strategy("gp_bo", "nb201", seed=3, n_initial=np.int64(3),
                                                        acquisition={"name": "ucb", "beta": np.float32(1.5)}))
    assert len(loaded.trials) == 2
