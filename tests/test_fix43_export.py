"""nasforge export, reviewed 2026-12-06: model.json's preprocessing checked, weights that do not fit name the tensor,
a run's networks listed without importing a model-space module or replaying the strategy, --out checked first, a
missing network named with the places looked at; ``Study.load(replay=False)`` for read-only inspection."""

import json
import shutil

import pytest
import torch

from nasforge import Study
from nasforge.cli import main
from nasforge.evaluators import Result
from nasforge.exceptions import UsageError
from nasforge.experiment.storage import open_storage
from nasforge.export import export_model, load_model, read_info, save_model
from nasforge.models import create_model
from nasforge.spaces import ChainSpace

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SPACE = ChainSpace([["conv3", "skip"], ["conv3", "conv5"]], name="tiny")
DIGITS = {"input_shape": [1, 8, 8], "scale": 1 / 16, "mean": [0.0], "std": [1.0],
          "class_names": [str(i) for i in range(10)]}
MODULE = """
import torch
from torch import nn
from nasforge.spaces.model_space import LayerChoice


class Net(nn.Module):
    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.conv = LayerChoice({"k3": nn.Conv2d(in_channels, 4, 3, padding=1),
                                 "k5": nn.Conv2d(in_channels, 4, 5, padding=2)}, label="conv")
        self.head = nn.Linear(4, num_classes)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean((2, 3)))
"""


def _saved(folder, **preprocessing):
    arch = SPACE.parse("conv3|conv5")
    torch.manual_seed(0)
    net = create_model("chain", arch, num_classes=10, in_channels=1, C=4)
    pre = {k: v for k, v in {**DIGITS, **preprocessing}.items() if v is not None}
    return save_model(folder, net, model_name="chain", arch=arch, model_kwargs={"C": 4}, num_classes=10,
                      in_channels=1, preprocessing=pre)


@pytest.mark.parametrize(("change", "field"), [
    ({"class_names": ["a"]}, "preprocessing.class_names"),
    ({"class_names": list(range(10))}, "preprocessing.class_names"),
    ({"mean": [0.0, 0.0]}, "preprocessing.mean"),
    ({"std": [0.0]}, "preprocessing.std"),
    ({"scale": "1/16"}, "preprocessing.scale"),
])
def test_a_wrong_preprocessing_field_is_one_line_naming_it(tmp_path, capsys, change, field):
    folder = _saved(tmp_path / "net")  # save_model refuses such a field: the file is damaged afterwards
    info = json.loads((folder / "model.json").read_text())
    info["preprocessing"].update(change)
    (folder / "model.json").write_text(json.dumps(info))
    with pytest.raises(UsageError, match=f"field '{field}' must be"):
        read_info(folder)
    assert main(["export", str(folder), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert field in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.onnx").exists()


def test_an_export_needs_the_preprocessing_its_user_applies(tmp_path):
    folder = _saved(tmp_path / "net", scale=None, mean=None, std=None, class_names=None)
    load_model(folder)  # a network saved by hand with just its input shape still loads
    with pytest.raises(UsageError, match="lacks preprocessing.scale, preprocessing.mean, preprocessing.std, "
                                         "preprocessing.class_names"):
        export_model(folder, "onnx", tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_weights_that_do_not_fit_name_the_first_tensor_and_its_shapes(tmp_path):
    folder = _saved(tmp_path / "net")
    info = json.loads((folder / "model.json").read_text())
    info["num_classes"], info["preprocessing"]["class_names"] = 7, [str(i) for i in range(7)]
    (folder / "model.json").write_text(json.dumps(info))
    with pytest.raises(UsageError, match=r"does not fit the network in model.json: \S+\.weight: \[7, \d+\] in "
                                         r"model.json vs \[10, \d+\] in the file \(and 1 more tensor"):
        load_model(folder)


def _run(tmp_path, space, module_file=None):
    """A run folder as nasforge search leaves it: study.db whose retrain trial saved a network under models/."""
    run = tmp_path / "run"
    models = run / "models"
    storage = f"sqlite:///{run / 'study.db'}"
    run.mkdir()
    study = Study(space, "random", objectives="val_acc", seed=0, name="r", storage=storage,
                  user_attrs={"pipeline_config": {"out": str(run)}})
    arch = space.sample(0)
    net = space.build(arch) if module_file else create_model("chain", arch, num_classes=10, in_channels=1, C=4)
    kwargs = {"space": space.config()} if module_file else {"C": 4}
    folder = save_model(models / "net-1", net, model_name="model_space" if module_file else "chain", arch=arch,
                        model_kwargs=kwargs, num_classes=10, in_channels=1, preprocessing=DIGITS)
    study.optimize(lambda a: Result({"val_acc": 50.0}), n_trials=1)
    retrain = study.enqueue(arch, user_attrs={"stage": "retrain", "source_trial": 0, "model_dir": str(folder)})
    study.optimize(lambda a: Result({"val_acc": 60.0, "test_acc": 55.0}), n_trials=0)
    study.storage.close()
    return run, retrain


def test_a_runs_networks_are_listed_without_importing_its_module_and_out_is_checked_first(tmp_path, capsys):
    from nasforge.pipelines.search import saved_networks
    from nasforge.spaces.model_space import ModelSpace

    module = tmp_path / "listed_net.py"
    module.write_text(MODULE)
    space = ModelSpace(f"{module}:Net", input_shape=(1, 8, 8))
    run, _ = _run(tmp_path, space, module_file=module)
    module.rename(tmp_path / "moved.py")
    networks = saved_networks(None, f"sqlite:///{run / 'study.db'}")  # read the stored trials alone
    assert [n["arch"] for n in networks] == [space.format(space.sample(0))] and networks[0]["missing"] is None
    assert main(["export", str(run), "--out", str(tmp_path / "x.xyz")]) == 2
    assert "is not the suffix of onnx files" in capsys.readouterr().err  # --out first, before the study is read
    assert main(["export", str(run), "--out", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert "whose file is gone" in err and "restore it there" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "moved.py").rename(module)
    module.write_text(MODULE + "# edited\n")
    assert main(["export", str(run), "--out", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert "changed since" in err and "restore the file as it was" in err and "new search" not in err


def test_a_network_in_neither_place_is_named_with_the_places_looked_at(tmp_path, capsys):
    run, retrain = _run(tmp_path, SPACE)
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "models")
    assert main(["export", str(copy), "--out", str(tmp_path / "a.onnx")]) == 0  # the original's, as before
    shutil.rmtree(run / "models")
    assert main(["export", str(copy), "--out", str(tmp_path / "b.onnx")]) == 2
    err = capsys.readouterr().err
    assert f"trial {retrain.number}'s saved network is missing" in err, err
    assert str(copy / "models" / "net-1") in err and str(run / "models" / "net-1") in err
    assert "not a saved nasforge network" not in err


def test_export_and_read_only_loads_do_not_replay_the_strategy(tmp_path, monkeypatch, capsys):
    from nasforge.experiment import _replay
    from nasforge.export import find_saved_network

    run, _ = _run(tmp_path, SPACE)
    url = f"sqlite:///{run / 'study.db'}"
    with open_storage(url, readonly=True) as store:
        replayed = Study.load("r", store)  # replays, as before
    calls = []
    monkeypatch.setattr(_replay, "replay", lambda *a: calls.append(a))
    assert find_saved_network(run) == run / "models" / "net-1"
    assert main(["export", str(run), "--trial", "7", "--out", str(tmp_path / "m.onnx")]) == 2  # a refusal
    assert "has no trial 7" in capsys.readouterr().err
    with open_storage(url, readonly=True) as store:
        study = Study.load("r", store, replay=False)
        assert [t.number for t in study.trials] == [t.number for t in replayed.trials]
        assert study.best_trial.number == replayed.best_trial.number
    assert calls == []
    with pytest.raises(UsageError, match="replay=False.*needs a read-only storage"):
        Study.load("r", url, replay=False)
