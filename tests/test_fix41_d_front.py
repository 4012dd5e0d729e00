"""The search's front output (fix41_d): a latency objective's column and order, the serial range, stage 2's
rough time and ETA, the chance-level rule."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from rich.console import Console

from nasforge import Study, get_space
from nasforge.pipelines import search as pipeline
from nasforge.pipelines.search import SearchConfig


def _serial(median: float, low: float, high: float) -> dict:
    return {"median": median, "min": low, "max": high, "rounds": 5, "repeats": 20}


def test_a_latency_objective_shows_the_figures_the_front_was_chosen_and_sorted_by(tmp_path):
    """Would fail before: the objective column and front.json's latency_ms held the serial medians (2.5, 1.2, 3.0),
    so front.json was not sorted by its second objective and trial 0 looked dominated by trial 1."""
    study = Study(get_space("nb201"), "mo_random", objectives=["val_acc", "latency_ms"],
                  directions=["maximize", "minimize"], seed=0, name="lo")
    for acc, latency in [(90.0, 1.0), (95.0, 2.0), (97.0, 3.0)]:  # search latencies: a clean front
        study.tell(study.ask(), {"val_acc": acc, "latency_ms": latency, "params": 1e5, "flops": 1e6})
    study.set_user_attr(pipeline.SERIAL_LATENCY, {"classes": 10, "trials": {
        "0": _serial(2.5, 2.4, 2.6), "1": _serial(1.2, 1.1, 1.3), "2": _serial(3.0, 2.9, 6.0)}})  # order swapped
    console = Console(record=True, width=200)
    pipeline.write_outputs(study, SearchConfig(out=str(tmp_path), name="lo", workers=1, threads=1, retrain=0,
                                               objectives=["val_acc:max", "latency_ms:min"]), console)
    rows = json.loads((tmp_path / "front.json").read_text())
    assert [(r["trial"], r["latency_ms"], r["latency_serial_ms"]) for r in rows] == [(0, 1.0, 2.5), (1, 2.0, 1.2),
                                                                                      (2, 3.0, 3.0)]
    assert rows[2]["latency_serial_ms_range"] == [2.9, 6.0]
    said = console.export_text()
    table = [line for line in said.splitlines() if line.startswith("│")]
    assert [cells.split("│")[3].strip() for cells in table] == ["1.00", "2.00", "3.00"]  # the objective's column
    assert [cells.split("│")[6].strip() for cells in table] == ["2.50 [2.40-2.60]", "1.20 [1.10-1.30]",
                                                                "3.00 [2.90-6.00]"]  # median [min-max], no ±
    assert "±" not in said and "median [min-max] of 5 rounds" in said
    assert "latency ms (the objective): the search trial's own" in said


def test_the_schedule_packs_networks_on_the_processes_they_have():
    assert pipeline.schedule_seconds([], [100.0, 20.0], 2) == 100.0  # two side by side: the longer one
    assert pipeline.schedule_seconds([], [100.0, 20.0], 1) == 120.0
    assert pipeline.schedule_seconds([], [50.0, 30.0, 30.0, 10.0], 2) == 60.0  # 50+10 | 30+30
    assert pipeline.schedule_seconds([43.0], [], 2) == 43.0  # the last network, 2 workers: not halved
    assert pipeline.schedule_seconds([10.0], [20.0, 20.0], 2) == 30.0  # 10+20 | 20
    assert pipeline.schedule_seconds([], [], 4) == 0.0


def _retrain_study(n: int) -> tuple[Study, list]:
    study = Study(get_space("nb201"), "mo_random", objectives=["val_acc", "params"],
                  directions=["maximize", "minimize"], seed=0, name="eta")
    for i in range(n):
        study.tell(study.ask(), {"val_acc": 50.0 + i, "params": 4e4 * (i + 1), "train_seconds": 4.0, "epochs": 4,
                                 "trained_params": 1e4 * (i + 1)})
    retrains = [study.enqueue(t.arch, user_attrs={pipeline.STAGE_KEY: pipeline.RETRAIN, "source_trial": t.number})
                for t in study.trials[:n]]
    return study, retrains


def test_the_eta_of_the_last_network_on_two_workers_is_not_halved():
    """Would fail before: the ETA divided the rest by the 2 workers while one network was left (27 s for 49 s)."""
    study, retrains = _retrain_study(2)
    track = pipeline.RetrainProgress(study, retrains, SearchConfig(final_epochs=10, workers=2, threads=1), Console())
    assert track.rough == {r.number: pytest.approx(4.0 / 4 * 10 * 4 ** 0.5) for r in retrains}  # 20 s each
    track.workers = 2
    first, second = study.next_waiting(), study.next_waiting()  # both retrains claimed: RUNNING
    assert {first.number, second.number} == {r.number for r in retrains}
    track.actual[first.number] = 30.0  # the first took 1.5x its rough time
    # the second, rough 20 s x 1.5 = 30 s, has run 11 s: 19 s left (was 30 s / 2 workers = 15 s)
    assert track._eta(study, second.started_at + 11.0) == pytest.approx(19.0)


def test_the_eta_packs_waiting_networks_on_min_of_workers_and_networks_left():
    study, retrains = _retrain_study(3)
    track = pipeline.RetrainProgress(study, retrains, SearchConfig(final_epochs=10, workers=2, threads=1), Console())
    track.workers = 2
    track.actual[retrains[0].number] = 20.0  # as rough: scale 1; the other two (20 s each) wait
    assert track._eta(study, 0.0) == pytest.approx(20.0)  # side by side on the 2 workers
    track.workers = 1
    assert track._eta(study, 0.0) == pytest.approx(40.0)


def test_the_start_line_packs_the_rough_times():
    study, retrains = _retrain_study(3)
    console = Console(record=True, width=200)
    track = pipeline.RetrainProgress(study, retrains, SearchConfig(final_epochs=10, workers=2, threads=1), console)
    track.start(retrains, 2)  # 20, 20, 20 s on 2 processes: 40 s (was 60 s x 3/3 / 2 = 30 s)
    assert "3 of 3 network(s) at full size, 10 epochs each, 2 at a time; roughly 0m40s" in console.export_text()


def test_the_rough_time_scales_by_the_square_root_of_the_params_ratio():
    """Would fail before: a linear ratio made the rough time about 2x too long in every run measured."""
    source = SimpleNamespace(metrics={"train_seconds": 2.1, "epochs": 4, "params": 461882, "trained_params": 43010})
    assert pipeline.retrain_estimate(source, 30) == pytest.approx(2.1 / 4 * 30 * (461882 / 43010) ** 0.5)
    assert pipeline.retrain_estimate(SimpleNamespace(metrics={}), 30) is None


@pytest.mark.parametrize(("val_acc", "classes", "flagged"), [
    (74.0, 2, False), (60.0, 2, False), (55.0, 2, True), (52.0, 2, True),  # 2 classes: chance + 5 points
    (9.47, 10, True), (12.0, 10, True), (12.5, 10, False), (30.0, 10, False),  # 10 classes: 1.2x chance
    (None, 10, None), (50.0, None, None)])
def test_chance_level_is_near_chance_only(val_acc, classes, flagged):
    """Would fail before: 1.5x chance flagged 74 % (and 60 %) on 2 classes."""
    assert pipeline._at_chance(val_acc, classes) is flagged


def test_the_pre_flight_check_names_any_error_a_users_network_raises():
    """Would fail: only RuntimeError/ValueError were turned into the one-line refusal; an AssertionError in a
    user's forward escaped as a traceback."""
    import torch

    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import _check_network_fits

    class Asserting(torch.nn.Module):
        def forward(self, x):
            raise AssertionError("inputs must be in [0, 1]")

    from nasforge.evaluators.training import TrainingEvaluator

    data = SimpleNamespace(x_train=torch.zeros(4, 1, 8, 8), num_classes=10)

    class Stub(TrainingEvaluator):  # what the check reads of a TrainingEvaluator, no training set up
        model = None

        def __init__(self) -> None:
            pass

        def dataset(self):
            return data

        def build(self, arch):
            return Asserting(), data, None

    evaluator = Stub()
    with pytest.raises(UsageError, match=r"fails on the data's images of shape \[1, 8, 8\] \(AssertionError: inputs"):
        _check_network_fits(evaluator, get_space("nb201"))


def test_a_finished_retrain_counts_its_training_seconds_not_its_workers_start_up():
    """Would fail before: the wall time from claim to finish (a worker's start-up included) scaled every rough time
    up, 5x on short retrains."""
    study, retrains = _retrain_study(2)
    track = pipeline.RetrainProgress(study, retrains, SearchConfig(final_epochs=10, workers=1, threads=1), Console())
    trial = study.next_waiting()
    trial.started_at = 100.0
    study.tell(trial, {"val_acc": 60.0, "params": 4e4, "train_seconds": 21.0})
    trial = next(t for t in study.trials if t.number == trial.number)
    trial.finished_at = 200.0  # 100 s of wall time, 21 s of it training
    track.finished(study, trial)
    assert track.actual == {trial.number: 21.0}


def test_a_running_retrain_keeps_a_tenth_of_its_estimate_in_the_eta():
    """Would fail: a network still running past its estimate gave an ETA of 0 s."""
    study, retrains = _retrain_study(2)
    track = pipeline.RetrainProgress(study, retrains, SearchConfig(final_epochs=10, workers=2, threads=1), Console())
    track.workers = 2
    first, second = study.next_waiting(), study.next_waiting()
    track.actual[first.number] = 20.0  # as rough: scale 1, the second's estimate 20 s
    assert track._eta(study, second.started_at + 50.0) == pytest.approx(2.0)
