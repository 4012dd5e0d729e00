"""Architecture costs that are known without training: parameter counts, FLOPs proxies.

A cost is a function ``architecture -> float`` computed from the architecture alone. Multi-objective
strategies take them through the ``known`` surrogate (:class:`~.surrogates.KnownSurrogate`), so an
objective such as the parameter count enters the acquisition exactly instead of through a model.

``COSTS`` maps a name to a factory ``(space, **params) -> cost function``:

* ``conv_proxy`` - NAS-Bench-201's FLOPs proxy: 9 per 3x3 convolution, 1 per 1x1 convolution;
* ``params`` - the parameter count of the network the model registry builds for the space
  (``nasforge.models``, the network ``nasforge search`` trains) as deployed, without the modules that only
  train (DARTS's auxiliary head; the ``params`` a search reports), times ``scale``; each architecture's
  count is computed once and cached, from the network's skeleton with its operations tallied rather
  than built (:class:`~nasforge.models.layers.OpParameterTally`; NAS-Bench-201's networks drop dead
  edges, so the counts are not a plain sum over edges).

Register your own with ``COSTS.register("mine", lambda space: my_function)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from typing import Any

from ...checks import check_int, check_real
from ...exceptions import UsageError
from ...registry import Registry
from ...spaces import Architecture, SearchSpace

CostFn = Callable[[Architecture], float]
COSTS: Registry[Callable[..., CostFn]] = Registry("architecture cost")


@COSTS.register("conv_proxy", builtin=True)
def conv_proxy_cost(space: SearchSpace) -> CostFn:
    """9 per ``nor_conv_3x3`` and 1 per ``nor_conv_1x1`` in the genotype (NAS-Bench-201's FLOPs proxy); another
    space has no such operations (it would cost 0 everywhere): a UsageError."""
    from ...spaces.nb201 import NASBench201Space, conv_proxy

    if not isinstance(space, NASBench201Space):
        raise UsageError(f"cost 'conv_proxy' is NAS-Bench-201's FLOPs proxy and does not apply to space "
                         f"{space.name!r} (it would be 0 for every architecture); use 'params' or a cost function")
    return lambda arch: float(conv_proxy(arch))


class ParameterCount:
    """Parameters of ``nasforge.models``' network for an architecture (see the module docstring), built for
    ``in_channels`` and ``num_classes`` (default: a model space's own input and output shapes, else 3 and 10).
    The settings are checked at construction: ``scale`` must be a finite number > 0 (use the ``known``
    surrogate's ``sign`` for direction), and one network is counted, so a model option it refuses is a
    UsageError before any architecture is evaluated."""

    def __init__(self, space: SearchSpace, model: str | None = None, num_classes: int | None = None,
                 in_channels: int | None = None, scale: float = 1.0, **model_kwargs: Any) -> None:
        import numpy as np

        from ...models import model_for_space

        check_real("params cost: scale", scale, lambda v: v > 0, "a number > 0 (the known surrogate's sign "
                   "sets the direction)")
        for name, value in (("num_classes", num_classes), ("in_channels", in_channels)):
            if value is not None:
                check_int(f"params cost: {name}", value, 1)
        shape = getattr(space, "input_shape", None)  # a model space knows its input and output shapes
        outputs = getattr(space, "output_shape", None)
        in_channels = in_channels if in_channels is not None else shape[0] if shape else 3
        num_classes = num_classes if num_classes is not None else outputs[0] if outputs and len(outputs) == 1 else 10
        if model is None:
            try:
                model, space_kwargs = model_for_space(space)
            except ValueError as exc:
                raise UsageError(f"params cost: {exc}") from None
            model_kwargs = {**space_kwargs, **model_kwargs}
        self.space, self.model, self.scale = space, model, scale
        self.kwargs = {"num_classes": num_classes, "in_channels": in_channels, **model_kwargs}
        self._cache: dict[Hashable, float] = {}
        try:  # one network now: a bad model setting fails here, not at the first model-based ask
            self(space.sample(np.random.default_rng(0)))
        except (TypeError, ValueError, RuntimeError) as exc:
            raise UsageError(f"params cost: model {model!r} cannot be built with {model_kwargs!r:.150}: "
                             f"{exc}") from None

    def count(self, arch: Architecture) -> float:
        """Parameters of the built network (no cache); its operations are counted, not built. Modules that only
        train (DARTS's auxiliary head) are left out, as in the ``params`` a search reports (``count_params``)."""
        from ...models import create_model
        from ...models.layers import OpParameterTally
        from ...training.cost import count_params

        with OpParameterTally() as tally:
            network = create_model(self.model, arch, **self.kwargs)
        return float(tally.total + count_params(network))

    def __call__(self, arch: Architecture) -> float:
        key = tuple(self.space.to_params(arch).items())
        if key not in self._cache:
            self._cache[key] = self.count(arch)
        return self.scale * self._cache[key]


COSTS.register("params", ParameterCount, builtin=True)

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
