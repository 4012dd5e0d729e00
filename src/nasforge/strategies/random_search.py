"""Random search and grid search."""

from __future__ import annotations

from ..exceptions import UsageError
from ..spaces import Architecture, SearchSpace, as_space
from ..checks import check_bool
from .base import SpaceExhausted, Strategy


class RandomSearch(Strategy):
    """Uniform random sampling of the space (de-duplicated unless ``dedup=False``)."""

    name = "random"
    objective_counts = (1, None)  # it reads no scores

    def _propose(self) -> Architecture:
        return self.space.sample(self.rng)


class GridSearch(Strategy):
    """Every architecture of an enumerable space, in enumeration order (``shuffle=True``: random order)."""

    name = "grid"
    objective_counts = (1, None)
    transient = ("_archs",)  # rebuilt from the space

    def __init__(self, space: SearchSpace | str, seed: int | None = None, dedup: bool = True,
                 shuffle: bool = False) -> None:
        space = as_space(space)
        if not space.is_enumerable:
            raise UsageError(f"grid search needs an enumerable space; {space.name!r} is not")
        check_bool("shuffle", shuffle)
        super().__init__(space, seed, dedup)
        self.shuffle = shuffle
        self.position = 0
        self._order: list[int] | None = None

    def _propose(self) -> Architecture:
        if self._order is None:
            self._archs = list(self.space.enumerate())
            self._order = list(self.rng.permutation(len(self._archs))) if self.shuffle else list(range(len(self._archs)))
        if self.position >= len(self._order):
            raise SpaceExhausted(f"grid search visited all {len(self._order)} architectures")
        arch = self._archs[int(self._order[self.position])]
        self.position += 1
        return arch

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if self._order is not None:
            self._archs = list(self.space.enumerate())
