"""Stop 43 fixes of the search pipeline: a constrained run's hypervolume and pareto.png, constraint and pruner
refusals, the storage opened before the data, the progress ETA with parallel workers, a resume with nothing left."""

import io
import json

import numpy as np
import pytest

from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.experiment import Study, progress
from nasforge.experiment.storage.base import StorageError
from nasforge.pareto import hypervolume, to_maximization
from nasforge.pipelines import search as pipeline
from nasforge.pipelines.search import SearchConfig


def test_a_constrained_run_measures_and_draws_the_feasible_trials(tmp_path, monkeypatch, capsys):
    """summary.json's hypervolume is that of the feasible trials (it counted every trial); pareto.png names the
    constraints, marks the trials that break them and draws the bound on the params axis; a resume of the
    finished run says that nothing was left to run."""
    import nasforge.analysis.pareto as pareto

    drawn, real_plot = [], pareto.plot_front
    monkeypatch.setattr(pareto, "plot_front", lambda *a, **kw: (drawn.append((a, kw)), real_plot(*a, **kw)))
    out, bound = tmp_path / "run", 300_000  # seed 1 samples networks of 73,018 to 484,282 parameters
    assert main(["search", "--strategy", "nsga2", "--workers", "1", "--out", str(out), "--name", "c",
                 "--trials", "6", "--retrain", "0", "--search-epochs", "1", "--seed", "1", "--threads", "1",
                 "--no-progress", "--constraints", f"params <= {bound}"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    study = Study.load("c", f"sqlite:///{out / 'study.db'}")
    done = study.completed(searched_only=True)
    points = to_maximization(np.array([[t.metrics["val_acc"], t.metrics["params"]] for t in done]),
                             ["maximize", "minimize"])
    keep = np.array([t.metrics["params"] <= bound for t in done])
    assert 0 < keep.sum() < len(done)
    reference = np.array(summary["hypervolume_reference"]) * [1, -1]
    assert summary["hypervolume"] == pytest.approx(hypervolume(points[keep], reference))
    assert summary["hypervolume"] < hypervolume(points, reference)
    (args, kw), = drawn
    assert "constraints: params <= 300000" in kw["title"]
    assert sorted(kw["infeasible"].tolist()) == [i for i, ok in enumerate(keep) if not ok]
    assert kw["bounds"] == ([bound], [])
    study.set_user_attr("serial_latency", None)  # as a run of before 2026-12-06 stored it: never measured
    study.close()
    capsys.readouterr()
    assert main(["resume", "c", "--storage", f"sqlite:///{out / 'study.db'}", "--no-progress"]) == 0
    said = capsys.readouterr().out
    assert "nothing was left to run: study 'c' had finished" in said
    assert "(with the serial latency of 1 front network measured now: the run had not stored it)" in said


def test_an_unknown_constraint_metric_is_answered_without_test_acc():
    with pytest.raises(UsageError, match="--constraints must be on metrics of") as caught:
        SearchConfig(strategy="nsga2", constraints=["parms <= 5"]).validate(lambda n: f"--{n}")
    assert "test_acc" not in str(caught.value) and "val_acc" in str(caught.value)


def test_random_with_constraints_is_told_to_use_mo_random():
    with pytest.raises(UsageError, match=r"--constraints are not taken by strategy 'random' \(it runs several "
                                         r"objectives but reads no scores\): use mo_random"):
        SearchConfig(strategy="random", objectives=["val_acc", "params"], directions=["maximize", "minimize"],
                     constraints=["params <= 1e5"]).validate(lambda n: f"--{n}")


@pytest.mark.parametrize("spec, epochs, setting", [
    ({"name": "curve", "min_points": 6}, 5, "min_points 6"),
    ({"name": "asha", "min_resource": 10}, 6, "min_resource 10"),
    ({"name": "median", "n_warmup_steps": 2}, 3, "n_warmup_steps 2"),
])
def test_a_pruner_that_could_never_stop_a_trial_is_refused(spec, epochs, setting):
    with pytest.raises(UsageError, match=f"--pruner can never stop a trial: with {setting}"):
        SearchConfig(pruner=spec, search_epochs=epochs).validate(lambda n: f"--{n}")
    SearchConfig(pruner=spec, search_epochs=epochs + 5).validate()  # room for a decision: fine


def test_a_pruner_past_a_multi_fidelity_strategy_s_largest_budget_is_refused():
    with pytest.raises(UsageError, match="first decision is at epoch 3, but trials train 3.*set max_budget"):
        SearchConfig(strategy="hyperband", objectives=["val_acc"], directions=["maximize"],
                     strategy_kwargs={"max_budget": 3}, pruner={"name": "asha", "min_resource": 3}).validate()


def test_a_server_storage_is_opened_before_the_data_loads(tmp_path, monkeypatch):
    import nasforge.experiment.storage as storage

    def refuse(url, *args, **kwargs):
        raise StorageError("password authentication failed")

    monkeypatch.setattr(storage, "open_storage", refuse)
    monkeypatch.setattr(pipeline, "_load_data", lambda *a: pytest.fail("the data loaded before the storage"))
    config = SearchConfig(trials=1, retrain=0, out=str(tmp_path / "run"), name="pg",
                          storage="postgresql+psycopg://u:pw@127.0.0.1:1/nas")
    with pytest.raises(UsageError, match="password authentication failed"):
        pipeline.run_search(config)
    assert not (tmp_path / "run").exists()


def test_the_progress_eta_credits_running_trials_by_their_age(monkeypatch):
    """Two workers, one trial done after 10 s and two running, one since the start (as old as the mean: counted
    half done, at most) and one claimed just now (nothing done): 1.5 trials' worth of work in 10 s, 8.5 left, so
    about 57 s (finished trials alone said 90 s)."""
    clock = iter([0.0, 10.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    stream = io.StringIO()
    reporter = progress.ProgressReporter("job", 10, stream=stream)
    reporter.update(1, 0, 2, 0.5)
    assert stream.getvalue().rstrip().endswith("elapsed 0m10s | eta 0m56s")  # 56.7 s, truncated


def test_the_progress_eta_of_one_worker_is_exact(monkeypatch):
    """Regression: with one worker the next trial is claimed as the last one finishes; counted half done, it made
    the ETA too short (56 s for 90 s left after the first of ten 10-second trials)."""
    clock = iter([0.0, 10.0, 20.0, 30.0, 40.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    stream = io.StringIO()
    reporter = progress.ProgressReporter("job", 10, stream=stream, min_interval=0.0)
    for done in (1, 2, 3, 4):
        reporter.update(done, 0, 1, 0.5)
    lines = stream.getvalue().splitlines()
    assert [line.rsplit("eta ", 1)[1] for line in lines] == ["1m30s", "1m20s", "1m10s", "1m00s"]


def test_a_pruner_that_cannot_reach_the_preset_epochs_is_refused_too():
    """Regression: left to the preset (nb201: 4 epochs), median with n_warmup_steps 4 was not refused."""
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import SearchConfig

    with pytest.raises(UsageError, match="pruner can never stop a trial: with n_warmup_steps 4 its first decision is "
                                         "at epoch 5, but trials train 4"):
        SearchConfig(pruner={"name": "median", "n_warmup_steps": 4}).validate()
