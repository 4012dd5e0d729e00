"""Consistency of the CLI's verbs: strict JSON everywhere, the same option grammar and formats."""

import itertools
import json

from nasforge.cli import main


def _strict(text: str):
    """``text`` parsed as strict JSON (NaN/Infinity refused, as jq and browsers refuse them)."""
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _constant_table(path):
    """A chain table whose metric (and its per-seed columns) is the same for every architecture."""
    lines = ["arch,acc,acc_seed0,acc_seed1"]
    for arch in itertools.product(["conv3", "conv5", "skip"], ["conv3", "conv5", "skip"], ["conv3", "conv5"]):
        lines.append(f"{'|'.join(arch)},90,90,90")
    path.write_text("\n".join(lines) + "\n")


def test_surrogate_eval_writes_strict_json_for_undefined_scores(tmp_path, capsys):
    """fidelity.json held NaN (Kendall tau, R2 of constant values), which jq and JSON.parse refuse; every other
    JSON nasforge writes is strict. Now such a score is null, and printed as '-', as surrogate info shows it."""
    table = tmp_path / "t.csv"
    _constant_table(table)
    chain = ["--table", str(table), "--space", "chain"]
    assert main(["surrogate", "fit", *chain, "--metrics", "acc", "--model", "knn", "--out",
                 str(tmp_path / "s")]) == 0
    assert main(["surrogate", "eval", str(tmp_path / "s"), *chain, "--metric", "acc", "--seeds", "1",
                 "--trials", "3", "--strategies", "random", "--out", str(tmp_path / "e")]) == 0
    printed = capsys.readouterr().out
    report = _strict((tmp_path / "e" / "fidelity.json").read_text())
    assert report["seeds"]["surrogate_vs_other_seeds"]["kendall_tau"] is None
    assert "KT nan" not in printed and "KT -" in printed


def _latency_table(path):
    lines = ["arch,acc,latency_ms"]
    for i, arch in enumerate(itertools.product(["conv3", "conv5", "skip"], ["conv3", "conv5", "skip"],
                                               ["conv3", "conv5"])):
        lines.append(f"{'|'.join(arch)},{80 + i % 7},{1 + i % 5}")
    path.write_text("\n".join(lines) + "\n")


def test_bench_says_when_it_maximizes_a_metric_search_minimizes(tmp_path, capsys):
    """nasforge search minimizes params/flops/latency_ms/train_seconds by default; bench (predictors eval, surrogate
    eval) maximized a table column of that name silently (the regret of the slowest network). It still maximizes
    (the rule of its name), but says so, on stderr beside --format json, and --direction minimize silences it."""
    table = tmp_path / "t.csv"
    _latency_table(table)
    run = ["bench", "--table", str(table), "--space", "chain", "--strategies", "random", "--seeds", "1", "--trials",
           "3", "--workers", "1", "--secondary", "", "--format", "json", "--objective", "latency_ms"]
    assert main([*run, "--out", str(tmp_path / "a")]) == 0
    captured = capsys.readouterr()
    _strict(captured.out)
    assert "note: --objective latency_ms is maximized" in captured.err and "--direction minimize" in captured.err
    assert main([*run, "--direction", "min", "--out", str(tmp_path / "b")]) == 0
    assert "note: --objective" not in capsys.readouterr().err
    assert json.loads((tmp_path / "b" / "bench.json").read_text())["direction"] == "minimize"


def test_the_noted_metrics_are_those_search_minimizes_by_default():
    from nasforge.benchmarks.tabular import minimized_word
    from nasforge.cli.options import SEARCH_MINIMIZED
    from nasforge.pipelines.search import METRICS, default_direction

    assert set(SEARCH_MINIMIZED) == {m for m in METRICS if default_direction(m) == "minimize" and not minimized_word(m)}


def test_oneshot_study_takes_format_csv_like_every_listing(tmp_path, monkeypatch, capsys):
    """oneshot study refused --format csv (table|json only) while every other command with --format takes csv.
    Now it writes a row per scorer (ranking.json's rows; a nested value as a JSON cell), the progress on stderr."""
    import csv
    import io
    from types import SimpleNamespace

    import nasforge.oneshot.study as ranking

    rows = [{"name": 'spos, "recal"', "kendall_tau": 0.5, "spearman": float("nan"), "fav_ops": {"none": 0.2}}]

    def fake(cfg, out, log=print, **kwargs):
        log("progress line")
        return SimpleNamespace(to_json=lambda: {"rows": rows})

    monkeypatch.setattr(ranking, "run_ranking_study", fake)
    assert main(["oneshot", "study", "--format", "csv", "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    assert "progress line" in captured.err and "progress line" not in captured.out
    parsed = list(csv.DictReader(io.StringIO(captured.out)))
    assert parsed == [{"name": 'spos, "recal"', "kendall_tau": "0.5", "spearman": "", "fav_ops": '{"none": 0.2}'}]


def test_bench_workers_simulated_note_does_not_advise_the_refused_direction(tmp_path, capsys):
    """Regression of the note above: under --workers-simulated it advised '--direction minimize', which
    --workers-simulated refuses (only a maximized objective is simulated). It says what works there instead."""
    table = tmp_path / "t.csv"
    _latency_table(table)
    run = ["bench", "--table", str(table), "--space", "chain", "--strategies", "random", "--seeds", "1", "--trials",
           "3", "--workers-simulated", "2", "--format", "csv", "--objective", "latency_ms"]
    assert main([*run, "--out", str(tmp_path / "a")]) == 0
    note = next(line for line in capsys.readouterr().err.splitlines() if line.startswith("note: --objective"))
    assert "--direction minimize if" not in note and "negated values" in note
    assert main([*run, "--direction", "minimize", "--out", str(tmp_path / "b")]) == 2  # why the advice was wrong
    assert "only a maximized --objective can be simulated" in capsys.readouterr().err
