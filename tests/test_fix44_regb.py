"""Regression review 44 (rb) fixes: the foreign-form hint names no CLI option in Python errors and no --space where
a surrogate fixes the space; SearchConfig.space "not given" means the supernet's space; refusals name no space the
user never gave; one stage-2 ETA."""

from __future__ import annotations

import re

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


# -- 2/3: SearchConfig.space not given: the supernet's space; refusals name no space the user never gave ----------
def test_a_config_without_space_is_named_for_nb201_with_the_training_evaluator():
    from nasforge.pipelines.search import SearchConfig

    assert SearchConfig().space is None
    assert SearchConfig().resolved().name.startswith("search-nb201-digits-")


@pytest.mark.usefixtures("torch_one_thread")
@pytest.mark.slow  # kept out of the default suite, over its 10-minute budget (run with -m slow)
def test_run_search_without_space_searches_a_darts_supernet_in_its_space(tmp_path):
    """Would fail: SearchConfig.space defaulted to nb201 and the API refused what the CLI searched."""
    pytest.importorskip("torch")
    from nasforge.oneshot import build_supernet
    from nasforge.oneshot.checkpoint import save_supernet
    from nasforge.pipelines.search import SearchConfig, run_search

    save_supernet(build_supernet("darts", 10, 1, C=2, N=1), tmp_path / "ck",
                  {"data": {"data": "digits", "data_options": {}}})
    summary = run_search(SearchConfig(evaluator="supernet", supernet=str(tmp_path / "ck"), objectives=["val_acc"],
                                      strategy="random", trials=2, retrain=0, workers=1, out=str(tmp_path / "run")))
    assert summary["space"] == "darts"


@pytest.mark.parametrize("record, expected", [
    ({"space": "model_space", "space_config": {"module": "x.py:M"}},
     "it is a supernet of the model space of module x.py:M; search it in that space (--space-module x.py:M"),
    ({"space": "chain", "space_config": {"layers": [["conv3", "bogus"]], "stages": [1, 1, 1]}},
     "supernet.json is damaged: its space 'chain' cannot be rebuilt from the options it records (")])
def test_a_supernet_whose_space_is_not_taken_is_refused_without_naming_nb201(record, expected, tmp_path, capsys):
    """Would fail: 'it is a supernet of space ..., which is not the search space 'nb201''."""
    import json

    from nasforge.pipelines.search import SearchConfig, run_search

    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "supernet.json").write_text(json.dumps(record))
    with pytest.raises(UsageError, match=re.escape(expected)) as info:
        run_search(SearchConfig(evaluator="supernet", supernet=str(tmp_path / "ck"), trials=2, retrain=0,
                                out=str(tmp_path / "run")))
    assert "nb201" not in str(info.value)
    err = _one_line_exit_2(["search", "--evaluator", "supernet", "--supernet", str(tmp_path / "ck"), "--trials", "2",
                            "--retrain", "0", "--out", str(tmp_path / "run")], capsys)
    assert expected in err and "nb201" not in err, err


# -- 5: stage 2 shows one ETA ------------------------------------------------------------------------------------
def test_a_reporter_made_inside_eta_from_shows_that_estimate():
    import io

    from nasforge.experiment.progress import ProgressReporter, eta_from

    with eta_from(lambda: 52.0):
        inside = ProgressReporter("s", 4, stream=io.StringIO())
    outside = ProgressReporter("s", 4, stream=io.StringIO())
    for reporter in (inside, outside):
        reporter.update(1, 0, 1, None)
    assert inside.stream.getvalue().rstrip().endswith("eta 0m52s")
    assert not outside.stream.getvalue().rstrip().endswith("eta 0m52s")


def test_stage_2_prints_the_per_network_eta_on_its_progress_line_too(tmp_path, capsys, monkeypatch):
    """Would fail: the progress line's own rule gave about 3x the per-network ETA printed one line above."""
    import io

    from rich.console import Console

    from nasforge.experiment.progress import ProgressReporter
    from nasforge.pipelines import search

    monkeypatch.setattr(ProgressReporter.__init__, "__defaults__", (None, 0.0))  # a line per trial, however fast
    per_network = search.RetrainProgress._eta
    monkeypatch.setattr(search.RetrainProgress, "_eta",  # 1h10m while a network is left: told apart from any other
                        lambda self, study, now: None if per_network(self, study, now) is None else 4242.0)
    out = io.StringIO()
    search.run_search(search.SearchConfig(trials=6, retrain=2, search_epochs=1, final_epochs=1, workers=1, threads=1,
                                          strategy="mo_random", out=str(tmp_path / "run")),
                      console=Console(file=out, width=300))
    assert "1 of 2 networks done after" in out.getvalue() and "; eta ~1h10m" in out.getvalue(), out.getvalue()
    assert re.search(r"done 1/2 .*\| eta 1h10m$", capsys.readouterr().err, re.MULTILINE)
