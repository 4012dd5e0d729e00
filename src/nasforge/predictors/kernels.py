"""Distance- and kernel-based predictors on standardized encodings: SVR, Gaussian process, kNN."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import UnsafeFileError, UsageError
from ..spaces import SearchSpace
from .base import PREDICTOR_FILE, Predictor, check_counts, check_positive


class SVRPredictor(Predictor):
    """Support-vector regression with an RBF kernel (scikit-learn)."""

    name = "svr"
    scale_inputs = True

    def __init__(self, space: SearchSpace, encoding: str | None = None, seed: int = 0, c: float = 3.0,
                 epsilon: float = 0.05) -> None:
        super().__init__(space, encoding, seed)
        check_positive("c", c)
        check_positive("epsilon", epsilon, allow_zero=True)
        self.c, self.epsilon = c, epsilon
        self._model = None

    def _fit(self, x: np.ndarray, z: np.ndarray) -> None:
        from sklearn.svm import SVR

        self._model = SVR(C=self.c, epsilon=self.epsilon, gamma="scale").fit(x, z)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return self._model.predict(x)


class GPPredictor(Predictor):
    """Gaussian process with a Matern-5/2 kernel plus white noise (scikit-learn).

    The kernel's hyper-parameters are fitted by marginal likelihood on at most ``max_opt_points``
    training points (exact GP fitting is cubic), then the GP is conditioned on all of them.
    """

    name = "gp"
    has_uncertainty = True
    scale_inputs = True

    def __init__(self, space: SearchSpace, encoding: str | None = None, seed: int = 0,
                 max_opt_points: int = 1000) -> None:
        super().__init__(space, encoding, seed)
        check_counts({"max_opt_points": max_opt_points})
        self.max_opt_points = max_opt_points
        self._model = None

    def _fit(self, x: np.ndarray, z: np.ndarray) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        kernel = ConstantKernel(1.0) * Matern(length_scale=float(np.sqrt(x.shape[1])), nu=2.5) + WhiteKernel(0.05)
        rng = np.random.default_rng(self.seed)
        subset = rng.choice(len(z), size=min(len(z), self.max_opt_points), replace=False)
        with warnings.catch_warnings():  # a noise level at its lower bound just means near-noiseless targets
            warnings.simplefilter("ignore", ConvergenceWarning)
            tuned = GaussianProcessRegressor(kernel, random_state=self.sklearn_seed).fit(x[subset], z[subset])
        self._model = GaussianProcessRegressor(tuned.kernel_, optimizer=None).fit(x, z)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return self._model.predict(x)

    def _predict_std(self, x: np.ndarray) -> np.ndarray:
        return self._model.predict(x, return_std=True)[1]


FLOAT32_DISTANCES = "float32"
ROUNDED_DISTANCES = "float64-rounded"
DISTANCE_RULES = (ROUNDED_DISTANCES, FLOAT32_DISTANCES)


class KNNPredictor(Predictor):
    """k-nearest-neighbours baseline: distance-weighted mean of the ``k`` closest encodings.

    Saved as the (scaled) training encodings and targets in safetensors, with the distance rule it predicts by
    (``state["distance"]``): a fit takes ``"float64-rounded"`` (predictions independent of the batch); one saved
    before 2026-12-05 19:58 keeps the ``"float32"`` distances it predicted with then.
    """

    name = "knn"
    scale_inputs = True

    def __init__(self, space: SearchSpace, encoding: str | None = None, seed: int = 0, k: int = 10) -> None:
        super().__init__(space, encoding, seed)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise UsageError(f"k must be a positive integer, got {k!r}")
        self.k = k
        self._x: np.ndarray | None = None
        self._z: np.ndarray | None = None
        self._train: np.ndarray | None = None  # _x in float64, with its squared row norms: computed once
        self._norms: np.ndarray | None = None

    def _fit(self, x: np.ndarray, z: np.ndarray) -> None:
        self._state["distance"] = ROUNDED_DISTANCES
        self._keep(np.asarray(x, dtype=np.float32), np.asarray(z, dtype=np.float32))

    def _keep(self, x: np.ndarray, z: np.ndarray) -> None:
        """Keep the training encodings ``x`` and targets ``z`` (float32, as saved) and what every query needs of
        them: ``x`` in float64 and its squared row norms."""
        self._x, self._z = x, z
        self._train = x.astype(np.float64)
        self._norms = (self._train ** 2).sum(1)[None, :]

    def _predict(self, x: np.ndarray) -> np.ndarray:
        """Distance-weighted mean of each row's ``k`` nearest training rows, by the distance rule of the fit."""
        k = min(self.k, len(self._z))
        distances = self._rounded_distances if self._state["distance"] == ROUNDED_DISTANCES else self._float32_distances
        out = np.empty(len(x))
        for start in range(0, len(x), 1024):  # bounded memory for the distance matrix
            dist, order = distances(np.asarray(x[start:start + 1024], dtype=np.float32))
            nearest = np.argpartition(order, k - 1, axis=1)[:, :k]
            weights = 1.0 / (np.take_along_axis(dist, nearest, axis=1) + 1e-6)
            out[start:start + len(dist)] = (weights * self._z[nearest]).sum(1) / weights.sum(1)
        return out

    def _rounded_distances(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The distances of ``block`` to the training rows and the order to pick the nearest by: each row's are the
        same whatever else is predicted with it (float64 rounded to 1e-6: equal distances stay equal across batch
        shapes), ties at the k-th broken by the lower training row."""
        train = self._train
        block = block.astype(np.float64)
        d2 = (block ** 2).sum(1)[:, None] + self._norms - 2.0 * block @ train.T
        dist = np.round(np.sqrt(np.maximum(d2, 0.0)), 6)
        return dist, dist + np.arange(len(train)) * (0.5e-6 / len(train))  # below the rounding step: ties only

    def _float32_distances(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The distances of a model saved before 2026-12-05 19:58, computed as then (float32, ordered as they are):
        its predictions are the ones it gave then, which depend a little on the rest of the batch."""
        d2 = (block ** 2).sum(1)[:, None] + (self._x ** 2).sum(1)[None, :] - 2.0 * block @ self._x.T
        dist = np.sqrt(np.maximum(d2, 0.0))
        return dist, dist

    def _save_model(self, folder: Path) -> list[str]:
        from safetensors.numpy import save

        # with the umask's mode, as the other files (save_file's is always 0600)
        (folder / "knn.safetensors").write_bytes(save({"x": self._x, "z": self._z}))
        return ["knn.safetensors"]

    def _load_model(self, folder: Path) -> None:
        from safetensors.numpy import load_file

        tensors = load_file(str(folder / "knn.safetensors"))
        x, z = tensors.get("x"), tensors.get("z")
        if x is None or z is None or x.ndim != 2 or z.shape != (len(x),) or x.shape[1] != len(self._state["x_mean"]):
            raise UnsafeFileError(f"{folder / 'knn.safetensors'} does not hold the training encodings and targets of "
                                  "this model (tensor 'x' of one row per target in 'z', as wide as the encoding)")
        if self._state.get("distance") not in DISTANCE_RULES:
            raise UnsafeFileError(f"{folder / PREDICTOR_FILE}: field 'state.distance' must be one of "
                                  f"{', '.join(map(repr, DISTANCE_RULES))}, got {self._state.get('distance')!r}")
        self._keep(x, z)

    def _saved_state(self, record: dict[str, Any]) -> dict[str, Any]:
        """The state of ``record``, with the distance rule of a record saved before it was recorded: ``sha256``
        (model checksums, 2026-12-05 19:20) tells one saved since 2026-12-05 19:58 (float64 rounded, without the
        38 minutes between) from one saved before (float32)."""
        state = record["state"]
        if "distance" in state:
            return state
        return {**state, "distance": ROUNDED_DISTANCES if "sha256" in record else FLOAT32_DISTANCES}
