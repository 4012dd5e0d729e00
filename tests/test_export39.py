"""``nasforge export`` messages (review 39): an unfinished search says so and names the command that finishes it,
``--overwrite`` is offered only for a previous export, and a trial the study lacks is named as such."""

import json
import warnings

import pytest

from nasforge import Result, Study
from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.export import find_saved_network
from nasforge.pipelines.search import resume_command
from nasforge.spaces import get_space

NB201 = get_space("nb201")


def _run(folder, retrain=2, search_done=False, retrains=0, run_retrains=False, model_dir=False):
    """A run folder whose study.db holds a search study with 3 search trials (as ``nasforge search`` records one),
    ``retrains`` retrain trials (left waiting, or run: failing, or saving ``model_dir`` when asked)."""
    url = f"sqlite:///{folder / 'study.db'}"
    study = Study(NB201, "random", objectives="acc", seed=0, name="job", storage=url,
                  user_attrs={"pipeline": "search", "pipeline_config": {"out": str(folder), "retrain": retrain}})
    study.optimize(lambda arch, fidelity=None: Result(metrics={"acc": float(len(str(arch)))}), 3)
    if search_done:
        study.set_user_attr("search_done", True)
    for t in study.trials[:retrains]:
        study.enqueue(t.arch, user_attrs={"stage": "retrain", "source_trial": t.number})
    if run_retrains:
        def retrain(arch, fidelity=None):
            if not model_dir:
                raise RuntimeError("out of memory")
            (folder / "net").mkdir(exist_ok=True)
            return Result(metrics={"acc": 1.0, "test_acc": 50.0}, user_attrs={"model_dir": str(folder / "net")})

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # all retrains failed: as asked
            study.optimize(retrain, 0)
    study.storage.close()
    return url


def _refusal(source, trial=None, storage=None):
    with pytest.raises(UsageError) as info:
        find_saved_network(source, trial=trial, storage=storage)
    return str(info.value)


@pytest.mark.parametrize("search_done, retrains, stage", [(False, 0, "stopped before retraining"),
                                                          (True, 0, "before its retrain stage finished"),
                                                          (True, 2, "before its retrain stage finished")])
def test_an_unfinished_search_names_the_resume_command_and_no_useless_trial_hint(tmp_path, capsys, search_done,
                                                                                retrains, stage):
    """It said "has no retrained network saved (--trial N exports ...)", and --trial then found none."""
    url = _run(tmp_path, search_done=search_done, retrains=retrains)
    message = _refusal(tmp_path)
    assert stage in message and message.endswith(f"finish it with: {resume_command('job', url)}"), message
    assert "--trial" not in message
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert stage in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "m.onnx").exists()


def test_a_finished_search_without_retrains_says_why(tmp_path):
    _run(tmp_path, retrain=0, search_done=True)
    assert _refusal(tmp_path) == "study job has no retrained network saved: its search ran with --retrain 0"
    other = tmp_path / "failed"
    other.mkdir()
    url = _run(other, search_done=True, retrains=2, run_retrains=True)
    message = _refusal(other)
    assert "its 2 retrain trial(s) failed" in message and "out of memory" in message
    assert message.endswith(f"retrain them with: {resume_command('job', url)}") and "--trial" not in message


def test_the_trial_hint_stays_where_a_trial_saved_a_network(tmp_path):
    url = f"sqlite:///{tmp_path / 'py.db'}"
    study = Study(NB201, "random", objectives="acc", seed=0, name="py", storage=url)
    (tmp_path / "net").mkdir()
    study.optimize(lambda arch, fidelity=None: Result(metrics={"acc": 1.0},
                                                      user_attrs={"model_dir": str(tmp_path / "net")}), 2)
    study.storage.close()
    assert _refusal("py", storage=url) == ("study py has no retrained network saved (--trial N exports the network a "
                                           "trial of any stage saved; trials with one: 0, 1)")
    assert find_saved_network("py", trial=1, storage=url) == tmp_path / "net"


def test_a_trial_the_study_lacks_is_named_as_missing(tmp_path, capsys):
    """--trial 99 on a study of 5 trials said "--trial 99: no saved network", as if trial 99 had run."""
    _run(tmp_path, search_done=True, retrains=1, run_retrains=True, model_dir=True)
    assert find_saved_network(tmp_path) == tmp_path / "net"
    assert _refusal(tmp_path, trial=99) == ("study job has no trial 99 (it has trials 0-3; those with a saved network: "
                                            "3 (retrain of 0))")
    assert _refusal(tmp_path, trial=1) == ("--trial 1: no saved network: trial 1 is a search trial that was not "
                                           "retrained (only --retrain members of the feasible Pareto front are); "
                                           "trials with one: 3 (retrain of 0)")
    assert main(["export", str(tmp_path), "--trial", "99", "--out", str(tmp_path / "m.onnx")]) == 2
    assert "has no trial 99 (it has trials 0-3" in capsys.readouterr().err


@pytest.fixture
def network(tmp_path):
    """A folder that export takes for a saved network (the output is checked before the network is read)."""
    folder = tmp_path / "net"
    folder.mkdir()
    (folder / "model.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"")
    return folder


@pytest.mark.parametrize("overwrite", [False, True])
def test_overwrite_is_offered_only_for_a_previous_export(network, tmp_path, capsys, overwrite):
    """A database or a user's file was refused with "pass --overwrite", and --overwrite was then refused too."""
    import sqlite3

    sqlite3.connect(tmp_path / "study.db").execute("create table t (x)").connection.commit()
    (tmp_path / "mine.onnx").write_text("hi")
    (tmp_path / "mine2.onnx.json").write_text("{}")  # a user's sidecar, no model file
    flag = ["--overwrite"] if overwrite else []
    for out in ("study.db", "mine.onnx", "mine2.onnx"):
        assert main(["export", str(network), "--format", "onnx", "--out", str(tmp_path / out), *flag]) == 2
        err = capsys.readouterr().err
        assert "is not a previous export" in err and "never replaced: pick another --out" in err, err
        assert "pass --overwrite" not in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "mine.onnx").read_text() == "hi"
    (tmp_path / "old.onnx").write_text("an export")
    (tmp_path / "old.onnx.json").write_text(json.dumps({"export_format": "onnx", "file": "old.onnx"}))
    if not overwrite:
        assert main(["export", str(network), "--out", str(tmp_path / "old.onnx")]) == 2
        assert "is a previous export; pass --overwrite to replace it" in capsys.readouterr().err
    from nasforge.export import export_target

    with pytest.raises(UsageError, match="never replaced: pick another out$"):
        export_target(network, "onnx", tmp_path / "mine.onnx", overwrite=overwrite)
