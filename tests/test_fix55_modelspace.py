"""A model file (or package module) whose top-level code makes or runs a study stops there when it is loaded
to rebuild its space; a read-only load does not stop it, a package module stops like a file, and a class left
undefined by the stop is named as such."""
import importlib
import sys
import threading
import warnings

import pytest
from model_space_sources import TWO_CHOICE_NET

from nasforge import Study
from nasforge.exceptions import UsageError
from nasforge.experiment.storage import open_storage
from nasforge.spaces.model_space import ModelSpace
from nasforge.spaces.model_space.reference import load_reference

STUDY = ("from nasforge import Study\nfrom nasforge.spaces.model_space import ModelSpace\n"
         "study = Study(ModelSpace(Net, input_shape=(2,)), 'random', objectives='score', seed=0, name='s', "
         "storage={url!r}, load_if_exists=True)\n"
         "trial = study.ask()\nstudy.tell(trial, {{'score': 1.0}})\n")
MEMORY_STUDY = ("from nasforge import Study\nfrom nasforge.spaces.model_space import ModelSpace\n"
                "Study(ModelSpace(Net, input_shape=(2,)), 'random', objectives='score')\n")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith(("pkg55", "_nasforge_user_")):
            del sys.modules[name]


def _stored(url: str) -> int:
    return len(Study.load("s", open_storage(url, readonly=True), replay=False).trials)


def test_a_read_only_load_at_the_top_of_a_model_file_does_not_stop_it(isolated):
    """A file narrowing its space to an earlier study's results (progressive search) loaded before the merge."""
    url = f"sqlite:///{isolated / 'coarse.db'}"
    study = Study(ModelSpace(load_reference(f"{_net(isolated)}:Net"), input_shape=(2,)), "random",
                  objectives="score", seed=0, name="s", storage=url)
    study.tell(study.ask(), {"score": 1.0})
    (isolated / "fine.py").write_text(
        "from nasforge import Study\nfrom nasforge.experiment.storage import open_storage\n"
        f"EARLIER = len(Study.load('s', open_storage({url!r}, readonly=True), replay=False).trials)\n"
        + TWO_CHOICE_NET.replace("class Net", "class Fine"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fine = load_reference(f"{isolated / 'fine.py'}:Fine")
    assert fine.__name__ == "Fine" and sys.modules[fine.__module__].EARLIER == 1


def _net(folder) -> str:
    (folder / "net55.py").write_text(TWO_CHOICE_NET)
    return str(folder / "net55.py")


def test_a_package_module_stops_at_its_study_like_a_file(isolated):
    url = f"sqlite:///{isolated / 's.db'}"
    (isolated / "pkg55").mkdir()
    (isolated / "pkg55" / "__init__.py").write_text("")
    (isolated / "pkg55" / "train.py").write_text(TWO_CHOICE_NET + STUDY.format(url=url) + "AFTER = 1\n")
    importlib.import_module("pkg55.train")  # the script run once (a plain import: nothing stops it)
    assert _stored(url) == 1
    del sys.modules["pkg55.train"]  # a new process rebuilding the space from its reference
    with pytest.warns(UserWarning, match="pkg55.train makes or runs a study at its top level"):
        net = load_reference("pkg55.train:Net")
    assert net.__name__ == "Net" and _stored(url) == 1  # the module's study did not run again
    module = sys.modules["pkg55.train"]
    assert load_reference("pkg55.train:Net") is net and not hasattr(module, "AFTER")
    with pytest.raises(UsageError, match="loading stopped where its top-level code makes or runs a study, "
                                         "perhaps before defining 'AFTER'"):
        load_reference("pkg55.train:AFTER")


def test_a_class_below_the_study_is_named_as_left_undefined_by_the_stop(isolated):
    (isolated / "nb55.py").write_text(TWO_CHOICE_NET + MEMORY_STUDY + "class Net2(Net):\n    pass\n")
    with pytest.warns(UserWarning, match="loading stopped there"), \
            pytest.raises(UsageError, match=r"nb55.py has no 'Net2' .*its loading stopped where its top-level code "
                                            r"makes or runs a study, perhaps before defining 'Net2'"):
        load_reference(f"{isolated / 'nb55.py'}:Net2")
    with pytest.raises(UsageError, match=r"has no 'Nett' \(module reference [^)]*\)$"):  # a typo elsewhere: as before
        load_reference(f"{_net(isolated)}:Nett")


def test_the_stop_does_not_leak_to_later_studies_or_other_threads(isolated):
    (isolated / "s55.py").write_text(TWO_CHOICE_NET + MEMORY_STUDY + "raise RuntimeError('not reached')\n")
    made, loaded = [], threading.Event()
    with pytest.warns(UserWarning, match="loading stopped there"):
        net = load_reference(f"{isolated / 's55.py'}:Net")

    def other() -> None:
        made.append(Study(ModelSpace(net, input_shape=(2,)), "random", objectives="score"))
        loaded.set()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(30)
    assert loaded.is_set() and len(made) == 1
    assert Study(ModelSpace(net, input_shape=(2,)), "random", objectives="score").ask() is not None
