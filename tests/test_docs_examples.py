"""The examples in README.md and docs/*.md run as written: every ```python block, each in a folder and namespace
of its own unless it starts `# continues ...` (then after the blocks before it, in their folder), the
engine.md resume example (```python mytask.py / run.py and its command), and every `nasforge COMMAND --option`
that README.md, training.md and engine.md name is an option of that command."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND_DOCS = [ROOT / "README.md", ROOT / "docs" / "training.md", ROOT / "docs" / "engine.md"]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def named_blocks(path: Path) -> dict[str, str]:
    """The ```python FILE blocks: a file's contents, written out by the example's reader."""
    return dict(re.findall(r"```python ([\w.]+)\n(.*?)```", path.read_text(), flags=re.S))


def needs_table(path: Path) -> bool:
    """Examples that read the NAS-Bench-201 table skip without it; the others always run."""
    return "load_nb201" in "".join(python_blocks(path))


@pytest.fixture
def registries(monkeypatch):
    """What an example registers does not outlive it."""
    from nasforge.models import MODELS
    from nasforge.spaces import SPACES
    from nasforge.strategies import STRATEGIES

    for registry in (STRATEGIES, SPACES, MODELS):
        for attribute in ("_entries", "_tags", "_builtin"):
            monkeypatch.setattr(registry, attribute, type(getattr(registry, attribute))(getattr(registry, attribute)))


def run_block(block: str, doc: Path, folder: Path, namespace: dict, monkeypatch) -> None:
    folder.mkdir(exist_ok=True)
    monkeypatch.chdir(folder)
    exec(compile(block, str(doc), "exec"), namespace)  # noqa: S102 - our own documentation


@pytest.mark.parametrize("doc", [d for d in DOCS if python_blocks(d)], ids=lambda d: d.name)
def test_examples_run(doc, request, tmp_path, monkeypatch, registries):
    """A block that does not say it continues another starts afresh: it may not lean on an earlier one's names
    or files (engine.md's first block: run again, it meets its own study, not a renamed one)."""
    if needs_table(doc):
        request.getfixturevalue("nb201_table")
    namespace: dict = {}
    folder = tmp_path
    for number, block in enumerate(python_blocks(doc)):
        if not block.startswith("# continues "):
            namespace, folder = {}, tmp_path / f"block{number}"
        run_block(block, doc, folder, namespace, monkeypatch)


def test_engine_first_example_run_again_refuses_the_name(nb201_table, tmp_path, monkeypatch):
    """engine.md: "run this script again and Study(...) refuses the name (StudyExistsError)"."""
    from nasforge.exceptions import StudyExistsError

    doc = ROOT / "docs" / "engine.md"
    first = python_blocks(doc)[0]
    assert "run this script again and Study(...) refuses the name (StudyExistsError)" in first
    run_block(first, doc, tmp_path, {}, monkeypatch)
    with pytest.raises(StudyExistsError):
        run_block(first, doc, tmp_path, {}, monkeypatch)


def _complete(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
        try:
            return connection.execute("SELECT COUNT(*) FROM nasforge_trials WHERE state = 'COMPLETE'").fetchone()[0]
        except sqlite3.OperationalError:  # the tables are not made yet
            return 0


def _write_example_files(folder: Path) -> dict[str, str]:
    files = named_blocks(ROOT / "docs" / "engine.md")
    assert set(files) == {"mytask.py", "run.py"}
    for name, code in files.items():
        (folder / name).write_text(code)
    return files


def test_engine_resume_example_factory_builds_and_evaluates(tmp_path, monkeypatch, torch_one_thread):
    """Would fail before: engine.md's mytask.py used TrainingEvaluator without importing it (NameError), and
    its data (CIFAR-10 in ./data) was not said. The quick part of the slow test below: the factory that run.py
    records and the resume command names builds an evaluator that trains a network."""
    import ast

    from nasforge.experiment.evaluator_spec import build_evaluator
    from nasforge.spaces import get_space

    files = _write_example_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mytask", raising=False)
    exec(compile(files["run.py"], "run.py", "exec"), {"__name__": "run"})  # noqa: S102 - its imports resolve
    call = re.search(r"evaluator_spec=(\{.*?\}\})", files["run.py"], flags=re.S).group(1)
    spec = ast.literal_eval(call)
    assert "--evaluator " + spec["factory"] in (ROOT / "docs" / "engine.md").read_text()
    evaluator = build_evaluator(spec, trusted=True)
    result = evaluator.evaluate(get_space("nb201").sample(np.random.default_rng(0)))
    assert 0 <= result.metrics["val_acc"] <= 100
    sys.modules.pop("mytask", None)


@pytest.mark.slow
def test_engine_resume_example_runs_as_written(tmp_path, capsys):
    """engine.md's own-factory example: mytask.py and run.py as shown, `python run.py` killed (kill -9 of its
    process group) after its first trial, then the documented `nasforge resume` finishes the study (20-45 s on
    2 cores: worker processes that import torch, twice)."""
    from nasforge.cli import main

    doc = ROOT / "docs" / "engine.md"
    files = _write_example_files(tmp_path)
    target = int(re.search(r"n_trials=(\d+)", files["run.py"]).group(1))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    run = subprocess.Popen([sys.executable, "run.py"], cwd=tmp_path, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while _complete(tmp_path / "studies.db") < 1 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        _, err = run.communicate()
    assert run.returncode == -signal.SIGKILL, err.decode()[-2000:]
    done = _complete(tmp_path / "studies.db")
    assert 1 <= done < target
    command = re.search(r"^nasforge (resume my-study .*)$", doc.read_text(), flags=re.M).group(1)
    resume = subprocess.run([sys.executable, "-m", "nasforge", *command.split()], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=180)
    assert resume.returncode == 0, resume.stderr[-2000:]
    assert _complete(tmp_path / "studies.db") == target
    capsys.readouterr()
    assert main(["status", "my-study", "--storage", f"sqlite:///{tmp_path / 'studies.db'}"]) == 0
    assert f"target {target}) | complete {target}\n" in capsys.readouterr().out
    assert f"{target - done} trials finished in this run, {target} in total so far" in resume.stdout + resume.stderr


def _command_lines(doc: Path) -> list[str]:
    """Every `nasforge ...` the page writes: code-block lines (a synopsis's indented continuation lines joined, the
    comments cut off) and inline code spans."""
    text = doc.read_text()
    lines: list[str] = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M):
        continued = False
        for line in block.splitlines():
            line = re.sub(r"\s+#.*", "", line.removeprefix("$ "))
            if continued and line.startswith(" "):
                lines[-1] += " " + line.strip()
            elif line.startswith("nasforge "):
                lines.append(line)
            continued = line.startswith("nasforge ") or continued and line.startswith(" ")
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    lines += [span for span in re.findall(r"`([^`\n]+)`", prose) if span.startswith("nasforge ")]
    return lines


def _documented_options() -> dict[tuple[str, ...], set[str]]:
    """{command path: the --options named after it}."""
    from nasforge.cli import build_parser

    parser = build_parser()
    named: dict[tuple[str, ...], set[str]] = {}
    for doc in COMMAND_DOCS:
        for line in _command_lines(doc):
            words, command, path = line.split()[1:], parser, ()
            while words and command._subparsers is not None:
                choices = command._subparsers._group_actions[0].choices
                if words[0] not in choices:
                    break
                command, path, words = choices[words[0]], (*path, words[0]), words[1:]
            named.setdefault(path, set()).update(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", " ".join(words)))
    return named


def test_every_documented_command_option_exists():
    """Would fail before: nothing checked the commands of README.md, training.md and engine.md."""
    from nasforge.cli import build_parser

    parser, unknown = build_parser(), []
    named = _documented_options()
    assert {("search",), ("resume",), ("status",), ("trials",), ("bench",), ("export",)} <= set(named)
    for path, options in named.items():
        command = parser
        for word in path:
            command = command._subparsers._group_actions[0].choices[word]
        missing = options - set(command._option_string_actions)
        unknown += [f"nasforge {' '.join(path)} {option}" for option in sorted(missing)]
    assert not unknown


def test_every_documented_command_prints_its_help(capsys):
    from nasforge.cli import main

    for path in _documented_options():
        assert main([*path, "--help"]) == 0, path
        assert capsys.readouterr().out.startswith(f"usage: nasforge {' '.join(path)}".rstrip())


def test_the_resume_synopsis_lists_every_option_of_resume():
    """Would fail before: engine.md's synopsis left out --storage, --max-crash-reruns and --no-progress."""
    from nasforge.cli import build_parser

    resume = build_parser()._subparsers._group_actions[0].choices["resume"]
    synopsis = next(line for line in _command_lines(ROOT / "docs" / "engine.md")
                    if line.startswith("nasforge resume STUDY"))
    every = set(resume._option_string_actions) - {"-h", "--help", "--debug"}
    assert set(re.findall(r"--[a-z][a-z0-9-]*", synopsis)) == every
