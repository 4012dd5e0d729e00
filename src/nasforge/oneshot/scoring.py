"""Scoring sub-networks of a trained supernet: BN mode, BN recalibration, few-batch fine-tuning.

Every scoring leaves the supernet exactly as it found it (recalibrated statistics and fine-tuned weights
are restored), so scores do not depend on the order in which architectures are scored; the random draws
(batches, and drop-path's masks while fine-tuning) come from ``ScoreConfig.seed`` alone, never from torch's
global random state (which scoring leaves untouched).
"""

from __future__ import annotations

from ..extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..checks import check_int, check_real, check_seed
from ..data import ImageDataset
from ..exceptions import UsageError
from ..spaces import Architecture
from ..training.trainer import batch_norms, recalibrate_batchnorm
from .base import Supernet
from .checks import BN_MODES, SEARCH_BN_MODE, check_data, check_supernet
from .trainer import batches_per_epoch


@dataclass
class ScoreConfig:
    """How a sub-network is scored on ``split`` ("val" or "test").

    ``bn_mode``: "inherited" (the supernet's running statistics), "batch" (statistics of each scoring
    batch) or "recalibrate" (running statistics reset and re-estimated on ``recal_batches`` training
    batches of the sub-network; ``recal_batches=0``: one pass over the whole training split).
    ``finetune_steps`` SGD steps (``finetune_lr``) of the sub-network on training batches before scoring
    (0 = off). ``draws``: the score is the mean over that many recalibration / fine-tuning batch draws
    (seeds ``seed``, ``seed + 1``, ...), which averages out the noise of the batches drawn. A setting that
    differs from its default but would be ignored (``recal_batches`` without recalibration, ``finetune_lr``
    without fine-tuning, ``batch_size`` with neither) is a ``UsageError``.
    """

    bn_mode: str = "inherited"
    recal_batches: int = 8
    finetune_steps: int = 0
    finetune_lr: float = 0.01
    batch_size: int = 64
    eval_batch_size: int = 512
    split: str = "val"
    draws: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.bn_mode not in BN_MODES:
            raise UsageError(f"bn_mode must be one of {list(BN_MODES)}, got {self.bn_mode!r}")
        if self.split not in ("val", "test"):
            raise UsageError(f"split must be 'val' or 'test', got {self.split!r}")
        for name, low in (("recal_batches", 0), ("finetune_steps", 0), ("batch_size", 1), ("eval_batch_size", 1),
                          ("draws", 1)):
            check_int(name, getattr(self, name), low)
        check_seed("seed", self.seed)
        check_real("finetune_lr", self.finetune_lr, lambda v: v > 0, "> 0")
        if self.draws > 1 and self.bn_mode != "recalibrate" and not self.finetune_steps:
            raise UsageError("draws > 1 averages recalibration or fine-tuning draws: use bn_mode='recalibrate' "
                             "or finetune_steps > 0")
        unused = {"recal_batches": (self.bn_mode != "recalibrate", "bn_mode='recalibrate'"),
                  "finetune_lr": (not self.finetune_steps, "finetune_steps > 0"),
                  "batch_size": (self.bn_mode != "recalibrate" and not self.finetune_steps,
                                 "bn_mode='recalibrate' or finetune_steps > 0")}
        for name, (ignored, needs) in unused.items():
            if ignored and getattr(self, name) != _DEFAULTS[name]:
                raise UsageError(f"{name}={getattr(self, name)!r} applies only with {needs}; it would be ignored")

    def tricks(self) -> list[str]:
        batches = f"{self.recal_batches} batches" if self.recal_batches else "the whole training split"
        lines = [f"bn mode: {self.bn_mode}" + (f" ({batches})" if self.bn_mode == "recalibrate" else "")]
        if self.finetune_steps:
            lines.append(f"fine-tune: {self.finetune_steps} steps at lr {self.finetune_lr} before scoring")
        if self.draws > 1:
            lines.append(f"score: mean of {self.draws} batch draws")
        return lines


_DEFAULTS = {f.name: f.default for f in fields(ScoreConfig)}


def search_settings(settings: dict[str, Any] | None, label: str = "score",
                    fixed: tuple[str, ...] = ()) -> dict[str, Any]:
    """``settings`` (:class:`ScoreConfig` fields; None: none) over the recommended
    :data:`~nasforge.oneshot.checks.SEARCH_BN_MODE` (BN statistics recalibrated): what a supernet search scores
    with. ``UsageError`` naming ``label`` for anything but such a dict, a key that is no field or one of ``fixed``
    (the caller sets it), or a value :class:`ScoreConfig` refuses."""
    if settings is not None and not isinstance(settings, dict):
        raise UsageError(f"{label} must be a dict of ScoreConfig fields, got {settings!r}")
    known = [f.name for f in fields(ScoreConfig) if f.name not in fixed]
    unknown = sorted(set(settings or {}) - set(known))
    if unknown:
        raise UsageError(f"{label}: unknown setting(s) {unknown}; choose from {known}")
    merged = {"bn_mode": SEARCH_BN_MODE, **(settings or {})}
    try:
        ScoreConfig(**merged)
    except UsageError as exc:
        raise UsageError(f"{label}: {exc}") from None
    return merged


def search_score(settings: ScoreConfig | dict[str, Any] | None = None, label: str = "score") -> ScoreConfig:
    """The :class:`ScoreConfig` a supernet search scores with: ``settings`` itself, or the dict of its fields
    :func:`search_settings` checks and puts over the search default; ``UsageError`` naming ``label``."""
    if isinstance(settings, ScoreConfig):
        return settings
    if settings is not None and not isinstance(settings, dict):
        raise UsageError(f"{label} must be a ScoreConfig or a dict of its fields, got {settings!r}")
    return ScoreConfig(**search_settings(settings, label))


class SubnetScorer:
    """Scores architectures with a trained supernet: ``score(arch)`` -> ``{"val_acc", "val_loss"}``
    (accuracy in percent; keys named after ``config.split``)."""

    def __init__(self, supernet: Supernet, data: ImageDataset, config: ScoreConfig | None = None) -> None:
        config = ScoreConfig() if config is None else config
        if not isinstance(config, ScoreConfig):
            raise UsageError(f"config must be a ScoreConfig (e.g. ScoreConfig(bn_mode='recalibrate')), "
                             f"got {type(config).__name__}")
        check_supernet(supernet, "SubnetScorer")
        check_data(supernet, data, "SubnetScorer")
        self.supernet, self.data, self.config = supernet, data, config
        self.x, self.y = (data.x_val, data.y_val) if self.config.split == "val" else (data.x_test, data.y_test)
        if len(self.y) == 0:
            raise UsageError(f"data set {data.name!r} has an empty {self.config.split} split")
        self.n_scored, self.seconds = 0, 0.0

    def __repr__(self) -> str:
        return (f"SubnetScorer(space={self.supernet.space.name!r}, data={self.data.name!r}, "
                f"bn_mode={self.config.bn_mode!r}, split={self.config.split!r}, n_scored={self.n_scored})")

    def describe(self) -> dict[str, Any]:
        return {**asdict(self.config), "tricks": self.config.tricks()}

    def score(self, arch: Architecture | str) -> dict[str, float]:
        """Score ``arch`` (an architecture of the supernet's space, or its text form)."""
        cfg = self.config
        start = time.perf_counter()
        results = []
        for draw in range(cfg.draws):
            with self.prepared(arch, draw) as module:
                results.append(self._evaluate(module))
        self.n_scored += 1
        self.seconds += time.perf_counter() - start
        acc, loss = np.mean(results, axis=0)
        return {f"{cfg.split}_acc": float(acc), f"{cfg.split}_loss": float(loss)}

    @contextmanager
    def prepared(self, arch: Architecture | str, draw: int = 0) -> Iterator[nn.Module]:
        """Within it, ``arch`` is active in the supernet with the weights and BatchNorm statistics that
        :meth:`score`'s ``draw`` evaluates (fine-tuned and recalibrated as the config says), and the global torch RNG
        seeded for the draw (the caller's is back on leaving); the supernet is restored on leaving. Gives the module that changed (the supernet, or the few-shot member holding ``arch``).
        ``space.build(arch).load_state_dict(supernet.subnet_state_dict(arch))`` inside it exports the network
        scored (with ``draws=1``; ``bn_mode="batch"`` normalizes with each batch's statistics, which it cannot)."""
        cfg, net = self.config, self.supernet
        check_int("draw", draw, 0)
        net.activate(self._check(arch))
        # a few-shot supernet changes only the sub-supernet holding arch: save and restore that one
        module = net.active_member() if callable(getattr(net, "active_member", None)) else net
        restore = self._saved(module)
        try:
            gen = torch.Generator().manual_seed(cfg.seed + draw)
            # the caller's global RNG is left as it was; what runs inside (the evaluation: a module may draw random
            # numbers in eval mode, as Monte-Carlo dropout does) draws from the draw's own seed
            with torch.random.fork_rng(devices=[]):
                torch.default_generator.manual_seed(cfg.seed + draw)  # drop-path draws from it in training
                if cfg.finetune_steps:
                    self._finetune(module, gen)
                if cfg.bn_mode == "recalibrate":
                    self._recalibrate(module, gen)
                net.eval()  # as the score evaluates it (no dropout or drop-path), whatever mode the caller left
                yield module
        finally:
            if restore is not None:
                restore()
            net.eval()

    def _saved(self, module: nn.Module) -> Callable[[], None] | None:
        """A copy of what scoring changes in ``module`` and the function restoring it: every weight and buffer when
        fine-tuning, else only the BatchNorm buffers recalibration resets (None: scoring changes nothing)."""
        if self.config.finetune_steps > 0:
            saved = {k: v.clone() for k, v in module.state_dict().items()}

            def restore_all() -> None:
                module.load_state_dict(saved)
            return restore_all
        if self.config.bn_mode != "recalibrate":
            return None
        buffers = [(b, b.clone()) for m in batch_norms(module) for b in m.buffers(recurse=False)]  # changed in place

        @torch.no_grad()
        def restore() -> None:
            for buffer, value in buffers:
                buffer.copy_(value)
        return restore

    def _check(self, arch: Architecture | str) -> Architecture:
        space = self.supernet.space
        try:
            return space.check(space.parse(arch) if isinstance(arch, str) else arch)
        except ValueError as exc:
            raise UsageError(f"arch {arch!r}: {exc}") from None

    def _batches(self, n: int, gen: torch.Generator):
        """``n`` training batches (0: one pass over the split), never of 1 image when ``batch_size`` and the split
        are larger (BatchNorm cannot normalize one value per channel): a pass's 1-image remainder joins its last
        batch, and a batch of ``n`` that would hold only the order's last image continues at its start."""
        order = torch.randperm(len(self.data.y_train), generator=gen)
        bs = self.config.batch_size
        count = n or batches_per_epoch(len(order), bs)
        for i in range(count):
            start = (i * bs) % len(order)
            idx = order[start:] if not n and i == count - 1 else order[start:start + bs]
            if len(idx) == 1 and bs > 1 and len(order) > 1:
                idx = torch.cat([idx, order[:bs - 1]])
            yield self.data.x_train[idx], self.data.y_train[idx]

    def _finetune(self, module: nn.Module, gen: torch.Generator) -> None:
        net = self.supernet
        arch_ids = {id(a) for a in getattr(net, "arch_parameters", lambda: [])()}
        params = [p for p in module.parameters() if p.requires_grad and id(p) not in arch_ids]
        opt = torch.optim.SGD(params, lr=self.config.finetune_lr, momentum=0.9)
        net.train()
        for xb, yb in self._batches(self.config.finetune_steps, gen):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(xb), yb).backward(inputs=params)
            opt.step()

    def _recalibrate(self, module: nn.Module, gen: torch.Generator) -> None:
        """The BatchNorm statistics of ``module`` (the part of the supernet holding the active architecture)
        re-estimated on ``recal_batches`` training batches through the supernet."""
        batches = (xb for xb, _ in self._batches(self.config.recal_batches, gen))
        recalibrate_batchnorm(self.supernet, batches, module)

    @torch.no_grad()
    def _evaluate(self, module: nn.Module) -> tuple[float, float]:
        net = self.supernet
        net.eval()
        norms = batch_norms(module) if self.config.bn_mode == "batch" else []
        for m in norms:  # batch statistics, running statistics untouched
            m.track_running_stats = False
            m.train()
        correct, loss = 0, 0.0
        try:
            step = self.config.eval_batch_size
            starts = list(range(0, len(self.y), step))
            if norms and len(starts) > 1 and len(self.y) - starts[-1] == 1:  # batch statistics of one image: merged
                starts.pop()
            for i, j in zip(starts, [*starts[1:], len(self.y)]):
                logits = net(self.x[i:j].clone())  # a copy: the data set's tensors must not be edited in place
                target = self.y[i:j]
                correct += int((logits.argmax(1) == target).sum())
                loss += float(F.cross_entropy(logits, target, reduction="sum"))
        finally:
            for m in norms:
                m.track_running_stats = True
                m.eval()
        return 100.0 * correct / len(self.y), loss / len(self.y)
