"""Training networks on in-memory data, and measuring their cost."""

from .cost import count_flops, count_params, measure_latency
from .trainer import OPTIMIZERS, SCHEDULES, TrainConfig, Trainer, TrainResult

__all__ = ["OPTIMIZERS", "SCHEDULES", "TrainConfig", "TrainResult", "Trainer", "count_flops", "count_params",
           "measure_latency"]
