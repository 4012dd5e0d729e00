"""Review 52 fixes of model spaces whose module file was edited after a study: an edit that drops a stored
trial's candidate is refused naming that trial and candidate."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from nasforge import Study  # noqa: E402
from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.spaces.model_space import ModelSpace  # noqa: E402

NET = ("from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice, ValueChoice\n"
       "class Net(nn.Module):\n    def __init__(self, num_classes=2):\n        super().__init__()\n"
       "        width = ValueChoice([3, 4, 5], label='width')\n"
       "        self.fc, self.out = nn.Linear(2, width), nn.Linear(width, num_classes)\n"
       "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
       "    def forward(self, x):\n        return self.out(self.act(self.fc(x)))\n")


def _forget(path: Path) -> None:
    """Drop the module loaded from ``path``, as a new process reads the file again."""
    for name in [n for n in sys.modules if n.startswith(f"_nasforge_user_{path.stem}_")]:
        del sys.modules[name]


def _study(tmp_path: Path) -> tuple[Path, str]:
    """A stored study of four trials (every width used) on the module file ``net52.py``."""
    path = tmp_path / "net52.py"
    path.write_text(NET)
    space = ModelSpace(f"{path}:Net", input_shape=(2,))
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(space, "random", objectives="score", seed=0, name="s", storage=url)
    for arch in ("width=3|act=relu", "width=5|act=relu", "width=4|act=tanh", "width=5|act=tanh"):
        trial = study.enqueue(space.parse(arch))
        assert study.claim(trial)
        study.tell(trial, {"score": 1.0})
    _forget(path)
    return path, url


def test_a_narrowed_candidate_list_is_refused_naming_the_trial_and_candidate(tmp_path: Path) -> None:
    path, url = _study(tmp_path)
    path.write_text(NET.replace("[3, 4, 5]", "[3, 4]"))  # trials 1 and 3 used width=5
    with pytest.raises(UsageError, match=rf"^storage '{url}': study 's' cannot be loaded: the module file {path} "
                                         r"changed since the study was trained; restore it or start a new search "
                                         r"\(trial 1, and 1 other, no longer fit the edited space: choice 'width': "
                                         r"unknown candidate '5'; choose from \['3', '4'\]\)$"):
        Study.load("s", url)
