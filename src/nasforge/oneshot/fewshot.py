"""Few-shot NAS: split a supernet on chosen decisions into sub-supernets that inherit its weights, train
each further on its part of the space, and score an architecture with the sub-supernet containing it.

:class:`FewShotSupernet` is itself a :class:`~nasforge.oneshot.Supernet`, so scorers, evaluators and
studies use it unchanged.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence

import torch
from torch import nn

from ..data import ImageDataset
from ..exceptions import UsageError
from ..spaces import Architecture
from .base import Supernet, decisions
from .trainer import OneShotConfig, OneShotRecord, train_supernet


class FewShotSupernet(nn.Module):
    """Sub-supernets, member ``i`` restricted to ``allowed[i]``; ``activate`` routes to the member that
    contains the architecture."""

    def __init__(self, members: Sequence[nn.Module], allowed: Sequence[dict[str, list[str]]]) -> None:
        super().__init__()
        if not members or len(members) != len(allowed):
            raise ValueError("need one allowed-options dict per member, and at least one member")
        self.members = nn.ModuleList(members)
        self.allowed = [dict(a) for a in allowed]
        self.space = members[0].space
        self.config = {**getattr(members[0], "config", {}), "few_shot": [dict(a) for a in self.allowed]}
        self.current = 0

    def member_of(self, arch: Architecture) -> int:
        params = self.space.to_params(arch)
        for i, allowed in enumerate(self.allowed):
            if all(params[name] in options for name, options in allowed.items()):
                return i
        raise ValueError(f"no sub-supernet contains {self.space.format(arch)}")

    def activate(self, arch: Architecture) -> None:
        self.current = self.member_of(arch)
        self.members[self.current].activate(arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.members[self.current](x)


def split_supernet(supernet: Supernet, on: Sequence[str]) -> FewShotSupernet:
    """One sub-supernet per combination of options of the decisions ``on`` (weights copied from ``supernet``)."""
    options = dict(decisions(supernet.space))
    unknown = [name for name in on if name not in options]
    if unknown or not on:
        raise UsageError(f"split on decisions from {list(options)}, got {list(on)}")
    combos = list(itertools.product(*(options[name] for name in on)))
    allowed = [{name: [choice] for name, choice in zip(on, combo)} for combo in combos]
    return FewShotSupernet([copy.deepcopy(supernet) for _ in combos], allowed)


def train_few_shot(few_shot: FewShotSupernet, data: ImageDataset, config: OneShotConfig,
                   shared_seed: bool = False) -> list[OneShotRecord]:
    """Train every sub-supernet on its own part of the space, seeded ``config.seed + i`` or, with
    ``shared_seed``, all ``config.seed`` (the same batch order and augmentation for every part: common
    random numbers, so parts differ by their architectures rather than by their training noise)."""
    from dataclasses import replace

    return [train_supernet(member, data, replace(config, seed=config.seed + (0 if shared_seed else i)), allowed=allowed)
            for i, (member, allowed) in enumerate(zip(few_shot.members, few_shot.allowed))]
