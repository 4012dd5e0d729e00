"""nasforge export, reviewed 2026-12-06 (stop 45): TorchScript written from Python (a full disk is one line, not
SIGABRT), --trial refused with a network folder, input_shape checked for the network kind, the state of a trial
without a network, the sidecar's metrics those of the trial exported, Python argument checks, strict JSON
sidecars and escaped names; and its regression review: a model-space network at the resolution fidelity, numpy
trial numbers, an empty RUN_DIR_OR_STUDY, --debug tracebacks."""

import json
import math

import pytest
import torch

from nasforge import Result, Study
from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.export import export_model, find_saved_network, find_saved_trial, save_model, sidecar_metrics
from nasforge.models import create_model
from nasforge.spaces import ChainSpace

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SPACE = ChainSpace([["conv3", "skip"], ["conv3", "conv5"]], name="tiny")
DIGITS = {"input_shape": [1, 8, 8], "scale": 1 / 16, "mean": [0.0], "std": [1.0],
          "class_names": [str(i) for i in range(10)]}


def _saved(folder, metrics=None, **preprocessing):
    arch = SPACE.parse("conv3|conv5")
    torch.manual_seed(0)
    net = create_model("chain", arch, num_classes=10, in_channels=1, C=4)
    return save_model(folder, net, model_name="chain", arch=arch, model_kwargs={"C": 4}, num_classes=10,
                      in_channels=1, preprocessing={**DIGITS, **preprocessing}, metrics=metrics)


def _one_line(capsys):
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def _study(tmp_path, folder):
    """A Python study whose trials 0 and 1 saved ``folder`` (trial 1 measured its costs at a deploy size), trial 2
    failed and trial 3 is left running."""
    url = f"sqlite:///{tmp_path / 'py.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="py", storage=url)
    results = iter([{"acc": 1.0, "test_acc": 90.0, "params": 1000.0, "latency_ms": 0.5},
                    {"acc": 1.0, "test_acc": 90.0, "params": 9999.0, "latency_ms": 3.0},
                    {"acc": math.nan}])
    study.optimize(lambda arch, fidelity=None: Result(metrics=next(results), user_attrs={"model_dir": str(folder)}),
                   3)
    running = study.ask()
    assert running.number == 3
    study.storage.close()
    return url


def test_a_torchscript_export_that_cannot_be_written_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    """torch.jit.save to a file aborted the process (SIGABRT) on a full disk; the bytes are now written from Python."""
    import builtins

    folder = _saved(tmp_path / "net")
    real_open = builtins.open

    def full_disk(path, mode="r", *args, **kwargs):
        file = real_open(path, mode, *args, **kwargs)
        if "w" in mode and str(path).endswith(".tmp"):
            def write(data):
                raise OSError(28, "No space left on device")
            file.write = write
        return file

    monkeypatch.setattr(builtins, "open", full_disk)
    out = tmp_path / "new" / "m.pt"
    assert main(["export", str(folder), "--format", "torchscript", "--out", str(out)]) == 2
    assert "No space left on device" in _one_line(capsys)
    assert not (tmp_path / "new").exists()
    monkeypatch.undo()
    assert main(["export", str(folder), "--format", "torchscript", "--out", str(out)]) == 0
    assert torch.jit.load(str(out))(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_trial_is_refused_with_a_network_folder(tmp_path, capsys):
    folder = _saved(tmp_path / "net")
    assert main(["export", str(folder), "--trial", "7", "--out", str(tmp_path / "m.onnx")]) == 2
    assert "holds one network" in _one_line(capsys) and not (tmp_path / "m.onnx").exists()
    with pytest.raises(UsageError, match="trial 7 given, but .* saved network's folder"):
        find_saved_network(folder, trial=7)
    assert find_saved_network(folder) == folder


@pytest.mark.parametrize("shape", [[1, 8, 8, 2], [1, 8]])
def test_an_input_shape_of_the_wrong_length_is_one_line_naming_it(tmp_path, capsys, shape):
    folder = _saved(tmp_path / "net")  # save_model refuses such a shape: the file is damaged afterwards
    info = json.loads((folder / "model.json").read_text())
    info["preprocessing"]["input_shape"] = shape
    (folder / "model.json").write_text(json.dumps(info))
    assert main(["export", str(folder), "--out", str(tmp_path / "m.onnx")]) == 2
    err = _one_line(capsys)
    assert "field 'preprocessing.input_shape' must be [channels, height, width]" in err and "model.json" in err


class _Flat(torch.nn.Module):
    """A network for 64 input values only (the trace of any other input shape fails)."""

    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(64, 10)

    def forward(self, x):
        return self.head(x.reshape(-1, 64))


def test_a_network_that_fails_its_trace_is_one_line(tmp_path, capsys):
    from nasforge.models import register_model
    from nasforge.models.registry import MODELS

    register_model("fix45_flat", lambda arch, num_classes, in_channels: _Flat(), any_space=True, replace=True)
    try:
        arch = SPACE.parse("conv3|conv5")
        folder = save_model(tmp_path / "net", _Flat(), model_name="fix45_flat", arch=arch, model_kwargs={},
                            num_classes=10, in_channels=1, preprocessing={**DIGITS, "input_shape": [1, 4, 4]})
        for fmt, suffix in (("onnx", "onnx"), ("torchscript", "pt")):
            out = tmp_path / "new" / f"m.{suffix}"
            assert main(["export", str(folder), "--format", fmt, "--out", str(out)]) == 2
            err = _one_line(capsys)
            assert "the network fails on an input of shape [1, 4, 4]" in err and "input_shape" in err, err
            assert not (tmp_path / "new").exists()
    finally:
        MODELS._entries.pop("fix45_flat", None)
        MODELS._tags.pop("fix45_flat", None)


def test_a_trial_without_a_network_says_its_state(tmp_path):
    url = _study(tmp_path, _saved(tmp_path / "net"))
    with pytest.raises(UsageError, match=r"--trial 3: no saved network: trial 3 is RUNNING \(not finished\); trials "
                                         r"with one: 0, 1$"):
        find_saved_network("py", trial=3, storage=url)
    with pytest.raises(UsageError, match=r"--trial 2: no saved network: trial 2 FAILED \(.*nan.*\); trials"):
        find_saved_network("py", trial=2, storage=url)


def test_an_unretrained_search_trial_names_the_resume_command(tmp_path):
    from nasforge.pipelines.search import resume_command

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="job", storage=url,
                  user_attrs={"pipeline": "search", "pipeline_config": {"out": str(tmp_path), "retrain": 2}})
    study.optimize(lambda arch, fidelity=None: Result(metrics={"acc": 1.0}), 1)
    study.storage.close()
    with pytest.raises(UsageError) as info:
        find_saved_network(tmp_path, trial=0)
    assert str(info.value).startswith("--trial 0: no saved network: trial 0 is a search trial; its retrain has not "
                                      "run")
    assert f"finish it with {resume_command('job', url)}" in str(info.value)


def test_the_sidecar_has_the_metrics_of_the_trial_exported(tmp_path, capsys):
    """A folder kept by a later job with the same weights kept the first job's metrics in every export."""
    folder = _saved(tmp_path / "net", metrics={"test_acc": 90.0, "params": 1000.0, "latency_ms": 0.5,
                                               "deploy": {"size": {"C": 16}, "params": 5555.0}})
    stored = (folder / "model.json").read_text()
    url = _study(tmp_path, folder)
    out = tmp_path / "a.onnx"
    assert main(["export", "py", "--storage", url, "--trial", "0", "--out", str(out)]) == 0
    metrics = json.loads((tmp_path / "a.onnx.json").read_text())["metrics"]
    assert metrics == {"acc": 1.0, "test_acc": 90.0, "params": 1000.0, "latency_ms": 0.5}  # no deploy record
    assert main(["export", "py", "--storage", url, "--trial", "1", "--out", str(tmp_path / "b.onnx")]) == 0
    metrics = json.loads((tmp_path / "b.onnx.json").read_text())["metrics"]
    assert metrics == {"acc": 1.0, "test_acc": 90.0, "params": 1000.0, "latency_ms": 0.5,
                       "deploy": {"params": 9999.0, "latency_ms": 3.0}}  # its own deploy size, unknown here
    assert (folder / "model.json").read_text() == stored  # nothing stored is rewritten
    assert find_saved_trial("py", 1, url) == (folder, {"acc": 1.0, "test_acc": 90.0, "params": 9999.0,
                                                       "latency_ms": 3.0})
    export_model(folder, "safetensors", tmp_path / "c.safetensors")  # a folder alone: model.json's metrics
    assert json.loads((tmp_path / "c.safetensors.json").read_text())["metrics"]["deploy"]["size"] == {"C": 16}


def test_sidecar_metrics_keeps_a_recorded_deploy_size():
    stored = {"test_acc": 9.0, "params": 10.0, "flops": 20.0, "deploy": {"size": {"C": 16}, "params": 99.0}}
    assert sidecar_metrics(stored, {"test_acc": 9.0, "params": 99.0, "flops": 77.0}) == {
        "test_acc": 9.0, "params": 10.0, "flops": 20.0, "deploy": {"size": {"C": 16}, "params": 99.0, "flops": 77.0}}
    assert sidecar_metrics(stored, {"test_acc": 9.0, "params": 10.0}) == {"test_acc": 9.0, "params": 10.0}


@pytest.mark.parametrize(("call", "message"), [
    (lambda f, t: export_model(f, "onnx", ""), "out must name a file or folder, got ''"),
    (lambda f, t: export_model(f, "onnx", "  "), "out must name a file or folder"),
    (lambda f, t: export_model("", "onnx", t / "m.onnx"), "folder must name a saved network's folder, got ''"),
    (lambda f, t: export_model(f, "onnx", t / "m.onnx", overwrite="no"), "overwrite must be True or False"),
    (lambda f, t: find_saved_network(f, trial="1"), "trial must be a trial number"),
    (lambda f, t: find_saved_network(f, trial=True), "got bool True"),
    (lambda f, t: find_saved_network(f, trial=1.0), "got float 1.0"),
    (lambda f, t: find_saved_network(""), "source must name"),
])
def test_python_arguments_are_checked_like_the_cli(tmp_path, monkeypatch, call, message):
    folder = _saved(tmp_path / "net")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=message):
        call(folder, tmp_path)
    assert not list(tmp_path.glob("*.onnx")) and not (tmp_path / "model.onnx").exists()


def test_a_run_folder_given_to_export_model_points_at_find_saved_network(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "study.db").write_bytes(b"")
    with pytest.raises(UsageError, match=r"it is a run folder: find_saved_network\(.*run'\) gives"):
        export_model(tmp_path / "run", "onnx", tmp_path / "m.onnx")


def test_the_sidecar_is_strict_json(tmp_path):
    folder = _saved(tmp_path / "net", metrics={"test_acc": 91.0, "val_loss": float("inf"), "x": [math.nan]})
    out = export_model(folder, "safetensors", tmp_path / "out/")

    def refuse(constant):
        raise ValueError(constant)

    metrics = json.loads((tmp_path / "out" / "model.safetensors.json").read_text(), parse_constant=refuse)["metrics"]
    assert out.name == "model.safetensors" and metrics == {"test_acc": 91.0, "val_loss": None, "x": [None]}


def test_odd_out_names_are_escaped(tmp_path, capsys, monkeypatch):
    folder = _saved(tmp_path / "net")
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(folder), "--out", "x\ny.onnx"]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1 and "x\\ny.onnx" in out
    assert main(["export", str(folder), "--out", "x\ny.onnx"]) == 2
    assert "export to x\\ny.onnx refused" in _one_line(capsys)
    assert main(["export", str(folder), "--out", "\x1b[31mred.xyz"]) == 2
    err = _one_line(capsys)
    assert "\x1b" not in err and "\\x1b[31mred.xyz" in err


def test_a_model_space_network_needs_its_spaces_channels_only(tmp_path):
    """The height and width may differ from the space's input_shape (the resolution fidelity); the channels not."""
    from nasforge.export import read_info

    folder = _saved(tmp_path / "net")
    info = json.loads((folder / "model.json").read_text())
    info.update(model="model_space", model_kwargs={"space": {"module": "x.py:Net", "input_shape": [3, 8, 8]}})
    info["preprocessing"]["input_shape"] = [1, 4, 4]
    (folder / "model.json").write_text(json.dumps(info))
    with pytest.raises(UsageError, match=r"'preprocessing.input_shape' must be a shape with the model space's 3 "
                                         r"input channel\(s\) \(its input_shape \[3, 8, 8\], model_kwargs.space\), "
                                         r"got \[1, 4, 4\]"):
        read_info(folder)
    info["model_kwargs"]["space"]["input_shape"] = [1, 8, 8]
    (folder / "model.json").write_text(json.dumps(info))
    assert read_info(folder)["preprocessing"]["input_shape"] == [1, 4, 4]


def test_a_model_space_network_trained_at_the_resolution_fidelity_loads_and_exports(tmp_path, monkeypatch, capsys):
    """It is saved at the resolution it was trained at ([1, 6, 6], the space's is [1, 8, 8]): read_info refused it,
    so it could not be loaded or exported."""
    from model_space_sources import TINY_MODEL_SPACE

    from nasforge.export import load_model
    from nasforge.spaces.model_space import ModelSpace

    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.py").write_text(TINY_MODEL_SPACE)
    space = ModelSpace("net.py:Net", input_shape=(1, 8, 8))
    evaluator = space.evaluator("digits", train={"epochs": 1}, fidelity={"data_fraction": 0.1, "resolution": 6},
                                latency_repeats=1, save_dir="models")
    folder = evaluator.evaluate(space.default).user_attrs["model_dir"]
    net, info = load_model(folder)
    assert info["preprocessing"]["input_shape"] == [1, 6, 6] and net(torch.zeros(2, 1, 6, 6)).shape == (2, 10)
    for fmt, out in (("onnx", "m.onnx"), ("torchscript", "m.pt"), ("safetensors", "m.safetensors")):
        assert main(["export", folder, "--format", fmt, "--out", out]) == 0, capsys.readouterr().err
        assert json.loads((tmp_path / f"{out}.json").read_text())["preprocessing"]["input_shape"] == [1, 6, 6]
    assert torch.jit.load("m.pt")(torch.zeros(2, 1, 6, 6)).shape == (2, 10)


def test_a_numpy_integer_is_a_trial_number(tmp_path):
    """A trial number read from trials_dataframe() or an array (np.int64) was refused as not an int."""
    import numpy as np

    folder = _saved(tmp_path / "net")
    url = _study(tmp_path, folder)
    for number in (np.int64(1), np.int32(1), np.uint8(1)):
        assert find_saved_network("py", trial=number, storage=url) == folder
        assert find_saved_trial("py", trial=number, storage=url)[1]["params"] == 9999.0
    for bad in (np.bool_(True), np.float64(1.0), np.int64(-1)):
        with pytest.raises(UsageError, match="trial must be a trial number"):
            find_saved_network("py", trial=bad, storage=url)


@pytest.mark.parametrize(("storage", "what"), [([], "a run folder, a saved network's folder or a study"),
                                               (["--storage", "sqlite:///py.db"], "a study of --storage")])
def test_an_empty_source_is_named_as_the_command_line_names_it(tmp_path, monkeypatch, capsys, storage, what):
    """It was called 'folder' (export_target's argument), which a study name with --storage is not."""
    monkeypatch.chdir(tmp_path)
    for source in ("", "  "):
        assert main(["export", source, *storage, "--out", "e.onnx"]) == 2
        assert f"error: RUN_DIR_OR_STUDY must name {what}, got '" in _one_line(capsys)
    assert not (tmp_path / "e.onnx").exists()


def test_debug_shows_where_an_escaped_refusal_was_raised(tmp_path, monkeypatch, capsys):
    """The escaped message was raised anew from None: --debug's traceback ended in cli/export.py."""
    folder = _saved(tmp_path / "net")
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(folder), "--out", "x\ny.onnx"]) == 0
    capsys.readouterr()
    assert main(["export", str(folder), "--out", "x\ny.onnx", "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "in _checked_out" in err and "x\ny" not in err, err
    assert err.strip().splitlines()[-1].startswith("nasforge export: error: export to x\\ny.onnx refused")
