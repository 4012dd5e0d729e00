"""PyTorch networks built from architectures, assembled from the shared blocks in ``layers``.

``create_model(space_name, arch, num_classes=..., in_channels=..., C=..., N=...)`` builds the network
of any registered space: nb201, darts, nb101, chain and proxylessnas.
"""

from .chain import ChainNetwork, make_block, proxylessnas_network
from .darts import DartsCell, DartsNetwork
from .layers import OPS, make_op
from .nb101 import NB101Cell, NB101Network, vertex_channels
from .nb201 import NB201Cell, NB201Network
from .registry import available_models, create_model, register_model

register_model("nb201", NB201Network)
register_model("darts", DartsNetwork)
register_model("nb101", NB101Network)
register_model("chain", ChainNetwork)
register_model("proxylessnas", proxylessnas_network)

__all__ = ["ChainNetwork", "DartsCell", "DartsNetwork", "NB101Cell", "NB101Network", "NB201Cell", "NB201Network",
           "OPS", "available_models", "create_model", "make_block", "make_op", "proxylessnas_network",
           "register_model", "vertex_channels"]
