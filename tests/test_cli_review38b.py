"""Review 38 (clihelp) items 4, 5, 6, 12, 15-18: one --pruner vocabulary, usable --space choices, surrogate eval's
--dataset default, uniform metavars and defaults, direction spellings, option names in messages."""

from __future__ import annotations

import json

import pytest
from predictor_data import seed_table

from nasforge.cli import main
from nasforge.exceptions import UsageError

from cli_lines import err_line

@pytest.mark.parametrize("text, spec", [("none", None), ("None", None), ("median", "median"),
                                        ('{"name": "asha", "max_resource": 27}', {"name": "asha", "max_resource": 27})])
def test_search_and_bench_take_what_resume_takes_for_pruner(text, spec):
    """Would fail: search and bench refused none and a JSON object, which resume takes (item 4)."""
    from nasforge.cli.options import parse_pruner
    from nasforge.pipelines.search import SearchConfig

    assert parse_pruner(text) == spec
    SearchConfig(pruner=spec, search_epochs=2).validate()


@pytest.mark.parametrize("text, message", [
    ("wild", "--pruner: unknown pruner 'wild'; give one of asha, curve, median, none, or a JSON object"),
    ('{"max_resource": 27}', "--pruner: unknown pruner: the JSON object has no 'name'"),
    ('{"name": "asha", "bogus": 1}', "--pruner: pruner 'asha': "),
    ("{not json", "--pruner is not valid JSON"),
])
def test_a_bad_pruner_is_one_line_naming_the_option(tmp_path, capsys, text, message):
    assert main(["search", "--pruner", text, "--out", str(tmp_path / "s")]) == 2
    assert message in err_line(capsys)
    assert not (tmp_path / "s").exists()


def test_bench_pruner_none_needs_no_simulated_workers_and_a_name_says_what_it_needs(tmp_path, capsys):
    argv = ["bench", "--strategies", "random", "--seeds", "1", "--trials", "3", "--workers", "1"]
    assert main([*argv, "--pruner", "median", "--out", str(tmp_path / "b0")]) == 2
    assert err_line(capsys).endswith("--pruner median: needs --workers-simulated (a pruner stops evaluations on "
                                     "their modelled curves); leave it out or give --workers-simulated N")
    assert main([*argv, "--pruner", "none", "--out", str(tmp_path / "b1")]) == 0


def test_search_pruner_help_states_the_real_rules(capsys, monkeypatch):
    """Would fail: the help said every pruner needs --search-epochs 5 and garbled the rule for 1 (item 4)."""
    monkeypatch.setenv("COLUMNS", "1000")  # no line breaks inside the words checked
    assert main(["search", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--pruner {median,asha,curve,none}|JSON" in text
    assert "(needs --search-epochs 2 or more)" in text and "curve (learning-curve extrapolation; needs " \
                                                          "--search-epochs 5 or more)" in text


@pytest.mark.parametrize("argv", [["bench"], ["search"]])
def test_space_errors_offer_only_spaces_the_command_line_can_use(tmp_path, capsys, argv):
    """Would fail: model_space was offered, and taking it gave a hint about Study.load (item 5)."""
    assert main([*argv, "--space", "NB201", "--out", str(tmp_path / "o")]) == 2
    line = err_line(capsys)
    assert "['chain', 'darts', 'nb101', 'nb201', 'proxylessnas']" in line and "model_space" not in line
    assert main([*argv, "--space", "model_space", "--out", str(tmp_path / "o")]) == 2
    line = err_line(capsys)
    assert line.startswith(f"nasforge {argv[0]}: error: --space model_space: rebuilds a stored study's space and "
                           "cannot be named here; ")  # the hint: tests/test_cli_review38d.py
    assert "Study.load" not in line


@pytest.mark.parametrize("version", ["", "../x", "a/b", ".hidden", "1 0"])
def test_a_path_like_or_empty_artifact_version_is_refused(tmp_path, capsys, version):
    """Would fail: '' gave nb201-knn-v and '../x' gave nb201-knn-v../x (item 18)."""
    assert main(["surrogate", "fit", "--model", "knn", "--artifact-version", version,
                 "--out", str(tmp_path / "s")]) == 2
    assert (f"argument --artifact-version: must be letters, digits and . _ + - starting with a letter or digit, "
            f"e.g. 1.0 or 2.1rc1, got {version!r}") in err_line(capsys)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("text", ["val_acc:maximize,params:minimize", "val_acc:max,params:min"])
def test_objectives_take_both_direction_spellings(text):
    """Would fail: maximize/minimize, as --direction and the stored config spell them, were refused (item 15)."""
    from nasforge.pipelines.search import parse_objectives

    assert parse_objectives(text) == (["val_acc", "params"], ["maximize", "minimize"])
    with pytest.raises(UsageError, match="direction must be max, min, maximize or minimize, got 'up'"):
        parse_objectives("val_acc:up")


@pytest.mark.parametrize("argv, message", [
    (["--strategy", "foo"], "--strategy: unknown strategy 'foo'; choose from ["),  # item 16
    (["--supernet", "sn"], "--supernet needs --evaluator supernet (the training evaluator reads no supernet), "
                           "got 'sn'"),  # item 17
    (["--evaluator", "supernet"], "--supernet must name a folder saved by 'nasforge oneshot train' with --evaluator "
                                  "supernet, got nothing"),
])
def test_search_messages_name_the_option(tmp_path, capsys, argv, message):
    assert main(["search", *argv, "--out", str(tmp_path / "s")]) == 2
    assert message in err_line(capsys)


@pytest.mark.parametrize("command, options", [
    (["search"], ["--timeout SECONDS", "--storage URL", "--recal-batches N", "--finetune-steps N"]),
    (["bench"], ["--dataset {cifar10,cifar100,imagenet}", "--arch-column COLUMN", "--time-column COLUMN"]),
    (["dashboard"], ["--storage URL", "--interval SECONDS"]),
])
def test_metavars_choices_and_defaults_are_uniform(capsys, monkeypatch, command, options):
    """Would fail: TIMEOUT, STORAGE, ARCH_COLUMN and no --dataset choices; '(default 8)' beside '(default: X)'
    (item 12)."""
    monkeypatch.setenv("COLUMNS", "1000")
    assert main([*command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in options:
        assert option in text
    assert "(default " not in text


def test_a_bad_dataset_names_the_option(capsys):
    assert main(["bench", "--dataset", "CIFAR10"]) == 2
    assert "argument --dataset: invalid choice: 'CIFAR10'" in err_line(capsys)


def test_the_dataset_choices_are_the_benchmark_s():
    from nasforge.benchmarks.nb201 import NB201_DATASETS
    from nasforge.cli.options import DATASETS

    assert DATASETS == NB201_DATASETS


def test_bench_reports_a_pruner_spec_by_name(tmp_path, capsys):
    assert main(["bench", "--strategies", "random", "--seeds", "1", "--trials", "4",
                 "--workers-simulated", "2", "--pruner", json.dumps({"name": "median"}),
                 "--out", str(tmp_path / "b")]) == 0
    assert "pruner median" in capsys.readouterr().out


def test_run_search_refuses_an_unknown_strategy_before_any_work():
    """Would fail: only the command line checked the name; Python's run_search met it late, in Study()."""
    from nasforge.pipelines.search import SearchConfig

    with pytest.raises(UsageError, match="strategy: unknown strategy 'sideways'; choose from"):
        SearchConfig(strategy="sideways").validate()
