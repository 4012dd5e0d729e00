"""Review 52 fixes of model spaces whose module file was edited after a study: an edit that drops a stored
trial's candidate is refused naming that trial and candidate; a file edited so that it no longer loads is
refused as an edited file (its fingerprint read first), with the error it now raises."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from nasforge import Study  # noqa: E402
from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.oneshot.checkpoint import CheckpointError  # noqa: E402
from nasforge.spaces.model_space import ModelSpace  # noqa: E402

NET = ("from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice, ValueChoice\n"
       "class Net(nn.Module):\n    def __init__(self, num_classes=2):\n        super().__init__()\n"
       "        width = ValueChoice([3, 4, 5], label='width')\n"
       "        self.fc, self.out = nn.Linear(2, width), nn.Linear(width, num_classes)\n"
       "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
       "    def forward(self, x):\n        return self.out(self.act(self.fc(x)))\n")

BROKEN = [("def (:\n", r"SyntaxError: invalid syntax \(net52\.py, line 11\)"),
          ("undefined_name_x\n", r"loading .*net52\.py failed: NameError: name 'undefined_name_x' is not defined")]


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


@pytest.mark.parametrize("edit, error", BROKEN)
def test_a_study_whose_module_no_longer_loads_is_refused_as_edited(tmp_path: Path, edit: str, error: str) -> None:
    path, url = _study(tmp_path)
    path.write_text(NET + edit)
    with pytest.raises(UsageError, match=rf"^the module file {path} changed since the study was trained, and no "
                                         rf"longer loads \({error}\); restore it or start a new search$"):
        Study.load("s", url)
    path.write_text(NET)  # restored: loads again
    assert len(Study.load("s", url).trials) == 4


def test_a_module_whose_sibling_no_longer_loads_says_so_as_before(tmp_path: Path) -> None:
    """Only the module's own file is fingerprinted: unchanged, its load error is as it was, not the edited line."""
    (tmp_path / "blocks52.py").write_text("WIDTH = 3\n")
    path = tmp_path / "net52.py"
    path.write_text("import blocks52\n" + NET)
    space = ModelSpace(f"{path}:Net", input_shape=(2,))
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study(space, "random", objectives="score", seed=0, name="s", storage=url)
    _forget(path)
    del sys.modules["blocks52"]
    (tmp_path / "blocks52.py").write_text("undefined_name_x\n")
    with pytest.raises(UsageError, match=r"^loading .*net52\.py failed: NameError: name 'undefined_name_x' is not "
                                         r"defined$"):
        Study.load("s", url)
    sys.modules.pop("blocks52", None)


@pytest.mark.parametrize("edit, error", BROKEN[:1])
def test_a_saved_network_and_a_supernet_of_a_module_that_no_longer_loads(tmp_path: Path, edit: str,
                                                                         error: str) -> None:
    from nasforge.export import load_model, save_model
    from nasforge.oneshot import build_supernet
    from nasforge.oneshot.checkpoint import load_supernet, save_supernet

    path = tmp_path / "net52.py"
    path.write_text(NET)
    space = ModelSpace(f"{path}:Net", input_shape=(2,))
    arch = space.parse("width=4|act=tanh")
    save_model(tmp_path / "saved", space.build(arch), model_name="model_space", arch=arch,
               model_kwargs={"space": space.config()}, num_classes=2, in_channels=2,
               preprocessing={"input_shape": [2]})
    save_supernet(build_supernet(space, 2, 2), tmp_path / "sn", {"data": {"data": "digits", "data_options": {}}})
    path.write_text(NET + edit)
    _forget(path)
    with pytest.raises(UsageError, match=rf"changed since the study was trained, and no longer loads \({error}\); "
                                         "restore the file as it was"):
        load_model(tmp_path / "saved")
    _forget(path)
    with pytest.raises(CheckpointError, match=rf"changed since the supernet was trained, and no longer loads "
                                              rf"\({error}\); restore it or train it again$"):
        load_supernet(tmp_path / "sn")
