"""Fixes from the regression review of the newcomer-40 fixes: old studies' warm-up, trials' stage column,
objective lists, direction spellings, compare's secondary, run-name lookup."""

from __future__ import annotations

import sqlite3
import warnings
import zlib
from pathlib import Path

import pytest

from nasforge.experiment import Study
from nasforge.spaces import get_space


def _score(space: object, arch: object, name: str) -> float | dict[str, float]:
    h = zlib.crc32(space.format(arch).encode()) % 1000  # type: ignore[attr-defined]
    return 50 + h / 100 if name == "evolution" else {"val_acc": 50 + h / 100, "params": float(h % 37)}


def _run(study: Study, n: int) -> list[str]:
    asked = []
    for _ in range(n):
        trial = study.ask()
        asked.append(study.space.format(trial.arch))
        study.tell(trial, _score(study.space, trial.arch, study.record.strategy))
    return asked


@pytest.mark.parametrize("name", ["evolution", "mo_evolution", "nsga2"])
def test_study_stored_by_the_older_warm_up_resumes_exactly(name: str, tmp_path: Path) -> None:
    """A study stored before the warm-up fix (it counted proposals, and recorded no rule) replays exactly, without
    a warning, and goes on as the older rule would (item 1)."""
    space, url = get_space("nb201"), f"sqlite:///{tmp_path / 'old.db'}"
    objectives = "val_acc" if name == "evolution" else ["val_acc", "params"]
    reference = Study(space, name, objectives=objectives, seed=0, name="ref")
    reference.strategy.warmup = "proposals"  # the older rule, as older nasforge ran it
    expected = _run(reference, 30)
    old = Study(space, name, objectives=objectives, seed=0, name="s", storage=url)
    old.strategy.warmup = "proposals"
    _run(old, 25)
    old.close()
    with sqlite3.connect(tmp_path / "old.db") as raw:  # what an older nasforge recorded: no warm-up rule
        raw.execute("UPDATE nasforge_studies SET strategy_config = '{}'")
    raw.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resumed = Study(space, name, objectives=objectives, seed=0, name="s", storage=url, load_if_exists=True)
        assert resumed.strategy.warmup == "proposals"
        assert _run(resumed, 5) == expected[25:]
        resumed.close()
        loaded = Study.load("s", url)
        assert loaded.strategy.warmup == "proposals" and loaded.strategy.n_asked == 30
        loaded.close()


def test_new_studies_keep_the_warm_up_by_asks(tmp_path: Path) -> None:
    """A study stored by this version replays with the new rule (item 1)."""
    space, url = get_space("nb201"), f"sqlite:///{tmp_path / 'new.db'}"
    _run(Study(space, "evolution", objectives="val_acc", seed=0, name="s", storage=url), 25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Study.load("s", url).strategy.warmup == "asks"


def test_a_replay_diverging_after_the_warm_up_is_not_replayed_again(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The two warm-up rules first differ within population_size asks: a study diverging later (e.g. two
    processes) is relearned after one replay, not two (a second would double a long study's load)."""
    from nasforge.experiment import _replay

    space, url = get_space("nb201"), f"sqlite:///{tmp_path / 'late.db'}"
    study = Study(space, "evolution", objectives="val_acc", seed=0, name="s", storage=url, population_size=5)
    _run(study, 12)
    study.strategy.ask()  # a proposal this study never stored: its replay now diverges at ask 12 (> 5)
    _run(study, 3)
    study.close()
    replays = []
    diverges_at = _replay._diverges_at
    monkeypatch.setattr(_replay, "_diverges_at", lambda *a: replays.append(diverges_at(*a)) or replays[-1])
    with pytest.warns(RuntimeWarning, match="replay diverged"):
        Study.load("s", url).close()
    assert replays == [12]


def test_state_dict_saved_before_the_warm_up_rule_loads() -> None:
    """An older state_dict (no warmup key) loads and keeps counting proposals; an unknown rule is refused."""
    from nasforge.exceptions import UsageError
    from nasforge.strategies import get_strategy

    space = get_space("nb201")
    state = get_strategy("evolution", space, seed=1).state_dict()
    del state["warmup"]
    strategy = get_strategy("evolution", space, seed=1)
    strategy.load_state_dict(state)
    assert strategy.warmup == "proposals"
    with pytest.raises(UsageError, match="warmup must be one of"):
        get_strategy("nsga2", space, warmup="ask")


def _staged_run(folder: Path) -> None:
    """A run folder with two COMPLETE and one FAILED search trial, and one retrain."""
    study = Study(get_space("nb201"), "random", objectives="val_acc", seed=0, name="staged",
                  storage=f"sqlite:///{folder / 'study.db'}")
    for _ in range(2):
        study.tell(study.ask(), 50.0)
    study.tell(study.ask(), float("nan"))
    study.tell(study.enqueue(study.trials[0].arch, user_attrs={"stage": "retrain"}), 60.0)
    study.close()


@pytest.fixture
def staged_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path as the working directory, holding the run folder nasforge-runs/staged of :func:`_staged_run`."""
    (tmp_path / "nasforge-runs" / "staged").mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _staged_run(tmp_path / "nasforge-runs" / "staged")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_trials_stage_column_is_the_same_for_any_state_or_limit(staged_cwd: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The stage and user_attrs columns come from the study's trials, not the shown ones (item 2)."""
    import json

    from nasforge.cli import main

    headers = set()
    for extra in ([], ["--state", "FAILED"], ["--limit", "1"], ["--state", "RUNNING"]):
        assert main(["trials", "staged", "--format", "csv", *extra]) == 0
        headers.add(capsys.readouterr().out.splitlines()[0])
    assert len(headers) == 1 and ",stage," in headers.pop()
    assert main(["trials", "staged", "--format", "json", "--state", "FAILED"]) == 0
    assert json.loads(capsys.readouterr().out)["trials"][0]["stage"] == "search"
    assert main(["trials", "staged", "--state", "FAILED"]) == 0
    assert "stage" in capsys.readouterr().out


def test_objective_lists_leave_out_test_acc(capsys: pytest.CaptureFixture[str]) -> None:
    """Help and errors offer only the objectives a search takes: test_acc is refused as one (item 3)."""
    from nasforge.cli import main
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import SearchConfig, parse_objectives

    assert main(["search", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "metrics: val_acc, val_loss," in help_text and "test_acc" not in help_text
    with pytest.raises(UsageError, match="unknown objective 'teest_acc'") as info:
        parse_objectives("val_acc,teest_acc")
    assert "test_acc'" not in str(info.value).replace("teest_acc", "")
    with pytest.raises(UsageError, match="must name metrics of") as info:
        SearchConfig(objectives="nope", strategy="evolution").validate()
    assert "'test_acc'" not in str(info.value)


class _Stop(Exception):
    """Ends a command once it has read its arguments."""


@pytest.mark.parametrize(("command", "target"),
                         [(["surrogate", "eval", "x"], "nasforge.benchmarks.SurrogateBenchmark.load"),
                          (["predictors", "eval"], "nasforge.cli.predictors.load_table")])
def test_eval_direction_takes_max_and_min(command: list[str], target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """surrogate eval / predictors eval --direction take max/min (any case) as bench does (item 4)."""
    from nasforge.cli import build_parser

    def stop(*args: object, **kwargs: object) -> None:
        raise _Stop

    monkeypatch.setattr(target, stop)
    parser = build_parser()
    for given, expected in (("max", "maximize"), ("MIN", "minimize"), ("maximize", "maximize")):
        args = parser.parse_args([*command, "--direction", given])
        with pytest.raises(_Stop):
            args.func(args)
        assert args.direction == expected
    with pytest.raises(SystemExit):
        parser.parse_args([*command, "--direction", "up"])


def test_compare_auto_secondary_resolves_as_bench(nb201_table: object) -> None:
    """compare(secondary="auto") takes the objective's data set's test column, as nasforge bench (item 5)."""
    from nasforge.analysis.harness import compare, default_secondaries

    assert default_secondaries("cifar100-val") == ["cifar100-test", "test_acc"]
    assert default_secondaries("val_acc") == ["test_acc"]
    report = compare(nb201_table, ["random"], seeds=1, budget=5, objective="cifar100-val", workers=1)
    assert report.secondary == "cifar100-test"
    assert compare(nb201_table, ["random"], seeds=1, budget=5, workers=1).secondary == "test_acc"


def test_run_name_lookup_in_export_and_misses(staged_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """export finds ./nasforge-runs/NAME as status does; a miss names every place looked (item 6)."""
    from nasforge.cli import main

    other = Study(get_space("nb201"), "random", objectives="val_acc", seed=0, name="other",
                  storage=f"sqlite:///{staged_cwd / 'nasforge.db'}")
    other.close()
    assert main(["export", "staged", "--out", "net.onnx"]) == 2
    assert "study staged has no retrained network saved" in capsys.readouterr().err  # found, unlike before
    assert main(["export", "nosuch", "--out", "net.onnx"]) == 2
    assert "nasforge-runs/nosuch/ holds no study.db" in capsys.readouterr().err
    for command in (["status", "nosuch"], ["delete", "nosuch"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "no run folder 'nosuch' or nasforge-runs/nosuch/, and no such study in sqlite:///nasforge.db" in err
        assert "studies: ['other']" in err
    assert main(["report", "nosuch", "--out", "r.html"]) == 2
    assert "no nasforge-runs/nosuch/, and as a study name: no study 'nosuch'" in capsys.readouterr().err


def test_study_names_the_strategy_setting_a_misspelt_keyword_is_closest_to() -> None:
    """Study(...) gives the strategy's settings and a did-you-mean, as --strategy-kwargs does (docs review 40)."""
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match="\\(it takes: dedup, population_size, .*'populaton_size': did you mean "
                                         "'population_size'\\?\\)"):
        Study(get_space("nb201"), "evolution", objectives="val_acc", seed=0, populaton_size=5)
    with pytest.raises(UsageError, match="did you mean storage=\\?"):
        Study(get_space("nb201"), "evolution", objectives="val_acc", seed=0, storag="x")
