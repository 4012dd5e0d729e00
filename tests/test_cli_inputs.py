"""Bad tables and damaged surrogates through the CLI: one line naming the file, field or value, and no
work done before the check (issue 9, items 10, 11, 12, 16)."""

import json
import pickle

import numpy as np
import pytest

from nasforge.cli import main
from nasforge.spaces import NASBench201Space
from predictor_data import rehash_surrogate, seed_table


def err_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(scope="module")
def own_nb201_table(tmp_path_factory):
    """Every NAS-Bench-201 cell with a metric named 'acc' (not the official column names)."""
    space = NASBench201Space()
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("t") / "my.csv"
    lines = ["arch,acc"] + [f"{space.format(a)},{v:.3f}" for a, v in zip(space.enumerate(), rng.uniform(10, 90, 15625))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_readme_example_on_a_table_of_ones_own(own_nb201_table, tmp_path, capsys):
    """`nasforge bench --table my.csv --space nb201 --objective acc` (README)."""
    assert main(["bench", "--table", str(own_nb201_table), "--space", "nb201", "--objective", "acc",
                 "--strategies", "random", "--seeds", "1", "--trials", "10", "--workers", "1",
                 "--out", str(tmp_path / "out")]) == 0
    assert json.loads((tmp_path / "out" / "bench.json").read_text())["objective"] == "acc"
    assert main(["bench", "--table", str(own_nb201_table), "--space", "nb201", "--strategies", "random",
                 "--out", str(tmp_path / "o2")]) == 2
    assert ("--objective: metric 'val_acc' is not in table 'my.csv' (did you mean 'acc'?); available: ['acc']"
            in err_line(capsys))
    assert main(["bench", "--arch-column", "nope", "--strategies", "random", "--out", str(tmp_path / "o3")]) == 2
    assert "--arch-column names a column of --table: pass --table too" in err_line(capsys)  # was ignored


@pytest.mark.parametrize("name, content, message", [
    ("garbage.csv.gz", b"arch,acc\nnot gzip at all\n", "garbage.csv.gz ends in .gz but is not a gzip file"),
    ("empty.csv", b"", "empty.csv is an empty file"),
    ("binary.csv", bytes(range(256)) * 8, "binary.csv is not UTF-8 text"),
    ("header.csv", b"arch,acc\n", "header.csv has a header but no rows"),
    ("text.csv", b"arch,acc\nx|y,high\ny|x,low\n", "no numeric metric column besides 'arch'; non-numeric columns: acc"),
    ("nan.csv", b"arch,acc\na|b,1\nb|a,nan\na|a,inf\nb|b,2\n", "column(s) ['acc'] hold NaN/inf"),
])
def test_bad_tables_are_one_line_before_any_work(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "out"
    assert main(["bench", "--table", str(path), "--space", "chain", "--objective", "acc", "--out", str(out)]) == 2
    assert message in err_line(capsys)
    assert not out.exists()  # nothing ran, nothing written


def test_predictors_and_surrogate_fit_read_chain_tables(tmp_path, capsys):
    from test_cli_options import chain_table

    table = tmp_path / "chain.csv"
    chain_table(table, layers=[["conv3", "conv5", "skip"]] * 4)
    assert main(["predictors", "eval", "--table", str(table), "--space", "chain", "--metric", "acc", "--predictors",
                 "knn", "--train-sizes", "20", "--test-size", "30", "--seeds", "1", "--format", "csv",
                 "--out", str(tmp_path / "p")]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("predictor,train_size,kendall_tau")
    assert main(["surrogate", "fit", "--table", str(table), "--space", "chain", "--metrics", "acc", "--model", "knn",
                 "--out", str(tmp_path / "s")]) == 0
    capsys.readouterr()
    assert main(["surrogate", "eval", str(tmp_path / "s"), "--table", str(table), "--seeds", "1", "--trials", "5",
                 "--out", str(tmp_path / "e")]) == 0  # the artifact knows its layers: no --space needed
    capsys.readouterr()
    for space in ([], ["--space", "chain"]):  # but only NAS-Bench-201 has a default table
        assert main(["surrogate", "eval", str(tmp_path / "s"), *space, "--out", str(tmp_path / "e2")]) == 2
        assert err_line(capsys) == (f"nasforge surrogate eval: error: surrogate '{tmp_path / 's'}' is on the chain "
                                    "space: pass --table <a plain table of that space>")
    assert main(["surrogate", "info", str(tmp_path / "s"), "--format", "json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["space_config"]["layers"] == [["conv3", "conv5", "skip"]] * 4
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    assert main(["surrogate", "fit", "--table", str(table), "--space", "chain", "--metrics", "acc", "--model", "knn",
                 "--out", str(busy)]) == 2  # refused before fitting, the folder untouched
    assert "--out: cannot save a surrogate into" in capsys.readouterr().err
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]


@pytest.fixture(scope="module")
def mlp_artifact(tmp_path_factory):
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("mlp")
    table = folder / "t.csv"
    seed_table(120, seeds=1).rename(columns={"val_acc_seed0": "val_acc"}).to_csv(table, index=False)
    assert main(["surrogate", "fit", "--table", str(table), "--model", "mlp", "--params",
                 json.dumps({"n_models": 1, "epochs": 2, "hidden": 8}), "--out", str(folder / "s")]) == 0
    return folder


def swap_and_rehash(artifact, metric, name, data):
    (artifact / metric / name).write_bytes(data)
    rehash_surrogate(artifact)


@pytest.mark.parametrize("swap", ["pickle", "torch.save", "wrong keys", "truncated"])
def test_surrogate_eval_with_swapped_weights(mlp_artifact, tmp_path, capsys, swap):
    import shutil

    import torch
    from safetensors.torch import save_file

    artifact = shutil.copytree(mlp_artifact / "s", tmp_path / "s")
    weights = artifact / "val_acc" / "weights.safetensors"
    if swap == "pickle":
        swap_and_rehash(artifact, "val_acc", weights.name, pickle.dumps({"w": [1.0]}))
    elif swap == "torch.save":
        torch.save({"0.net.0.weight": torch.zeros(2, 2)}, tmp_path / "w.pt")
        swap_and_rehash(artifact, "val_acc", weights.name, (tmp_path / "w.pt").read_bytes())
    elif swap == "wrong keys":
        save_file({"0.unexpected": torch.zeros(3)}, str(tmp_path / "w.safetensors"))
        swap_and_rehash(artifact, "val_acc", weights.name, (tmp_path / "w.safetensors").read_bytes())
    else:
        weights.write_bytes(weights.read_bytes()[:100])  # checksum left as it was
    table = tmp_path / "t.csv"
    seed_table(50, seeds=1).rename(columns={"val_acc_seed0": "val_acc"}).to_csv(table, index=False)
    assert main(["surrogate", "eval", str(artifact), "--table", str(table), "--out", str(tmp_path / "e")]) == 2
    line = err_line(capsys)
    assert "val_acc" in line and ("weights.safetensors does not match its SHA-256" in line if swap == "truncated"
                                  else "cannot load the mlp model saved in" in line)


OUTS = {"a file": ("taken", "is a file, not a folder"),
        "a path through a file": ("taken/sub", "taken is a file, not a folder"),
        "a name too long": ("a" * 300, "File name too long")}


@pytest.mark.parametrize("out", sorted(OUTS))
@pytest.mark.parametrize("verb", [["bench"], ["predictors", "eval", "--metric", "acc", "--predictors", "knn",
                                             "--train-sizes", "5", "--test-size", "5"],
                                  ["surrogate", "fit", "--metrics", "acc", "--model", "knn"]])
def test_out_that_is_a_file_is_named_before_any_work(tmp_path, capsys, verb, out):
    from test_cli_options import chain_table

    table = tmp_path / "chain.csv"
    chain_table(table)
    (tmp_path / "taken").write_text("mine")
    argv = [*verb, "--table", str(table), "--space", "chain", "--out", str(tmp_path / OUTS[out][0])]
    if verb == ["bench"]:
        argv += ["--objective", "acc", "--trials", "5", "--seeds", "1", "--strategies", "random"]
    assert main(argv) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the inferred-space notice
    assert "error: --out " in last and last.endswith(OUTS[out][1])
    assert (tmp_path / "taken").read_text() == "mine"


@pytest.mark.parametrize("out", sorted(OUTS))
@pytest.mark.parametrize("verb", [["search"], ["oneshot", "train"], ["oneshot", "study"]])
def test_out_of_the_training_commands_is_checked_first(tmp_path, capsys, verb, out):
    (tmp_path / "taken").write_text("mine")
    assert main([*verb, "--out", str(tmp_path / OUTS[out][0])]) == 2
    line = err_line(capsys)
    assert "error: --out " in line and line.endswith(OUTS[out][1])
