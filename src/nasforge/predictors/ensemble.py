"""An ensemble of predictors: the mean of its members' predictions, their spread as uncertainty."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import UnsafeFileError, UsageError
from ..extras import check_installed
from ..spaces import Architecture, SearchSpace
from .base import Predictor

DEFAULT_MEMBERS: tuple[str, ...] = ("lgb", "xgb", "gin")


class EnsemblePredictor(Predictor):
    """Averages ``members``: predictor names, or ``{"predictor": name, **params}`` dicts.

    Member ``i`` is seeded with ``seed + i``; a member dict may set its own ``encoding``.
    Saved as one sub-folder per member, so an ensemble saves if all its members do.
    """

    name = "ensemble"
    uncertainty_condition = "two or more members"

    def __init__(self, space: SearchSpace, seed: int = 0,
                 members: Sequence[str | Mapping[str, Any]] = DEFAULT_MEMBERS) -> None:
        super().__init__(space, None, seed)
        from .registry import predictor_class

        if isinstance(members, (str, Mapping)) or not isinstance(members, Sequence):
            raise UsageError(f"members must be a list of predictor names or {{'predictor': name, ...}} dicts, "
                             f"got {members!r}")
        if not members:
            raise UsageError("an ensemble needs at least one member")
        bad = [m for m in members if not isinstance(m, (str, Mapping))]
        if bad:
            raise UsageError(f"ensemble members must be predictor names or {{'predictor': name, ...}} dicts, got {bad}")
        self.members = [m if isinstance(m, str) else dict(m) for m in members]
        needs: list[str] = []
        for i, spec in enumerate(self.members):
            if isinstance(spec, dict) and not isinstance(spec.get("predictor"), str):
                raise UsageError(f"ensemble member {i} ({spec!r:.80}) must name its predictor: "
                                 "{'predictor': name, ...}")
            needs += predictor_class(spec if isinstance(spec, str) else spec["predictor"]).requires
        check_installed(needs, f"predictor {self.name!r}")  # every missing package at once, not member by member
        self._build()  # a member's bad parameter or encoding is refused now, not at fit
        self._predictors: list[Predictor] = []

    @property
    def has_uncertainty(self) -> bool:  # type: ignore[override]
        """The members' spread: none with one member (a zero std would read as certainty)."""
        return len(self.members) > 1

    def _build(self) -> list[Predictor]:
        from .registry import get_predictor, refuse_seed

        built = []
        for i, spec in enumerate(self.members):
            params = {"predictor": spec} if isinstance(spec, str) else dict(spec)
            name = params.pop("predictor")
            refuse_seed(params, f"ensemble member {i} ({name})", "member i is seeded with the ensemble's seed + i")
            built.append(get_predictor(name, self.space, seed=self.seed + i, **params))
        return built

    def _encode(self, archs: Sequence[Architecture]) -> list[Architecture]:
        return list(archs)

    def _fit(self, x: list[Architecture], z: np.ndarray) -> None:
        self._predictors = [member.fit(x, z) for member in self._build()]

    def _member_predictions(self, x: list[Architecture]) -> np.ndarray:
        return np.stack([member.predict(x) for member in self._predictors])

    def _predict(self, x: list[Architecture]) -> np.ndarray:
        return self._member_predictions(x).mean(axis=0)

    def _predict_std(self, x: list[Architecture]) -> np.ndarray:
        return self._member_predictions(x).std(axis=0)

    def can_save(self) -> bool:
        """An ensemble saves if every member does (its class's ``has_file_format`` cannot tell)."""
        return not self.unsaveable_members()

    def unsaveable_members(self) -> list[str]:
        """The names of the members that have no safe file format (sorted, each once)."""
        return sorted({member.name for member in self._build() if not member.can_save()})

    def _save_model(self, folder: Path) -> list[str]:
        unsafe = self.unsaveable_members()
        if unsafe:
            raise TypeError(f"ensemble member(s) {', '.join(map(repr, unsafe))} have no safe file format (they would "
                            "need pickle); save an ensemble of: xgb, lgb, knn, gin, mlp")
        names = []
        for i, member in enumerate(self._predictors):
            member._save_into(folder / f"member_{i}", overwrite=False)  # inside the ensemble's staging folder
            names.append(f"member_{i}")
        return names

    def _load_model(self, folder: Path) -> None:
        from .registry import load_predictor

        saved = sorted(p.name for p in folder.glob("member_*"))
        if saved != sorted(f"member_{i}" for i in range(len(self.members))):
            raise UnsafeFileError(f"{folder} holds the member folders {saved}, but the ensemble has "
                                  f"{len(self.members)} members")
        self._predictors = [load_predictor(folder / f"member_{i}", self.space, warn=False)  # the ensemble warns
                            for i in range(len(self.members))]
        for spec, member in zip(self._build(), self._predictors):
            if member.name != spec.name or member.encoding != spec.encoding:
                raise UnsafeFileError(f"{folder}: member {member.name!r} ({member.encoding}) is not the "
                                      f"{spec.name!r} ({spec.encoding}) the ensemble's members list names")
