"""Fix 52 (export2): ``--trial`` of a search killed between two retrain enqueues advises the resume for a chosen
trial whose retrain is not queued yet (the resume queues and retrains it), and says "not retrained" only for trials
the search does not retrain."""

import pytest

from nasforge.spaces import get_space

OBJECTIVES, DIRECTIONS = ["acc", "params"], ["maximize", "minimize"]


def _killed_between_enqueues(folder):
    """A run folder whose search (retrain 2) finished and was killed after queuing the retrain of the first chosen
    trial (the largest, as the search queues them), before the second: its storage URL and the chosen trials."""
    from nasforge import Result, Study
    from nasforge.pipelines.search import choose_for_retraining, feasible_front

    url = f"sqlite:///{folder / 'study.db'}"
    config = {"out": str(folder), "retrain": 2, "objectives": OBJECTIVES, "directions": DIRECTIONS}
    study = Study(get_space("nb201"), "mo_random", objectives=OBJECTIVES, directions=DIRECTIONS, seed=0, name="job",
                  storage=url, user_attrs={"pipeline": "search", "pipeline_config": config})
    values = iter([(90.0, 5.0), (80.0, 1.0), (70.0, 3.0), (60.0, 9.0)])  # front: trials 0 and 1
    study.optimize(lambda arch, fidelity=None: Result(metrics=dict(zip(OBJECTIVES, next(values)))), 4)
    study.set_user_attr("search_done", True)
    chosen = sorted(t.number for t in choose_for_retraining(feasible_front(study), OBJECTIVES, DIRECTIONS, 2))
    study.enqueue(study.trials[0].arch, user_attrs={"stage": "retrain", "source_trial": 0})  # 5.0 params: first
    study.storage.close()
    return url, chosen


def _trial_refusal(folder, trial):
    from nasforge.exceptions import UsageError
    from nasforge.export import find_saved_network

    with pytest.raises(UsageError) as info:
        find_saved_network(folder, trial=trial)
    return str(info.value)


def test_a_chosen_trial_whose_retrain_was_not_queued_yet_advises_the_resume_that_retrains_it(tmp_path):
    """It said trial 1 "was not retrained (only --retrain members of the feasible Pareto front are)", though it is
    one and the resume queues and retrains it."""
    from nasforge.pipelines.search import resume_command

    url, chosen = _killed_between_enqueues(tmp_path)
    assert chosen == [0, 1]
    advice = (": trial {} is a search trial; its retrain has not run (the retrain stage did not finish; killed, or "
              f"still running): finish it with {resume_command('job', url)}; trials with one: none")
    for trial in chosen:  # 0: its retrain queued, unfinished; 1: not queued yet
        assert _trial_refusal(tmp_path, trial) == f"--trial {trial}: no saved network" + advice.format(trial)
    for trial in (2, 3):  # off the front: no resume retrains them
        assert _trial_refusal(tmp_path, trial) == (f"--trial {trial}: no saved network: trial {trial} is a search "
                                                   "trial that was not retrained (only --retrain members of the "
                                                   "feasible Pareto front are); trials with one: none")
