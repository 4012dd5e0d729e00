"""Model-based strategies from composable parts: a surrogate (mean and std), an acquisition, and an
acquisition optimizer over the discrete space, combined by :class:`ModelBasedStrategy`.

Importing this package loads NumPy only; SciPy, scikit-learn, LightGBM and torch load when a model
is first fitted.
"""

from .acquisitions import ACQUISITIONS, Acquisition, make_acquisition
from .diagnostics import LOOResult, loo_cv
from .optimizers import OPTIMIZERS, AcquisitionOptimizer, SearchContext, make_optimizer, unique_architectures
from .presets import GPBO, PRESETS, Bananas, Npenas, Saasbo, Smac
from .strategy import ModelBasedStrategy
from .surrogates import SURROGATES, Surrogate, make_surrogate

__all__ = ["ACQUISITIONS", "Acquisition", "AcquisitionOptimizer", "Bananas", "GPBO", "LOOResult", "ModelBasedStrategy",
           "Npenas", "OPTIMIZERS", "PRESETS", "SURROGATES", "SearchContext", "Saasbo", "Smac", "Surrogate",
           "loo_cv", "make_acquisition", "make_optimizer", "make_surrogate", "unique_architectures"]
