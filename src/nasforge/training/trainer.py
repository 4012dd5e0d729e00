"""A small, fast, deterministic CPU trainer for image classifiers held in memory."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from ..checks import check_int, check_real, check_seed
from ..data.augment import augment_batch
from ..data.dataset import ImageDataset
from ..exceptions import UsageError

OPTIMIZERS = ("sgd", "adamw")
MOMENTUM = 0.9
"""SGD's default momentum; another value is refused with AdamW, which does not use it."""
SCHEDULES = ("cosine", "constant")
BN_MODES = ("inherited", "recalibrate")
"""What a network's BatchNorm layers normalize with when it is validated and tested: the running statistics training
leaves ("inherited"), or statistics re-estimated on the training split first ("recalibrate"; the one-shot
scorer's ``bn_mode`` of the same name)."""

EpochHook = Callable[[int, dict[str, float]], None]
"""Called after every epoch with (epochs completed: 1 after the first, {"train_loss", "val_acc", "val_loss"}); may
raise to stop training."""


@dataclass
class TrainConfig:
    """Training recipe. ``lr`` is the peak learning rate of the cosine schedule (per-step decay to 0).
    ``auxiliary_weight`` scales the loss of a model's auxiliary head (a model that sets ``aux_logits``
    in its forward pass while training, like DARTS networks). ``bn_mode`` (:data:`BN_MODES`): "recalibrate"
    re-estimates the BatchNorm running statistics (:func:`recalibrate_batchnorm`, one pass over the training split)
    before each validation, and before the test with ``merge_val``; after an epoch or so of training the running
    averages still lag the weights (docs/training.md measures what that does to a 1-epoch ranking)."""

    epochs: int = 15
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = MOMENTUM
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    grad_clip: float | None = 5.0
    schedule: str = "cosine"
    augment: bool = True
    auxiliary_weight: float = 0.4
    seed: int = 0
    eval_batch_size: int = 1024
    bn_mode: str = "inherited"

    def __post_init__(self) -> None:
        """Check every field (``UsageError`` naming it and its value), before any training starts."""
        if self.optimizer not in OPTIMIZERS:
            raise UsageError(f"unknown optimizer {self.optimizer!r}; choose from {list(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise UsageError(f"unknown schedule {self.schedule!r}; choose from {list(SCHEDULES)}")
        if self.bn_mode not in BN_MODES:
            raise UsageError(f"unknown bn_mode {self.bn_mode!r}; choose from {list(BN_MODES)}")
        for name in ("epochs", "batch_size", "eval_batch_size"):
            check_int(name, getattr(self, name), 1)
        check_seed("seed", self.seed)
        check_real("lr", self.lr, lambda v: v > 0, "a positive number")
        check_real("momentum", self.momentum, lambda v: 0 <= v < 1, "in [0, 1)")
        if self.optimizer != "sgd" and self.momentum != MOMENTUM:
            raise UsageError(f"momentum {self.momentum} applies to the sgd optimizer only ({self.optimizer} sets its "
                             "own); leave it out")
        check_real("weight_decay", self.weight_decay, lambda v: v >= 0, "a non-negative number")
        check_real("label_smoothing", self.label_smoothing, lambda v: 0 <= v < 1, "in [0, 1)")
        check_real("auxiliary_weight", self.auxiliary_weight, lambda v: v >= 0, "a non-negative number")
        if self.grad_clip is not None:
            check_real("grad_clip", self.grad_clip, lambda v: v > 0, "a positive number or None")
        if not isinstance(self.augment, bool):
            raise UsageError(f"augment must be True or False, got {self.augment!r}")


@dataclass
class TrainResult:
    """Final metrics (accuracies in percent; validation metrics are NaN when trained on train + val) and one
    ``history`` record per epoch, whose ``epoch`` counts the epochs completed (1 for the first)."""

    val_acc: float
    val_loss: float
    test_acc: float
    test_loss: float
    train_loss: float
    train_seconds: float
    epochs: int
    history: list[dict[str, float]] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items() if k != "history"}


class Trainer:
    """Trains a model on an :class:`ImageDataset` with ``config``; everything random is drawn from a
    generator seeded with ``config.seed`` (data order, augmentation) or from torch's global RNG seeded with it
    for the run (a model's own draws, such as drop-path), so runs repeat exactly on CPU."""

    def __init__(self, config: TrainConfig | None = None) -> None:
        self.config = config or TrainConfig()

    def make_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        """SGD (Nesterov momentum) or AdamW; weight decay skips biases and normalization parameters."""
        cfg = self.config
        decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
        no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
        groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0)
        return torch.optim.AdamW(groups, lr=cfg.lr)

    def fit(self, model: nn.Module, data: ImageDataset, on_epoch: EpochHook | None = None,
            merge_val: bool = False) -> TrainResult:
        """Train for ``config.epochs`` epochs, validating after each; then measure test accuracy.

        ``merge_val=True`` trains on train + validation (the usual final retraining); validation
        metrics are then NaN and ``on_epoch`` gets only the training loss.
        """
        gpus = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=gpus):  # the caller's global RNG states (CPU, GPUs) are restored after
            torch.manual_seed(self.config.seed)  # so a model's own draws (drop-path) repeat too
            return self._fit(model, data, on_epoch, merge_val)

    def _fit(self, model: nn.Module, data: ImageDataset, on_epoch: EpochHook | None, merge_val: bool) -> TrainResult:
        """:meth:`fit`'s training loop."""
        cfg = self.config
        x_train, y_train = data.x_train, data.y_train
        if merge_val:
            x_train, y_train = torch.cat([x_train, data.x_val]), torch.cat([y_train, data.y_val])
        n = len(y_train)
        batches = _batch_starts(n, cfg.batch_size)
        optimizer = self.make_optimizer(model)
        total = cfg.epochs * (len(batches) - 1)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, (lambda step: 0.5 * (1.0 + math.cos(math.pi * step / total))) if cfg.schedule == "cosine"
            else (lambda step: 1.0))
        generator = torch.Generator().manual_seed(cfg.seed)  # data order and augmentation
        augment = data.augment if cfg.augment else "none"
        history: list[dict[str, float]] = []
        start = time.perf_counter()
        val_acc = val_loss = float("nan")
        for epoch in range(1, cfg.epochs + 1):  # epochs completed once this one is done
            model.train()
            order = torch.randperm(n, generator=generator)
            loss_sum = torch.zeros(())
            for first, stop in zip(batches, batches[1:]):
                idx = order[first:stop]
                xb = augment_batch(x_train[idx], augment, generator)
                yb = y_train[idx]
                loss = F.cross_entropy(_forward(model, xb), yb, label_smoothing=cfg.label_smoothing)
                aux = getattr(model, "aux_logits", None)
                if aux is not None:
                    loss = loss + cfg.auxiliary_weight * F.cross_entropy(aux, yb, label_smoothing=cfg.label_smoothing)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip, foreach=True)
                optimizer.step()
                scheduler.step()
                loss_sum += loss.detach() * len(idx)
            train_loss = float(loss_sum) / n
            if not math.isfinite(train_loss):
                raise FloatingPointError(f"training diverged at epoch {epoch} (loss {train_loss})")
            if cfg.bn_mode == "recalibrate" and (not merge_val or epoch == cfg.epochs):  # before it is evaluated
                recalibrate_batchnorm(model, (x_train[i:j].clone() for i, j in zip(batches, batches[1:])))
            if not merge_val:
                val_acc, val_loss = self.evaluate(model, data.x_val, data.y_val)
            record = {"epoch": epoch, "train_loss": train_loss, "val_acc": val_acc, "val_loss": val_loss}
            history.append(record)
            if on_epoch is not None:
                on_epoch(epoch, record)
        train_seconds = time.perf_counter() - start
        test_acc, test_loss = self.evaluate(model, data.x_test, data.y_test)
        return TrainResult(val_acc, val_loss, test_acc, test_loss, history[-1]["train_loss"], train_seconds,
                           cfg.epochs, history)

    @torch.inference_mode()
    def evaluate(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """(accuracy in percent, mean cross-entropy) in eval mode; NaN for an empty split. The model gets copies of
        ``x``'s batches: one whose first op edits its input in place (``nn.ReLU(inplace=True)``) leaves ``x`` (the
        data set, shared by every later evaluation in the process) as it was."""
        if len(y) == 0:
            return float("nan"), float("nan")
        model.eval()
        correct, loss = 0, 0.0
        for i in range(0, len(y), self.config.eval_batch_size):
            logits = model(x[i:i + self.config.eval_batch_size].clone())  # a copy: a model may edit its input in place
            target = y[i:i + self.config.eval_batch_size]
            correct += int((logits.argmax(1) == target).sum())
            loss += float(F.cross_entropy(logits, target, reduction="sum"))
        return 100.0 * correct / len(y), loss / len(y)


def batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers of ``module`` (of any dimension, subclasses included)."""
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor], module: nn.Module | None = None) -> None:
    """Re-estimate the running statistics of the BatchNorm layers of ``module`` (None: ``model``): reset, then their
    cumulative average (``momentum=None``) over ``batches`` passed through ``model`` without gradients, with only
    those layers in training mode (dropout, drop-path and the like stay off, drawing nothing). Every module's mode
    and every layer's momentum are restored afterwards."""
    norms = batch_norms(model if module is None else module)
    modes = [(m, m.training) for m in model.modules()]
    momenta = [m.momentum for m in norms]
    model.eval()
    try:
        for m in norms:
            m.reset_running_stats()
            m.momentum = None
            m.train()
        for xb in batches:
            model(xb)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        for m, training in modes:
            m.training = training


def _batch_starts(n: int, batch_size: int) -> list[int]:
    """Where each training batch of an epoch of ``n`` images starts, then ``n``: batches of ``batch_size``, except
    that a last batch of one image joins the one before (BatchNorm cannot train on one image of a 1x1 map)."""
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return [*starts, n]


def _forward(model: nn.Module, xb: torch.Tensor) -> torch.Tensor:
    """``model(xb)`` in training mode; a ``UsageError`` when a batch of one image cannot train (BatchNorm needs
    two values per channel, which a 1x1 feature map of one image does not have)."""
    try:
        return model(xb)
    except ValueError as exc:
        if len(xb) != 1:
            raise
        raise UsageError(f"cannot train on a batch of one image ({exc}); give at least 2 training images and a "
                         "batch_size of at least 2") from None
