"""Fixes of review 47 of ``nasforge predictors eval`` and ``evaluate_predictors``."""

from __future__ import annotations

import pytest
from predictor_data import sample, seed_table

from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.predictors.evaluation import evaluate_predictors


@pytest.fixture
def table(tmp_path):
    """200 NAS-Bench-201 rows: held out 100 by whole classes, seed 1 leaves 99 for training."""
    path = tmp_path / "t.csv"
    frame = seed_table(200, seeds=1).rename(columns={"val_acc_seed0": "val_acc"})
    frame["val_loss"] = 100.0 - frame["val_acc"]
    frame.to_csv(path, index=False)
    return path


def eval_argv(table, out, *extra: str) -> list[str]:
    return ["predictors", "eval", "--table", str(table), "--seeds", "2", "--test-size", "100", "--out", str(out),
            *extra]


def test_a_class_split_too_small_for_the_sizes_is_one_line_without_the_run_header(table, tmp_path, capsys):
    """Would fail: the run header (and a metric's direction note) went to stdout before the refusal."""
    assert main(eval_argv(table, tmp_path / "out", "--predictors", "knn", "--train-sizes", "100",
                          "--metric", "val_loss")) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.count("\n") == 1 and "largest training set 100 exceeds the 99 architectures left for seed 1" \
        in printed.err
    assert not (tmp_path / "out").exists()


def test_evaluate_predictors_refuses_a_later_predictors_bad_settings_before_fitting_any():
    """Would fail: the first predictor was fitted (and reported) before the second's settings were refused."""
    space, archs, y = sample(120, seed=3)
    seen: list = []
    with pytest.raises(UsageError, match="bad parameters for predictor 'knn': k must be a positive integer, got 0"):
        evaluate_predictors(space, archs, y, {"knn": {}, "tiny": {"predictor": "knn", "k": 0}}, [20], seeds=1,
                            test_size=50, on_result=seen.append, on_start=lambda: seen.append("started"))
    assert seen == []


def test_cli_bad_params_are_one_line_before_the_run_starts(table, tmp_path, capsys):
    """The CLI's check is evaluate_predictors' own: one line on stderr, nothing on stdout, no --out left."""
    assert main(eval_argv(table, tmp_path / "out", "--predictors", "lgb,knn", "--train-sizes", "20",
                          "--params", '{"knn": {"k": 0}}')) == 2
    printed = capsys.readouterr()
    assert printed.out == "" and printed.err.count("\n") == 1 and "k must be a positive integer, got 0" in printed.err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("extra, message", [
    (["--predictors", "knn,lgb,knn", "--train-sizes", "20"], "--predictors names knn twice; name each predictor once"),
    (["--predictors", "knn", "--train-sizes", "20,40,20"], "--train-sizes names 20 twice; name each size once"),
])
def test_a_repeated_predictor_or_size_is_refused_in_one_line(table, tmp_path, capsys, extra, message):
    """Would fail: repeats were merged into one run while the header listed them (sizes [20, 40, 20])."""
    assert main(eval_argv(table, tmp_path / "out", *extra)) == 2
    printed = capsys.readouterr()
    assert printed.out == "" and printed.err.strip() == f"nasforge predictors eval: error: {message}"
    assert not (tmp_path / "out").exists()


def test_predictors_json_records_the_space_its_options_and_the_library_versions(table, tmp_path, capsys):
    """Would fail: a run with canonical_rule functional (other held-out classes, other scores) recorded the same
    metadata as one with the default rule, and no library versions."""
    import json
    from importlib import metadata

    config = tmp_path / "functional.json"
    config.write_text('{"canonical_rule": "functional"}')
    argv = ["--predictors", "knn", "--train-sizes", "20", "--seeds", "1"]
    assert main(eval_argv(table, tmp_path / "network", *argv)) == 0
    assert main(eval_argv(table, tmp_path / "functional", *argv, "--space-config", str(config))) == 0
    runs = {rule: json.loads((tmp_path / rule / "predictors.json").read_text()) for rule in ("network", "functional")}
    for rule, run in runs.items():
        assert run["space"] == "nb201" and run["space_config"] == {"canonical_rule": rule}
        assert run["libraries"]["nasforge"] == metadata.version("nasforge")
        assert run["libraries"]["numpy"] == metadata.version("numpy")


def test_a_bad_setting_given_by_params_names_the_option(table, tmp_path, capsys):
    """Would fail: the one-line refusal lost its '--params:' when the CLI's own check went (a regression)."""
    assert main(eval_argv(table, tmp_path / "out", "--predictors", "knn", "--train-sizes", "20",
                          "--params", '{"knn": {"colour": 1}}')) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error: --params: bad parameters for predictor 'knn'" in err, err
