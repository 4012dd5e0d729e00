"""``build_supernet(space, ...)``: the supernet of a registered space (nb201, darts, chain, proxylessnas)."""

from __future__ import annotations

from ..extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

from typing import Any

from torch import nn

from ..checks import check_int, check_real
from ..exceptions import UsageError
from ..models.layers import BATCH_NORM, Norm
from ..registry import Registry
from ..spaces import SearchSpace, as_space
from .checks import SUPERNET_SIZES

SUPERNETS: Registry = Registry("supernet")
SUPPORTED_CHAIN_CHOICES = "mbconv_e<E>_k<K>[_se] (e.g. mbconv_e3_k5_se), conv<K> (e.g. conv3), skip and identity"
SIZES = ("C", "N")


def _nb201(space, num_classes, in_channels, C=SUPERNET_SIZES["nb201"]["C"], N=SUPERNET_SIZES["nb201"]["N"],
           norm=BATCH_NORM, drop_path=0.0):
    from .nb201 import NB201Supernet

    return NB201Supernet(num_classes, in_channels, C=C, N=N, norm=norm, drop_path=drop_path, space=space)


def _darts(space, num_classes, in_channels, C=SUPERNET_SIZES["darts"]["C"], N=SUPERNET_SIZES["darts"]["N"],
           norm=BATCH_NORM, drop_path=0.0):
    from .darts import DartsSupernet

    return DartsSupernet(num_classes, in_channels, C=C, N=N, norm=norm, drop_path=drop_path, space=space)


def _chain(space, num_classes, in_channels, C=SUPERNET_SIZES["chain"]["C"], N=None, norm=BATCH_NORM, drop_path=0.0):
    from .chain import ChainSupernet, can_drop_path, proxylessnas_supernet, unsupported_choices

    bad = unsupported_choices(space)
    if bad:
        raise UsageError(f"space {space.name!r}: a chain supernet does not support the choice(s) {bad}; it supports "
                         f"{SUPPORTED_CHAIN_CHOICES}")
    if N is not None:
        raise UsageError(f"N={N}: a chain supernet has no cells to repeat (its layers are the space's); leave N out")
    from ..models import model_for_space

    model, stages = model_for_space(space)  # the standalone network's layout: preset, or the space's stages
    if model == "proxylessnas":
        net = proxylessnas_supernet(space, num_classes, in_channels, C=C, drop_path=drop_path, norm=norm)
    else:
        net = ChainSupernet(space, num_classes, in_channels, C=C, drop_path=drop_path, norm=norm, **stages)
    if drop_path and not can_drop_path(net):
        raise UsageError(f"drop_path={drop_path}: space {space.name!r} has no MBConv choice with a residual branch "
                         "(stride 1, same width) to drop, and a chain layer's only path is never dropped")
    return net


def _model_space(space, num_classes, in_channels, C=None, N=None, norm=BATCH_NORM, drop_path=0.0):
    from ..spaces.model_space.space import check_data

    if norm != BATCH_NORM or drop_path:
        raise UsageError("a model space's supernet is made of the user's own layers: norm and drop_path do not apply")
    check_data(space, num_classes, in_channels)
    return space.supernet()  # the module sets its own size: C and N do not apply


SUPERNETS.register("nb201", _nb201, relaxed=True, builtin=True)
SUPERNETS.register("model_space", _model_space, relaxed=True, builtin=True)
SUPERNETS.register("darts", _darts, relaxed=True, builtin=True)
SUPERNETS.register("chain", _chain, relaxed=True, builtin=True)
SUPERNETS.register("proxylessnas", _chain, relaxed=True, builtin=True)


def build_supernet(space: SearchSpace | str, num_classes: int, in_channels: int, norm: Norm = BATCH_NORM,
                   drop_path: float = 0.0, **size: Any) -> nn.Module:
    """The supernet of ``space`` (a space or its registered name); ``size`` holds ``C`` and, for cell
    spaces, ``N`` (cells per stage). Every argument is checked first (``UsageError``)."""
    unknown = sorted(set(size) - set(SIZES))
    if unknown:
        raise UsageError(f"unknown size argument(s) {unknown}; build_supernet takes {list(SIZES)}")
    for name, value in (("num_classes", num_classes), ("in_channels", in_channels),
                        *((k, v) for k, v in size.items() if v is not None)):
        check_int(name, value, 1)
    check_real("drop_path", drop_path, lambda v: 0 <= v < 1, "in [0, 1)")
    if not isinstance(norm, Norm):
        raise UsageError(f"norm must be a nasforge.models.layers.Norm (e.g. Norm('group')), got {norm!r}")
    space = as_space(space)
    if space.name not in SUPERNETS and not hasattr(space, "layers"):
        named = [name for name in SUPERNETS.names() if name != "model_space"]  # not a space name one can pass
        raise UsageError(f"no supernet for space {space.name!r}; supernets exist for {named} and for model spaces "
                         "(an nn.Module with LayerChoice/ValueChoice)")
    factory = SUPERNETS.get(space.name if space.name in SUPERNETS else "chain")
    return factory(space, num_classes, in_channels, norm=norm, drop_path=drop_path,
                   **{k: v for k, v in size.items() if v is not None})
