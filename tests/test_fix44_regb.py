"""Regression review 44 (rb) fixes: the foreign-form hint names no CLI option in Python errors and no --space where
a surrogate fixes the space; SearchConfig.space "not given" means the supernet's space; refusals name no space the
user never gave; one stage-2 ETA."""

from __future__ import annotations

import pytest

from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.spaces import get_space

NB101_TEXT = "ops=input,maxpool3x3,output;matrix=010/001/000"


def _one_line_exit_2(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


# -- 1: the foreign-form hint -------------------------------------------------------------------------------------
def test_a_parse_error_in_python_names_the_space_but_no_cli_option():
    """Would fail: the hint ended '(--space nb101)?', an option the Python API has not."""
    with pytest.raises(UsageError, match=r": it reads like a NAS-Bench-101 cell; is it space 'nb101'\?$") as info:
        get_space("nb201").parse(NB101_TEXT)
    assert "--space" not in str(info.value)


@pytest.fixture
def nb201_surrogate(tmp_path):
    space = get_space("nb201")
    rows = "".join(f'"{space.format(space.sample(i))}",{50 + i},{50 + i}\n' for i in range(30))
    (tmp_path / "t201.csv").write_text("arch,val_acc,test_acc\n" + rows)
    assert main(["surrogate", "fit", "--table", str(tmp_path / "t201.csv"), "--model", "knn",
                 "--out", str(tmp_path / "sur")]) == 0
    return tmp_path / "sur"


def test_a_surrogate_query_of_another_space_says_the_surrogate_fixes_the_space(nb201_surrogate):
    """Would fail: the query advised '--space nb101', which neither the API nor the surrogate can take."""
    from nasforge.benchmarks import SurrogateBenchmark

    with pytest.raises(UsageError) as info:
        SurrogateBenchmark.load(str(nb201_surrogate)).query(NB101_TEXT)
    message = str(info.value)
    assert message.endswith("it reads like a NAS-Bench-101 cell (space 'nb101'), but surrogate 'nb201-knn-v1.0' "
                            "models space 'nb201'"), message
    assert "--space" not in message


def test_surrogate_eval_of_a_table_of_another_space_asks_for_a_table_not_a_space(nb201_surrogate, tmp_path, capsys):
    """Would fail: eval advised '--space nb101', which it then refused (the surrogate models nb201)."""
    (tmp_path / "t101.csv").write_text(f'arch,val_acc,test_acc\n"{NB101_TEXT}",50,50\n')
    err = _one_line_exit_2(["surrogate", "eval", str(nb201_surrogate), "--table", str(tmp_path / "t101.csv"),
                            "--out", str(tmp_path / "ev")], capsys)
    assert err.endswith("it reads like a NAS-Bench-101 cell (space 'nb101'), but surrogate 'nb201-knn-v1.0' models "
                        "space 'nb201': pass a table of that space"), err
    assert "--space" not in err
