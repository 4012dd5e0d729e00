"""Fix 55 (export): why ``--trial`` finds no network for a PRUNED trial and for a retrain that completed without a
saved network, and a bare run name whose run folder ``./nasforge-runs/NAME`` is hidden by a file or folder NAME."""

import pytest

from nasforge.spaces import get_space

OBJECTIVES, DIRECTIONS = ["acc", "params"], ["maximize", "minimize"]


def _refusal(source, trial=None, storage=None):
    from nasforge.exceptions import UsageError
    from nasforge.export import find_saved_network

    with pytest.raises(UsageError) as info:
        find_saved_network(source, trial=trial, storage=storage)
    return str(info.value)


def test_a_pruned_trial_is_said_to_be_pruned_not_unfinished(tmp_path):
    """It said "trial 1 is PRUNED (not finished)": a pruned trial is finished, stopped early by the pruner."""
    from nasforge import Result, Study

    url = f"sqlite:///{tmp_path / 'py.db'}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="py", storage=url)
    study.tell(study.ask(), Result(metrics={"acc": 1.0}))
    study.tell(study.ask(), Result(status="pruned", metrics={"acc": 0.5}))
    running = study.ask()
    study.storage.close()
    assert _refusal("py", 1, url) == ("--trial 1: no saved network: trial 1 was PRUNED (stopped early by the pruner, "
                                      "so it saved no network); trials with one: none")
    assert _refusal("py", running.number, url) == (f"--trial {running.number}: no saved network: trial "
                                                   f"{running.number} is RUNNING (not finished); trials with one: none")


def _unsaved_retrain(folder, again=False):
    """A run folder whose finished search retrained trial 0 into a COMPLETE retrain (trial 2) that saved no network
    (a search-size result); ``again``: a later retrain of trial 0 (trial 3) is queued. Its storage URL."""
    from nasforge import Result, Study

    url = f"sqlite:///{folder / 'study.db'}"
    config = {"out": str(folder), "retrain": 1, "objectives": OBJECTIVES, "directions": DIRECTIONS}
    study = Study(get_space("nb201"), "mo_random", objectives=OBJECTIVES, directions=DIRECTIONS, seed=0, name="job",
                  storage=url, user_attrs={"pipeline": "search", "pipeline_config": config})
    values = iter([(90.0, 1.0), (80.0, 3.0)])  # front: trial 0
    study.optimize(lambda arch, fidelity=None: Result(metrics=dict(zip(OBJECTIVES, next(values)))), 2)
    study.set_user_attr("search_done", True)
    retrain = study.enqueue(study.trials[0].arch, user_attrs={"stage": "retrain", "source_trial": 0})
    if again:
        study.enqueue(study.trials[0].arch, user_attrs={"stage": "retrain", "source_trial": 0})
    assert study.claim(retrain)
    study.tell(retrain, Result(metrics={"acc": 85.0, "params": 1.0}))
    study.storage.close()
    return url


def test_trial_of_a_retrain_completed_without_a_network_says_so_and_gives_the_resume(tmp_path):
    """``--trial 0`` (its search trial) and ``--trial 2`` (the retrain) said only "no saved network", where the
    export of the run says the retrain completed without one and gives the resume that retrains it."""
    from nasforge.pipelines.search import resume_command

    url = _unsaved_retrain(tmp_path)
    resume = resume_command("job", url)
    assert _refusal(tmp_path, 0) == ("--trial 0: no saved network: trial 0 is a search trial whose retrain (trial 2) "
                                     "completed without a saved network (it recorded no network folder); retrain it "
                                     f"with: {resume}; trials with one: none")
    assert _refusal(tmp_path, 2) == ("--trial 2: no saved network: retrain trial 2 completed without a saved network "
                                     f"(it recorded no network folder); retrain it with: {resume}; trials with one: "
                                     "none")
    assert "its retrain trial 2 completed without a saved network (it recorded no network folder)" in \
        _refusal(tmp_path)


def test_trial_of_an_unsaved_retrain_names_the_later_retrain_of_its_search_trial(tmp_path):
    """A retrain that saved none, retrained again since (trial 3, queued here): no resume is advised for it."""
    _unsaved_retrain(tmp_path, again=True)
    assert _refusal(tmp_path, 2) == ("--trial 2: no saved network: retrain trial 2 completed without a saved network "
                                     "(it recorded no network folder); trial 3 is a later retrain of trial 0; trials "
                                     "with one: none")


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_a_name_hiding_its_run_folder_names_the_run_folder(tmp_path, monkeypatch, kind):
    """``nasforge export dr`` with a folder (or file) ``dr`` here that is no run said only "dr is neither a saved
    network nor a run folder ...; pass a study name with --storage URL", though ./nasforge-runs/dr is the run."""
    from nasforge import Study

    monkeypatch.chdir(tmp_path)
    (tmp_path / "nasforge-runs" / "dr").mkdir(parents=True)
    Study(get_space("nb201"), "random", objectives="acc", name="dr",
          storage=f"sqlite:///{tmp_path / 'nasforge-runs' / 'dr' / 'study.db'}").storage.close()
    (tmp_path / "dr").mkdir() if kind == "folder" else (tmp_path / "dr").write_text("notes")
    message = _refusal("dr")
    assert "the run folder nasforge-runs/dr/ of that name is not read: a file or folder dr here comes first; " \
           "pass nasforge-runs/dr in its place to export the run" in message  # keeping --trial and --out
    other = _refusal("other")  # no file or folder here: the run folder looked at is named as before
    assert "and nasforge-runs/other/ holds no study.db" in other and "not read" not in other


def test_a_pruned_trial_that_recorded_a_network_is_not_said_to_have_saved_none(tmp_path):
    """Regression of the PRUNED message: an evaluator that catches TrialPruned may save its network all the same (a
    PRUNED trial with ``model_dir``); the refusal said "so it saved no network" of it. It now names that network and
    says why it is not exported (only a COMPLETE trial's is)."""
    from nasforge import Result, Study

    url, folder = f"sqlite:///{tmp_path / 'py.db'}", tmp_path / "net"
    folder.mkdir()
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="py", storage=url)
    study.tell(study.ask(), Result(metrics={"acc": 1.0}))
    study.tell(study.ask(), Result(status="pruned", metrics={"acc": 0.5}, user_attrs={"model_dir": str(folder)}))
    study.storage.close()
    message = _refusal("py", 1, url)
    assert "saved no network" not in message
    assert message == (f"--trial 1: no saved network: trial 1 was PRUNED (stopped early by the pruner): the network it "
                       f"recorded (model_dir {folder}) is not exported, only a COMPLETE trial's; trials with one: none")
