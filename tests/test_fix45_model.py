"""Model spaces: candidates that change with other choices, loops, failing candidates, edited modules on load,
training-time module errors, choices inside candidate instances, count_unique of large spaces; the regression review's
fixes: only real decisions inside a candidate instance are refused, and only for new spaces (stored studies load,
resume and export as they were made)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nasforge.exceptions import ArchitectureError, UsageError  # noqa: E402
from nasforge.spaces.model_space import LayerChoice, ModelSpace, Repeat, ValueChoice  # noqa: E402
from nasforge.spaces.model_space.space import rebuild_stored  # noqa: E402


def _head(width: int) -> nn.Module:
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))


class RelativeWidth(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        width = ValueChoice([8, 16], label="width")
        mid = ValueChoice([width, width * 2], label="mid")  # its candidates follow width
        self.stem, self.mid = nn.Conv2d(1, width, 3, padding=1), nn.Conv2d(width, mid, 3, padding=1)
        self.head = _head(mid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.mid(self.stem(x)))


class NestedValue(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        k = ValueChoice([ValueChoice([3, 5], label="k_inner"), 7], label="k")
        self.stem, self.head = nn.Conv2d(1, 8, k, padding=k // 2), _head(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stem(x))


class DepthWidth(nn.Module):
    """A depth used only as a Repeat depth, and in the arithmetic of another choice's candidates."""

    def __init__(self) -> None:
        super().__init__()
        depth = ValueChoice([1, 2], label="depth")
        self.body = Repeat(lambda i: nn.Conv2d(1, 1, 3, padding=1), depth=depth)
        width = ValueChoice([depth * 4, 16], label="width")
        self.stem, self.head = nn.Conv2d(1, width, 3, padding=1), _head(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stem(self.body(x)))


class Multiplier(nn.Module):
    """The advised way: fixed candidates, a multiplier."""

    def __init__(self) -> None:
        super().__init__()
        width = ValueChoice([8, 16], label="width")
        mult = ValueChoice([1, 2], label="mult")
        self.stem, self.mid = nn.Conv2d(1, width, 3, padding=1), nn.Conv2d(width, width * mult, 3, padding=1)
        self.head = _head(width * mult)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.mid(self.stem(x)))


@pytest.mark.parametrize("module, label, what", [
    (RelativeWidth, "mid", r"width=16 gives it candidates \['16', '32'\], the default network \['8', '16'\]"),
    (NestedValue, "k", r"k_inner=5 gives it candidates \['5', '7'\], the default network \['3', '7'\]"),
    (DepthWidth, "width", r"depth=2 gives it candidates \['8', '16'\], the default network \['4', '16'\]")])
def test_candidates_that_follow_another_choice_are_refused_at_creation(module, label, what):
    """They were named at discovery and built from another value: mid=8 with width=16 built 16 channels."""
    with pytest.raises(UsageError, match=rf"^ValueChoice '{label}': the network with {what}: .*multiplier"):
        ModelSpace(module, input_shape=(1, 8, 8))


def test_fixed_candidates_build_the_networks_their_names_say():
    space = ModelSpace(Multiplier, input_shape=(1, 8, 8))
    assert space.build(space.parse("width=16|mult=2")).mid.out_channels == 32


class LoopNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        depth = ValueChoice([1, 2], label="depth")
        self.body = nn.Sequential(*[LayerChoice([nn.Identity(), nn.ReLU()], label=f"l{i}") for i in range(depth)])
        self.stem, self.head = nn.Conv2d(1, 8, 3, padding=1), _head(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))


def test_a_loop_bounded_by_a_value_with_choices_inside_is_refused_pointing_to_repeat():
    with pytest.raises(UsageError, match=r"depth=2 makes choice 'l1'.*for i in range\(value\).*use Repeat\(block, "
                                         r"depth=ValueChoice"):
        ModelSpace(LoopNet, input_shape=(1, 8, 8))


class Boom(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom in forward")


class FailingCandidate(nn.Module):
    def __init__(self, bn1d: bool = False) -> None:
        super().__init__()
        self.stem, self.head = nn.Conv2d(1, 8, 3, padding=1), _head(8)
        self.op = LayerChoice({"ok": nn.Identity(), "bn1d": nn.BatchNorm1d(8)} if bn1d else
                              {"ok": nn.Identity, "boom": Boom}, label="op")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.op(self.stem(x)))


class FailingBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem, self.head = nn.Conv2d(1, 8, 3, padding=1), _head(8)
        self.body = Repeat(lambda i: Boom() if i == 1 else nn.Identity(), depth=[1, 2], label="rep")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))


@pytest.mark.parametrize("module, kwargs, message", [
    (FailingCandidate, {}, "LayerChoice 'op': candidate 'boom' fails on an input of shape [8, 8, 8]: RuntimeError: "
                           "boom in forward"),
    (FailingCandidate, {"bn1d": True}, "LayerChoice 'op': candidate 'bn1d' fails on an input of shape [8, 8, 8]: "
                                       "ValueError: expected 2D or 3D input (got 4D input)"),
    (FailingBlock, {}, "Repeat 'rep': block 1 fails on an input of shape [8, 8, 8]: RuntimeError: boom in forward")])
def test_a_candidate_whose_forward_fails_is_named(module, kwargs, message):
    with pytest.raises(UsageError) as info:
        ModelSpace(module, input_shape=(1, 8, 8), **kwargs)
    assert str(info.value) == message


class InstanceHoldingChoice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        inner = LayerChoice([nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 5, padding=2)], label="inner")
        self.stem, self.head = nn.Conv2d(1, 8, 3, padding=1), _head(8)
        self.op = LayerChoice({"seq": nn.Sequential(inner, nn.ReLU()), "id": nn.Identity()}, label="outer")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.op(self.stem(x)))


class CallableHoldingChoice(InstanceHoldingChoice):
    def __init__(self) -> None:
        nn.Module.__init__(self)
        self.stem, self.head = nn.Conv2d(1, 8, 3, padding=1), _head(8)
        self.op = LayerChoice({"seq": lambda: nn.Sequential(LayerChoice(
            [nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 5, padding=2)], label="inner"), nn.ReLU()),
            "id": nn.Identity()}, label="outer")


def test_a_candidate_instance_holding_a_choice_is_refused_and_a_stored_one_loads_with_a_warning():
    """Its inner choice counted even when the other candidate was chosen (two texts, one network)."""
    with pytest.raises(UsageError, match=r"^LayerChoice 'outer': candidate 'seq' is a module instance holding "
                                         r"choice 'inner'.*as a callable \(lambda: Block\(...\)\)"):
        ModelSpace(InstanceHoldingChoice, input_shape=(1, 8, 8))
    with pytest.warns(UserWarning, match="candidate 'seq' is a module instance holding choice 'inner'"):
        stored = rebuild_stored({"module": f"{__name__}:InstanceHoldingChoice", "input_shape": [1, 8, 8]})
    assert stored.count_unique() == 4  # as it was made: stored texts keep their meaning
    assert ModelSpace(CallableHoldingChoice, input_shape=(1, 8, 8)).count_unique() == 3


class Big(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem, self.head = nn.Conv2d(1, 8, 3, padding=1), _head(8)
        self.ops = nn.Sequential(*[LayerChoice({"a": nn.Identity(), "b": nn.ReLU(), "c": nn.Tanh()}, label=f"op{i}")
                                   for i in range(15)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.ops(self.stem(x)))


def test_count_unique_of_a_large_space_without_inactive_decisions_is_its_size():
    space = ModelSpace(Big, input_shape=(1, 8, 8))
    assert not space.is_enumerable and space.count_unique() == space.size == 3 ** 15


EDITED = ("from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice, ValueChoice\n"
          "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
          "        width = ValueChoice([3, 4], label='width')\n"
          "        self.fc, self.out = nn.Linear(2, width), nn.Linear(width, 2)\n"
          "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
          "    def forward(self, x):\n        return self.out(self.act(self.fc(x)))\n")


def test_loading_a_study_whose_module_file_was_edited_names_the_file_not_other_writers(tmp_path: Path):
    from nasforge import Study

    path = tmp_path / "edited45.py"
    path.write_text(EDITED)
    space = ModelSpace(f"{path}:Net", input_shape=(2,))
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(space, "tpe", objectives="score", seed=0, name="s", storage=url)
    for _ in range(3):
        trial = study.ask()
        study.tell(trial, {"score": float(space.encode([trial.arch])[0][:2].argmax())})
    path.write_text(EDITED.replace("[3, 4]", "[3, 4, 5]"))  # a candidate more: the stored trials still fit
    for name in [n for n in sys.modules if n.startswith("_nasforge_user_edited45_")]:
        del sys.modules[name]  # as a new process reads the file again
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = Study.load("s", url)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "edited45.py changed since the study was trained" in messages[0], messages
    assert caught[0].filename == __file__
    assert len(loaded.trials) == 3
    with pytest.raises(UsageError, match="edited45.py changed since"):
        loaded.ask()


class TrainRaise(nn.Module):
    """Runs in eval mode on two images (the dry run), raises as soon as it trains on a batch of more."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.head = nn.Conv2d(1, 8, 3, padding=1), _head(8)
        self.op = LayerChoice({"a": nn.Identity(), "b": nn.ReLU()}, label="op")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] > 2:
            raise ValueError("training-time bug")
        return self.head(self.op(self.stem(x)))


class TrainRuntime(TrainRaise):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            raise RuntimeError("out of memory, maybe")
        return self.head(self.op(self.stem(x)))


def test_a_module_raising_a_value_error_while_it_trains_fails_its_trial_without_a_retry(tmp_path: Path):
    from nasforge import Study
    from nasforge.experiment import TrialState

    space = ModelSpace(TrainRaise, input_shape=(1, 8, 8))
    evaluator = space.evaluator("digits", fidelity={"epochs": 1, "data_fraction": 0.1}, latency_repeats=1)
    with pytest.raises(ArchitectureError, match=r"^the network of op=a failed while training: ValueError: "
                                                r"training-time bug$"):
        evaluator.evaluate(space.parse("op=a"))
    study = Study(space, "grid", objectives="val_acc", name="s", storage=f"sqlite:///{tmp_path / 's.db'}")
    study.optimize(evaluator, 1, max_retries=2)
    assert [t.state for t in study.trials] == [TrialState.FAILED]  # not re-run: it would fail alike
    other = ModelSpace(TrainRuntime, input_shape=(1, 8, 8))
    with pytest.raises(RuntimeError, match="out of memory, maybe"):  # may pass on a re-run: retried as before
        other.evaluator("digits", fidelity={"epochs": 1, "data_fraction": 0.1}).evaluate(other.parse("op=a"))


# -- regression review 45 a ------------------------------------------------------------------------------------------
def _conv_bn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())


class FixedRepeatInInstance(nn.Module):
    """A candidate instance holding a Repeat of fixed depth and a one-candidate LayerChoice: no decision."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.head = nn.Conv2d(1, 8, 3, padding=1), _head(8)
        self.op = LayerChoice({"deep": nn.Sequential(Repeat(lambda i: _conv_bn(), depth=2),
                                                     LayerChoice([nn.ReLU()], label="only")),
                               "id": nn.Identity()}, label="op")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.op(self.stem(x)))


class DepthInInstance(FixedRepeatInInstance):
    def __init__(self) -> None:
        nn.Module.__init__(self)
        self.stem, self.head = nn.Conv2d(1, 8, 3, padding=1), _head(8)
        self.op = LayerChoice({"deep": Repeat(lambda i: _conv_bn(), depth=[1, 2], label="depth"),
                               "id": nn.Identity()}, label="op")


def test_only_a_decision_inside_a_candidate_instance_is_refused():
    """A fixed-depth Repeat (its internal label repeat_0) and a one-candidate choice are no decisions."""
    space = ModelSpace(FixedRepeatInInstance, input_shape=(1, 8, 8))
    assert space.categorical_params() == {"only": ["relu"], "op": ["deep", "id"]} and space.count_unique() == 2
    assert sum(p.numel() for p in space.build(space.parse("op=deep|only=relu")).parameters()) > \
        sum(p.numel() for p in space.build(space.parse("op=id|only=relu")).parameters())
    with pytest.raises(UsageError, match=r"^LayerChoice 'op': candidate 'deep' is a module instance holding choice "
                                         r"'depth'"):
        ModelSpace(DepthInInstance, input_shape=(1, 8, 8))


class SharedInCandidate(nn.Module):
    """A weight-shared choice used directly and inside a candidate instance: it always counts."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.head = nn.Conv2d(1, 8, 3, padding=1), _head(8)
        self.op = LayerChoice({"c3": nn.Conv2d(8, 8, 3, padding=1), "c1": nn.Conv2d(8, 8, 1)}, label="op")
        self.twice = LayerChoice({"twice": nn.Sequential(self.op, nn.ReLU(), self.op), "once": nn.Identity()},
                                 label="twice")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.twice(self.op(self.stem(x))))


def test_a_choice_also_used_outside_the_candidate_instance_is_accepted():
    space = ModelSpace(SharedInCandidate, input_shape=(1, 8, 8))
    assert space.size == space.count_unique() == 4
    net = space.build(space.parse("op=c1|twice=twice"))
    assert net.twice[0] is net.op  # one module, shared as written


@pytest.mark.parametrize("module", ["InstanceHoldingChoice", "RelativeWidth"])
def test_get_space_refuses_a_new_space_as_model_space_does(module):
    """get_space("model_space", ...) (a search config's space) makes a new space: it was rebuilt as a stored one."""
    from nasforge.spaces import get_space

    with pytest.raises(UsageError, match=r"^(LayerChoice 'outer'|ValueChoice 'mid')"):
        get_space("model_space", module=f"{__name__}:{module}", input_shape=[1, 8, 8])


DEP = ("from torch import nn\nfrom nasforge.spaces.model_space import ValueChoice\n"
       "class DepVC(nn.Module):\n    def __init__(self, num_classes=10):\n        super().__init__()\n"
       "        width = ValueChoice([8, 16], label='width')\n"
       "        mid = ValueChoice([width, width * 2], label='mid')\n"
       "        self.stem, self.mid = nn.Conv2d(1, width, 3, padding=1), nn.Conv2d(width, mid, 3, padding=1)\n"
       "        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(mid, num_classes))\n"
       "    def forward(self, x):\n        return self.head(self.mid(self.stem(x)))\n")


def test_a_stored_study_of_a_space_refused_today_loads_resumes_and_exports_as_it_was_made(tmp_path: Path):
    """Made before the candidate check (simulated: created the way a stored load rebuilds it), such a study loads,
    builds its trials' networks, resumes and exports its saved network, with one warning naming the label."""
    import pickle

    from nasforge import Study
    from nasforge.export import load_model, save_model
    from nasforge.pipelines.search import space_from_spec
    from nasforge.spaces.model_space import space as model_space

    path = tmp_path / "dep45a.py"
    path.write_text(DEP)
    config = {"module": f"{path}:DepVC", "input_shape": [1, 8, 8]}
    with pytest.raises(UsageError, match=r"^ValueChoice 'mid': the network with width=16 gives it candidates"):
        ModelSpace(f"{path}:DepVC", input_shape=(1, 8, 8))  # a new space is refused
    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.warns(UserWarning, match="ValueChoice 'mid'"):
        made = rebuild_stored(config)
    study = Study(made, "random", objectives="score", seed=0, name="s", storage=url)
    for _ in range(3):
        study.tell(study.ask(), {"score": 0.5})
    model_space._WARNED.clear()  # as a new process: it warns once
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = Study.load("s", url)
        again = Study.load("s", url)  # warned once per process
        resumed = space_from_spec({"kind": "model_space", "config": loaded.space.config()})  # nasforge resume
        copy = pickle.loads(pickle.dumps(loaded.space))  # a worker process's copy
        assert len(again.trials) == len(loaded.trials) == 3 and resumed.size == copy.size == 4
        arch = loaded.space.parse("width=16|mid=16")
        net = loaded.space.build(arch)  # mid's second candidate: at width=16, 32 channels, as the old code built it
        assert net.mid.out_channels == 32 and copy.build(arch).mid.out_channels == 32
        loaded.tell(loaded.ask(), {"score": 0.25})
        save_model(tmp_path / "net", net, model_name="model_space", arch=arch, model_kwargs={"space": config},
                   num_classes=10, in_channels=1, preprocessing={"input_shape": [1, 8, 8]})
        model_space._CACHE.clear()
        model, _ = load_model(tmp_path / "net")  # nasforge export of the saved network
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(model.eval()(x), net.eval()(x))
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert len(messages) == 1 and "DepVC: ValueChoice 'mid'" in messages[0] and "loads as it was made" in \
        messages[0], messages


class _FailsWhileTraining(nn.Module):
    def __init__(self, num_classes: int, in_channels: int) -> None:
        super().__init__()
        self.lin = nn.Linear(in_channels * 8 * 8, num_classes)

    def forward(self, x):
        if self.training and x.shape[0] > 2:
            raise ValueError("the network's own bug while training")
        return self.lin(x.flatten(1))


def test_a_registered_network_given_a_space_setting_raises_its_own_error_while_training():
    """A registered network whose factory takes a ``space`` dict is no model space: its training error stays the one
    it raised (regression: it became a 'model space was not recorded by name' UsageError)."""
    from nasforge.evaluators import TrainingEvaluator
    from nasforge.models import register_model
    from nasforge.spaces import get_space

    register_model("fix45_fails", lambda arch, num_classes, in_channels, C=None, N=None, space=None:
                   _FailsWhileTraining(num_classes, in_channels), any_space=True, replace=True)
    arch = get_space("nb201").parse("|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|"
                                    "nor_conv_3x3~2|")
    evaluator = TrainingEvaluator("digits", model="fix45_fails", model_kwargs={"space": {"layers": [["a", "b"]]}},
                                  fidelity={"epochs": 1}, latency_repeats=1)
    with pytest.raises(ValueError, match="the network's own bug while training"):
        evaluator.evaluate(arch)


class CandidatesOnlyWhenBothAreTwo(nn.Module):
    """Creation sees op's candidates ['x', 'y'] (the default network, and each choice alone at its other value);
    only a=2 with b=2 puts 'z' in front: a build must refuse it rather than train Tanh as 'x'."""

    def __init__(self) -> None:
        super().__init__()
        a, b = ValueChoice([1, 2], label="a"), ValueChoice([1, 2], label="b")
        candidates = {"x": lambda: nn.Identity(), "y": lambda: nn.ReLU()}
        if a == 2 and b == 2:
            candidates = {"z": lambda: nn.Tanh(), **candidates}
        self.op = LayerChoice(candidates, label="op")
        self.conv, self.head = nn.Conv2d(1, 4, 3), _head(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(self.op(x)))


def test_a_worker_copy_of_a_new_space_compares_candidates_as_the_space_does():
    """A search builds its trials from copies (pickled to a worker, or rebuilt from the evaluator's config): they
    refuse a build whose candidates differ, as the space does (regression: the copies were taken as stored spaces
    and built Tanh under the name 'x')."""
    import pickle

    from nasforge.spaces.model_space.space import cached_space

    space = ModelSpace(CandidatesOnlyWhenBothAreTwo, input_shape=(1, 8, 8))
    arch = space.parse("a=2|b=2|op=x")
    for copy in (space, pickle.loads(pickle.dumps(space)), cached_space(space.config())):
        with pytest.raises(UsageError, match="choice .op. has candidates"):
            copy.build(arch)
        assert isinstance(copy.build(space.parse("a=1|b=2|op=x")).op, nn.Identity)
