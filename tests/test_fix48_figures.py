"""Review 48 fixes (figures): the benchmark scripts whose default ``--out`` is a committed reference refuse, before
any work, to mix into it or replace it with results of other settings (NB201 rule, split, predictor rows); a stored
file or row recording no setting counts as the one it was measured with."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture()
def bench_main(monkeypatch):
    """Run a script of ``benchmarks/`` by name with the given arguments (its folder on ``sys.path``, as when run)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))

    def run(name: str, *argv: str) -> None:
        module = importlib.import_module(name)
        monkeypatch.setattr(sys, "argv", [f"{name}.py", *argv])
        module.main()

    return run


def _refused(bench_main, path: Path, name: str, *argv: str) -> str:
    """The one-line refusal of running ``name`` with ``argv`` into ``path``, which must be left as it was."""
    before = path.read_bytes()
    with pytest.raises(SystemExit) as stop:
        bench_main(name, *argv)
    assert path.read_bytes() == before
    message = str(stop.value)
    assert "\n" not in message and "nothing replaced" in message
    return message


def test_learning_refuses_network_rows_into_an_old_rule_table(bench_main, tmp_path):
    path = tmp_path / "strategies_learning_cifar10.json"
    path.write_text(json.dumps({"random": {"seeds": 100, "trials": 300, "per_seed": {}}}))  # no rule: the old one
    message = _refused(bench_main, path, "strategies_learning", "--strategies", "random", "--seeds", "2",
                       "--out", str(tmp_path))
    assert "'functional' rule" in message and "'network'" in message


def test_learning_rule_check_takes_a_matching_or_empty_table(bench_main):
    learning = importlib.import_module("strategies_learning")
    old = {"random": {"trials": 300}}
    assert learning.rule_refusal(Path("f.json"), old, "functional") is None
    assert learning.rule_refusal(Path("f.json"), {}, "network") is None
    assert learning.rule_refusal(Path("f.json"), {"tpe": {"canonical_rule": "network"}}, "network") is None
    assert "'network' rule" in learning.rule_refusal(Path("f.json"), {"tpe": {"canonical_rule": "network"}},
                                                     "functional")


def test_predictors_eval_keeps_the_row_split_reference(bench_main, tmp_path):
    path = tmp_path / "predictors_nb201.json"
    stored = {"seeds": 3, "test_size": 5000, "settings": {"100": {"knn": {}}}, "summary": [], "runs": []}
    path.write_text(json.dumps(stored))  # no split recorded: the row split of before 2026-12-06
    message = _refused(bench_main, path, "predictors_eval", "--predictors", '{"knn": {}}', "--sizes", "100",
                       "--out", str(path))
    assert "split 'row', not 'class'" in message
    message = _refused(bench_main, path, "predictors_eval", "--split", "row", "--predictors", '{"rf": {}}',
                       "--sizes", "100", "--out", str(path))
    assert "rows at 100 architectures of other predictor settings (knn)" in message
    path.write_text(json.dumps({**stored, "rerun": {"rows": 2}}))
    message = _refused(bench_main, path, "predictors_eval", "--split", "row", "--predictors", '{"knn": {}}',
                       "--sizes", "100", "--out", str(path))
    assert "entries this script does not write (rerun)" in message


def test_isomorph_noise_keeps_the_old_rule_file(bench_main, tmp_path):
    path = tmp_path / "nb201_isomorph_noise.json"
    path.write_text(json.dumps({"min_acc": 80.0, "groups": 117}))  # stored before the rule was recorded
    message = _refused(bench_main, path, "nb201_isomorph_noise", "--out", str(path))
    assert "canonical_rule 'functional', not 'network'" in message


def test_main_job_scripts_record_and_say_the_validation_pick(bench_main):
    results = importlib.import_module("_results")
    summary = {"best_test_acc": 98.61, "best_selected_by": "search val_acc",
               "front": [{"test_acc": 99.44}, {"test_acc": 98.61}, {"test_acc": None}]}
    pick = results.validation_pick(summary)
    assert pick == {"best_test_acc": 98.61, "best_selected_by": "search val_acc", "highest_retrained_test_acc": 99.44}
    assert results.validation_pick_line(pick) == ("test accuracy of the network picked by validation 98.61% "
                                                  "(highest retrained 99.44%)")
    for name in ("training_mainjob", "model_space_mainjob"):
        source = (BENCHMARKS / f"{name}.py").read_text()
        assert "best retrained test accuracy" not in source and "validation_pick(summary)" in source
