"""Review 44 fixes of the DARTS / NAS-Bench-101 paths: the supernet's own space when none is named, the error
order of --few-shot-split, option-less spaces, tables of another space, space-name hints, the pruned NB101 cell."""

from __future__ import annotations

import json
import re

import pytest

from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.spaces import get_space

DIGITS = {"data": {"data": "digits", "data_options": {}}}
NB101_TEXT = ("ops=input,conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,maxpool3x3,conv3x3-bn-relu,output;"
              "matrix=0000110/0010001/0001011/0000000/0000001/0000000/0000000")
"""A 7-node NB101 cell (the review's) that prunes to ``ops=input,maxpool3x3,output;matrix=010/001/000``."""


def _one_line_exit_2(argv: list[str], capsys, message: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    return err


# -- 1: search --evaluator supernet takes the supernet's space when no --space is given --------------------------
@pytest.fixture
def darts_supernet(tmp_path):
    pytest.importorskip("torch")
    from nasforge.oneshot import build_supernet
    from nasforge.oneshot.checkpoint import save_supernet

    save_supernet(build_supernet("darts", 10, 1, C=2, N=1), tmp_path / "ck", DIGITS)
    return tmp_path / "ck"


@pytest.mark.usefixtures("torch_one_thread")
def test_a_darts_supernet_is_searched_in_its_own_space_without_space(darts_supernet, tmp_path, capsys):
    """Would fail: --space defaulted to nb201 and the DARTS supernet was refused."""
    assert main(["search", "--evaluator", "supernet", "--supernet", str(darts_supernet), "--strategy", "random",
                 "--objectives", "val_acc", "--trials", "2", "--retrain", "0", "--workers", "1", "--no-progress",
                 "--out", str(tmp_path / "run")]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["space"] == "darts"
    assert all(row["arch"].startswith("Genotype(") for row in summary["front"])


@pytest.mark.usefixtures("torch_one_thread")
def test_a_space_given_that_is_not_the_supernets_is_still_refused(darts_supernet, tmp_path, capsys):
    _one_line_exit_2(["search", "--space", "nb201", "--evaluator", "supernet", "--supernet", str(darts_supernet),
                      "--trials", "2", "--retrain", "0", "--out", str(tmp_path / "run")], capsys,
                     "it is a supernet of space 'darts', which is not the search space 'nb201'")


def test_supernet_space_reads_the_record_and_names_what_it_cannot(tmp_path):
    from nasforge.pipelines.search import supernet_space

    assert supernet_space(tmp_path) is None  # no supernet.json: loading the supernet names the problem
    (tmp_path / "supernet.json").write_text(json.dumps({"space": "nb101", "space_config": {}}))
    assert supernet_space(tmp_path).name == "nb101"
    layers = [["conv3", "skip"], ["conv3", "conv5"]]
    (tmp_path / "supernet.json").write_text(json.dumps({"space": "chain", "space_config": {"layers": layers}}))
    assert [list(layer) for layer in supernet_space(tmp_path).layers] == layers
    (tmp_path / "supernet.json").write_text(json.dumps([1]))
    assert supernet_space(tmp_path) is None  # unreadable: loading the supernet names the problem
    for damaged, said in (({"space": "nosuch"}, "is damaged"), ({"space": "model_space", "space_config":
                                                                   {"module": "x.py:M"}}, "--space-module x.py:M")):
        (tmp_path / "supernet.json").write_text(json.dumps(damaged))
        with pytest.raises(UsageError, match=re.escape(said)):
            supernet_space(tmp_path)


# -- 3: --few-shot-split with darts/gdas: the method first -------------------------------------------------------
@pytest.mark.parametrize("method", ["darts", "gdas"])
@pytest.mark.parametrize("split", ["normal_edge_0_2", "normal_node3_op_a"])
def test_few_shot_split_with_a_relaxed_method_says_use_spos_first(method, split, tmp_path, capsys):
    """Would fail for normal_edge_0_2: 'unknown decision(s)' listing the SPOS names came first."""
    pytest.importorskip("torch")
    _one_line_exit_2(["oneshot", "train", "--space", "darts", "--data", "digits", "--method", method,
                      "--few-shot-split", split, "--epochs", "1", "--C", "2", "--out", str(tmp_path / "os")], capsys,
                     "--few-shot-split trains sub-supernets with SPOS: use --method spos")


# -- 4: --space-config on a space that takes no options ----------------------------------------------------------
@pytest.mark.parametrize("space", ["darts", "nb101"])
def test_space_config_on_an_option_less_space_says_it_takes_none(space, tmp_path, capsys):
    (tmp_path / "func.json").write_text('{"canonical_rule": "functional"}')
    err = _one_line_exit_2(["search", "--space", space, "--space-config", str(tmp_path / "func.json"), "--trials",
                            "1", "--retrain", "0", "--out", str(tmp_path / "run")], capsys,
                           f"space {space!r} takes no options (got ['canonical_rule']); remove --space-config")
    assert "accepted: []" not in err


def test_an_empty_space_config_on_an_option_less_space_is_accepted(tmp_path):
    from argparse import Namespace

    from nasforge.cli.options import load_space

    (tmp_path / "empty.json").write_text("{}")
    args = Namespace(space="darts", space_config=str(tmp_path / "empty.json"), space_module=None, space_given=True)
    assert load_space(args).name == "darts"


# -- 5: a table of another space read as NAS-Bench-201 -----------------------------------------------------------
def _table(tmp_path, arch: str):
    path = tmp_path / "t.csv"
    path.write_text(f'arch,val_acc,test_acc,params\n"{arch}",0.9,0.9,1000\n"{arch}",0.8,0.8,2000\n')
    return str(path)


def test_foreign_forms_name_their_space_in_each_parser():
    darts = get_space("darts")
    genotype = darts.format(darts.sample(0))
    nb201 = get_space("nb201").format(get_space("nb201").sample(0))
    cases = [("nb201", NB101_TEXT, "nb101"), ("nb201", genotype, "darts"), ("nb101", nb201, "nb201"),
             ("nb101", genotype, "darts"), ("darts", NB101_TEXT, "nb101"), ("darts", nb201, "nb201")]
    for space, text, named in cases:
        with pytest.raises(UsageError, match=rf"is it space '{named}'\?$"):  # no CLI option in Python
            get_space(space).parse(text)
    for space, text in (("nb101", NB101_TEXT), ("darts", genotype), ("nb201", nb201)):
        assert get_space(space).format(get_space(space).parse(text)) == text  # an own text: no hint, parsed


@pytest.mark.parametrize("command", [["bench", "--seeds", "1", "--trials", "2"], ["surrogate", "fit"],
                                     ["predictors", "eval"]])
def test_a_nb101_table_without_space_is_pointed_to_nb101(command, tmp_path, capsys):
    """Would fail: only "NAS-Bench-201 string must start and end with '|'", no hint."""
    out = [] if command[0] == "predictors" else ["--out", str(tmp_path / "out")]
    _one_line_exit_2([*command, "--table", _table(tmp_path, NB101_TEXT), *out], capsys,
                     "NAS-Bench-201 string must start and end with '|'")
    assert main([*command, "--table", _table(tmp_path, NB101_TEXT), *out]) == 2
    assert capsys.readouterr().err.rstrip().endswith(
        "it reads like a NAS-Bench-101 cell; is it space 'nb101' (--space nb101)?")


# -- 6: a did-you-mean for other names of a space ----------------------------------------------------------------
@pytest.mark.parametrize("name, hint", [("nb301", "'darts', the DARTS / NAS-Bench-301 space"),
                                        ("DARTS", "'darts', the DARTS / NAS-Bench-301 space"),
                                        ("NAS-Bench-101", "'nb101', the NAS-Bench-101 space"),
                                        ("nb2001", "'nb201'")])
def test_other_names_of_a_space_get_a_did_you_mean(name, hint, tmp_path, capsys):
    _one_line_exit_2(["search", "--space", name, "--trials", "1", "--retrain", "0", "--out", str(tmp_path / "r")],
                     capsys, f"--space: unknown search space {name!r} (did you mean {hint}?); choose from")
    with pytest.raises(UsageError, match=rf"unknown search space '{name}' \(did you mean {hint}\?\)"):
        get_space(name)


def test_an_unrelated_space_name_gets_no_guess(tmp_path, capsys):
    err = _one_line_exit_2(["search", "--space", "zzz", "--trials", "1", "--retrain", "0", "--out",
                            str(tmp_path / "r")], capsys, "--space: unknown search space 'zzz'; choose from")
    assert "did you mean" not in err


# -- 2: the NB101 network that was trained is shown beside the proposed genotype ---------------------------------
def test_trained_form_is_the_canonical_cell_for_nb101_and_the_arch_elsewhere():
    from nasforge.pipelines.search import _network_text

    nb101 = get_space("nb101")
    arch = nb101.parse(NB101_TEXT)
    assert nb101.trained_form(arch) == nb101.canonical(arch)
    assert _network_text(nb101, arch) == "ops=input,maxpool3x3,output;matrix=010/001/000"
    canonical = nb101.canonical(arch)
    assert _network_text(nb101, canonical) is None  # already the trained cell: nothing to add
    for name in ("darts", "nb201"):
        space = get_space(name)
        arch = space.sample(0)
        assert space.trained_form(arch) == arch and _network_text(space, arch) is None


def test_the_front_listing_prints_the_trained_cell_first(tmp_path):
    from types import SimpleNamespace

    from rich.console import Console

    from nasforge.pipelines.search import _print_front

    rows = [{"trial": 4, "arch": NB101_TEXT, "network": "ops=input,maxpool3x3,output;matrix=010/001/000",
             "test_acc": None, "retrain_trial": None, "model_dir": None},
            {"trial": 5, "arch": "ops=input,output;matrix=01/00", "network": None, "test_acc": None,
             "retrain_trial": None, "model_dir": None}]
    study = SimpleNamespace(name="s", strategy=None, objectives=["val_acc"],
                            space=SimpleNamespace(builds_only_reachable=True), trials=[
        SimpleNamespace(number=n, metrics={"val_acc": 0.5}) for n in (4, 5)])
    summary = {"constraints": [], "front_size": 2, "n_complete": 2, "n_retrained": 0, "retrain": 0,
               "best_test_acc": None, "search_seconds": 1.0, "retrain_seconds": None}
    console = Console(record=True, width=400)
    _print_front(console, study, rows, summary, tmp_path)
    said = console.export_text()
    assert (f"trial 4: ops=input,maxpool3x3,output;matrix=010/001/000 (as trained; searched as {NB101_TEXT})"
            in said)
    assert "trial 5: ops=input,output;matrix=01/00\n" in said


@pytest.mark.usefixtures("torch_one_thread")
def test_a_nb101_search_writes_the_trained_cell_beside_the_genotype(tmp_path, capsys):
    pytest.importorskip("torch")
    assert main(["search", "--space", "nb101", "--strategy", "random", "--objectives", "val_acc", "--trials", "3",
                 "--search-epochs", "1", "--retrain", "1", "--final-epochs", "1", "--workers", "1",
                 "--no-progress", "--out", str(tmp_path / "run")]) == 0
    space = get_space("nb101")
    front = json.loads((tmp_path / "run" / "front.json").read_text())
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert front and summary["front"] == front
    for row in front:
        arch = space.parse(row["arch"])
        trained = space.format(space.canonical(arch))
        assert row["network"] == (None if space.canonical(arch) == arch else trained)
        assert list(row)[:3] == ["trial", "arch", "network"]
    best = next(r for r in front if r["trial"] == summary["best_trial"])
    assert summary["best_arch"] == best["arch"] and summary["best_network"] == best["network"]
