"""The command-line examples of README.md and docs/cli.md run as written, in order (fix43_docs, review items 4, 5
and 10): distinct surrogate folders, every table they read made or described, the trials CSV's two stage columns
explained."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nasforge.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "docs" / "cli.md"]


def _blocks() -> list[str]:
    """The plain code blocks (shell examples, no ```python) of README.md and docs/cli.md, in reading order."""
    blocks: list[str] = []
    for page in PAGES:
        fence, lines = None, []
        for line in page.read_text().splitlines():
            if line.startswith("```"):
                if fence == "":
                    blocks.append("\n".join(lines))
                fence, lines = (line[3:] if fence is None else None), []
            elif fence is not None:
                lines.append(line)
    return blocks


def _commands() -> list[str]:
    """Each `nasforge ...` command of those blocks, continuation lines joined, without `$ ` prompt and comment."""
    text = "\n".join(_blocks()).replace("\\\n", " ")
    lines = [re.sub(r"\s+#.*", "", line.removeprefix("$ ")) for line in text.splitlines()]
    return [line for line in lines if line.startswith("nasforge ")]


def _heredoc(opening: str) -> str:
    """The Python lines of the docs/cli.md block that start with ``opening``."""
    text = (ROOT / "docs" / "cli.md").read_text()
    return re.search(re.escape(opening) + r"\n(.*?)^EOF$", text, re.S | re.M)[1]


def test_the_surrogate_examples_write_folders_of_their_own():
    """Would fail: README's `surrogate fit --out nb201-lgb` and cli.md's noisy fit to the same folder, refused."""
    outs = [re.search(r"--out (\S+)", line)[1] for line in _commands() if line.startswith("nasforge surrogate fit")]
    assert len(outs) == len(set(outs)) >= 3, outs


def test_every_table_an_example_reads_is_made_by_an_example():
    """Would fail: my.csv, chain.csv and chain_val.csv were read but never described or made."""
    blocks = "\n".join(_blocks())
    made = set(re.findall(r"open\(\"([^\"]+)\", \"w\"", blocks)) | set(re.findall(r"> (\S+\.csv)\b", blocks))
    bad_on_purpose = {"results.csv.gz", "t.csv"}  # the error examples of docs/cli.md
    read = {re.search(r"--table (\S+)", line)[1] for line in _commands() if "--table " in line}
    assert read - bad_on_purpose <= made, sorted(read - bad_on_purpose - made)


def test_the_chain_surrogate_reads_the_trials_of_a_chain_search():
    """Would fail: cli.md fitted a chain surrogate on `trials.csv`, which the README makes from an nb201 search."""
    commands = _commands()
    fit = next(line for line in commands if line.startswith("nasforge surrogate fit") and "--space chain" in line)
    table = re.search(r"--table (\S+)", fit)[1]
    export = [line for line in commands if line.startswith("nasforge trials ") and line.endswith(f"> {table}")]
    assert len(export) == 1, export
    run = export[0].split()[2]
    assert any(line.startswith("nasforge search ") and "--space chain" in line and f"--out {run}" in line
               for line in commands)


def test_the_trials_csv_stage_pair_is_explained():
    """Would fail: the trials CSV carries `stage` and `user_attrs_stage` and nothing said which to read."""
    text = " ".join((ROOT / "docs" / "cli.md").read_text().split())
    assert "`user_attrs_stage`, further right, is that attribute as stored" in text
    assert "read `stage`" in text


def test_the_chain_csv_lines_make_a_table_every_chain_example_takes(tmp_path, monkeypatch):
    """The documented chain.csv: all 18 architectures of layers.yaml, `acc` and `val_acc`, read by `bench`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "layers.yaml").write_text("- [conv3, conv5, skip]\n- [conv3, conv5, skip]\n- [conv3, conv5]\n")
    exec(_heredoc("$ python - <<'EOF'"), {})
    rows = (tmp_path / "chain.csv").read_text().splitlines()
    assert rows[0] == "arch,acc,val_acc" and len(rows) == 19
    assert main(["bench", "--table", "chain.csv", "--space", "chain", "--space-config", "layers.yaml",
                 "--objective", "acc", "--trials", "15", "--seeds", "2", "--strategies", "random",
                 "--out", "bench-chain"]) == 0


def test_the_my_results_lines_copy_the_nb201_table(tmp_path, nb201_table):
    """The documented my_results.csv: `arch,acc`, one row per NAS-Bench-201 cell."""
    from nasforge.benchmarks import find_data_file

    code = _heredoc("python - DATA/nb201_hp12.csv.gz <<'EOF'")
    subprocess.run([sys.executable, "-", str(find_data_file("nb201_hp12.csv.gz"))], input=code, text=True,
                   cwd=tmp_path, check=True)
    rows = (tmp_path / "my_results.csv").read_text().splitlines()
    assert rows[0] == "arch,acc" and len(rows) == 15626


@pytest.mark.parametrize("name", ["my.csv", "chain_val.csv"])
def test_the_undescribed_names_are_gone(name):
    """The names the docs used without a word on them are no longer used."""
    assert all(name not in page.read_text() for page in PAGES)
