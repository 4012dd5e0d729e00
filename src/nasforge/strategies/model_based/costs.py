"""Architecture costs that are known without training: parameter counts, FLOPs proxies.

A cost is a function ``architecture -> float`` computed from the architecture alone. Multi-objective
strategies take them through the ``known`` surrogate (:class:`~.surrogates.KnownSurrogate`), so an
objective such as the parameter count enters the acquisition exactly instead of through a model.

``COSTS`` maps a name to a factory ``(space, **params) -> cost function``:

* ``conv_proxy`` - NAS-Bench-201's FLOPs proxy: 9 per 3x3 convolution, 1 per 1x1 convolution;
* ``params`` - the parameter count of the network the model registry builds for the space
  (``nasforge.models``, the network ``nasforge search`` trains), times ``scale``; every
  architecture's network is built once and cached. ``additive=True`` asks for counts that add up
  over the canonical form's choices (checked on random architectures; a few dozen builds then serve
  the whole space). NAS-Bench-201's networks drop dead edges, so their counts are not additive.

Register your own with ``COSTS.register("mine", lambda space: my_function)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from ...exceptions import UsageError
from ...registry import Registry
from ...spaces import Architecture, SearchSpace

CostFn = Callable[[Architecture], float]
COSTS: Registry[Callable[..., CostFn]] = Registry("architecture cost")


@COSTS.register("conv_proxy")
def conv_proxy_cost(space: SearchSpace) -> CostFn:
    """9 per ``nor_conv_3x3`` and 1 per ``nor_conv_1x1`` in the genotype (NAS-Bench-201's FLOPs proxy)."""
    from ...analysis.simulate import conv_proxy

    return lambda arch: float(conv_proxy(arch))


class ParameterCount:
    """Parameters of ``nasforge.models``' network for an architecture (see the module docstring)."""

    def __init__(self, space: SearchSpace, model: str | None = None, num_classes: int = 10, in_channels: int = 3,
                 scale: float = 1.0, additive: bool = False, **model_kwargs: Any) -> None:
        from ...models import model_for_space

        if model is None:
            try:
                model, space_kwargs = model_for_space(space)
            except ValueError as exc:
                raise UsageError(f"params cost: {exc}") from None
            model_kwargs = {**space_kwargs, **model_kwargs}
        self.space, self.model, self.scale = space, model, scale
        self.kwargs = {"num_classes": num_classes, "in_channels": in_channels, **model_kwargs}
        self._cache: dict[Hashable, float] = {}
        self._terms = self._additive_terms() if additive else None
        if additive and self._terms is None:
            raise UsageError(f"parameter counts of model {model!r} are not additive over {space.name!r}'s choices")

    def count(self, arch: Architecture) -> float:
        """Parameters of the built network (no cache)."""
        import torch

        from ...models import create_model

        torch.set_num_threads(1)
        network = create_model(self.model, arch, **self.kwargs)
        return float(sum(p.numel() for p in network.parameters()))

    def _additive_terms(self) -> dict[str, Any] | None:
        """Base count and per-(parameter, choice) increments over the canonical view, if the counts add
        up on 5 random architectures. The base holds the same choice index for every parameter, the
        first index that works (networks drop dead edges, so a base must keep every edge alive)."""
        params = self.space.categorical_params()
        rng = np.random.default_rng(0)
        checks = [self.space.sample(rng) for _ in range(5)]
        for index in range(max(len(c) for c in params.values())):
            base_view = {name: choices[min(index, len(choices) - 1)] for name, choices in params.items()}
            try:
                base = self.count(self.space.from_params(base_view))
                terms = {name: {base_view[name]: 0.0} for name in params}
                for name, choices in params.items():
                    for choice in choices:
                        if choice != base_view[name]:
                            arch = self.space.from_params({**base_view, name: choice})
                            terms[name][choice] = self.count(arch) - base
            except (ValueError, KeyError, TypeError):
                continue
            candidate = {"base": base, "terms": terms}
            if all(abs(self._additive(candidate, arch) - self.count(arch)) < 0.5 for arch in checks):
                return candidate
        return None

    def _additive(self, terms: dict[str, Any], arch: Architecture) -> float:
        view = self.space.to_params(self.space.canonical(arch))
        return terms["base"] + sum(terms["terms"][k][v] for k, v in view.items())

    def __call__(self, arch: Architecture) -> float:
        if self._terms is not None:
            return self.scale * self._additive(self._terms, arch)
        key = tuple(self.space.to_params(arch).items())
        if key not in self._cache:
            self._cache[key] = self.count(arch)
        return self.scale * self._cache[key]


COSTS.register("params", ParameterCount)


_BUILT: dict[tuple[int, str], tuple[SearchSpace, CostFn]] = {}


def make_cost(spec: str | dict[str, Any] | CostFn, space: SearchSpace) -> CostFn:
    """A cost function from a registered name, ``{"name": ..., **params}``, or a callable (returned as is).
    Built once per space and spec (strategies rebuild their surrogates at every refit)."""
    if callable(spec):
        return spec
    key = (id(space), json.dumps(spec, sort_keys=True, default=repr))
    cached = _BUILT.get(key)
    if cached is None or cached[0] is not space:
        cached = _BUILT[key] = (space, COSTS.build(spec, space))
    return cached[1]
