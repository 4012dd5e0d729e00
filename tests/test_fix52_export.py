"""Fix 52 (export): an export's sidecar rebuilds load_model's network, a killed search's --trial refusal advises a
resume only where it retrains the trial, and non-finite outputs are named as such."""

import json

import pytest
import torch
from safetensors.torch import load_file

from nasforge.export import export_model, load_model, save_model
from nasforge.models import create_model
from nasforge.spaces import Architecture, get_space

PRE = {"input_shape": [1, 8, 8], "scale": 1 / 16, "mean": [0.3], "std": [0.37], "class_names": ["a", "b", "c"]}


def _saved_as_before(folder, model, name, arch, kwargs, edit):
    """``model`` saved in ``folder``, its model.json's model_kwargs then changed by ``edit`` (as an older version
    wrote them)."""
    save_model(folder, model, model_name=name, arch=arch, model_kwargs=kwargs, num_classes=3, in_channels=1,
               preprocessing=PRE)
    info = json.loads((folder / "model.json").read_text())
    edit(info["model_kwargs"])
    (folder / "model.json").write_text(json.dumps(info))
    return folder


def _rebuilt_from_sidecar(weights):
    """The network the docs rebuild from a safetensors export: create_model with the sidecar's fields."""
    meta = json.loads(weights.with_name(weights.name + ".json").read_text())
    net = create_model(meta["model"], Architecture.from_json(meta["architecture"]), num_classes=meta["num_classes"],
                       in_channels=meta["in_channels"], **meta["model_kwargs"])
    net.load_state_dict(load_file(str(weights)))
    return net.eval(), meta


def test_nb101_sidecar_of_a_network_saved_before_canonical_rebuilds_its_node_order(tmp_path):
    arch = get_space("nb101").parse(  # the same tensor shapes as its canonical form, wired otherwise
        "ops=input,conv1x1-bn-relu,maxpool3x3,conv1x1-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,output;"
        "matrix=0101001/0000011/0001100/0000010/0000010/0000001/0000000")
    old = create_model("nb101", arch, num_classes=3, in_channels=1, C=8, N=1, canonical=False)
    folder = _saved_as_before(tmp_path / "net", old, "nb101", arch, {"C": 8, "N": 1},
                              lambda kwargs: kwargs.pop("canonical"))
    model, info = load_model(folder)
    rebuilt, meta = _rebuilt_from_sidecar(export_model(folder, "safetensors", tmp_path / "e" / "model.safetensors"))
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(rebuilt(x), model(x))
    assert meta["model_kwargs"] == {"C": 8, "N": 1, "canonical": False}
    assert "canonical" not in info["model_kwargs"]  # model.json is read, never rewritten
    assert "canonical" not in json.loads((folder / "model.json").read_text())["model_kwargs"]


@pytest.mark.parametrize("old_values", [{"drop_path": None}, {"auxiliary": 1}])
def test_darts_sidecar_of_older_settings_rebuilds_as_load_model_reads_them(tmp_path, old_values):
    arch = get_space("darts").sample(0)
    auxiliary = "auxiliary" in old_values
    net = create_model("darts", arch, num_classes=3, in_channels=1, C=4, N=1, auxiliary=auxiliary)
    folder = _saved_as_before(tmp_path / "net", net, "darts", arch, {"C": 4, "N": 1, "auxiliary": auxiliary},
                              lambda kwargs: kwargs.update(old_values))
    model, _ = load_model(folder)
    rebuilt, meta = _rebuilt_from_sidecar(export_model(folder, "safetensors", tmp_path / "e" / "model.safetensors"))
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(rebuilt(x), model(x))
    expected = {"C": 4, "N": 1, "auxiliary": auxiliary} if auxiliary else {"C": 4, "N": 1, "auxiliary": False,
                                                                           "drop_path": 0.0}
    assert meta["model_kwargs"] == expected and meta["model_kwargs"]["auxiliary"] is auxiliary  # true, not 1


SPACE_NET = """
from torch import nn
from nasforge.spaces.model_space import LayerChoice


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label="act")
        self.lin = nn.Linear(64, 3)

    def forward(self, x):
        return self.lin(self.act(x.flatten(1)))
"""


def test_model_space_sidecar_drops_the_settings_load_model_never_used(tmp_path):
    from nasforge.spaces.model_space import ModelSpace

    (tmp_path / "space_net.py").write_text(SPACE_NET)
    space = ModelSpace(f"{tmp_path / 'space_net.py'}:Net", input_shape=(1, 8, 8))
    folder = _saved_as_before(tmp_path / "net", space.build(space.default), "model_space", space.default,
                              {"space": space.config()}, lambda kwargs: kwargs.update(auxiliary=False, C=16))
    model, _ = load_model(folder)
    rebuilt, meta = _rebuilt_from_sidecar(export_model(folder, "safetensors", tmp_path / "e" / "model.safetensors"))
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(rebuilt(x), model(x))
    assert sorted(meta["model_kwargs"]) == ["C", "space"]  # C: files of before, which load as they did


def _search_run(folder, search_done=True, retrains=0, fail_retrains=False):
    """A run folder whose study.db holds a search study of 3 search trials (as ``nasforge search`` records one) and
    retrain trials of the first ``retrains`` of them: left queued (as a search killed in stage 2 leaves them), or
    run and failed (test_export39's builder)."""
    from test_export39 import _run

    return _run(folder, search_done=search_done, retrains=retrains, run_retrains=fail_retrains)


def _trial_refusal(folder, trial):
    from nasforge.exceptions import UsageError
    from nasforge.export import find_saved_network

    with pytest.raises(UsageError) as info:
        find_saved_network(folder, trial=trial)
    return str(info.value)


def test_a_search_killed_in_its_retrain_stage_advises_a_resume_only_for_the_trials_it_retrains(tmp_path):
    """Every search trial was told 'its retrain has not run ... finish it with nasforge resume', and after that
    resume, a trial that was never queued was 'not retrained'."""
    from nasforge.pipelines.search import resume_command

    resume = resume_command("job", _search_run(tmp_path, retrains=1))  # trial 0's retrain queued, unfinished
    assert _trial_refusal(tmp_path, 0) == (f"--trial 0: no saved network: trial 0 is a search trial; its retrain has "
                                           "not run (the retrain stage did not finish; killed, or still running): "
                                           f"finish it with {resume}; trials with one: none")
    for trial in (1, 2):
        assert _trial_refusal(tmp_path, trial) == (f"--trial {trial}: no saved network: trial {trial} is a search "
                                                   "trial that was not retrained (only --retrain members of the "
                                                   "feasible Pareto front are); trials with one: none")


@pytest.mark.parametrize("search_done", [False, True])
def test_a_search_stopped_before_its_retrains_were_queued_still_advises_a_resume(tmp_path, search_done):
    """The trials a resume retrains (--retrain 2 of 3) are told to resume; once stage 1 is done, the other one is
    told it was not retrained (as it is once a retrain is queued: regression review g)."""
    from nasforge import Study
    from nasforge.pipelines.search import choose_for_retraining, feasible_front

    url = _search_run(tmp_path, search_done=search_done)
    study = Study.load("job", url)
    chosen = {t.number for t in choose_for_retraining(feasible_front(study), study.objectives, study.directions, 2)}
    study.close()
    assert 0 < len(chosen) < 3
    stage = "the retrain stage" if search_done else "the search"
    messages = {number: _trial_refusal(tmp_path, number) for number in range(3)}
    advised = {n for n, m in messages.items() if f"its retrain has not run ({stage} did not finish" in m}
    assert advised == (chosen if search_done else {0, 1, 2})
    assert all("was not retrained" in messages[n] for n in set(messages) - advised)


def test_a_search_trial_whose_retrain_failed_names_the_failure_and_the_resume_that_retrains_it(tmp_path):
    from nasforge.pipelines.search import resume_command

    resume = resume_command("job", _search_run(tmp_path, retrains=1, fail_retrains=True))
    assert _trial_refusal(tmp_path, 0) == ("--trial 0: no saved network: trial 0 is a search trial whose retrain "
                                           f"failed (trial 3: RuntimeError: out of memory); retrain it with: {resume}; "
                                           "trials with one: none")
    assert "was not retrained" in _trial_refusal(tmp_path, 1)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_nan_weights_are_refused_as_outputs_that_are_not_finite(tmp_path, capsys, fmt):
    """It said the exported network did not match the PyTorch one: a forward branching on the data, or one fixing
    the batch size it was traced with; neither applies."""
    from safetensors.torch import save_file

    from nasforge.cli import main

    if fmt == "onnx":
        pytest.importorskip("onnx")
    arch = get_space("nb201").sample(0)
    folder = tmp_path / "net"
    save_model(folder, create_model("nb201", arch, num_classes=3, in_channels=1, C=4, N=1), model_name="nb201",
               arch=arch, model_kwargs={"C": 4, "N": 1}, num_classes=3, in_channels=1, preprocessing=PRE)
    weights = load_file(str(folder / "model.safetensors"))
    name = next(k for k, v in weights.items() if v.dim() == 4)  # a convolution's weight
    weights[name].view(-1)[0] = float("nan")
    save_file(weights, str(folder / "model.safetensors"))
    assert main(["export", str(folder), "--format", fmt, "--out", f"{tmp_path / 'out'}/"]) == 2
    err = capsys.readouterr().err
    assert "the network's outputs on random inputs hold NaN: its weights hold NaN or " \
           f"infinite values ({name} in {folder / 'model.safetensors'})" in err, err
    assert "branches on the data" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
