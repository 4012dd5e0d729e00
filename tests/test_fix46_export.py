"""nasforge export, reviewed 2026-12-07 (stop 46, export_cifar): a model.json whose preprocessing.input_shape is too
large for the machine is one line (exit 2) for the traced formats, and no input is made for safetensors."""

import json

import pytest
import torch

from nasforge.cli import main
from nasforge.export import export_model, save_model
from nasforge.models import create_model
from nasforge.spaces import ChainSpace

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SPACE = ChainSpace([["conv3", "skip"], ["conv3", "conv5"]], name="tiny")
DIGITS = {"input_shape": [1, 8, 8], "scale": 1 / 16, "mean": [0.0], "std": [1.0],
          "class_names": [str(i) for i in range(10)]}


def _saved_with_shape(folder, shape):
    """A saved chain network whose model.json says ``preprocessing.input_shape`` is ``shape``."""
    arch = SPACE.parse("conv3|conv5")
    torch.manual_seed(0)
    net = create_model("chain", arch, num_classes=10, in_channels=1, C=4)
    folder = save_model(folder, net, model_name="chain", arch=arch, model_kwargs={"C": 4}, num_classes=10,
                        in_channels=1, preprocessing=DIGITS)
    info = json.loads((folder / "model.json").read_text())
    info["preprocessing"]["input_shape"] = shape
    (folder / "model.json").write_text(json.dumps(info))
    return folder


@pytest.mark.parametrize("shape", [[1, 10**9, 10**9], [1, 10**20, 1]])
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_an_input_shape_too_large_for_the_machine_is_one_line_naming_it(tmp_path, capsys, shape, fmt):
    """The trace's input was made before any guard, for every format: an allocation the machine refuses (or a size
    torch cannot even hold) was a traceback (exit 1)."""
    folder = _saved_with_shape(tmp_path / "net", shape)
    out = tmp_path / "out" / f"model.{'pt' if fmt == 'torchscript' else fmt}"
    assert main(["export", str(folder), "--format", fmt, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "preprocessing.input_shape" in err and str(shape) in err and "too large for this machine?" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("shape", [[1, 10**9, 10**9], [1, 10**20, 1]])
def test_a_safetensors_export_makes_no_input(tmp_path, shape):
    """Nothing is traced for safetensors: the weights are copied and the sidecar records model.json's input_shape."""
    folder = _saved_with_shape(tmp_path / "net", shape)
    out = export_model(folder, "safetensors", tmp_path / "model.safetensors")
    assert out.read_bytes() == (folder / "model.safetensors").read_bytes()
    assert json.loads((tmp_path / "model.safetensors.json").read_text())["preprocessing"]["input_shape"] == shape

