"""Performance predictors: architecture encodings, fit/predict models and ranking metrics.

Every predictor follows scikit-learn's shape: ``get_predictor("lgb", space).fit(archs, y)``, then
``predict(archs)`` (and ``predict_std(archs)`` where the model has uncertainty). Heavy libraries
(torch, xgboost, lightgbm, ngboost) are imported only when a model that needs them is trained.
"""

from .base import NoUncertaintyError, NotFittedError, Predictor
from .encodings import ENCODINGS, EncodingChangedWarning, GraphBatch, encode, graph_tensors
from .graphs import Graph, GraphView, graph_view, register_graph_view, to_graph
from .metrics import METRICS, kendall_tau, mae, precision_at_k, r2, rmse, score_all, sparse_kendall_tau, spearman
from .registry import PREDICTORS, available_predictors, get_predictor, load_predictor, predictor_class

__all__ = ["ENCODINGS", "METRICS", "PREDICTORS", "EncodingChangedWarning", "Graph", "GraphBatch", "GraphView",
           "NoUncertaintyError", "NotFittedError", "Predictor", "available_predictors", "encode", "get_predictor",
           "graph_tensors", "graph_view", "kendall_tau", "load_predictor", "mae", "precision_at_k", "predictor_class",
           "r2", "register_graph_view", "rmse", "score_all", "sparse_kendall_tau", "spearman", "to_graph"]
