"""Read-through (fix44 rta): one record of a space for saved supernets and surrogates, rebuilt by stored_space; the
saved-network message of an edited model-space module; stored ground-truth trainings counted with one open."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from nasforge.exceptions import UnsafeFileError, UsageError  # noqa: E402
from nasforge.spaces import ChainSpace, get_space, space_record, stored_space  # noqa: E402

from model_space_sources import TWO_CHOICE_NET  # noqa: E402

LAYERS = [["conv3", "skip"], ["conv3", "conv5"], ["conv3", "conv5"], ["conv3", "mbconv_e3_k3"]]


def test_the_record_of_each_kind_of_space(tmp_path: Path) -> None:
    from nasforge.spaces.model_space import ModelSpace

    chain = ChainSpace(LAYERS, name="mine", stages=[2, 2])
    assert space_record(chain) == {"layers": LAYERS, "name": "mine", "stages": [2, 2]}
    assert space_record(get_space("nb201", canonical_rule="functional")) == {"canonical_rule": "functional"}
    assert space_record(get_space("nb101")) is None  # no options: rebuilt by name alone
    (tmp_path / "net44.py").write_text(TWO_CHOICE_NET)
    model = ModelSpace(f"{tmp_path / 'net44.py'}:Net", input_shape=(2,))
    assert space_record(model) == model.config() and space_record(model)["input_shape"] == [2]
    for space in (chain, get_space("nb201", canonical_rule="functional"), model):
        rebuilt = stored_space(space.name, space_record(space))
        assert (rebuilt.name, space_record(rebuilt)) == (space.name, space_record(space))


def test_a_saved_supernet_records_and_rebuilds_its_space(tmp_path: Path) -> None:
    from nasforge.oneshot import build_supernet
    from nasforge.oneshot.checkpoint import load_supernet, save_supernet

    space = ChainSpace(LAYERS, name="mine")
    save_supernet(build_supernet(space, 10, 1, C=2), tmp_path / "mine")
    info = json.loads((tmp_path / "mine" / "supernet.json").read_text())
    assert info["space"] == "mine" and info["space_config"] == {"layers": LAYERS, "name": "mine",
                                                                "stages": [1, 1, 1, 1]}
    loaded = load_supernet(tmp_path / "mine")[0].space
    assert isinstance(loaded, ChainSpace) and loaded.to_config() == space.to_config()
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), tmp_path / "nb201")
    assert json.loads((tmp_path / "nb201" / "supernet.json").read_text())["space_config"] == {
        "canonical_rule": "network"}


def test_a_damaged_space_record_names_the_file(tmp_path: Path) -> None:
    from nasforge.benchmarks.surrogate import _space_of
    from nasforge.oneshot import build_supernet
    from nasforge.oneshot.checkpoint import CheckpointError, load_supernet, save_supernet

    save_supernet(build_supernet(ChainSpace(LAYERS, name="mine"), 10, 1, C=2), tmp_path / "ck")
    info = json.loads((tmp_path / "ck" / "supernet.json").read_text())
    (tmp_path / "ck" / "supernet.json").write_text(json.dumps({**info, "space_config": {"layers": []}}))
    with pytest.raises(CheckpointError, match=r"supernet.json' is damaged"):
        load_supernet(tmp_path / "ck")
    with pytest.raises(UnsafeFileError, match=r"^m.json: field 'space'/'space_config' is damaged: "):
        _space_of({"space": "mine", "space_config": {"layers": []}}, Path("m.json"))
    assert _space_of({"space": "mine", "space_config": {"layers": LAYERS, "name": "mine"}}, Path("m.json")).name == \
        "mine"


def test_a_saved_network_of_an_edited_module_says_how_to_restore_it(tmp_path: Path) -> None:
    """The message is the one export.load_model gave when it cut check_source's advice off its message."""
    from nasforge.export import INFO_FILE, load_model, save_model
    from nasforge.spaces.model_space import ModelSpace

    path = tmp_path / "edited44.py"
    path.write_text(TWO_CHOICE_NET)
    space = ModelSpace(f"{path}:Net", input_shape=(2,))
    config = space.config()
    arch = space.parse("width=4|act=tanh")
    save_model(tmp_path / "saved", space.build(arch), model_name="model_space", arch=arch,
               model_kwargs={"space": config}, num_classes=2, in_channels=2, preprocessing={"input_shape": [2]})
    path.write_text(TWO_CHOICE_NET.replace("nn.Tanh()", "nn.Sigmoid()"))
    with pytest.raises(UsageError) as refused:
        load_model(tmp_path / "saved")
    assert str(refused.value) == (
        f"{tmp_path / 'saved' / INFO_FILE}: the network is built from the model-space module {config['module']!r}: "
        f"the module file {path} changed since the study was trained; restore the file as it was (a saved network "
        "is rebuilt from the very module it was trained with)")
    edited = get_space("model_space", **config)
    with pytest.raises(UsageError, match=r"changed since the study was trained$"):
        edited.check_source(remedy=None)
    with pytest.raises(UsageError, match=r"changed since the study was trained; restore it or start a new search$"):
        edited.check_source()


def test_stored_ground_truth_trainings_are_counted_per_seed_with_one_open(tmp_path: Path, monkeypatch) -> None:
    from nasforge.experiment import Study
    from nasforge.experiment.storage import open_storage
    from nasforge.oneshot import study as oneshot_study

    space = get_space("nb201")
    url = f"sqlite:///{tmp_path / 'gt.db'}"
    assert oneshot_study._stored_trainings([space.sample(0)], url, ["s0", "s1"]) == [0, 0]  # no database yet
    study = Study(space, "random", seed=0, name="s0", storage=url)
    told = [study.tell(study.ask(), 0.5).arch for _ in range(2)]
    study.close()
    archs = [*told, next(a for a in (space.sample(i) for i in range(50)) if a not in told)]
    opened = []

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        opened.append(args)
        return open_storage(*args, **kwargs)

    monkeypatch.setattr("nasforge.experiment.storage.open_storage", counting)
    assert oneshot_study._stored_trainings(archs, url, ["s0", "s1", "s2"]) == [2, 0, 0]
    assert len(opened) == 1

