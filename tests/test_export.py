"""Saved networks (safetensors + model.json) and their export: ONNX (onnxruntime), TorchScript and safetensors
give the same outputs as the network nasforge trained, on the same inputs."""

import json

import numpy as np
import pytest
import torch

from nasforge.cli import main
from nasforge.evaluators import TrainingEvaluator
from nasforge.exceptions import UsageError
from nasforge.export import SUFFIXES, export_model, load_model, read_info
from nasforge.models import create_model
from nasforge.spaces import ChainSpace, get_space

pytestmark = pytest.mark.usefixtures("torch_one_thread")

NB201 = get_space("nb201")
DIGITS = {"input_shape": [1, 8, 8], "scale": 1 / 16, "mean": [0.0], "std": [1.0],
          "class_names": [str(i) for i in range(10)]}  # what an export needs of a saved network's preprocessing
ARCH = NB201.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A network trained (briefly) and saved by the TrainingEvaluator, as stage 2 of nasforge search does."""
    folder = tmp_path_factory.mktemp("models")
    evaluator = TrainingEvaluator("digits", C=4, N=1, train={"epochs": 2}, fidelity={"data_fraction": 0.3},
                                  threads=1, merge_val=True, save_dir=str(folder))
    result = evaluator.evaluate(ARCH)
    return result, evaluator


def test_evaluator_saves_weights_architecture_preprocessing_and_metrics(saved):
    result, _ = saved
    info = read_info(result.user_attrs["model_dir"])
    assert info["model"] == "nb201" and info["model_kwargs"] == {"C": 4, "N": 1}
    assert NB201.format(NB201.check(__import__("nasforge").spaces.Architecture.from_json(info["architecture"]))) \
        == NB201.format(ARCH)
    pre = info["preprocessing"]
    assert pre["input_shape"] == [1, 8, 8] and pre["scale"] == 1 / 16 and len(pre["mean"]) == len(pre["std"]) == 1
    assert pre["class_names"] == [str(i) for i in range(10)]
    assert info["metrics"]["test_acc"] == result.metrics["test_acc"]


def test_reloaded_network_reproduces_the_test_accuracy(saved):
    result, evaluator = saved
    model, info = load_model(result.user_attrs["model_dir"])
    data = evaluator.dataset()
    with torch.no_grad():
        accuracy = 100.0 * int((model(data.x_test).argmax(1) == data.y_test).sum()) / len(data.y_test)
    assert accuracy == result.metrics["test_acc"]


def _inputs(info, n=16):
    return torch.randn(n, *info["preprocessing"]["input_shape"], generator=torch.Generator().manual_seed(1))


def test_onnx_export_matches_pytorch(saved, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    folder = saved[0].user_attrs["model_dir"]
    model, info = load_model(folder)
    path = export_model(folder, "onnx", tmp_path / "net.onnx")
    x = _inputs(info)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ours = model(x).detach().numpy()
    theirs = session.run(["logits"], {"input": x.numpy()})[0]
    diff = float(np.abs(ours - theirs).max())
    print(f"ONNX max abs output difference vs PyTorch: {diff:.3g}")
    assert diff < 1e-4 and (ours.argmax(1) == theirs.argmax(1)).all()
    sidecar = json.loads((tmp_path / "net.onnx.json").read_text())
    assert sidecar["preprocessing"] == {**info["preprocessing"], "pixel_max": 16.0} and sidecar["input_name"] == "input"


def test_torchscript_and_safetensors_exports_run_with_plain_pytorch(saved, tmp_path):
    from safetensors.torch import load_file

    folder = saved[0].user_attrs["model_dir"]
    model, info = load_model(folder)
    x = _inputs(info)
    expected = model(x).detach()
    scripted = torch.jit.load(str(export_model(folder, "torchscript", tmp_path)))  # a folder: model.pt inside
    assert torch.allclose(scripted(x), expected, atol=1e-6)
    weights = export_model(folder, "safetensors", tmp_path / "w.safetensors")
    meta = json.loads((tmp_path / "w.safetensors.json").read_text())
    from nasforge.spaces import Architecture  # the documented loader: rebuild, then load the weights

    rebuilt = create_model(meta["model"], Architecture.from_json(meta["architecture"]), num_classes=meta["num_classes"],
                           in_channels=meta["in_channels"], **meta["model_kwargs"])
    rebuilt.load_state_dict(load_file(str(weights)))
    assert torch.equal(rebuilt.eval()(x), expected)


def test_chain_network_of_a_named_space_round_trips(tmp_path):
    from nasforge.export import save_model

    space = ChainSpace([["conv3", "mbconv_e3_k3"], ["skip", "conv5"]], name="mine")
    arch = space.parse("mbconv_e3_k3|conv5")
    torch.manual_seed(0)
    net = create_model("chain", arch, num_classes=3, in_channels=1, C=4).eval()
    save_model(tmp_path, net, model_name="chain", arch=arch, model_kwargs={"C": 4}, num_classes=3, in_channels=1,
               preprocessing={"input_shape": [1, 8, 8]})
    model, _ = load_model(tmp_path)
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(model(x), net(x))


def test_damaged_or_foreign_folders_are_clear_errors(saved, tmp_path):
    with pytest.raises(UsageError, match="not a saved nasforge network"):
        load_model(tmp_path)
    folder = saved[0].user_attrs["model_dir"]
    (tmp_path / "model.json").write_text((__import__("pathlib").Path(folder) / "model.json").read_text())
    torch.save({"x": torch.zeros(1)}, tmp_path / "model.safetensors")  # a pickle where safetensors belong
    with pytest.raises(UsageError, match="not a readable safetensors file"):
        load_model(tmp_path)
    with pytest.raises(UsageError, match="unknown export format"):
        export_model(folder, "pickle", tmp_path / "x")


def test_export_cli_picks_a_saved_network_and_names_bad_input(saved, tmp_path, capsys):
    folder = saved[0].user_attrs["model_dir"]
    assert main(["export", folder, "--format", "torchscript", "--out", str(tmp_path / "m.pt")]) == 0
    assert (tmp_path / "m.pt").is_file() and "exported" in capsys.readouterr().out
    for source in (tmp_path / "nothing", tmp_path / ("a" * 300)):
        assert main(["export", str(source), "--out", str(tmp_path / "x.onnx")]) == 2
        assert "neither a saved network" in capsys.readouterr().err
    assert main(["export", f"{folder}/model.json", "--out", str(tmp_path / "x.onnx")]) == 2  # was: "neither ..."
    assert f"is a saved network's model.json: pass its folder, {folder}" in capsys.readouterr().err
    assert main(["export", folder, "--format", "pickle", "--out", str(tmp_path / "x")]) == 2
    assert "invalid choice: 'pickle'" in capsys.readouterr().err


def _databases(folder):
    """A stored study without retrains, and missing, empty and truncated database files beside it."""
    from nasforge import Study

    good = f"sqlite:///{folder / 'good.db'}"
    Study(NB201, "random", objectives="acc", seed=0, name="s", storage=good).storage.close()
    (folder / "empty.db").write_bytes(b"")
    (folder / "trunc.db").write_bytes((folder / "good.db").read_bytes()[:5000])
    return {"good.db": "has no retrained network saved", "typo.db": "no database file",
            "empty.db": "is an empty database", "trunc.db": "malformed"}


def test_export_from_a_storage_opens_it_read_only(tmp_path):
    from nasforge.exceptions import StorageError
    from nasforge.export import find_saved_network

    cases = _databases(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for name, message in cases.items():
        with pytest.raises((UsageError, StorageError), match=message):
            find_saved_network("s", storage=f"sqlite:///{tmp_path / name}")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing created, nothing changed


def test_export_names_a_bad_storage_in_one_line_with_status_2(tmp_path, capsys):
    import sqlite3

    cases = _databases(tmp_path)
    (tmp_path / "newer.db").write_bytes((tmp_path / "good.db").read_bytes())
    with sqlite3.connect(tmp_path / "newer.db") as raw:
        raw.execute("UPDATE nasforge_meta SET value = '99' WHERE key = 'schema_version'")
    cases["newer.db"] = "schema version 99, newer"
    for name, message in cases.items():
        assert main(["export", "s", "--storage", f"sqlite:///{tmp_path / name}", "--out", str(tmp_path / "x.onnx")]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err


def test_another_training_never_replaces_a_saved_network(tmp_path):
    """The folder is keyed on the whole training (here the epochs), and a rerun of the same job finds its own."""
    def train(epochs):
        ev = TrainingEvaluator("digits", C=4, N=1, train={"epochs": epochs}, fidelity={"data_fraction": 0.2},
                               threads=1, latency_repeats=1, save_dir=str(tmp_path))
        return ev.evaluate(ARCH).user_attrs["model_dir"]

    first, second, again = train(1), train(2), train(1)
    assert first != second and again == first
    assert read_info(first)["metrics"]["epochs"] == 1 and read_info(second)["metrics"]["epochs"] == 2


def test_save_model_keeps_what_is_stored(tmp_path):
    from nasforge.export import save_model

    space = ChainSpace([["conv3", "skip"]], name="tiny")
    arch = space.parse("conv3")
    nets = [create_model("chain", arch, num_classes=3, in_channels=1, C=4) for _ in range(2)]
    kwargs = dict(model_name="chain", arch=arch, model_kwargs={"C": 4}, num_classes=3, in_channels=1,
                  preprocessing={"input_shape": [1, 8, 8]})
    folder = tmp_path / "net"
    assert save_model(folder, nets[0], metrics={"acc": 1.0}, **kwargs) == folder
    before = (folder / "model.safetensors").read_bytes()
    assert save_model(folder, nets[0], metrics={"acc": 2.0}, **kwargs) == folder  # the same network: kept as is
    with pytest.raises(UsageError, match="already holds a different network"):
        save_model(folder, nets[1], **kwargs)
    assert (folder / "model.safetensors").read_bytes() == before and read_info(folder)["metrics"] == {"acc": 1.0}
    assert save_model(folder, nets[1], new_folder=True, **kwargs) == tmp_path / "net-2"
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep")
    with pytest.raises(UsageError, match="other files"):
        save_model(tmp_path / "notes", nets[0], **kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net", "net-2", "notes"]  # no staging folder left


def test_export_never_replaces_files_or_the_source(saved, tmp_path, capsys):
    folder = saved[0].user_attrs["model_dir"]
    notes = tmp_path / "notes.txt"
    notes.write_text("precious")
    for fmt, out, extra, message in [("safetensors", notes, [], "the file exists"),
                                     ("safetensors", folder, ["--overwrite"], "inside the saved network"),
                                     ("torchscript", f"{folder}/model.json", ["--overwrite"],
                                      "inside the saved network"),
                                     ("onnx", notes / "model.onnx", [], "notes.txt is a file, not a folder"),
                                     ("onnx", "/proc/nope/model.onnx", [], "cannot be created"),
                                     ("onnx", tmp_path / ("a" * 300 + ".onnx"), [], "File name too long"),
                                     ("onnx", tmp_path / ("a" * 300) / "m.onnx", [], "File name too long")]:
        assert main(["export", folder, "--format", fmt, "--out", str(out), *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert notes.read_text() == "precious" and read_info(folder)["model"] == "nb201"
    load_model(folder)  # the source is intact
    out = tmp_path / "exports"
    assert main(["export", folder, "--format", "torchscript", "--out", f"{out}/"]) == 0  # a new folder
    (out / "model.pt.json").rename(out / "sidecar")
    (out / "model.pt").unlink()
    (out / "sidecar").rename(out / "model.pt.json")  # a sidecar alone is refused too
    assert main(["export", folder, "--format", "torchscript", "--out", str(out)]) == 2
    assert "model.pt.json refused: the file exists" in capsys.readouterr().err
    assert main(["export", folder, "--format", "torchscript", "--out", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["model.pt", "model.pt.json"]


def test_an_out_without_a_suffix_is_a_folder_only_when_it_says_so(saved, tmp_path, capsys):
    """Would fail without the rule: --out noext silently made a folder noext/model.onnx, and --out /dev/null said
    "cannot export to /dev/null/model.onnx" (a path the user never gave)."""
    folder = saved[0].user_attrs["model_dir"]
    for out, message in [(tmp_path / "noext", f"export to {tmp_path / 'noext'} refused: it is not a folder and has "
                          f"no suffix; name the onnx file {tmp_path / 'noext'}.onnx, or a new folder "
                          f"{tmp_path / 'noext'}/ (with the trailing /) to receive model.onnx"),
                         ("/dev/null", "export to /dev/null refused: it exists and is not a folder")]:
        assert main(["export", folder, "--format", "onnx", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "noext").exists()
    assert main(["export", folder, "--format", "safetensors", "--out", f"{tmp_path / 'noext'}/"]) == 0
    assert (tmp_path / "noext" / "model.safetensors").is_file()
    from nasforge.export import export_model

    assert export_model(folder, "safetensors", tmp_path / "as_path") == tmp_path / "as_path" / "model.safetensors"


@pytest.mark.parametrize("field,value,message", [
    ("architecture", "x", "field 'architecture' must be an object"),
    ("model_kwargs", [1], "field 'model_kwargs' must be an object"),
    ("preprocessing", {"scale": 1.0}, "field 'preprocessing.input_shape' must be a list"),
    ("preprocessing", {"input_shape": "1,8,8"}, "field 'preprocessing.input_shape' must be a list"),
    ("num_classes", "10", "field 'num_classes' must be a positive integer"),
    ("model", "nope", "cannot rebuild the network"),
    ("model_kwargs", {"C": "x", "N": 1}, "cannot rebuild the network"),
    # the allocator's RuntimeError was a traceback (2**50 channels outgrow any address space: no memory is used)
    ("model_kwargs", {"C": 2 ** 50, "N": 1}, f"cannot build the network of its model_kwargs {{'C': {2 ** 50}, 'N'"),
])
def test_a_damaged_model_json_is_one_clear_line(saved, tmp_path, capsys, field, value, message):
    import shutil

    folder = tmp_path / "net"
    shutil.copytree(saved[0].user_attrs["model_dir"], folder)
    info = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**info, field: value}))
    assert main(["export", str(folder), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert message in err and str(folder / "model.json") in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "m.onnx").exists()


BATCH_BAKED = '''
import torch
from torch import nn
from nasforge.spaces.model_space import LayerChoice


class Bake(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = LayerChoice({"k3": nn.Conv2d(1, 4, 3, padding=1), "k1": nn.Conv2d(1, 4, 1)}, label="k")
        self.head = nn.Linear(4 * 64, 10)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        return self.head(y.reshape(len(y), -1) if FLATTEN == "len" else y.flatten(1))
'''


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_an_export_that_works_only_at_the_traced_batch_size_is_refused(tmp_path, capsys, fmt):
    """``reshape(len(y), -1)`` is a constant 1 in a trace at batch 1: the file was written, and failed (or was
    wrong) at any other batch size. Now nothing is written, in one line; a forward with ``flatten(1)`` exports."""
    pytest.importorskip("onnx")
    from nasforge.export import save_model
    from nasforge.spaces.model_space import ModelSpace

    for flatten in ("len", "flatten"):
        (tmp_path / f"{flatten}.py").write_text(BATCH_BAKED.replace("FLATTEN", repr(flatten)))
        space = ModelSpace(f"{tmp_path / flatten}.py:Bake", input_shape=(1, 8, 8))
        save_model(tmp_path / flatten, space.build(space.default), model_name="model_space", arch=space.default,
                   model_kwargs={"space": space.config()}, num_classes=10, in_channels=1, preprocessing=DIGITS)
    out = tmp_path / "exported"
    assert main(["export", str(tmp_path / "len"), "--format", fmt, "--out", f"{out}/"]) == 2
    err = capsys.readouterr().err
    assert "does not match the PyTorch one at batch size 3" in err and len(err.strip().splitlines()) == 1
    assert "branches on the data" in err and "fixes the batch size" in err  # both causes it may have
    assert not out.exists()  # not even the folder it would have written to
    assert main(["export", str(tmp_path / "flatten"), "--format", fmt, "--out", f"{out}/"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([f"model{SUFFIXES[fmt]}", f"model{SUFFIXES[fmt]}.json"])


@pytest.mark.parametrize("cell", [
    "ops=input,conv3x3-bn-relu,conv1x1-bn-relu,maxpool3x3,maxpool3x3,conv3x3-bn-relu,output;"
    "matrix=0110110/0001001/0000000/0000100/0000001/0000001/0000000",  # other channel counts than its canonical form
    "ops=input,conv1x1-bn-relu,maxpool3x3,conv1x1-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,output;"
    "matrix=0101001/0000011/0001100/0000010/0000010/0000001/0000000",  # the same tensor shapes, wired otherwise
])
def test_an_nb101_network_saved_before_canonical_cells_loads_in_its_own_node_order(tmp_path, cell):
    """NB101 networks are built from the canonical cell now, and model.json says so; a file saved earlier has no
    such entry and loads built in its given node order, whether or not its weights would fit the canonical one."""
    from nasforge.export import save_model

    arch = get_space("nb101").parse(cell)
    old = create_model("nb101", arch, num_classes=3, in_channels=1, C=8, N=1, canonical=False)
    save_model(tmp_path, old, model_name="nb101", arch=arch, model_kwargs={"C": 8, "N": 1}, num_classes=3,
               in_channels=1, preprocessing={"input_shape": [1, 8, 8]})
    info = json.loads((tmp_path / "model.json").read_text())
    assert info["model_kwargs"] == {"canonical": False, "C": 8, "N": 1}  # as it was built
    del info["model_kwargs"]["canonical"]  # as the previous version wrote it
    (tmp_path / "model.json").write_text(json.dumps(info))
    loaded, _ = load_model(tmp_path)
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(loaded(x), old.eval()(x))


SPACE_NETS = '''
import torch
from torch import nn
from nasforge.spaces.model_space import LayerChoice


class Fourier(nn.Module):  # torch.fft has no ONNX operator
    def __init__(self):
        super().__init__()
        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label="act")
        self.lin = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.fft.rfft(x.flatten(1)).abs()
        return self.lin(self.act(torch.cat([x, x], 1)[:, :64]))


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label="act")
        self.lin = nn.Linear(64, 10)

    def forward(self, x):
        return self.lin(self.act(x.flatten(1)))
'''


def _saved_space_net(tmp_path, name):
    """A model-space network of SPACE_NETS saved in ``tmp_path / name``."""
    from nasforge.export import save_model
    from nasforge.spaces.model_space import ModelSpace

    (tmp_path / "space_nets.py").write_text(SPACE_NETS)
    space = ModelSpace(f"{tmp_path / 'space_nets.py'}:{name}", input_shape=(1, 8, 8))
    return save_model(tmp_path / name, space.build(space.default), model_name="model_space", arch=space.default,
                      model_kwargs={"space": space.config()}, num_classes=10, in_channels=1,
                      preprocessing=DIGITS)


def test_an_operator_onnx_lacks_is_one_line_suggesting_torchscript(tmp_path, capfd):
    """torch.fft.rfft: the exporter printed its whole Torch IR graph, then a traceback (exit 1)."""
    pytest.importorskip("onnx")
    folder = _saved_space_net(tmp_path, "Fourier")
    out = tmp_path / "exported" / "m.onnx"
    assert main(["export", str(folder), "--format", "onnx", "--out", str(out)]) == 2
    captured = capfd.readouterr()
    assert "aten::fft_rfft" in captured.err and "--format torchscript" in captured.err, captured.err
    assert len(captured.err.strip().splitlines()) == 1 and captured.out == ""  # no graph dump
    assert not (tmp_path / "exported").exists()
    assert main(["export", str(folder), "--format", "torchscript", "--out", str(out.with_suffix(".pt"))]) == 0


def test_a_moved_model_space_module_is_named_as_the_one_the_network_was_built_from(tmp_path, capsys):
    """Would fail without the check: the message was only 'no such Python file: X'."""
    folder = _saved_space_net(tmp_path, "Plain")
    (tmp_path / "space_nets.py").rename(tmp_path / "moved.py")
    assert main(["export", str(folder), "--format", "safetensors", "--out", str(tmp_path / "m.safetensors")]) == 2
    err = capsys.readouterr().err
    assert (f"the network is built from the model-space module '{tmp_path / 'space_nets.py'}:Plain', whose file is "
            f"gone (no such Python file: {tmp_path / 'space_nets.py'}): restore it there") in err, err
    assert len(err.strip().splitlines()) == 1


def test_a_stored_module_reference_that_is_not_model_code_is_refused(tmp_path, capsys):
    """A received network folder whose model.json names os:system ran it (with the stored arguments) on export."""
    folder = _saved_space_net(tmp_path, "Plain")
    marker = tmp_path / "PWNED"
    info = json.loads((folder / "model.json").read_text())
    info["model_kwargs"]["space"] = {"module": "os:system", "input_shape": [1, 8, 8],
                                     "module_args": [f"touch {marker}"], "module_kwargs": {}}
    (folder / "model.json").write_text(json.dumps(info))
    assert main(["export", str(folder), "--format", "safetensors", "--out", f"{tmp_path / 'out'}/"]) == 2
    err = capsys.readouterr().err
    assert "a stored space reference runs only your own model code" in err and "'os:system'" in err, err
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_overwrite_replaces_only_a_previous_export(saved, tmp_path, capsys):
    """--overwrite replaced any file: another saved network's weights, a study database."""
    import shutil
    import sqlite3

    folder = saved[0].user_attrs["model_dir"]
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    sqlite3.connect(tmp_path / "study.db").execute("create table t (x)").connection.commit()
    (tmp_path / "study.db.json").write_text(json.dumps({"export_format": "onnx", "file": "study.db"}))  # forged
    (tmp_path / "notes.onnx").write_text("mine")
    before = {p: p.read_bytes() for p in (other / "model.safetensors", tmp_path / "study.db", tmp_path / "notes.onnx")}
    for fmt, out, message in [("safetensors", other, "inside the saved network"),
                              ("onnx", other / "sub" / "m.onnx", "inside the saved network"),
                              ("onnx", tmp_path / "study.db", "is not a previous export"),
                              ("onnx", tmp_path / "notes.onnx", "is not a previous export")]:
        assert main(["export", folder, "--format", fmt, "--out", str(out), "--overwrite"]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert {p: p.read_bytes() for p in before} == before and not (other / "sub").exists()
    out = tmp_path / "m.safetensors"
    assert main(["export", folder, "--format", "safetensors", "--out", str(out)]) == 0
    assert main(["export", folder, "--format", "safetensors", "--out", str(out), "--overwrite"]) == 0  # its own


@pytest.mark.parametrize("fmt, out", [("onnx", "model.pt"), ("torchscript", "m.onnx"), ("onnx", "w.safetensors")])
def test_an_out_file_named_for_another_format_is_refused(saved, tmp_path, capsys, fmt, out):
    assert main(["export", saved[0].user_attrs["model_dir"], "--format", fmt, "--out", str(tmp_path / out)]) == 2
    assert f"name the {fmt} file *{SUFFIXES[fmt]}" in capsys.readouterr().err
    assert not (tmp_path / out).exists()


def test_a_python_study_exports_the_network_of_any_trial(tmp_path, monkeypatch, capsys):
    """space.evaluator(save_dir=...) saves every trial's network, recorded relative to the working folder and
    found only for retrain trials: "has no retrained network saved" even with --trial."""
    from nasforge.experiment import Study
    from nasforge.spaces.model_space import ModelSpace

    from model_space_sources import TINY_MODEL_SPACE

    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.py").write_text(TINY_MODEL_SPACE)
    space = ModelSpace("net.py:Net", input_shape=(1, 8, 8))
    evaluator = space.evaluator("digits", train={"epochs": 1}, fidelity={"data_fraction": 0.1}, latency_repeats=1,
                                save_dir="models")
    study = Study(space, "random", objectives="val_acc", seed=0, name="py", storage="sqlite:///py.db")
    study.optimize(evaluator, n_trials=1)
    model_dir = study.trials[0].user_attrs["model_dir"]
    assert model_dir == str(tmp_path / "models" / __import__("pathlib").Path(model_dir).name)  # absolute
    study.storage.close()
    url = f"sqlite:///{tmp_path / 'py.db'}"
    assert main(["export", "py", "--storage", url, "--out", "m.onnx"]) == 2
    assert "no retrained network saved (--trial N" in capsys.readouterr().err
    assert main(["export", "py", "--storage", url, "--trial", "0", "--format", "torchscript", "--out", "m.pt"]) == 0
    assert (tmp_path / "m.pt").is_file()


def test_the_onnxruntime_snippet_of_the_docs_runs_as_written_on_a_png(saved, tmp_path, monkeypatch, capsys):
    """docs/export.md's onnxruntime example reads a PNG of any size and channels (it used an undefined `raw`,
    kept HWC order and skipped the resize), and classifies it as the network nasforge saved does."""
    pytest.importorskip("onnxruntime")
    from pathlib import Path

    from PIL import Image

    docs = (Path(__file__).resolve().parents[1] / "docs" / "export.md").read_text()
    snippet = next(block for block in docs.split("```text\n")[1:] if "onnxruntime as ort" in block).split("```")[0]
    folder = saved[0].user_attrs["model_dir"]
    export_model(folder, "onnx", tmp_path / "model.onnx")
    pixels = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "image.png")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(snippet, "docs/export.md", "exec"), namespace)  # noqa: S102 - our own documentation
    model, info = load_model(folder)
    pre = info["preprocessing"]
    gray = np.asarray(Image.fromarray(pixels).convert("L").resize((8, 8)), dtype=np.float32)
    x = (gray / 255 * 16 * pre["scale"] - pre["mean"][0]) / pre["std"][0]  # 8-bit onto digits 0..16
    expected = int(model(torch.from_numpy(x)[None, None]).argmax())
    assert capsys.readouterr().out.strip() == pre["class_names"][expected]
    assert namespace["x"].shape == (1, 8, 8)


def test_a_copied_run_folder_exports_its_own_networks(saved, tmp_path, capsys):
    """The recorded absolute model_dir pointed into the original run: a copy exported the original's network."""
    import shutil

    from nasforge import Result, Study
    from nasforge.export import find_saved_network

    run = tmp_path / "run"
    shutil.copytree(saved[0].user_attrs["model_dir"], run / "models" / "net")
    study = Study(NB201, "random", objectives="acc", seed=0, name="job", storage=f"sqlite:///{run / 'study.db'}",
                  user_attrs={"pipeline": "search", "pipeline_config": {"out": str(run)}})
    study.enqueue(ARCH, user_attrs={"stage": "retrain"})
    study.optimize(lambda arch, fidelity=None: Result(metrics={"acc": 1.0, "test_acc": 50.0},
                                                      user_attrs={"model_dir": str(run / "models" / "net")}), 0)
    study.storage.close()
    shutil.copytree(run, tmp_path / "copy")
    assert find_saved_network(run) == run / "models" / "net"
    assert find_saved_network(tmp_path / "copy") == tmp_path / "copy" / "models" / "net"
    assert main(["export", str(tmp_path / "copy"), "--format", "safetensors", "--out",
                 str(tmp_path / "m.safetensors")]) == 0
    assert f"exported {tmp_path / 'copy' / 'models' / 'net'} as safetensors" in capsys.readouterr().out
    shutil.rmtree(tmp_path / "copy" / "models")  # the copy lacks it: the network where it was written
    assert find_saved_network(tmp_path / "copy") == run / "models" / "net"
