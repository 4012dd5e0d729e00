"""PyTorch networks built from architectures, assembled from the shared blocks in ``layers``.

``create_model(space_name, arch, num_classes=..., in_channels=..., C=..., N=...)`` builds the network
of any registered space (nb201, darts, nb101, chain and proxylessnas) as a plain ``nn.Module``;
``model_for_space(space)`` names the model of a space (``chain`` for any chain space). A saved
network (``nasforge.export``) records the model name, its keyword arguments and the architecture,
so ``create_model`` rebuilds it anywhere; see docs/export.md.
"""

from ..extras import require

# without the torch extra: one line naming it (a MissingDependencyError), not a bare ModuleNotFoundError
require("torch", "nasforge.models")

from .chain import ChainNetwork, make_block, proxylessnas_network
from .darts import DartsCell, DartsNetwork
from .layers import OPS, make_op
from .nb101 import NB101Cell, NB101Network, vertex_channels
from .nb201 import NB201Cell, NB201Network
from ..spaces.model_space.space import create_network
from .registry import MODELS, available_models, create_model, model_for_space, register_model

MODELS.register("nb201", NB201Network, builtin=True)
MODELS.register("darts", DartsNetwork, builtin=True)
MODELS.register("nb101", NB101Network, builtin=True)
MODELS.register("chain", ChainNetwork, builtin=True, any_space=True)
MODELS.register("proxylessnas", proxylessnas_network, builtin=True)
# a user's module with choices: model_kwargs={"space": config}
MODELS.register("model_space", create_network, builtin=True)

__all__ = ["ChainNetwork", "DartsCell", "DartsNetwork", "NB101Cell", "NB101Network", "NB201Cell", "NB201Network",
           "MODELS", "OPS", "available_models", "create_model", "model_for_space", "make_block", "make_op",
           "proxylessnas_network", "register_model", "vertex_channels"]
