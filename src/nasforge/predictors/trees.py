"""Tree ensembles: XGBoost and LightGBM (saved in their native formats) and a random forest.

Defaults were tuned on NAS-Bench-201 (CIFAR-10 validation, 1,000 training architectures): many
small, slow-learning trees on column subsamples of the functional ``features`` encoding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import check_int
from ..spaces import SearchSpace
from .base import Predictor, check_counts, check_fractions, check_positive
from .tree_files import check_lightgbm_text, check_xgboost_json, read_model_text


class XGBPredictor(Predictor):
    """Gradient-boosted trees (XGBoost); the model is saved as XGBoost's native JSON."""

    name = "xgb"
    requires = ("xgboost",)

    def __init__(self, space: SearchSpace, encoding: str | None = None, seed: int = 0, n_estimators: int = 1500,
                 learning_rate: float = 0.02, max_depth: int = 5, subsample: float = 0.7,
                 colsample_bytree: float = 0.5, min_child_weight: float = 2.0, n_jobs: int = 1) -> None:
        super().__init__(space, encoding, seed)
        check_counts({"n_estimators": n_estimators, "max_depth": max_depth, "n_jobs": n_jobs})
        check_fractions({"subsample": subsample, "colsample_bytree": colsample_bytree})
        check_positive("learning_rate", learning_rate)
        check_positive("min_child_weight", min_child_weight, allow_zero=True)
        self.n_estimators, self.learning_rate, self.max_depth = n_estimators, learning_rate, max_depth
        self.subsample, self.colsample_bytree, self.min_child_weight = subsample, colsample_bytree, min_child_weight
        self.n_jobs = n_jobs
        self._model = None

    def _fit(self, x: np.ndarray, z: np.ndarray) -> None:
        import xgboost as xgb

        self._model = xgb.XGBRegressor(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate, max_depth=self.max_depth,
            subsample=self.subsample, colsample_bytree=self.colsample_bytree,
            min_child_weight=self.min_child_weight, random_state=self.boost_seed, n_jobs=self.n_jobs)
        self._model.fit(x, z)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return self._model.predict(x)

    def _save_model(self, folder: Path) -> list[str]:
        # the bytes XGBRegressor.save_model writes, written by Python: a full disk is an OSError (one line), not an
        # XGBoostError from the library's own writer
        booster = self._model.get_booster()
        booster.set_attr(scikit_learn=json.dumps({"_estimator_type": "regressor"}))
        try:
            text = booster.save_raw(raw_format="json")
        finally:
            booster.set_attr(scikit_learn=None)
        (folder / "model.json").write_bytes(bytes(text))
        return ["model.json"]

    def _load_model(self, folder: Path) -> None:
        import xgboost as xgb

        path = folder / "model.json"
        text = read_model_text(path, "XGBoost JSON")
        check_xgboost_json(path, text, self._encoded_width())  # XGBoost trusts the trees it reads: check them first
        self._model = xgb.XGBRegressor(n_jobs=self.n_jobs)
        self._model.load_model(bytearray(text, "utf-8"))  # the text checked, not the file read again


class LGBPredictor(Predictor):
    """Gradient-boosted trees (LightGBM); the model is saved in LightGBM's native text format."""

    name = "lgb"
    requires = ("lightgbm",)

    def __init__(self, space: SearchSpace, encoding: str | None = None, seed: int = 0, n_estimators: int = 1500,
                 learning_rate: float = 0.02, num_leaves: int = 15, min_child_samples: int = 3,
                 subsample: float = 0.7, colsample_bytree: float = 0.5, reg_lambda: float = 1.0,
                 n_jobs: int = 1) -> None:
        super().__init__(space, encoding, seed)
        check_counts({"n_estimators": n_estimators, "min_child_samples": min_child_samples, "n_jobs": n_jobs})
        check_int("num_leaves", num_leaves, 2)  # LightGBM's lower bound
        check_fractions({"subsample": subsample, "colsample_bytree": colsample_bytree})
        check_positive("learning_rate", learning_rate)
        check_positive("reg_lambda", reg_lambda, allow_zero=True)
        self.n_estimators, self.learning_rate, self.num_leaves = n_estimators, learning_rate, num_leaves
        self.min_child_samples, self.subsample, self.colsample_bytree = min_child_samples, subsample, colsample_bytree
        self.reg_lambda, self.n_jobs = reg_lambda, n_jobs
        self._booster = None

    def _fit(self, x: np.ndarray, z: np.ndarray) -> None:
        import lightgbm as lgb

        model = lgb.LGBMRegressor(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate, num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples, subsample=self.subsample, subsample_freq=1,
            colsample_bytree=self.colsample_bytree, reg_lambda=self.reg_lambda, random_state=self.boost_seed,
            n_jobs=self.n_jobs, verbose=-1)
        model.fit(x, z)
        self._booster = model.booster_

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return self._booster.predict(x, num_threads=self.n_jobs)

    def _save_model(self, folder: Path) -> list[str]:
        # the text Booster.save_model writes, written by Python: a full disk is an OSError, not a LightGBMError
        (folder / "model.txt").write_bytes(self._booster.model_to_string().encode("utf-8"))
        return ["model.txt"]

    def _load_model(self, folder: Path) -> None:
        import lightgbm as lgb

        path = folder / "model.txt"
        text = read_model_text(path, "LightGBM text")
        check_lightgbm_text(path, text, self._encoded_width())  # LightGBM aborts on a tree it cannot parse
        self._booster = lgb.Booster(model_str=text)


class RandomForestPredictor(Predictor):
    """scikit-learn random forest; ``predict_std`` is the spread of the trees' predictions.

    ``max_features`` is the fraction of the encoded columns each split considers."""

    name = "rf"
    has_uncertainty = True

    def __init__(self, space: SearchSpace, encoding: str | None = None, seed: int = 0, n_estimators: int = 300,
                 max_features: float = 0.3, min_samples_leaf: int = 1, n_jobs: int = 1) -> None:
        super().__init__(space, encoding, seed)
        check_counts({"n_estimators": n_estimators, "min_samples_leaf": min_samples_leaf, "n_jobs": n_jobs})
        check_fractions({"max_features": max_features})
        self.n_estimators, self.max_features = n_estimators, max_features
        self.min_samples_leaf, self.n_jobs = min_samples_leaf, n_jobs
        self._model = None

    def _fit(self, x: np.ndarray, z: np.ndarray) -> None:
        from sklearn.ensemble import RandomForestRegressor

        self._model = RandomForestRegressor(
            n_estimators=self.n_estimators, max_features=float(self.max_features),  # a fraction: 1 means all columns
            min_samples_leaf=self.min_samples_leaf, random_state=self.sklearn_seed, n_jobs=self.n_jobs).fit(x, z)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return self._model.predict(x)

    def _predict_std(self, x: np.ndarray) -> np.ndarray:
        return np.std([tree.predict(x) for tree in self._model.estimators_], axis=0)


class NGBoostPredictor(Predictor):
    """Natural-gradient boosting of a Normal distribution (``ngboost``): mean and std per architecture."""

    name = "ngb"
    has_uncertainty = True
    requires = ("ngboost",)

    def __init__(self, space: SearchSpace, encoding: str | None = None, seed: int = 0, n_estimators: int = 500,
                 learning_rate: float = 0.05, max_depth: int = 4, minibatch_frac: float = 0.8) -> None:
        super().__init__(space, encoding, seed)
        check_counts({"n_estimators": n_estimators, "max_depth": max_depth})
        check_fractions({"minibatch_frac": minibatch_frac})
        check_positive("learning_rate", learning_rate)
        self.n_estimators, self.learning_rate = n_estimators, learning_rate
        self.max_depth, self.minibatch_frac = max_depth, minibatch_frac
        self._model: Any = None  # an NGBRegressor, or the target itself when it is constant

    def _fit(self, x: np.ndarray, z: np.ndarray) -> None:
        if np.ptp(z) == 0:  # NGBoost's Normal would start from a zero scale (log 0 -> NaN): nothing to learn
            self._model = float(z[0])
            return
        from ngboost import NGBRegressor
        from sklearn.tree import DecisionTreeRegressor

        base = DecisionTreeRegressor(criterion="squared_error", max_depth=self.max_depth,
                                     random_state=self.sklearn_seed)
        self._model = NGBRegressor(Base=base, n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                   minibatch_frac=self.minibatch_frac, random_state=self.sklearn_seed, verbose=False)
        self._model.fit(x, z)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        if isinstance(self._model, float):
            return np.full(len(x), self._model)
        return self._model.predict(x)

    def _predict_std(self, x: np.ndarray) -> np.ndarray:
        if isinstance(self._model, float):
            return np.zeros(len(x))
        return self._model.pred_dist(x).scale
