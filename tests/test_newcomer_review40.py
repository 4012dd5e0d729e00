"""Fixes from the newcomer review 40: strategies' warm-up, search objectives and directions, messages."""

from __future__ import annotations

import pytest

from nasforge.spaces import get_space
from nasforge.strategies import get_strategy


@pytest.mark.parametrize("name", ["evolution", "mo_evolution", "nsga2"])
def test_warm_up_is_the_first_population_size_asks(name: str) -> None:
    """Duplicates ask rejects do not use up the warm-up: the first 20 asks are random search's 20 (item 1)."""
    space = get_space("nb201")
    for seed in range(20):
        strategy, random = get_strategy(name, space, seed=seed), get_strategy("random", space, seed=seed)
        for i in range(20):
            arch, expected = strategy.ask(), random.ask()
            assert space.canonical_key(arch) == space.canonical_key(expected), (seed, i)
            score = float(i % 7)
            strategy.tell(arch, score if name == "evolution" else (score, -float(i % 3)))
            random.tell(expected, score)
        assert strategy.n_random == 20


def test_search_refuses_test_acc_as_objective() -> None:
    """The test split only reports: a search on it would report on the data that chose the network (item 2)."""
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import SearchConfig

    with pytest.raises(UsageError, match="must not include test_acc: the test split only reports"):
        SearchConfig(objectives="test_acc", strategy="evolution").validate()
    SearchConfig(objectives="test_acc", strategy="evolution").validate(resumed=True)  # a stored run still resumes


def test_single_objective_strategy_hint_names_objectives() -> None:
    """The two objectives came from the default: the message says to give one (item 3)."""
    from nasforge.exceptions import UsageError
    from nasforge.experiment import Study
    from nasforge.pipelines.search import SearchConfig

    with pytest.raises(UsageError, match=r"--objectives must be one metric for strategy 'evolution'.*"
                                         r"e\.g\. --objectives val_acc"):
        SearchConfig(strategy="evolution").validate(lambda name: f"--{name}")
    with pytest.raises(UsageError, match=r"or give one \(e\.g\. objectives='val_acc'\)"):
        Study(get_space("nb201"), "evolution", objectives=["val_acc", "params"])


@pytest.mark.parametrize(("objectives", "directions"), [("val_acc", ["maximize"]), ("params", ["minimize"]),
                                                         (["val_acc", "flops"], ["maximize", "minimize"])])
def test_search_config_default_directions_follow_objectives(objectives: object, directions: list[str]) -> None:
    """SearchConfig(objectives="val_acc") was refused: the two default directions outlived the objectives (item 4)."""
    from nasforge.pipelines.search import SearchConfig

    config = SearchConfig(objectives=objectives, strategy="evolution" if len(directions) == 1 else "mo_evolution")
    config.validate()
    assert config.directions == directions


def test_search_config_direction_count_message() -> None:
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import SearchConfig

    with pytest.raises(UsageError, match=r"must give one direction per objective \(1: val_acc\)"):
        SearchConfig(objectives="val_acc", directions=["max", "min"], strategy="evolution").validate()


def test_registry_names_parameters_and_guesses() -> None:
    """A wrong strategy setting lists the settings and guesses the meant one; names get a did-you-mean (8, 9)."""
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import SearchConfig

    with pytest.raises(UsageError, match=r"\(it takes: seed, dedup, population_size, sample_size, crossover_prob, "
                                         r"warmup; "
                                         r"'populaton_size': did you mean 'population_size'\?\)"):
        get_strategy("evolution", get_space("nb201"), populaton_size=3)
    with pytest.raises(UsageError, match=r"it takes: population_size, sample_size, warmup; 'population': did you mean "
                                         r"'population_size'\?"):
        SearchConfig(strategy_kwargs={"population": 3}).validate()
    for typo, meant in (("evolutoin", "evolution"), ("Random", "random"), ("RE", "re")):
        with pytest.raises(UsageError, match=rf"unknown strategy '{typo}' \(did you mean '{meant}'\?\)"):
            get_strategy(typo, get_space("nb201"))
    with pytest.raises(UsageError, match=r"unknown strategy 'evolutoin' \(did you mean 'evolution'\?\)"):
        SearchConfig(strategy="evolutoin").validate()


@pytest.mark.parametrize("written", ["max", "MAX", "maximize", "Maximize"])
def test_one_direction_grammar(written: str) -> None:
    """max/min and maximize/minimize are taken alike by Study, SearchConfig and to_maximization (item 10)."""
    from nasforge.experiment import Study
    from nasforge.pareto import to_maximization
    from nasforge.pipelines.search import SearchConfig, parse_objectives

    assert Study(get_space("nb201"), "evolution", objectives="val_acc", directions=written).directions == ["maximize"]
    assert SearchConfig(objectives="val_acc", directions=written).directions == ["maximize"]
    assert parse_objectives(f"val_acc:{written}")[1] == ["maximize"]
    minimize = written.replace("max", "min").replace("MAX", "MIN").replace("Max", "Min")
    assert to_maximization([[1.0]], minimize)[0][0] == -1.0


def test_compare_secondary_default_follows_the_table(nb201_table) -> None:
    """compare() on a table without test_acc reported test_acc by default and failed (item 6); "max" works too."""
    import pandas as pd

    from nasforge.analysis.harness import compare
    from nasforge.benchmarks import TabularBenchmark

    archs = [nb201_table.space.format(a) for a in nb201_table.archs]
    frame = pd.DataFrame({"arch": archs, "acc": nb201_table.values("val_acc")})
    report = compare(TabularBenchmark(frame, nb201_table.space), ["random"], seeds=1, budget=5, objective="acc",
                     direction="max", workers=1)
    assert (report.secondary, report.direction) == (None, "maximize")
    assert compare(nb201_table, ["random"], seeds=1, budget=5, workers=1).secondary == "test_acc"


def test_bench_strategy_typo_and_direction(nb201_table, tmp_path, capsys) -> None:
    """bench: a did-you-mean, only strategies bench runs listed, and --direction max (items 9, 10)."""
    from nasforge.cli import main

    assert main(["bench", "--strategies", "evolutoin", "--seeds", "1", "--trials", "5",
                 "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "(did you mean 'evolution'?)" in err and "'ts_hvi'" not in err and "'hyperband'" not in err
    assert main(["bench", "--strategies", "random", "--direction", "max", "--seeds", "1", "--trials", "5",
                 "--out", str(tmp_path / "b")]) == 0


def _run_folder(root, name: str, stages: bool = False) -> None:
    """A study ``name`` stored as search stores it: ``root/nasforge-runs/name/study.db`` (a retrain if ``stages``)."""
    from nasforge.experiment import Study

    folder = root / "nasforge-runs" / name
    folder.mkdir(parents=True)
    study = Study(get_space("nb201"), "random", objectives="val_acc", seed=0, name=name,
                  storage=f"sqlite:///{folder / 'study.db'}")
    for _ in range(2):
        study.tell(study.ask(), 50.0)
    if stages:
        study.tell(study.enqueue(study.trials[0].arch, user_attrs={"stage": "retrain"}), 60.0)


def test_default_run_folder_found_by_name(tmp_path, monkeypatch, capsys) -> None:
    """status/trials/delete find the name search printed in ./nasforge-runs/; a miss names the places (item 5)."""
    from nasforge.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["studies"]) == 2
    assert "no database file 'nasforge.db' here" in capsys.readouterr().err
    _run_folder(tmp_path, "search-x")
    assert main(["status", "search-x"]) == 0 and "study 'search-x'" in capsys.readouterr().out
    assert main(["trials", "search-x", "--format", "csv"]) == 0
    assert main(["status", "search-y"]) == 2
    assert "no run folder 'search-y' or nasforge-runs/search-y/" in capsys.readouterr().err
    assert main(["studies"]) == 2
    assert "runs there: search-x" in capsys.readouterr().err
    assert main(["delete", "search-x", "--yes"]) == 0


def test_trials_stage_column_in_csv_and_json(tmp_path, monkeypatch, capsys) -> None:
    """A search trial's stage is 'search' in CSV and JSON as in the table, not blank (item 7)."""
    import json

    from nasforge.cli import main

    monkeypatch.chdir(tmp_path)
    _run_folder(tmp_path, "staged", stages=True)
    capsys.readouterr()
    assert main(["trials", "staged", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("number,state,arch,stage,")
    assert [line.split(",")[3] for line in lines[1:]] == ["search", "search", "retrain"]
    assert main(["trials", "staged", "--format", "json"]) == 0
    assert [t["stage"] for t in json.loads(capsys.readouterr().out)["trials"]] == ["search", "search", "retrain"]
