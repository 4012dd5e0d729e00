"""Multi-objective fixes: objective names the command line would read as several are refused when a study is
created; the incremental hypervolume curve stays exact while faster."""

import re
import sqlite3

import pytest

from nasforge import Study
from nasforge.exceptions import UsageError
from nasforge.experiment.storage import get_storage
from nasforge.spaces import NASBench201Space

SPACE = NASBench201Space()


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
