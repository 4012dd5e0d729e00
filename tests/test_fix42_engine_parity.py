"""Storage parity fixes of 2026-12-06 (stop 42): the in-memory and SQL storages agree on renaming a study to its
own name, list the studies when the one to rename is missing, and both refuse a bad durability."""

from __future__ import annotations

import pytest

from nasforge import Study
from nasforge.exceptions import StudyExistsError, StudyNotFoundError, UsageError
from nasforge.experiment.storage import InMemoryStorage, get_storage, open_storage
from nasforge.spaces import get_space

SPACE = get_space("nb201")


@pytest.mark.parametrize("storage", [InMemoryStorage, lambda: open_storage("sqlite:///r.db")])
def test_both_storages_rename_a_study_to_its_own_name_and_list_the_studies_of_a_missing_one(
        tmp_path, monkeypatch, storage):
    """Would fail: the in-memory storage refused renaming 'a' to 'a' (already exists); SQL listed no studies."""
    monkeypatch.chdir(tmp_path)
    store = storage()
    study = Study(SPACE, "random", objectives="acc", seed=0, name="a", storage=store)
    Study(SPACE, "random", objectives="acc", seed=0, name="b", storage=store)
    store.rename_study("a", "a")
    assert study.storage.load_study("a").name == "a"
    with pytest.raises(StudyExistsError):
        store.rename_study("a", "b")
    with pytest.raises(StudyNotFoundError, match=r"no study 'zz' in .*; studies: \['a', 'b'\]"):
        store.rename_study("zz", "b")
    store.close()


@pytest.mark.parametrize("storage", [None, "memory", InMemoryStorage()])
def test_a_bad_durability_is_refused_for_every_storage(storage):
    """Would fail: get_storage('memory', durability='fast') passed without a word (only SQL checked it)."""
    with pytest.raises(UsageError, match=r"unknown durability 'fast'; choose from \['full', 'normal'\]"):
        get_storage(storage, durability="fast")
