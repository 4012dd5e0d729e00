"""Review 42 fixes of the supernet path: resume from any folder, layouts scored = layouts retrained, the
checkpoint-changed message first, few-shot part limits, save before DARTS-PT, and the speed fixes."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from nasforge.cli import main  # noqa: E402
from nasforge.evaluators import SupernetEvaluator  # noqa: E402
from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.experiment import Study  # noqa: E402
from nasforge.oneshot import build_supernet  # noqa: E402
from nasforge.oneshot.checkpoint import save_supernet  # noqa: E402
from nasforge.spaces import ChainSpace  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")
DIGITS = {"data": {"data": "digits", "data_options": {}}}


def _one_line_exit_2(argv, capsys, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def _interrupted_search(tmp_path, monkeypatch, interrupt_scoring) -> str:
    """A `nasforge search --evaluator supernet --supernet ck` (relative) stopped by Ctrl-C; its storage URL."""
    monkeypatch.chdir(tmp_path)
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), tmp_path / "ck", DIGITS)
    url = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    interrupt_scoring(2)
    assert main(["search", "--evaluator", "supernet", "--supernet", "ck", "--trials", "4", "--retrain", "0",
                 "--workers", "1", "--no-progress", "--out", "run", "--name", "rel", "--strategy", "random"]) != 0
    interrupt_scoring(None)
    return url


def test_a_relative_supernet_is_stored_absolute_so_resume_works_from_any_folder(tmp_path, capsys, monkeypatch,
                                                                                interrupt_scoring):
    url = _interrupted_search(tmp_path, monkeypatch, interrupt_scoring)
    assert Study.load("rel", url).user_attrs["pipeline_config"]["supernet"] == str(tmp_path / "ck")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["resume", "rel", "--storage", url, "--no-progress"]) == 0
    assert sum(t.state.name == "COMPLETE" for t in Study.load("rel", url).trials) == 4


def test_a_study_stored_with_a_relative_supernet_resumes_from_its_evaluator_spec(tmp_path, capsys, monkeypatch,
                                                                                 interrupt_scoring):
    url = _interrupted_search(tmp_path, monkeypatch, interrupt_scoring)
    study = Study.load("rel", url)
    study.set_user_attr("pipeline_config", {**study.user_attrs["pipeline_config"], "supernet": "ck"})  # as before
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["resume", "rel", "--storage", url, "--no-progress"]) == 0


def test_resume_after_retraining_with_another_seed_says_the_checkpoint_changed(tmp_path, capsys, monkeypatch,
                                                                               interrupt_scoring):
    url = _interrupted_search(tmp_path, monkeypatch, interrupt_scoring)
    torch.manual_seed(1)
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), tmp_path / "ck",
                  {"data": {"data": "digits", "data_options": {"seed": 1}}}, overwrite=True)
    capsys.readouterr()
    _one_line_exit_2(["resume", "rel", "--storage", url, "--no-progress"], capsys,
                     "the checkpoint changed since the study started")


def _chain_supernet(path, stages):
    space = ChainSpace([["conv3", "skip"], ["conv3", "conv5"], ["conv3", "conv5"], ["conv3", "mbconv_e3_k3"]],
                       stages=stages)
    save_supernet(build_supernet(space, 10, 1, C=2), path, DIGITS)


@pytest.mark.parametrize("config, message", [
    ({"layers": [["conv3", "skip"], ["conv3", "conv5"], ["conv3", "conv5"], ["conv3", "mbconv_e3_k3"]],
      "stages": [3, 1]}, "the search space has other stages than the supernet (layers"),
    ({"layers": [["conv3", "skip"], ["conv3", "conv5"], ["conv3", "conv5"], ["conv3", "mbconv_e6_k3"]],
      "stages": [2, 2]}, "the search space has other layers than the supernet (layers"),
])
def test_a_chain_supernet_is_searched_only_in_its_own_layout(config, message, tmp_path, capsys):
    _chain_supernet(tmp_path / "ck", [2, 2])
    (tmp_path / "space.json").write_text(json.dumps(config))
    _one_line_exit_2(["search", "--space", "chain", "--space-config", str(tmp_path / "space.json"), "--evaluator",
                      "supernet", "--supernet", str(tmp_path / "ck"), "--trials", "2", "--retrain", "0",
                      "--out", str(tmp_path / "run")], capsys, message)
    assert "--space chain)" not in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_an_elastic_supernet_deploys_and_retrains_its_own_widths_and_strides(tmp_path, capsys):
    from nasforge.models import create_model
    from nasforge.oneshot.elastic import ElasticChainSupernet
    from nasforge.training import count_params

    layers = [["mbconv_e3_k3", "skip"], ["mbconv_e3_k3", "mbconv_e6_k5"], ["mbconv_e3_k3", "skip"]]
    space = ChainSpace(layers)
    save_supernet(ElasticChainSupernet(space, 10, 1, C=2, widths=[2, 4, 4], strides=[1, 2, 1]), tmp_path / "ck",
                  DIGITS)
    evaluator = SupernetEvaluator.from_checkpoint(tmp_path / "ck", deploy={"C": 16}, latency_repeats=0)
    arch = space.parse("mbconv_e3_k3|mbconv_e6_k5|skip")
    layout = {"stages": [1, 1, 1], "widths": [16, 32, 32], "strides": [1, 2, 1]}
    assert evaluator.layout(16) == layout
    assert evaluator.evaluate(arch).metrics["params"] == count_params(
        create_model("chain", arch, num_classes=10, in_channels=1, C=16, **layout))
    (tmp_path / "space.json").write_text(json.dumps({"layers": layers}))
    assert main(["search", "--space", "chain", "--space-config", str(tmp_path / "space.json"), "--evaluator",
                 "supernet", "--supernet", str(tmp_path / "ck"), "--trials", "2", "--retrain", "1", "--final-epochs",
                 "1", "--workers", "1", "--no-progress", "--out", str(tmp_path / "run")]) == 0
    model, = (tmp_path / "run" / "models").glob("*/model.json")
    assert json.loads(model.read_text())["model_kwargs"] == {"C": 16, **layout}


def test_elastic_layout_is_empty_for_other_supernets():
    from nasforge.evaluators.supernet import elastic_layout

    assert elastic_layout({"C": 8, "N": 1}, 16) == {}
    with pytest.raises(UsageError):
        SupernetEvaluator(build_supernet("nb201", 10, 1, C=2, N=1), deploy={"C": 0})
