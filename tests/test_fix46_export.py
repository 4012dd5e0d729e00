"""nasforge export, reviewed 2026-12-07 (stop 46, export_cifar): a model.json whose preprocessing.input_shape is too
large for the machine is one line (exit 2) for every format, and save_model records how an NB101 network's cells
were really built (``canonical``), so load_model and its exports rebuild that very network."""

import json

import pytest
import torch

from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.export import export_model, load_model, save_model
from nasforge.models import create_model
from nasforge.spaces import ChainSpace, get_space

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SPACE = ChainSpace([["conv3", "skip"], ["conv3", "conv5"]], name="tiny")
DIGITS = {"input_shape": [1, 8, 8], "scale": 1 / 16, "mean": [0.0], "std": [1.0],
          "class_names": [str(i) for i in range(10)]}
# an NB101 cell whose given node order builds the same tensor shapes as its canonical form, wired otherwise
NB101_CELL = ("ops=input,conv1x1-bn-relu,maxpool3x3,conv1x1-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,output;"
              "matrix=0101001/0000011/0001100/0000010/0000010/0000001/0000000")


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


def _nb101(canonical):
    arch = get_space("nb101").parse(NB101_CELL)
    torch.manual_seed(0)
    return arch, create_model("nb101", arch, num_classes=3, in_channels=1, C=8, N=1, canonical=canonical).eval()


@pytest.mark.parametrize("canonical", [False, True])
def test_save_model_records_how_an_nb101_network_was_built(tmp_path, canonical):
    """save_model wrote "canonical": true whatever the network: a canonical=False one loaded (and exported) as another
    wiring whose weights fit, with other outputs and no error."""
    arch, net = _nb101(canonical)
    folder = save_model(tmp_path / "net", net, model_name="nb101", arch=arch, model_kwargs={"C": 8, "N": 1},
                        num_classes=3, in_channels=1, preprocessing={"input_shape": [1, 8, 8]})
    assert json.loads((folder / "model.json").read_text())["model_kwargs"] == {"canonical": canonical, "C": 8, "N": 1}
    loaded, _ = load_model(folder)
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(loaded(x), net(x))


def test_save_model_refuses_model_kwargs_that_contradict_the_nb101_network(tmp_path):
    arch, net = _nb101(False)
    with pytest.raises(UsageError, match="canonical=False"):
        save_model(tmp_path / "net", net, model_name="nb101", arch=arch, model_kwargs={"C": 8, "N": 1,
                   "canonical": True}, num_classes=3, in_channels=1, preprocessing={"input_shape": [1, 8, 8]})
    assert not (tmp_path / "net").exists()


def test_an_nb101_network_pickled_before_the_flag_saves_as_before(tmp_path):
    """Would fail (regression of the flag): a network object made before NB101Network kept ``canonical`` raised
    AttributeError in save_model; it saves with model_kwargs' value, else the default, as before."""
    arch, net = _nb101(True)
    del net.canonical
    folder = save_model(tmp_path / "net", net, model_name="nb101", arch=arch, model_kwargs={"C": 8, "N": 1},
                        num_classes=3, in_channels=1, preprocessing={"input_shape": [1, 8, 8]})
    assert json.loads((folder / "model.json").read_text())["model_kwargs"] == {"canonical": True, "C": 8, "N": 1}
