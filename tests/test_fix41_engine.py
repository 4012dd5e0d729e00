"""Review 41 (engine): the empty-database message, StudyNotFoundError.studies, the recorded warm-up rule,
test_acc refused as a constraint, oneshot search --augment."""

from __future__ import annotations

import pickle
import sqlite3

import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.exceptions import StudyNotFoundError
from nasforge.experiment.storage import open_storage
from nasforge.spaces import get_space

SPACE = get_space("nb201")


def _one_line(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_the_empty_database_message_names_a_moved_database_too(tmp_path, capsys):
    """Would fail: the message blamed only a run killed as it started, though a run that opened the old path after
    the real file was moved away leaves the same empty file."""
    sqlite3.connect(tmp_path / "study.db").execute("PRAGMA user_version = 1").connection.close()
    err = _one_line(capsys, ["studies", "--storage", f"sqlite:///{tmp_path / 'study.db'}"])
    assert "is an empty database (no tables)" in err
    assert "killed as it started" in err and "moved or renamed" in err and "give its new path" in err


@pytest.mark.parametrize("url", ["memory", "sqlite"])
def test_study_not_found_carries_the_study_names(tmp_path, url):
    url = "memory" if url == "memory" else f"sqlite:///{tmp_path / 'x.db'}"
    storage = open_storage(url)
    for name in ("b", "a"):
        Study(SPACE, "random", objectives="acc", seed=0, name=name, storage=storage)
    for call in (storage.load_study, storage.delete_study):
        with pytest.raises(StudyNotFoundError) as info:
            call("nosuch")
        assert set(info.value.studies) == {"a", "b"}
        assert pickle.loads(pickle.dumps(info.value)).studies == info.value.studies
    assert StudyNotFoundError("no study").studies is None


def test_the_default_storage_miss_lists_names_from_the_exception_not_its_text(tmp_path, monkeypatch, capsys):
    """Would fail: the names were cut from the message at its last '; studies: ', which a study name may hold."""
    monkeypatch.chdir(tmp_path)
    Study(SPACE, "random", objectives="acc", seed=0, name="x; studies: y", storage="sqlite:///nasforge.db").close()
    err = _one_line(capsys, ["status", "nosuch"])
    assert "(the default --storage; studies: ['x; studies: y'])" in err


def _diverging_study(url: str, strategy: str, objectives: list[str]) -> None:
    """A study whose stored asks a replay cannot repeat: an ask of the strategy that no trial records, within the
    first population_size asks (as a second process writing the study would cause)."""
    study = Study(SPACE, strategy, objectives=objectives, seed=0, name="s", storage=url,
                  population_size=8)
    for i in range(4):
        trial = study.ask()
        study.tell(trial, [0.1 * i] * len(objectives))
        study.strategy.ask()  # not stored
    study.close()


def _replays(monkeypatch) -> list[int]:
    from nasforge.experiment import _replay

    calls: list[int] = []
    real = _replay._diverges_at
    monkeypatch.setattr(_replay, "_diverges_at", lambda *a: calls.append(1) or real(*a))
    return calls


@pytest.mark.parametrize("strategy, objectives", [("evolution", ["acc"]), ("mo_evolution", ["acc", "params"]),
                                                  ("nsga2", ["acc", "params"])])
def test_a_new_population_study_records_its_warm_up_rule_and_is_replayed_once(tmp_path, monkeypatch, strategy,
                                                                              objectives):
    """Would fail: a new study recorded no warm-up rule, so a replay diverging within the first population_size asks
    was run a second time by the older rule ("proposals")."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    _diverging_study(url, strategy, objectives)
    calls = _replays(monkeypatch)
    with pytest.warns(RuntimeWarning, match="replay diverged"):
        study = Study.load("s", url)
    assert study.record.strategy_config["warmup"] == "asks" and study.strategy.warmup == "asks"
    assert len(calls) == 1
    study.close()


def test_a_study_without_a_recorded_rule_still_tries_the_older_one(tmp_path, monkeypatch):
    """A study stored before the rule was recorded keeps today's fallback: a second replay by the older rule."""
    path = tmp_path / "x.db"
    _diverging_study(f"sqlite:///{path}", "evolution", ["acc"])
    with sqlite3.connect(path) as raw:  # as an older nasforge stored it
        raw.execute("UPDATE nasforge_studies SET strategy_config = ?", ('{"population_size": 8}',))
    raw.close()
    calls = _replays(monkeypatch)
    with pytest.warns(RuntimeWarning, match="replay diverged"):
        Study.load("s", f"sqlite:///{path}").close()
    assert len(calls) == 2


def test_search_refuses_test_acc_in_constraints(tmp_path, monkeypatch, capsys):
    """Would fail: objectives refused test_acc, constraints took it, so the test split could steer a search."""
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import SearchConfig

    config = {"strategy": "nsga2", "objectives": ["val_acc", "params"], "constraints": "test_acc >= 0.5"}
    with pytest.raises(UsageError, match="constraints must not be on test_acc: the test split only reports"):
        SearchConfig(**config).validate()
    SearchConfig(**config).validate(resumed=True)  # a run stored with it still resumes
    monkeypatch.chdir(tmp_path)
    err = _one_line(capsys, ["search", "--strategy", "nsga2", "--objectives", "val_acc,params",
                             "--constraints", "params<=1e6,test_acc>=0.5", "--trials", "1"])
    assert "--constraints must not be on test_acc" in err
    assert not any(tmp_path.iterdir())


def test_a_users_factory_returning_evolution_without_a_warmup_parameter_still_loads(tmp_path, monkeypatch):
    """Would fail (regression of the recorded warm-up rule): the rule was recorded for any RandomWarmUp, and a load
    passed warmup= back to a registered factory that does not take it, so the stored study could not be resumed."""
    from nasforge.strategies import STRATEGIES, RegularizedEvolution

    def mine(space, seed=None, population_size=5):
        return RegularizedEvolution(space, seed=seed, population_size=population_size, sample_size=3)

    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))
    monkeypatch.setattr(STRATEGIES, "_tags", dict(STRATEGIES._tags))
    STRATEGIES.register("mine41", mine)
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, "mine41", seed=0, name="s", storage=url)
    assert "warmup" not in study.record.strategy_config
    for _ in range(3):
        study.tell(study.ask(), 0.5)
    study.close()
    assert len(Study.load("s", url).trials) == 3
    Study(SPACE, "mine41", seed=0, name="s", storage=url, load_if_exists=True).close()
