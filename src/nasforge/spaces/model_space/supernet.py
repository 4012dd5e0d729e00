"""The weight-sharing supernet of a ModelSpace (``nasforge.oneshot.base.DifferentiableSupernet``).

LayerChoice, InputChoice and Repeat depths share weights: one module holds every candidate (every
block up to the largest depth) and ``activate(arch)`` points each at the chosen one, so ``forward``
runs exactly the network ``space.build(arch)`` would, on shared weights (nothing is copied).

A ValueChoice used as a plain value (a width, a kernel size) is fixed when the layers are created, so
it cannot switch a built layer. The supernet is therefore split, as in few-shot NAS, into one partition
per combination of such values; each partition shares weights over all the other decisions. A
ValueChoice used only as a Repeat depth does not split. ``max_partitions`` guards against a product
that is too large.

The relaxed mode of DARTS/GDAS (``arch_parameters``, ``activate_weights``) mixes the options of every
decision, so the one-shot trainers of ``nasforge.oneshot`` run on any model space.
"""

from __future__ import annotations

from ...extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

import itertools
import math

import torch
from torch import nn

from ...exceptions import UsageError
from ..base import Architecture
from .primitives import MixedInput, MixedLayer, MixedRepeat, _mix, construction
from .space import has_lazy


class ModelSpaceSupernet(nn.Module):
    """All architectures of ``space`` in one module; ``activate(arch)`` selects the sub-network ``forward`` runs."""

    def __init__(self, space, max_partitions: int = 64) -> None:
        super().__init__()
        self.space = space
        self._split = [i for i, d in enumerate(space.decisions)
                       if d.kind == "value" and d.label not in space._depth_only]
        n = math.prod(len(space.decisions[i]) for i in self._split)
        if n > max_partitions:
            labels = [space.decisions[i].label for i in self._split]
            raise UsageError(f"the supernet would need {n} partitions (one per combination of the values of "
                             f"{labels}) > max_partitions={max_partitions}: make a ValueChoice whose values pick "
                             "a layer (an activation class, say) a LayerChoice of those layers, which costs no "
                             "partition, or list fewer values; in Python, space.supernet(max_partitions=...) "
                             "raises the limit")
        self.partitions = nn.ModuleList()
        self._keys: dict[tuple[int, ...], int] = {}
        for combo in itertools.product(*(range(len(space.decisions[i])) for i in self._split)):
            assignment = {space.decisions[i].label: k for i, k in zip(self._split, combo)}
            with construction("supernet", assignment):
                net = space._instantiate()
            self._keys[combo] = len(self.partitions)
            self.partitions.append(net)
        self._mixed = [[m for m in net.modules() if isinstance(m, (MixedLayer, MixedInput, MixedRepeat))]
                       for net in self.partitions]
        self._active = 0
        self._partition_weights: list[torch.Tensor] | None = None
        self.alphas = nn.ParameterList(nn.Parameter(torch.zeros(len(d))) for d in space.decisions)
        if has_lazy(self):  # lazy modules get their parameters in one forward through every option
            self.activate_weights([torch.ones(len(d)) for d in space.decisions])
            space._dummy_forward(self, "the supernet")
            self.train()
        self.activate(space.default)

    def arch_parameters(self) -> list[nn.Parameter]:
        """One logit vector per decision, in ``space.categorical_params()`` order (DARTS, GDAS)."""
        return list(self.alphas)

    def activate_weights(self, weights) -> None:
        """Relaxed mode: every LayerChoice / InputChoice / Repeat mixes its options by its decision's
        weights, and the partitions (ValueChoice values) are mixed by the product of their values' weights;
        options and partitions of weight exactly zero do not run."""
        if len(weights) != len(self.space.decisions):
            raise ValueError(f"need one weight vector per decision ({len(self.space.decisions)}), got {len(weights)}")
        by_label = {d.label: w for d, w in zip(self.space.decisions, weights)}
        self._partition_weights = []
        for combo, p in sorted(self._keys.items(), key=lambda item: item[1]):
            w = torch.ones(())
            for i, k in zip(self._split, combo):
                w = w * weights[i][k]
            self._partition_weights.append(w)
            for m in self._mixed[p]:
                m.weights = by_label.get(m.label)

    def activate(self, arch: Architecture) -> None:
        """Route ``forward`` through the sub-network of ``arch`` (shared weights, no copy)."""
        self.space.check(arch)
        self._partition_weights = None
        chosen = self.space.to_params(arch)
        combo = tuple(self.space.decisions[i].names.index(arch.genotype[i]) for i in self._split)
        self._active = self._keys[combo]
        for m in (m for mixed in self._mixed for m in mixed):
            m.weights = None
        for m in self._mixed[self._active]:
            if m.label not in chosen:
                continue  # a Repeat of fixed depth
            if isinstance(m, MixedLayer):
                m.active = m.names.index(chosen[m.label])
            elif isinstance(m, MixedInput):
                m.active = ["+".join(map(str, s)) for s in m.subsets].index(chosen[m.label])
            else:  # a depth named by its decision ({"shallow": 1, "deep": 3}), not necessarily by its str()
                m.active = m.depths[m.names.index(chosen[m.label])]

    @property
    def active_network(self) -> nn.Module:
        """The partition ``forward`` currently runs."""
        return self.partitions[self._active]

    def forward(self, *args, **kwargs):
        if self._partition_weights is not None:
            return _mix("partitions", ((w, lambda p=p: self._run_partition(p, *args, **kwargs))
                                       for p, w in enumerate(self._partition_weights)))
        return self.partitions[self._active](*args, **kwargs)

    def _run_partition(self, p: int, *args, **kwargs):
        """Partition ``p``'s forward in relaxed mode; a refusal inside it (a Repeat whose depths disagree on
        the output shape only for some values) names that partition's ValueChoice values."""
        try:
            return self.partitions[p](*args, **kwargs)
        except UsageError as exc:
            if len(self.partitions) == 1:
                raise
            combo = next(combo for combo, index in self._keys.items() if index == p)
            values = ", ".join(f"{self.space.decisions[i].label}={self.space.decisions[i].names[k]}"
                               for i, k in zip(self._split, combo))
            raise UsageError(f"{exc} (with {values})") from exc

    def subnet_state_dict(self, arch: Architecture) -> dict[str, torch.Tensor]:
        """The shared weights of ``arch``'s sub-network, keyed like ``space.build(arch).state_dict()``
        (tensors are shared, not copied): ``space.build(arch).load_state_dict(...)`` exports it."""
        self.activate(arch)
        out: dict[str, torch.Tensor] = {}
        _collect(self.active_network, "", out)
        return out


def _collect(module: nn.Module, prefix: str, out: dict[str, torch.Tensor]) -> None:
    """Parameters and persistent buffers of the active path, named as in the built network."""
    if isinstance(module, MixedLayer):
        _collect(module.candidates[module.active], prefix, out)
        return
    if isinstance(module, MixedRepeat):
        for i in range(module.active):
            _collect(module.blocks[i], f"{prefix}{i}.", out)
        return
    for name, param in module._parameters.items():
        if param is not None:
            out[prefix + name] = param
    for name, buf in module._buffers.items():
        if buf is not None and name not in module._non_persistent_buffers_set:
            out[prefix + name] = buf
    for name, child in module._modules.items():
        if child is not None:
            _collect(child, f"{prefix}{name}.", out)
