"""Fixes of stop 46 (PostgreSQL and many studies): the ``studies`` table at 80 columns, a default connect timeout
for PostgreSQL servers that never answer, and engine.md on ``trials --out F --overwrite``."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_engine_md_says_trials_overwrite_replaces_an_export_of_any_format():
    """Would fail: docs/engine.md said --overwrite replaced only an export "in the same --format" and refused another
    format's export, while the code and docs/cli.md replace any earlier ``trials`` export."""
    text = " ".join((ROOT / "docs" / "engine.md").read_text(encoding="utf-8").split())
    assert "an earlier `trials` export in any `--format`" in text
    assert "same `--format`" not in text and "another format's export" not in text
