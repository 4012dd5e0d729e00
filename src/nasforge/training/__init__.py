"""Training networks on in-memory data, and measuring their cost."""

from ..extras import require

# without the torch extra: one line naming it (a MissingDependencyError), not a bare ModuleNotFoundError
require("torch", "nasforge.training")

from .cost import count_flops, count_params, measure_latency
from .trainer import BN_MODES, OPTIMIZERS, SCHEDULES, TrainConfig, Trainer, TrainResult, recalibrate_batchnorm

__all__ = ["BN_MODES", "OPTIMIZERS", "SCHEDULES", "TrainConfig", "TrainResult", "Trainer", "count_flops",
           "count_params", "measure_latency", "recalibrate_batchnorm"]
