"""PyTorch networks built from architectures, assembled from the shared blocks in ``layers``."""

from .layers import OPS, make_op
from .nb201 import NB201Cell, NB201Network
from .registry import available_models, create_model, register_model

register_model("nb201", NB201Network)

__all__ = ["NB201Cell", "NB201Network", "OPS", "available_models", "create_model", "make_op", "register_model"]
