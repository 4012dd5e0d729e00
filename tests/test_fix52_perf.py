"""The per-trial trims of the in-memory optimize loop: each fast path is taken and gives what the full path gave
(no timing here)."""

from __future__ import annotations

import contextlib
import threading
import types

import numpy as np
import pytest

from nasforge import settings
from nasforge.exceptions import SpaceExhausted, StorageError
from nasforge.experiment import Study, _results
from nasforge.experiment._results import _json_values, _Invalid
from nasforge.experiment.storage.memory import InMemoryStorage
from nasforge.spaces import get_space


def test_is_plain_answers_flat_genotypes_without_recursion(monkeypatch):
    calls = []
    original = settings.is_plain
    monkeypatch.setattr(settings, "is_plain", lambda value: calls.append(value) or original(value))
    assert original(("nor_conv_3x3", 1, 2.5, True, None)) and calls == []
    for value, plain in [((np.str_("none"),), True), ((np.int64(3),), False), (((1, "a"), [None]), True),
                         (({"a": 1},), True), (({1: "a"},), False), ([object()], False)]:
        assert original(value) is plain


def test_empty_user_attrs_skip_the_json_round_trip(monkeypatch):
    monkeypatch.setattr(_results, "_json_text", lambda value: pytest.fail("JSON-encoded an empty dict"))
    first, second = _json_values({}, "user_attrs"), _json_values({}, "user_attrs")
    assert first == {} and first is not second
    monkeypatch.undo()
    with pytest.raises(_Invalid, match="must hold JSON values"):  # an empty mapping that is no dict, as before
        _json_values(types.MappingProxyType({}), "user_attrs")
    assert _json_values({"a": (1, 2)}, "user_attrs") == {"a": [1, 2]}


def test_memory_storage_lock_is_a_plain_context_manager_and_closed_storage_refused():
    storage = InMemoryStorage()
    assert hasattr(type(storage._open()), "__enter__")  # no generator-based context manager
    with storage._open(), storage._open():  # re-entrant, as the RLock it holds
        assert storage._lock._is_owned()
    assert not storage._lock._is_owned()
    storage.close()
    with pytest.raises(StorageError, match="closed"):
        with storage._open():
            pass
    taken = threading.Event()
    thread = threading.Thread(target=lambda: storage._lock.acquire(timeout=5) and taken.set())
    thread.start()
    thread.join()
    assert taken.is_set()  # the refusal released the lock


def test_strategy_step_marks_stale_as_before():
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="step")
    assert not isinstance(study._strategy_step(), contextlib._GeneratorContextManager)  # no generator per trial
    with study._strategy_step():
        pass
    assert not study._strategy_stale
    with pytest.raises(SpaceExhausted):
        with study._strategy_step():
            raise SpaceExhausted("none left")
    assert not study._strategy_stale
    with pytest.raises(KeyboardInterrupt):
        with study._strategy_step():
            raise KeyboardInterrupt
    assert study._strategy_stale


def test_optimize_stores_what_ask_and_tell_store():
    space = get_space("nb201")
    looped = Study(space, "evolution", objectives="acc", seed=5, name="loop")
    looped.optimize(lambda arch: float(sum(map(len, arch.genotype))), n_trials=120, progress=False)
    by_hand = Study(space, "evolution", objectives="acc", seed=5, name="hand")
    for _ in range(120):
        trial = by_hand.ask()
        by_hand.tell(trial, float(sum(map(len, trial.arch.genotype))))
    keep = ("number", "arch", "state", "metrics", "user_attrs", "ask_seq", "tell_seq", "event")
    assert [[getattr(t, k) for k in keep] for t in looped.trials] == [[getattr(t, k) for k in keep]
                                                                       for t in by_hand.trials]
    assert looped.strategy_fingerprint() == by_hand.strategy_fingerprint()


def test_a_shallow_copy_of_a_memory_storage_checks_its_own_closed_flag():
    """Would fail (regression review f): the copy shared its original's lock object, which checked the original."""
    import copy

    original = InMemoryStorage()
    twin = copy.copy(original)
    twin.close()
    original.list_studies()
    with pytest.raises(StorageError, match="closed"):
        twin.list_studies()
