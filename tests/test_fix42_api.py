"""Plug-in API fixes (review 42): table text columns, registry checks, settings a stored study cannot record,
a by-name strategy's checks, pruner errors, resume of a study on a space of the user's own."""

from __future__ import annotations

import json
import sqlite3
import warnings

import numpy as np
import pytest

from bit_spaces import BitSpace

from nasforge import Result, Strategy, Study, get_strategy
from nasforge.benchmarks import TabularBenchmark
from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.experiment.pruners import Pruner
from nasforge.registry import Registry
from nasforge.spaces import SPACES, register_space
from nasforge.strategies import STRATEGIES


class Bits(BitSpace):
    """An n-bit space whose text form is made of digits only (``0101``)."""

    name = "fix42_bits"


class Sized(Bits):
    """Keeps its argument ``bits`` as ``self.n``: a stored study cannot record it."""

    def __init__(self, bits: int = 6) -> None:
        self.n = bits


def ones(arch, fidelity=None):
    return {"val_acc": float(sum(arch.genotype))}


@pytest.fixture
def registered():
    register_space(Bits.name, Bits)
    yield
    SPACES._entries.pop(Bits.name, None)
    SPACES._tags.pop(Bits.name, None)


@pytest.mark.parametrize("suffix", ["csv", "json", "jsonl", "tsv"])
def test_an_architecture_text_made_of_digits_keeps_its_leading_zeros(tmp_path, suffix):
    """Would fail: pandas read '000001' as the integer 1 ("bad bits '1'"), from a JSON string too."""
    import pandas as pd

    frame = pd.DataFrame({"arch": [format(i, "06b") for i in range(8)], "acc": np.arange(8.0)})
    path = tmp_path / f"bits.{suffix}"
    if suffix in ("csv", "tsv"):
        frame.to_csv(path, index=False, sep="\t" if suffix == "tsv" else ",")
    else:
        frame.to_json(path, orient="records", lines=suffix == "jsonl")
    table = TabularBenchmark(path, Bits(6))
    assert [Bits(6).format(a) for a in table.archs[:2]] == ["000000", "000001"]
    other = tmp_path / f"other.{suffix}"
    frame.rename(columns={"arch": "cell"}).pipe(
        lambda f: f.to_csv(other, index=False, sep="\t" if suffix == "tsv" else ",") if suffix in ("csv", "tsv")
        else f.to_json(other, orient="records", lines=suffix == "jsonl"))
    assert len(TabularBenchmark(other, Bits(6), arch_column="cell").archs) == 8  # its own column name too


def test_register_refuses_what_would_corrupt_the_registry():
    """Would fail: a bare decorator, a non-str name, a typo tag and a non-callable were all accepted."""
    things = Registry("thing", fast=False)
    with pytest.raises(UsageError, match=r"thing name missing: decorate Mine with @REGISTRY.register\('mine'\)"):
        @things.register
        class Mine:
            name = "mine"
    for bad in (7, "", None):
        with pytest.raises(UsageError, match="a thing name must be a non-empty string"):
            things.register(bad, int)
    with pytest.raises(UsageError, match=r"unknown thing tag\(s\) \['fsat'\] \(did you mean 'fast'\?\)"):
        things.register("typo", int, fsat=True)
    with pytest.raises(UsageError, match="thing 'num': the factory must be callable .* got int 42"):
        things.register("num", 42)
    assert things.names() == [] and "mine" not in things
    free = Registry("free")  # a registry declaring no tags takes any
    free.register("a", int, relaxed=True)
    assert free.names(relaxed=True) == ["a"]


def test_an_error_inside_a_users_strategy_keeps_its_type():
    """Would fail: a TypeError raised in the user's own __init__ (or an abstract class) was 'bad parameters'."""
    class Buggy(Strategy):
        name = "fix42_buggy"

        def __init__(self, space, seed=None, width=4):
            super().__init__(space, seed)
            self.table = sorted([width, "x"])

        def _propose(self):
            return self.space.sample(self.rng)

    STRATEGIES.register("fix42_buggy", Buggy)
    try:
        with pytest.raises(TypeError, match="'<' not supported"):
            Study(Bits(), "fix42_buggy")
        with pytest.raises(UsageError, match="bad parameters for strategy 'fix42_buggy': .*'widht'"):
            get_strategy("fix42_buggy", Bits(), widht=3)  # a call that does not fit is still bad parameters
    finally:
        STRATEGIES._entries.pop("fix42_buggy")
        STRATEGIES._tags.pop("fix42_buggy")


def test_a_strategy_by_name_is_checked_like_an_object():
    """Would fail: Study() took them and failed later with AttributeError ('dedup', 'space')."""
    class NoSuper(Strategy):
        name = "fix42_nosuper"

        def __init__(self, space, seed=None):
            self.space = space

        def _propose(self):
            return self.space.sample(self.rng)

    STRATEGIES.register("fix42_nosuper", NoSuper)
    STRATEGIES.register("fix42_int", lambda space, seed=None: 42)
    try:
        with pytest.raises(UsageError, match=r"strategy NoSuper was not initialised: .*super\(\).__init__"):
            Study(Bits(), "fix42_nosuper")
        with pytest.raises(UsageError, match="strategy 'fix42_int': its registered factory returned int 42, not a"):
            Study(Bits(), "fix42_int")
    finally:
        for name in ("fix42_nosuper", "fix42_int"):
            STRATEGIES._entries.pop(name)
            STRATEGIES._tags.pop(name)


def test_a_setting_a_stored_study_cannot_record_is_warned(tmp_path, registered):
    """Would fail: stored as {} silently, reloaded with the default (bits=6, step=1). A warning, not a refusal:
    such studies worked before, reopened with Study.load(..., space=...) (see test_fix42_rega.py)."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.warns(UserWarning, match=r"space Sized cannot record its constructor argument 'bits' .*"
                                         r"Study.load\(name, storage, space=...\) .*keep it as self.bits"):
        Study(Sized(bits=4), "random", storage=url, name="a")

    class Hid(Strategy):
        name = "fix42_hid"  # its own: "random" would be rebuilt as a RandomSearch

        def __init__(self, space, seed=None, step=1):
            super().__init__(space, seed)
            self._step = step

        def _propose(self):
            return self.space.sample(self.rng)

    with pytest.warns(UserWarning, match="strategy Hid cannot record its constructor argument 'step' .*strategy=..."):
        Study(Bits(), Hid(Bits(), seed=0, step=3), storage=url, name="b")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Study(Sized(bits=4), Hid(Bits(4), seed=0, step=3), name="memory")  # nothing to rebuild in memory
        Study(Bits(4), "random", seed=0, storage=url, name="fine").close()


def test_rows_of_another_space_setting_are_no_corruption(tmp_path, registered):
    """Would fail: 'trial 0 ... has a corrupted genotype field' for a space rebuilt with other settings."""
    path = tmp_path / "s.db"
    study = Study(Bits(4), "random", seed=0, storage=f"sqlite:///{path}", name="h")
    study.optimize(ones, n_trials=3)
    study.close()
    with sqlite3.connect(path) as raw:  # as an older nasforge stored a space whose setting it could not read back
        raw.execute("UPDATE nasforge_studies SET space_config = '{}'")
    with pytest.raises(UsageError, match=r"no trial of study 'h' is an architecture of space 'fix42_bits' rebuilt "
                                         r"with its stored settings \{\} .*settings do not match.*space=\.\.\."):
        Study.load("h", f"sqlite:///{path}")
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE nasforge_studies SET space_config = ?", (json.dumps({"n": 4}),))
        raw.execute("UPDATE nasforge_trials SET genotype = ? WHERE number = 1",
                    (json.dumps({"space": "fix42_bits", "genotype": [1]}),))
    with pytest.raises(Exception, match="trial 1 of study 'h' has a corrupted 'genotype' field"):
        Study.load("h", f"sqlite:///{path}")  # one row among good ones: damaged


class Curvy:
    def evaluate(self, arch, fidelity=None, reporter=None):
        for step in range(1, 4):
            reporter.report(step, float(step))
        return Result(metrics={"val_acc": float(sum(arch.genotype))})


class Raises(Pruner):
    name = "fix42_raises"

    def should_prune(self, number, curves):
        return 1 / 0

    def config(self):
        return {}


class Answers(Raises):
    name = "fix42_answers"

    def should_prune(self, number, curves):
        return "no"


class NoName(Pruner):
    def should_prune(self, number, curves):
        return False

    def config(self):
        return {}


@pytest.mark.parametrize("pruner, message", [
    (Raises(), "pruner 'fix42_raises': should_prune raised ZeroDivisionError: division by zero"),
    (Answers(), "pruner 'fix42_answers': should_prune must return True or False, got str 'no'"),
])
def test_a_pruner_error_stops_the_run_naming_the_pruner(pruner, message):
    """Would fail: every later trial FAILED with a bare ZeroDivisionError, and "no" pruned every trial."""
    study = Study(Bits(), "random", seed=0)
    with pytest.raises(UsageError, match=message):
        study.optimize(Curvy(), n_trials=4, pruner=pruner)
    states = [t.state.value for t in study.trials]
    assert "FAILED" not in states and "PRUNED" not in states and states[-1] == "WAITING"  # back in the queue


def test_a_pruner_without_a_name_is_refused():
    """Would fail: AttributeError: 'NoName' object has no attribute 'name'."""
    with pytest.raises(UsageError, match="pruner NoName has no name: set name = 'mine' on the class"):
        Study(Bits(), "random", seed=0).optimize(Curvy(), n_trials=2, pruner=NoName())


def test_resume_of_a_study_on_a_users_space_says_how_to_go_on(tmp_path, registered, monkeypatch, capsys):
    """Would fail: "unknown search space 'fix42_bits'; choose from chain, ..." with no way forward."""
    monkeypatch.chdir(tmp_path)
    study = Study(Bits(4), "random", seed=0, storage="sqlite:///r.db", name="g")
    study.optimize(ones, n_trials=2)
    study.close()
    SPACES._entries.pop(Bits.name)  # a new process: the user's script did not run
    (tmp_path / "fix42_task.py").write_text("def make():\n    return None\n")  # registers no space
    assert main(["resume", "g", "--storage", "sqlite:///r.db", "--evaluator", "fix42_task:make"]) == 2
    err = capsys.readouterr().err
    assert "searches the space 'fix42_bits', which nasforge does not know" in err
    assert "register_space('fix42_bits', MySpace); Study.load('g', 'sqlite:///r.db').resume(evaluator)" in err
