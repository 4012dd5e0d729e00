"""The Python examples in README.md and docs/*.md run as written."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def needs_table(path: Path) -> bool:
    """Examples that read the NAS-Bench-201 table skip without it; the others always run."""
    return "load_nb201" in "".join(python_blocks(path))


@pytest.mark.parametrize("doc", [d for d in DOCS if python_blocks(d)], ids=lambda d: d.name)
def test_examples_run(doc, request, tmp_path, monkeypatch):
    if needs_table(doc):
        request.getfixturevalue("nb201_table")
    monkeypatch.chdir(tmp_path)
    from nasforge.models import MODELS
    from nasforge.spaces import SPACES
    from nasforge.strategies import STRATEGIES

    for registry in (STRATEGIES, SPACES, MODELS):  # what an example registers does not outlive it
        for attribute in ("_entries", "_tags", "_builtin"):
            monkeypatch.setattr(registry, attribute, type(getattr(registry, attribute))(getattr(registry, attribute)))
    namespace: dict = {}
    for block in python_blocks(doc):
        exec(compile(block, str(doc), "exec"), namespace)  # noqa: S102 - our own documentation
