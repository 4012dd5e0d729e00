"""nasforge: Neural Architecture Search in one package.

Importing it loads no heavy library (scipy, pandas, torch, SQLAlchemy, scikit-learn, matplotlib,
XGBoost, LightGBM, Optuna, Ray): each is imported where it is used (``tests/test_import_light.py``).
Every error nasforge raises on purpose is a :class:`NasforgeError`; bad input is a
:class:`UsageError` (also a ``ValueError``).
"""

from .evaluators import Evaluator, Result, TableEvaluator
from .exceptions import NasforgeError, UsageError
from .experiment import Study, Trial, TrialState
from .spaces import Architecture, SearchSpace, get_space
from .strategies import Strategy, get_strategy

__version__ = "0.1.0"

__all__ = ["Architecture", "Evaluator", "NasforgeError", "Result", "SearchSpace", "Strategy", "Study", "TableEvaluator",
           "Trial", "TrialState", "UsageError", "__version__", "get_space", "get_strategy"]
