"""A second process on a `nasforge search` study never runs stage 2's retrains with stage 1's evaluator; a retrain
stored without its saved network (by that bug) counts as not retrained; summary.json's best network is one export
can give. The evaluators are stubs: no training."""

import io
import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from nasforge.evaluators import Result
from nasforge.exceptions import UsageError
from nasforge.experiment import Study, TrialState
from nasforge.pipelines import search as pipeline
from nasforge.pipelines.search import SearchConfig, best_retrained, resume_search, run_search, saved_networks


class _Stub:
    """Stands for one stage's TrainingEvaluator: metrics from the architecture, and (``save_dir``) a saved network
    folder, as the retrain evaluator writes one."""

    def __init__(self, save_dir=None):
        self.save_dir, self.seen = save_dir, []

    def spec(self):
        return None

    def dataset(self):
        return "stub data"

    def evaluate(self, arch):
        self.seen.append(arch)
        key = zlib.crc32(json.dumps(arch.to_json()).encode())
        metrics = {"val_acc": float(key % 97), "test_acc": float(key % 89), "params": float(key % 101 + 1)}
        if self.save_dir is None:
            return Result(metrics)
        folder = Path(self.save_dir) / f"net-{key:x}"
        folder.mkdir(parents=True, exist_ok=True)
        return Result(metrics, user_attrs={"model_dir": str(folder)})


@pytest.fixture
def stubbed(tmp_path, monkeypatch):
    """Both stages' evaluators stubbed (``stubbed.search``, ``stubbed.retrain``), nothing measured or checked that
    needs a real network."""
    search, retrain = _Stub(), _Stub(tmp_path / "run" / "models")
    monkeypatch.setattr(pipeline, "_evaluators", lambda *a, **k: (search, retrain))
    monkeypatch.setattr(pipeline, "_check_network_fits", lambda *a: None)
    monkeypatch.setattr(pipeline, "measure_front_latency", lambda *a: None)
    monkeypatch.setattr(pipeline, "_limit_threads", lambda *a: None)
    stubbed.search, stubbed.retrain = search, retrain
    return stubbed


def _run(tmp_path, retrain=1):
    config = SearchConfig(trials=6, retrain=retrain, workers=1, threads=1, seed=3, out=str(tmp_path / "run"),
                          name="job", objectives=["val_acc", "params"], directions=["maximize", "minimize"])
    run_search(config, progress=False)
    return Study.load("job", _url(tmp_path))


def _url(tmp_path):
    return f"sqlite:///{tmp_path / 'run' / 'study.db'}"


def _retrains(study):
    return [t for t in study.trials if pipeline.is_retrain(t)]


def test_a_resume_loaded_during_stage_one_leaves_the_retrains_to_stage_two(tmp_path, stubbed):
    study = _run(tmp_path)
    source = _retrains(study)[0].user_attrs["source_trial"]
    # what a second process saw: stage 1 not done, and the first process's retrain of a front member queued
    study.set_user_attr("search_done", False)
    queued = study.enqueue(study.trials[source].arch, user_attrs={"stage": "retrain", "source_trial": source})
    stubbed.search.seen.clear()
    summary = resume_search("job", _url(tmp_path), progress=False)
    assert stubbed.search.seen == []  # stage 1 ran no retrain at search size
    again = Study.load("job", _url(tmp_path)).get_trial(queued.number)
    assert again.state == TrialState.COMPLETE and again.user_attrs.get("model_dir")  # stage 2's evaluator ran it
    assert summary["best_model_dir"] is not None


def test_a_retrain_stored_without_its_network_is_retrained_by_resume(tmp_path, stubbed):
    study = _run(tmp_path)
    source = _retrains(study)[0].user_attrs["source_trial"]
    # as the bug stored it: a COMPLETE retrain of the chosen member with search-size metrics and no network
    bad = study.enqueue(study.trials[source].arch, user_attrs={"stage": "retrain", "source_trial": source})
    assert study.claim(bad)
    study.tell(bad.number, {"val_acc": 1.0, "test_acc": 99.0, "params": 5.0})
    stubbed.retrain.seen.clear()
    summary = resume_search("job", _url(tmp_path), progress=False)
    assert len(stubbed.retrain.seen) == 1  # retrained again
    latest = _retrains(Study.load("job", _url(tmp_path)))[-1]
    assert latest.number > bad.number and latest.user_attrs.get("model_dir")
    row = next(r for r in summary["front"] if r["trial"] == source)
    assert (row["retrain_trial"], row["test_acc"]) == (latest.number, latest.metrics["test_acc"])
    again = resume_search("job", _url(tmp_path), progress=False)  # done now: nothing more retrained
    assert len(stubbed.retrain.seen) == 1 and again["front"] == summary["front"]


def test_the_waiting_filter_leaves_the_other_waiting_trials_for_another_run(tmp_path):
    study = Study("nb201", "random", objectives="val_acc", name="s", storage=f"sqlite:///{tmp_path / 's.db'}", seed=0)
    arch = study.space.sample(np.random.default_rng(0))
    kept = study.enqueue(arch, user_attrs={"stage": "retrain"})
    run = study.enqueue(arch)
    study.optimize(lambda a: Result({"val_acc": 1.0}), n_trials=0,
                   waiting_filter=lambda t: not pipeline.is_retrain(t))
    assert study.get_trial(run.number).state == TrialState.COMPLETE
    assert study.get_trial(kept.number).state == TrialState.WAITING
    with pytest.raises(UsageError, match="waiting_filter must be a callable"):
        study.optimize(lambda a: Result({"val_acc": 1.0}), n_trials=0, waiting_filter="retrain")


def test_stage_one_reads_whether_another_process_finished_it(tmp_path, stubbed):
    study = _run(tmp_path)
    study.set_user_attr("search_done", False)
    stale = Study.load("job", _url(tmp_path))  # a second process loads the study while stage 1 runs
    study.set_user_attr("search_done", True)  # the first one ends stage 1 (its timeout) and retrains
    config = SearchConfig.from_json({**study.user_attrs["pipeline_config"], "trials": 8})
    stubbed.search.seen.clear()
    pipeline._complete(stale, config, study.space, None, False, (stubbed.search, stubbed.retrain))
    assert stubbed.search.seen == [] and stale.n_proposals == 6  # no search trial after the front was chosen


def test_the_best_network_is_one_export_gives_and_printing_it_never_fails(tmp_path, stubbed):
    study = _run(tmp_path)
    saved = _retrains(study)[0]
    source = saved.user_attrs["source_trial"]
    bad = study.enqueue(study.trials[source].arch, user_attrs={"stage": "retrain", "source_trial": source})
    assert study.claim(bad)  # the bug's trace, written before the resume that retrains the member again
    study.tell(bad.number, {"val_acc": 1.0, "test_acc": 99.0, "params": 5.0})
    config = SearchConfig.from_json(study.user_attrs["pipeline_config"])
    console = Console(file=io.StringIO(), width=200)
    summary = pipeline.write_outputs(study, config, console)  # was a TypeError from Path(None)
    networks = [n for n in saved_networks("job", _url(tmp_path)) if n["retrain"]]
    exported = best_retrained(networks, lambda n: n["score"], lambda n: n["source_trial"])  # export's default
    assert (summary["best_trial"], summary["best_test_acc"]) == (source, saved.metrics["test_acc"])
    assert summary["best_model_dir"] == exported["path"] and summary["n_retrained"] == 1
    row = next(r for r in summary["front"] if r["trial"] == source)
    assert row["retrain_trial"] == saved.number
    assert "saved in" in console.file.getvalue()


def test_stage_two_leaves_a_search_trial_another_process_left_waiting(tmp_path, stubbed):
    """Would fail: stage 2 ran a search trial another process had put back WAITING with the retrain evaluator (a
    full-size network saved, and the trial FAILED with no val_acc)."""
    study = _run(tmp_path)
    left = study.ask(queued=True)  # a search trial another process released after this one finished stage 1
    source = _retrains(study)[0].user_attrs["source_trial"]
    study.enqueue(study.trials[source].arch, user_attrs={"stage": "retrain", "source_trial": source})
    stubbed.retrain.seen.clear()
    resume_search("job", _url(tmp_path), progress=False)
    study = Study.load("job", _url(tmp_path))
    assert study.trials[left.number].state == TrialState.WAITING  # not stage 2's work
    assert all(arch != left.arch for arch in stubbed.retrain.seen)


def test_the_report_leaves_out_a_retrain_that_saved_no_network_as_summary_json_does(tmp_path, stubbed):
    """Would fail: report.html's front showed the search-size result of a retrain without a saved network, while
    summary.json (and export) left it out."""
    from nasforge.analysis.studyreport.data import load_study_data, open_readonly

    study = _run(tmp_path)
    source = _retrains(study)[0].user_attrs["source_trial"]
    bad = study.enqueue(study.trials[source].arch, user_attrs={"stage": "retrain", "source_trial": source})
    assert study.claim(bad)
    study.tell(bad.number, {"val_acc": 1.0, "test_acc": 12.3456, "params": 5.0})  # no model_dir
    data = load_study_data(open_readonly(_url(tmp_path)), "job")
    assert bad.number not in [r.number for r in data.retrained()]
