"""Stop 42 fixes of the live views: the progress line of several objectives, dashboard arguments and labels."""

from __future__ import annotations

import io

import pytest

from nasforge import Study
from nasforge.exceptions import UsageError
from nasforge.experiment.progress import ProgressReporter
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")


def test_progress_line_labels_each_objectives_best_apart_and_gives_the_front_size(capsys):
    study = Study(SPACE, "random", objectives=["acc", "params"], directions=["maximize", "minimize"], seed=0)
    study.optimize(Toy(), n_trials=12, progress=True)
    last = capsys.readouterr().err.splitlines()[-1]
    best_acc = max(t.metrics["acc"] for t in study.trials)
    best_params = min(t.metrics["params"] for t in study.trials)
    assert not any(t.metrics["acc"] == best_acc and t.metrics["params"] == best_params for t in study.trials)
    assert (f"| front {len(study.pareto_front())} | best acc {best_acc:.6g} | best params {best_params:.6g} |"
            in last)


def test_progress_line_of_several_objectives_before_any_complete_trial():
    out = io.StringIO()
    bar = ProgressReporter("demo", total=2, stream=out, min_interval=0.0)
    bar.update(1, 1, 1, None, front=0)
    bar.update(2, 1, 0, 71.5)
    lines = out.getvalue().splitlines()
    assert "| running 1 | best - |" in lines[0] and "front" not in lines[0]
    assert "| running 0 | best 71.5 |" in lines[1]


def test_dashboard_api_refuses_memory_none_and_a_bad_port_or_host(tmp_path):
    pytest.importorskip("plotly")
    from nasforge.analysis.dashboard import Dashboard, make_dashboard_server, serve_in_thread

    with pytest.raises(UsageError, match="storage: 'memory' is not a storage URL"):
        Dashboard("memory")  # every request would open a new, empty in-memory storage
    for storage in (None, 3):
        with pytest.raises(UsageError, match="storage must be a storage URL"):
            serve_in_thread(storage)
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study(SPACE, "random", objectives="acc", seed=0, name="s", storage=url).close()
    for port in (-1, 65536, "0", 8080.5, True):
        with pytest.raises(UsageError, match=r"port must be an integer >= 0 and <= 65535, got"):
            make_dashboard_server(url, port=port)
    with pytest.raises(UsageError, match="host must be a host name or an IP address"):
        serve_in_thread(url, host=None)


def test_a_bench_folder_as_storage_points_at_nasforge_report_and_read_only_lists_leave_out_memory(tmp_path,
                                                                                               monkeypatch):
    from nasforge.experiment.storage import StorageError, open_storage

    monkeypatch.chdir(tmp_path)
    (tmp_path / "b1").mkdir()
    (tmp_path / "b1" / "bench.json").write_text("{}")
    for storage in ("b1", "b1/bench.json"):
        with pytest.raises(StorageError, match=r"'b1' is a 'nasforge bench' folder \(bench.json\), not a study "
                                               r"database \(report it with: nasforge report b1\); expected sqlite"):
            open_storage(storage, readonly=True)
    with pytest.raises(StorageError, match="names a folder: 'b1' is a 'nasforge bench' folder"):
        open_storage("sqlite:///b1", readonly=True)
    with pytest.raises(StorageError, match=r"bad storage URL 'x': expected sqlite:///FILE.db, postgresql"):
        open_storage("x", readonly=True)  # 'memory' is refused by every read-only command: not offered
    with pytest.raises(StorageError, match=r"bad storage URL 'x': expected memory, sqlite:///FILE.db"):
        open_storage("x")


def test_report_summary_splits_retrains_before_the_states_and_labels_failures_and_the_run_process():
    pytest.importorskip("plotly")
    import os

    from nasforge import Result
    from nasforge.analysis.studyreport import render_study

    study = Study(SPACE, "random", objectives="acc", seed=3, name="r")
    for i in range(4):
        trial = study.ask()
        study.tell(trial, Result(status="failed") if i == 1 else {"acc": float(i)})
    queued = study.enqueue(study.best_trial.arch, user_attrs={"stage": "retrain"})
    study.tell(queued, {"acc": 9.0})
    html = render_study(study)
    # was '5: 4 COMPLETE, 1 FAILED (of which 1 stage-2 retrains)', read as one FAILED trial being a retrain
    assert "5 (4 search, 1 stage-2 retrain): 4 COMPLETE, 1 FAILED" in html and "of which" not in html
    failures = html.split('id="nf-failures"')[1].split("</section>")[0]
    assert "FAILED with no error text" in failures  # was a blank cell
    trials = html.split('id="nf-trials"')[1].split("</section>")[0]
    assert "<th>run process</th>" in trials and ">worker<" not in trials
    assert "run process = the process id of the run (or resume) that claimed the trial" in trials
    assert f"<td>{os.getpid()}</td>" in trials and trials.count("FAILED with no error text") == 1


def test_dashboard_index_of_a_storage_without_studies_says_so(tmp_path):
    pytest.importorskip("plotly")
    from nasforge.analysis.dashboard import Dashboard
    from nasforge.experiment import get_storage

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    get_storage(url).close()
    body = Dashboard(url).index_section()[1]
    assert "No study in this storage yet." in body and "<table" not in body


def test_an_ipv4_mapped_loopback_host_is_loopback():
    pytest.importorskip("plotly")
    from nasforge.analysis.dashboard import is_loopback

    assert is_loopback("::ffff:127.0.0.1") and is_loopback("[::ffff:127.0.0.1]") and is_loopback("::1")
    assert not is_loopback("::ffff:10.1.2.3") and not is_loopback("0.0.0.0") and not is_loopback("::")
