"""Standalone networks: the ``params`` known cost leaves out DARTS's training-only auxiliary head, DARTS's
``drop_path``/``auxiliary`` and the chain network's ``stages``/``widths``/``strides`` are checked when the network
is built, and the ``proxylessnas`` network stays the one the docs describe."""

import numpy as np
import pytest

from nasforge.exceptions import UsageError
from nasforge.models import create_model
from nasforge.spaces import get_space
from nasforge.training.cost import count_params

DARTS = get_space("darts")
ARCH = DARTS.sample(np.random.default_rng(1))
CHAIN = get_space("chain", layers=[["conv3"], ["mbconv_e3_k3", "skip"]])


def test_params_cost_leaves_out_the_auxiliary_head():
    """It counted the head (2.6x the deployed size at C=16, N=2), unlike the ``params`` a search reports."""
    from nasforge.strategies.model_based.costs import ParameterCount

    network = create_model("darts", ARCH, num_classes=10, C=8, N=1, auxiliary=True)
    cost = ParameterCount(DARTS, num_classes=10, C=8, N=1, auxiliary=True)
    assert cost(ARCH) == count_params(network) < count_params(network, training_only=True)
    assert cost(ARCH) == ParameterCount(DARTS, num_classes=10, C=8, N=1)(ARCH)


@pytest.mark.parametrize("kwargs,name", [({"drop_path": 1.0}, "drop_path"), ({"drop_path": 1.5}, "drop_path"),
                                         ({"drop_path": -0.5}, "drop_path"), ({"drop_path": "0.2"}, "drop_path"),
                                         ({"drop_path": float("nan")}, "drop_path"), ({"auxiliary": "no"}, "auxiliary"),
                                         ({"auxiliary": 2}, "auxiliary"), ({"auxiliary": None}, "auxiliary")])
def test_darts_network_checks_drop_path_and_auxiliary(kwargs, name):
    """They failed at the first training step (NaN loss, TypeError, torch's bernoulli error) or were taken."""
    with pytest.raises(UsageError, match=f"DartsNetwork: {name} must be"):
        create_model("darts", ARCH, num_classes=10, C=4, N=1, **kwargs)


def test_saved_darts_networks_with_valid_settings_still_load(tmp_path):
    from nasforge.export import load_model, save_model

    for drop_path, auxiliary in ((0, False), (0.2, True), (0.0, np.bool_(True)), (0.1, 1), (0.1, 0)):
        network = create_model("darts", ARCH, num_classes=10, C=4, N=1, drop_path=drop_path, auxiliary=auxiliary)
        kwargs = {"C": 4, "N": 1, "drop_path": drop_path, "auxiliary": bool(auxiliary)}
        folder = save_model(tmp_path / f"net-{drop_path}-{auxiliary}", network, model_name="darts", arch=ARCH,
                            model_kwargs=kwargs, num_classes=10, in_channels=3,
                            preprocessing={"input_shape": [3, 8, 8]})
        loaded, info = load_model(folder)
        assert info["model_kwargs"] == kwargs and (loaded.auxiliary is not None) == bool(auxiliary)


@pytest.mark.parametrize("kwargs,name", [({"widths": [0, 8]}, r"widths\[0\]"), ({"strides": [1, 0]}, r"strides\[1\]"),
                                         ({"widths": [8.5, 8]}, r"widths\[0\]"), ({"stages": [3, -1]}, r"stages\[1\]"),
                                         ({"stages": 2}, "stages"), ({"widths": "88"}, "widths"),
                                         ({"strides": [True, 1]}, r"strides\[0\]")])
def test_chain_network_checks_its_sizes(kwargs, name):
    """Raw torch errors at the first forward pass, a ValueError or an IndexError before."""
    arch = CHAIN.parse("conv3|mbconv_e3_k3")
    kwargs = {"stages": [1, 1], **kwargs} if "stages" not in kwargs else kwargs
    with pytest.raises(UsageError, match=f"ChainNetwork: {name}"):
        create_model("chain", arch, num_classes=10, in_channels=1, C=4, **kwargs)


def test_chain_network_takes_numpy_sizes():
    """Checked sizes are plain ints: numpy integers (and arrays) build the network the defaults build."""
    arch = CHAIN.parse("conv3|skip")
    net = create_model("chain", arch, num_classes=10, in_channels=1, C=4,
                       stages=np.array([2]), widths=[np.int64(4)], strides=(1,))
    assert count_params(net) == count_params(create_model("chain", arch, num_classes=10, in_channels=1, C=4))


def test_proxylessnas_network_is_unchanged():
    """Not ProxylessNAS's published network (docs/spaces.md says how it differs), but saved networks and studies
    rebuild it by name, so it must stay the same."""
    space = get_space("proxylessnas")
    proxyless = create_model("proxylessnas", space.parse("|".join(["mbconv_e6_k3"] * 21)), num_classes=1000)
    assert count_params(proxyless) == 3_315_184  # the figure docs/spaces.md gives


@pytest.mark.parametrize("model, saved, stored", [
    ("darts", {"auxiliary": True}, {"auxiliary": "no"}), ("darts", {"auxiliary": True}, {"auxiliary": 2}),
    ("darts", {"auxiliary": False}, {"auxiliary": None}), ("darts", {}, {"drop_path": -0.1}),
    ("darts", {}, {"drop_path": None}), ("darts", {}, {"drop_path": False}),
    ("chain", {}, {"stages": 0}), ("chain", {}, {"stages": False}), ("chain", {}, {"widths": 0})])
def test_networks_saved_with_values_the_checks_now_refuse_load_as_before(tmp_path, model, saved, stored):
    """The checks apply to new networks; a model.json saved before them (from Python) still loads."""
    import json as json_module

    from nasforge.export import load_model, save_model
    from nasforge.models import create_model

    arch = ARCH if model == "darts" else get_space("chain", layers=[["conv3", "skip"]] * 3).sample(0)
    kwargs = {"C": 4, "N": 1, **saved} if model == "darts" else {"C": 4}
    network = create_model(model, arch, num_classes=10, in_channels=1, **kwargs)
    folder = save_model(tmp_path / "net", network, model_name=model, arch=arch, model_kwargs=kwargs, num_classes=10,
                        in_channels=1, preprocessing={"input_shape": [1, 8, 8]})
    info = json_module.loads((folder / "model.json").read_text())
    info["model_kwargs"].update(stored)
    (folder / "model.json").write_text(json_module.dumps(info))
    loaded, _ = load_model(folder)
    assert loaded.state_dict().keys() == network.state_dict().keys()


def test_new_networks_and_saves_still_refuse_what_the_checks_refuse(tmp_path):
    """The leniency is for networks saved before the checks (load_model), never for new ones or new saves."""
    from nasforge.export import save_model

    network = create_model("darts", ARCH, num_classes=10, in_channels=1, C=4, N=1, drop_path=0.2)
    with pytest.raises(UsageError, match="drop_path"):
        save_model(tmp_path / "net", network, model_name="darts", arch=ARCH, num_classes=10, in_channels=1,
                   model_kwargs={"C": 4, "N": 1, "drop_path": "0.2"}, preprocessing={"input_shape": [1, 8, 8]})
    chain = get_space("chain", layers=[["conv3", "skip"]] * 3).sample(0)
    for kwargs in ({"widths": 0}, {"stages": 0}, {"stages": [3, 0]}, {"strides": False}):
        with pytest.raises(UsageError, match="ChainNetwork"):
            create_model("chain", chain, num_classes=10, in_channels=1, C=4, **kwargs)


def test_an_export_over_a_linked_sidecar_replaces_the_link_not_the_file_outside(tmp_path):
    from nasforge.data import load_dataset
    from nasforge.export import export_model, save_model

    folders = []
    for seed in (0, 1):
        arch = get_space("nb201").sample(seed)
        network = create_model("nb201", arch, num_classes=10, in_channels=1, C=4, N=1)
        folders.append(save_model(tmp_path / f"net{seed}", network, model_name="nb201", arch=arch,
                                  model_kwargs={"C": 4, "N": 1}, num_classes=10, in_channels=1,
                                  preprocessing=load_dataset("digits").preprocessing()))
    first = export_model(folders[0], "safetensors", tmp_path / "x1" / "model.safetensors")
    (tmp_path / "x2").mkdir()
    for name in ("model.safetensors", "model.safetensors.json"):
        (tmp_path / "x2" / name).symlink_to(tmp_path / "x1" / name)
    sidecar = (tmp_path / "x1" / "model.safetensors.json").read_bytes()
    try:
        export_model(folders[1], "safetensors", tmp_path / "x2" / "model.safetensors", overwrite=True)
    except UsageError:
        pass  # refusing the links is as good
    assert (tmp_path / "x1" / "model.safetensors.json").read_bytes() == sidecar and first.is_file()
