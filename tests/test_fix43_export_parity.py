"""The ONNX parity figure docs/export.md states ("Checks"): one network of every built-in model, exported to ONNX and
run by onnxruntime, against PyTorch on the same inputs. ``pytest -s`` prints the max absolute difference per network;
the test requires each below :data:`ONNX_BOUND`, the bound the docs state."""

import numpy as np
import pytest
import torch

from nasforge.export import export_model, save_model
from nasforge.models import create_model
from nasforge.spaces import ChainSpace, get_space

pytestmark = pytest.mark.usefixtures("torch_one_thread")

ONNX_BOUND = 1e-5
MODULE = """
import torch
from torch import nn
from nasforge.spaces.model_space import LayerChoice


class Net(nn.Module):
    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.conv = LayerChoice({"k3": nn.Conv2d(in_channels, 8, 3, padding=1),
                                 "k5": nn.Conv2d(in_channels, 8, 5, padding=2)}, label="conv")
        self.head = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean((2, 3)))
"""


def _networks(tmp_path):
    """(name, model name, architecture, model kwargs, network) for every built-in model but proxylessnas (the chain
    network at ProxylessNAS's size)."""
    from nasforge.spaces.model_space import ModelSpace

    (tmp_path / "parity_net.py").write_text(MODULE)
    module = ModelSpace(f"{tmp_path / 'parity_net.py'}:Net", input_shape=(1, 8, 8))
    chain = ChainSpace([["conv3", "mbconv_e3_k3"], ["mbconv_e6_k5", "conv3"], ["skip", "mbconv_e3_k3_se"]],
                       name="mine", stages=[1, 2])
    specs = [("nb201", get_space("nb201"), {"C": 4, "N": 1}),
             ("darts", get_space("darts"), {"C": 4, "N": 1}),
             ("nb101", get_space("nb101"), {"C": 8, "N": 1}),
             ("chain", chain, {"C": 4, "stages": [1, 2]}),
             ("model_space", module, {"space": module.config()})]
    for model, space, kwargs in specs:
        torch.manual_seed(0)
        arch = space.sample(0)
        if model == "model_space":
            yield model, model, arch, kwargs, module.build(arch)
        else:
            yield space.name, model, arch, kwargs, create_model(model, arch, num_classes=10, in_channels=1, **kwargs)


def test_onnx_differs_from_pytorch_by_less_than_the_documented_bound(tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    x = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    worst = {}
    for name, model, arch, kwargs, net in _networks(tmp_path):
        with torch.no_grad():  # batch-norm statistics of data, as after training, not the initial 0 and 1
            for _ in range(3):
                net.train()(3 * torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(2)))
        folder = save_model(tmp_path / name, net.eval(), model_name=model, arch=arch, model_kwargs=kwargs,
                            num_classes=10, in_channels=1,
                            preprocessing={"input_shape": [1, 8, 8], "scale": 1 / 16, "mean": [0.0], "std": [1.0],
                                           "class_names": [str(i) for i in range(10)]})
        path = export_model(folder, "onnx", tmp_path / f"{name}.onnx")
        with torch.no_grad():
            ours = net(x).numpy()
        theirs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["logits"],
                                                                                        {"input": x.numpy()})[0]
        worst[name] = float(np.abs(ours - theirs).max())
    with capsys.disabled():
        print("\nONNX max abs logit difference vs PyTorch: "
              + ", ".join(f"{name} {diff:.2g}" for name, diff in worst.items())
              + f"; largest {max(worst.values()):.2g} (bound {ONNX_BOUND:g})")
    assert max(worst.values()) < ONNX_BOUND, worst
