"""Deriving the final architecture from a relaxed supernet: argmax, or perturbation-based selection (DARTS-PT)."""

from __future__ import annotations

from ..extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from ..data import ImageDataset
from ..spaces import Architecture
from .base import DifferentiableSupernet
from .trainer import arch_decisions, derive_argmax, option_masks, relaxed_weights, require_relaxed, split_halves

__all__ = ["derive_argmax", "perturbation_select"]


@torch.no_grad()
def _accuracy(supernet: DifferentiableSupernet, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> float:
    supernet.eval()
    correct = 0
    for i in range(0, len(y), batch):
        correct += int((supernet(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    return 100.0 * correct / len(y)


def _zero_options(supernet: torch.nn.Module) -> frozenset[str]:
    """Option names that are the zero operation wherever a ``MixedOp`` offers them (``none``): it skips them, so
    removing one from the mix leaves every output as it was."""
    from .mixed import MixedOp

    mixed = [m for m in supernet.modules() if isinstance(m, MixedOp)]
    names = {n for m in mixed for n in m.names}
    return frozenset(n for n in names if all(n not in m.ops for m in mixed if n in m.names))


def perturbation_select(supernet: DifferentiableSupernet, data: ImageDataset,
                        allowed: Mapping[str, Sequence[str]] | None = None, seed: int = 0,
                        tune_steps: int = 0, tune_lr: float = 0.01, batch_size: int = 64,
                        on_decision: Callable[[int, int, dict], None] | None = None
                        ) -> tuple[Architecture, list[dict]]:
    """DARTS-PT: visit the decisions in random order; on each, remove every remaining option in turn from the
    relaxed supernet and keep the option whose removal lowers accuracy most; that decision is then fixed to it.
    Accuracy is measured on the architecture half of the training split that DARTS/GDAS training draws with
    the same ``seed`` (pass the training ``config.seed``; it also orders the decisions), never on the
    validation images. ``tune_steps`` weight steps on the other half re-tune the supernet after each decision
    (0 = none). Removing the zero operation (``none``) changes no output: its drop is 0 without a pass.
    ``on_decision(i, n, entry)`` is called after each of the ``n`` decisions with its log entry (progress).
    Returns the architecture and, per decision, the accuracy drop of each option's removal."""
    require_relaxed(supernet, "perturbation_select", trained=False)  # it measures removals: SPOS alphas are fine
    (x_w, y_w), (x_sel, y_sel) = split_halves(data.x_train, data.y_train, torch.Generator().manual_seed(seed))
    masks = option_masks(supernet, allowed)
    alphas = supernet.arch_parameters()
    fixed: dict[int, int] = {}
    log = []
    order = np.random.default_rng(seed).permutation(len(masks))
    names = arch_decisions(supernet)
    zero = _zero_options(supernet)

    def weights(removed: tuple[int, int] | None = None) -> list[torch.Tensor]:
        mix = relaxed_weights([a.detach() for a in alphas], masks)
        for d, o in fixed.items():
            mix[d] = torch.nn.functional.one_hot(torch.tensor(o), len(mix[d])).to(mix[d].dtype)
        if removed is not None:
            d, o = removed
            mix[d] = mix[d].clone()
            mix[d][o] = 0.0
        return mix

    gen = torch.Generator().manual_seed(seed)
    for d in order:
        d = int(d)
        supernet.activate_weights(weights())
        base = _accuracy(supernet, x_sel, y_sel)
        drops = {}
        for o in torch.nonzero(masks[d]).flatten().tolist():
            if names[d][1][o] in zero:  # the same output, so the same accuracy
                drops[names[d][1][o]] = 0.0
                continue
            supernet.activate_weights(weights((d, o)))
            drops[names[d][1][o]] = base - _accuracy(supernet, x_sel, y_sel)
        best = max(drops, key=drops.get)
        fixed[d] = names[d][1].index(best)
        log.append({"decision": names[d][0], "base_acc": base, "drop": drops, "chosen": best})
        if on_decision is not None:
            on_decision(len(log), len(order), log[-1])
        if tune_steps:
            _tune(supernet, x_w, y_w, weights(), tune_steps, tune_lr, batch_size, gen)
    params = {names[d][0]: names[d][1][o] for d, o in fixed.items()}
    topology = getattr(supernet, "derive_from_ops", None)
    if callable(topology):  # decisions are edges (DARTS): the supernet keeps the edges whose removal costs most
        supernet.activate_weights(weights())
        full = _accuracy(supernet, x_sel, y_sel)

        def edge_drop(d: int) -> float:
            supernet.activate_weights(weights((d, fixed[d])))
            return full - _accuracy(supernet, x_sel, y_sel)

        return topology(params, edge_drop), log
    return supernet.space.from_params(params), log


def _tune(supernet, x, y, mix, steps, lr, batch_size, gen) -> None:
    alpha_ids = {id(a) for a in supernet.arch_parameters()}
    params = [p for p in supernet.parameters() if id(p) not in alpha_ids]
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9)
    supernet.train()
    supernet.activate_weights(mix)
    for _ in range(steps):
        idx = torch.randint(len(y), (batch_size,), generator=gen)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(supernet(x[idx]), y[idx]).backward(inputs=params)
        opt.step()
