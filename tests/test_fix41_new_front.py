"""The search's front output (fix41_new): serial latency, chance-level flag, --retrain 0, stage-2 progress."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from rich.console import Console

from nasforge import Study, get_space
from nasforge.pipelines import search as pipeline
from nasforge.pipelines.search import SearchConfig


def _study(name: str = "pf", n: int = 12, latency: float = 999.0) -> Study:
    study = Study(get_space("nb201"), "mo_random", objectives=["val_acc", "params"],
                  directions=["maximize", "minimize"], seed=0, name=name)
    rng = np.random.default_rng(0)
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, {"val_acc": float(rng.uniform(5, 95)), "params": float(rng.uniform(1e3, 1e5)),
                           "latency_ms": latency, "flops": 1e6})
    return study


class _Evaluator:
    """Builds a tiny network for any architecture and counts the builds."""

    latency_repeats = 3

    def __init__(self) -> None:
        self.built: list[str] = []

    def build(self, arch, fidelity=None):
        import torch

        self.built.append(str(arch))
        data = SimpleNamespace(x_train=np.zeros((2, 1, 4, 4), dtype=np.float32), num_classes=10)
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 10)), data, {}


def _write(study: Study, tmp_path, **kw) -> tuple[list[dict], str]:
    console = Console(record=True, width=200)
    pipeline.write_outputs(study, SearchConfig(out=str(tmp_path), name=study.name, workers=1, threads=1, **kw),
                           console)
    return json.loads((tmp_path / "front.json").read_text()), console.export_text()


def test_the_front_s_latency_is_the_serial_measurement_not_the_search_trial_s(tmp_path):
    """Would fail before: front.json and the table showed the search trial's latency (here 999 ms), measured while
    other workers trained on the same cores."""
    study = _study()
    evaluator = _Evaluator()
    pipeline.measure_front_latency(study, study.pareto_front(), evaluator)
    assert len(evaluator.built) == len(study.pareto_front())
    record = study.user_attrs[pipeline.SERIAL_LATENCY]
    rows, said = _write(study, tmp_path)
    for row in rows:
        serial = record["trials"][str(row["trial"])]
        assert row["latency_serial_ms"] == serial["median"] < 999.0 and row["latency_ms"] == 999.0
        assert row["latency_serial_ms_range"] == [serial["min"], serial["max"]]
        assert serial["rounds"] == pipeline.LATENCY_ROUNDS and serial["min"] <= serial["median"] <= serial["max"]
    assert "999" not in said and " [" in said and "one network at a time after the search" in said
    pipeline.measure_front_latency(study, study.pareto_front(), evaluator)  # a resume measures nothing again
    assert len(evaluator.built) == len(study.pareto_front())


def test_a_front_not_measured_serially_shows_no_serial_figure(tmp_path):
    """Only write_outputs called alone gets here (a run or resume measures the front first)."""
    rows, said = _write(_study(), tmp_path)
    assert all(r["latency_ms"] == 999.0 and r["latency_serial_ms"] is None for r in rows)
    assert "999" not in said and "serial latency ms:" not in said


def test_a_front_member_at_chance_level_is_flagged(tmp_path):
    study = _study()
    dead = study.ask()  # the cheapest network, at chance (10 classes: 10 %): on the front
    study.tell(dead, {"val_acc": 9.47, "params": 10.0, "latency_ms": 1.0, "flops": 1e6})
    pipeline.measure_front_latency(study, study.pareto_front(), _Evaluator())  # records the data's 10 classes
    rows, said = _write(study, tmp_path)
    assert [r["trial"] for r in rows if r["chance_level"]] == [dead.number]
    assert all(r["chance_level"] is False for r in rows if r["trial"] != dead.number)
    assert f"{dead.number}!" in said and f"! trial {dead.number}: search val % at chance level" in said


def test_retrain_0_leaves_out_the_test_and_retrain_columns(tmp_path):
    """Would fail before: two all-'-' columns and 'retraining - s'."""
    _, said = _write(_study(), tmp_path, retrain=0, final_epochs=None)
    assert "test %" not in said and "retrain " not in said.split("\n")[2]
    assert "no retraining (--retrain 0)" in said and "retraining - s" not in said


def test_with_retraining_the_columns_stay(tmp_path):
    _, said = _write(_study(), tmp_path)
    assert "test %" in said and "retraining - s" in said


def test_stage_2_prints_a_rough_time_and_a_line_per_network():
    """Would fail before: for minutes stage 2 showed only 'done 0/5 ... eta ?'."""
    study = _study(n=4, latency=1.0)
    sources = study.trials
    for t in sources:  # what a TrainingEvaluator reports
        t.metrics.update(train_seconds=2.0, epochs=2, trained_params=t.metrics["params"] / 4)
    retrains = [study.enqueue(t.arch, user_attrs={pipeline.STAGE_KEY: pipeline.RETRAIN, "source_trial": t.number})
                for t in sources[:2]]
    console = Console(record=True, width=200)
    track = pipeline.RetrainProgress(study, retrains, SearchConfig(final_epochs=10, workers=1, threads=1), console)
    assert track.rough == {r.number: pytest.approx(2.0 / 2 * 10 * 4 ** 0.5) for r in retrains}
    track.start(retrains, 1)
    done = SimpleNamespace(number=retrains[1].number, retry_of=None, state=SimpleNamespace(value="COMPLETE"),
                           metrics={"train_seconds": 20.0}, cost=21.0, user_attrs=retrains[1].user_attrs,
                           started_at=None, finished_at=None)
    track.finished(study, done)
    said = console.export_text()
    assert "retraining 2 of 2 network(s) at full size, 10 epochs each, 1 at a time; roughly 0m40s" in said
    assert (f"retrained trial {retrains[1].number} (search trial {sources[1].number}): 1 of 2 networks done"
            in said and "eta ~0m20s" in said)  # 20 s rough left, scaled by 20 s actual / 20 s rough
