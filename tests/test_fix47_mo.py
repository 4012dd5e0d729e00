"""Multi-objective fixes: objective names the command line would read as several are refused when a study is
created; the incremental hypervolume curve stays exact while faster."""

import json
import re
import sqlite3
from pathlib import Path

import pytest

from nasforge import Study
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
            with pytest.raises(UsageError, match=r"is one name holding ',' or ':'.*: " + re.escape(hint) + "$"):
                Study(SPACE, "nsga2", objectives=objectives, name="c", storage=url, load_if_exists=load_if_exists)
    assert get_storage(url).list_studies() == []


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
