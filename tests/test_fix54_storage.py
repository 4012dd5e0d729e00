"""Storage review 54: a damaged run target, study names that are no text, a WAL the read-only folder cannot open,
space and strategy names longer than the columns. PostgreSQL runs when ``NASFORGE_TEST_POSTGRES_URL`` is set."""

from __future__ import annotations

import math
import shutil

import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.exceptions import StorageError, UsageError
from nasforge.experiment.storage.base import DamagedRowError
from nasforge.spaces import get_space

from engine_backends import fresh_storage, read_only
from engine_evaluators import Toy

SPACE = get_space("nb201")


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request, tmp_path):
    """A fresh SQLite or PostgreSQL storage URL."""
    return fresh_storage(request.param, tmp_path)


def _set_study_column(url, column, value):
    """Write ``value`` into every study row's ``column``, as a hand edit or a damaged disk may."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE nasforge_studies SET {column} = :value"), {"value": value})
    engine.dispose()


# -- 1. a damaged n_trials_total ---------------------------------------------------------------
@pytest.mark.parametrize("stored", ['"x"', "null", "-1", "true", "[3]"])
def test_a_damaged_run_target_is_one_damaged_row_line(sql_url, tmp_path, monkeypatch, capsys, stored):
    Study(SPACE, "random", objectives="acc", seed=0, name="s", storage=sql_url).optimize(Toy(), 3)
    _set_study_column(sql_url, "run_config", '{"n_trials_total": %s, "timeout": null}' % stored)
    with pytest.raises(DamagedRowError, match=r"study 's' has a corrupted 'run_config' field: an n_trials_total"):
        Study.load("s", sql_url)
    monkeypatch.chdir(tmp_path)
    assert main(["resume", "s", "--storage", sql_url, "--evaluator", "engine_evaluators:make_toy"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'run_config'" in err and "n_trials_total" in err, err


@pytest.mark.parametrize("stored", ["5", "3.0", "0", "NaN", "Infinity"])
def test_a_run_target_older_releases_stored_still_loads(sql_url, stored):
    Study(SPACE, "random", objectives="acc", seed=0, name="s", storage=sql_url).optimize(Toy(), 3)
    _set_study_column(sql_url, "run_config", '{"n_trials_total": %s, "timeout": null}' % stored)
    study = Study.load("s", sql_url)  # the first engine took a float n_trials unchecked and stored it so
    target = study.run_config["n_trials_total"]  # NaN: the first engine checked only n_trials < 0
    assert (target == float(stored) or math.isnan(target) and stored == "NaN") and len(study.trials) == 3
    _set_study_column(sql_url, "run_config", '{"timeout": null}')  # no target: loads, and resume has nothing new
    study = Study.load("s", sql_url)
    assert study.run_config == {"timeout": None}
    assert study.resume(Toy()).n_proposals == 3  # was: KeyError 'n_trials_total'


# -- 2. a study name that is no string -----------------------------------------------------------
@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgresql"])
@pytest.mark.parametrize("call", [lambda s: s.load_study(None), lambda s: s.delete_study(5),
                                  lambda s: s.delete_study(["x"]), lambda s: s.rename_study(5, "zz")])
def test_a_study_name_that_is_no_string_is_one_usage_error_on_every_storage(tmp_path, kind, call):
    from nasforge.experiment import InMemoryStorage, get_storage

    found = fresh_storage(kind, tmp_path)
    storage = found if isinstance(found, InMemoryStorage) else get_storage(found)
    with pytest.raises(UsageError, match=r"^study name must be a string, got (NoneType None|int 5|list \['x'\])$"):
        call(storage)  # was: AttributeError 'int' object has no attribute 'encode' (SQL), TypeError (memory)


# -- 3. a -wal without its -shm in a read-only folder ------------------------------------------------
def test_a_wal_without_its_shm_in_a_read_only_folder_says_to_copy_both(tmp_path, capsys):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="hw", storage=f"sqlite:///{tmp_path / 'hw.db'}")
    study.optimize(Toy(), 3)
    archive = tmp_path / "archive"
    archive.mkdir()
    for suffix in ("", "-wal"):  # what a killed writer leaves, its -shm index lost (an archive of the folder)
        shutil.copy(tmp_path / f"hw.db{suffix}", archive / f"hw.db{suffix}")
    study.close()
    url = f"sqlite:///{archive / 'hw.db'}"
    why = (f"hw.db-wal may hold results not yet in hw.db, and SQLite must create hw.db-shm to read it, which the "
           f"read-only folder '{archive}' does not allow: copy hw.db and hw.db-wal to a writable folder")
    with read_only(archive):
        for command in (["status", "hw"], ["studies"], ["resume", "hw"]):
            assert main([*command, "--storage", url]) == 2
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and why in err, err  # was: 'unable to open database file' alone
        with pytest.raises(StorageError) as caught:
            Study.load("hw", url)
        assert why in str(caught.value) and "readonly=True" not in str(caught.value)  # that open fails too
    assert len(Study.load("hw", url).trials) == 3  # in a writable folder, the pair holds every trial


# -- 4. space and strategy names longer than the columns ---------------------------------------------
@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgresql"])
def test_a_space_or_strategy_name_over_128_characters_is_refused_at_creation_on_postgresql(tmp_path, kind):
    """Would fail (PostgreSQL): 'value too long for type character varying(128)'; SQLite and memory hold longer
    names (a chain space's name may be longer: test_fix45_chain)."""
    from nasforge.spaces.chain import ChainSpace
    from nasforge.strategies.random_search import RandomSearch

    class Named(RandomSearch):
        name = "r" * 129

    storage = fresh_storage(kind, tmp_path)
    long_space = ChainSpace([["a", "b"], ["c", "d"]], name="c" * 129)
    if kind == "postgresql":
        with pytest.raises(UsageError, match=r"^the space name is 129 characters long; a study in this storage "
                                             r"records at most 128: "):
            Study(long_space, "random", objectives="acc", name="long", storage=storage)
        with pytest.raises(UsageError, match=r"^the strategy name is 129 characters long; a study in this storage"):
            Study(SPACE, Named(SPACE, seed=0), objectives="acc", name="long", storage=storage)
        long_space = ChainSpace([["a", "b"], ["c", "d"]], name="c" * 128)  # the longest its column holds
    Study(long_space, "random", objectives="acc", seed=0, name="long", storage=storage).optimize(Toy(), 2)
    assert len(Study.load("long", storage, space=long_space).trials) == 2


def test_a_sqlite_study_with_a_longer_space_name_runs_and_loads(tmp_path):
    from nasforge.spaces.chain import ChainSpace

    url = f"sqlite:///{tmp_path / 'old.db'}"
    space = ChainSpace([["a", "b"], ["c", "d"]], name="c" * 1000)
    Study(space, "random", objectives="acc", seed=0, name="old", storage=url).optimize(Toy(), 2)
    assert len(Study.load("old", url, space=space).trials) == 2
    joined = Study(space, "random", objectives="acc", seed=0, name="old", storage=url, load_if_exists=True)
    assert len(joined.optimize(Toy(), 1).trials) == 3


def test_an_existing_study_with_a_longer_space_name_is_named_existing_not_too_long(tmp_path, monkeypatch):
    """Would fail (regression review j): on a storage with a limit, creating a stored study again said its name was
    too long, not that it exists (load_if_exists=True joins it)."""
    from nasforge.exceptions import StudyExistsError
    from nasforge.experiment.storage.sql import SQLStorage
    from nasforge.spaces.chain import ChainSpace

    url = f"sqlite:///{tmp_path / 'old.db'}"
    space = ChainSpace([["a", "b"], ["c", "d"]], name="c" * 200)
    Study(space, "random", objectives="acc", seed=0, name="old", storage=url).optimize(Toy(), 1)
    monkeypatch.setattr(SQLStorage, "label_limit", 128)  # as on PostgreSQL
    with pytest.raises(StudyExistsError):
        Study(space, "random", objectives="acc", seed=0, name="old", storage=url)
    Study(space, "random", objectives="acc", seed=0, name="old", storage=url, load_if_exists=True)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize("target", [None, "10", -1, True])
def test_a_run_config_with_a_target_nasforge_cannot_read_is_refused_when_written(tmp_path, kind, target):
    """Would fail: set_run_config stored it, and the next load (SQL) or resume (memory) failed on it."""
    study = Study(SPACE, "random", objectives="acc", seed=0, name="w", storage=fresh_storage(kind, tmp_path))
    with pytest.raises(UsageError, match="n_trials_total"):
        study.set_run_config({"n_trials_total": target})
    study.set_run_config({"timeout": None})  # no target: taken (resume then re-runs only what is left)
