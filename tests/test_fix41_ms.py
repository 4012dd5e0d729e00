"""Model spaces and real training (review ms41): dict-named Repeat depths, `if` inside blocks, retries of networks
that cannot be built or run, per-axis crop padding, torch's thread count, and creation messages."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.spaces.model_space import LayerChoice, ModelSpace, Repeat, ValueChoice  # noqa: E402


def head(width: int, num_classes: int = 10) -> nn.Module:
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))


class DictDepth(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.body = Repeat(lambda i: LayerChoice({"conv": lambda: nn.Conv2d(4, 4, 3, padding=1),
                                                  "skip": lambda: nn.Identity()}, label=f"op{i}"),
                           depth=ValueChoice({"shallow": 1, "deep": 3}, label="depth"))
        self.head = head(4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))


def test_a_dict_named_repeat_depth_searches_the_blocks_within_it() -> None:
    space = ModelSpace(DictDepth, input_shape=(1, 8, 8))
    deep = space.parse("depth=deep|op0=conv|op1=skip|op2=conv")
    assert space.active(deep) == [True, True, True, True]
    assert space.format(deep) == "depth=deep|op0=conv|op1=skip|op2=conv"
    assert space.canonical(deep) == deep
    assert space.format(space.parse("depth=shallow|op0=skip")) == "depth=shallow|op0=skip"
    assert space.count_unique() == 2 + 8  # shallow: op0 only; deep: three blocks
    assert "depth=deep|op0=conv|op1=conv|op2=conv" in [space.format(n) for n in space.neighbors(deep)]
    supernet = space.supernet()
    x = torch.randn(2, 1, 8, 8)
    for text in ("depth=deep|op0=skip|op1=conv|op2=skip", "depth=shallow|op0=conv"):
        arch = space.parse(text)
        net = space.build(arch)
        net.load_state_dict(supernet.subnet_state_dict(arch))
        supernet.activate(arch)
        assert torch.allclose(net.eval()(x), supernet.eval()(x))


class IfInBlock(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        kind = ValueChoice(["choose", "fixed"], label="kind")
        self.c = nn.Conv2d(in_channels, 4, 3, padding=1)

        def block(i: int) -> nn.Module:
            if kind == "choose":
                return LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()}, label=f"act{i}")
            return nn.ReLU()

        self.r = Repeat(block, depth=[1, 2], label="depth")
        self.p = LayerChoice({"id": nn.Identity(), "deep": lambda: LayerChoice(
            {"relu": nn.ReLU(), "tanh": nn.Tanh()}, label="inner") if kind == "choose" else nn.ReLU()}, label="p")
        self.h = head(4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.h(self.p(self.r(self.c(x))))


def test_an_if_on_a_value_inside_repeat_blocks_and_callable_candidates_is_seen() -> None:
    space = ModelSpace(IfInBlock, input_shape=(1, 8, 8))
    fixed = space.parse("kind=fixed|depth=2|p=deep")  # act0, act1 and inner are not in this network
    assert space.format(fixed) == "kind=fixed|depth=2|p=deep"
    assert all(n.genotype != fixed.genotype and space.canonical(n) != fixed for n in space.neighbors(fixed))
    assert space.format(space.parse("kind=choose|depth=2|act0=tanh|act1=relu|p=deep|inner=tanh")) == \
        "kind=choose|depth=2|act0=tanh|act1=relu|p=deep|inner=tanh"
    # fixed: 2 depths x 2 p; choose: (2 + 4 act) x (1 + 2 inner)
    assert space.count_unique() == 4 + 6 * 3


def test_a_choice_made_only_for_another_value_is_refused_naming_the_value() -> None:
    class AppearsLater(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            kind = ValueChoice(["pool", "conv"], label="kind")
            self.c = nn.Conv2d(1, 4, 3, padding=1)
            self.b = LayerChoice([nn.ReLU(), nn.Tanh()], label="act") if kind == "conv" else nn.Identity()
            self.h = head(4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.h(self.b(self.c(x)))

    with pytest.raises(UsageError, match=r"^ValueChoice 'kind': the network with kind=conv makes choice 'act', "
                                         r"which the network with kind=pool does not make"):
        ModelSpace(AppearsLater, input_shape=(1, 8, 8))


def test_a_failing_callable_candidate_is_named() -> None:
    class Bogus(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = LayerChoice({"a": lambda: nn.Conv2d(1, 4, 3, padding=1),
                                  "b": lambda: nn.Conv2d(1, 4, 3, padding="bogus")}, label="c")
            self.h = head(4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.h(self.c(x))

    with pytest.raises(UsageError, match=r"LayerChoice 'c': building candidate 'b' failed: ValueError: Invalid pad"):
        ModelSpace(Bogus, input_shape=(1, 8, 8))


def test_shape_messages_leave_out_the_batch_and_a_scalar_output_is_refused() -> None:
    class Mismatch(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = LayerChoice([nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(1, 16, 3, padding=1)], label="c")
            self.h = head(8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.h(self.c(x))

    class Scalar(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            w = ValueChoice([8, 16], label="w")
            self.c, self.h = nn.Conv2d(1, w, 3, padding=1), head(w)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.h(self.c(x)).sum()

    with pytest.raises(UsageError, match=r"disagree on output shape \(0: \(8, 8, 8\), 1: \(16, 8, 8\)\)"):
        ModelSpace(Mismatch, input_shape=(1, 8, 8))
    with pytest.raises(UsageError, match=r"must return the class scores, shape \(batch, classes\); .* shape \[\]"):
        ModelSpace(Scalar, input_shape=(1, 8, 8))


def test_a_value_choice_of_classes_keeps_the_name_stored_records_hold() -> None:
    """Would fail with today's reverted renaming: classes were renamed to their __name__, so every study and saved
    network of a ValueChoice of classes, stored under the str() of the class, could no longer be loaded."""
    class ClassAct(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = ValueChoice([nn.ReLU, nn.GELU], label="act")()
            self.h = head(1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.h(self.a(x))

    from nasforge.spaces.base import Architecture

    space = ModelSpace(ClassAct, input_shape=(1, 4, 4))
    stored = "<class 'torch.nn.modules.activation.GELU'>"
    assert space.categorical_params() == {"act": ["<class 'torch.nn.modules.activation.ReLU'>", stored]}
    space.validate(Architecture("model_space", (stored,)))
    assert isinstance(space.build(Architecture("model_space", (stored,))).a, nn.GELU)


class Combo(nn.Module):
    """Fails, in ``__init__`` or in ``forward`` (``where``), only for w=6 with k=5: a pair that creation does not
    build (it builds each value with the others at their first)."""

    def __init__(self, where: str = "init", num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        w, k = ValueChoice([8, 6], label="w"), ValueChoice([3, 5], label="k")
        self.bad = where == "forward" and (w, k) == (6, 5)
        if where == "init" and (w, k) == (6, 5):
            raise ValueError("bad pair")
        self.c = nn.Conv2d(in_channels, w, k, padding=k // 2)
        self.h = head(w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bad:
            raise ValueError("bad pair")
        return self.h(self.c(x))


@pytest.mark.parametrize("where", ["init", "forward"])
def test_a_network_that_cannot_be_built_or_run_fails_once(tmp_path: Path, where: str, torch_one_thread) -> None:
    from nasforge import Study
    from nasforge.experiment import TrialState

    space = ModelSpace(Combo, input_shape=(1, 8, 8), where=where)
    evaluator = space.evaluator("digits", train={"epochs": 1})
    study = Study(space, "grid", objectives="val_acc", name="s", storage=f"sqlite:///{tmp_path / 's.db'}")
    study.enqueue(space.parse("w=8|k=3"))  # a first misfit no longer stops the study
    study.enqueue(space.parse("w=6|k=5"))
    study.optimize(evaluator, 2, max_retries=2)
    failed = [t for t in study.trials if t.state == TrialState.FAILED]
    assert len(failed) == 1 and all(t.retry_of is None for t in study.trials), [t.error for t in study.trials]
    what = "cannot be built: constructing" if where == "init" else "cannot run on images of shape [1, 8, 8]"
    assert failed[0].error.startswith(f"ArchitectureError: the network of w=6|k=5 {what}"), failed[0].error
    assert "ValueError: bad pair" in failed[0].error


def test_evaluating_in_process_restores_torch_threads() -> None:
    space = ModelSpace(DictDepth, input_shape=(1, 8, 8))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        space.evaluator("digits", train={"epochs": 1}, threads=1).evaluate(space.default)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_another_spaces_architecture_is_refused_by_a_model_space_evaluator() -> None:
    from nasforge.spaces import get_space

    space = ModelSpace(DictDepth, input_shape=(1, 8, 8))
    with pytest.raises(UsageError, match=r"^an architecture of space 'nb201' was given to the evaluator of a model "):
        space.evaluator("digits").evaluate(get_space("nb201").sample(0))
