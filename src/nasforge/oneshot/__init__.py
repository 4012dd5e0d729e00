"""One-shot NAS: weight-sharing supernets, their trainers (SPOS, DARTS, GDAS), tricks, few-shot splitting.

Importing this package does not import torch; the modules that need it import it themselves.
"""

from .base import DifferentiableSupernet, Supernet, decisions, is_differentiable

__all__ = ["DifferentiableSupernet", "Supernet", "decisions", "is_differentiable"]
