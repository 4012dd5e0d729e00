"""Named model-based strategies: fixed combinations of surrogate, acquisition and optimizer."""

from __future__ import annotations

from typing import Any

from ...spaces import SearchSpace
from .strategy import ModelBasedStrategy


class Bananas(ModelBasedStrategy):
    """BANANAS-like predictor-guided BO: a bootstrap ensemble of gradient-boosted trees (LightGBM)
    on the functional ``features`` encoding, independent Thompson sampling, exhaustive scoring on
    small spaces and mutations of the best architectures on large ones."""

    name = "bananas"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 surrogate: Any = None, acquisition: Any = "its", optimizer: Any = "auto", **kwargs: Any) -> None:
        surrogate = surrogate or {"name": "ensemble", "predictor": "lgb", "n_members": 5,
                                  "n_estimators": 100, "learning_rate": 0.1, "num_leaves": 7,
                                  "min_child_samples": 2, "colsample_bytree": 0.5}
        super().__init__(space, seed, dedup, surrogate, acquisition, optimizer, **kwargs)


class Npenas(ModelBasedStrategy):
    """NPENAS-NP-like: candidates are mutations of the best architectures (plus random ones), the
    pick is the one a single gradient-boosted predictor ranks highest (greedy on the mean)."""

    name = "npenas"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 surrogate: Any = None, acquisition: Any = "mean", optimizer: Any = "mutation",
                 **kwargs: Any) -> None:
        surrogate = surrogate or {"name": "predictor", "predictor": "lgb", "n_estimators": 200,
                                  "learning_rate": 0.05, "num_leaves": 7, "min_child_samples": 2}
        super().__init__(space, seed, dedup, surrogate, acquisition, optimizer, **kwargs)


class GPBO(ModelBasedStrategy):
    """GP BO: exact GP with a Hamming kernel on the canonical categorical view, expected improvement,
    exhaustive scoring on small spaces; pending trials are fantasized (kriging believer)."""

    name = "gp_bo"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 surrogate: Any = None, acquisition: Any = "ei", optimizer: Any = "auto", **kwargs: Any) -> None:
        surrogate = surrogate or {"name": "gp", "kernel": "hamming"}
        super().__init__(space, seed, dedup, surrogate, acquisition, optimizer, **kwargs)


class Saasbo(ModelBasedStrategy):
    """SAASBO: a GP with BoTorch's SAAS prior on the one-hot encoding, expected improvement,
    exhaustive scoring on small spaces; refitted every 5 results on at most 100 points. The
    hyper-parameters are fitted by MAP (BoTorch's MAP-SAAS, well under a second); pass
    ``surrogate={"name": "saas", "inference": "nuts"}`` for the fully Bayesian NUTS original."""

    name = "saasbo"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 surrogate: Any = None, acquisition: Any = "ei", optimizer: Any = "auto",
                 refit_every: int = 5, **kwargs: Any) -> None:
        surrogate = surrogate or {"name": "saas"}
        super().__init__(space, seed, dedup, surrogate, acquisition, optimizer, refit_every=refit_every, **kwargs)


class Smac(ModelBasedStrategy):
    """SMAC-like random-forest BO: scikit-learn random forest on the ``features`` encoding, expected
    improvement with the trees' spread as uncertainty, local search on the acquisition (hill climbs
    from the 5 best architectures, 20 random ones scored once)."""

    name = "smac"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 surrogate: Any = None, acquisition: Any = "ei", optimizer: Any = "local", **kwargs: Any) -> None:
        surrogate = surrogate or {"name": "predictor", "predictor": "rf", "n_estimators": 50,
                                  "max_features": 0.5, "min_samples_leaf": 2}
        super().__init__(space, seed, dedup, surrogate, acquisition, optimizer, **kwargs)


PRESETS = (Bananas, Npenas, GPBO, Saasbo, Smac)
