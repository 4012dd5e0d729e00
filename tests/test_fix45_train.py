"""Fixes of stop 45's training review: an ignored train seed warns, split advice, search recipe, messages."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from nasforge.evaluators import TrainingEvaluator
from nasforge.exceptions import UsageError


def test_a_train_seed_the_evaluator_replaces_warns_once_at_the_users_line() -> None:
    with pytest.warns(UserWarning, match=r"^train\['seed'\] 7 is ignored: the evaluator's seed=0 seeds training "
                                         r"\(a stored study's trials all train with it\); for a new evaluator pass "
                                         r"TrainingEvaluator\(seed=7\)$") as caught:
        evaluator = TrainingEvaluator("digits", C=4, train={"seed": 7})
    assert len(caught) == 1 and caught[0].filename == __file__
    assert evaluator.seed == 0 and evaluator.train.seed == 7  # kept (specs record it), never used


def test_a_default_or_matching_train_seed_and_a_stored_spec_are_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TrainingEvaluator("digits", C=4, train={"seed": 0}, seed=5)
        evaluator = TrainingEvaluator("digits", C=4, train={"seed": 5}, seed=5)
        TrainingEvaluator(**evaluator.spec()["kwargs"])  # resume rebuilds it from the stored spec


def test_a_refused_one_class_npz_file_is_one_line_without_the_augmentation_warning(tmp_path: Path, capsys) -> None:
    import numpy as np

    from nasforge.cli import main
    from nasforge.data import load_dataset

    path = tmp_path / "one.npz"  # one-pixel-high rows (tabular), all of class 0
    np.savez(path, x=np.random.default_rng(0).random((60, 1, 1, 12), np.float32), y=np.zeros(60, np.int64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the tabular warning would raise first
        with pytest.raises(UsageError, match="holds 1 class: a classifier needs at least 2 classes"):
            load_dataset("npz", path)
    assert main(["search", "--no-progress", "--trials", "2", "--retrain", "0", "--search-epochs", "1", "--workers",
                 "1", "--data", "npz", "--data-dir", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds 1 class" in err
    np.savez(path, x=np.random.default_rng(0).random((60, 1, 1, 12), np.float32), y=np.arange(60) % 2)
    with pytest.warns(UserWarning, match="one-pixel-high inputs"):  # an accepted file still warns
        assert load_dataset("npz", path).augment == "crop_flip"


def test_search_configs_augment_refusal_says_leave_it_out_as_the_evaluator_does() -> None:
    from nasforge.pipelines.search import SearchConfig

    with pytest.raises(UsageError, match=r"augment must be one of none, crop, crop_flip \(or leave it out: the data "
                                         r"set's own\), got 'flip'"):
        SearchConfig(augment="flip").validate()


def test_too_few_images_on_the_command_line_name_the_fraction_for_python_only(tmp_path: Path) -> None:
    from nasforge.data.dataset import split_indices

    with pytest.raises(UsageError, match=r"a split would be empty; give more images, or a larger validation "
                                         r"fraction \(val_fraction in Python; --val-fraction of oneshot train\)$"):
        split_indices(4, 0.1, 0.2, 0)
    with pytest.raises(UsageError, match=r"give more images, or a larger validation or test fraction "
                                         r"\(val_fraction or test_fraction in Python; --val-fraction of oneshot "
                                         r"train\)$"):
        split_indices(2, 0.1, 0.2, 0)


def test_run_search_without_a_console_gives_stage_2_the_command_lines_eta(tmp_path: Path, monkeypatch,
                                                                           capsys) -> None:
    from nasforge.pipelines import search

    estimates = []
    real = search.eta_from

    def spy(estimate):  # the ETA rule stage 2 hands the progress display
        estimates.append(estimate)
        return real(estimate)

    monkeypatch.setattr(search, "eta_from", spy)
    summary = search.run_search(search.SearchConfig(trials=2, retrain=1, workers=1, search_epochs=1, final_epochs=1,
                                                    out=str(tmp_path / "run")))
    assert summary["n_retrained"] == 1
    assert summary["search_training"] == {  # how stage 1 trained (item 6), as docs/training.md gives it
        "C": 8, "N": 1, "epochs": 1, "batch_size": 64, "optimizer": "sgd", "nesterov": True, "momentum": 0.9, "lr": 0.1,
        "schedule": "cosine", "weight_decay": 5e-4, "label_smoothing": 0.1, "grad_clip": 5.0, "bn_mode": "inherited",
        "augment": "crop", "seed": 0}
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["search_training"] == summary["search_training"]
    assert [getattr(e, "__self__", None).__class__.__name__ for e in estimates] == ["RetrainProgress"]
    out = capsys.readouterr()
    assert "stage 2" not in out.out + out.err and "retrained trial" not in out.out + out.err  # a console's lines


def test_search_training_is_none_where_a_supernet_scores_the_search_trials() -> None:
    from nasforge.pipelines.search import SearchConfig, search_training
    from nasforge.spaces import get_space

    assert search_training(SearchConfig(evaluator="supernet", data="digits"), get_space("nb201")) is None
    recipe = search_training(SearchConfig(data="folder", augment="none", seed=3, search_epochs=2), get_space("nb201"))
    assert (recipe["augment"], recipe["seed"], recipe["epochs"]) == ("none", 3, 2)
