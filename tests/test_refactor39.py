"""``surrogate eval`` reads its table and hashes its data once per run; a run folder's database is opened once."""

from __future__ import annotations

import json

import numpy as np
import pytest
from predictor_data import sample

from nasforge.cli import main


@pytest.fixture(scope="module")
def default_table(tmp_path_factory):
    """A small stand-in for the default NB201 file (official columns of the three data sets), in its own data folder."""
    import pandas as pd

    space, archs, y = sample(60)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"arch": [space.format(a) for a in archs]})
    for k, dataset in enumerate(("cifar10", "cifar100", "imagenet")):
        for seed in range(3):  # per-seed columns: the seeds check of eval runs on the table
            frame[f"{dataset}-val_seed{seed}"] = y + k + rng.standard_normal(len(y))
        frame[f"{dataset}-test"] = y + k + rng.standard_normal(len(y))
    folder = tmp_path_factory.mktemp("data")
    frame.to_csv(folder / "nb201_hp12.csv.gz", index=False)
    return folder


@pytest.fixture
def counted(monkeypatch, default_table):
    """Counts of NB201 table loads and of training-data hashes during a command."""
    import nasforge.benchmarks as benchmarks
    import nasforge.benchmarks.surrogate as surrogate_module

    monkeypatch.setenv("NASFORGE_DATA", str(default_table))
    counts = {"loads": 0, "hashes": 0}
    load, digest = benchmarks.load_nb201, surrogate_module.data_hash

    def counting_load(*args, **kwargs):
        counts["loads"] += 1
        return load(*args, **kwargs)

    def counting_hash(*args, **kwargs):
        counts["hashes"] += 1
        return digest(*args, **kwargs)

    monkeypatch.setattr(benchmarks, "load_nb201", counting_load)
    monkeypatch.setattr(surrogate_module, "data_hash", counting_hash)
    return counts


def _fit(tmp_path, dataset: str, *extra: str) -> str:
    out = str(tmp_path / f"s-{dataset}")
    assert main(["surrogate", "fit", "--model", "knn", "--dataset", dataset, "--out", out, *extra]) == 0
    return out


@pytest.mark.parametrize("dataset", ["cifar10", "imagenet"])
def test_eval_reads_the_default_table_once_and_hashes_it_once(tmp_path, capsys, counted, dataset):
    """Would fail before: the data set was found with one read and hash, then the table was read and hashed again
    (twice with --other-table)."""
    artifact = _fit(tmp_path, dataset)
    counted.update(loads=0, hashes=0)
    assert main(["surrogate", "eval", artifact, "--seeds", "1", "--trials", "5", "--out", str(tmp_path / "e")]) == 0
    assert counted == {"loads": 1, "hashes": 1}
    assert json.loads((tmp_path / "e" / "fidelity.json").read_text())["table"].endswith(dataset)


def test_eval_with_a_dataset_given_reads_and_hashes_once(tmp_path, capsys, counted):
    artifact = _fit(tmp_path, "cifar10")
    counted.update(loads=0, hashes=0)
    assert main(["surrogate", "eval", artifact, "--dataset", "cifar100", "--other-table", "--seeds", "1",
                 "--trials", "5", "--out", str(tmp_path / "e")]) == 0
    assert counted == {"loads": 1, "hashes": 1}


def test_eval_against_another_table_reads_each_data_set_once(tmp_path, capsys, counted):
    """No data set of the default file holds the fitted data: each is read and hashed once, and the default data
    set's table is the one scored (not read again)."""
    own = tmp_path / "own.csv"
    import pandas as pd

    space, archs, y = sample(50, 7)
    pd.DataFrame({"arch": [space.format(a) for a in archs], "val_acc_seed0": y, "val_acc_seed1": y + 1}).to_csv(
        own, index=False)
    artifact = str(tmp_path / "own")
    assert main(["surrogate", "fit", "--table", str(own), "--model", "knn", "--out", artifact]) == 0
    counted.update(loads=0, hashes=0)
    argv = ["surrogate", "eval", artifact, "--seeds", "1", "--trials", "5", "--out", str(tmp_path / "e")]
    assert main(argv) == 2
    assert "was not fitted on the data of table 'nb201-nb201_hp12-cifar10'" in capsys.readouterr().err
    assert counted == {"loads": 3, "hashes": 3}
    counted.update(loads=0, hashes=0)
    assert main([*argv, "--other-table"]) == 0
    assert counted == {"loads": 3, "hashes": 3}


def test_eval_still_refuses_other_table_on_the_fitted_data(tmp_path, capsys, counted):
    artifact = _fit(tmp_path, "cifar100")
    assert main(["surrogate", "eval", artifact, "--other-table", "--seeds", "1", "--trials", "5",
                 "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert "--other-table: table 'nb201-nb201_hp12-cifar100' is the one surrogate" in err


@pytest.fixture()
def run(tmp_path, monkeypatch):
    """A folder like the --out of 'nasforge search': its study.db holds one study, 'job'."""
    from nasforge import Result, Study
    from nasforge.spaces import get_space

    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").mkdir()
    study = Study(get_space("chain", layers=[["a", "b"], ["c", "d"]]), "random", objectives="acc", seed=0, name="job",
                  storage="sqlite:///run/study.db")
    for value in (1.0, 3.0):
        study.tell(study.ask(), Result(metrics={"acc": value}))
    study.storage.close()
    return tmp_path / "run"


@pytest.fixture()
def opens(monkeypatch):
    """The storage URLs opened during a command (with readonly), in order."""
    import nasforge.experiment.storage as storage_module

    opened: list[tuple[str, bool]] = []
    real = storage_module.open_storage

    def counting_open(url, readonly=False, **kwargs):
        opened.append((str(url), readonly))
        return real(url, readonly=readonly, **kwargs)

    monkeypatch.setattr(storage_module, "open_storage", counting_open)
    return opened


@pytest.mark.parametrize("argv, code, readonly", [
    (["status", "run"], 0, True), (["trials", "run"], 0, True), (["resume", "run"], 2, False),
    (["delete", "run"], 2, False), (["delete", "run", "--yes"], 0, False),
])
def test_a_run_folder_database_is_opened_once(run, capsys, opens, argv, code, readonly):
    """Would fail before: the folder's study.db was opened read-only to find its study, closed, opened again."""
    assert main(argv) == code
    assert opens == [(f"sqlite:///{run / 'study.db'}", readonly)]
    if code:
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].endswith(
            "study 'job' has no recorded optimize run to resume" if argv[0] == "resume"
            else "this deletes study 'job' and all its trials; pass --yes to confirm")


@pytest.mark.parametrize("command", [["status"], ["trials"], ["resume"], ["delete", "--yes"]])
def test_a_run_folder_with_two_studies_is_still_refused_naming_them(run, capsys, opens, command):
    from nasforge import Study
    from nasforge.spaces import get_space

    Study(get_space("chain", layers=[["a", "b"]]), "random", objectives="acc", name="other",
          storage="sqlite:///run/study.db").storage.close()
    opens.clear()
    assert main([command[0], "run", *command[1:]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    url = f"sqlite:///{run / 'study.db'}"
    assert len(err) == 1 and err[0].endswith(f"{url} holds 2 studies ['job', 'other']; name one: nasforge "
                                             f"{command[0]} STUDY --storage {url}")
    assert len(opens) == 1
    assert main(["status", "job", "--storage", url]) == 0  # the storage was closed and nothing changed


@pytest.mark.parametrize("command", [["resume"], ["delete", "--yes"]])
def test_a_run_folder_that_cannot_be_written_still_says_it_holds_two_studies(run, capsys, monkeypatch, command):
    """resume and delete open the database for writing; where that fails (a folder the user may only read), the
    folder's study count is still the message, as before the single open."""
    import nasforge.experiment.storage as storage_module
    from nasforge import Study
    from nasforge.exceptions import StorageError
    from nasforge.spaces import get_space

    Study(get_space("chain", layers=[["a", "b"]]), "random", objectives="acc", name="other",
          storage="sqlite:///run/study.db").storage.close()
    real = storage_module.open_storage

    def read_only_folder(url, readonly=False, **kwargs):
        if not readonly:
            raise StorageError(f"cannot open storage {url}: attempt to write a readonly database")
        return real(url, readonly=True, **kwargs)

    monkeypatch.setattr(storage_module, "open_storage", read_only_folder)
    assert main([command[0], "run", *command[1:]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds 2 studies ['job', 'other']; name one" in err[0]
