"""Fix 53 (benchmark scripts): oneshot_fewshot.py writes each group's results to the file the docs cite for it,
and checks --baseline before any training."""

from __future__ import annotations

import json
import re
import sys

import pytest


def run_main(module, monkeypatch, argv: list[str]) -> None:
    """``module.main()`` as if run as ``python benchmarks/NAME.py *argv``."""
    monkeypatch.setattr(sys, "argv", [f"{module.__name__}.py", *argv])
    module.main()


class Reached(Exception):
    """The script got past its argument checks."""


def _stop(*args, **kwargs):
    raise Reached


@pytest.mark.parametrize("group, default", [("restart", "oneshot_fewshot.json"),
                                            ("continue", "oneshot_fewshot_continue.json"),
                                            ("split", "oneshot_fewshot_split.json")])
def test_fewshot_default_results_file_is_the_groups_own(bench_module, monkeypatch, group, default):
    """Would fail before: every group wrote oneshot_fewshot.json, so the docs' --group continue command replaced the
    restart group's cited results."""
    fewshot = bench_module("oneshot_fewshot")
    seen = []
    monkeypatch.setattr(fewshot, "study_setup", _stop)
    monkeypatch.setattr(fewshot, "check_args", lambda parser, args: seen.append(args.results))
    with pytest.raises(Reached):
        run_main(fewshot, monkeypatch, ["--group", group])
    assert seen[0] == str(fewshot.RESULTS / default)


@pytest.mark.parametrize("argv, message", [
    (["--group", "restart", "--baseline", "{good}"], "--baseline is for --group split only, not --group restart"),
    (["--group", "split", "--baseline", "{missing}"], r"--baseline \S+missing.json: no such file"),
    (["--group", "split", "--baseline", "{other}"], r"--baseline \S+other.json: no 'per_seed' results")])
def test_fewshot_checks_its_baseline_before_any_training(bench_module, monkeypatch, tmp_path, capsys, argv, message):
    """Would fail before: the baseline was read after the ground truth and the first seed (hours), then a missing
    file was a traceback."""
    fewshot = bench_module("oneshot_fewshot")
    (tmp_path / "good.json").write_text(json.dumps({"per_seed": {}}))
    (tmp_path / "other.json").write_text(json.dumps({"cases": 3}))
    paths = {"good": tmp_path / "good.json", "missing": tmp_path / "missing.json", "other": tmp_path / "other.json"}
    monkeypatch.setattr(fewshot, "study_setup", _stop)
    with pytest.raises(SystemExit) as exc:
        run_main(fewshot, monkeypatch, [arg.format(**paths) for arg in argv])
    assert exc.value.code == 2 and re.search(message, capsys.readouterr().err)


def test_fewshot_takes_a_good_baseline(bench_module, monkeypatch, tmp_path):
    fewshot = bench_module("oneshot_fewshot")
    (tmp_path / "good.json").write_text(json.dumps({"per_seed": {"0": {}}}))
    monkeypatch.setattr(fewshot, "study_setup", _stop)
    with pytest.raises(Reached):
        run_main(fewshot, monkeypatch, ["--group", "split", "--baseline", str(tmp_path / "good.json")])
