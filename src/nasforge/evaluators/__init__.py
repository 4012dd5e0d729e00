"""Evaluators turn an Architecture into metrics."""

from .base import Evaluator, Result
from .surrogate import SurrogateEvaluator
from .table import TableEvaluator

__all__ = ["Evaluator", "Result", "SupernetEvaluator", "SurrogateEvaluator", "TableEvaluator", "TrainingEvaluator"]


def __getattr__(name: str):
    if name == "TrainingEvaluator":  # lazily, so importing nasforge does not import torch
        from .training import TrainingEvaluator

        return TrainingEvaluator
    if name == "SupernetEvaluator":
        from .supernet import SupernetEvaluator

        return SupernetEvaluator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
