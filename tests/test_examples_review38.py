"""Review 38 (a newcomer's read of README, examples/ and Makefile): bad example arguments stop at once with
the option named, the docs say what the examples do and how long they take, runs over a user's module are
named after its class, and ``make bench`` leaves the committed results alone."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from example_modules import EXAMPLES, load_example  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("name", "argv", "option", "says"), [
    ("mobilenet_chain", ["--candidates", "0", "--epochs", "1"], "--candidates", "must be >= 1, got 0"),
    ("mobilenet_chain", ["--candidates", "-1"], "--candidates", "must be >= 1, got -1"),
    ("mobilenet_chain", ["--epochs", "0"], "--epochs", "must be >= 1, got 0"),
    ("digits_cnn", ["--trials", "-3"], "--trials", "must be >= 1, got -3"),
    ("digits_cnn", ["--trials", "0"], "--trials", "must be >= 1, got 0"),
    ("digits_cnn", ["--epochs", "0"], "--epochs", "must be >= 1, got 0"),
    ("tabular_mlp", ["--trials", "0"], "--trials", "must be >= 1, got 0"),
    ("tabular_mlp", ["--seed", "-1"], "--seed", "must be >= 0, got -1"),
    ("tabular_mlp", ["--epochs", "x"], "--epochs", "expected an integer >= 1, got 'x'"),
])
def test_bad_example_arguments_stop_before_any_work_naming_the_option(name, argv, option, says, capsys):
    example = load_example(name)
    with pytest.raises(SystemExit) as stop:
        example.main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].endswith(f".py: error: argument {option}: {says}") and "Traceback" not in err


@pytest.mark.parametrize(("name", "options"), [("digits_cnn", ["--trials", "--epochs", "--seed"]),
                                             ("tabular_mlp", ["--trials", "--epochs", "--seed"]),
                                             ("mobilenet_chain", ["--epochs", "--candidates", "--seed"])])
def test_example_help_explains_each_option_with_its_default_and_the_example_command(name, options, capsys):
    example = load_example(name)
    with pytest.raises(SystemExit):
        example.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    command = re.search(r"^    (python examples/\S+\.py .*)$", example.__doc__, flags=re.M).group(1)
    assert f"example: {command}" in out, out
    for option in options:
        assert re.search(rf"{option} [A-Z]+ [a-z][^()]* \(default: \d+\)", out), option


def test_docstrings_say_what_the_spaces_hold():
    """digits_cnn's size range and tabular_mlp's depth choices, as the code builds them."""
    from nasforge.spaces.model_space import ModelSpace
    from nasforge.training import count_params

    digits = load_example("digits_cnn")
    space = ModelSpace(digits.DigitsCNN, input_shape=(1, 8, 8))
    smallest = count_params(space.build(space.parse("width=8|stem=sep3|depth=1|pool=max")))
    largest = count_params(space.build(space.parse("width=64|stem=conv5|depth=4|pool=max")))
    assert (round(smallest, -3), round(largest, -3)) == (2000, 225000)
    assert "144 architectures from about 2k to 225k parameters" in digits.__doc__
    tabular = load_example("tabular_mlp")
    depth = next(d for d in ModelSpace(tabular.TabularMLP, input_shape=(1, 1, 30)).decisions if d.label == "depth")
    assert list(depth.values) == [0, 1, 2] and "``depth`` (0-2 hidden layers after the first" in tabular.__doc__


def test_example_commands_and_the_predictors_line_state_their_runtime():
    for name in ("digits_cnn", "tabular_mlp", "mobilenet_chain"):
        doc = " ".join(load_example(name).__doc__.split())
        assert re.search(r"about \d+(-\d+)? (seconds|minutes?) on 2 CPU cores", doc), name
    line = next(x for x in (ROOT / "README.md").read_text().splitlines() if x.startswith("nasforge predictors eval"))
    assert re.search(r"# 3 seeds: \d+-\d+ min", line)


def test_make_bench_writes_to_an_ignored_folder_not_the_committed_results():
    line = next(x for x in (ROOT / "Makefile").read_text().splitlines() if "strategies_nb201.py" in x)
    out = re.search(r"--out (\S+)", line).group(1)
    assert not out.startswith("benchmarks/results")
    ignored = subprocess.run(["git", "check-ignore", "-q", f"{out}/strategies_nb201.json"], cwd=ROOT).returncode
    assert ignored == 0
    assert "`make bench`" in (ROOT / "README.md").read_text()


def test_a_search_without_torch_names_a_feature_not_a_module():
    script = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
from nasforge.cli import main
sys.exit(main(["search", "--trials", "1"]))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip() == ("nasforge search: error: a search (its training, stored study and report) needs "
                                  "torch: pip install 'nasforge[torch]'")


@pytest.mark.slow
def test_a_model_space_run_is_named_after_its_class_and_a_finished_resume_retrains_nothing(
        tmp_path, monkeypatch, torch_one_thread, capsys):
    """``--space-module FILE.py:DigitsCNN``: the header and the default run folder name DigitsCNN; a resume of the
    finished run does not claim to retrain (the front has fewer members than ``--retrain`` asks)."""
    from nasforge.cli import main
    from nasforge.pipelines.search import space_label
    from nasforge.spaces import get_space

    monkeypatch.chdir(tmp_path)
    assert main(["search", "--space-module", f"{EXAMPLES / 'digits_cnn.py'}:DigitsCNN", "--trials", "1",
                 "--workers", "1", "--retrain", "3", "--search-epochs", "1", "--final-epochs", "1",
                 "--no-progress"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "space DigitsCNN (network model_space)" in out
    assert "note: retraining 1 architecture(s), not the 3 asked" in out
    (run,) = (tmp_path / "nasforge-runs").iterdir()
    assert re.fullmatch(r"search-DigitsCNN-digits-\d{8}-\d{6}", run.name)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["space"] == "model_space" and summary["n_retrained"] == 1
    assert main(["resume", run.name, "--storage", f"sqlite:///{run / 'study.db'}"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "note: retraining" not in out and "note: retrained 1 architecture(s), not the 3 asked" in out
    assert space_label(get_space("nb201")) == "nb201"
