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
from nasforge.spaces.model_space import ModelSpace, ValueChoice  # noqa: E402


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
    outs = {subprocess.run([sys.executable, str(module)], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert outs == {"{'act': ['relu', 'swish', 'tanh']}\n"}


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
