"""Helpers of the report tests: the figures a report page embeds, and a score that tells architectures apart."""

from __future__ import annotations

import json
import re


def figures(html: str) -> dict[str, dict]:
    """Plot id -> plotly figure JSON embedded in a report page."""
    found = re.findall(r'<script type="application/json" class="nf-fig" data-target="([^"]+)">(.*?)</script>', html,
                       re.S)
    return {key: json.loads(text.replace("<\\/", "</")) for key, text in found}


def op_length_score(arch) -> float:
    """A made-up objective: 10 plus a tenth of the total length of the architecture's op names."""
    return 10.0 + sum(len(op) for op in arch.genotype) / 10
