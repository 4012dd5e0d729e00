"""Model spaces: stable candidate names, the CLI's pre-flight check, retries and messages (review 39)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.spaces.base import Architecture  # noqa: E402
from nasforge.spaces.model_space import LayerChoice, ModelSpace, ValueChoice  # noqa: E402


def swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


class FuncAct(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = ValueChoice([torch.relu, swish, torch.tanh], label="act")
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(x))


def test_function_candidates_are_named_by_their_name_the_same_in_every_process(tmp_path: Path) -> None:
    space = ModelSpace(FuncAct, input_shape=(1, 2, 2))
    assert space.categorical_params() == {"act": ["relu", "swish", "tanh"]}
    module = tmp_path / "funcs.py"
    module.write_text(textwrap.dedent("""
        import torch
        from torch import nn
        from nasforge.spaces.model_space import ModelSpace, ValueChoice
        def swish(x): return x * torch.sigmoid(x)
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.act = ValueChoice([torch.relu, swish, torch.tanh], label="act")
                self.head = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
            def forward(self, x): return self.head(self.act(x))
        print(ModelSpace(Net, input_shape=(1, 2, 2)).categorical_params())
    """))
    out = subprocess.run([sys.executable, str(module)], capture_output=True, text=True, check=True).stdout
    assert out == "{'act': ['relu', 'swish', 'tanh']}\n"  # in another process the names this one gives (not ids)


def test_a_candidate_without_a_stable_name_is_refused_and_a_dict_names_it() -> None:
    class Lambdas(nn.Module):
        def __init__(self, named: bool) -> None:
            super().__init__()
            fns = [lambda x: x, lambda x: -x]
            self.f = ValueChoice(dict(zip(["same", "neg"], fns)) if named else fns, label="f")
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.f(x))

    with pytest.raises(UsageError, match=r"choice 'f': candidate <function .* has no stable name .* dict"):
        ModelSpace(Lambdas, named=False, input_shape=(1, 2, 2))
    space = ModelSpace(Lambdas, named=True, input_shape=(1, 2, 2))
    assert space.categorical_params() == {"f": ["same", "neg"]}
    assert Lambdas(named=True).f(torch.ones(1))[0] == 1  # outside a space: the first value


def test_a_stored_name_with_a_memory_address_is_explained() -> None:
    space = ModelSpace(FuncAct, input_shape=(1, 2, 2))
    with pytest.raises(UsageError, match="memory address: an older nasforge"):
        space.check(Architecture("model_space", ("<function swish at 0x7f94288614e0>",)))


class Shrinking(nn.Module):
    """kernel 7 without padding shrinks 8x8 to 2x2; a reflection-padded 5x5 conv after it cannot run."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        k = ValueChoice([3, 7], label="k")
        self.stem = nn.Conv2d(in_channels, 4, k)
        self.pool = LayerChoice({"none": nn.Identity(), "refl5": nn.Sequential(nn.ReflectionPad2d(2),
                                                                               nn.Conv2d(4, 4, 5))}, label="pool")
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.stem(x)))


def test_the_pre_flight_check_refuses_only_a_misfit_of_every_network(monkeypatch: pytest.MonkeyPatch) -> None:
    from nasforge.pipelines.search import _check_network_fits

    space = ModelSpace(Shrinking, input_shape=(1, 8, 8))
    bad = space.parse("k=7|pool=refl5")
    monkeypatch.setattr(type(space), "sample", lambda self, rng: bad)  # whatever the seed samples: it fails
    _check_network_fits(space.evaluator("digits"), space)
    wrong = ModelSpace(Shrinking, input_shape=(1, 8, 8), num_classes=3)
    with pytest.raises(UsageError, match=r"^space: the data has 10 classes"):
        _check_network_fits(wrong.evaluator("digits"), wrong)


def test_a_network_that_cannot_run_fails_once_naming_its_text_without_an_empty_fidelity(tmp_path: Path) -> None:
    from nasforge import Study
    from nasforge.experiment import TrialState

    space = ModelSpace(Shrinking, input_shape=(1, 8, 8))
    evaluator = space.evaluator("digits", train={"epochs": 1})
    study = Study(space, "grid", objectives="val_acc", name="s", storage=f"sqlite:///{tmp_path / 's.db'}")
    study.enqueue(space.parse("k=3|pool=none"))  # a first misfit no longer stops the study
    study.enqueue(space.parse("k=7|pool=refl5"))
    study.optimize(evaluator, 2, max_retries=2)
    failed = [t for t in study.trials if t.state == TrialState.FAILED]
    assert len(failed) == 1 and all(t.retry_of is None for t in study.trials)  # a UsageError is not re-run
    assert failed[0].error.startswith("ArchitectureError: the network of k=7|pool=refl5 cannot run on images of "
                                            "shape [1, 8, 8]: ")


def test_a_space_module_file_runs_once_and_its_factory_is_called_once(tmp_path: Path) -> None:
    import argparse

    from nasforge.cli.options import load_space

    log = tmp_path / "log.txt"
    module = tmp_path / "userspace.py"
    module.write_text(textwrap.dedent(f"""
        from pathlib import Path
        from nasforge.spaces import get_space
        with Path({str(log)!r}).open("a") as f: f.write("executed\\n")
        def make_space():
            with Path({str(log)!r}).open("a") as f: f.write("called\\n")
            return get_space("nb201")
    """))
    args = argparse.Namespace(space=None, space_config=None, space_module=f"{module}:make_space", data="digits")
    assert load_space(args).name == "nb201"
    assert log.read_text().split() == ["executed", "called"]


def test_an_instance_is_refused_in_one_line() -> None:
    with pytest.raises(UsageError, match=r"^pass the class Shrinking \(or a function returning a module\), not an "
                                         r"instance[^\n]*$"):
        ModelSpace(Shrinking(), input_shape=(1, 8, 8))


@pytest.mark.parametrize("code, code_text", [("import sys\nsys.exit(3)", "SystemExit 3"),
                                             ("import argparse\nargparse.ArgumentParser().parse_args(['-x'])",
                                              "SystemExit 2")])
def test_a_module_that_exits_at_import_is_one_usage_error(tmp_path: Path, code: str, code_text: str) -> None:
    from nasforge.spaces.model_space.reference import load_reference

    module = tmp_path / "script.py"
    module.write_text(code + "\nclass Net: pass\n")
    with pytest.raises(UsageError, match=rf"loading .*script.py exited \({code_text}[^)]*\) while it was imported.*"
                                         r"if __name__ == \"__main__\":"):
        load_reference(f"{module}:Net")


class NeedsArg(nn.Module):
    def __init__(self, hidden: int, num_classes: int = 10) -> None:
        super().__init__()
        self.f = nn.Sequential(nn.Flatten(), nn.Linear(64, ValueChoice([hidden, 2 * hidden], label="w")))
        self.out = nn.LazyLinear(num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.f(x))


def test_a_missing_argument_and_a_class_count_mismatch_say_how_to_fix_them() -> None:
    from nasforge.spaces.model_space.space import check_data

    with pytest.raises(UsageError, match="missing a required argument: 'hidden'; give its arguments with "
                                         "--space-config FILE"):
        ModelSpace(NeedsArg, input_shape=(1, 8, 8))
    space = ModelSpace(NeedsArg, input_shape=(1, 8, 8), hidden=4, num_classes=3)
    with pytest.raises(UsageError, match=r"outputs shape \[3\] \(its constructor was given num_classes=3 "
                                         r"\(--space-config"):
        check_data(space, 10, 1)
    fixed = ModelSpace(NeedsArg, 4, input_shape=(1, 8, 8))
    with pytest.raises(UsageError, match=r"in Python, give ModelSpace\(\.\.\., num_classes=3\)"):
        check_data(fixed, 3, 1)


def test_the_evaluator_of_a_model_space_shows_no_network_sizes() -> None:
    assert repr(ModelSpace(Shrinking, input_shape=(1, 8, 8)).evaluator("digits")) == \
        "TrainingEvaluator(data='digits', fidelity={})"


def test_a_supernet_of_another_module_names_both_modules(tmp_path: Path) -> None:
    import json
    from types import SimpleNamespace

    from nasforge.pipelines.search import _check_supernet_space

    (tmp_path / "supernet.json").write_text(json.dumps({"space": "model_space",
                                                       "space_config": {"module": "/x/other.py:Other"}}))
    space = ModelSpace(Shrinking, input_shape=(1, 8, 8))
    with pytest.raises(UsageError, match=r"a supernet of the module /x/other.py:Other, not of the search space's "
                                         r"module .*:Shrinking"):
        _check_supernet_space(SimpleNamespace(evaluator="supernet", supernet=str(tmp_path)), space)


def test_a_class_of_an_own_top_level_module_is_recorded_by_its_file(tmp_path: Path) -> None:
    proj, other = tmp_path / "proj", tmp_path / "other"
    proj.mkdir()
    other.mkdir()
    (proj / "my_net.py").write_text(textwrap.dedent("""
        from torch import nn
        from nasforge.spaces.model_space import ValueChoice
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.f = nn.Sequential(nn.Flatten(), nn.Linear(4, ValueChoice([2, 3], label="w")), nn.Linear(3, 2))
            def forward(self, x): return self.f(x)
    """).replace("nn.Linear(3, 2)", "nn.LazyLinear(2)"))
    (other / "my_net.py").write_text("raise SystemExit('the wrong file')\n")
    import os

    import nasforge

    env = {**os.environ, "PYTHONPATH": str(Path(nasforge.__file__).resolve().parents[1])}  # this nasforge, any cwd
    make = ("import json; from my_net import Net; from nasforge.spaces.model_space import ModelSpace; "
            "print(json.dumps(ModelSpace(Net, input_shape=(1, 2, 2)).config()))")
    config = subprocess.run([sys.executable, "-c", make], cwd=proj, env=env, capture_output=True, text=True,
                            check=True).stdout
    assert f'"module": "{proj / "my_net.py"}:Net"' in config
    load = ("import json, sys; from nasforge.spaces.model_space import from_config; "
            "print(from_config(json.loads(sys.argv[1])).size)")
    out = subprocess.run([sys.executable, "-c", load, config], cwd=other, env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout == "2\n"


class IfChoice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        kind = ValueChoice(["conv", "pool"], label="kind")
        if kind == "conv":
            self.b = LayerChoice({"k3": nn.Conv2d(1, 2, 3, padding=1), "k5": nn.Conv2d(1, 2, 5, padding=2)}, label="k")
        else:
            self.b = nn.Sequential(nn.Conv2d(1, 2, 1), nn.MaxPool2d(3, 1, 1))
        self.h = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.h(self.b(x))


def test_a_choice_a_plain_if_leaves_out_is_inactive_for_those_values() -> None:
    space = ModelSpace(IfChoice, input_shape=(1, 8, 8))
    assert space.count_unique() == 3
    pool = space.parse("kind=pool")
    assert space.active(pool) == [True, False] and space.format(space.parse("kind=pool|k=k5")) == "kind=pool"
    assert space.canonical(space.parse("kind=pool|k=k5")) == pool
    assert space.active(space.parse("kind=conv|k=k5")) == [True, True]
    assert {space.format(a) for a in space.neighbors(pool)} == {"kind=conv|k=k3"}


def test_out_of_memory_in_the_dry_run_and_other_usage_errors_are_retried() -> None:
    """Only a build or shape misfit repeats on a re-run; running out of memory, or a data file read while it was
    being written (a UsageError of the reader), may not, so those trials are retried."""
    import torch

    from nasforge import Study
    from nasforge.exceptions import UsageError as Usage

    space = ModelSpace(Shrinking, input_shape=(1, 8, 8))
    evaluator = space.evaluator("digits", train={"epochs": 1}, latency_repeats=1)
    fail = iter([RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 4194304 bytes."),
                 Usage("cannot read NPZ file 'd.npz': truncated")])
    real_zeros, calls = torch.zeros, {"n": 0}

    def evaluate(arch):
        calls["n"] += 1
        if calls["n"] in (2, 3):
            error = next(fail)
            if isinstance(error, RuntimeError):  # raised by the dry run's forward pass, as the allocator does
                with pytest.MonkeyPatch.context() as patch:
                    patch.setattr(torch, "zeros", lambda *a, **k: (_ for _ in ()).throw(error))
                    return evaluator.evaluate(arch)
            raise error
        return evaluator.evaluate(arch)

    study = Study(space, "grid", objectives="val_acc")
    study.enqueue(space.parse("k=3|pool=none"))
    study.enqueue(space.parse("k=7|pool=none"))
    study.enqueue(space.parse("k=3|pool=refl5"))
    study.optimize(evaluate, 3, max_retries=2)
    failed = [t for t in study.trials if t.error]
    assert [t.error.split(":")[0] for t in failed] == ["RuntimeError", "UsageError"]
    assert all(any(t.retry_of == f.number for t in study.trials) for f in failed)  # each one re-run
    assert torch.zeros is real_zeros


def test_an_old_module_name_reference_rebuilds_to_the_file_reference_a_new_study_records(tmp_path, monkeypatch):
    """Older studies recorded a class of the user's own module as 'mynet:MyNet'; rebuilt, that reference names the
    file as a new record does, so such a study can still be continued (Study(..., load_if_exists=True))."""
    import importlib

    (tmp_path / "mynet39.py").write_text(textwrap.dedent("""
        from torch import nn
        from nasforge.spaces.model_space import ValueChoice
        class MyNet(nn.Module):
            def __init__(self, num_classes=10, in_channels=1):
                super().__init__()
                width = ValueChoice([4, 8], label="width")
                self.f = nn.Sequential(nn.Flatten(), nn.Linear(64 * in_channels, width), nn.Linear(width, num_classes))
            def forward(self, x):
                return self.f(x)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    net = importlib.import_module("mynet39").MyNet
    new = ModelSpace(net, input_shape=(1, 8, 8))
    assert new.module == f"{(tmp_path / 'mynet39.py').resolve()}:MyNet"
    assert ModelSpace("mynet39:MyNet", input_shape=(1, 8, 8)).module == new.module
