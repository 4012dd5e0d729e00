"""Round 55, the Python API as a notebook user meets it: warnings name the user's line, progress works on a stream
without ``isatty``, and a storage URL missing its slashes is refused rather than creating an odd file."""

from __future__ import annotations

import os
import sys
import warnings

import pytest

from nasforge import Study, get_space, get_strategy
from nasforge.exceptions import StorageError


def _caught(action) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
    return list(caught)


def test_tell_failed_warning_names_the_callers_line() -> None:
    study = Study("nb201", "random", seed=0)
    caught = _caught(lambda: study.tell(study.ask(), float("nan")))
    assert len(caught) == 1 and "FAILED" in str(caught[0].message)
    assert caught[0].filename == __file__  # was nasforge/experiment/study.py (the lock's wrapper)


def test_one_budget_warning_names_the_callers_line() -> None:
    space = get_space("nb201")
    for make in (lambda: get_strategy("hyperband", space, seed=0, min_budget=10, max_budget=12, eta=3),
                 lambda: Study(space, "hyperband", seed=0, min_budget=10, max_budget=12, eta=3)):
        caught = _caught(make)
        assert [w.filename for w in caught] == [__file__], [(w.filename, str(w.message)) for w in caught]


def test_point_predictor_warnings_name_the_callers_line() -> None:
    space = get_space("nb201")
    surrogate = {"name": "predictor", "predictor": "svr"}
    for make in (lambda: get_strategy("model_based", space, seed=0, surrogate=surrogate, acquisition="ei"),
                 lambda: Study(space, "ts_hvi", objectives=["a", "b"], directions=["max", "min"], seed=0,
                               surrogate=surrogate)):
        caught = _caught(make)
        assert caught and {w.filename for w in caught} == {__file__}, [(w.filename, str(w.message)) for w in caught]


def test_unreached_reference_warning_names_the_callers_line() -> None:
    study = Study("nb201", "ts_hvi", objectives=["a", "b"], directions=["max", "max"], seed=0,
                  reference=[100, 100], n_initial=2)

    def tell_four() -> None:
        for i in range(4):
            study.tell(study.ask(), (float(i), float(i)))

    caught = [w for w in _caught(tell_four) if "reference" in str(w.message)]
    assert len(caught) == 1 and caught[0].filename == __file__


class _WriteOnlyNoFlush:
    """A redirector with ``write`` alone (no flush, no isatty), as some loggers' stand-ins for sys.stderr are."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)


class _WriteOnly(_WriteOnlyNoFlush):
    """A stand-in for sys.stderr with write and flush only (no isatty, no fileno), as some redirectors are."""

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("stream_class", [_WriteOnly, _WriteOnlyNoFlush])
def test_progress_on_a_stream_without_isatty_or_flush(monkeypatch: pytest.MonkeyPatch, stream_class) -> None:
    """Was AttributeError: no attribute 'isatty' (then, without flush: no attribute 'flush')."""
    stream = stream_class()
    monkeypatch.setattr(sys, "stderr", stream)
    study = Study("nb201", "random", seed=0)
    study.optimize(lambda arch: 1.0, n_trials=2, progress=True)
    assert len(study.trials) == 2
    assert "done 2/2" in "".join(stream.parts)


def test_progress_without_a_stderr_prints_nothing_to_stdout(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(sys, "stderr", None)  # Python run without one (pythonw, fd 2 closed)
    study = Study("nb201", "random", seed=0)
    study.optimize(lambda arch: 1.0, n_trials=2, progress=True)
    assert len(study.trials) == 2
    assert "done" not in capsys.readouterr().out  # was: the progress lines, on stdout among the script's output


@pytest.mark.parametrize("url", ["sqlite:p.db", "sqlite:/p.db", "SQLite:p.sqlite", "postgresql:u@h/p.db"])
def test_storage_url_missing_slashes_is_refused(url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError, match="bad storage URL") as info:
        Study("nb201", seed=0, storage=url)
    assert "sqlite:///p" in str(info.value) or "postgresql+psycopg://" in str(info.value)
    assert os.listdir(tmp_path) == []  # no file 'sqlite:p.db', no folder 'sqlite:'


def test_existing_file_named_like_a_url_still_opens(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    from nasforge.experiment.storage import open_storage
    from nasforge.experiment.storage.urls import sqlite_url

    # a study an older nasforge stored in a file literally named 'sqlite:p.db'
    Study("nb201", seed=0, storage=sqlite_url(tmp_path / "sqlite:p.db"), name="old").close()
    again = Study.load("old", "sqlite:p.db")
    assert again.name == "old"
    again.close()
    open_storage("sqlite:p.db", readonly=True).close()
