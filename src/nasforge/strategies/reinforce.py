"""REINFORCE / PPO over the space's categorical view, with a factorized or an LSTM policy."""

from __future__ import annotations

import warnings
from collections.abc import Hashable

import numpy as np

from ..checks import check_int, check_real
from ..exceptions import UsageError, user_stacklevel
from ..spaces import Architecture, SearchSpace
from .base import Score, Strategy, restoring


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _log(p: np.ndarray, z: np.ndarray, at: int | slice = slice(None)) -> np.ndarray:
    """``np.log(p)`` of ``p = _softmax(z)[at]``, the value stored studies replay, except where ``p`` underflowed to 0
    (a logit gap past about 745): there the log-softmax of ``z`` at that entry, finite, instead of ``-inf`` (whose
    ``0 * -inf`` made the logits NaN, and the next draw fail with "Probabilities contain NaN")."""
    with np.errstate(divide="ignore"):
        log_p = np.log(p)
    if np.all(log_p > -np.inf):
        return log_p
    shifted = z - z.max()
    return np.where(log_p > -np.inf, log_p, (shifted - np.log(np.exp(shifted).sum()))[at])


class FactorizedPolicy:
    """One independent softmax per categorical parameter, updated by plain gradient steps in NumPy."""

    def __init__(self, sizes: list[int], lr: float) -> None:
        self.lr = lr
        self.logits = [np.zeros(k) for k in sizes]

    def sample(self, rng: np.random.Generator, temperature: float) -> list[int]:
        return [int(rng.choice(len(z), p=_softmax(z / temperature))) for z in self.logits]

    def log_prob(self, codes: list[int]) -> float:
        return float(sum(_log(_softmax(z)[c], z, c) for z, c in zip(self.logits, codes)))

    def step(self, codes: list[int], weight: float, entropy_coef: float) -> None:
        """logits += lr * (weight * grad log pi(codes) + entropy_coef * grad H). A step that would make them
        non-finite (an infinite weight: a PPO ratio past 1e308 under a huge ``lr``) is skipped with a warning, as
        NaN logits would leave no draw possible."""
        stepped = []
        for z, c in zip(self.logits, codes):
            p = _softmax(z)
            grad_logp = -p
            grad_logp[c] += 1.0
            log_p = _log(p, z)
            grad_entropy = -p * (log_p - (p * log_p).sum())
            with np.errstate(over="ignore", invalid="ignore"):  # a non-finite step is refused below, saying why
                stepped.append(z + self.lr * (weight * grad_logp + entropy_coef * grad_entropy))
        if not all(np.isfinite(z).all() for z in stepped):
            warnings.warn(f"strategy 'reinforce': a policy step with lr={self.lr:g} would make the policy's logits "
                          "non-finite (an infinite step weight), so it is skipped; a smaller lr avoids this",
                          RuntimeWarning, stacklevel=user_stacklevel())
            return
        for z, new in zip(self.logits, stepped):
            z[...] = new


class LSTMPolicy:
    """An LSTM controller (Zoph & Le 2017) in torch: one step per parameter, the previous choice's
    embedding as input, one softmax head per parameter; Adam on the policy-gradient loss."""

    def __init__(self, sizes: list[int], lr: float, seed: int, hidden: int = 32) -> None:
        from ..predictors.neural import import_torch

        torch = import_torch("strategy 'reinforce' with controller='lstm'")
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.cell = torch.nn.LSTMCell(hidden, hidden)
            self.embed = torch.nn.ModuleList([torch.nn.Embedding(k, hidden) for k in sizes])
            self.heads = torch.nn.ModuleList([torch.nn.Linear(hidden, k) for k in sizes])
        self.start = torch.nn.Parameter(torch.zeros(1, hidden))
        params = [*self.cell.parameters(), *self.embed.parameters(), *self.heads.parameters(), self.start]
        self.optimizer = torch.optim.Adam(params, lr=lr)

    def _logits(self, codes: list[int] | None, rng: np.random.Generator | None = None,
                temperature: float = 1.0) -> tuple[list[int], list]:
        """Run the controller: teacher-forced on ``codes``, or sampling with ``rng``."""
        import torch

        x, state, out, chosen = self.start, None, [], []
        for d, head in enumerate(self.heads):
            state = self.cell(x, state)
            logits = head(state[0])[0]
            out.append(logits)
            if codes is None:
                p = torch.softmax(logits.detach() / temperature, 0).double().numpy()
                chosen.append(int(rng.choice(len(p), p=p / p.sum())))
            else:
                chosen.append(codes[d])
            x = self.embed[d](torch.tensor([chosen[-1]]))
        return chosen, out

    def sample(self, rng: np.random.Generator, temperature: float) -> list[int]:
        import torch

        with torch.no_grad():
            return self._logits(None, rng, temperature)[0]

    def log_prob(self, codes: list[int]) -> float:
        import torch

        with torch.no_grad():
            return float(sum(torch.log_softmax(z, 0)[c] for z, c in zip(self._logits(codes)[1], codes)))

    def step(self, codes: list[int], weight: float, entropy_coef: float) -> None:
        import torch

        logits = self._logits(codes)[1]
        log_probs = [torch.log_softmax(z, 0) for z in logits]
        entropy = sum(-(lp.exp() * lp).sum() for lp in log_probs)
        loss = -weight * sum(lp[c] for lp, c in zip(log_probs, codes)) - entropy_coef * entropy
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()


class Reinforce(Strategy):
    """A policy gradient controller (Williams 1992; Zoph & Le 2017) over the categorical view:
    ``controller="factorized"`` (one independent softmax per parameter, NumPy) or ``"lstm"`` (an
    LSTM that conditions each choice on the previous ones, torch, loaded only then; use ``lr``
    around 0.01 with it).

    Each told result moves the policy by ``lr * A * grad log pi(a)`` where the advantage ``A`` is
    the score minus a moving-average baseline (``baseline_decay``), divided by a moving standard
    deviation that starts from the first nonzero deviation (``std_start="data"``), so the search is the same
    whatever the objective's units; ``std_start="one"`` starts it at 1.0 in the score's units, the rule before
    2026-12-07 (:attr:`STD_STARTS`), kept for the studies stored by it. ``entropy_coef`` adds the entropy's
    gradient to keep exploring. Sampled assignments the space rejects are skipped. With ``algorithm="ppo"``
    results are collected into batches of ``batch_size`` and the policy takes ``ppo_epochs`` clipped steps
    (``clip``) on each batch (other values of these three without it are refused: plain REINFORCE would
    ignore them).
    A result teaches the codes of the architecture ask returned, also where the ask ended in uniform samples
    (``stuck_codes="returned"``); ``stuck_codes="last_draw"``, the rule before 2026-12-07 08:00 UTC (kept for the
    studies stored by it), taught the codes of the last draw such an ask rejected.
    Draws of already-proposed architectures are rejected (de-duplication) without teaching anything;
    each rejection within one ask raises the sampling temperature (:meth:`temperature`: a little at first,
    then geometrically), so a converged policy explores around its mode instead of stalling, at a bounded
    number of draws per ask.
    """

    name = "reinforce"
    transient = ("_names", "_choices", "_last", "_rejected")
    PPO_DEFAULTS = {"batch_size": 10, "ppo_epochs": 4, "clip": 0.2}  # the settings only algorithm="ppo" uses
    WARM_STEPS, WARM_FACTOR = 20, 1.25  # see temperature()
    STD_STARTS = ("data", "one")  # where the moving standard deviation starts: see _advantage()
    STUCK_CODES = ("returned", "last_draw")  # what a stuck ask's architecture teaches: see _on_duplicate()
    older_rules = {"std_start": "one", "stuck_codes": "last_draw"}
    # 2026-12-07 05:00 and 08:00 UTC: recorded since, so a study without them was older
    rules_changed_at = {"std_start": 1796619600.0, "stuck_codes": 1796630400.0}
    recorded_since_change = frozenset(older_rules)

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True, lr: float = 0.3,
                 baseline_decay: float = 0.9, entropy_coef: float = 0.01, algorithm: str = "reinforce",
                 batch_size: int = 10, ppo_epochs: int = 4, clip: float = 0.2,
                 controller: str = "factorized", std_start: str = "data", stuck_codes: str = "returned") -> None:
        if algorithm not in ("reinforce", "ppo"):
            raise UsageError(f"algorithm must be 'reinforce' or 'ppo', got {algorithm!r}")
        if controller not in ("factorized", "lstm"):
            raise UsageError(f"controller must be 'factorized' or 'lstm', got {controller!r}")
        if std_start not in self.STD_STARTS:
            raise UsageError(f"std_start must be one of {list(self.STD_STARTS)}, got {std_start!r}")
        if stuck_codes not in self.STUCK_CODES:
            raise UsageError(f"stuck_codes must be one of {list(self.STUCK_CODES)}, got {stuck_codes!r}")
        for name, value in (("lr", lr), ("clip", clip)):
            check_real(name, value, lambda v: v > 0, "> 0")
        check_real("baseline_decay", baseline_decay, lambda v: 0 <= v <= 1, "in [0, 1]")
        check_real("entropy_coef", entropy_coef, lambda v: v >= 0, ">= 0")
        check_int("batch_size", batch_size, 1)
        check_int("ppo_epochs", ppo_epochs, 1)
        ppo_only = {"batch_size": batch_size, "ppo_epochs": ppo_epochs, "clip": clip}
        ignored = [k for k, v in ppo_only.items() if v != self.PPO_DEFAULTS[k]]
        if algorithm != "ppo" and ignored and restoring():
            # older versions took these settings and ignored them: a study that stored them loads as it did
            verb = "is" if len(ignored) == 1 else "are"
            warnings.warn(f"reinforce: {', '.join(ignored)} (stored by an older version) {verb} ignored without "
                          f"algorithm='ppo', as then", UserWarning, stacklevel=user_stacklevel())
        elif algorithm != "ppo" and ignored:
            raise UsageError(f"reinforce: {', '.join(ignored)} needs algorithm='ppo' (plain REINFORCE steps on every "
                             f"result), got algorithm={algorithm!r}")
        super().__init__(space, seed, dedup)
        self.lr, self.baseline_decay, self.entropy_coef = lr, baseline_decay, entropy_coef
        self.algorithm, self.batch_size, self.ppo_epochs, self.clip = algorithm, batch_size, ppo_epochs, clip
        params = self.space.categorical_params()
        self._names = list(params)
        self._choices = [list(c) for c in params.values()]
        self.controller, self.std_start, self.stuck_codes = controller, std_start, stuck_codes
        sizes = [len(c) for c in self._choices]
        self.policy = FactorizedPolicy(sizes, lr) if controller == "factorized" else LSTMPolicy(sizes, lr, seed or 0)
        self.baseline: float | None = None
        self.reward_var: float | None = 1.0  # std_start="one"'s start; "data" replaces it (see _advantage)
        self.actions: dict[Hashable, tuple[list[int], float]] = {}  # pending: codes and log-prob at sampling
        self.batch: list[tuple[list[int], float, float]] = []  # PPO: (codes, old log-prob, advantage)
        self._last: tuple[list[int], float] | None = None  # the draw being proposed
        self._rejected = 0  # draws rejected as duplicates during this ask

    # -- policy ----------------------------------------------------------------------------------
    def _propose(self) -> Architecture:
        temperature = self.temperature(self._rejected)
        for _ in range(1000):
            codes = self.policy.sample(self.rng, temperature)
            try:
                arch = self.space.from_params({n: ch[c] for n, ch, c in zip(self._names, self._choices, codes)})
            except ValueError:
                continue
            self._last = (codes, self.policy.log_prob(codes))
            return arch
        return self.space.sample(self.rng)

    @staticmethod
    def temperature(rejected: int) -> float:
        """The sampling temperature after ``rejected`` draws of known architectures within one ask: a peaked
        policy keeps drawing them, so each rejection warms it, by 1/20 for the first ``WARM_STEPS`` and then by
        ``WARM_FACTOR`` times per rejection, so that even a collapsed policy (one choice per parameter at
        probability 1.0) samples nearly uniformly after a few dozen rejections: the draws per ask stay bounded
        instead of growing with the known architectures (125 per ask at 1,000 asks on NAS-Bench-201 before
        2026-12-06, when the warming stayed linear)."""
        if rejected <= Reinforce.WARM_STEPS:
            return 1.0 + rejected / 20.0
        return (1.0 + Reinforce.WARM_STEPS / 20.0) * Reinforce.WARM_FACTOR ** (rejected - Reinforce.WARM_STEPS)

    def ask(self) -> Architecture:
        self._last, self._rejected = None, 0
        arch = super().ask()
        codes = self._last[0] if self._last else self._codes_of(arch)
        self.actions[self.space.canonical_key(arch)] = (codes, self.policy.log_prob(codes))
        return arch

    def _codes_of(self, arch: Architecture) -> list[int]:
        view = self.space.to_params(arch)
        return [ch.index(view[n]) for n, ch in zip(self._names, self._choices)]

    # -- learning --------------------------------------------------------------------------------
    def _advantage(self, reward: float) -> float:
        """The reward minus the baseline, over the moving standard deviation of these deviations. With
        ``std_start="data"`` the variance starts as the first nonzero squared deviation, so the advantage has no
        units (scaling every score by ``c > 0`` leaves it unchanged, with ``baseline_decay=1`` too); with
        ``"one"`` it starts at 1.0 in the score's units."""
        if self.baseline is None:
            self.baseline = reward
            if self.std_start == "data":
                self.reward_var = None  # until a result deviates from the baseline
            return 0.0
        delta = reward - self.baseline
        self.baseline += (1.0 - self.baseline_decay) * delta
        if self.reward_var is None:
            self.reward_var = delta * delta or None
        else:
            self.reward_var = self.baseline_decay * self.reward_var + (1.0 - self.baseline_decay) * delta * delta
        if self.std_start == "one":
            return delta / (np.sqrt(self.reward_var) + 1e-8)
        return delta / np.sqrt(self.reward_var) if self.reward_var else 0.0

    def _step(self, codes: list[int], weight: float) -> None:
        self.policy.step(codes, weight, self.entropy_coef)

    def _learn(self, codes: list[int], old_log_prob: float, reward: float) -> None:
        adv = self._advantage(reward)
        if self.algorithm == "reinforce":
            self._step(codes, adv)
            return
        self.batch.append((codes, old_log_prob, adv))
        if len(self.batch) < self.batch_size:
            return
        for _ in range(self.ppo_epochs):
            for b_codes, b_old, b_adv in self.batch:
                ratio = float(np.exp(self.policy.log_prob(b_codes) - b_old))
                clipped = (b_adv > 0 and ratio > 1 + self.clip) or (b_adv < 0 and ratio < 1 - self.clip)
                self._step(b_codes, 0.0 if clipped else b_adv * ratio)
        self.batch = []

    def _observe(self, arch: Architecture, score: Score) -> None:
        codes, log_prob = self.actions.pop(self.space.canonical_key(arch), (self._codes_of(arch), None))
        if score is None:
            return
        reward = float(score)
        self._learn(codes, self.policy.log_prob(codes) if log_prob is None else log_prob, reward)

    def _on_duplicate(self, arch: Architecture, score: Score) -> None:
        """Count the rejected draw, and forget its codes: an ask that goes on with uniform samples or
        :meth:`_unproposed` returns another architecture, whose codes :meth:`ask` reads from it."""
        self._rejected += 1
        if self.stuck_codes == "returned":
            self._last = None
