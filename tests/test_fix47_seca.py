"""``--overwrite`` of bench, predictors eval, surrogate eval and oneshot train replaces only the command's own
earlier outputs: a user's file of an output's name, or a symbolic link there, is refused even with it."""

from __future__ import annotations

import json

import pytest
from predictor_data import seed_table

from nasforge.analysis.harness import compare
from nasforge.benchmarks import TabularBenchmark
from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.spaces import ChainSpace


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _one_line(err):
    assert err.count("\n") == 1, err
    return err.strip()


def _bench(budget=4):
    space = ChainSpace([["a", "b", "c"]] * 2)
    table = TabularBenchmark([{"arch": space.format(a), "acc": float(sum("abc".index(c) for c in a.genotype))}
                              for a in space.enumerate()], space)
    return compare(table, ["random"], seeds=1, budget=budget, objective="acc", secondary=None, workers=1)


def test_bench_never_replaces_nor_deletes_a_users_file_of_an_outputs_name(tmp_path):
    """Would fail: with overwrite, the user's simulated.json and simulated_regret.png were deleted, bench.json
    replaced; without it, the user's file was called an earlier bench run."""
    (tmp_path / "simulated.json").write_text('{"my notes": 1}')
    (tmp_path / "simulated_regret.png").write_text("mine")
    before = _files(tmp_path)
    for overwrite in (True, False):
        with pytest.raises(UsageError, match=r"simulated.json' exists and is not a file written by nasforge bench; "
                                             "not overwriting it") as caught:
            _bench().save(tmp_path, overwrite=overwrite)
        assert "earlier" not in str(caught.value)
        assert _files(tmp_path) == before


def test_bench_overwrite_still_replaces_its_own_earlier_outputs_also_of_an_earlier_version(tmp_path):
    """The files of a run before this check (bench.json's first key benchmark, the CSV header, matplotlib's PNG
    mark) are its own: --overwrite replaces them, and removes the simulated ones of an earlier simulated run."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    png = io.BytesIO()
    plt.figure().savefig(png, format="png")
    plt.close("all")
    (tmp_path / "bench.json").write_text(json.dumps({"benchmark": "old", "objective": "acc", "summary": []},
                                                    indent=1))
    (tmp_path / "bench_curves.csv").write_text("strategy,evaluations,regret_mean\nrandom,1,0.5\n")
    (tmp_path / "simulated.json").write_text(json.dumps({"benchmark": "old", "n_workers": 4}))
    (tmp_path / "simulated_regret.png").write_bytes(png.getvalue())
    with pytest.raises(UsageError, match=r"already holds an earlier bench run \(bench.json, bench_curves.csv, "
                                         r"simulated.json, simulated_regret.png\)"):
        _bench().save(tmp_path)
    _bench(budget=5).save(tmp_path, overwrite=True)
    assert json.loads((tmp_path / "bench.json").read_text())["budget"] == 5
    assert sorted(_files(tmp_path)) == ["bench.json", "bench_curves.csv", "bench_regret.png"]


def test_bench_refuses_to_write_through_a_symbolic_link(tmp_path):
    """Would fail: bench --overwrite replaced the file a link in --out pointed to, outside it."""
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("my,data\n")
    out = tmp_path / "out"
    _bench().save(out)
    (out / "bench_curves.csv").unlink()
    (out / "bench_curves.csv").symlink_to(outside)
    with pytest.raises(UsageError, match=r"bench_curves.csv' is a symbolic link .*not writing through it"):
        _bench().save(out, overwrite=True)
    assert outside.read_text() == "my,data\n" and (out / "bench_curves.csv").is_symlink()


def _eval_argv(tmp_path, out, *extra):
    frame = seed_table(120, seeds=1).rename(columns={"val_acc_seed0": "cifar10-val"})
    frame.to_csv(tmp_path / "t.csv", index=False)
    return ["predictors", "eval", "--table", str(tmp_path / "t.csv"), "--predictors", "knn", "--train-sizes", "2",
            "--seeds", "1", "--test-size", "50", "--out", str(out), *extra]


def test_predictors_eval_overwrite_refuses_a_users_file_and_a_link(tmp_path, capsys):
    """Would fail: predictors eval --overwrite replaced the user's predictors.json, and the file a symbolic
    predictors.png pointed to."""
    out = tmp_path / "pe"
    out.mkdir()
    (out / "predictors.json").write_text('{"my": "thesis numbers"}')
    assert main(_eval_argv(tmp_path, out, "--overwrite")) == 2
    assert _one_line(capsys.readouterr().err).endswith(
        f"--out {str(out / 'predictors.json')!r} exists and is not a file written by nasforge predictors eval; not "
        "overwriting it (choose another path)")
    assert _files(out) == {"predictors.json": b'{"my": "thesis numbers"}'}
    (out / "predictors.json").unlink()
    victim = tmp_path / "victim.png"
    victim.write_text("my precious image")
    (out / "predictors.png").symlink_to(victim)
    assert main(_eval_argv(tmp_path, out, "--overwrite")) == 2
    assert "predictors.png' is a symbolic link" in _one_line(capsys.readouterr().err)
    assert victim.read_text() == "my precious image"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    table = tmp_path_factory.mktemp("t") / "t.csv"
    seed_table(80, seeds=1).rename(columns={"val_acc_seed0": "val_acc"}).to_csv(table, index=False)
    folder = tmp_path_factory.mktemp("a") / "s"
    assert main(["surrogate", "fit", "--table", str(table), "--model", "knn", "--out", str(folder)]) == 0
    return folder, table


@pytest.mark.parametrize("link", [False, True])
def test_surrogate_eval_overwrite_refuses_a_users_fidelity_json(artifact, tmp_path, capsys, link):
    """Would fail: surrogate eval --overwrite replaced the user's fidelity.json, or the file a link pointed to."""
    folder, table = artifact
    out = tmp_path / "se"
    out.mkdir()
    mine = tmp_path / "mine.json" if link else out / "fidelity.json"
    mine.write_text('{"my": "notes"}')
    if link:
        (out / "fidelity.json").symlink_to(mine)
    assert main(["surrogate", "eval", str(folder), "--table", str(table), "--seeds", "1", "--trials", "5",
                 "--out", str(out), "--overwrite"]) == 2
    err = _one_line(capsys.readouterr().err)
    assert ("is a symbolic link" if link else "exists and is not a file written by nasforge surrogate eval") in err
    assert mine.read_text() == '{"my": "notes"}'


def _save(folder, overwrite=False):
    torch = pytest.importorskip("torch")
    from nasforge.oneshot import build_supernet
    from nasforge.oneshot.checkpoint import save_supernet

    torch.manual_seed(0)
    return save_supernet(build_supernet("nb201", 4, 1, C=2, N=1), folder, overwrite=overwrite)


def test_save_supernet_overwrite_refuses_a_users_supernet_file_and_a_link(tmp_path):
    """Would fail: save_supernet(overwrite=True) (and oneshot train --overwrite) replaced the user's
    supernet.json, a torch file of the user's named supernet.pt, and the file a symbolic supernet.pt pointed
    to."""
    torch = pytest.importorskip("torch")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "supernet.json").write_text('{"my": "notes"}')
    with pytest.raises(UsageError, match=r"supernet.json' exists and is not a file written by nasforge \(oneshot "
                                         r"train, save_supernet\)"):
        _save(notes, overwrite=True)
    assert _files(notes) == {"supernet.json": b'{"my": "notes"}'}
    own = tmp_path / "own"  # a torch file that no supernet.json describes: a checkpoint of the user's
    own.mkdir()
    torch.save({"w": torch.zeros(2)}, own / "supernet.pt")
    before = _files(own)
    with pytest.raises(UsageError, match="supernet.pt' exists and is not a file written by nasforge"):
        _save(own, overwrite=True)
    assert _files(own) == before
    linked = tmp_path / "linked"
    _save(linked)
    outside = tmp_path / "ckpt.pt"
    (linked / "supernet.pt").rename(outside)
    (linked / "supernet.pt").symlink_to(outside)
    kept = outside.read_bytes()
    with pytest.raises(UsageError, match="supernet.pt' is a symbolic link"):
        _save(linked, overwrite=True)
    assert outside.read_bytes() == kept


def test_save_supernet_overwrite_replaces_an_earlier_save(tmp_path):
    from nasforge.oneshot.checkpoint import load_supernet

    _save(tmp_path / "ck")
    with pytest.raises(UsageError, match="already holds a saved supernet"):
        _save(tmp_path / "ck")
    _save(tmp_path / "ck", overwrite=True)
    assert load_supernet(tmp_path / "ck")[0].space.name == "nb201"
