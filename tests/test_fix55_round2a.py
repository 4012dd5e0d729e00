"""Second-round regressions: a package module that only opens a study at its top level (a study handle joined with
load_if_exists=True, an earlier study loaded to narrow its space) loaded in full before 5d02ab34 and was cut short
there (the rest missing for every later import); its asks, tells and runs still stop it. A result refused for its
cost or its curve keeps no metrics, as before cfcc8d2a (only a refused objective keeps the finite ones)."""
import importlib
import math
import sys
import warnings

import pytest
from model_space_sources import TWO_CHOICE_NET

from nasforge import Result, Study
from nasforge.exceptions import UsageError
from nasforge.experiment.storage import open_storage
from nasforge.spaces.model_space import ModelSpace
from nasforge.spaces.model_space.reference import load_reference

SPACE = "from nasforge import Study\nfrom nasforge.spaces.model_space import ModelSpace\n"


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.chdir(tmp_path)
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith(("pkg56", "job56", "_nasforge_user_")):
            del sys.modules[name]


def _package(folder, name: str, source: str) -> None:
    (folder / "pkg56").mkdir(exist_ok=True)
    (folder / "pkg56" / "__init__.py").write_text("")
    (folder / "pkg56" / f"{name}.py").write_text(source)


def _stored(url: str, name: str = "s") -> int:
    return len(Study.load(name, open_storage(url, readonly=True), replay=False).trials)


def test_a_package_module_keeping_a_study_handle_loads_in_full(isolated):
    """Would fail: `nasforge resume --evaluator pkg.search:make_evaluator` of such a module said it has no
    make_evaluator (the space's rebuild left the module cut short at its study in sys.modules)."""
    url = f"sqlite:///{isolated / 's.db'}"
    handle = (f"study = Study(ModelSpace(Net, input_shape=(2,)), 'random', objectives='score', seed=0, name='s', "
              f"storage={url!r}, load_if_exists=True)\n")
    _package(isolated, "search", TWO_CHOICE_NET + SPACE + handle + "def make_evaluator():\n    return len\n")
    study = importlib.import_module("pkg56.search").study  # the script: its study made and run
    study.tell(study.ask(), {"score": 1.0})
    del sys.modules["pkg56.search"]  # a new process rebuilding the space (resume, export)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = Study.load("s", url)
    assert len(loaded.trials) == _stored(url) == 1
    assert importlib.import_module("pkg56.search").make_evaluator() is len  # the evaluator factory below it


def test_a_package_module_narrowed_by_an_earlier_study_loads(isolated):
    """Would fail: Study.load(name, url) at the top of a package module (progressive search) stopped it before its
    class: 'pkg56.fine has no 'Fine''; it loaded before 5d02ab34, as a read-only load does now."""
    url = f"sqlite:///{isolated / 'coarse.db'}"
    _package(isolated, "net", TWO_CHOICE_NET)
    coarse = Study(ModelSpace(load_reference("pkg56.net:Net"), input_shape=(2,)), "random", objectives="score",
                   seed=0, name="s", storage=url)
    coarse.tell(coarse.ask(), {"score": 1.0})
    _package(isolated, "fine", "from nasforge import Study\n" f"EARLIER = len(Study.load('s', {url!r}).trials)\n"
             + TWO_CHOICE_NET.replace("class Net", "class Fine"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fine = load_reference("pkg56.fine:Fine")
    assert fine.__name__ == "Fine" and sys.modules["pkg56.fine"].EARLIER == 1


@pytest.mark.parametrize("run", ["study.tell(study.ask(), {'score': 1.0})",
                                 "study.enqueue(study.space.default)",
                                 "study.optimize(lambda arch: {'score': 1.0}, n_trials=1, progress=False)"])
def test_a_joined_study_still_stops_a_file_where_it_adds_trials(isolated, run):
    url = f"sqlite:///{isolated / 'j.db'}"
    (isolated / "job56.py").write_text(
        TWO_CHOICE_NET + SPACE + f"study = Study(ModelSpace(Net, input_shape=(2,)), 'random', objectives='score', "
        f"seed=0, name='s', storage={url!r}, load_if_exists=True)\nOPENED = 1\n{run}\nAFTER = 1\n")
    importlib.import_module("job56")  # the script run once
    del sys.modules["job56"]
    with pytest.warns(UserWarning, match="loading stopped there"):
        net = load_reference(f"{isolated / 'job56.py'}:Net")
    module = sys.modules[net.__module__]
    assert module.OPENED == 1 and not hasattr(module, "AFTER") and _stored(url) == 1


def test_a_study_to_create_with_load_if_exists_stops_a_file_and_stores_nothing(isolated):
    url = f"sqlite:///{isolated / 'n.db'}"
    Study("nb201", "random", name="other", storage=url, seed=0)
    (isolated / "new56.py").write_text(TWO_CHOICE_NET + SPACE + "Study(ModelSpace(Net, input_shape=(2,)), 'random', "
                                       f"objectives='score', name='s', storage={url!r}, load_if_exists=True)\n"
                                       "class Net2(Net):\n    pass\n")
    with pytest.warns(UserWarning, match="loading stopped there"), pytest.raises(UsageError, match="'Net2'"):
        load_reference(f"{isolated / 'new56.py'}:Net2")
    with open_storage(url, readonly=True) as store:
        assert [s.name for s in store.list_studies()] == ["other"]


def test_a_result_refused_for_its_cost_or_curve_keeps_no_metrics():
    """Would fail: cfcc8d2a kept every metric (the objective too) of a result refused for a negative cost or a bad
    curve, though its message said a result refused for other reasons than an objective keeps none, as before."""
    study = Study("nb201", "random", objectives=["val_acc", "params"], directions=["maximize", "minimize"], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cost = study.tell(study.ask(), Result(metrics={"val_acc": 0.9, "params": 5.0}, cost=-1))
        curve = study.tell(study.ask(), Result(metrics={"val_acc": 0.8, "params": 5.0}, intermediate="bad"))
        nan = study.tell(study.ask(), Result(metrics={"val_acc": math.nan, "params": 3.0}))
    assert cost.state == curve.state == nan.state == "FAILED"
    assert cost.metrics == curve.metrics == {} and nan.metrics == {"params": 3.0}
