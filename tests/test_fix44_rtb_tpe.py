"""TPE's caches hold the lists they were built from: a new list made where a freed one was is counted anew."""

from __future__ import annotations

from nasforge.spaces import NASBench201Space
from nasforge.strategies.tpe import TPE

SPACE = NASBench201Space()


def run(strategy: TPE, n: int) -> None:
    for i in range(n):
        arch = strategy.ask()
        strategy.tell(arch, float(sum(op == "nor_conv_3x3" for op in arch.genotype) + (i % 5) * 0.01))


def test_a_new_list_with_a_freed_lists_id_is_not_answered_from_the_cache():
    """Codes and values handed over in new lists of the same length (as BOHB hands them over): the counts and
    densities are those of the new lists, even where a new list got the id of the freed one (CPython reuses
    freed list objects; the old id-keyed cache then served the old list's counts)."""
    tpe, other = TPE(SPACE, seed=0), TPE(SPACE, seed=5)
    run(tpe, 30)
    run(other, 30)
    tpe.ask()  # counts and densities of its own 30 results are cached
    for attr in ("codes", "values"):
        freed = id(getattr(tpe, attr))
        setattr(tpe, attr, None)  # the list is freed unless the cache holds it
        made = [getattr(other, attr).copy() for _ in range(200)]
        setattr(tpe, attr, next((m for m in made if id(m) == freed), made[0]))
    assert all((a == b).all() for a, b in zip(tpe._told_counts(), other._told_counts()))
    assert all((a == b).all() for mine, theirs in zip(tpe._model(), other._model()) for a, b in zip(mine, theirs))
