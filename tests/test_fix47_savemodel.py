"""save_model, reviewed 2027-01: arguments that do not describe the network (model_kwargs, architecture, num_classes,
class names) were written, and only load_model or an export found out, after the training ("does not fit the
network in model.json"). Now save_model refuses them in one UsageError naming what is wrong, and writes nothing."""

import json

import pytest
import torch

from nasforge.exceptions import UsageError
from nasforge.export import load_model, read_info, save_model
from nasforge.models import create_model
from nasforge.spaces import ChainSpace, get_space

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SPACE = ChainSpace([["conv3", "skip"], ["conv3", "conv5"]], name="tiny")
ARCH = SPACE.parse("conv3|conv5")
DIGITS = {"input_shape": [1, 8, 8], "scale": 1 / 16, "mean": [0.0], "std": [1.0],
          "class_names": [str(i) for i in range(10)]}
REFUSED = r"^cannot save the network in \S+, nothing was written: "


def _net():
    torch.manual_seed(0)
    return create_model("chain", ARCH, num_classes=10, in_channels=1, C=4)


def _args(**changes):
    """save_model's keyword arguments for :func:`_net`, with ``changes``."""
    return {"model_name": "chain", "arch": ARCH, "model_kwargs": {"C": 4}, "num_classes": 10, "in_channels": 1,
            "preprocessing": DIGITS, **changes}


@pytest.mark.parametrize(("changes", "message"), [
    ({"model_kwargs": {"C": 8}}, r"the model's weights do not fit the network model_name, arch, model_kwargs, "
                                 r"num_classes and in_channels describe \(load_model rebuilds that one\): \S+: "
                                 r"\[8, 1, 3, 3\] in model.json vs \[4, 1, 3, 3\] in the model \(and \d+ more"),
    ({"arch": SPACE.parse("conv3|conv3")}, r"the model's weights do not fit .*: \S+: \[4, 4, 3, 3\] in model.json vs "
                                           r"\[4, 4, 5, 5\] in the model"),
    ({"num_classes": 7, "preprocessing": {**DIGITS, "class_names": list("abcdefg")}},
     r"the model's weights do not fit .*\S+\.weight: \[7, \d+\] in model.json vs \[10, \d+\] in the model"),
    ({"preprocessing": {**DIGITS, "class_names": ["a"]}},
     r"model.json: field 'preprocessing.class_names' must be a list of 10 class name\(s\) \(num_classes\)"),
    ({"preprocessing": {**DIGITS, "input_shape": [1, 8]}},
     r"model.json: field 'preprocessing.input_shape' must be \[channels, height, width\]"),
    ({"model_kwargs": {"C": 4, "width": 2}}, r"model.json: cannot rebuild the network .*bad parameters for model "
                                             r"'chain'.*width"),
    ({"model_name": "nb201"}, r"model.json: cannot rebuild the network .*cannot be built from an architecture of "
                              r"space 'tiny'"),
], ids=["model_kwargs", "arch", "num_classes", "class_names", "input_shape", "unknown_kwarg", "model_name"])
def test_arguments_that_do_not_describe_the_network_are_refused_before_anything_is_written(tmp_path, changes,
                                                                                          message):
    """Each was saved, and load_model refused the folder (the first three as weights that do not fit)."""
    with pytest.raises(UsageError, match=REFUSED + message):
        save_model(tmp_path / "net", _net(), **_args(**changes))
    assert list(tmp_path.iterdir()) == []  # no folder, no staging folder


@pytest.mark.parametrize(("name", "value", "message"), [
    ("model", {"conv.weight": torch.zeros(1)}, "model must be a torch nn.Module, got dict"),
    ("model_name", None, r"model_name must be a registered model name \(str\), got NoneType"),
    ("arch", "conv3|conv5", "arch must be an Architecture, got str 'conv3|conv5'"),
    ("model_kwargs", None, "model_kwargs must be a dict of create_model's keyword arguments, got NoneType"),
    ("preprocessing", [1, 8, 8], r"preprocessing must be a dict \(ImageDataset.preprocessing\(\)\), got list"),
    ("metrics", [("acc", 1.0)], "metrics must be a dict of metric values or None, got list"),
    ("num_classes", "10", "num_classes must be an integer >= 1, got '10'"),
    ("in_channels", 0, "in_channels must be an integer >= 1, got 0"),
    ("folder", "", "folder must name the folder to save the network in"),
])
def test_an_argument_of_the_wrong_type_is_one_usage_error_naming_it(tmp_path, name, value, message):
    args = {"folder": tmp_path / "net", "model": _net(), **_args()}
    with pytest.raises(UsageError, match=message):
        save_model(**{**args, name: value})
    assert list(tmp_path.iterdir()) == []


def test_a_refused_save_leaves_an_existing_folder_as_it_was(tmp_path):
    folder = save_model(tmp_path / "net", _net(), metrics={"acc": 1.0}, **_args())
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    wider = create_model("chain", ARCH, num_classes=10, in_channels=1, C=8)
    for new_folder in (False, True):
        with pytest.raises(UsageError, match=REFUSED + "the model's weights do not fit"):
            save_model(folder, wider, new_folder=new_folder, **_args())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net"]  # no net-2, no staging folder
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_a_network_saved_with_its_own_arguments_loads_and_the_callers_random_state_is_kept(tmp_path):
    net = _net().eval()
    torch.manual_seed(5)
    state = torch.random.get_rng_state()
    folder = save_model(tmp_path / "net", net, **_args())
    assert torch.equal(torch.random.get_rng_state(), state)  # the check's rebuild draws no numbers of the caller's
    model, info = load_model(folder)
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(model(x), net(x)) and info["model_kwargs"] == {"C": 4}


def test_an_nb101_network_is_checked_as_it_was_built(tmp_path):
    """canonical comes from the network (as before); the rebuild uses it, so either wiring saves and loads alike."""
    cell = ("ops=input,conv3x3-bn-relu,conv1x1-bn-relu,maxpool3x3,maxpool3x3,conv3x3-bn-relu,output;"
            "matrix=0110110/0001001/0000000/0000100/0000001/0000001/0000000")  # canonical: other channel counts
    arch = get_space("nb101").parse(cell)
    for canonical in (True, False):
        net = create_model("nb101", arch, num_classes=3, in_channels=1, C=8, N=1, canonical=canonical).eval()
        folder = save_model(tmp_path / f"net-{canonical}", net, model_name="nb101", arch=arch,
                            model_kwargs={"C": 8, "N": 1}, num_classes=3, in_channels=1,
                            preprocessing={"input_shape": [1, 8, 8]})
        assert read_info(folder)["model_kwargs"] == {"canonical": canonical, "C": 8, "N": 1}
        x = torch.randn(2, 1, 8, 8)
        assert torch.equal(load_model(folder)[0](x), net(x))
    with pytest.raises(UsageError, match=REFUSED + "the model's weights do not fit"):
        save_model(tmp_path / "wide", net, model_name="nb101", arch=arch, model_kwargs={"C": 16, "N": 1},
                   num_classes=3, in_channels=1, preprocessing={"input_shape": [1, 8, 8]})
    assert not (tmp_path / "wide").exists()


def test_a_model_space_network_with_other_classes_than_its_module_is_refused(tmp_path):
    from nasforge.spaces.model_space import ModelSpace

    (tmp_path / "fix47_net.py").write_text(
        "from torch import nn\n"
        "from nasforge.spaces.model_space import LayerChoice\n\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
        "        self.lin = nn.Linear(64, 10)\n\n"
        "    def forward(self, x):\n"
        "        return self.lin(self.act(x.flatten(1)))\n")
    space = ModelSpace(f"{tmp_path / 'fix47_net.py'}:Net", input_shape=(1, 8, 8))
    with pytest.raises(UsageError, match=REFUSED + r"model.json: cannot rebuild .*5 classes"):
        save_model(tmp_path / "net", space.build(space.default), model_name="model_space", arch=space.default,
                   model_kwargs={"space": space.config()}, num_classes=5, in_channels=1,
                   preprocessing={"input_shape": [1, 8, 8]})
    assert not (tmp_path / "net").exists()
    saved = save_model(tmp_path / "net", space.build(space.default), model_name="model_space", arch=space.default,
                       model_kwargs={"space": space.config()}, num_classes=10, in_channels=1,
                       preprocessing={"input_shape": [1, 8, 8]})
    assert json.loads((saved / "model.json").read_text())["num_classes"] == 10


def test_a_model_space_save_uses_the_space_made_here_and_caches_nothing(tmp_path):
    """A file edited after the network was built still saves (the record names the code it was trained with), and
    a load in the same process then refuses it as a new process would: the save imported nothing."""
    from nasforge.export import load_model
    from nasforge.spaces.model_space import ModelSpace
    from nasforge.spaces.model_space import space as space_module

    path = tmp_path / "made47.py"
    path.write_text("from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice\n\n\n"
                    "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                    "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
                    "        self.lin = nn.Linear(64, 10)\n\n    def forward(self, x):\n"
                    "        return self.lin(self.act(x.flatten(1)))\n")
    space = ModelSpace(f"{path}:Net", input_shape=(1, 8, 8))
    network = space.build(space.default)
    path.write_text(path.read_text().replace("nn.Tanh()", "nn.Sigmoid()"))
    cached = dict(space_module._CACHE)
    save_model(tmp_path / "net", network, model_name="model_space", arch=space.default,
               model_kwargs={"space": space.config()}, num_classes=10, in_channels=1,
               preprocessing={"input_shape": [1, 8, 8]})
    assert space_module._CACHE == cached
    with pytest.raises(UsageError, match="changed"):
        load_model(tmp_path / "net")


def test_mappings_and_whole_float_counts_are_taken_as_before(tmp_path):
    from types import MappingProxyType

    from nasforge import get_space
    from nasforge.models import create_model

    space = get_space("nb201")
    arch = space.sample(0)
    net = create_model("nb201", arch, num_classes=10, in_channels=1, C=4, N=1)
    saved = save_model(tmp_path / "net", net, model_name="nb201", arch=arch, model_kwargs={"C": 4, "N": 1},
                       num_classes=10.0, in_channels=1, preprocessing=MappingProxyType({"input_shape": [1, 8, 8]}),
                       metrics=MappingProxyType({"acc": 1.0}))
    info = json.loads((saved / "model.json").read_text())
    assert info["num_classes"] == 10 and info["metrics"] == {"acc": 1.0}
    with pytest.raises(UsageError, match=r"save_model: num_classes must be an integer >= 1, got 2.5; nothing was"):
        save_model(tmp_path / "other", net, model_name="nb201", arch=arch, model_kwargs={"C": 4, "N": 1},
                   num_classes=2.5, in_channels=1, preprocessing={"input_shape": [1, 8, 8]})


def test_a_model_space_whose_settings_json_cannot_sort_is_still_made(tmp_path):
    """Would fail: a dict with int and str keys (unquoted YAML keys) crashed ModelSpace() with a TypeError."""
    from nasforge.spaces.model_space import ModelSpace

    path = tmp_path / "keys47.py"
    path.write_text("from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice\n\n\n"
                    "class Net(nn.Module):\n    def __init__(self, widths):\n        super().__init__()\n"
                    "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
                    "        self.lin = nn.Linear(64, widths[1])\n\n    def forward(self, x):\n"
                    "        return self.lin(self.act(x.flatten(1)))\n")
    space = ModelSpace(f"{path}:Net", input_shape=(1, 8, 8), widths={1: 10, "stem": 8})
    assert space.size == 2
