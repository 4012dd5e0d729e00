"""Review docs38 items 1, 3, 4, 6, 8, 9, 10, 12: surrogate eval knows its fitted table however it is named, the
examples bound --seed, model-space hints that lead somewhere, --supernet named, mobilenet_chain saves its network,
unknown pruner settings listed, --help metavars as docs/cli.md writes them, tabular_mlp's docstrings agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from predictor_data import seed_table

from nasforge.cli import main
from nasforge.exceptions import UsageError

from cli_lines import err_line
from example_modules import load_example

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def default_table(tmp_path, monkeypatch) -> Path:
    """A small NAS-Bench-201-format table with cifar10 and cifar100 columns, as the default table file."""
    data = tmp_path / "data"
    data.mkdir()
    frame = seed_table(80, seeds=1).rename(columns={"val_acc_seed0": "cifar10-val"})
    frame["cifar100-val"] = frame["cifar10-val"] / 2
    frame.to_csv(data / "nb201_hp12.csv.gz", index=False)
    monkeypatch.setenv("NASFORGE_DATA", str(data))
    return data / "nb201_hp12.csv.gz"


def test_surrogate_eval_knows_the_fitted_table_named_either_way(default_table, tmp_path, capsys):
    """Would fail (item 1): fitted on the default table's cifar100, the same file given as --table was read as
    cifar10 and refused as not fitted on; fitted on --table FILE --dataset cifar100, the default table was."""
    spelled = str(default_table.parent / ".." / "data" / default_table.name)  # another spelling of the same file
    by_table, by_default = (["--table", spelled], f"{default_table.name} (cifar100)"), ([], "nb201-nb201_hp12-cifar100")
    fits = [["--dataset", "cifar100"], ["--table", str(default_table), "--dataset", "cifar100"]]
    for n, fit in enumerate(fits):
        artifact = tmp_path / f"s{n}"
        assert main(["surrogate", "fit", "--model", "knn", *fit, "--out", str(artifact)]) == 0
        capsys.readouterr()
        for table, name in (by_table, by_default):
            argv = ["surrogate", "eval", str(artifact), *table, "--seeds", "1", "--trials", "5", "--strategies",
                    "random", "--out", str(tmp_path / f"e{n}")]
            assert main([*argv, "--other-table"]) == 2  # it is the fitted table: refused as that
            assert err_line(capsys).endswith(f"--other-table: table {name!r} is the one surrogate "
                                             "'nb201-cifar100-knn-v1.0' was fitted on; name the other table with "
                                             "--table or --dataset")
            main(argv)
            assert "was not fitted on" not in capsys.readouterr().err
            assert main([*argv, "--dataset", "cifar10"]) == 2  # the other data set of that file: not the fitted one
            assert "was not fitted on the data of table" in err_line(capsys)


@pytest.mark.parametrize("name, seed, says", [
    ("tabular_mlp", 2**32, "must be < 4294967296, got 4294967296"),
    ("digits_cnn", 2**64, "must be < 9223372036854775808, got 18446744073709551616"),
    ("mobilenet_chain", 2**63, "must be < 9223372036854775808, got 9223372036854775808"),
])
def test_an_example_seed_over_what_the_library_takes_stops_naming_the_option(name, seed, says, capsys):
    """Would fail (item 3): a traceback from scikit-learn or nasforge, mobilenet_chain's after building."""
    example = load_example(name)
    with pytest.raises(SystemExit) as stop:
        example.main(["--seed", str(seed)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].endswith(f".py: error: argument --seed: {says}") and "Traceback" not in err
    assert example.at_least(0, below=seed)(str(seed - 1)) == seed - 1


@pytest.mark.parametrize("argv", [["bench"], ["predictors", "eval"], ["surrogate", "fit"]])
def test_model_space_hint_names_the_commands_that_take_one(tmp_path, capsys, argv):
    """Would fail (item 4): the hint said --space-module, which these commands then refuse for an nn.Module."""
    assert main([*argv, "--space", "model_space", "--out", str(tmp_path / "o")]) == 2
    assert err_line(capsys).endswith("--space model_space: rebuilds a stored study's space and cannot be named "
                                     "here; a model space (an nn.Module class) runs only with nasforge search or "
                                     "nasforge oneshot train (--space-module FILE.py:NAME)")


def test_model_space_hint_of_search_is_its_own_option(tmp_path, capsys):
    assert main(["search", "--space", "model_space", "--out", str(tmp_path / "o")]) == 2
    assert err_line(capsys).endswith("build a model space from an nn.Module class with --space-module FILE.py:NAME")


def test_search_names_supernet_when_it_cannot_be_loaded(tmp_path, capsys):
    """Would fail (item 6): the checkpoint's message came without the option, unlike oneshot search's."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "supernet.pt").write_text("garbage\n")
    assert main(["search", "--evaluator", "supernet", "--supernet", str(broken), "--trials", "3",
                 "--out", str(tmp_path / "s")]) == 2
    assert err_line(capsys).startswith(f"nasforge search: error: --supernet {broken}: ")
    assert not (tmp_path / "s").exists()


def test_mobilenet_chain_saves_the_best_network_for_nasforge_export(tmp_path, torch_one_thread, capsys):
    """Would fail (item 8): the docstring said it exports the best network; nothing was written."""
    from nasforge.export import load_model

    example = load_example("mobilenet_chain")
    out = tmp_path / "best"
    text, _ = example.main(["--epochs", "1", "--candidates", "1", "--out", str(out)])
    assert f"saved it in {out}" in capsys.readouterr().out
    model, info = load_model(out)
    assert info["model"] == "model_space" and sum(p.numel() for p in model.parameters()) > 0
    with pytest.raises(SystemExit) as stop:  # an earlier network there: refused before any training
        example.main(["--epochs", "1", "--out", str(out)])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        f"argument --out: {out} exists and is not an empty folder; name a new one")
    doc = " ".join((ROOT / "docs" / "model-spaces.md").read_text().split())
    assert "`--out FOLDER` saves it there" in doc and "``--out FOLDER``" in example.__doc__


def test_an_unknown_pruner_setting_names_the_pruner_and_its_settings(tmp_path, capsys):
    """Would fail (item 9): a TypeError naming SuccessiveHalvingPruner.__init__."""
    from nasforge.experiment.pruners import get_pruner

    with pytest.raises(UsageError, match=r"^pruner 'asha': unknown setting bogus; it takes min_resource, "
                                         r"reduction_factor, min_peers, max_resource$"):
        get_pruner({"name": "asha", "bogus": 1})
    with pytest.raises(UsageError, match=r"^pruner 'median': unknown settings a, b; it takes n_startup_trials"):
        get_pruner({"name": "median", "b": 1, "a": 2})
    assert main(["search", "--pruner", '{"name": "asha", "bogus": 27}', "--out", str(tmp_path / "s")]) == 2
    line = err_line(capsys)
    assert line.endswith("--pruner: pruner 'asha': unknown setting bogus; it takes min_resource, reduction_factor, "
                         "min_peers, max_resource") and "__init__" not in line


@pytest.mark.parametrize("command, options", [
    (["bench"], ["--seeds N", "--trials N", "--workers N", "--out PATH"]),
    (["search"], ["--trials N", "--timeout SECONDS", "--workers N", "--storage URL", "--out PATH", "--seed N"]),
    (["predictors", "eval"], ["--seeds N", "--out PATH"]),
    (["surrogate", "fit"], ["--seed N", "--out PATH"]),
    (["surrogate", "eval"], ["--seeds N", "--trials N", "--out PATH"]),
])
def test_help_metavars_are_the_option_table_s(capsys, monkeypatch, command, options):
    """Would fail (item 10): --trials TRIALS, --out OUT, --seeds SEEDS, --workers WORKERS."""
    monkeypatch.setenv("COLUMNS", "1000")
    assert main([*command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in options:
        assert option in text
    assert not re.search(r"--(trials|seeds|seed|workers|storage|out|timeout) [A-Z_]{2,}\b(?<!URL)(?<!PATH)"
                         r"(?<!SECONDS)", text)


def test_tabular_mlp_class_docstring_counts_hidden_layers_as_the_module_docstring():
    """Would fail (item 12): the class docstring read as 0-2 hidden layers in all."""
    example = load_example("tabular_mlp")
    assert "1-3 in all" in example.__doc__ and "1-3 hidden layers in all" in example.TabularMLP.__doc__
