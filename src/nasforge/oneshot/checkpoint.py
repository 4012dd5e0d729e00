"""Saving and loading trained supernets: ``supernet.pt`` (a state dict, read with ``weights_only=True``) and
``supernet.json`` (how to rebuild it: space, sizes, norm, drop-path, few-shot parts, data, training record)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from torch import nn

from ..exceptions import MissingFileError, UsageError
from ..models.layers import Norm
from ..spaces import ChainSpace, get_space

FORMAT = "nasforge-supernet/1"


def save_supernet(supernet: nn.Module, folder: str | Path, meta: dict[str, Any] | None = None,
                  overwrite: bool = False) -> Path:
    """Write ``supernet`` (built by :func:`build_supernet`, possibly split for few-shot) into ``folder``.

    ``folder`` must be new or empty: one that already holds a saved supernet or other files is refused
    (``UsageError``, nothing written) unless ``overwrite=True``, which replaces ``supernet.pt`` and
    ``supernet.json`` and leaves any other file alone."""
    import torch

    folder = Path(folder)
    if not isinstance(overwrite, bool):
        raise UsageError(f"overwrite must be True or False, got {overwrite!r}")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"folder {str(folder)!r} is a file, not a folder")
    held = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if held and not overwrite:
        what = "a saved supernet" if {"supernet.pt", "supernet.json"} & set(held) else f"{len(held)} file(s) {held[:3]}"
        raise UsageError(f"folder {str(folder)!r} already holds {what}; save into a new or empty folder, or pass "
                         "overwrite=True to replace it")
    config = dict(getattr(supernet, "config", {}))
    space = supernet.space
    space_config = ({"layers": [list(c) for c in space.layers], "name": space.name, "stages": list(space.stages)}
                    if isinstance(space, ChainSpace) else {})
    info = {"format": FORMAT, "space": space.name, "space_config": space_config, "config": config,
            "arch_trained": getattr(supernet, "arch_trained", None), **(meta or {})}
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(supernet.state_dict(), folder / "supernet.pt")
    (folder / "supernet.json").write_text(json.dumps(info, indent=1, default=str))
    return folder


def load_supernet(folder: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a saved supernet (weights loaded safely) and return it with its metadata."""
    import torch

    from .fewshot import FewShotSupernet
    from .registry import build_supernet

    folder = Path(folder)
    if not (folder / "supernet.json").is_file() or not (folder / "supernet.pt").is_file():
        raise MissingFileError(f"{str(folder)!r} holds no saved supernet (supernet.json and supernet.pt)")
    info = json.loads((folder / "supernet.json").read_text())
    if info.get("format") != FORMAT:
        raise UsageError(f"{str(folder / 'supernet.json')!r} is not a {FORMAT} file")
    cfg = dict(info["config"])
    few_shot = cfg.pop("few_shot", None)
    space = ChainSpace(**info["space_config"]) if info.get("space_config") else get_space(info["space"])
    base = build_supernet(space, cfg["num_classes"], cfg["in_channels"], norm=Norm(**cfg.get("norm", {})),
                          drop_path=cfg.get("drop_path", 0.0), C=cfg.get("C"), N=cfg.get("N"))
    net = FewShotSupernet([copy.deepcopy(base) for _ in few_shot], few_shot) if few_shot else base
    net.load_state_dict(torch.load(folder / "supernet.pt", weights_only=True))
    if info.get("arch_trained") is not None:  # recorded since derive_argmax refuses SPOS-only supernets
        net.arch_trained = info["arch_trained"]
    return net.eval(), info
