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
