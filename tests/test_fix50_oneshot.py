"""Review 50 fixes of the one-shot journeys: the strict-fair record line, the --data-dir hint for a moved data
set, and ranking.json's one-seed std (null) and integer counts."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")

from nasforge.cli import main  # noqa: E402
from nasforge.evaluators import SupernetEvaluator  # noqa: E402
from nasforge.exceptions import MissingFileError  # noqa: E402
from nasforge.oneshot import OneShotConfig, build_supernet  # noqa: E402
from nasforge.oneshot.checkpoint import save_supernet  # noqa: E402
from nasforge.oneshot.study import RankingStudy, _aggregate  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _sampling_line(sampling: str) -> str:
    line, = [t for t in OneShotConfig(sampling=sampling).tricks() if t.startswith("sampling")]
    return line


def test_the_strict_fair_line_says_it_accumulates_the_gradients_of_m_paths_into_one_step():
    strict, fair = _sampling_line("strict_fair"), _sampling_line("fair")
    assert strict != fair and strict.startswith("sampling: strict_fair (")
    assert "gradients of m paths" in strict and "one optimizer step" in strict
    assert fair == ("sampling: fair (the widest decisions' options equally often, a smaller decision's about "
                    "equally often)")  # unchanged

