"""qNEHVI: BoTorch's noisy expected hypervolume improvement (log form) over a discrete candidate set.

The unknown objectives share one BoTorch ``SingleTaskGP`` (a batched, independent GP per objective;
dimension-scaled RBF prior) on the one-hot of the canonical categorical view. Objectives known
without training (``surrogates=[None, {"name": "known", "cost": "params", "sign": -1}]``, the same
spec ``ts_hvi`` takes; see :mod:`.model_based.costs`) are not
modelled: their exact values ride along as extra input columns that the kernel ignores, and the
acquisition's multi-output objective reads them back, so the hypervolume improvement of a candidate
uses its true cost. Candidates come from any acquisition optimizer of :mod:`.model_based` (default
``mutation``: 1-2 edit mutations of the current front and random architectures); running trials
enter as ``X_pending``. BoTorch and torch are imported at the first model-based ask; a missing BoTorch or torch
is refused when the strategy is built (``pip install 'nasforge[bo,torch]'``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..checks import SEED_LIMIT, check_int
from ..exceptions import UsageError
from ..extras import check_installed
from ..pareto import hypervolume, non_dominated_mask, rank_and_crowding
from ..spaces import Architecture, SearchSpace
from .base import PendingAware, Score
from .constraints import KnownScreen
from .model_based import SearchContext, make_optimizer
from .model_based.surrogates import categorical_onehot, make_surrogate
from .multi_objective import MultiObjectiveStrategy, checked_reference


class QNEHVI(PendingAware, MultiObjectiveStrategy):
    """qLogNEHVI (Daulton et al. 2021; Ament et al. 2023) with exact known objectives.

    ``surrogates``: one entry per objective, ``None`` or ``"gp"`` (modelled by the GP) or a ``known``
    surrogate spec ``{"name": "known", "cost": ..., "sign": -1}`` (a cost of
    :data:`~.model_based.costs.COSTS`; sign -1 for a minimized cost: scores are higher-is-better).
    The GP hyper-parameters are fitted on at most ``max_train`` results (the best non-dominated
    layers first) every ``refit_every`` results and conditioned on every result at each ask; the
    baseline of the noisy improvement is the observed non-dominated layers, at most ``max_baseline``
    points; ``mc_samples`` quasi-random samples. The reference point is
    ``reference`` or 10 % of the span below the worst value (observed, and for known objectives also
    over 256 random architectures). With constraints, infeasible results are trained on but left out
    of the baseline; constraints on the ``metric`` of a known surrogate are checked before proposing.
    """

    name = "qnehvi"
    objective_counts = (2, None)
    transient = ("_optimizer", "_costs", "_hyper", "_scaling", "_screen")
    max_fit_iterations = 75  # L-BFGS steps per hyper-parameter fit (a fit dominates the ask time)

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 surrogates: Sequence[str | dict[str, Any] | None] | None = None,
                 optimizer: str | dict[str, Any] | None = None, n_initial: int = 10, refit_every: int = 10,
                 max_train: int = 200, max_baseline: int = 32, mc_samples: int = 32,
                 reference: Sequence[float] | None = None, constraints: Sequence[str] | None = None) -> None:
        for name, value, low in (("n_initial", n_initial, 2), ("refit_every", refit_every, 1),
                                 ("max_train", max_train, 2), ("max_baseline", max_baseline, 1),
                                 ("mc_samples", mc_samples, 1)):
            check_int(name, value, low)
        super().__init__(space, seed, dedup, constraints)
        self.surrogates = None if surrogates is None else list(surrogates)
        self.reference = checked_reference(reference, self.objective_counts)
        if self.surrogates is not None and (len(self.surrogates) < 2 or (
                self.reference is not None and len(self.surrogates) != len(self.reference))):
            wanted = "at least 2" if self.reference is None else f"{len(self.reference)} (as the reference point)"
            raise UsageError(f"strategy {self.name!r} needs {wanted} surrogates= entries (one per objective), "
                             f"got {len(self.surrogates)}")
        self.optimizer = optimizer or {"name": "mutation", "n_parents": 10, "n_mutations": 20, "n_random": 100}
        self.n_initial, self.refit_every, self.max_train = n_initial, refit_every, max_train
        self.max_baseline, self.mc_samples = max_baseline, mc_samples
        self.fit_size = 0
        self._parts()
        # now, not at the first model-based ask; torch named too: [bo] alone takes an unpinned torch (the CUDA build)
        check_installed(("botorch", "torch"), f"strategy {self.name!r}")

    def _parts(self) -> None:
        self._optimizer = make_optimizer(self.optimizer, self.space)  # exhaustive on DARTS: refused now
        self._costs: list[tuple[int, Any, float]] = []  # (objective, cost function, sign)
        metrics = {}  # result metrics known before evaluation: checked against the constraints
        for j, spec in enumerate(self.surrogates or []):
            name = spec.get("name") if isinstance(spec, dict) else spec
            if name == "known":
                known = make_surrogate(spec, self.space)
                self._costs.append((j, known.cost, known.sign))
                if known.metric:
                    metrics[known.metric] = known.cost
            elif name not in (None, "gp"):
                raise UsageError(f"{self.name} models objectives with its GP or takes them as 'known'; got {spec!r}")
        self._hyper: dict[str, Any] | None = None
        self._screen = KnownScreen(self.constraints, metrics)

    # -- inputs -----------------------------------------------------------------------------------
    def _x(self, archs: Sequence[Architecture]) -> np.ndarray:
        """One-hot of the canonical view, then one column per known objective (its exact score)."""
        onehot = categorical_onehot(self.space, archs)
        known = np.array([[sign * cost(a) for _, cost, sign in self._costs] for a in archs], dtype=float)
        return np.hstack([onehot, known.reshape(len(archs), len(self._costs))])

    def checked_score(self, score: Any) -> Score:
        score = super().checked_score(score)
        if score is not None and self.surrogates is not None and len(score) != len(self.surrogates):
            raise UsageError(f"{self.name}: surrogates= has {len(self.surrogates)} entries (one per objective) but "
                             f"the score has {len(score)} objectives: {score!r:.100}")
        return score

    def _modelled(self, n_objectives: int) -> list[int]:
        known = {j for j, _, _ in self._costs}
        return [j for j in range(n_objectives) if j not in known]

    # -- model --------------------------------------------------------------------------------------
    def _gp(self, x: np.ndarray, y: np.ndarray, d: int) -> Any:
        import torch
        from botorch.models import SingleTaskGP
        from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior

        tx, ty = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
        batch = torch.Size([ty.shape[-1]]) if ty.shape[-1] > 1 else torch.Size([])
        covar = get_covar_module_with_dim_scaled_prior(ard_num_dims=d, batch_shape=batch, active_dims=range(d))
        return SingleTaskGP(tx, ty, covar_module=covar, outcome_transform=None)

    def _fit_hyper(self, points: np.ndarray, modelled: list[int], d: int) -> None:
        """Fit the GP's hyper-parameters on the first ``fit_size`` results (deterministic in the data and seed)."""
        import torch
        from botorch.fit import fit_gpytorch_mll
        from gpytorch.mlls import ExactMarginalLogLikelihood

        archs = [a for a, _ in self.archive[: self.fit_size]]
        pts = points[: self.fit_size]
        rows = np.arange(len(pts))
        if len(rows) > self.max_train:  # the best layers first, then the oldest
            ranks, _ = rank_and_crowding(pts)
            rows = np.sort(np.lexsort((rows, ranks))[: self.max_train])
        y = pts[rows][:, modelled]
        self._scaling = (y.mean(0), np.where(y.std(0) > 0, y.std(0), 1.0))
        model = self._gp(self._x([archs[i] for i in rows]), (y - self._scaling[0]) / self._scaling[1], d)
        with torch.random.fork_rng(devices=[]):  # seeded restarts, without touching the caller's generator (nor CUDA)
            torch.manual_seed(((self.seed or 0) * 7919 + self.fit_size) % SEED_LIMIT)
            fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model),
                             optimizer_kwargs={"options": {"maxiter": self.max_fit_iterations}})
        self._hyper = {k: v.clone() for k, v in model.state_dict().items() if "train" not in k}

    def _propose(self) -> Architecture:
        if len(self.archive) < self.n_initial:
            return self._screen.sample(self.space, self.rng)
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # for this ask only: the process keeps its own thread count
        try:
            return self._propose_from_model()
        finally:
            torch.set_num_threads(threads)

    def _propose_from_model(self) -> Architecture:
        """The candidate with the highest qLogNEHVI among the optimizer's (single-threaded torch)."""
        import torch
        from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
        from botorch.acquisition.multi_objective.objective import GenericMCMultiOutputObjective
        from botorch.sampling import SobolQMCNormalSampler

        points, violation = self._points(self.archive)
        m = points.shape[1]
        if m < 2:
            raise UsageError(f"{self.name} needs at least 2 objectives, got {m}")
        modelled, d = self._modelled(m), len(categorical_onehot(self.space, [self.archive[0][0]])[0])
        if not modelled:
            return self._propose_known(points, violation, d)
        if self.fit_size == 0 or len(self.archive) - self.fit_size >= self.refit_every:
            self.fit_size, self._hyper = len(self.archive), None
        if self._hyper is None:
            self._fit_hyper(points, modelled, d)
        archs = [a for a, _ in self.archive]
        x_all = self._x(archs)
        model = self._gp(x_all, (points[:, modelled] - self._scaling[0]) / self._scaling[1], d)
        model.load_state_dict(self._hyper, strict=False)
        model.eval()

        feasible = np.flatnonzero(violation <= 0) if violation is not None else np.arange(len(points))
        if len(feasible) == 0:
            feasible = np.arange(len(points))
        ranks, _ = rank_and_crowding(points[feasible])
        baseline = feasible[np.argsort(ranks, kind="stable")[: self.max_baseline]]
        scale = torch.tensor(self._scaling[1], dtype=torch.float64)
        shift = torch.tensor(self._scaling[0], dtype=torch.float64)
        columns = {j: ("model", i) for i, j in enumerate(modelled)}
        columns.update({j: ("known", i) for i, (j, _, _) in enumerate(self._costs)})

        def objective(samples: torch.Tensor, X: torch.Tensor | None = None) -> torch.Tensor:
            values = samples * scale + shift
            parts = [values[..., i] if kind == "model" else X[..., d + i].expand(values.shape[:-1])
                     for kind, i in (columns[j] for j in range(m))]
            return torch.stack(parts, -1)

        ref = self._reference_point(points, d)
        pending = list(self.pending.values())
        sampler = SobolQMCNormalSampler(torch.Size([self.mc_samples]),
                                        seed=((self.seed or 0) * 104_729 + len(self.archive) + 7 * len(pending))
                                        % SEED_LIMIT)
        acq = qLogNoisyExpectedHypervolumeImprovement(
            model, ref_point=ref.tolist(), X_baseline=torch.tensor(x_all[baseline]), sampler=sampler,
            objective=GenericMCMultiOutputObjective(objective), prune_baseline=False,
            X_pending=torch.tensor(self._x(pending)) if pending else None)

        def score(candidates: Sequence[Architecture]) -> np.ndarray:
            x = torch.tensor(self._x(candidates)).unsqueeze(1)
            with torch.no_grad():
                return np.concatenate([acq(x[i:i + 256]).numpy() for i in range(0, len(x), 256)])

        front = feasible[non_dominated_mask(points[feasible])]
        ranked = [archs[int(i)] for i in front] + [archs[int(i)] for i in baseline if i not in set(front)]
        context = SearchContext(self.space, ranked, self._scores, self.rng)
        candidates = self._optimizer.propose(self._screen.wrap(score), context, 8)
        return candidates[0] if candidates else self._screen.sample(self.space, self.rng)

    def _reference_point(self, points: np.ndarray, d: int) -> np.ndarray:
        """``reference``, or 10 % of the span below the worst value (known objectives: also over 256 random
        architectures, their range is known)."""
        if self.reference is not None:
            self.warn_unreached_reference(points)
            return np.array(self.reference)
        values = points.copy()
        if self._costs:
            probe = self._x([self.space.sample(self.rng) for _ in range(256)])[:, d:]
            extra = np.full((len(probe), points.shape[1]), np.nan)
            extra[:, [j for j, _, _ in self._costs]] = probe
            values = np.vstack([values, extra])
        return np.nanmin(values, 0) - 0.1 * np.maximum(np.nanmax(values, 0) - np.nanmin(values, 0), 1e-9)

    def _propose_known(self, points: np.ndarray, violation: np.ndarray | None, d: int) -> Architecture:
        """Every objective is known (nothing to model): the candidate whose exact scores add the most hypervolume
        to the feasible results and the running architectures."""
        ref = self._reference_point(points, d)
        feasible = np.flatnonzero(violation <= 0) if violation is not None else np.arange(len(points))
        pending = list(self.pending.values())
        front = np.vstack([points[feasible], self._x(pending)[:, d:]]) if pending else points[feasible]
        base = hypervolume(front, ref) if len(front) else 0.0

        def score(candidates: Sequence[Architecture]) -> np.ndarray:
            return np.array([hypervolume(np.vstack([front, row[None]]), ref) - base
                             for row in self._x(candidates)[:, d:]])

        archs = [a for a, _ in self.archive]
        ranked = [archs[int(i)] for i in feasible[non_dominated_mask(points[feasible])]] if len(feasible) else archs
        context = SearchContext(self.space, ranked, self._scores, self.rng)
        candidates = self._optimizer.propose(self._screen.wrap(score), context, 8)
        return candidates[0] if candidates else self._screen.sample(self.space, self.rng)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._parts()
