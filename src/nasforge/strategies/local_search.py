"""Local search over one-edit neighbourhoods with random restarts."""

from __future__ import annotations

from ..exceptions import UsageError
from ..spaces import Architecture, SearchSpace
from .base import Score, Strategy


class LocalSearch(Strategy):
    """Hill climbing from a random start.

    ``mode="first"``: move to the first neighbour (in random order) that beats the current one.
    ``mode="best"``: evaluate the whole neighbourhood, then move to its best member if it is better.
    At a local optimum the search restarts from a new random architecture. Neighbours whose score
    is already known (functionally identical to something evaluated) are judged without an evaluation.
    """

    name = "local_search"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True, mode: str = "first") -> None:
        if mode not in ("first", "best"):
            raise UsageError(f"mode must be 'first' or 'best', got {mode!r}")
        super().__init__(space, seed, dedup)
        self.mode = mode
        self.current: tuple[Architecture, Score] | None = None
        self.queue: list[Architecture] = []
        self.best_neighbor: tuple[Architecture, Score] | None = None
        self.n_restarts = 0

    def _propose(self) -> Architecture:
        if self.current is not None and not self.queue:
            self._end_of_neighborhood()
        if self.current is None:
            return self.space.sample(self.rng)
        return self.queue.pop()

    def _end_of_neighborhood(self) -> None:
        assert self.current is not None
        if self.mode == "best" and self.best_neighbor is not None and self.best_neighbor[1] > self.current[1]:
            self._move_to(*self.best_neighbor)
        else:
            self.current = None  # local optimum: restart
            self.n_restarts += 1

    def _move_to(self, arch: Architecture, score: Score) -> None:
        self.current = (arch, score)
        neighbors = self.space.neighbors(arch)
        self.queue = [neighbors[int(i)] for i in self.rng.permutation(len(neighbors))]
        self.best_neighbor = None

    def _observe(self, arch: Architecture, score: Score) -> None:
        if score is None:
            return
        if self.current is None:
            self._move_to(arch, score)
        elif self.mode == "first":
            if score > self.current[1]:
                self._move_to(arch, score)
        elif self.best_neighbor is None or score > self.best_neighbor[1]:
            self.best_neighbor = (arch, score)

    def _on_duplicate(self, arch: Architecture, score: Score) -> None:
        if score is not None and self.current is not None:
            self._observe(arch, score)
