"""Crash safety: kill -9 at random moments, and two processes optimizing one study at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nasforge import Study
from nasforge.experiment import TrialState
from nasforge.spaces import get_space

ROOT = Path(__file__).resolve().parents[1]
SPACE = get_space("nb201")
PG_URL = os.environ.get("NASFORGE_TEST_POSTGRES_URL")

CONCURRENT = """
import sys
sys.path.insert(0, {tests!r})
from nasforge import Study
from nasforge.spaces import get_space
from engine_evaluators import Toy
study = Study(get_space("nb201"), "random", objectives="acc", seed=7, name="pair", storage={url!r},
              load_if_exists=True)
study.optimize(Toy(0.01), 15)
"""


@pytest.mark.parametrize("kills, trials, extra", [
    (2, 16, []),
    pytest.param(8, 40, [], marks=pytest.mark.slow),
    pytest.param(5, 30, ["--workers", "2", "--executor", "process"], marks=pytest.mark.slow),
])
def test_kill_9_torture_loses_nothing_and_resumes_exactly(tmp_path, kills, trials, extra):
    out = tmp_path / "torture.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "engine_torture.py"), "--kills", str(kills),
                    "--trials", str(trials), "--storage", f"sqlite:///{tmp_path / 't.db'}", "--json", str(out),
                    *extra], check=True, timeout=280)
    result = json.loads(out.read_text())
    assert result["kills"] == kills and result["lost"] == 0 and result["duplicates"] == 0
    assert result["unfinished"] == 0 and result["proposals"] == trials
    assert result.get("exact_sequence", True) is True  # checked with one worker


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_on_one_study(tmp_path, backend):
    if backend == "postgresql":
        if not PG_URL:
            pytest.skip("NASFORGE_TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL server and sets it)")
        from nasforge.experiment import get_storage

        url, store = PG_URL, get_storage(PG_URL)
        if "pair" in {s.name for s in store.list_studies()}:
            store.delete_study("pair")
    else:
        url = f"sqlite:///{tmp_path / 'pair.db'}"
    # create it first so both processes load the same study
    Study(SPACE, "random", objectives="acc", seed=7, name="pair", storage=url)
    code = CONCURRENT.format(tests=str(ROOT / "tests"), url=url)
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    trials = Study.load("pair", url).trials
    assert [t.number for t in trials] == list(range(30))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert len({SPACE.canonical_key(t.arch) for t in trials}) == 30  # nobody evaluated another's architecture
    assert len({t.worker for t in trials}) == 2
