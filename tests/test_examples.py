"""The runnable examples under examples/: each runs (tiny settings) and its space is what it says."""

from __future__ import annotations

import json
import re

import pytest

torch = pytest.importorskip("torch")

from example_modules import EXAMPLES, load_example  # noqa: E402


def test_digits_cnn(torch_one_thread, capsys):
    from nasforge.spaces.model_space import ModelSpace

    example = load_example("digits_cnn")
    space = ModelSpace(example.DigitsCNN, input_shape=(1, 8, 8))
    assert [d.label for d in space.decisions] == ["width", "stem", "depth", "pool"] and space.size == 144
    front = example.main(["--trials", "3", "--epochs", "1"])
    assert front and all(space.parse(arch) for arch, _, _ in front)
    assert [p for _, _, p in front] == sorted(p for _, _, p in front)
    assert "params" in capsys.readouterr().out


def test_tabular_mlp(torch_one_thread):
    from nasforge.spaces.model_space import ModelSpace

    example = load_example("tabular_mlp")
    space = ModelSpace(example.TabularMLP, input_shape=(1, 1, 30))
    assert {d.label for d in space.decisions} == {"width", "activation", "dropout", "depth"}
    net = space.build(space.parse("width=16|activation=gelu|dropout=0.2|depth=2"))
    assert sum(isinstance(m, torch.nn.GELU) for m in net.modules()) == 3
    arch, val_acc, test_acc = example.main(["--trials", "3", "--epochs", "3"])
    space.parse(arch)
    assert val_acc > 80 and test_acc > 80  # breast cancer is easy; a broken pipeline gives ~63% (majority class)


def test_mobilenet_chain(torch_one_thread, capsys):
    from nasforge.spaces.model_space import ModelSpace

    example = load_example("mobilenet_chain")
    space = ModelSpace(example.MobileNetChain, in_channels=1, input_shape=(1, 8, 8))
    assert space.size == 18 ** 3
    arch = space.parse("stage1.depth=1|stage1.block=e3_k3|stage2.depth=3|stage2.block=e6_k7|"
                       "stage3.depth=2|stage3.block=e3_k5")
    net = space.build(arch)
    assert [len(stage) for stage in net.stages] == [1, 3, 2]
    assert net.stages[1][2].body[1][0].kernel_size == (7, 7)
    text, acc = example.main(["--epochs", "1", "--candidates", "2"])
    space.parse(text)
    assert 0 <= acc <= 100
    out = capsys.readouterr().out  # each supernet epoch is reported (review 38)
    assert re.search(r"^epoch 1/1: loss \d+\.\d{3}$", out, flags=re.M) and "best of 2 sampled" in out


def test_space_module_option_builds_a_model_space(tmp_path):
    """``--space-module FILE.py:Class`` with an nn.Module class: a ModelSpace sized by ``--data``, whose
    network the search pipeline finds and whose spec the study stores."""
    import argparse

    from nasforge.cli.options import load_space
    from nasforge.models import model_for_space
    from nasforge.pipelines.search import space_from_spec, space_spec
    from nasforge.spaces.model_space import ModelSpace

    reference = f"{EXAMPLES / 'digits_cnn.py'}:DigitsCNN"
    args = argparse.Namespace(space="nb201", space_config=None, space_module=reference, data="digits",
                              data_dir=None, seed=0)
    space = load_space(args)
    assert isinstance(space, ModelSpace) and space.input_shape == (1, 8, 8)
    assert space.module_kwargs == {"num_classes": 10, "in_channels": 1}
    assert model_for_space(space) == ("model_space", {"space": space.config()})
    assert space_from_spec(json.loads(json.dumps(space_spec(space)))).config() == space.config()
    options = tmp_path / "options.json"
    options.write_text('{"num_classes": 10}')
    args.space_config = str(options)
    assert load_space(args).module_kwargs == {"num_classes": 10, "in_channels": 1}


def test_space_module_option_takes_a_module_path(tmp_path, monkeypatch):
    """``--space-module module:Class`` (importable by name) works like a file path; a top-level module of the
    user's own (not installed) is recorded by its file, so a resume finds it from any folder."""
    import argparse

    from nasforge.cli.options import load_space

    (tmp_path / "my_nets.py").write_text((EXAMPLES / "digits_cnn.py").read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    args = argparse.Namespace(space="nb201", space_config=None, space_module="my_nets:DigitsCNN", data="digits",
                              data_dir=None, seed=0)
    space = load_space(args)
    assert space.config()["module"] == f"{(tmp_path / 'my_nets.py').resolve()}:DigitsCNN" and space.size == 144


@pytest.mark.slow
def test_search_cli_runs_a_model_space(tmp_path, torch_one_thread, capsys):
    """``nasforge search --space-module examples/digits_cnn.py:DigitsCNN``: the two-stage job on the user's
    module, stored so that ``resume`` rebuilds the space from the study alone."""
    from nasforge.cli import main
    from nasforge.pipelines.search import resume_search

    out = tmp_path / "run"
    code = main(["search", "--space-module", f"{EXAMPLES / 'digits_cnn.py'}:DigitsCNN", "--trials", "3",
                 "--workers", "1", "--retrain", "1", "--search-epochs", "1", "--final-epochs", "1",
                 "--out", str(out), "--name", "ms"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["space"] == "model_space" and summary["n_retrained"] == 1
    assert "width=" in summary["best_arch"] and summary["best_test_acc"] > 0
    again = resume_search("ms", f"sqlite:///{out / 'study.db'}")  # a complete study: rewrites its outputs
    assert again["best_arch"] == summary["best_arch"]
    assert main(["export", str(out), "--format", "torchscript", "--out", f"{tmp_path / 'ts'}/"]) == 0
    scripted = torch.jit.load(str(tmp_path / "ts" / "model.pt"))
    assert scripted(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_search_cli_rejects_a_bad_model_module(tmp_path, capsys):
    from nasforge.cli import main

    bad = tmp_path / "bad.py"
    bad.write_text("from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice\n"
                   "class Bad(nn.Module):\n    def __init__(self, num_classes=10, in_channels=1):\n"
                   "        super().__init__()\n"
                   "        self.a = LayerChoice({'narrow': nn.Conv2d(in_channels, 4, 3), "
                   "'wide': nn.Conv2d(in_channels, 8, 3)}, label='first')\n"
                   "    def forward(self, x):\n        return self.a(x)\n")
    assert main(["search", "--space-module", f"{bad}:Bad", "--trials", "1", "--out", str(tmp_path / "o")]) == 2
    assert "LayerChoice 'first': candidates disagree on output shape" in capsys.readouterr().err
