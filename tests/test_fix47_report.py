"""The report's figures carry no plotly template of their own: the page embeds one, applied by its script."""
import json
import re

import pytest

pytest.importorskip("plotly")

from nasforge.analysis import report  # noqa: E402
from nasforge.analysis.studyreport.page import TEMPLATE, template_json  # noqa: E402
from test_report import make_study  # noqa: E402


def test_the_template_is_embedded_once_and_no_figure_carries_one(tmp_path):
    import plotly.io as pio

    study = make_study(f"sqlite:///{tmp_path / 'study.db'}", "page", n=12)
    html = report(study, tmp_path / "report.html").read_text()
    embedded = re.findall(r"window\.NF_TEMPLATE = (.*?);</script>", html)
    assert len(embedded) == 1 and json.loads(embedded[0]) == json.loads(template_json())
    assert json.loads(template_json()) == json.loads(json.dumps(pio.templates[TEMPLATE].to_plotly_json()))
    figures = [json.loads(f.replace("<\\/", "</")) for f in
               re.findall(r'<script type="application/json" class="nf-fig"[^>]*>(.*?)</script>', html)]
    assert len(figures) >= 6
    for fig in figures:  # a template in a figure would cost ~0.15 s of CPU and 6.5 kB each
        assert len(json.dumps(fig["layout"].get("template", {}))) < 100
