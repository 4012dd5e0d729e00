"""Parsing a valid DARTS genotype quotes no source text: quoting (ast.get_source_segment walks the whole text) is
only for an error message, so tables and surrogates of DARTS texts load as fast as before."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from nasforge.exceptions import UsageError
from nasforge.spaces import get_space


def test_a_valid_genotype_quotes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    space = get_space("darts")
    texts = [space.format(space.sample(np.random.default_rng(seed))) for seed in range(5)]
    calls: list[object] = []
    quote = ast.get_source_segment
    monkeypatch.setattr(ast, "get_source_segment", lambda *a, **k: calls.append(a) or quote(*a, **k))
    for text in texts:
        space.parse(text)
    assert calls == []
    bad = texts[0].replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 4]")
    with pytest.raises(UsageError, match=r"normal_concat must be .*got '\[2, 3, 4\]'"):
        space.parse(bad)
