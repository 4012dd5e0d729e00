"""Multi-objective fixes of stop 51: a constraint bound that overflows to infinity is refused up front, the
trials exports say which trials break the constraints, and the fallback front (nothing feasible) holds no trial
that another least-violating one dominates."""

from __future__ import annotations

import pytest

from nasforge import Study, get_space
from nasforge.exceptions import UsageError
from nasforge.strategies.constraints import parse_constraints


@pytest.mark.parametrize("spec", ["params >= 1e400", "params <= -1e400", "params <= 1e400"])
def test_a_bound_that_overflows_is_refused_when_the_study_is_created(spec):
    """Would fail: 1e400 parsed as inf; every trial then failed with a NaN violation (or, for '<= 1e400', the
    constraint held for every trial) instead of a one-line refusal."""
    with pytest.raises(UsageError, match=r"^bad bound in constraint 'params [<>]= -?inf': not a finite number"):
        Study(get_space("nb201"), "nsga2", objectives=["acc", "params"], directions=["max", "min"], constraints=[spec])
    assert parse_constraints([spec])[0].bound in (float("inf"), float("-inf"))  # a stored study still loads


def test_cli_search_refuses_an_overflowing_bound_before_training(tmp_path, capsys):
    from nasforge.cli import main

    code = main(["search", "--constraints", "params >= 1e400", "--trials", "2", "--retrain", "0",
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("nasforge search: error: --constraints: bad bound in constraint 'params >= inf': not a")
    assert "\n" not in err
    assert not (tmp_path / "run").exists()
