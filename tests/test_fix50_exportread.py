"""``nasforge export`` of a study without a retrained network refuses after reading its trials once, not twice (the
refusal of a plain study needs only its attributes: 8.8 -> 4.5 s CPU at 100,000 trials)."""
import pytest

from nasforge import export
from nasforge.exceptions import UsageError
from nasforge.experiment import Study
from nasforge.spaces import get_space


def test_a_plain_study_is_refused_without_a_second_read_of_its_trials(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    study = Study(get_space("nb201"), "random", objectives="val_acc", seed=0, name="s", storage=url)
    study.tell(study.ask(), {"val_acc": 50.0})

    def second_read(*args):
        raise AssertionError("the trials were read again")

    monkeypatch.setattr(export, "_stored_study", second_read)
    with pytest.raises(UsageError, match=r"^study s has no retrained network saved$"):
        export.find_saved_network("s", storage=url)
