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


def test_a_refused_comparison_tells_same_named_studies_apart(tmp_path):
    from nasforge import Result, Study, get_space
    from nasforge.exceptions import UsageError

    studies = []
    for folder, limit in (("a", 60_000), ("b", 200_000)):
        (tmp_path / folder).mkdir()
        study = Study(get_space("nb201"), "mo_random", objectives=["acc", "params"],
                      directions=["maximize", "minimize"], seed=0, name="same",
                      storage=f"sqlite:///{tmp_path / folder / 'study.db'}",
                      constraints=[f"params <= {limit}"])
        trial = study.ask()
        study.tell(trial, Result(metrics={"acc": 50.0, "params": 1000.0}))
        studies.append(study)
    with pytest.raises(UsageError) as refused:
        report(studies, tmp_path / "both.html")
    assert "'same (a)' has constraints ['params <= 60000'], 'same (b)' has" in str(refused.value)


def test_the_diagnostics_of_a_study_whose_space_is_not_rebuilt_say_so(tmp_path):
    from bit_spaces import BitSpace

    from nasforge import Result, Study
    from nasforge.analysis.studyreport import model_diagnostics
    from nasforge.analysis.studyreport.data import load_study_data
    from nasforge.experiment.storage import open_storage
    from nasforge.spaces import SPACES, register_space

    assert "bits" not in SPACES
    register_space("bits", BitSpace)
    url = f"sqlite:///{tmp_path / 'bits.db'}"
    try:
        for strategy in ("model_based", "random"):
            study = Study(BitSpace(n=6), strategy, objectives=["score"], seed=0, name=strategy, storage=url)
            for _ in range(4):
                trial = study.ask()
                study.tell(trial, Result(metrics={"score": float(sum(trial.arch.genotype))}))
    finally:  # as in a process that never registered it (`nasforge report`); no later test finds it registered
        del SPACES._entries["bits"], SPACES._tags["bits"]
    storage = open_storage(url)
    skipped = model_diagnostics(load_study_data(storage, "model_based"))
    assert "cannot be refitted without the study's space" in skipped["skipped"]
    assert "unknown search space 'bits'" in skipped["skipped"]
    assert model_diagnostics(load_study_data(storage, "random")) is None  # no model to refit: nothing to say


def test_a_comparison_of_other_objectives_names_each_study_with_its_own(tmp_path):
    from nasforge import Result, Study, get_space
    from nasforge.exceptions import UsageError

    url = f"sqlite:///{tmp_path / 'mo.db'}"
    studies = []
    for name, objectives, directions in (("mo_nc", ["acc", "cost"], ["maximize", "minimize"]),
                                         ("swapped", ["cost", "acc"], ["minimize", "maximize"])):
        study = Study(get_space("nb201"), "mo_random", objectives=objectives, directions=directions, seed=0,
                      name=name, storage=url)
        trial = study.ask()
        study.tell(trial, Result(metrics={"acc": 50.0, "cost": 3.0}))
        studies.append(study)
    with pytest.raises(UsageError) as refused:
        report(studies, tmp_path / "both.html")
    assert str(refused.value) == ("studies to compare must share space, objectives and directions: 'mo_nc' has space "
                                  "nb201, objectives acc:max,cost:min, 'swapped' has space nb201, objectives "
                                  "cost:min,acc:max")
