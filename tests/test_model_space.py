"""Model spaces: NNI-style choices inside plain PyTorch modules, as a SearchSpace, built networks, supernet."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.spaces import Architecture, get_space  # noqa: E402
from nasforge.spaces.model_space import (  # noqa: E402
    ChosenInputs, InputChoice, LayerChoice, ModelSpace, Repeat, ValueChoice)
from nasforge.spaces.model_space.primitives import MixedInput, MixedLayer, MixedRepeat  # noqa: E402


def conv(c_in: int, c_out: int, k: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.BatchNorm2d(c_out), nn.ReLU())


class Net(nn.Module):
    """Every primitive: a value (with arithmetic), layer choices (dict and shared label), a Repeat whose
    blocks hold their own choices, an input choice."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        width = ValueChoice([4, 8], label="width")
        self.stem = LayerChoice({"conv3": conv(1, width, 3), "conv5": conv(1, width, 5)}, label="stem")
        self.blocks = Repeat(lambda i: LayerChoice([lambda: conv(width, width, 3), lambda: nn.Identity()],
                                                   label=f"block{i}"), depth=[0, 1, 2], label="depth")
        self.merge = InputChoice(2, 1, label="merge")
        self.wide = nn.Conv2d(width, width * 2, 1)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width * 2, num_classes))

    def forward(self, x):
        a = self.stem(x)
        return self.head(self.wide(self.merge([a, self.blocks(a)])))


class Shared(nn.Module):
    """One label in two places: one decision."""

    def __init__(self) -> None:
        super().__init__()
        self.a = LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()}, label="act")
        self.b = LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()}, label="act")
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.b(self.a(x)))


@pytest.fixture(scope="module")
def space():
    return ModelSpace(Net, input_shape=(1, 8, 8))


def test_import_is_torch_free():
    code = ("import sys, nasforge, nasforge.spaces, nasforge.spaces.model_space; "
            "from nasforge.spaces import get_space; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_decisions_text_and_size(space):
    assert [(d.label, d.kind, d.names) for d in space.decisions] == [
        ("width", "value", ("4", "8")), ("stem", "layer", ("conv3", "conv5")), ("depth", "value", ("0", "1", "2")),
        ("block0", "layer", ("0", "1")), ("block1", "layer", ("0", "1")), ("merge", "input", ("0", "1"))]
    assert space.size == 2 * 2 * 3 * 2 * 2 * 2 and space.is_enumerable
    text = "width=8|stem=conv5|depth=2|block0=0|block1=1|merge=1"
    arch = space.parse(text)
    assert space.format(arch) == text
    assert space.parse(" merge = 1 | block1=1|block0=0|depth=2|stem=conv5|width=8") == arch  # any order, spaces
    assert Architecture.from_json(json.loads(json.dumps(arch.to_json()))) == arch
    assert len(list(space.enumerate())) == space.size
    for bad, match in [("width=8", "missing"), (text + "|width=4", "twice"), (text.replace("conv5", "conv7"), "stem"),
                       (text.replace("width", "height"), "height"), ("width", "label=candidate")]:
        with pytest.raises(ValueError, match=match):
            space.parse(bad)


def test_inactive_decisions_are_canonical_and_never_mutated(space):
    arch = space.parse("width=8|stem=conv5|depth=1|block0=0|block1=1|merge=1")
    assert space.active(arch) == [True, True, True, True, False, True]
    # the text is the network's: inactive decisions are left out, and parse reads it back as the canonical form
    assert space.format(arch) == space.format(space.canonical(arch)) == "width=8|stem=conv5|depth=1|block0=0|merge=1"
    assert space.parse("width=8|stem=conv5|depth=1|block0=0|merge=1") == space.canonical(arch)
    with pytest.raises(UsageError, match=r"missing label\(s\) \['block1'\]"):  # active at depth 2
        space.parse("width=8|stem=conv5|depth=2|block0=0|merge=1")
    neighbors = space.neighbors(arch)
    assert len(neighbors) == 1 + 1 + 2 + 1 + 1 and arch not in neighbors
    assert all(n.genotype[4] == "1" for n in neighbors)
    assert space.count_unique() == 2 * 2 * 2 * (1 + 2 + 4)
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = space.sample(rng)
        space.check(space.mutate(a, rng))
        assert np.array_equal(space.encode([a])[0], space.encode([space.canonical(a)])[0])
    assert space.encode([arch]).shape == (1, 2 + 2 + 3 + 2 + 2 + 2)


def test_plausible_mistakes_with_a_model_space_are_usage_errors(space):
    from nasforge.exceptions import UsageError

    assert space.sample(0) == space.sample(np.random.default_rng(0))  # an int seed works
    text = "width=8|stem=conv5|depth=1|block0=0|block1=1|merge=1"
    for call, match in [(lambda: space.format(text), "use space.parse"),
                        (lambda: space.canonical(text), "use space.parse"),
                        (lambda: space.neighbors(Architecture(space.name, ("9",) * 6)), "unknown candidate '9'"),
                        (lambda: space.format(Architecture("nb201", ("none",) * 6)), "belongs to space 'nb201'"),
                        (lambda: space.parse("width=8"), "missing label")]:
        with pytest.raises(UsageError, match=match):
            call()


def test_categorical_view_round_trip(space):
    params = space.categorical_params()
    assert params["depth"] == ["0", "1", "2"] and list(params) == [d.label for d in space.decisions]
    arch = space.sample(np.random.default_rng(1))
    assert space.from_params(space.to_params(arch)) == arch
    with pytest.raises(ValueError, match="width"):
        space.from_params({**space.to_params(arch), "width": "5"})


def test_build_is_plain_and_exports(space):
    arch = space.parse("width=8|stem=conv5|depth=2|block0=0|block1=1|merge=1")
    net = space.build(arch)
    assert not any(isinstance(m, (MixedLayer, MixedInput, MixedRepeat)) for m in net.modules())
    assert net.stem[0].kernel_size == (5, 5) and net.wide.out_channels == 16  # width * 2
    assert isinstance(net.blocks, nn.Sequential) and len(net.blocks) == 2 and isinstance(net.blocks[1], nn.Identity)
    assert isinstance(net.merge, ChosenInputs) and net.merge.indices == [1]
    net.eval()
    x = torch.randn(3, 1, 8, 8)
    out = net(x)
    assert out.shape == (3, 10)
    assert torch.allclose(torch.jit.script(net)(x), out, atol=1e-6)
    assert torch.allclose(torch.jit.trace(net, x)(x), out, atol=1e-6)
    default = space.build(space.default)
    assert type(default.stem[0]) is nn.Conv2d and default.stem[0].out_channels == 4
    assert sum(p.numel() for p in Net().parameters()) == sum(p.numel() for p in default.parameters())


def test_build_exports_to_onnx(space, tmp_path):
    onnx = pytest.importorskip("onnx")
    net = space.build(space.parse("width=4|stem=conv3|depth=1|block0=0|block1=0|merge=0")).eval()
    torch.onnx.export(net, (torch.zeros(1, 1, 8, 8),), str(tmp_path / "net.onnx"), dynamo=False)
    onnx.checker.check_model(onnx.load(str(tmp_path / "net.onnx")))


def test_shared_label_is_one_decision():
    space = ModelSpace(Shared, input_shape=(4,))
    assert space.size == 2 and [d.label for d in space.decisions] == ["act"]
    net = space.build(space.parse("act=tanh"))
    assert isinstance(net.a, nn.Tanh) and isinstance(net.b, nn.Tanh)


class _TwoLabels(nn.Module):
    def __init__(self, second):
        super().__init__()
        self.a = LayerChoice([nn.ReLU(), nn.Tanh()], label="act")
        self.b = second()

    def forward(self, x):
        return self.b(self.a(x))


class _Factory(nn.Module):
    """Builds whatever ``make`` (a name of a function below) returns, to test validation errors."""

    def __init__(self, make: str) -> None:
        super().__init__()
        self.body = BAD[make]()

    def forward(self, x):
        return self.body(x)


class _Pair(nn.Module):
    def __init__(self, a, b, reduction="sum"):
        super().__init__()
        self.a, self.b, self.merge = a, b, InputChoice(2, 1, reduction=reduction, label="skip")

    def forward(self, x):
        return self.merge([self.a(x), self.b(x)])


BAD = {
    "duplicate": lambda: nn.Sequential(LayerChoice([nn.ReLU(), nn.Tanh()], label="act"),
                                       LayerChoice([nn.ReLU(), nn.Tanh(), nn.GELU()], label="act")),
    "empty": lambda: LayerChoice([], label="act"),
    "empty_value": lambda: nn.Linear(4, ValueChoice([], label="width")),
    "shape": lambda: LayerChoice({"keep": nn.Linear(4, 4), "grow": nn.Linear(4, 5)}, label="proj"),
    "input_shape": lambda: _Pair(nn.Linear(4, 4), nn.Linear(4, 3)),
    "concat_channels": lambda: nn.Sequential(_Pair(nn.Linear(4, 4), nn.Linear(4, 3), "concat"), nn.Linear(4, 2)),
    "depth_shape": lambda: Repeat(lambda i: nn.Linear(4 + i, 5 + i), depth=[1, 2], label="layers"),
    "value_breaks": lambda: nn.Sequential(nn.Linear(4, ValueChoice([4, 6], label="hidden")), nn.Linear(4, 2)),
    "value_output": lambda: nn.Linear(4, ValueChoice([2, 3], label="outputs")),
    "no_choice": lambda: nn.Linear(4, 4),
    "bad_label": lambda: LayerChoice([nn.ReLU(), nn.Tanh()], label="a|b"),
    "n_chosen": lambda: InputChoice(2, 3, label="skip"),
}


@pytest.mark.parametrize("make, match", [
    ("duplicate", "label 'act' is used by two choices"), ("empty", "choice 'act' has no candidates"),
    ("empty_value", "choice 'width' has no candidates"),
    ("shape", r"LayerChoice 'proj': candidates disagree on output shape \(keep: \(4,\), grow: \(5,\)\)"),
    ("input_shape", "InputChoice 'skip': inputs disagree"),
    ("concat_channels", r"InputChoice 'skip': its choices concatenate to different channel counts \(inputs -> "
                        r"channels: \{\(0,\): 4, \(1,\): 3\}\)"), ("depth_shape", "Repeat 'layers': output shape depends"),
    ("value_breaks", "hidden=6"), ("value_output", "ValueChoice 'outputs'"), ("no_choice", "makes no choice"),
    ("bad_label", "'a|b'"), ("n_chosen", "InputChoice 'skip': n_chosen"),
])
def test_validation_names_the_label(make, match):
    with pytest.raises(UsageError, match=match):
        ModelSpace(_Factory, make, input_shape=(4,))


class _AutoThenUser(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()})  # automatic label layer_0
        self.b = LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()}, label="layer_0")

    def forward(self, x):
        return self.b(self.a(x))


class _UserThenAuto(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        k = ValueChoice([3, 5], label="value_0")
        self.fc = nn.Linear(4, ValueChoice([3, 5]))  # automatic label value_0
        self.out = nn.Linear(self.fc.out_features, k)

    def forward(self, x):
        return self.out(self.fc(x))


@pytest.mark.parametrize("module, match", [(_AutoThenUser, "unlabelled layer choice"),
                                           (_UserThenAuto, "unlabelled value choice")])
def test_a_label_equal_to_an_automatic_one_is_refused(module, match):
    """They were one decision: a space of 2 architectures where the user wrote 4."""
    with pytest.raises(UsageError, match=f"is also the automatic label of an {match}"):
        ModelSpace(module, input_shape=(4,))


def test_an_unlabelled_repeat_depth_keeps_its_automatic_label():
    class Deep(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = Repeat(lambda i: nn.Linear(4, 4), depth=[1, 2])
            self.act = LayerChoice([nn.ReLU(), nn.Tanh()])

        def forward(self, x):
            return self.act(self.blocks(x))

    assert ModelSpace(Deep, input_shape=(4,)).categorical_params() == {"repeat_0": ["1", "2"],
                                                                       "layer_0": ["relu", "tanh"]}


def test_bad_input_shape_and_module():
    for shape in (4, "4", [], [4, 0], [True], (4.0,)):
        with pytest.raises(UsageError, match="input_shape must be the shape of one input"):
            ModelSpace(Shared, input_shape=shape)
    assert ModelSpace(Shared, input_shape=[np.int64(4)]).input_shape == (4,)  # the one check cost.py uses too
    with pytest.raises(UsageError, match="fails on an input of shape"):
        ModelSpace(Shared, input_shape=(5,))
    with pytest.raises(UsageError, match="no 'Nope'"):
        ModelSpace("test_model_space:Nope", input_shape=(4,))


@pytest.mark.parametrize("source, match", [("def f(:\n", "SyntaxError"), ("x = 1 / 0\n", "ZeroDivisionError")])
def test_a_package_module_that_fails_to_import_is_one_line(tmp_path, monkeypatch, capsys, source, match):
    """As for a file.py reference: exit 2 and one line, not a traceback (only ImportError was caught)."""
    from nasforge.cli import main

    package = tmp_path / f"pkg_{match.lower()}"  # one package per case: a package stays imported
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "bad.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["search", "--space-module", f"{package.name}.bad:Net", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"importing {package.name}.bad failed: {match}" in err and len(err.strip().splitlines()) == 1


def test_value_choice_outside_a_space_is_the_default():
    net = Net()
    assert net.wide.out_channels == 8 and isinstance(net.merge, ChosenInputs) and len(net.blocks) == 0


def test_config_rebuilds_the_space(space, tmp_path):
    config = space.config()
    import hashlib

    assert config == {"module": f"{Path(__file__).resolve()}:Net", "input_shape": [1, 8, 8], "module_args": [],
                      "module_kwargs": {}, "source_sha1": hashlib.sha1(open(__file__, "rb").read()).hexdigest()}
    again = get_space("model_space", **json.loads(json.dumps(config)))
    assert again.categorical_params() == space.categorical_params()
    import pickle

    assert pickle.loads(pickle.dumps(space)).config() == config  # pickled as its config, rebuilt on load
    # a class in a file is named by its path, and found again in a fresh process
    path = tmp_path / "user_net.py"
    path.write_text("from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice\n"
                    "class UserNet(nn.Module):\n"
                    "    def __init__(self, n=4):\n        super().__init__()\n"
                    "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
                    "        self.fc = nn.Linear(n, 2)\n"
                    "    def forward(self, x):\n        return self.fc(self.act(x))\n")
    user = ModelSpace(f"{path}:UserNet", input_shape=(3,), n=3)
    assert user.config()["module"] == f"{path}:UserNet" and user.config()["module_kwargs"] == {"n": 3}
    code = ("import json, sys; from nasforge.spaces import get_space; "
            "s = get_space('model_space', **json.loads(sys.argv[1])); print(s.format(s.default))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(user.config())], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "act=relu"


def test_a_module_file_imports_its_sibling_modules(tmp_path, monkeypatch):
    """As under ``python net.py``: its folder is on sys.path, in this process and in a fresh one (a spawned
    worker, resume, export), from any working directory. It was: No module named 'sibling_blocks'."""
    (tmp_path / "mymodel").mkdir()
    (tmp_path / "mymodel" / "sibling_blocks.py").write_text("from torch import nn\nACTS = [nn.ReLU(), nn.Tanh()]\n")
    (tmp_path / "mymodel" / "net.py").write_text(
        "from torch import nn\nfrom sibling_blocks import ACTS\nfrom nasforge.spaces.model_space import LayerChoice\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.act = LayerChoice(ACTS, label='act')\n"
        "    def forward(self, x):\n        return self.act(x)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    space = ModelSpace("mymodel/net.py:Net", input_shape=(2,))
    assert space.categorical_params() == {"act": ["relu", "tanh"]}
    code = ("import json, sys; from nasforge.spaces import get_space; "
            "s = get_space('model_space', **json.loads(sys.argv[1])); print(s.format(s.default))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(space.config())], capture_output=True, text=True,
                         cwd="/", check=True)
    assert out.stdout.strip() == "act=relu"


def test_space_module_takes_a_function_returning_a_module(tmp_path):
    """As documented ("any callable returning a module"); it was: 'make_net returned Net, not a SearchSpace'."""
    import argparse

    from nasforge.cli.options import load_space

    (tmp_path / "factory_net.py").write_text(
        "from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice\n"
        "class Net(nn.Module):\n    def __init__(self, num_classes):\n        super().__init__()\n"
        "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
        "        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64, num_classes))\n"
        "    def forward(self, x):\n        return self.head(self.act(x))\n"
        "def make_net(num_classes=10, in_channels=1):\n    return Net(num_classes)\n"
        "def neither():\n    return 3\n")
    args = argparse.Namespace(space="nb201", space_config=None, space_module=f"{tmp_path / 'factory_net.py'}:make_net",
                              data="digits", data_dir=None, seed=0, space_given=False)
    space = load_space(args)
    assert isinstance(space, ModelSpace) and space.config()["module"].endswith("factory_net.py:make_net")
    assert space.module_kwargs == {"num_classes": 10, "in_channels": 1} and space.output_shape == (10,)
    args.space_module = f"{tmp_path / 'factory_net.py'}:neither"
    with pytest.raises(UsageError, match="neither is not an nn.Module class or a function returning one"):
        load_space(args)


EDITED_NET = ("from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice, ValueChoice\n"
              "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
              "        width = ValueChoice([3, 4], label='width')\n"
              "        self.fc, self.out = nn.Linear(2, width), nn.Linear(width, 2)\n"
              "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
              "    def forward(self, x):\n        return self.out(self.act(self.fc(x)))\n")


def test_a_module_file_edited_since_it_was_recorded_is_refused_where_networks_are_built(tmp_path):
    """The config records the file's sha1: a network, a supernet or a saved network of the edited file is refused in
    one line (it was rebuilt silently from the new code); formatting still works; a record without one passes."""
    from nasforge.export import load_model, save_model

    path = tmp_path / "edited_net.py"
    path.write_text(EDITED_NET)
    space = ModelSpace(f"{path}:Net", input_shape=(2,))
    config = space.config()
    arch = space.parse("width=4|act=tanh")
    save_model(tmp_path / "saved", space.build(arch), model_name="model_space", arch=arch,
               model_kwargs={"space": config}, num_classes=2, in_channels=2, preprocessing={"input_shape": [2]})
    path.write_text(EDITED_NET.replace("nn.Tanh()", "nn.Sigmoid()"))  # same decisions, another network
    again = get_space("model_space", **config)
    assert again.format(arch) == "width=4|act=tanh"  # read-only use still works
    changed = "the module file .*edited_net.py changed since the study was trained; restore it or start a new search"
    for call in (lambda: again.build(arch), again.supernet):
        with pytest.raises(UsageError, match=changed):
            call()
    with pytest.raises(UsageError, match="the module file .*edited_net.py changed since the study was trained; "
                                         "restore the file as it was"):  # a new search is no fix for a saved network
        load_model(tmp_path / "saved")
    old_record = {k: v for k, v in config.items() if k != "source_sha1"}  # stored before fingerprints
    get_space("model_space", **old_record).build(arch)
    path.write_text(EDITED_NET.replace("[3, 4]", "[3, 5]"))  # a changed ValueChoice: stored genotypes do not fit
    for name in [n for n in sys.modules if n.startswith("_nasforge_user_edited_net_")]:
        del sys.modules[name]  # as a new process reads the file again
    with pytest.raises(UsageError, match="unknown candidate '4'.*the module's space changed: its file .* was edited"):
        get_space("model_space", **config).check(arch)


def test_a_relative_file_reference_is_stored_absolute(tmp_path, monkeypatch):
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "rel_net.py").write_text(
        "from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice\n"
        "class RelNet(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
        "    def forward(self, x):\n        return self.act(x)\n")
    monkeypatch.chdir(tmp_path)
    config = ModelSpace("nets/rel_net.py:RelNet", input_shape=(2,)).config()
    assert config["module"] == f"{(tmp_path / 'nets' / 'rel_net.py').resolve()}:RelNet"
    monkeypatch.chdir(tmp_path / "nets")  # found again from another working directory
    assert get_space("model_space", **config).format(get_space("model_space", **config).default) == "act=relu"



def test_a_study_stored_with_a_relative_reference_still_loads_with_its_space(tmp_path, monkeypatch):
    """Studies stored before references were made absolute recorded the path as typed."""
    from nasforge import Study
    from nasforge.spaces.model_space import space as space_module

    (tmp_path / "rel_net2.py").write_text(
        "from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice\n"
        "class RelNet(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
        "    def forward(self, x):\n        return self.act(x)\n")
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with monkeypatch.context() as old_code:
        old_code.setattr(space_module, "absolute_reference", lambda ref: ref)
        Study(ModelSpace("rel_net2.py:RelNet", input_shape=(2,)), "random", objectives="acc", seed=0,
              name="old", storage=url)
    loaded = Study.load("old", url, space=ModelSpace("rel_net2.py:RelNet", input_shape=(2,)))
    assert loaded.space.config()["module"].startswith(str(tmp_path.resolve()))
    with pytest.raises(UsageError, match="searches space 'model_space'"):
        Study.load("old", url, space=ModelSpace("rel_net2.py:RelNet", input_shape=(3,)))

def test_repr_names_the_class(space):
    assert repr(space) == f"ModelSpace(Net, decisions={len(space.decisions)}, size={space.size})"


def test_local_class_cannot_be_rebuilt_by_name():
    class Local(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label="act")

        def forward(self, x):
            return self.act(x)

    local = ModelSpace(Local, input_shape=(2,))
    with pytest.raises(UsageError, match="inside a function"):
        local.config()
    with pytest.raises(UsageError, match="inside a function.*save_dir cannot be used"):  # before any training
        local.evaluator("digits", save_dir="models")
    with pytest.raises(UsageError, match="not plain JSON"):
        local.evaluator("digits").spec()
    with pytest.raises(UsageError, match="pass space="):
        get_space("model_space")


def test_study_stores_and_reloads_the_space(space, tmp_path):
    from nasforge.experiment import Study

    def run(url):
        study = Study(space, "evolution", objectives="score", seed=0, name="ms", storage=url, population_size=4,
                      sample_size=2)
        for _ in range(6):
            trial = study.ask()
            study.tell(trial, {"score": float(space.encode([trial.arch])[0].sum())})
        return study

    url = f"sqlite:///{tmp_path / 'study.db'}"
    run(url)
    twin = run(None)
    loaded = Study.load("ms", url)
    assert isinstance(loaded.space, ModelSpace) and loaded.space.config() == space.config()
    assert [t.arch for t in loaded.trials] == [t.arch for t in twin.trials]
    assert loaded.ask().arch == twin.ask().arch  # the strategy continues exactly


def _strategies() -> list:
    from nasforge.strategies import available_strategies

    return [n for n in available_strategies() if n not in ("grid",)]


@pytest.mark.parametrize("name", _strategies())
def test_every_strategy_runs_on_a_model_space(space, name):
    """Valid, never-repeated proposals from every registered strategy (a linear score of the encoding)."""
    from nasforge.strategies import STRATEGIES, get_strategy

    weights = np.random.default_rng(0).normal(size=space.encode([space.default]).shape[1])
    multi = STRATEGIES.tags(name)["multi_objective"]
    strategy = get_strategy(name, space, seed=0)
    seen = []
    try:
        for _ in range(12):
            arch = strategy.ask()
            space.check(arch)
            score = float(space.encode([arch])[0] @ weights)
            strategy.tell(arch, (score, -score ** 2) if multi else score)
            seen.append(space.canonical_key(arch))
    except ImportError as exc:
        pytest.skip(f"strategy {name!r} needs an optional package: {exc}")
    tags = STRATEGIES.tags(name)
    if not name.startswith("optuna") and not tags.get("multi_fidelity"):
        # Optuna samplers may repeat (dedup=False, as plain Optuna); multi-fidelity ones promote
        assert len(set(seen)) == len(seen)


def test_grid_search_enumerates_the_space(space):
    from nasforge.strategies import get_strategy

    grid = get_strategy("grid", space, seed=0)
    archs = [grid.ask() for _ in range(10)]
    assert len(set(archs)) == 10


def test_supernet_matches_built_networks(space):
    from nasforge.oneshot.base import Supernet

    torch.manual_seed(0)
    supernet = space.supernet()
    assert isinstance(supernet, Supernet) and supernet.space is space
    assert len(supernet.partitions) == 2  # one per width; everything else shares weights
    weights_before = {k: v.clone() for k, v in supernet.state_dict().items()}
    x = torch.randn(4, 1, 8, 8)
    supernet.eval()
    rng = np.random.default_rng(0)
    for arch in [space.sample(rng) for _ in range(8)] + [space.default]:
        supernet.activate(arch)
        expected = supernet(x)
        net = space.build(arch)
        shared = supernet.subnet_state_dict(arch)
        net.load_state_dict(shared)  # strict: the names match exactly
        assert torch.allclose(net.eval()(x), expected, atol=1e-5), space.format(arch)
    stem = supernet.subnet_state_dict(space.parse("width=8|stem=conv5|depth=2|block0=0|block1=0|merge=1"))
    partition = supernet.partitions[1]
    assert stem["stem.0.weight"].data_ptr() == partition.stem.candidates[1][0].weight.data_ptr()  # no copy
    assert all(torch.equal(v, weights_before[k]) for k, v in supernet.state_dict().items())


def test_supernet_limits_partitions():
    class Wide(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, ValueChoice([1, 2, 3], label="a") * ValueChoice([1, 2, 3], label="b"))

        def forward(self, x):
            return self.fc(x).sum(1, keepdim=True)

    space = ModelSpace(Wide, input_shape=(2,))
    with pytest.raises(UsageError, match="9 partitions"):
        space.supernet(max_partitions=8)
    assert len(space.supernet().partitions) == 9


def test_repeat_depth_does_not_split_the_supernet():
    class Deep(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = Repeat(nn.Linear(3, 3), depth=ValueChoice([1, 2, 3], label="d"))

        def forward(self, x):
            return self.body(x)

    space = ModelSpace(Deep, input_shape=(3,))
    supernet = space.supernet()
    assert len(supernet.partitions) == 1 and len(supernet.partitions[0].body.blocks) == 3
    x = torch.randn(2, 3)
    for d in "123":
        arch = space.parse(f"d={d}")
        supernet.activate(arch)
        net = space.build(arch)
        net.load_state_dict(supernet.subnet_state_dict(arch))
        assert len(net.body) == int(d) and torch.allclose(net(x), supernet(x))


def test_creating_a_space_builds_no_network_per_repeat_depth(monkeypatch):
    """The depths are checked by the one forward with every candidate; one build and forward per depth value
    made creation quadratic in the depths (1..100: 17 s on 2 busy threads, 2.7 s after)."""
    class Deep(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = Repeat(lambda i: LayerChoice([nn.Linear(3, 3), nn.Identity()], label=f"b{i}"),
                               depth=ValueChoice(list(range(1, 31)), label="d"))
            width = ValueChoice([2, 4], label="width")
            self.out = nn.Sequential(nn.Linear(3, width), nn.Linear(width, 2))

        def forward(self, x):
            return self.out(self.body(x))

    built = []
    real = ModelSpace._instantiate
    monkeypatch.setattr(ModelSpace, "_instantiate", lambda self: built.append(1) or real(self))
    assert ModelSpace(Deep, input_shape=(3,)).size == 30 * 2 ** 31
    # discovery, width=4 (a value that is not only a depth is still built), width=4 with every block in use
    # (one build for all the blocks, no forward: whether an `if` on width leaves out a block's choice), and d=30
    # (one build, no forward: whether a choice's candidates depend on the depth)
    assert len(built) == 4


def test_training_evaluator_trains_a_model_space_network(space, torch_one_thread):
    from nasforge.evaluators import TrainingEvaluator
    from nasforge.experiment.evaluator_spec import build_evaluator
    from nasforge.training import count_params

    evaluator = space.evaluator("digits", fidelity={"epochs": 1, "data_fraction": 0.2}, latency_repeats=2)
    arch = space.parse("width=8|stem=conv3|depth=1|block0=0|block1=0|merge=1")
    result = evaluator.evaluate(arch)
    assert result.metrics["params"] == count_params(space.build(arch)) == result.metrics["trained_params"]
    assert result.metrics["flops"] > 0 and result.metrics["latency_ms"] > 0 and 0 <= result.metrics["val_acc"] <= 100
    spec = json.loads(json.dumps(evaluator.spec()))  # plain JSON: a stored study can rebuild it
    rebuilt = build_evaluator(spec)
    assert isinstance(rebuilt, TrainingEvaluator)
    assert rebuilt.build(arch)[0].stem[0].kernel_size == (3, 3)


def test_creating_a_space_leaves_the_seeded_generator_as_it_was():
    """Would fail: the first network a process built from a space config drew other starting weights, because
    creating the space (its probe networks) used up torch's freshly seeded generator."""
    import torch

    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    ModelSpace(Net, input_shape=(1, 8, 8))
    assert torch.equal(torch.rand(3), expected)


def test_data_must_match_the_space(space):
    from nasforge.models import create_model

    arch = space.default
    with pytest.raises(UsageError, match="3 input channel"):
        create_model("model_space", arch, num_classes=10, in_channels=3, space=space.config())
    with pytest.raises(UsageError, match="5 classes"):
        create_model("model_space", arch, num_classes=5, in_channels=1, space=space)
    with pytest.raises(UsageError, match="needs space="):
        create_model("model_space", arch, num_classes=10, in_channels=1)


def test_export_of_a_model_space_network_that_disagrees_with_its_model_json(space, tmp_path):
    from nasforge.export import load_model, save_model

    arch = space.default
    net = space.build(arch)
    info = dict(model_name="model_space", arch=arch, model_kwargs={"space": space.config()}, in_channels=1,
                preprocessing={"input_shape": [1, 8, 8]})
    save_model(tmp_path / "ok", net, num_classes=10, **info)
    assert load_model(tmp_path / "ok")[1]["num_classes"] == 10
    save_model(tmp_path / "old", net, num_classes=10, **{**info, "model_kwargs": {"C": 1, **info["model_kwargs"]}})
    load_model(tmp_path / "old")  # a model.json that recorded the unused C still loads
    shutil.copytree(tmp_path / "ok", tmp_path / "bad")  # save_model refuses it: model.json damaged afterwards
    record = json.loads((tmp_path / "bad" / "model.json").read_text())
    (tmp_path / "bad" / "model.json").write_text(json.dumps({**record, "num_classes": 5}))
    with pytest.raises(UsageError, match=r"model.json says the network has 5 classes, the model space's network "
                                         r"outputs shape \[10\]"):
        load_model(tmp_path / "bad")


@pytest.mark.slow
def test_process_workers_rebuild_the_space(space, tmp_path):
    """Worker processes (spawned) rebuild the space from the evaluator's JSON config."""
    from nasforge.experiment import Study

    evaluator = space.evaluator("digits", fidelity={"epochs": 1, "data_fraction": 0.1}, latency_repeats=1)
    study = Study(space, "random", objectives="val_acc", seed=0)
    study.optimize(evaluator, n_trials=2, n_workers=2, executor="process")
    assert len(study.completed()) == 2, [t.error for t in study.trials]


def test_relaxed_supernet_mixes_options(space):
    """One-hot weights give the single-path network; soft weights mix (DARTS), and zero-weight options never run."""
    from nasforge.oneshot.base import DifferentiableSupernet

    torch.manual_seed(0)
    supernet = space.supernet().eval()
    assert isinstance(supernet, DifferentiableSupernet)
    assert [len(a) for a in supernet.arch_parameters()] == [len(d) for d in space.decisions]
    x = torch.randn(2, 1, 8, 8)
    arch = space.parse("width=8|stem=conv5|depth=2|block0=0|block1=1|merge=1")
    supernet.activate(arch)
    expected = supernet(x)
    onehot = [torch.nn.functional.one_hot(torch.tensor(d.names.index(n)), len(d)).float()
              for d, n in zip(space.decisions, arch.genotype)]
    supernet.activate_weights(onehot)
    assert torch.allclose(supernet(x), expected, atol=1e-5)
    soft = [torch.softmax(a, 0) for a in supernet.arch_parameters()]
    supernet.activate_weights(soft)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reading a weight that needs a gradient does not warn
        mixed = supernet(x)
    assert mixed.shape == expected.shape and not torch.allclose(mixed, expected, atol=1e-3)
    mixed.sum().backward()
    assert all(a.grad is not None and a.grad.abs().sum() > 0 for a in supernet.arch_parameters())


def test_build_supernet_knows_model_spaces(space):
    from nasforge.oneshot import build_supernet
    from nasforge.spaces.model_space.supernet import ModelSpaceSupernet

    assert isinstance(build_supernet(space, 10, 1, C=16), ModelSpaceSupernet)
    with pytest.raises(UsageError, match="3 input channel"):
        build_supernet(space, 10, 3)
    with pytest.raises(UsageError, match="drop_path"):
        build_supernet(space, 10, 1, drop_path=0.1)


@pytest.mark.parametrize("method", ["spos", "darts", "gdas"])
def test_oneshot_trainers_run_on_a_model_space(space, method, torch_one_thread):
    from nasforge.data import load_dataset
    from nasforge.oneshot.trainer import OneShotConfig, derive_argmax, train_supernet

    data = load_dataset("digits").subset(0.1, seed=0)
    supernet = space.supernet()
    record = train_supernet(supernet, data, OneShotConfig(method=method, epochs=1, batch_size=32))
    assert record.history and np.isfinite(record.history[-1]["train_loss"])
    if method != "spos":
        space.check(derive_argmax(supernet))


def test_the_params_cost_of_a_model_space_uses_its_input_and_output_shapes(space):
    """make_cost("params", space) needs no in_channels for a 1-channel space (it defaulted to 3 and failed)."""
    from nasforge.strategies.model_based.costs import make_cost

    arch = space.parse("width=8|stem=conv5|depth=2|block0=0|block1=1|merge=1")
    assert make_cost("params", space)(arch) == sum(p.numel() for p in space.build(arch).parameters())


@pytest.mark.parametrize("module, match", [
    ("os:system", "posix.system, a builtin_function_or_method"),
    ("subprocess:run", "the function subprocess.run, not your own code"),
    ("collections:OrderedDict", "the class collections.OrderedDict, not an nn.Module"),
])
def test_a_stored_reference_runs_only_the_users_own_model_code(tmp_path, monkeypatch, module, match):
    """A study or a saved network names its space's module; one that names os:system ran it (with the stored
    arguments) when it was rebuilt. Now only an nn.Module class or a function of the user's own file runs."""
    marker = tmp_path / "PWNED"
    config = {"module": module, "input_shape": [1, 8, 8], "module_args": [f"touch {marker}"], "module_kwargs": {}}
    with pytest.raises(UsageError, match=rf"a stored space reference runs only your own model code .*'{module}' is "
                                         rf"{match}"):
        get_space("model_space", **config)  # as Study.load, resume, load_model and the supernet checkpoint do
    assert not marker.exists()
    path = tmp_path / "own.py"
    path.write_text("from torch import nn\nfrom json import loads\nfrom nasforge.spaces.model_space import LayerChoice"
                    "\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                    "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
                    "    def forward(self, x):\n        return self.act(x)\n"
                    "def make():\n    return Net()\n")
    for name in ("Net", "make"):  # the user's own class and function are rebuilt as before
        assert get_space("model_space", module=f"{path}:{name}", input_shape=[3]).format(Architecture(
            "model_space", ("tanh",))) == "act=tanh"
    with pytest.raises(UsageError, match="'loads', which .* binds by an import"):
        get_space("model_space", module=f"{path}:loads", input_shape=[3])  # imported into the file, not defined
    package = tmp_path / "mynets"  # a function a package of the user's re-exports from one of its modules
    package.mkdir()
    (package / "impl.py").write_text(path.read_text().replace("from json import loads\n", ""))
    (package / "__init__.py").write_text("from .impl import make\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert get_space("model_space", module="mynets:make", input_shape=[3]).size == 2


@pytest.mark.parametrize("body, name, match", [
    ("from os import system as Net\n", "Net", "'Net', which .* binds by an import"),
    ("import os as Net\n", "Net", "'Net', which .* binds by an import"),
    ("", "this:x", "'this:x' names a standard-library module"),
    ("", "pip.__main__:x", "names a __main__ module"),
])
def test_a_refused_stored_reference_runs_nothing(tmp_path, body, name, match):
    """A stored reference was refused only after its file ran (or its module was imported: 'this:x' printed the
    Zen of Python), so a record naming a payload file ran it although it said "refused". What can be checked
    without running anything is now checked first."""
    marker = tmp_path / "PWNED"
    path = tmp_path / "payload.py"
    path.write_text(f"open({str(marker)!r}, 'w').close()\n{body}")
    module = name if ":" in name else f"{path}:{name}"
    with pytest.raises(UsageError, match=rf"a stored space reference runs only your own model code .*{match}"):
        get_space("model_space", module=module, input_shape=[3])
    assert not marker.exists()
    assert "this" not in sys.modules


def test_a_stored_reference_to_a_name_the_file_assigns_is_checked_once_loaded(tmp_path):
    """An alias (DigitsCNN = _DigitsCNN) is the user's own model code: it loads; a name assigned something else is
    refused once the file ran (a file named by a reference is trusted like a script)."""
    from nasforge.spaces.model_space.reference import stored_reference

    path = tmp_path / "nets.py"
    path.write_text("from torch import nn\n\n\nclass _Net(nn.Module):\n    pass\n\n\nNet = _Net\n"
                    "Bad = __import__('os').getcwd\n")
    assert stored_reference(f"{path}:Net").__name__ == "_Net"
    with pytest.raises(UsageError, match="a stored space reference runs only your own model code"):
        stored_reference(f"{path}:Bad")


LAZY_NET = '''
from torch import nn
from nasforge.spaces.model_space import LayerChoice, ValueChoice


class LazyNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        w = ValueChoice([4, 8], label="w")
        self.c = LayerChoice({"k3": nn.LazyConv2d(w, 3, padding=1), "k1": nn.LazyConv2d(w, 1)}, label="conv")
        self.h = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LazyLinear(num_classes))

    def forward(self, x):
        return self.h(self.c(x))
'''


def test_lazy_modules_are_shaped_when_a_network_is_built(tmp_path, torch_one_thread):
    """nn.LazyConv2d / nn.LazyLinear passed every check, then every trial failed counting parameters ("Attempted
    to use an uninitialized parameter"). Built networks (and supernets) now have their parameters: they train,
    are saved and export."""
    from nasforge.export import export_model, load_model
    from nasforge.spaces.model_space.space import has_lazy

    (tmp_path / "lazy_net.py").write_text(LAZY_NET)
    space = ModelSpace(f"{tmp_path / 'lazy_net.py'}:LazyNet", input_shape=(1, 8, 8))
    arch = space.parse("w=8|conv=k3")
    net = space.build(arch)
    assert not has_lazy(net) and net.training and net.c.weight.shape == (8, 1, 3, 3)
    assert not has_lazy(space.supernet())
    result = space.evaluator("digits", train={"epochs": 1}, fidelity={"data_fraction": 0.1}, latency_repeats=1,
                             save_dir=tmp_path / "models").evaluate(arch)
    assert result.metrics["params"] == 8 * 9 + 8 + 8 * 10 + 10, result
    folder = result.user_attrs["model_dir"]
    model = load_model(folder)[0]
    scripted = torch.jit.load(str(export_model(folder, "torchscript", tmp_path / "m.pt")))
    x = torch.randn(3, 1, 8, 8)
    assert torch.allclose(scripted(x), model(x), atol=1e-5)
    for record in (f"{folder}/model.json", tmp_path / "m.pt.json"):  # was {"C": 1, "space": ...}: C was never used
        with open(record) as file:
            assert list(json.load(file)["model_kwargs"]) == ["space"]


@pytest.mark.parametrize("setting", [{"C": 64}, {"N": 3}, {"deploy": {"C": 64}}, {"fidelity": {"width": 2.0}},
                                     {"fidelity": {"cells": 3}}, {"model_kwargs": {"dropout": 0.5}}])
def test_evaluator_settings_a_model_space_network_does_not_take_are_refused(space, setting):
    """They were accepted and ignored (model_kwargs even written to model.json): the module sets its own size."""
    name = next(iter(setting))
    with pytest.raises(UsageError, match=rf"^{name}.*: a model-space network takes its (size|settings) from its "
                                         "module"):
        space.evaluator("digits", **setting)
    space.evaluator("digits", fidelity={"epochs": 1, "resolution": 8}, N=None, model_kwargs={})  # what applies


def test_model_kwargs_a_model_space_network_does_not_take_are_refused_by_the_training_evaluator(space):
    from nasforge.evaluators import TrainingEvaluator

    evaluator = TrainingEvaluator("digits", model_kwargs={"space": space.config(), "nope": 1})
    with pytest.raises(UsageError, match=r"model_kwargs \['nope'\]: the model_space network takes no such"):
        evaluator.build(space.default)


def test_oneshot_train_refuses_sizes_for_a_model_space(tmp_path, capsys):
    from nasforge.cli import main
    from model_space_sources import TINY_MODEL_SPACE

    (tmp_path / "net.py").write_text(TINY_MODEL_SPACE)
    for flags in (["--C", "64"], ["--N", "5"]):
        assert main(["oneshot", "train", "--space-module", f"{tmp_path / 'net.py'}:Net", *flags,
                     "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert "--C/--N: a model-space supernet is your module, which sets its own size" in err, err
    assert not (tmp_path / "out").exists()


def test_an_unknown_candidate_lists_the_names_and_their_case():
    """List candidates are named by their class, lower-cased for module instances (nn.GELU() is 'gelu') and as
    written for classes and functions (nn.Tanh is 'Tanh'), as documented."""

    class Names(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = LayerChoice([nn.ReLU(), nn.GELU()], label="a")
            self.b = LayerChoice([nn.Identity, nn.Tanh], label="b")

        def forward(self, x):
            return self.b(self.a(x))

    space = ModelSpace(Names, input_shape=(3,))
    assert space.categorical_params() == {"a": ["relu", "gelu"], "b": ["Identity", "Tanh"]}
    with pytest.raises(UsageError, match=r"choice 'a': unknown candidate 'GELU'; choose from \['relu', 'gelu'\] "
                                         r"\(names are case-sensitive: 'gelu'\?\)"):
        space.parse("a=GELU|b=Tanh")


@pytest.mark.parametrize("returned, message", [
    (lambda y, x: {"logits": y}, r"returned a dict \(keys \['logits'\]\)"),
    (lambda y, x: (y, x), "returned a tuple of 2"),
    (lambda y, x: None, "returned NoneType"),
])
def test_a_network_must_return_one_tensor(returned, message):
    class Multi(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = LayerChoice([nn.Flatten(), nn.Flatten()], label="head")

        def forward(self, x):
            return returned(self.head(x)[:, :10], x)

    with pytest.raises(UsageError, match=f"Multi: forward must return one tensor, the class scores .*; it {message}"):
        ModelSpace(Multi, input_shape=(1, 8, 8))
