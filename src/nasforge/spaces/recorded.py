"""A stored study's space seen only through its stored trials, for when the space is not rebuilt.

A model space needs its Python module, which the read-only views (``nasforge trials``, ``status``, ``report``,
the dashboard) never import or run: a stored module reference is code, and looking at a received database must
not run it. They show a model-space study (and any study whose space cannot be rebuilt here) with the text form
stored beside each trial. Sampling, building or encoding an architecture needs the real space and is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from ..exceptions import UsageError
from .base import Architecture, SearchSpace


class RecordedSpace(SearchSpace):
    """Stand-in for the space ``name`` (stored options ``config``), not rebuilt: ``reason`` says why it could not
    be (None: a model space, whose module the read-only views never run); ``texts`` maps each stored architecture
    to the text form stored with it."""

    def __init__(self, name: str, config: dict[str, Any] | None, texts: Mapping[Architecture, str],
                 reason: str | None = None) -> None:
        self.name, self.config, self.reason = name, dict(config or {}), reason
        self._texts = dict(texts)
        labelled = [dict(p.split("=", 1) for p in text.split("|")) for text in self._texts.values()
                    if text and all("=" in p for p in text.split("|"))]
        self._labels = list(dict.fromkeys(k for parts in labelled for k in parts)) if len(labelled) == len(
            self._texts) else None  # every stored text is label=choice|...: the labels, in order

    @property
    def note(self) -> str | None:
        """One line telling the user why the space could not be rebuilt and architectures are shown as stored;
        None when nothing is wrong (a model space is always shown as stored)."""
        if self.reason is None:
            return None
        return f"space {self.name!r} cannot be rebuilt here ({self.reason}); architectures are shown as stored"

    def format(self, arch: Architecture) -> str:
        text = self._texts.get(arch)
        return text if text is not None else "|".join(map(str, arch.genotype))

    def to_params(self, arch: Architecture) -> dict[str, str]:
        """The ``label=choice`` parts of the stored text when every stored text has that form (model spaces; a
        label the text leaves out, an inactive decision, is ``"-"``), else one parameter per genotype entry."""
        parts = self.format(arch).split("|")
        if self._labels is not None and all("=" in p for p in parts):
            given = dict(p.split("=", 1) for p in parts)
            return {label: given.get(label, "-") for label in self._labels}
        return {f"decision_{i}": str(g) for i, g in enumerate(arch.genotype)}

    def canonical(self, arch: Architecture) -> Architecture:
        return arch

    def validate(self, arch: Architecture) -> None:
        """Stored architectures are taken as they are: their space is not here to check them."""

    def categorical_params(self) -> dict[str, list[str]]:
        """The choices the stored architectures use (the space's own lists are not here)."""
        choices: dict[str, list[str]] = {}
        for arch in self._texts:
            for name, choice in self.to_params(arch).items():
                choices.setdefault(name, [])
                if choice not in choices[name]:
                    choices[name].append(choice)
        return choices

    def to_config(self) -> dict[str, Any]:
        return dict(self.config)

    def _refuse(self, *_: Any) -> NoReturn:
        shown = self.note or f"space {self.name!r} is shown from its stored architectures (its module is not run)"
        raise UsageError(f"{shown}: this needs the space itself")

    sample = neighbors = parse = encode_onehot = from_params = _refuse  # type: ignore[assignment]

    @property
    def size(self) -> int:
        self._refuse()

    def __repr__(self) -> str:
        return f"RecordedSpace({self.name!r}, {len(self._texts)} stored architectures)"


__all__ = ["RecordedSpace"]
