"""Fixes of the 2026-12-06 multi-fidelity review: ASHA with dedup=False on a small space, the summary's
hypervolume of one objective, the budget of the best trial in status and the front table, --pruner hyperband."""

from __future__ import annotations

import collections
import json

import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.experiment.pruners import get_pruner
from nasforge.spaces import get_space
from nasforge.strategies import get_strategy


def _chain6():
    return get_space("chain", layers=[["a", "b", "c"], ["x", "y"]])  # 6 architectures


def _score(arch, fidelity):
    return {"val_acc": (sum(map(ord, str(arch.genotype))) % 100) / 10 + fidelity["epochs"]}


def test_asha_without_dedup_reaches_the_full_budget_on_a_small_space():
    study = Study(_chain6(), "asha", seed=0, max_budget=9, eta=3, dedup=False, objectives="val_acc")
    study.optimize(_score, n_trials=60)
    counts = collections.Counter(t.fidelity["epochs"] for t in study.trials)
    assert counts[9] >= 1 and sum(counts.values()) == 60
    assert study.best_trial.fidelity == {"epochs": 9}


def test_asha_without_dedup_promotes_while_two_workers_keep_repeats_running():
    asha = get_strategy("asha", _chain6(), seed=0, max_budget=9, eta=3, dedup=False)
    running: list = []
    budgets = []
    for _ in range(60):  # two workers: one evaluation is always running when the other asks
        arch = asha.ask()
        running.append((arch, dict(asha.asked_fidelity)))
        budgets.append(asha.asked_fidelity["epochs"])
        if len(running) == 2:
            done, fidelity = running.pop(0)
            asha.tell(done, _score(done, fidelity)["val_acc"])
    assert 9 in budgets


def test_asha_with_dedup_on_a_small_space_is_unchanged():
    study = Study(_chain6(), "asha", seed=0, max_budget=9, eta=3, objectives="val_acc")
    study.optimize(_score, n_trials=60)
    assert collections.Counter(t.fidelity["epochs"] for t in study.trials) == {1: 6, 3: 2, 9: 1}


def test_status_names_the_budget_of_the_best_trial_in_a_multi_fidelity_study(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study(_chain6(), "hyperband", seed=0, max_budget=9, eta=3, objectives="val_acc", name="mf",
          storage=url).optimize(_score, n_trials=5)  # all 5 in the first bracket, at 1 epoch
    Study(_chain6(), "random", seed=0, objectives="val_acc", name="flat", storage=url).optimize(
        lambda arch: _score(arch, {"epochs": 1}), n_trials=2)
    assert main(["status", "mf", "--storage", url]) == 0
    assert "\nbest (at epochs=1 of 9): trial " in capsys.readouterr().out
    assert main(["status", "flat", "--storage", url]) == 0
    assert "\nbest: trial " in capsys.readouterr().out


def test_a_multi_fidelity_search_has_no_single_objective_hypervolume_and_its_front_names_the_budget(tmp_path,
                                                                                                      capsys):
    out = tmp_path / "run"
    assert main(["search", "--strategy", "hyperband", "--objectives", "val_acc", "--trials", "3", "--retrain", "0",
                 "--workers", "1", "--threads", "1", "--strategy-kwargs", '{"max_budget": 2, "eta": 2}',
                 "--name", "hb", "--out", str(out), "--no-progress"]) == 0
    assert "search trials (ranked at epochs=2 of 2; cost: full-size network)" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["hypervolume"] is None and summary["hypervolume_reference"] is None
    assert main(["status", str(out)]) == 0
    assert "best (at epochs=2 of 2): trial" in capsys.readouterr().out


def test_a_strategy_given_as_pruner_is_pointed_to_the_strategy_option(tmp_path, capsys):
    with pytest.raises(UsageError, match=r"unknown pruner 'hyperband' \('hyperband' is a multi-fidelity strategy, "
                                         r"not a pruner: .*; give it as the strategy of a new study\); "
                                         r"choose from asha"):
        get_pruner("hyperband")
    with pytest.raises(UsageError, match=r"unknown pruner 'meidan' \(did you mean 'median'\?\)"):
        get_pruner("meidan")
    assert main(["search", "--pruner", "BOHB", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "--pruner: unknown pruner 'BOHB' ('bohb' is a multi-fidelity strategy, not a pruner: it chooses each " \
           "trial's budget itself; give it as --strategy bohb); give one of asha, curve, median, none" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "run").exists()
    assert main(["search", "--pruner", "ASHA", "--out", str(tmp_path / "run")]) == 2  # a pruner's name, other case
    err = capsys.readouterr().err
    assert "unknown pruner 'ASHA' (did you mean 'asha'?)" in err and "strategy" not in err, err
