"""Multi-objective fixes: objective names the command line would read as several are refused when a study is
created; the incremental hypervolume curve stays exact while faster."""

import json
import re
import itertools
import sqlite3
from pathlib import Path

import numpy as np

import pytest

from nasforge import Study, pareto
from nasforge.exceptions import UsageError
from nasforge.experiment.storage import get_storage
from nasforge.spaces import NASBench201Space

SPACE = NASBench201Space()
ROOT = Path(__file__).resolve().parents[1]


def test_an_objective_name_holding_the_cli_separators_is_refused_before_anything_is_stored(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    # Would fail: stored as one objective 'val_acc,test_acc', refused only after the first evaluation
    for objectives, hint in [("val_acc,test_acc", "objectives=['val_acc', 'test_acc']"),
                             (["val_acc:max, params:min"],
                              "objectives=['val_acc', 'params'], directions=['max', 'min']"),
                             (["acc", "cost:min"], "objectives=['cost'], directions=['min']")]:
        for load_if_exists in (False, True):
            with pytest.raises(UsageError, match=r"reads as the command line's METRIC:DIRECTION.*: " + re.escape(hint)
                               + "$"):
                Study(SPACE, "nsga2", objectives=objectives, name="c", storage=url, load_if_exists=load_if_exists)
    assert get_storage(url).list_studies() == []


def test_a_column_name_holding_a_colon_is_a_name():
    """A table column such as acc:top1 is no METRIC:DIRECTION (a regression of the first version of the check)."""
    study = Study(SPACE, "nsga2", objectives=["acc:top1", "params"], name="colon")
    assert study.objectives == ["acc:top1", "params"]
    with pytest.raises(UsageError, match=re.escape("one name per objective: objectives=['acc:top1', 'cost']") + "$"):
        Study(SPACE, "nsga2", objectives=["acc:top1,cost"], name="c")


def test_a_stored_study_with_such_an_objective_name_still_loads(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study(SPACE, "nsga2", objectives=["val_acc", "cost"], seed=0, name="old", storage=url).close()
    with sqlite3.connect(tmp_path / "s.db") as raw:  # as an older version stored it
        raw.execute("""UPDATE nasforge_studies SET objectives = '["val_acc,test_acc", "cost"]'""")
    assert Study.load("old", url).objectives == ["val_acc,test_acc", "cost"]
    again = Study(SPACE, "nsga2", objectives=["val_acc,test_acc", "cost"], seed=0, name="old", storage=url,
                  load_if_exists=True)
    assert again.objectives == ["val_acc,test_acc", "cost"]


def test_the_docs_front_point_medians_are_the_stored_ones():
    """Would fail: the tables printed a median of x.5 rounded half-to-even ('6.53 / 6' for a stored 6.5)."""
    medians: dict[str, set[float]] = {}  # a mean as the tables print it -> the stored medians of the rows with it
    for path in ROOT.glob("benchmarks/results/**/strategies_mo*.json"):
        for setting in json.loads(path.read_text()).get("settings", {}).values():
            for row in setting.get("strategies", {}).values():
                if "found_median" in row:
                    medians.setdefault(f"{row['found']:.2f}", set()).add(row["found_median"])
    said = re.findall(r"\| (?:\*\*)?(\d+\.\d\d)(?:\*\*)? / ([\d.]+) of \d+ \|",
                      (ROOT / "docs/strategies.md").read_text())
    assert len(said) > 40
    assert [(mean, median) for mean, median in said if mean in medians and float(median) not in medians[mean]] == []


def _pairwise_kept(p: np.ndarray) -> np.ndarray:
    """The filter hypervolumes used before: the non-dominated points by pairwise comparisons."""
    return p if p.shape[1] <= 2 else p[pareto.non_dominated_mask(p)]


def _brute_hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """Sum of the cells of the grid of every coordinate that some point dominates."""
    axes = [np.unique(np.r_[reference[k], points[:, k]]) for k in range(points.shape[1])]
    volume = 0.0
    for cell in itertools.product(*(range(len(a) - 1) for a in axes)):
        upper = np.array([a[i + 1] for a, i in zip(axes, cell)])
        if (points >= upper).all(1).any():
            volume += float(np.prod([a[i + 1] - a[i] for a, i in zip(axes, cell)]))
    return volume


def _cases(count: int):
    rng = np.random.default_rng(0)
    for case in range(count):
        d, n = int(rng.integers(2, 5)), int(rng.integers(1, 12))
        points = rng.integers(0, 4, size=(n, d)).astype(float) if case % 2 else rng.random((n, d))  # ties
        if case % 3 == 0:
            points = np.vstack([points, points[: n // 2 + 1]])  # duplicates
        yield rng.permutation(points), np.full(d, -0.5 if case % 2 else 0.0)


def test_the_hypervolume_curve_is_unchanged_bit_for_bit_and_exact(monkeypatch):
    for points, reference in _cases(150):
        curve, volume = pareto.hypervolume_progress(points, reference), pareto.hypervolume(points, reference)
        assert curve[-1] == pytest.approx(_brute_hypervolume(points, reference), rel=1e-12, abs=1e-12)
        for k in (0, len(points) // 2):
            assert curve[k] == pytest.approx(_brute_hypervolume(points[:k + 1], reference), rel=1e-12, abs=1e-12)
        with monkeypatch.context() as patched:
            patched.setattr(pareto, "_kept", _pairwise_kept)
            assert np.array_equal(pareto.hypervolume_progress(points, reference), curve)
            assert pareto.hypervolume(points, reference) == volume


@pytest.mark.parametrize("name, hint", [("val_acc:MAX", "objectives=['val_acc'], directions=['max']"),
                                        ("val_acc : min", "objectives=['val_acc'], directions=['min']"),
                                        ("val_acc:Minimize", "objectives=['val_acc'], directions=['minimize']")])
def test_a_direction_in_another_case_or_with_spaces_is_read_as_the_command_line_reads_it(name, hint):
    with pytest.raises(UsageError, match=re.escape(hint) + "$"):
        Study(SPACE, "nsga2", objectives=[name, "params"], name="c")
