"""Evaluators turn an Architecture into metrics."""

from .base import Evaluator, Result
from .table import TableEvaluator

__all__ = ["Evaluator", "Result", "TableEvaluator"]
