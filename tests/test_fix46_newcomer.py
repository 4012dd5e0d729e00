"""Fixes of review 46 (a newcomer's first hour): refusals print one line, and say what they found."""

from __future__ import annotations

import json
import sys

from predictor_data import seed_table

from nasforge.cli import main


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_bench_into_a_used_out_prints_only_the_error_not_the_skipped_default_notes(monkeypatch, tmp_path, capsys,
                                                                                  nb201_table):
    """Would fail: without optuna, a refused --out printed two "note: skipping default strategy optuna_*" lines
    about a run that never started, before its one-line error."""
    monkeypatch.setitem(sys.modules, "optuna", None)
    out = tmp_path / "b"
    out.mkdir()
    (out / "bench.json").write_text('{"benchmark": "nb201"}')  # an earlier run's
    assert main(["bench", "--seeds", "1", "--trials", "5", "--out", str(out)]) == 2
    assert _one_line(capsys.readouterr().err).startswith(f"nasforge bench: error: --out {str(out)!r} already holds "
                                                         "an earlier bench run (bench.json)")


def test_predictors_eval_into_a_used_out_prints_only_the_error(monkeypatch, tmp_path, capsys):
    """Would fail: the skipped default predictor's note came before the refusal of an earlier run's --out."""
    import nasforge.cli.predictors as cli_predictors

    monkeypatch.setitem(sys.modules, "ngboost", None)
    monkeypatch.setattr(cli_predictors, "DEFAULT_PREDICTORS", "knn,ngb")
    seed_table(200, seeds=1).rename(columns={"val_acc_seed0": "cifar10-val"}).to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "eval"
    out.mkdir()
    (out / "predictors.json").write_text('{"table": "t.csv"}')  # an earlier run's
    assert main(["predictors", "eval", "--table", str(tmp_path / "t.csv"), "--train-sizes", "30", "--test-size",
                 "100", "--seeds", "1", "--out", str(out)]) == 2
    assert "already holds an earlier predictors eval run" in _one_line(capsys.readouterr().err)


def test_search_into_a_folder_with_a_foreign_summary_json_says_it_is_not_a_search_summary(tmp_path, capsys):
    """Would fail: the user's own summary.json was "the finished run of another study", pointing to a report.html
    that does not exist."""
    out = tmp_path / "myexp2"
    out.mkdir()
    (out / "summary.json").write_text('{"mine": 1}')
    assert main(["search", "--out", str(out), "--trials", "2", "--no-progress"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == (f"nasforge search: error: --out {str(out / 'summary.json')!r} exists and is not the summary.json "
                    "of a search; not overwriting it: pick another --out for the search run")
    assert (out / "summary.json").read_text() == '{"mine": 1}' and sorted(p.name for p in out.iterdir()) \
        == ["summary.json"]


def test_another_studys_finished_run_names_its_report_only_where_there_is_one(tmp_path, capsys):
    """Would fail: "(its results: OUT/report.html)" was named whether or not the run folder held a report."""
    out = tmp_path / "done"
    out.mkdir()
    (out / "summary.json").write_text(json.dumps({"name": "earlier", "resume_command": "nasforge resume earlier"}))
    argv = ["search", "--out", str(out), "--trials", "2", "--no-progress"]
    assert main(argv) == 2
    line = _one_line(capsys.readouterr().err)
    assert "already holds the finished run of study 'earlier'" in line and "report.html" not in line
    assert line.endswith("pick another --out for a new run (rewrite its outputs with: nasforge resume earlier)")
    (out / "report.html").write_text("")  # a blank file: one a report may be written into
    assert main(argv) == 2
    assert _one_line(capsys.readouterr().err).endswith(f"(its results: {out / 'report.html'}; rewrite its outputs "
                                                       "with: nasforge resume earlier)")
