"""docs/training.md and the search CLI say what an NB201 network's parameter count holds: only the edges on a
path from its input to its output are built (models/nb201.py), so a convolution fed only by `none` edges is
not counted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRAINING = (ROOT / "docs" / "training.md").read_text()


def _params(arch: str) -> int:
    from nasforge.models import create_model
    from nasforge.spaces import get_space
    from nasforge.training import count_params

    return count_params(create_model("nb201", get_space("nb201").parse(arch), num_classes=10, in_channels=1,
                                     C=16, N=4))


def test_the_dead_convolution_example_is_not_counted_as_documented():
    paragraph = TRAINING[TRAINING.index("**Parameters count"):].split("\n\n")[0]
    example = re.search(r"`(\|[^`]*nor_conv_3x3[^`]*\|)`", paragraph).group(1)
    without_conv = example.replace("nor_conv_3x3", "none")
    documented = int(re.search(r"\(([\d,]+) at\s+C=16, N=4 on digits\)", paragraph).group(1).replace(",", ""))
    assert _params(example) == _params(without_conv) == documented
    assert "keeps its" not in paragraph and "neither built nor counted" in paragraph


@pytest.mark.parametrize("claim", ["reachable or not", "every operation"])
def test_the_chance_level_note_says_only_built_operations_count(claim):
    from rich.console import Console

    from nasforge.pipelines.search import _print_front_notes

    console = Console(record=True, width=400)
    _print_front_notes(console, [{"trial": 3, "chance_level": True}], latency_objective=False, only_reachable=True)
    said = console.export_text()
    assert "! trial 3: search val % at chance level" in said
    assert claim not in said and "only the operations it builds, those on a path from its input to its output" in said


def test_training_shows_the_layers_yaml_its_chain_search_reads(tmp_path):
    """Would fail before: training.md ran `--space-config layers.yaml` without showing or linking the file."""
    from nasforge.cli import build_parser
    from nasforge.cli.options import load_space

    line = next(x for x in TRAINING.splitlines() if "--space-config layers.yaml" in x)
    shown = re.search(r"```yaml\n(.*?)```", TRAINING[TRAINING.index(line):], flags=re.S).group(1)
    cli = (ROOT / "docs" / "cli.md").read_text()
    assert "(cli.md#spaces-from-the-command-line)" in TRAINING and "$ cat layers.yaml\n" + shown in cli
    (tmp_path / "layers.yaml").write_text(shown)
    args = build_parser().parse_args(["search", *line.split()[2:4], "--space-config", str(tmp_path / "layers.yaml")])
    assert load_space(args).size == 18


def test_readme_imports_the_space_class_it_uses():
    """Would fail before: the README's quick start named NASBench201Space without importing it."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", readme, flags=re.S).group(1)
    assert "from nasforge.spaces import NASBench201Space" in block and 'NASBench201Space("functional")' in block
