"""Model spaces (review ms43): a network that cannot run on the data fails its own trial even when it finishes
first, while a misfit of every network still stops the run as misuse."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.spaces.model_space import ModelSpace, ValueChoice  # noqa: E402


class Unpadded(nn.Module):
    """Two unpadded convolutions: on 8x8 images only k=5 with k2=5 leaves nothing to convolve (``pad`` pads
    the second one, so that every network runs; ``grow`` makes every network need more than 8x8)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, pad: int = 0, grow: int = 0) -> None:
        super().__init__()
        k, k2 = ValueChoice([3, 5], label="k"), ValueChoice([3, 5], label="k2")
        self.a = nn.Conv2d(in_channels, 4, k + grow)
        self.b = nn.Conv2d(4, 4, k2, padding=pad)
        self.h = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.h(self.b(self.a(x)))


def _study(tmp_path: Path, space: ModelSpace):  # noqa: ANN202 - a Study
    from nasforge import Study

    return Study(space, "grid", objectives="val_acc", name="s", storage=f"sqlite:///{tmp_path / 's.db'}")


def test_a_network_that_cannot_run_fails_its_trial_even_when_it_finishes_first(tmp_path: Path,
                                                                                torch_one_thread) -> None:
    from nasforge.experiment import TrialState

    space = ModelSpace(Unpadded, input_shape=(1, 8, 8))
    study = _study(tmp_path, space)
    study.enqueue(space.parse("k=5|k2=5"))  # the first trial to finish: once a UsageError that stopped the run
    study.enqueue(space.parse("k=3|k2=3"))
    study.optimize(space.evaluator("digits", train={"epochs": 1}), 2, max_retries=2)
    states = [(space.format(t.arch), t.state) for t in study.trials]
    assert states[:2] == [("k=5|k2=5", TrialState.FAILED), ("k=3|k2=3", TrialState.COMPLETE)], states
    assert [t.state for t in study.trials].count(TrialState.FAILED) == 1, states  # not re-run
    assert study.trials[0].error.startswith("ArchitectureError: the network of k=5|k2=5 cannot run on images of "
                                            "shape [1, 8, 8]: "), study.trials[0].error


def test_a_misfit_of_every_network_still_stops_the_run_as_misuse(tmp_path: Path, torch_one_thread) -> None:
    space = ModelSpace(Unpadded, input_shape=(1, 16, 16), grow=4)  # runs on 16x16, not on digits' 8x8
    study = _study(tmp_path, space)
    with pytest.raises(UsageError, match=r"refused the trial as misuse .*the network of k=3\|k2=3 cannot run on "):
        study.optimize(space.evaluator("digits", train={"epochs": 1}), 2)
    assert len(study.trials) == 1


NET = '''
from torch import nn
from nasforge.spaces.model_space import ValueChoice


class Net(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        w = ValueChoice([4, 8], label="w")
        self.c = nn.Conv2d(1, w, 3, padding=1)
        self.h = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w, num_classes))

    def forward(self, x):
        return self.h(self.c(x))
'''


def test_a_study_whose_module_file_changed_is_refused_before_any_trial(tmp_path: Path, torch_one_thread,
                                                                       monkeypatch) -> None:
    import sys

    from nasforge import Study

    module = tmp_path / "net.py"
    module.write_text(NET)
    space = ModelSpace(f"{module}:Net", input_shape=(1, 8, 8))
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study(space, "random", objectives="val_acc", name="s", storage=url, seed=0).optimize(
        space.evaluator("digits", train={"epochs": 1}, latency_repeats=1), 1)
    module.write_text(NET + "\nN = 4  # an edit of the script, not of the network\n")
    study = Study.load("s", url)  # still loads: its trials can be read
    evaluator = study.space.evaluator("digits", train={"epochs": 1}, latency_repeats=1)
    changed = rf"^study 's': the module file {module} changed since the study was trained; restore it"
    for call in (lambda: study.optimize(evaluator, 2), lambda: study.ask()):
        with pytest.raises(UsageError, match=changed) as caught:
            call()
        assert "file of its own" not in str(caught.value)  # it is in a file of its own already
    assert len(Study.load("s", url).trials) == 1  # no failure stored
    edited = ModelSpace(f"{module}:Net", input_shape=(1, 8, 8))
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(module), raising=False)  # the module is the script
    with pytest.raises(UsageError, match=rf"^study 's' in {url}: the model-space module {module} changed since the "
                                         r"study was trained; restore it, or start a new study \(a module defined in"):
        Study(edited, "random", objectives="val_acc", name="s", storage=url, load_if_exists=True)
    with pytest.raises(UsageError, match="keep it in a file of its own"):
        study.ask()


FACTORIES = NET + '''

def make(num_classes):
    return Net(num_classes)


def make_deep(num_classes, depth):
    return Net(num_classes)
'''


def test_a_factory_function_that_requires_num_classes_gets_the_datas(tmp_path: Path, torch_one_thread) -> None:
    import argparse

    from nasforge.spaces.model_space import space_for_module

    (tmp_path / "nets.py").write_text(FACTORIES)
    args = argparse.Namespace(data="digits", data_dir=None, seed=0)
    space = space_for_module(f"{tmp_path / 'nets.py'}:make", None, args)
    assert space.build(space.default)(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    space = space_for_module(f"{tmp_path / 'nets.py'}:make_deep", {"depth": 2}, args)
    assert space.build(space.default)(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(UsageError, match=r"make_deep: cannot be called with the options \[\] \(missing a required "
                                         r"argument: 'depth'\); .* \(nasforge gives it num_classes from the data\)"):
        space_for_module(f"{tmp_path / 'nets.py'}:make_deep", None, args)


HUGE = '''
from torch import nn
from nasforge.spaces.model_space import ValueChoice


class Huge(nn.Module):
    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        w = ValueChoice(list(range(4, 13)), label="w")
        k = ValueChoice([1, 3, 5, 7], label="k")
        act = ValueChoice({"relu": nn.ReLU, "gelu": nn.GELU}, label="act")
        self.f = nn.Sequential(nn.Conv2d(in_channels, w, k, padding=k // 2), act(), nn.AdaptiveAvgPool2d(1),
                               nn.Flatten(), nn.Linear(w, num_classes))

    def forward(self, x):
        return self.f(x)
'''


def test_too_many_supernet_partitions_names_the_module_and_the_ways_out(tmp_path: Path, capsys) -> None:
    from nasforge.cli import main

    (tmp_path / "huge.py").write_text(HUGE)
    assert main(["oneshot", "train", "--space-module", f"{tmp_path / 'huge.py'}:Huge", "--data", "digits",
                 "--epochs", "1", "--out", str(tmp_path / "ck")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"nasforge oneshot train: error: --space-module {tmp_path / 'huge.py'}:Huge: the supernet "
                          "would need 72 partitions"), err
    assert "a LayerChoice of those layers, which costs no partition" in err and "max_partitions=...)" in err
    assert len(err.splitlines()) == 1


class Fixed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        w = ValueChoice([4, 8], label="w")
        self.f = nn.Sequential(nn.Conv2d(1, w, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.f(x)


def test_a_class_count_mismatch_is_refused_with_the_evaluator_saying_how_in_python() -> None:
    from nasforge.data import load_dataset

    from dataclasses import replace

    three = replace(load_dataset("digits"), num_classes=3)  # the same images, told they have 3 classes
    with pytest.raises(UsageError, match=r"^the data has 3 classes, the model space's network outputs shape \[10\] "
                                         r"\(in Python, give ModelSpace\(\.\.\., num_classes=3\); only the CLI"):
        ModelSpace(Unpadded, input_shape=(1, 8, 8)).evaluator(three)
    with pytest.raises(UsageError, match=r"\(its constructor takes no num_classes argument"):
        ModelSpace(Fixed, input_shape=(1, 8, 8)).evaluator(three)
    ModelSpace(Unpadded, input_shape=(1, 8, 8), num_classes=3).evaluator(three)


def test_a_module_that_parses_arguments_at_import_is_one_line_and_other_stderr_still_shows(tmp_path: Path,
                                                                                          capsys) -> None:
    from nasforge.spaces.model_space.reference import load_reference

    (tmp_path / "script43.py").write_text("import argparse\nargparse.ArgumentParser(prog='prog').parse_args(['--x'])\n")
    with pytest.raises(UsageError, match=r"exited \(SystemExit 2, saying 'prog: error: unrecognized arguments: "
                                         r"--x'\) while it was imported"):
        load_reference(f"{tmp_path / 'script43.py'}:Net")
    assert capsys.readouterr().err == ""
    (tmp_path / "noisy43.py").write_text("import sys\nsys.stderr.write('note: loaded\\n')\nNet = 1\n")
    assert load_reference(f"{tmp_path / 'noisy43.py'}:Net") == 1
    assert capsys.readouterr().err == "note: loaded\n"


def test_an_edited_or_moved_module_file_is_refused_in_the_words_of_what_was_recorded(tmp_path: Path) -> None:
    from nasforge.oneshot.checkpoint import CheckpointError, _load_space
    from nasforge.spaces.model_space import from_config

    module = tmp_path / "net43.py"
    module.write_text(NET)
    config = ModelSpace(f"{module}:Net", input_shape=(1, 8, 8)).config()
    module.write_text(NET + "# edited\n")
    with pytest.raises(CheckpointError, match=rf"its model space cannot be rebuilt: the module file {module} changed "
                                              r"since the supernet was trained; restore it or train it again$"):
        _load_space({"space": "model_space", "space_config": config}, tmp_path / "supernet.json")
    module.rename(tmp_path / "moved.py")
    with pytest.raises(UsageError, match=rf"^the model-space module '{module}:Net' was recorded by that path, and "
                                         rf"its file is gone \(no such Python file: {module}\): restore it there$"):
        from_config(config)


def test_a_module_may_use_stderr_at_import_as_a_stream(tmp_path: Path, capfd) -> None:
    """Regression: while a module was imported, stderr was a StringIO: faulthandler.enable() failed (no fileno) and
    a logging handler made at import wrote into it, losing every later log line."""
    module = tmp_path / "lognet.py"
    module.write_text("import faulthandler, logging, sys\nfaulthandler.enable()\n"
                      "HANDLER = logging.StreamHandler(sys.stderr)\n" + NET)
    space = ModelSpace(f"{module}:Net", input_shape=(1, 8, 8))
    handler = sys.modules[next(n for n in sys.modules if n.startswith("_nasforge_user_lognet"))].HANDLER
    handler.stream.write("after the import\n")
    handler.stream.flush()
    assert "after the import" in capfd.readouterr().err
    assert space is not None
