"""nasforge: Neural Architecture Search in one package.

Heavy dependencies (torch, SQLAlchemy, XGBoost, Optuna, matplotlib) are imported lazily where used.
"""

from .evaluators import Evaluator, Result, TableEvaluator
from .experiment import Study, Trial, TrialState
from .spaces import Architecture, SearchSpace, get_space
from .strategies import Strategy, get_strategy

__version__ = "0.1.0"

__all__ = ["Architecture", "Evaluator", "Result", "SearchSpace", "Strategy", "Study", "TableEvaluator", "Trial",
           "TrialState", "__version__", "get_space", "get_strategy"]
