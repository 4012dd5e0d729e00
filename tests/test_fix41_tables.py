"""Known problems of tables and surrogates fixed on 2026-12-06: an objective's direction from its name, a run named
after its objective's data set, a mean column beside blank seed cells, manifest.json read once, a surrogate's
default name following its data set."""

import json

import numpy as np
import pandas as pd
import pytest

from nasforge.cli import main
from nasforge.exceptions import UsageError


def _loss_table(tmp_path, blank_seeds: bool = False):
    """A 9-architecture chain table as CSV: acc = the choices' positions summed, val_loss = 10 - acc; with
    ``blank_seeds``, acc_seed0/1 columns whose cells are blank on data row 3."""
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"]] * 2)
    lines = ["arch,acc,val_loss" + (",acc_seed0,acc_seed1" if blank_seeds else "")]
    for i, arch in enumerate(space.enumerate()):
        acc = float(sum("abc".index(c) for c in arch.genotype))
        seeds = ("" if not blank_seeds else ",," if i == 2 else f",{acc + 0.1},{acc - 0.1}")
        lines.append(f"{space.format(arch)},{acc},{10 - acc}{seeds}")
    path = tmp_path / "chain.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, space


def _bench(path, out, *extra):
    return main(["bench", "--table", str(path), "--space", "chain", "--strategies", "random", "--seeds", "1",
                 "--trials", "3", "--workers", "1", "--secondary", "", "--out", str(out), *extra])


@pytest.mark.parametrize(("metric", "given", "expected"), [
    ("val_loss", None, "minimize"), ("Top1_Error", None, "minimize"), ("val_acc", None, "maximize"),
    ("params", None, "maximize"), ("val_loss", "max", "maximize"), ("val_acc", "MIN", "minimize"),
    ("lossless_acc", None, "maximize"), ("cifar10-error", None, "minimize"), ("train.loss", None, "minimize")])
def test_the_direction_follows_the_metric_name_unless_given(metric, given, expected):
    from nasforge.benchmarks.tabular import objective_direction

    assert objective_direction(metric, given) == expected


def test_bench_minimizes_a_loss_objective_and_says_so(tmp_path, capsys):
    """Would fail: --objective val_loss was maximized silently (regret against the worst architecture)."""
    path, _ = _loss_table(tmp_path)
    assert _bench(path, tmp_path / "auto", "--objective", "val_loss") == 0
    out = capsys.readouterr().out
    notes = [line for line in out.splitlines() if line.startswith("note: --objective val_loss")]
    assert len(notes) == 1 and "minimized (its name has the part 'loss')" in notes[0] and "--direction maximize" in notes[0]
    saved = json.loads((tmp_path / "auto" / "bench.json").read_text())
    assert saved["direction"] == "minimize" and saved["optimum"] == 6.0
    assert _bench(path, tmp_path / "given", "--objective", "val_loss", "--direction", "max") == 0  # explicit wins
    assert "note:" not in capsys.readouterr().out
    assert json.loads((tmp_path / "given" / "bench.json").read_text())["direction"] == "maximize"
    assert _bench(path, tmp_path / "acc", "--objective", "acc") == 0
    assert "note:" not in capsys.readouterr().out
    assert json.loads((tmp_path / "acc" / "bench.json").read_text())["direction"] == "maximize"


def test_bench_simulated_refuses_a_loss_saying_why(tmp_path, capsys):
    path, _ = _loss_table(tmp_path)
    assert main(["bench", "--table", str(path), "--space", "chain", "--strategies", "random", "--seeds", "1",
                 "--trials", "3", "--workers-simulated", "2", "--objective", "val_loss",
                 "--out", str(tmp_path / "s")]) == 2
    last = capsys.readouterr().err.splitlines()[-1]  # after the note on the inferred chain space
    assert last.startswith("nasforge bench: error: --workers-simulated")
    assert "val_loss is minimized (from its name)" in last


def test_compare_and_fidelity_report_take_the_direction_from_the_name(tmp_path):
    """The Python API the CLI calls follows the same rule (one place: objective_direction)."""
    from nasforge.analysis.harness import compare
    from nasforge.analysis.surrogate_fidelity import fidelity_report
    from nasforge.benchmarks import SurrogateBenchmark, TabularBenchmark

    path, space = _loss_table(tmp_path)
    table = TabularBenchmark(path, space)
    report = compare(table, ["random"], seeds=1, budget=3, objective="val_loss", secondary=None, workers=1)
    assert (report.direction, report.optimum) == ("minimize", 6.0)
    assert compare(table, ["random"], seeds=1, budget=3, objective="val_loss", direction="max", secondary=None,
                   workers=1).optimum == 10.0
    surrogate = SurrogateBenchmark.fit(space, table, metrics="val_loss", model="knn", holdout=0.0)
    assert fidelity_report(surrogate, table, runs=1, budget=3)["regret"]["direction"] == "minimize"


def test_surrogate_eval_minimizes_a_loss_metric_and_says_so(tmp_path, capsys):
    """Would fail: surrogate eval maximized --metric val_loss unless --direction minimize was given."""
    path, _ = _loss_table(tmp_path)
    assert main(["surrogate", "fit", "--table", str(path), "--space", "chain", "--metrics", "val_loss", "--model",
                 "knn", "--holdout", "0", "--out", str(tmp_path / "sur")]) == 0
    capsys.readouterr()
    argv = ["surrogate", "eval", str(tmp_path / "sur"), "--table", str(path), "--seeds", "1", "--trials", "3"]
    assert main([*argv, "--out", str(tmp_path / "e1")]) == 0
    assert "note: --metric val_loss is minimized (its name has the part 'loss')" in capsys.readouterr().out
    assert json.loads((tmp_path / "e1" / "fidelity.json").read_text())["regret"]["direction"] == "minimize"
    assert main([*argv, "--direction", "maximize", "--out", str(tmp_path / "e2")]) == 0
    assert "note:" not in capsys.readouterr().out
    assert json.loads((tmp_path / "e2" / "fidelity.json").read_text())["regret"]["direction"] == "maximize"


def test_bench_names_the_run_after_the_objectives_data_set(nb201_table, tmp_path, capsys):
    """Would fail: --objective cifar100-val ran as nb201-nb201_hp12-cifar10 (name, bench.json)."""
    from nasforge.benchmarks import find_data_file

    argv = ["bench", "--objective", "cifar100-val", "--strategies", "random", "--seeds", "1", "--trials", "3",
            "--workers", "1"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert capsys.readouterr().out.startswith("nb201-nb201_hp12-cifar100: ")
    saved = json.loads((tmp_path / "a" / "bench.json").read_text())
    assert (saved["benchmark"], saved["secondary"]) == ("nb201-nb201_hp12-cifar100", "cifar100-test")
    table = str(find_data_file("nb201_hp12.csv.gz"))
    assert main([*argv, "--table", table, "--out", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().out.startswith("nb201_hp12.csv.gz (cifar100): ")
    assert main([*argv, "--dataset", "cifar100", "--out", str(tmp_path / "c")]) == 0  # the same data set: fine
    capsys.readouterr()
    assert main([*argv, "--dataset", "imagenet", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--dataset imagenet: --objective cifar100-val is a cifar100 column" in err
    assert not (tmp_path / "d").exists()


def test_a_mean_column_serves_a_row_with_blank_seed_cells(tmp_path):
    """Would fail: a row with acc but blank acc_seed0/1 was refused ('no value in any of the seed columns')."""
    from nasforge.benchmarks import TabularBenchmark

    path, space = _loss_table(tmp_path, blank_seeds=True)
    table = TabularBenchmark(path, space)
    arch = table.archs[2]
    assert table.value(arch, "acc") == 2.0 and np.isnan(table.seed_values("acc")[2]).all()
    assert np.isnan(table.query(arch)["acc_std"])
    assert table.query(arch, rng=np.random.default_rng(0))["acc"] == 2.0  # no seed to draw: the mean
    assert table.query(table.archs[4], rng=np.random.default_rng(0))["acc"] in (2.1, 1.9)
    frame = pd.read_csv(path)
    frame.loc[2, "acc"] = np.nan  # neither a mean nor a seed value: still refused, naming the row
    with pytest.raises(UsageError, match=r"column\(s\) \['acc'\] hold NaN/inf .* in data row 3 "):
        TabularBenchmark(frame, space)
    frame = pd.read_csv(path).drop(columns="acc")  # no mean column: the seeds must hold a value
    with pytest.raises(UsageError, match=r"data row 3 .* has no value in any of the seed columns"):
        TabularBenchmark(frame, space)


def test_bench_runs_on_a_table_with_blank_seed_cells_beside_the_mean(tmp_path, capsys):
    path, _ = _loss_table(tmp_path, blank_seeds=True)
    assert _bench(path, tmp_path / "b", "--objective", "acc") == 0


def test_bench_reads_a_manifest_json_table_once(tmp_path, monkeypatch, capsys):
    """Would fail: a JSON table named manifest.json was parsed by json.loads (is it a surrogate's manifest?) and
    then again as the table."""
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"]] * 2)
    records = [{"arch": space.format(a), "acc": float(i)} for i, a in enumerate(space.enumerate())]
    (tmp_path / "jt").mkdir()
    path = tmp_path / "jt" / "manifest.json"
    path.write_text(json.dumps(records))
    text, parsed = path.read_text(), []
    loads = json.loads
    monkeypatch.setattr(json, "loads", lambda s, *a, **k: (parsed.append(s == text), loads(s, *a, **k))[1])
    assert _bench(path, tmp_path / "b", "--objective", "acc") == 0
    assert not any(parsed)


def test_a_surrogate_fitted_from_python_is_named_after_its_data_set(nb201_table):
    """Would fail: fitted on load_nb201(dataset="cifar100") without dataset=, it was named nb201-knn-v1.0."""
    from nasforge.benchmarks import SurrogateBenchmark, find_data_file, load_nb201

    frame = pd.read_csv(find_data_file("nb201_hp12.csv.gz")).head(40)
    cifar100 = load_nb201(frame, dataset="cifar100")
    fit = SurrogateBenchmark.fit
    assert fit(cifar100.space, cifar100, model="knn", holdout=0.0).name == "nb201-cifar100-knn-v1.0"
    assert fit(cifar100.space, cifar100, metrics="imagenet-val", model="knn", holdout=0.0).name == (
        "nb201-imagenet-knn-v1.0")
    cifar10 = load_nb201(frame)
    assert fit(cifar10.space, cifar10, model="knn", holdout=0.0).name == "nb201-knn-v1.0"
    with pytest.raises(UsageError, match=r"dataset 'imagenet': the metrics are columns of another data set "
                                         r"\(val_acc is cifar100-val\); name cifar100, or leave dataset out"):
        fit(cifar100.space, cifar100, model="knn", holdout=0.0, dataset="imagenet")
    mixed = dict(metrics=["val_acc", "cifar10-val"], model="knn", holdout=0.0)  # two data sets: dataset= picks one
    assert fit(cifar100.space, cifar100, dataset="cifar100", **mixed).name == "nb201-cifar100-knn-v1.0"
    assert fit(cifar100.space, cifar100, dataset="cifar10", **mixed).name == "nb201-knn-v1.0"


def test_a_test_column_objective_has_no_default_secondary(nb201_table, tmp_path, capsys):
    """Would fail: with --dataset following the objective, test_acc named the objective itself, so the default
    secondary column repeated it."""
    from nasforge.analysis.harness import default_secondaries

    assert default_secondaries("cifar100-test") == [] and default_secondaries("test_acc") == []
    assert default_secondaries("cifar100-val") == ["cifar100-test", "test_acc"]
    assert main(["bench", "--objective", "cifar100-test", "--strategies", "random", "--seeds", "1", "--trials", "3",
                 "--workers", "1", "--out", str(tmp_path / "a")]) == 0
    capsys.readouterr()
    assert json.loads((tmp_path / "a" / "bench.json").read_text())["secondary"] in (None, "")
