"""Fix 52 (benchmark scripts review): partial or other-settings runs never replace the stored results; bad
arguments are refused before any training; a lost-work ordering and two misleading messages."""

from __future__ import annotations

import json
import re
import sys

import pytest


def run_main(module, monkeypatch, argv: list[str]) -> None:
    """``module.main()`` as if run as ``python benchmarks/NAME.py *argv``."""
    monkeypatch.setattr(sys, "argv", [f"{module.__name__}.py", *argv])
    module.main()


def no_work(*args, **kwargs):
    raise AssertionError("the script started its work before refusing")


def test_bad_inputs_only_refuses_the_full_run_and_records_only(bench_module, monkeypatch, tmp_path):
    """Would fail before: ``--only X`` replaced a stored 392-case file by the X cases, recording no ``only``."""
    bad_inputs = bench_module("bad_inputs")
    full = tmp_path / "full.json"
    full.write_text(json.dumps({"cases": 392, "results": []}))
    monkeypatch.setattr(bad_inputs, "build_fixtures", no_work)
    with pytest.raises(SystemExit, match=r"full.json holds results of a run with only '', not 'cli:delete'"):
        run_main(bad_inputs, monkeypatch, ["--only", "cli:delete", "--out", str(full)])
    assert json.loads(full.read_text())["cases"] == 392
    monkeypatch.setattr(bad_inputs, "build_fixtures", lambda folder: None)
    run_main(bad_inputs, monkeypatch, ["--only", "no-such-case", "--out", str(tmp_path / "subset.json")])
    subset = json.loads((tmp_path / "subset.json").read_text())
    assert subset["only"] == "no-such-case" and subset["timeout"] == 40.0 and subset["cases"] == 0


def test_strategy_exhaustion_keeps_the_rows_it_does_not_run(bench_module, monkeypatch, tmp_path):
    """Would fail before: ``--failing "" --used-up tpe`` left 0 + 1 rows of the stored 5 + 7."""
    exhaustion = bench_module("strategy_exhaustion")
    out = tmp_path / "se.json"
    out.write_text(json.dumps({"failing_children": [{"strategy": "evolution", "asks_answered": 9, "of": 2000}],
                               "used_up_space": [{"strategy": "tpe", "trials": 1}, {"strategy": "smac", "trials": 2}]}))
    monkeypatch.setattr(exhaustion, "used_up_space", lambda name: {"strategy": name, "trials": 54})
    run_main(exhaustion, monkeypatch, ["--failing", "", "--used-up", "tpe,bananas", "--out", str(out)])
    assert json.loads(out.read_text()) == {
        "failing_children": [{"strategy": "evolution", "asks_answered": 9, "of": 2000}],
        "used_up_space": [{"strategy": "tpe", "trials": 54}, {"strategy": "smac", "trials": 2},
                          {"strategy": "bananas", "trials": 54}]}
    monkeypatch.setattr(exhaustion, "failing_children", no_work)
    with pytest.raises(SystemExit, match=r"rows of --asks 2000, not 10; nothing replaced"):
        run_main(exhaustion, monkeypatch, ["--asks", "10", "--failing", "npenas", "--used-up", "", "--out", str(out)])


@pytest.mark.parametrize("argv, setting", [(["--canonical-rule", "functional"], "canonical_rule 'network'"),
                                           (["--budget", "50"], "budget 200"),
                                           (["--class-split", "--model", "xgb"], "model 'lgb'")])
def test_surrogate_fidelity_refuses_results_of_other_settings(bench_module, monkeypatch, tmp_path, argv, setting):
    """Would fail before: ``--canonical-rule functional`` (as docs/predictors.md shows) replaced the stored
    ``network``-rule results; ``--runs``/``--budget`` were not recorded at all."""
    fidelity = bench_module("surrogate_fidelity")
    out = tmp_path / "sf.json"
    out.write_text(json.dumps({"model": "lgb", "canonical_rule": "network"}))  # runs and budget: their defaults then
    monkeypatch.setattr(fidelity, "load_nb201", no_work)
    with pytest.raises(SystemExit, match=f"sf.json holds results of a run with {setting}"):
        run_main(fidelity, monkeypatch, [*argv, "--out", str(out)])


@pytest.mark.parametrize("argv", [[], ["--class-split"]])
def test_surrogate_fidelity_default_settings_match_the_stored_results(bench_module, monkeypatch, argv):
    """The stored files (written before the settings were recorded) are not refused to a rerun of their settings."""
    fidelity = bench_module("surrogate_fidelity")
    monkeypatch.setattr(fidelity, "load_nb201", no_work)
    with pytest.raises(AssertionError, match="started its work"):
        run_main(fidelity, monkeypatch, argv)


@pytest.mark.parametrize("argv, refusal", [
    ([], "oneshot_ranking.json holds results of a run with supernet_seeds 4, not 3"),
    (["--supernet-seeds", "4"], "oneshot_ranking.json holds results of a run with supernet_width 1, not 4"),
    (["--supernet-seeds", "4", "--supernet-width", "1", "--supernet-weight-decay", "3e-4", "--score-by", "acc"],
     None),  # docs/oneshot.md's command of the stored file
    (["--seed", "1", "--supernet-seeds", "4", "--tricks", "", "--name", "oneshot_ranking_s1_wide"], None),
    (["--seed", "1", "--supernet-seeds", "4", "--tricks", "", "--supernet-width", "1", "--name",
      "oneshot_ranking_s1_wide"], "oneshot_ranking_s1_wide.json holds results of a run with supernet_width 4, not 1")])
def test_oneshot_ranking_refuses_to_replace_results_of_other_settings(bench_module, monkeypatch, argv, refusal):
    """Would fail before: a plain run (today's defaults) replaced ``oneshot_ranking.json``, the old-settings run
    docs/oneshot.md cites and oneshot_supernet_settings.py reads. The stored files, of older versions, are read
    with the settings of then (no ``supernet_width``: supernets of ``supernet_C`` channels or the ground truth's)."""
    ranking = bench_module("oneshot_ranking")
    monkeypatch.setattr(ranking, "run_ranking_study", no_work)
    if refusal is None:
        with pytest.raises(AssertionError, match="started its work"):
            run_main(ranking, monkeypatch, argv)
    else:
        with pytest.raises(SystemExit, match=refusal + r"; nothing replaced \(choose another --name"):
            run_main(ranking, monkeypatch, argv)


@pytest.fixture()
def gt_reproduce(bench_module, monkeypatch):
    """oneshot_gt_reproduce.py on a stored study of 3 architectures and 2 ground-truth seeds, whose retraining
    gives back the stored figures."""
    from types import SimpleNamespace

    reproduce = bench_module("oneshot_gt_reproduce")
    truth = {"acc": [[80.0, 81.0, 82.0], [80.5, 81.5, 79.0]], "loss": [[0.3, 0.2, 0.1], [0.25, 0.2, 0.3]],
             "params": [1, 2, 3]}
    monkeypatch.setattr(reproduce, "stored_study", lambda path: ({"ground_truth": truth}, SimpleNamespace(gt_seeds=2),
                                                                 ["a", "b", "c"], None))

    def retrained(cfg, archs, data, storage, seeds):
        return [[{"val_acc": a, "val_loss": v} for a, v in zip(truth["acc"][seeds[0]], truth["loss"][seeds[0]])]]

    monkeypatch.setattr(reproduce, "train_standalone", retrained)
    return reproduce


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0", "--rescore", "settings.json"], "--rescore needs every ground-truth seed retrained: --seeds 0,1"),
    (["--seeds", "0,1", "--rescore", "missing.json"], "--rescore missing.json: cannot read it"),
    (["--seeds", "0,2"], "--seeds must be distinct ground-truth seeds of the study \\(0,1\\), got '0,2'"),
    (["--seeds", "x"], "--seeds must be comma-separated whole numbers")])
def test_gt_reproduce_refuses_seeds_and_rescore_before_training(gt_reproduce, monkeypatch, tmp_path, capsys, argv,
                                                                 message):
    """Would fail before: both --rescore refusals (and a missing file's traceback) came after retraining every seed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(gt_reproduce, "train_standalone", no_work)
    with pytest.raises(SystemExit) as exc:
        run_main(gt_reproduce, monkeypatch, ["study.json", *argv])
    assert re.search(message, str(exc.value.code) + capsys.readouterr().err)


def test_gt_reproduce_writes_out_before_rescoring(gt_reproduce, monkeypatch, tmp_path):
    """Would fail before: --out was written only after rescoring, so a failed rescoring lost the retraining."""
    (tmp_path / "settings.json").write_text(json.dumps({"settings": ["x"], "runs": []}))

    def broken(*args):
        raise RuntimeError("rescoring failed")

    monkeypatch.setattr(gt_reproduce, "rescore", broken)
    out = tmp_path / "o.json"
    with pytest.raises(RuntimeError, match="rescoring failed"):
        run_main(gt_reproduce, monkeypatch, ["study.json", "--seeds", "0,1", "--out", str(out), "--rescore",
                                             str(tmp_path / "settings.json")])
    assert json.loads(out.read_text())["seeds"]["1"]["identical_acc"] == 3


@pytest.mark.parametrize("argv, message", [
    (["--group", "split", "--variants", "fixed,bogus"], "--variants: unknown 'bogus'; choose from fixed, gm1"),
    (["--group", "split", "--scorers", "recal 9"], "--scorers: unknown 'recal 9'; choose from recal 8, "),
    (["--group", "continue", "--epochs", "100"], r"--split-epoch must be from 1 to below --epochs \(100\)"),
    (["--seeds", "0,a"], "--seeds must be comma-separated whole numbers")])
def test_fewshot_refuses_bad_arguments_before_the_ground_truth(bench_module, monkeypatch, capsys, argv, message):
    """Would fail before: these were taken, and failed (KeyError, load_state_dict({})) only after training."""
    fewshot = bench_module("oneshot_fewshot")
    monkeypatch.setattr(fewshot, "study_setup", no_work)
    with pytest.raises(SystemExit) as exc:
        run_main(fewshot, monkeypatch, argv)
    assert exc.value.code == 2 and re.search(message, capsys.readouterr().err)


def test_fewshot_creates_its_study_folder(bench_module, monkeypatch, tmp_path):
    """Would fail before: a new --out stopped with a StorageError traceback (the database's folder did not exist)."""
    from nasforge.oneshot.study import RankingConfig

    fewshot = bench_module("oneshot_fewshot")
    opened = []

    def ground_truth(cfg, archs, data, storage):
        opened.append(storage)
        raise KeyboardInterrupt  # the folder is all this test needs

    monkeypatch.setattr(fewshot, "ground_truth", ground_truth)
    monkeypatch.setattr(fewshot, "study_data", lambda *args: None)
    with pytest.raises(KeyboardInterrupt):
        fewshot.study_setup(RankingConfig(supernet_width=1), str(tmp_path / "new" / "study"))
    assert (tmp_path / "new" / "study").is_dir() and opened[0].endswith("new/study/ground_truth.db")


def test_derive_refuses_epochs_within_the_warm_up_before_training(bench_module, monkeypatch, capsys):
    """Would fail before: --epochs 5 trained darts and darts-pt, then stopped with a UsageError traceback."""
    derive = bench_module("oneshot_derive")
    monkeypatch.setattr(derive, "stored_study", no_work)
    with pytest.raises(SystemExit) as exc:
        run_main(derive, monkeypatch, ["--epochs", "5"])
    assert exc.value.code == 2
    assert "--epochs must be above the tricks' 5 warm-up epochs, got 5" in capsys.readouterr().err
    with pytest.raises(AssertionError, match="started its work"):
        run_main(derive, monkeypatch, ["--epochs", "6"])


def test_study_scale_adds_its_label_to_the_stored_entries(bench_module, monkeypatch, tmp_path):
    """Would fail before: every run replaced the file by its flat figures, so the documented two-checkout
    comparison kept only the second run (and the stored ``today``/``before`` file was lost)."""
    scale = bench_module("study_scale")
    out = tmp_path / "ss.json"
    stored = {"command": "PYTHONPATH=<checkout>/src python benchmarks/study_scale.py", "date": "2026-12-05",
              "today": {"memory": {"trials": 20000}}, "before": {"memory": {"trials": 20000}}}
    out.write_text(json.dumps(stored))
    monkeypatch.setattr(scale, "per_tenth", lambda storage, trials: {"trials": trials})
    monkeypatch.setattr(scale, "command_seconds", lambda argv: 0.5)
    run_main(scale, monkeypatch, ["--trials", "10", "--sqlite-trials", "10", "--label", "other", "--out", str(out)])
    merged = json.loads(out.read_text())
    assert {k: merged[k] for k in stored} == stored
    assert merged["other"]["memory"] == {"trials": 10} and merged["other"]["commands_seconds"]["status"] == 0.5
    monkeypatch.setattr(scale, "per_tenth", no_work)
    with pytest.raises(SystemExit):
        run_main(scale, monkeypatch, ["--label", "date", "--out", str(out)])


def test_learning_compare_says_a_run_is_shorter_than_the_first_checkpoint(bench_module, capsys):
    """Would fail before: a 10-trial row with its per-seed traces was said to be stored without them."""
    learning = bench_module("strategies_learning")

    def row(trials: int, per_seed: bool = True) -> dict:
        traces = {"per_seed": {str(s): {"values": [90.0 + s] * trials, "seconds": 0.1} for s in (0, 1)}}
        return {"seeds": 2, "trials": trials, **(traces if per_seed else {})}

    with pytest.raises(SystemExit, match=r"--compare random: its row ran 10 evaluations, fewer than the first "
                                         r"checkpoint \(50\); rerun it to compare"):
        learning.compare_rows({"random": row(10), "tpe": row(10)}, 100.0, "random")
    learning.compare_rows({"random": row(60), "short": row(10), "old": row(60, per_seed=False)}, 100.0, "random")
    out = capsys.readouterr().out
    assert "random vs short: short's row ran 10 evaluations, fewer than the first checkpoint (50), not compared" in out
    assert "random vs old: old's row was stored without per-seed traces, not compared" in out
