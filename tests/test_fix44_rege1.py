"""Regression 44 (export): without --storage a run folder wins over a same-name study of ./nasforge.db, in the CLI
as in ``find_saved_network``; ./nasforge.db is read only when no run folder has the name, and a server run folder
beside a ./nasforge.db study is refused naming both."""

import json

import pytest
import torch

from nasforge import Study
from nasforge.cli import main
from nasforge.evaluators import Result
from nasforge.exceptions import UsageError
from nasforge.export import find_saved_network, save_model
from nasforge.models import create_model
from nasforge.spaces import ChainSpace

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SPACE = ChainSpace([["conv3", "skip"], ["conv3", "conv5"]], name="tiny")
DIGITS = {"input_shape": [1, 8, 8], "scale": 1 / 16, "mean": [0.0], "std": [1.0],
          "class_names": [str(i) for i in range(10)]}


def _study_with_network(storage: str, models, name: str = "exp") -> str:
    """Study ``name`` of ``storage`` whose retrain trial saved a network under ``models``; that network's folder."""
    study = Study(SPACE, "random", objectives="val_acc", seed=0, name=name, storage=storage)
    arch = SPACE.sample(0)
    torch.manual_seed(0)
    net = create_model("chain", arch, num_classes=10, in_channels=1, C=4)
    folder = save_model(models / "net-1", net, model_name="chain", arch=arch, model_kwargs={"C": 4}, num_classes=10,
                        in_channels=1, preprocessing=DIGITS)
    study.optimize(lambda a: Result({"val_acc": 50.0}), n_trials=1)
    study.enqueue(arch, user_attrs={"stage": "retrain", "source_trial": 0, "model_dir": str(folder)})
    study.optimize(lambda a: Result({"val_acc": 60.0, "test_acc": 55.0}), n_trials=0)
    study.storage.close()
    return str(folder)


def test_the_run_folder_wins_over_a_same_name_study_of_the_default_storage(tmp_path, capsys, monkeypatch):
    """Would fail: export exp read ./nasforge.db's study exp, not the run nasforge-runs/exp (07b79da)."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "nasforge-runs" / "exp"
    run.mkdir(parents=True)
    in_run = _study_with_network(f"sqlite:///{run / 'study.db'}", run / "models")
    _study_with_network("sqlite:///nasforge.db", tmp_path / "py")
    assert str(find_saved_network("exp")) == in_run
    assert main(["export", "exp", "--format", "safetensors", "--out", "m.safetensors"]) == 0
    assert capsys.readouterr().out.startswith(f"exported {in_run} as safetensors")
    assert main(["status", "exp"]) == 0 and "(sqlite:///nasforge.db)" in capsys.readouterr().out  # status: the db


def test_the_default_storage_is_read_only_when_no_run_folder_has_the_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    in_db = _study_with_network("sqlite:///nasforge.db", tmp_path / "py")
    assert str(find_saved_network("exp")) == in_db
    assert main(["export", "exp", "--format", "safetensors", "--out", "m.safetensors"]) == 0
    assert capsys.readouterr().out.startswith(f"exported {in_db} as safetensors")
    (tmp_path / "nasforge-runs" / "exp").mkdir(parents=True)  # a folder, not a run: neither is guessed
    with pytest.raises(UsageError, match=r"nasforge-runs/exp/ holds no study.db; .*\(sqlite:///nasforge.db holds a "
                                         r"study exp: --storage sqlite:///nasforge.db exports it\)"):
        find_saved_network("exp")
    assert main(["export", "exp", "--format", "safetensors", "--out", "n.safetensors"]) == 2
    assert "--storage sqlite:///nasforge.db exports it" in capsys.readouterr().err


def test_a_server_run_folder_beside_a_same_name_default_study_is_refused_naming_both(tmp_path, capsys, monkeypatch):
    """Would fail: export silently read ./nasforge.db's study, another study than the run's."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "nasforge-runs" / "exp"
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps(
        {"name": "exp", "resume_command": "nasforge resume exp --storage postgresql://u@h/db"}))
    _study_with_network("sqlite:///nasforge.db", tmp_path / "py")
    both = ("nasforge export exp --storage postgresql://u@h/db", "nasforge export exp --storage sqlite:///nasforge.db")
    with pytest.raises(UsageError) as caught:
        find_saved_network("exp")
    assert all(command in str(caught.value) for command in both)
    assert main(["export", "exp", "--format", "safetensors", "--out", "m.safetensors"]) == 2
    err = capsys.readouterr().err
    assert all(command in err for command in both) and not (tmp_path / "m.safetensors").exists()
