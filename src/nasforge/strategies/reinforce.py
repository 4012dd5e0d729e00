"""REINFORCE / PPO with a factorized categorical policy over the space's categorical view."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from ..exceptions import UsageError
from ..spaces import Architecture, SearchSpace
from .base import Score, Strategy


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


class Reinforce(Strategy):
    """A policy gradient controller (Zoph & Le 2017, Williams 1992) with one independent softmax per
    categorical parameter.

    Each told result updates the logits with ``lr * A * grad log pi(a)`` where the advantage ``A`` is
    the score minus a moving-average baseline (``baseline_decay``), divided by a moving standard
    deviation; ``entropy_coef`` adds the entropy's gradient to keep exploring. Sampled assignments
    the space rejects are skipped. With ``algorithm="ppo"`` results are collected into batches of
    ``batch_size`` and the policy takes ``ppo_epochs`` clipped steps (``clip``) on each batch.
    Draws of already-proposed architectures are rejected (de-duplication) without teaching anything;
    each rejection within one ask raises the sampling temperature a little, so a converged policy
    explores around its mode instead of stalling.
    """

    name = "reinforce"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True, lr: float = 0.3,
                 baseline_decay: float = 0.9, entropy_coef: float = 0.01, algorithm: str = "reinforce",
                 batch_size: int = 10, ppo_epochs: int = 4, clip: float = 0.2) -> None:
        if algorithm not in ("reinforce", "ppo"):
            raise UsageError(f"algorithm must be 'reinforce' or 'ppo', got {algorithm!r}")
        super().__init__(space, seed, dedup)
        self.lr, self.baseline_decay, self.entropy_coef = lr, baseline_decay, entropy_coef
        self.algorithm, self.batch_size, self.ppo_epochs, self.clip = algorithm, batch_size, ppo_epochs, clip
        params = space.categorical_params()
        self._names = list(params)
        self._choices = [list(c) for c in params.values()]
        self.logits = [np.zeros(len(c)) for c in self._choices]
        self.baseline: float | None = None
        self.reward_var = 1.0
        self.actions: dict[Hashable, tuple[list[int], float]] = {}  # pending: codes and log-prob at sampling
        self.batch: list[tuple[list[int], float, float]] = []  # PPO: (codes, old log-prob, advantage)
        self._last: tuple[list[int], float] | None = None  # the draw being proposed
        self._rejected = 0  # draws rejected as duplicates during this ask

    # -- policy ----------------------------------------------------------------------------------
    def _log_prob(self, codes: list[int]) -> float:
        return float(sum(np.log(_softmax(z)[c]) for z, c in zip(self.logits, codes)))

    def _propose(self) -> Architecture:
        # a peaked policy keeps drawing known architectures: each rejected draw warms the temperature
        temperature = 1.0 + self._rejected / 20.0
        for _ in range(1000):
            codes = [int(self.rng.choice(len(z), p=_softmax(z / temperature))) for z in self.logits]
            try:
                arch = self.space.from_params({n: ch[c] for n, ch, c in zip(self._names, self._choices, codes)})
            except ValueError:
                continue
            self._last = (codes, self._log_prob(codes))
            return arch
        return self.space.sample(self.rng)

    def ask(self) -> Architecture:
        self._last, self._rejected = None, 0
        arch = super().ask()
        codes = self._last[0] if self._last else self._codes_of(arch)
        self.actions[self.space.canonical_key(arch)] = (codes, self._log_prob(codes))
        return arch

    def _codes_of(self, arch: Architecture) -> list[int]:
        view = self.space.to_params(arch)
        return [ch.index(view[n]) for n, ch in zip(self._names, self._choices)]

    # -- learning --------------------------------------------------------------------------------
    def _advantage(self, reward: float) -> float:
        if self.baseline is None:
            self.baseline = reward
            return 0.0
        delta = reward - self.baseline
        self.baseline += (1.0 - self.baseline_decay) * delta
        self.reward_var = self.baseline_decay * self.reward_var + (1.0 - self.baseline_decay) * delta * delta
        return delta / (np.sqrt(self.reward_var) + 1e-8)

    def _step(self, codes: list[int], weight: float) -> None:
        """logits += lr * (weight * grad log pi(codes) + entropy_coef * grad H)."""
        for z, c in zip(self.logits, codes):
            p = _softmax(z)
            grad_logp = -p
            grad_logp[c] += 1.0
            log_p = np.log(p)
            grad_entropy = -p * (log_p - (p * log_p).sum())
            z += self.lr * (weight * grad_logp + self.entropy_coef * grad_entropy)

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
                ratio = float(np.exp(self._log_prob(b_codes) - b_old))
                clipped = (b_adv > 0 and ratio > 1 + self.clip) or (b_adv < 0 and ratio < 1 - self.clip)
                self._step(b_codes, 0.0 if clipped else b_adv * ratio)
        self.batch = []

    def _observe(self, arch: Architecture, score: Score) -> None:
        codes, log_prob = self.actions.pop(self.space.canonical_key(arch), (self._codes_of(arch), None))
        if score is None:
            return
        reward = float(score[0] if isinstance(score, tuple) else score)
        self._learn(codes, self._log_prob(codes) if log_prob is None else log_prob, reward)

    def _on_duplicate(self, arch: Architecture, score: Score) -> None:
        self._rejected += 1

    def state_dict(self) -> dict:
        state = super().state_dict()
        for key in ("_names", "_choices", "_last", "_rejected"):
            state.pop(key, None)
        return state
