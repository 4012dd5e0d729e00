"""Training networks on in-memory data, and measuring their cost."""

from ..extras import require

# without the torch extra: one line naming it (a MissingDependencyError), not a bare ModuleNotFoundError
require("torch", "nasforge.training")

from .cost import count_flops, count_params, measure_latency
from .trainer import OPTIMIZERS, SCHEDULES, TrainConfig, Trainer, TrainResult

__all__ = ["OPTIMIZERS", "SCHEDULES", "TrainConfig", "TrainResult", "Trainer", "count_flops", "count_params",
           "measure_latency"]
