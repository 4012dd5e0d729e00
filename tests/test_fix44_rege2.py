"""Regression 44 (dashboard): the index counts the RUNNING trials of a process that is gone from one read of their
workers (``Storage.running_workers``), not by loading each study with one, by the rule ``nasforge status`` uses."""

import subprocess
import sys

import pytest

from nasforge import Study
from nasforge.analysis.studyreport.views import gone_running, gone_workers
from nasforge.experiment.storage import open_storage
from nasforge.experiment.storage.sql import SQLStorage
from nasforge.spaces import get_space

SPACE = get_space("nb201")
DEAD_RUN = """
import sys
from nasforge import Study
s = Study("nb201", "random", objectives="acc", seed=0, name="dead", storage=sys.argv[1])
s.tell(s.ask(), 0.5)
s.ask(); s.ask()
"""


def _storages(tmp_path, url):
    """In ``url``: a study with two RUNNING trials of a process that ended, one with a RUNNING trial of this
    process, one with none."""
    subprocess.run([sys.executable, "-c", DEAD_RUN, url], check=True)
    live = Study(SPACE, "random", objectives="acc", seed=0, name="live", storage=url)
    live.ask()
    done = Study(SPACE, "random", objectives="acc", seed=0, name="done", storage=url)
    done.tell(done.ask(), 0.5)
    return live, done


def test_running_workers_count_as_gone_running_does_in_sql_and_memory(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    live, done = _storages(tmp_path, url)
    with open_storage(url, readonly=True) as storage:
        workers = storage.running_workers()
        assert sorted(workers) == ["dead", "live"] and len(workers["dead"]) == 2
        for name in workers:
            trials = storage.running_trials(storage.load_study(name).id)
            assert gone_workers(workers[name]) == len(gone_running(trials)) == (2 if name == "dead" else 0)
    in_memory = Study(SPACE, "random", objectives="acc", seed=0, name="m")  # the default, not one query
    in_memory.tell(in_memory.ask(), 0.5)
    running = in_memory.ask()
    assert in_memory.storage.running_workers() == {"m": [running.worker]} and running.worker
    live.close(), done.close()


def test_the_dashboard_index_reads_no_study_to_flag_trials_of_a_gone_process(tmp_path, monkeypatch):
    """Would fail: each poll of the index loaded every study with RUNNING trials and read those trials."""
    pytest.importorskip("plotly")
    from nasforge.analysis.dashboard import Dashboard

    url = f"sqlite:///{tmp_path / 's.db'}"
    live, done = _storages(tmp_path, url)

    def refused(*args, **kwargs):
        raise AssertionError("the index read a study")

    monkeypatch.setattr(SQLStorage, "load_study", refused)
    monkeypatch.setattr(SQLStorage, "running_trials", refused)
    body = Dashboard(url).index_section()[1]
    assert "2 RUNNING (2 of a process that is gone)" in body and body.count("of a process that is gone") == 1
    live.close(), done.close()
