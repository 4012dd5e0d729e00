"""Review round2b: (fix55-didyoumean) a ' (did you mean X?)' guess is given only where it helps: never one arbitrary
choice among several equally close ones, and never beside the evaluator a supernet data set needs."""

from __future__ import annotations

import pytest

from nasforge.exceptions import UsageError
from nasforge.pipelines.search import SearchConfig
from nasforge.registry import closest, did_you_mean


def test_no_guess_among_equally_close_choices():
    names = ["edge_0_1", "edge_0_2", "edge_1_2", "edge_0_3", "edge_1_3", "edge_2_3"]
    assert did_you_mean("edge_9", names) == ""  # was ' (did you mean 'edge_2_3'?)': the greatest name of a tie
    assert did_you_mean("edge_1_4", names) == ""  # edge_1_2 and edge_1_3 alike
    assert closest("edge_01", names) == "edge_0_1"  # one closest: still named
    assert closest("cifar11", ["cifar10", "cifar100", "imagenet"]) == "cifar10"


def test_oneshot_split_out_of_range_names_no_decision(capsys):
    from nasforge.cli import main

    assert main(["oneshot", "train", "--few-shot-split", "edge_9_9"]) == 2
    err = capsys.readouterr().err
    assert "unknown decision(s) edge_9_9; choose from edge_0_1" in err and "did you mean" not in err


def test_supernet_data_set_with_training_evaluator_guesses_nothing():
    with pytest.raises(UsageError) as info:
        SearchConfig(space="nb201", strategy="random", data="digits-hard").validate()
    message = str(info.value)
    assert "(digits-hard needs evaluator supernet), got 'digits-hard'" in message
    assert "did you mean" not in message  # was "(did you mean 'digits'?)", against the remedy just named
    with pytest.raises(UsageError, match=r"got 'digit' \(did you mean 'digits'\?\)"):
        SearchConfig(space="nb201", strategy="random", data="digit").validate()


def test_a_refused_model_based_setting_is_shown_as_given(tmp_path):
    """(review of reg55-repro) settings compared by what they build are still shown as written: "acquisition='ei',
    not 'pi'", not the built objects' class and attributes."""
    from nasforge import Study
    from nasforge.strategies import get_strategy
    from nasforge.strategies.model_based import ModelBasedStrategy

    def score(arch, fidelity=None):
        return {"val_acc": float(sum(i * (op == "nor_conv_3x3") for i, op in enumerate(arch.genotype)))}

    url = f"sqlite:///{tmp_path / 's.db'}"
    Study("nb201", get_strategy("gp_bo", "nb201", seed=3, n_initial=3), objectives="val_acc", seed=3, name="a",
          storage=url).optimize(score, n_trials=3, progress=False)
    with pytest.raises(UsageError, match=r"strategy settings acquisition='ei', not 'pi';"):
        Study.load("a", url, strategy=get_strategy("gp_bo", "nb201", seed=3, n_initial=3, acquisition="pi"))
    Study("nb201", ModelBasedStrategy("nb201", seed=3, acquisition={"name": "ucb", "beta": 1.5}, n_initial=3),
          objectives="val_acc", seed=3, name="c", storage=url).optimize(score, n_trials=3, progress=False)
    with pytest.raises(UsageError, match=r"acquisition=\{'name': 'ucb', 'beta': 1.5\}, not \{'name': 'ucb', 'beta': 2"):
        Study.load("c", url, strategy=ModelBasedStrategy("nb201", seed=3, acquisition={"name": "ucb", "beta": 2.0},
                                                         n_initial=3))
    same = ModelBasedStrategy("nb201", seed=3, acquisition={"name": "ucb", "beta": 1.5}, n_initial=3)
    assert len(Study.load("c", url, strategy=same).trials) == 3  # the same settings: still taken
