"""A ``nasforge search`` study lists its trials with a ``stage`` column from its first trial on (docs/training.md):
before stage 2, and when ``--retrain 0`` never runs one, as after."""
import io

import pandas as pd

from nasforge.cli import main
from nasforge.experiment import Study
from nasforge.pipelines.search import PIPELINE, is_staged, with_stages
from nasforge.spaces import get_space


def _study(tmp_path, attrs):
    study = Study(get_space("nb201"), "random", objectives="val_acc", seed=0, name="s",
                         storage=f"sqlite:///{tmp_path / 'db.sqlite'}", user_attrs=attrs)
    for _ in range(2):
        trial = study.ask()
        study.tell(trial, {"val_acc": 50.0})
    return study


def test_a_search_study_without_retrains_has_the_stage_column(tmp_path, capsys):
    study = _study(tmp_path, {"pipeline": PIPELINE})
    assert is_staged(study)
    frame = with_stages(study.trials_dataframe(), study.trials, is_staged(study))
    assert list(frame.columns[:4]) == ["number", "state", "arch", "stage"]
    assert frame["stage"].tolist() == ["search", "search"]
    assert main(["trials", "s", "--storage", f"sqlite:///{tmp_path / 'db.sqlite'}", "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert header[:4] == ["number", "state", "arch", "stage"]


def test_a_plain_study_has_no_stage_column(tmp_path, capsys):
    study = _study(tmp_path, {})
    assert not is_staged(study)
    assert main(["trials", "s", "--storage", f"sqlite:///{tmp_path / 'db.sqlite'}", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "stage" not in pd.read_csv(io.StringIO(out)).columns
