"""Supernet trainers: SPOS (single path), DARTS (continuous relaxation, first/second order) and GDAS
(Gumbel-softmax, hard forward), with every training trick a switch of :class:`OneShotConfig`.

Each run returns a :class:`OneShotRecord` whose ``tricks`` list states, one line each, every switch that
was on; a trick that does not apply to the chosen method is an error, never silently ignored.
"""

from __future__ import annotations

from ..extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..checks import check_int, check_real, check_seed, is_real
from ..data import ImageDataset
from ..data.augment import augment_batch
from ..exceptions import UsageError
from ..spaces import Architecture
from .base import Supernet, decisions, is_differentiable
from .checks import check_data, check_supernet
from .sampling import SAMPLINGS, ArchSampler

METHODS = ("spos", "darts", "gdas")
SKIP_OPTIONS = ("skip_connect", "skip", "identity")
DROPOUT_SCHEDULES = ("linear", "constant")
SDARTS_MODES = ("random", "adversarial")


@dataclass
class OneShotConfig:
    """How to train a supernet.

    Weights: SGD (Nesterov) with cosine decay from ``lr`` over ``epochs``; ``batch_size``; crop augmentation if
    ``augment``. ``start_epoch``: begin at that epoch of the schedule (its learning rate), so a copy of a
    supernet snapshotted at that epoch finishes the same schedule (few-shot sub-supernets split mid-training).
    SPOS: ``sampling`` uniform / fair / strict_fair / unique (de-isomorphic). DARTS/GDAS: the training split
    is halved, weights learn on one half and architecture logits (Adam, ``arch_lr``) on the other; ``order`` 1 or 2 (DARTS's
    unrolled second-order step); ``gumbel_tau`` GDAS's temperature, annealed linearly (start, end).

    Tricks (DARTS/GDAS): ``warmup_epochs`` of weight-only training before architecture updates;
    ``path_dropout`` (DARTS only: GDAS runs one option per decision, which it would never drop) drops each
    option of each decision with this probability on a weight step, ramped up linearly over training or
    ``constant``; ``sdarts`` "random" or "adversarial" perturbs the architecture weights by up to
    ``sdarts_epsilon`` on weight steps (SDARTS-RS / -ADV, a SAM-style smoothness regularizer);
    ``early_stop_skips`` stops training (DARTS+) once that many decisions have a skip option as their argmax
    (``train_supernet`` refuses more than the supernet's decisions with a skip option: it could never fire).

    Every value is checked here (``UsageError``); so is a setting that differs from its default but would be
    ignored by ``method`` (``gumbel_tau`` without gdas, ``path_dropout`` with gdas, ``arch_lr``/``arch_weight_decay``
    with spos, ``sdarts_epsilon`` without ``sdarts``, ``path_dropout_schedule`` without ``path_dropout``), and
    ``warmup_epochs`` not below ``epochs`` for darts/gdas (no architecture update would happen).
    """

    method: str = "spos"
    epochs: int = 30
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float | None = 5.0
    augment: bool = True
    sampling: str = "uniform"
    arch_lr: float = 3e-3
    arch_weight_decay: float = 1e-3
    order: int = 1
    gumbel_tau: tuple[float, float] = (10.0, 0.1)
    warmup_epochs: int = 0
    path_dropout: float = 0.0
    path_dropout_schedule: str = "linear"
    sdarts: str | None = None
    sdarts_epsilon: float = 0.03
    early_stop_skips: int | None = None
    start_epoch: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [(self.method in METHODS, f"method must be one of {list(METHODS)}, got {self.method!r}"),
                  (self.sampling in SAMPLINGS, f"sampling must be one of {list(SAMPLINGS)}, got {self.sampling!r}"),
                  (self.order in (1, 2), f"order must be 1 or 2, got {self.order!r}"),
                  (self.path_dropout_schedule in DROPOUT_SCHEDULES,
                   f"path_dropout_schedule must be one of {list(DROPOUT_SCHEDULES)}, "
                   f"got {self.path_dropout_schedule!r}"),
                  (self.sdarts in (None, *SDARTS_MODES),
                   f"sdarts must be None or one of {list(SDARTS_MODES)}, got {self.sdarts!r}"),
                  (isinstance(self.augment, bool), f"augment must be True or False, got {self.augment!r}")]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        for name, low in (("epochs", 1), ("batch_size", 1), ("warmup_epochs", 0), ("start_epoch", 0)):
            check_int(name, getattr(self, name), low)
        check_seed("seed", self.seed)
        if self.start_epoch >= self.epochs:
            raise UsageError(f"start_epoch must be in [0, epochs={self.epochs}), got {self.start_epoch}")
        for name in ("lr", "arch_lr", "sdarts_epsilon"):
            check_real(name, getattr(self, name), lambda v: v > 0, "> 0")
        for name in ("weight_decay", "arch_weight_decay"):
            check_real(name, getattr(self, name), lambda v: v >= 0, ">= 0")
        check_real("momentum", self.momentum, lambda v: 0 <= v < 1, "in [0, 1)")
        check_real("path_dropout", self.path_dropout, lambda v: 0 <= v < 1, "in [0, 1)")
        if self.grad_clip is not None:
            check_real("grad_clip", self.grad_clip, lambda v: v > 0, "> 0 or None")
        if self.early_stop_skips is not None:
            check_int("early_stop_skips", self.early_stop_skips, 1)
        tau = self.gumbel_tau
        if not (isinstance(tau, (tuple, list)) and len(tau) == 2 and all(is_real(t) and t > 0 for t in tau)):
            raise UsageError(f"gumbel_tau must be a (start, end) pair of temperatures > 0, got {tau!r}")
        self.gumbel_tau = (float(tau[0]), float(tau[1]))
        if self.method != "spos" and self.warmup_epochs >= self.epochs:
            raise UsageError(f"warmup_epochs={self.warmup_epochs} must be below epochs={self.epochs} for "
                             f"{self.method}: the architecture weights would never be updated")
        self._refuse_unused()

    def _refuse_unused(self) -> None:
        """``UsageError`` for a setting that differs from its default but does not apply to this configuration."""
        relaxed_only = {"order": self.order != 1, "warmup_epochs": self.warmup_epochs > 0,
                        "path_dropout": self.path_dropout > 0, "sdarts": self.sdarts is not None,
                        "early_stop_skips": self.early_stop_skips is not None,
                        "arch_lr": self.arch_lr != _DEFAULTS["arch_lr"],
                        "arch_weight_decay": self.arch_weight_decay != _DEFAULTS["arch_weight_decay"]}
        used = [k for k, v in relaxed_only.items() if v]
        if self.method == "spos" and used:
            groups = {"darts/gdas": [k for k in used if k != "path_dropout"],  # gdas refuses path dropout too
                      "darts": [k for k in used if k == "path_dropout"]}
            raise UsageError("; ".join(f"{', '.join(names)} appl{'y' if len(names) > 1 else 'ies'} to {target} only"
                                       for target, names in groups.items() if names) + ", not spos")
        if self.method != "spos" and self.sampling != "uniform":
            raise UsageError(f"sampling={self.sampling!r} applies to spos only, not {self.method}")
        if self.method == "gdas" and self.order != 1:
            raise UsageError(f"gdas uses first-order architecture updates (order=1), got order={self.order}")
        if self.method == "gdas" and self.path_dropout > 0:
            raise UsageError(f"path_dropout={self.path_dropout} applies to darts only, not gdas: a GDAS step runs "
                             "one sampled option per decision, and path dropout always keeps one option: it would change nothing")
        unused = {"gumbel_tau": (self.method != "gdas", "method='gdas'"),
                  "sdarts_epsilon": (self.sdarts is None, "sdarts"),
                  "path_dropout_schedule": (self.path_dropout == 0, "path_dropout > 0")}
        for name, (ignored, needs) in unused.items():
            if ignored and getattr(self, name) != _DEFAULTS[name]:
                raise UsageError(f"{name}={getattr(self, name)!r} applies only with {needs}; it would be ignored")

    def tricks(self) -> list[str]:
        """One line per switch that is on (the run's record of tricks)."""
        lines = []
        if self.sampling == "unique":
            lines.append("sampling: unique (uniform over functionally distinct architectures)")
        elif self.sampling == "fair":
            lines.append("sampling: fair (the widest decisions' options equally often, a smaller decision's about "
                         "equally often)")
        elif self.sampling == "strict_fair":
            lines.append("sampling: strict_fair (each step averages the gradients of m paths, m the most options of "
                         "any decision, that cover each option of the widest decisions once and a smaller decision's "
                         "about equally often, into one optimizer step)")
        if self.method == "darts":
            lines.append(f"darts order: {self.order}")
        if self.warmup_epochs:
            lines.append(f"warm-up: {self.warmup_epochs} weight-only epoch{'s' * (self.warmup_epochs != 1)} before "
                         "architecture updates")
        if self.path_dropout:
            lines.append(f"path dropout: p={self.path_dropout} ({self.path_dropout_schedule} schedule)")
        if self.sdarts:
            lines.append(f"sdarts-{self.sdarts}: architecture weights perturbed by <= {self.sdarts_epsilon}")
        if self.early_stop_skips is not None:
            lines.append(f"darts+ early stop: when >= {self.early_stop_skips} decisions pick a skip")
        if self.start_epoch:
            lines.append(f"schedule resumed at epoch {self.start_epoch} of {self.epochs}")
        return lines


_DEFAULTS = {f.name: f.default for f in fields(OneShotConfig)}


@dataclass
class OneShotRecord:
    """What a supernet training did: settings, tricks in force, per-epoch history, wall time. ``config`` is the
    :class:`OneShotConfig` with ``augment`` the augmentation used ("none", "crop" or "crop_flip"; records saved
    before 2026-12-06 hold the config's True/False)."""

    method: str
    config: dict[str, Any]
    supernet: dict[str, Any]
    tricks: list[str]
    history: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0
    stopped_early_at: int | None = None
    stop_reason: str | None = None
    alphas: list[list[float]] | None = None
    allowed: dict[str, list[str]] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def supernet_tricks(supernet: nn.Module) -> list[str]:
    """Lines for the construction-time tricks a supernet records in ``config`` (norm, drop-path)."""
    cfg = getattr(supernet, "config", {})
    lines = []
    norm = cfg.get("norm")
    if norm and (norm.get("kind") != "batch" or not norm.get("affine", True)):
        lines.append(f"norm: {norm['kind']}, affine={'on' if norm['affine'] else 'off'}")
    if cfg.get("drop_path"):
        lines.append(f"drop-path: p={cfg['drop_path']}")
    return lines


def arch_decisions(supernet: nn.Module) -> list[tuple[str, list[str]]]:
    """The decisions ``arch_parameters()`` score: the supernet's own ``arch_decisions()`` where it has them
    (DARTS: one per edge), else the space's categorical decisions."""
    own = getattr(supernet, "arch_decisions", None)
    return own() if callable(own) else decisions(supernet.space)


def check_allowed(supernet: nn.Module, allowed: Any, relaxed: bool) -> None:
    """``UsageError`` unless ``allowed`` is None or maps decisions of ``supernet`` (the relaxed ones,
    :func:`arch_decisions`, for darts/gdas; the space's for spos) to non-empty lists of their options."""
    if allowed is None:
        return
    if not isinstance(allowed, Mapping):
        raise UsageError(f"allowed must be a dict of decision -> options, got {type(allowed).__name__}")
    options = dict(arch_decisions(supernet) if relaxed else decisions(supernet.space))
    unknown = sorted(set(allowed) - set(options))
    if unknown:
        kind = "relaxed decisions (arch_decisions)" if relaxed else "decisions"
        raise UsageError(f"allowed: unknown decision(s) {unknown}; the supernet's {kind} are {list(options)[:8]}"
                         f"{' ...' if len(options) > 8 else ''}")
    for name, keep in allowed.items():
        if isinstance(keep, str) or not isinstance(keep, Sequence) or not keep \
                or any(o not in options[name] for o in keep) or len(set(keep)) != len(keep):
            raise UsageError(f"allowed[{name!r}] must be a non-empty list of options from {options[name]}, each "
                             f"once, got {keep!r}")


def option_masks(supernet: nn.Module, allowed: Mapping[str, Sequence[str]] | None) -> list[torch.Tensor]:
    """Boolean mask per decision: which options may be used."""
    allowed = allowed or {}
    return [torch.tensor([o in allowed.get(name, options) for o in options]) for name, options in arch_decisions(supernet)]


def relaxed_weights(alphas: Sequence[torch.Tensor], masks: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """DARTS: softmax over each decision's allowed options (disallowed options get weight 0)."""
    return [torch.softmax(a.masked_fill(~m, -math.inf), dim=0) for a, m in zip(alphas, masks)]


def gumbel_weights(alphas: Sequence[torch.Tensor], masks: Sequence[torch.Tensor], tau: float,
                   generator: torch.Generator) -> list[torch.Tensor]:
    """GDAS: a hard one-hot sample per decision whose gradient is that of the Gumbel-softmax (straight-through)."""
    out = []
    for a, m in zip(alphas, masks):
        u = torch.rand(a.shape, generator=generator).clamp_(1e-9, 1 - 1e-9)
        soft = torch.softmax(((a - torch.log(-torch.log(u))) / tau).masked_fill(~m, -math.inf), dim=0)
        hard = F.one_hot(soft.argmax(), len(a)).to(soft.dtype)
        out.append(hard - soft.detach() + soft)
    return out


def require_relaxed(supernet: nn.Module, what: str, trained: bool = True) -> None:
    """``UsageError`` unless ``supernet`` is relaxed (has ``arch_parameters()``: not few-shot, not elastic) and,
    with ``trained``, ``train_supernet`` did not train it with SPOS only (its ``arch_trained`` flag)."""
    if not is_differentiable(supernet):
        raise UsageError(f"{what} needs a relaxed supernet with arch_parameters(); {type(supernet).__name__} has "
                         "none (few-shot and elastic supernets are searched by scoring: SubnetScorer)")
    if trained and getattr(supernet, "arch_trained", None) is False:
        raise UsageError(f"{what}: the supernet's architecture weights were never trained (trained with spos "
                         "only); train it with method darts or gdas, or search it by scoring (SubnetScorer)")


def derive_argmax(supernet: nn.Module, allowed: Mapping[str, Sequence[str]] | None = None) -> Architecture:
    """The architecture taking each decision's highest-weighted allowed option (or the supernet's own
    ``derive(allowed)`` rule where it has one: DARTS keeps two inputs per node).

    Refused (``UsageError``) for a supernet without architecture weights (few-shot, elastic) and for one that
    ``train_supernet`` trained with SPOS only. A supernet loaded from a checkpoint saved before that was
    recorded, or whose weights were trained elsewhere, cannot be told apart: its argmax is only meaningful if
    its architecture weights were trained (DARTS/GDAS)."""
    require_relaxed(supernet, "derive_argmax")
    if callable(getattr(supernet, "derive", None)):
        return supernet.derive(allowed)
    masks = option_masks(supernet, allowed)
    params = {}
    for (name, options), a, m in zip(decisions(supernet.space), supernet.arch_parameters(), masks):
        params[name] = options[int(a.detach().masked_fill(~m, -math.inf).argmax())]
    return supernet.space.from_params(params)


def skip_decisions(supernet: nn.Module) -> int:
    """How many decisions of the supernet's space have a skip option: the most :func:`count_skips` can reach."""
    return sum(any(o in SKIP_OPTIONS for o in options) for _, options in decisions(supernet.space))


def count_skips(supernet: nn.Module, allowed: Mapping[str, Sequence[str]] | None = None) -> int:
    """Decisions whose argmax option is a skip (DARTS's collapse symptom)."""
    arch = derive_argmax(supernet, allowed)
    return sum(v in SKIP_OPTIONS for v in supernet.space.to_params(arch).values())


def split_halves(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator
                 ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """DARTS's split of a training set, drawn from ``generator``: (weight half, architecture half). DARTS/GDAS
    training draws it first from ``torch.Generator().manual_seed(config.seed)``."""
    perm = torch.randperm(len(y), generator=generator)
    half = len(y) // 2
    return (x[perm[:half]], y[perm[:half]]), (x[perm[half:]], y[perm[half:]])


def batches_per_epoch(n: int, batch_size: int) -> int:
    """Mini-batches in one pass over ``n`` images: a last batch of one image is merged into the one before
    (BatchNorm cannot normalize a single value per channel, e.g. on a 1x1 feature map)."""
    return max(1, n // batch_size if batch_size > 1 and n % batch_size == 1 else math.ceil(n / batch_size))


class _Batches:
    """Endless shuffled (augmented) mini-batches of one split (never a 1-image batch when the split has more)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, augment: str, generator: torch.Generator):
        self.x, self.y, self.bs, self.augment, self.gen = x, y, batch_size, augment, generator
        self._order, self._pos = torch.randperm(len(y), generator=generator), 0

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._pos >= len(self.y):
            self._order, self._pos = torch.randperm(len(self.y), generator=self.gen), 0
        end = self._pos + self.bs
        if self.bs > 1 and len(self.y) - end == 1:  # the 1-image remainder joins this batch
            end += 1
        idx = self._order[self._pos:end]
        self._pos = end
        return augment_batch(self.x[idx], self.augment, self.gen), self.y[idx]


def train_supernet(supernet: Supernet, data: ImageDataset, config: OneShotConfig | None = None,
                   allowed: Mapping[str, Sequence[str]] | None = None,
                   on_epoch: Callable[[int, dict[str, float]], None] | None = None) -> OneShotRecord:
    """Train ``supernet`` on ``data``'s training split with ``config``; ``allowed`` restricts decisions to
    some options (a few-shot sub-supernet, a pruned space; checked before training). Returns the run's record."""
    cfg = OneShotConfig() if config is None else config
    if not isinstance(cfg, OneShotConfig):
        raise UsageError(f"config must be a OneShotConfig (e.g. OneShotConfig(epochs=1)), got {type(cfg).__name__}")
    relaxed = cfg.method != "spos"
    if relaxed and not is_differentiable(supernet):
        raise UsageError(f"{cfg.method} needs a supernet with arch_parameters(); {type(supernet).__name__} has none")
    check_supernet(supernet, "train_supernet")
    check_data(supernet, data, "train_supernet", training=True)
    check_allowed(supernet, allowed, relaxed)
    if cfg.early_stop_skips is not None and cfg.early_stop_skips > (most := skip_decisions(supernet)):
        raise UsageError(f"early_stop_skips={cfg.early_stop_skips} could never stop training: the space "
                         f"{supernet.space.name!r} has {most} decision(s) with a skip option; give at most {most}")
    if len(data.y_train) < (2 if relaxed else 1):
        raise UsageError(f"train_supernet: data {data.name!r} has {len(data.y_train)} training image(s), too few "
                         f"for {cfg.method}")
    supernet.arch_trained = relaxed or getattr(supernet, "arch_trained", False)
    with torch.random.fork_rng(devices=[]):  # the caller's global RNG is left as it was
        torch.manual_seed(cfg.seed)  # drop-path draws from the global generator
        return _train(supernet, data, cfg, allowed, on_epoch)


def _train(supernet: Supernet, data: ImageDataset, cfg: OneShotConfig, allowed: Mapping[str, Sequence[str]] | None,
           on_epoch: Callable[[int, dict[str, float]], None] | None) -> OneShotRecord:
    """:func:`train_supernet`'s loop, once its arguments are checked and the global RNG is seeded."""
    relaxed = cfg.method != "spos"
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    alphas = list(supernet.arch_parameters()) if relaxed else []
    alpha_ids = {id(a) for a in alphas}
    weights = [p for p in supernet.parameters() if id(p) not in alpha_ids and p.requires_grad]
    augment = data.augment if cfg.augment else "none"
    x, y = data.x_train, data.y_train
    if relaxed:  # DARTS's split: weights on one half, architecture on the other
        (x, y), (x_arch, y_arch) = split_halves(x, y, gen)
        arch_batches = _Batches(x_arch, y_arch, cfg.batch_size, "none", gen)
    batches = _Batches(x, y, cfg.batch_size, augment, gen)
    steps = batches_per_epoch(len(y), cfg.batch_size)
    total = cfg.epochs * steps
    decay = [p for p in weights if p.ndim > 1]
    no_decay = [p for p in weights if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                          lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0)
    offset = cfg.start_epoch * steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * (s + offset) / total)))
    arch_opt = torch.optim.Adam(alphas, lr=cfg.arch_lr, betas=(0.5, 0.999), weight_decay=cfg.arch_weight_decay) \
        if relaxed else None
    masks = option_masks(supernet, allowed) if relaxed else []
    sampler = ArchSampler(supernet.space, rng, cfg.sampling, allowed) if not relaxed else None
    record = OneShotRecord(cfg.method, {**asdict(cfg), "augment": augment}, dict(getattr(supernet, "config", {})),
                           cfg.tricks() + supernet_tricks(supernet) + ([f"restricted to {dict(allowed)}"] if allowed else []),
                           allowed={k: list(v) for k, v in allowed.items()} if allowed else None)
    start = time.perf_counter()
    supernet.train()

    def loss_of(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        try:
            return F.cross_entropy(supernet(xb), yb)
        except ValueError as exc:  # a 1-image batch (batch_size=1, or a 1-image split) through a 1x1 BatchNorm
            if len(yb) > 1 or "value per channel" not in str(exc):
                raise
            raise UsageError(f"batch_size={cfg.batch_size}: a training batch of 1 image cannot pass the supernet's "
                             f"BatchNorm on a 1x1 feature map ({exc}); use batch_size >= 2 and at least "
                             f"{4 if relaxed else 2} training images") from None

    for epoch in range(cfg.start_epoch, cfg.epochs):
        loss_sum, seen = 0.0, 0
        tau = cfg.gumbel_tau[0] + (cfg.gumbel_tau[1] - cfg.gumbel_tau[0]) * epoch / max(1, cfg.epochs - 1)
        p_drop = cfg.path_dropout * ((epoch + 1) / cfg.epochs if cfg.path_dropout_schedule == "linear" else 1.0)
        arch_updates = relaxed and epoch >= cfg.warmup_epochs
        for _ in range(steps):
            xb, yb = next(batches)
            if arch_updates:
                xa, ya = next(arch_batches)
                arch_opt.zero_grad(set_to_none=True)
                if cfg.order == 2:
                    _unrolled_grads(supernet, alphas, weights, masks, (xb, yb), (xa, ya), opt.param_groups[0]["lr"])
                else:
                    mix = relaxed_weights(alphas, masks) if cfg.method == "darts" else gumbel_weights(alphas, masks, tau, gen)
                    supernet.activate_weights(mix)
                    loss_of(xa, ya).backward(inputs=alphas)
                arch_opt.step()
            opt.zero_grad(set_to_none=True)
            if relaxed:
                base = [a.detach() for a in alphas]
                if cfg.sdarts:
                    base = _perturb(supernet, base, masks, cfg, (xb, yb), gen)
                mix = relaxed_weights(base, masks) if cfg.method == "darts" else gumbel_weights(base, masks, tau, gen)
                if p_drop > 0:
                    mix = _drop_paths(mix, p_drop, gen)
                supernet.activate_weights(mix)
                loss = loss_of(xb, yb)
                loss.backward(inputs=weights)
            elif cfg.sampling == "strict_fair":
                group = sampler.group()
                loss = torch.zeros(())
                for arch in group:
                    supernet.activate(arch)
                    part = loss_of(xb, yb) / len(group)
                    part.backward(inputs=weights)
                    loss = loss + part.detach()
            else:
                supernet.activate(sampler.sample())
                loss = loss_of(xb, yb)
                loss.backward(inputs=weights)
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(weights, cfg.grad_clip, foreach=True)
            opt.step()
            sched.step()
            loss_sum += float(loss.detach()) * len(yb)
            seen += len(yb)
        if not math.isfinite(loss_sum):
            raise FloatingPointError(f"supernet training diverged at epoch {epoch + 1} of {cfg.epochs}")
        entry: dict[str, float] = {"epoch": epoch, "train_loss": loss_sum / seen}
        if relaxed:
            entry["skips"] = count_skips(supernet, allowed)
            entry["path_dropout"] = p_drop
        record.history.append(entry)
        if on_epoch is not None:
            on_epoch(epoch, entry)
        last = epoch + 1 == cfg.epochs  # met at the last epoch: every epoch ran, nothing stopped early
        if arch_updates and cfg.early_stop_skips is not None and entry["skips"] >= cfg.early_stop_skips and not last:
            record.stopped_early_at = epoch
            picks = "1 decision picks" if entry["skips"] == 1 else f"{entry['skips']} decisions pick"
            record.stop_reason = f"{picks} a skip (early_stop_skips={cfg.early_stop_skips})"
            break
    record.train_seconds = time.perf_counter() - start
    if relaxed:
        record.alphas = [a.detach().tolist() for a in alphas]
    return record


def _drop_paths(mix: list[torch.Tensor], p: float, gen: torch.Generator) -> list[torch.Tensor]:
    """Zero each option with probability ``p``, keeping at least one non-zero option per decision."""
    out = []
    for w in mix:
        keep = (torch.rand(w.shape, generator=gen) >= p) & (w != 0)
        if not bool(keep.any()):
            live = torch.nonzero(w != 0).flatten()
            keep[live[int(torch.randint(len(live), (1,), generator=gen))]] = True
        out.append(w * keep)
    return out


def _perturb(supernet: nn.Module, base: list[torch.Tensor], masks: list[torch.Tensor], cfg: OneShotConfig,
             batch: tuple[torch.Tensor, torch.Tensor], gen: torch.Generator, steps: int = 3) -> list[torch.Tensor]:
    """SDARTS: architecture logits moved within an L-inf ball of ``sdarts_epsilon`` (random, or PGD ascent
    on the training loss)."""
    eps = cfg.sdarts_epsilon
    delta = [(torch.rand(a.shape, generator=gen) * 2 - 1) * eps for a in base]
    if cfg.sdarts == "adversarial":
        for _ in range(steps):
            d = [t.clone().requires_grad_(True) for t in delta]
            supernet.activate_weights(relaxed_weights([a + t for a, t in zip(base, d)], masks))
            grads = torch.autograd.grad(F.cross_entropy(supernet(batch[0]), batch[1]), d)
            delta = [(t + (2 * eps / steps) * g.sign()).clamp(-eps, eps) for t, g in zip(delta, grads)]
    return [a + t for a, t in zip(base, delta)]


def _unrolled_grads(supernet: nn.Module, alphas: list[torch.Tensor], weights: list[torch.Tensor],
                    masks: list[torch.Tensor], train: tuple[torch.Tensor, torch.Tensor],
                    val: tuple[torch.Tensor, torch.Tensor], xi: float) -> None:
    """DARTS second order: gradient of the validation loss at w' = w - xi * dL_train/dw with respect to the
    architecture, with the Hessian-vector product by finite differences; stored in ``alphas``' ``.grad``."""
    def grads(batch, wrt):
        supernet.activate_weights(relaxed_weights(alphas, masks))
        g = torch.autograd.grad(F.cross_entropy(supernet(batch[0]), batch[1]), wrt, allow_unused=True)
        return [torch.zeros_like(t) if gi is None else gi for gi, t in zip(g, wrt)]

    backup = [w.detach().clone() for w in weights]
    g_train = grads(train, weights)
    with torch.no_grad():
        for w, g in zip(weights, g_train):
            w.sub_(xi * g)
    g_val = grads(val, alphas + weights)
    d_alpha, d_w = g_val[:len(alphas)], g_val[len(alphas):]
    eps = 0.01 / (torch.sqrt(sum((g * g).sum() for g in d_w)) + 1e-12)
    with torch.no_grad():
        for w, b, d in zip(weights, backup, d_w):
            w.copy_(b + eps * d)
    g_plus = grads(train, alphas)
    with torch.no_grad():
        for w, b, d in zip(weights, backup, d_w):
            w.copy_(b - eps * d)
    g_minus = grads(train, alphas)
    with torch.no_grad():
        for w, b in zip(weights, backup):
            w.copy_(b)
    for a, da, gp, gm in zip(alphas, d_alpha, g_plus, g_minus):
        a.grad = da - xi * (gp - gm) / (2 * eps)
