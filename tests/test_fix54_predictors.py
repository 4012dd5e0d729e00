"""Review 54 of predictors: the ``path`` encoding counts the paths of each operation sequence (BANANAS marks their
presence; the docs say so), and a model whose predictions are not finite (a diverged training) is refused by name,
size and seed in an evaluation or a surrogate fit, and by ``save`` before anything is written."""

from __future__ import annotations

import numpy as np
import pytest
from cli_lines import error_line
from predictor_data import sample, seed_table

from nasforge.benchmarks import SurrogateBenchmark
from nasforge.exceptions import UnsafeFileError, UsageError
from nasforge.predictors import encode, get_predictor, load_predictor
from nasforge.predictors.evaluation import evaluate_predictors
from nasforge.spaces import NASBench101Space

# Two parallel conv3x3 nodes between input and output: two paths carry the one-operation sequence (conv3x3).
PARALLEL = (((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0)),
            ("input", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"))


def test_nb101_path_counts_paths_and_its_minimum_is_bananas_bits():
    """As docs/predictors.md says: the predictors' ``path`` counts (2 for the two parallel convolutions), and
    ``np.minimum(x, 1)`` of it is the space's own BANANAS path encoding (presence bits), column for column."""
    space = NASBench101Space()
    rng = np.random.default_rng(1)
    archs = [space._arch(PARALLEL)] + [space.sample(rng) for _ in range(200)]
    counts = encode(space, archs, "path")
    assert counts.shape == (201, 364) and counts[0].max() == 2.0
    assert np.array_equal(np.minimum(counts, 1), space.encode(archs, "path"))


# An mlp whose training diverges: every prediction NaN (two tiny epochs, about a second).
DIVERGING = {"lr": 1e6, "epochs": 2, "n_models": 1, "hidden": 8}


@pytest.fixture(scope="module")
def data():
    return sample(60)


def test_an_evaluation_names_the_predictor_size_and_seed_whose_predictions_are_not_finite(data):
    """Would fail: the refusal read "y_pred must be finite: ..." (from the metrics), naming no predictor."""
    space, archs, y = data
    with pytest.raises(UsageError) as refused:
        evaluate_predictors(space, archs, y, {"wild": {"predictor": "mlp", **DIVERGING}}, [20],
                            seeds=1, test_size=20)
    assert str(refused.value) == ("predictor 'wild' (n=20, seed 0) predicted NaN/inf for 20 of 20 held-out "
                                  "architectures: its training diverged; fit it with other settings (for mlp or "
                                  "gin, a smaller lr)")


def test_a_surrogate_fit_names_the_model_metric_and_seed_whose_predictions_are_not_finite():
    """Would fail: the refusal read "y_pred must be finite: ...", naming no model, metric or seed."""
    frame = seed_table(60, seeds=1).rename(columns={"val_acc_seed0": "val_acc"})
    with pytest.raises(UsageError, match=r"^model 'mlp' of metric 'val_acc' \(54 training rows, seed 0\) "
                                         r"predicted NaN/inf for 6 of 6 held-out architectures: its training "
                                         r"diverged"):
        SurrogateBenchmark.fit("nb201", frame, model="mlp", model_params=DIVERGING)


def test_save_refuses_a_model_that_a_load_would_refuse_and_writes_nothing(data, tmp_path):
    """Would fail: the save wrote the folder, whose load then said UnsafeFileError (as if the file were damaged)."""
    space, archs, y = data
    model = get_predictor("mlp", space, **DIVERGING).fit(archs, y)
    with pytest.raises(UsageError, match="^cannot save predictor 'mlp': it predicts NaN/inf, so the saved model "
                                         "could not be loaded; its training diverged"):
        model.save(tmp_path / "p")
    assert not (tmp_path / "p").exists()
    model._save_into(tmp_path / "old", overwrite=False)  # as a save wrote it before: its load refuses it as before
    with pytest.raises(UnsafeFileError, match="does not give a finite prediction"):
        load_predictor(tmp_path / "old", space)


def test_surrogate_fit_without_holdout_writes_no_artifact_of_a_diverged_model(tmp_path, capsys):
    """Would fail: ``--holdout 0`` (no held-out predictions to check) wrote an artifact that info/eval refused."""
    table = tmp_path / "t.csv"
    seed_table(40, seeds=1).rename(columns={"val_acc_seed0": "val_acc"}).to_csv(table, index=False)
    line = error_line(capsys, ["surrogate", "fit", "--table", str(table), "--model", "mlp", "--params",
                               '{"lr": 1e6, "epochs": 2, "n_models": 1, "hidden": 8}', "--holdout", "0",
                               "--out", str(tmp_path / "s")])
    assert "cannot save predictor 'mlp': it predicts NaN/inf" in line
    assert not (tmp_path / "s").exists()
