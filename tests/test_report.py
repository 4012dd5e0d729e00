"""The HTML study report: its data (read-only), views, architecture diagrams, and the report command."""

from __future__ import annotations

import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from nasforge import Result, Study, get_space
from nasforge.analysis.diagrams import architecture_svg
from nasforge.analysis.studyreport import (bench_report, from_study, load_study_data, open_readonly, render_study,
                                          report)
from nasforge.analysis.studyreport.importance import forest_importance, op_means
from nasforge.analysis.studyreport.page import plotly_js
from nasforge.cli import main
from nasforge.exceptions import UsageError

from report_pages import figures

pytest.importorskip("plotly")


def toy_metrics(arch) -> dict[str, float]:
    """Accuracy driven by the first edge (convolutions best), parameters by the number of convolutions."""
    first = {"nor_conv_3x3": 20.0, "nor_conv_1x1": 12.0, "skip_connect": 5.0, "avg_pool_3x3": 2.0, "none": 0.0}
    convs = sum(op.startswith("nor_conv") for op in arch.genotype)
    acc = 60.0 + first[arch.genotype[0]] + 0.5 * convs + 0.01 * sum(len(op) for op in arch.genotype)
    skips = sum(op == "skip_connect" for op in arch.genotype)
    return {"acc": acc, "params": 1000.0 * (1 + convs) ** 2 + 400.0 * skips, "test_acc": acc - 1.0}


def make_study(url: str, name: str = "toy", n: int = 24, seed: int = 0, strategy: str = "random") -> Study:
    """A 2-objective nb201 study with failures (one retried), pruned learning curves and retrained results."""
    study = Study(get_space("nb201"), strategy, objectives=["acc", "params"], directions=["maximize", "minimize"],
                  seed=seed, name=name, storage=url)
    for i in range(n):
        trial = study.ask()
        metrics = toy_metrics(trial.arch)
        curve = [(step, metrics["acc"] * step / 4) for step in range(1, 5)]
        if i in (3, 11):
            study.tell(trial, Result(metrics={}, status="failed", error=f"RuntimeError: boom {i}"))
        elif i in (5, 9):
            study.tell(trial, Result(metrics={}, status="pruned", intermediate=curve[:2]))
        else:
            study.tell(trial, Result(metrics=metrics, intermediate=curve))
    front = study.pareto_front()
    study.set_user_attr("retrained", {str(t.number): {"metrics": {"test_acc": t.metrics["acc"] + 1.5}, "status": "ok",
                                                      "error": None} for t in front[:2]})
    return study


def n_points(trace: dict) -> int:
    x = trace.get("x")
    return len(x) if isinstance(x, list) else 0


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{folder / 'study.db'}"
    study = make_study(url)
    study.storage.close()
    return folder, url


def test_report_is_one_self_contained_file_with_every_view(stored):
    folder, url = stored
    storage = open_readonly(url)
    data = load_study_data(storage, "toy")
    path = report(data, folder / "report.html")
    html = path.read_text()
    bundle = plotly_js()
    assert bundle in html  # plotly.js inlined: the file opens offline
    own = html.replace(bundle, "")
    assert not re.search(r'<script[^>]+src=|<link[^>]+href="(?!data:)|https?://(?!www.w3.org/2000/svg)', own)  # nothing else is fetched
    assert "Plotly.newPlot" in own
    for view in ("summary", "progress", "pareto", "architecture", "importance", "curves", "failures", "diagnostics",
                 "trials"):
        assert f'<section id="nf-{view}">' in html, view
    figs = figures(html)
    pareto = figs["nf-plot-pareto"]["data"]
    names = [t["name"] for t in pareto]
    assert names == ["dominated trials", "Pareto front", "retrained (test_acc)"]
    complete = data.complete
    assert n_points(pareto[0]) + n_points(pareto[1]) == len(complete) == 20
    assert n_points(pareto[1]) == len(data.front()) and n_points(pareto[2]) == 2
    front_trace = pareto[1]
    assert front_trace["line"]["shape"] == "hv"  # x (params) minimized: the staircase steps right, then up
    number, arch_text, metrics = front_trace["customdata"][0]
    assert arch_text.replace("<br>", "") == data.arch_text[number] and "acc = " in metrics
    # every trial has a diagram template, the failures table has the error texts, the table every trial
    assert all(f'id="nf-arch-{t.number}"' in html for t in data.trials)
    assert "RuntimeError: boom 3" in html and "RuntimeError: boom 11" in html
    assert html.count('class="nf-select" data-number=') >= len(data.trials)
    curves = figs["nf-plot-curves"]["data"]
    assert sum(t["line"]["dash"] == "dash" for t in curves) == 2  # the pruned ones
    assert "No model diagnostics" in html


PG_URL = "postgresql+psycopg://nf:secretpw@127.0.0.1:1/db"


def test_storage_passwords_are_never_shown(stored, tmp_path, capsys):
    """A database password was printed in every report (summary row "storage") and in error lines."""
    from nasforge.analysis.studyreport import display_url, hide_password

    assert display_url(PG_URL) == "postgresql+psycopg://nf:***@127.0.0.1:1/db"
    assert display_url("postgresql://nf:p%40ss@h/db?sslmode=require&password=x") == \
        "postgresql://nf:***@h/db?sslmode=require&password=***"
    for plain in ("sqlite:////tmp/a b%41.db", "sqlite:///rel.db?mode=ro", "memory", "postgresql://nf@h/db"):
        assert display_url(plain) == plain
    assert hide_password(f"storage {PG_URL!r}: refused", PG_URL) == f"storage {display_url(PG_URL)!r}: refused"
    _, url = stored
    data = load_study_data(open_readonly(url), "toy")
    data.storage_url = PG_URL
    html = render_study(data)
    assert "secretpw" not in html and "nf:***@127.0.0.1:1/db" in html
    assert main(["report", "toy", "--storage", PG_URL, "--out", str(tmp_path / "r.html")]) == 2  # nothing listens
    err = capsys.readouterr().err
    assert "secretpw" not in err and "nf:***@127.0.0.1:1/db" in err and len(err.strip().splitlines()) == 1


class MarkupLabels:
    """A space whose choices and their labels read as plotly markup (``<b>edge</b>`` = ``<i>op</i>``), as a model
    space's LayerChoice may name them."""

    def __init__(self, space):
        self.space, self.name = space, space.name

    def to_params(self, arch):
        return {f"<b>{k}</b>": f"<i>{v}</i>" for k, v in self.space.to_params(arch).items()}

    def categorical_params(self):
        return {f"<b>{k}</b>": [f"<i>{c}</i>" for c in v] for k, v in self.space.categorical_params().items()}


def markup_data(url: str, name: str = "toy"):
    """The study ``name`` of ``url`` with markup in its choice labels and in its name."""
    data = load_study_data(open_readonly(url), name)
    data.space, data.name = MarkupLabels(data.space), "<i>toy</i> & co"
    return data


def test_plotly_shows_labels_and_names_as_written(stored):
    """Would fail: plotly read a choice label "<b>act</b>" (or a study name) as markup and drew it bold."""
    from nasforge.analysis.studyreport import views

    data = markup_data(stored[1])
    figs = figures(views.importance_view(data))
    heatmap, forest = figs["nf-plot-importance-0"]["data"][0], figs["nf-plot-importance-forest"]["data"][0]
    assert "&lt;i&gt;none&lt;/i&gt;" in heatmap["x"] and heatmap["y"][0] == "&lt;b&gt;edge_0_1&lt;/b&gt;"
    assert not any("<" in text for text in heatmap["x"] + heatmap["y"] + forest["x"])
    legend = figures(views.progress_view([data]))["nf-plot-progress-trials"]["data"][0]["name"]
    assert legend == "&lt;i&gt;toy&lt;/i&gt; &amp; co"


def test_a_masked_password_parameter_ends_with_its_url():
    """Would fail: a ``password=`` parameter was masked to the end of the text, hiding the reason of the error."""
    from nasforge.experiment.storage.display import mask_passwords

    url = "postgresql+psycopg://u@h:1/db?password=secret"
    assert mask_passwords(f"cannot open storage {url!r}: connection refused") == \
        "cannot open storage 'postgresql+psycopg://u@h:1/db?password=***': connection refused"
    assert mask_passwords(f'storage "{url}&sslmode=require" and {url} then more') == \
        'storage "postgresql+psycopg://u@h:1/db?password=***&sslmode=require" and ' \
        "postgresql+psycopg://u@h:1/db?password=*** then more"
    assert mask_passwords("x postgresql://u@h/db?password=a#b y") == "x postgresql://u@h/db?password=*** y"  # '#'
    # is part of a query value for SQLAlchemy: masked with the rest of the password


def test_report_is_read_only_on_the_database(stored, tmp_path):
    folder, url = stored
    db = folder / "study.db"
    before = (hashlib.sha256(db.read_bytes()).hexdigest(), os.stat(db).st_mtime_ns)
    assert main(["report", "toy", "--storage", url, "--out", str(tmp_path / "r.html")]) == 0
    assert (hashlib.sha256(db.read_bytes()).hexdigest(), os.stat(db).st_mtime_ns) == before
    storage = open_readonly(url)
    record = storage.load_study("toy")
    with pytest.raises(Exception, match="readonly|read-only|read only"):
        storage.update_study(record.id, user_attrs={"x": 1})


def test_progress_overlays_several_studies(tmp_path):
    url = f"sqlite:///{tmp_path / 'two.db'}"
    studies = [make_study(url, "a", n=12, seed=1), make_study(url, "b", n=15, seed=2, strategy="nsga2")]
    html = render_study(studies)
    figs = figures(html)
    by_trial = figs["nf-plot-progress-trials"]["data"]
    assert [t["name"] for t in by_trial] == ["a", "b"]
    assert "nf-plot-progress-time" in figs and '<section id="nf-studies">' in html
    assert "<th>Pareto set</th>" in html  # several objectives: the size of each study's Pareto set
    curve = by_trial[1]["y"]
    assert all(b >= a for a, b in zip(curve, curve[1:]))  # hypervolume never decreases


def test_hypervolume_progress_is_exact_at_every_trial():
    """The curve was computed at 200 checkpoints and held flat between them (on 3,000 trials, 621 shown at trial
    10 for a true 1168): past 200 trials every value must be the hypervolume of the feasible trials so far."""
    from nasforge.analysis.studyreport import views
    from nasforge.pareto import hypervolume

    study = Study(get_space("nb201"), "mo_random", objectives=["acc", "params"], directions=["maximize", "minimize"],
                  seed=0, constraints=["test_acc >= 0.1"])
    rng = np.random.default_rng(0)
    for _ in range(450):
        trial = study.ask()
        acc = rng.random()
        study.tell(trial, {"acc": acc, "params": acc + 0.3 * rng.random(), "test_acc": rng.random()})
    data = from_study(study)
    line = figures(render_study(data))["nf-plot-progress-trials"]["data"][0]
    done = sorted(data.complete, key=lambda t: (t.finished_at or 0.0, t.number))
    values, feasible, reference = data.values(done), data.violations(done) == 0, views._reference([data])
    exact = [hypervolume(values[:n][feasible[:n]], reference, data.directions) for n in range(1, len(done) + 1)]
    # points where the hypervolume changes (and the first and last): the "hv" line holds it between them
    changes = [n for n in range(1, 451) if n in (1, 450) or abs(exact[n - 1] - exact[n - 2]) > 1e-12]
    assert line["x"] == changes and line["y"] == pytest.approx([exact[n - 1] for n in changes], rel=1e-12, abs=1e-12)


def test_single_objective_regret_and_retrain_trials(tmp_path):
    study = Study(get_space("nb201"), "random", objectives="acc", seed=3, name="single")
    for _ in range(12):
        trial = study.ask()
        study.tell(trial, toy_metrics(trial.arch))
    if hasattr(study, "enqueue"):  # stage-2 retrains stored as trials of the study
        best = study.best_trial
        queued = study.enqueue(best.arch, user_attrs={"stage": "retrain"})
        study.tell(queued, {"acc": best.metrics["acc"] + 2.0, "test_acc": 90.0})
    html = render_study(study, optimum=84.0)  # above every toy accuracy
    figs = figures(html)
    regret = figs["nf-plot-progress-trials"]["data"][0]["y"]
    assert all(b <= a for a, b in zip(regret, regret[1:])) and min(regret) > 0
    assert figs["nf-plot-progress-trials"]["layout"]["yaxis"]["type"] == "log"
    traces = figs["nf-plot-pareto"]["data"]
    assert n_points(traces[0]) == 12  # retrain trials are not search trials
    if hasattr(study, "enqueue"):
        assert traces[-1]["name"].startswith("retrained") and n_points(traces[-1]) == 1


def test_the_workers_row_counts_sessions_not_the_workers_of_a_run(tmp_path):
    """Would fail without the fix: a run with 2 process workers was reported as '1 worker process(es)' (every
    trial carries the id of the session that claimed it for its workers)."""
    from engine_evaluators import Toy

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="two", storage=url)
    study.optimize(Toy(), n_trials=4, n_workers=2, executor="process")
    assert "last run asked for 2 (process); trials claimed by 1 session(s)" in render_study(study)
    resumed = Study.load("two", url)
    resumed.optimize(Toy(), n_trials=2)  # a second session, inline
    assert "last run asked for 1 (inline); trials claimed by 2 session(s)" in render_study(resumed)


def test_zero_regret_is_drawn_on_a_bottom_line_labelled_0():
    """With the optimum found, regret 0 was drawn at 1e-12, about 14 empty decades below the rest and with no
    label; it is drawn as in bench folders: a decade below the smallest positive regret, labelled 0."""
    study = Study(get_space("nb201"), "random", objectives="acc", seed=3, name="found")
    for _ in range(12):
        trial = study.ask()
        study.tell(trial, toy_metrics(trial.arch))
    values = [t.metrics["acc"] for t in study.completed()]
    axis = figures(render_study(study, optimum=max(values)))["nf-plot-progress-trials"]
    regret = axis["data"][0]["y"]
    smallest = min(max(values) - best for best in np.maximum.accumulate(values) if best < max(values))
    floor = 10.0 ** (np.floor(np.log10(smallest)) - 1)
    assert regret[-1] == pytest.approx(floor) and min(regret) == regret[-1]
    assert axis["layout"]["yaxis"]["type"] == "log" and axis["layout"]["yaxis"]["ticktext"][0] == "0"
    assert axis["layout"]["yaxis"]["tickvals"][0] == pytest.approx(floor)


def test_front_and_best_follow_the_study_rules(tmp_path):
    """The report ranks what Study ranks: a feasible-first front under constraints, no enqueued trial kept
    from the strategy; infeasible trials are drawn apart from the front and marked in the trials table."""
    url = f"sqlite:///{tmp_path / 'rules.db'}"
    study = Study(get_space("nb201"), "nsga2", objectives=["acc", "params"], directions=["maximize", "minimize"],
                  seed=0, name="constrained", storage=url, constraints=["test_acc >= 81"])
    for _ in range(24):
        trial = study.ask()
        study.tell(trial, toy_metrics(trial.arch))
    front = [t.number for t in study.pareto_front()]
    for data in (from_study(study), load_study_data(open_readonly(url), "constrained")):
        assert [t.number for t in data.front()] == front
        assert data.infeasible() and not {t.number for t in data.infeasible()} & set(front)
    html = render_study(study)
    infeasible = len(from_study(study).infeasible())
    assert (f"Pareto set: {len(front)} trials (of 24 complete; {infeasible} complete trials break the constraints)"
            in html)
    assert html.count("COMPLETE (infeasible)") == infeasible
    traces = {t["name"]: t for t in figures(html)["nf-plot-pareto"]["data"]}
    assert n_points(traces["infeasible trials"]) == infeasible and n_points(traces["Pareto front"]) == len(front)

    single = Study(get_space("nb201"), "random", objectives="acc", seed=1)
    for _ in range(8):
        trial = single.ask()
        single.tell(trial, toy_metrics(trial.arch))
    best = single.best_trial
    queued = single.enqueue(best.arch)  # kept from the strategy (no "stage" attribute): not ranked
    single.tell(queued, {"acc": best.metrics["acc"] + 5.0})
    data = from_study(single)
    assert data.best().number == single.best_trial.number == best.number
    assert queued.number not in {t.number for t in data.complete}


def test_three_objectives_use_parallel_coordinates():
    study = Study(get_space("nb201"), "random", objectives=["acc", "params", "test_acc"],
                  directions=["maximize", "minimize", "maximize"], seed=0)
    for _ in range(8):
        trial = study.ask()
        study.tell(trial, toy_metrics(trial.arch))
    pareto = figures(render_study(study))["nf-plot-pareto"]["data"][0]
    assert pareto["type"] == "parcoords" and len(pareto["dimensions"]) == 4


def test_model_diagnostics_view_when_recorded():
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    numbers = []
    for _ in range(5):
        trial = study.ask()
        study.tell(trial, toy_metrics(trial.arch))
        numbers.append(trial.number)
    actual = [t.metrics["acc"] for t in study.trials]
    study.set_user_attr("model_diagnostics", {"actual": actual, "predicted": [a + 0.5 for a in actual],
                                              "lower": [a - 1 for a in actual], "upper": [a + 2 for a in actual],
                                              "numbers": numbers, "kendall_tau": 0.8})
    figs = figures(render_study(study))
    trace = figs["nf-plot-diagnostics"]["data"][0]
    assert n_points(trace) == 5 and trace["error_y"]["array"][0] == pytest.approx(1.5)


def test_operation_importance_finds_the_edge_that_matters():
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    for _ in range(60):
        trial = study.ask()
        study.tell(trial, toy_metrics(trial.arch))
    from nasforge.analysis.studyreport import from_study

    data = from_study(study)
    table = op_means(data, "acc")
    row = table.params.index("edge_0_1")
    means = dict(zip(table.choices, table.mean[row]))
    assert means["nor_conv_3x3"] > means["nor_conv_1x1"] > means["none"]
    assert table.count[row].sum() == 60
    forest = forest_importance(data, "acc")
    assert max(forest, key=forest.get) == "edge_0_1" and sum(forest.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("space_name, labels", [("nb201", 6), ("darts", 16), ("nb101", 0), ("proxylessnas", 21)])
def test_architecture_diagrams_are_svg_with_every_op(space_name, labels):
    space = get_space(space_name)
    arch = space.sample(np.random.default_rng(0))
    svg = architecture_svg(space, arch)
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg")
    ops = [el.text for el in root.iter() if el.get("class") == "nf-op"]
    assert len(ops) == labels
    if space_name == "nb201":
        assert ops == list(arch.genotype)
    if space_name == "darts":
        assert sorted(ops) == sorted(op for cell in arch.genotype for op, _ in cell)
    if space_name == "nb101":
        texts = [el.text for el in root.iter() if el.tag.endswith("text")]
        assert len(texts) == len(arch.genotype[1]) and texts[0] == "input" and texts[-1] == "output"


def test_bench_folder_report(tmp_path):
    from nasforge.analysis.harness import compare
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"]] * 3)
    records = [{"arch": space.format(a), "acc": float(sum("abc".index(c) for c in a.genotype))}
               for a in space.enumerate()]
    bench = compare(TabularBenchmark(records, space), ["random", "local_search"], seeds=3, budget=8,
                    objective="acc", secondary=None, workers=1)
    bench.save(tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    html = (tmp_path / "report.html").read_text()
    figs = figures(html)
    names = [t["name"] for t in figs["nf-plot-bench-eval"]["data"] if t.get("showlegend", True) is not False]
    assert names == ["random", "local_search"]
    assert plotly_js() in html
    path = bench_report(tmp_path, tmp_path / "other.html")
    assert path.exists()


def test_report_cli_errors_exit_2(stored, tmp_path, capsys, monkeypatch):
    _, url = stored
    assert main(["report", "nope", "--storage", url]) == 2
    assert "no study 'nope'" in capsys.readouterr().err
    assert main(["report", "toy", "--storage", f"sqlite:///{tmp_path / 'missing.db'}"]) == 2
    assert "no database file" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2  # a folder without bench.json
    assert "bench.json is missing" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    assert main(["report", "toy", "--storage", url, "--out", ""]) == 2  # wrote ./report.html
    assert "--out must name a file, got ''" in capsys.readouterr().err
    assert main(["report", "toy", "toy", "--storage", url]) == 2  # drew the same study twice
    assert "'toy' named more than once: each study or folder is reported once" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()
    assert main(["report", str(tmp_path)]) == 2
    assert "bench.json is missing" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    (tmp_path / "toy").mkdir()  # a folder named like the study (e.g. its --out): the study wins
    assert main(["report", "toy", "--storage", url, "--out", str(tmp_path / "r.html")]) == 0
    (tmp_path / "toy" / "simulated.json").write_text("{}")  # 'nasforge bench --workers-simulated' output
    assert main(["report", "toy", "--storage", url]) == 2
    assert "holds a simulated-time bench" in capsys.readouterr().err


def test_model_diagnostics_of_a_model_based_strategy():
    pytest.importorskip("nasforge.strategies.model_based")
    study = Study(get_space("nb201"), "model_based", objectives="acc", seed=0, n_initial=4)
    for _ in range(8):
        trial = study.ask()
        study.tell(trial, toy_metrics(trial.arch))
    figs = figures(render_study(study))
    trace = figs["nf-plot-diagnostics"]["data"][0]
    assert n_points(trace) == 8
    assert sorted(trace["x"]) == sorted(t.metrics["acc"] for t in study.trials)  # in objective units
    assert {c[0] for c in trace["customdata"]} == {t.number for t in study.trials}


def test_search_pipeline_writes_the_report_beside_pareto_png(tmp_path):
    from nasforge.pipelines.search import SearchConfig, write_outputs

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = Study(get_space("nb201"), "random", objectives=["val_acc", "params"],
                  directions=["maximize", "minimize"], seed=0, name="job", storage=url)
    for _ in range(6):
        trial = study.ask()
        metrics = toy_metrics(trial.arch)
        study.tell(trial, {"val_acc": metrics["acc"], "params": metrics["params"]})
    write_outputs(study, SearchConfig(out=str(tmp_path), name="job", storage=url, workers=1, threads=1))
    assert (tmp_path / "pareto.png").is_file()
    pareto = figures((tmp_path / "report.html").read_text())["nf-plot-pareto"]["data"]
    assert sum(n_points(t) for t in pareto) == 6


def test_report_never_overwrites_what_is_not_a_report_and_refuses_bad_arguments(stored, tmp_path):
    folder, url = stored
    study = Study.load("toy", url)
    database = folder / "study.db"
    before = database.read_bytes()
    with pytest.raises(UsageError, match="exists and is not a report written by nasforge; not overwriting it"):
        report(study, database)
    assert database.read_bytes() == before
    with pytest.raises(UsageError, match="is a folder"):
        report(study, tmp_path)
    with pytest.raises(UsageError, match="report takes a Study"):
        report("toy", tmp_path / "r.html")
    with pytest.raises(UsageError, match="the list is empty"):
        report([], tmp_path / "r.html")
    with pytest.raises(UsageError, match="optimum must be a finite number, got '91.6'"):
        report(study, tmp_path / "r.html", optimum="91.6")
    page = report(study, tmp_path / "r.html")
    assert report(study, page) == page  # a previous report is replaced
    (tmp_path / "empty.html").write_bytes(b"")
    assert report(study, tmp_path / "empty.html") == tmp_path / "empty.html"
    others = {"bom.html": b"\xef\xbb\xbf<!DOCTYPE html><p>old</p>", "comment.html": b"<!-- old -->\n<html></html>",
              "index.html": b"<!doctype html><html><head><title>my page</title></head></html>",
              "pic.svg": b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "data.xml": b"<?xml version='1.0'?><a/>"}
    for name, content in others.items():  # pages and markup nasforge did not write are kept
        (tmp_path / name).write_bytes(content)
        with pytest.raises(UsageError, match="is not a report written by nasforge"):
            report(study, tmp_path / name)
        assert (tmp_path / name).read_bytes() == content


def test_report_path_errors_name_out_and_writes_are_atomic(stored, tmp_path, capsys, monkeypatch):
    _, url = stored
    (tmp_path / "afile").write_text("x")
    for out, needle in [(tmp_path / "afile" / "x.html", "is a file, not a folder"),
                        ("/proc/x.html", "cannot write in '/proc'"), (tmp_path / "afile", "is not a report")]:
        assert main(["report", "toy", "--storage", url, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "--out" in err and needle in err and "Traceback" not in err, err
    page = tmp_path / "r.html"
    assert main(["report", "toy", "--storage", url, "--out", str(page)]) == 0
    before = page.read_bytes()

    def interrupted(*args):
        raise KeyboardInterrupt

    import nasforge.writes as writes

    monkeypatch.setattr(writes.os, "replace", interrupted)  # Ctrl-C just before the new report takes its place
    assert main(["report", "toy", "--storage", url, "--out", str(page), "--overwrite"]) == 130
    assert page.read_bytes() == before  # the earlier report is whole, and no temporary file is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "r.html"]


def test_optimum_is_checked(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'o.db'}"
    for name, direction in (("max", "maximize"), ("min", "minimize")):
        study = Study(get_space("nb201"), "random", objectives="acc", directions=direction, seed=1, name=name,
                      storage=url)
        for _ in range(6):
            trial = study.ask()
            study.tell(trial, toy_metrics(trial.arch))
        study.storage.close()
    make_study(url, "two", n=6).storage.close()
    best_max = max(t.metrics["acc"] for t in Study.load("max", url).trials)
    best_min = min(t.metrics["acc"] for t in Study.load("min", url).trials)
    for argv, needle in [(["max", "--optimum", "50"], f"--optimum 50 is worse than the best acc found ({best_max:g}"),
                         (["min", "--optimum", "99"], "--optimum 99 is worse than the best acc found"),
                         (["max", "--optimum", "nan"], "--optimum must be a finite number, got nan"),
                         (["max", "--optimum", "inf"], "--optimum must be a finite number, got inf"),
                         (["two", "--optimum", "90"], "--optimum applies to a study with one objective")]:
        assert main(["report", *argv, "--storage", url, "--out", str(tmp_path / "r.html")]) == 2
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1, err
    assert not (tmp_path / "r.html").exists()
    data = load_study_data(open_readonly(url), "min")
    for bad in (float("nan"), float("inf"), best_min + 1):
        with pytest.raises(UsageError, match="optimum"):
            render_study(data, optimum=bad)
    regret = figures(render_study(data, optimum=best_min - 2.0))["nf-plot-progress-trials"]["data"][0]["y"]
    assert regret[-1] == pytest.approx(2.0) and all(b <= a for a, b in zip(regret, regret[1:]))
    assert main(["report", "max", "--storage", url, "--optimum", str(best_max), "--out", str(tmp_path / "r.html")]) == 0


def test_compared_studies_must_share_directions(tmp_path):
    url = f"sqlite:///{tmp_path / 'mix.db'}"
    a = make_study(url, "a", n=6)
    b = Study(get_space("nb201"), "random", objectives=["acc", "params"], directions=["minimize", "maximize"],
              seed=0, name="b", storage=url)
    for _ in range(6):
        trial = b.ask()
        b.tell(trial, toy_metrics(trial.arch))
    with pytest.raises(UsageError, match="must share space, objectives and directions"):
        report([a, b], tmp_path / "mixmo.html")
    assert not (tmp_path / "mixmo.html").exists()


def test_read_only_storage_urls_are_parsed_like_writable_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    make_study("sqlite:///p%41.db", "pct", n=4).storage.close()  # SQLAlchemy reads %41 as A
    make_study("sqlite:///q%3Fx.db", "query", n=4).storage.close()  # a '?' in a file name is written %3F
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pA.db", "q?x.db"]
    for url, name in (("sqlite:///p%41.db", "pct"), ("sqlite:///q%3Fx.db", "query")):
        assert main(["studies", "--storage", url]) == 0 and name in capsys.readouterr().out
        assert main(["report", name, "--storage", url, "--out", f"{name}.html"]) == 0
        assert len(load_study_data(open_readonly(url), name).trials) == 4


def test_bench_report_arguments(tmp_path, capsys):
    from nasforge.analysis.harness import compare
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"]] * 2)
    records = [{"arch": space.format(a), "acc": float(sum("abc".index(c) for c in a.genotype))}
               for a in space.enumerate()]
    bench = compare(TabularBenchmark(records, space), ["random"], seeds=2, budget=4, objective="acc",
                    secondary=None, workers=1)
    for folder in ("c1", "c2"):
        bench.save(tmp_path / folder)
    assert main(["report", str(tmp_path / "c1"), str(tmp_path / "c2")]) == 2
    assert "one 'nasforge bench --out' folder at a time" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "c1"), "--optimum", "8"]) == 2
    assert "--optimum applies to studies" in capsys.readouterr().err
    assert not (tmp_path / "c1" / "report.html").exists()
    bench.save(tmp_path / "b&<x>")  # the folder name was escaped twice: b&amp;amp;&amp;lt;x&amp;gt; in the page
    html = bench_report(tmp_path / "b&<x>").read_text()
    assert f"{tmp_path}/b&amp;&lt;x&gt; &middot;" in html and "&amp;amp;" not in html


def test_bench_report_draws_zero_regret(tmp_path):
    from nasforge.analysis.harness import compare
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"]] * 2)  # 9 architectures, 9 evaluations: every run finds the optimum
    records = [{"arch": space.format(a), "acc": float(sum("abc".index(c) for c in a.genotype))}
               for a in space.enumerate()]
    bench = compare(TabularBenchmark(records, space), ["random"], seeds=3, budget=9, objective="acc",
                    secondary=None, workers=1)
    bench.save(tmp_path)
    assert bench.strategies["random"].per_eval["mean"][-1] == 0
    figure = figures(bench_report(tmp_path).read_text())["nf-plot-bench-eval"]
    mean = next(t for t in figure["data"] if t["name"] == "random")
    axis = figure["layout"]["yaxis"]
    floor = axis["tickvals"][0]
    assert axis["type"] == "log" and axis["ticktext"][0] == "0" and 0 < floor
    assert mean["y"][-1] == floor and mean["customdata"][-1] == 0  # drawn at the floor labelled 0, hover says 0
    assert min(v for v in mean["y"] if v is not None) >= floor
    band = next(t for t in figure["data"] if t["name"] == "random IQR")["y"]
    assert all(v is not None and v >= floor for v in band)
    positive = [v for v in mean["customdata"] if v > 0]
    assert floor <= min(positive) / 10


@pytest.mark.parametrize("damage, message", [
    ({"bench.json": "[]"}, "bench.json: not a JSON object of bench results (found a list)"),
    ({"bench.json": '{"summary": [1, 2]}'}, "bench.json: 'summary' must be a list of objects"),
    ({"bench_curves.csv": "strategy,evaluations,regret_mean\nrandom,1,abc\n"},
     "bench_curves.csv: column 'regret_mean' holds a non-number in data row 1 (1 = the first row after the header): "
     "'abc'"),
    ({"bench_curves.csv": "strategy,evaluations,regret_mean\nrandom,1,0.5\nrandom,2,-5\n",
      "bench.json": '{"benchmark": "t", "optimum": 84.892, "direction": "maximize"}'},  # was drawn at 0, exit 0
     "column 'regret_mean', data row 2 (1 = the first row after the header): regret -5 is negative, so the optimum "
     "84.892 in bench.json is wrong (maximize: a value of at least 89.892 was found); regret is never negative"),
    ({"bench_curves.csv": "strategy,evaluations,regret_mean,regret_q25\nrandom,1,0.5,-0.25\n"},
     "column 'regret_q25', data row 1 (1 = the first row after the header): regret -0.25 is negative, so the "
     "optimum None in bench.json is wrong (direction unknown); regret is never negative")])
def test_a_damaged_bench_folder_is_one_line(tmp_path, capsys, damage, message):
    """Would fail: a list bench.json, a non-list summary or a text regret were tracebacks (exit 1)."""
    (tmp_path / "bench.json").write_text('{"benchmark": "t"}')
    (tmp_path / "bench_curves.csv").write_text("strategy,evaluations,regret_mean\nrandom,1,0.5\n")
    for name, text in damage.items():
        (tmp_path / name).write_text(text)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "report.html").exists()


def test_bench_report_is_importable_from_nasforge_analysis_as_documented(tmp_path):
    import nasforge.analysis
    from nasforge.analysis.harness import compare
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b"]] * 2)
    records = [{"arch": space.format(a), "acc": float(i)} for i, a in enumerate(space.enumerate())]
    compare(TabularBenchmark(records, space), ["random"], seeds=1, budget=4, objective="acc", secondary=None,
            workers=1).save(tmp_path)
    assert nasforge.analysis.bench_report(tmp_path) == tmp_path / "report.html"
    assert "nasforge bench" in (tmp_path / "report.html").read_text()


def test_a_live_study_is_reported_under_the_strategy_name_it_is_recorded_by(monkeypatch):
    """Would fail: a study of a factory registered as 'big_evo' was reported live as 'evolution', stored as 'big_evo'."""
    from nasforge import Study
    from nasforge.analysis.studyreport import from_study
    from nasforge.strategies import STRATEGIES, RegularizedEvolution

    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))
    monkeypatch.setattr(STRATEGIES, "_tags", dict(STRATEGIES._tags))
    STRATEGIES.register("big_evo", lambda space, seed=None: RegularizedEvolution(space, seed, population_size=50))
    study = Study("nb201", "big_evo", objectives="acc", seed=0)
    assert study.record.strategy == "big_evo" and from_study(study).strategy == "big_evo"


def test_text_from_bench_json_and_space_names_is_escaped(tmp_path):
    """Would fail: the notes above the plots put bench.json fields and the space name into the page unescaped."""
    from nasforge.analysis.harness import compare
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.spaces import ChainSpace

    attack = "<img src=x onerror=alert(1)>"
    space = ChainSpace([["a", "b"], ["c", "d"]], name=attack)
    records = [{"arch": space.format(a), "acc": float(i)} for i, a in enumerate(space.enumerate())]
    compare(TabularBenchmark(records, space), ["random"], seeds=1, budget=3, objective="acc", secondary=None,
            workers=1).save(tmp_path)
    meta = json.loads((tmp_path / "bench.json").read_text())
    meta.update(benchmark=attack, seeds="<u>3</u>", budget="<b>", optimum="<i>", direction="<s>")
    (tmp_path / "bench.json").write_text(json.dumps(meta))
    pages = [bench_report(tmp_path).read_text()]
    url = f"sqlite:///{tmp_path / 'chain.db'}"
    for name in ("c1", "c2"):
        study = Study(space, "random", objectives="acc", seed=0, name=name, storage=url)
        for i in range(3):
            study.tell(study.ask(), float(i))
    pages.append(render_study([Study.load("c1", url), Study.load("c2", url)]))
    for html in pages:
        notes = re.findall(r'<p class="nf-note">(.*?)</p>', html, re.S)
        assert notes and not any(re.search("<[a-z]", note) for note in notes), notes
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[0] and "&lt;u&gt;3&lt;/u&gt; seeds" in pages[0]
    assert "space &lt;img src=x onerror=alert(1)&gt; overlaid" in pages[1]


def test_a_learning_curve_of_one_value_is_drawn_as_a_dot():
    """Would fail: a one-epoch trial's curve was one point in mode "lines", which plotly draws as nothing."""
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    for i in range(3):
        trial = study.ask()
        curve = [(1, 50.0 + i)] if i else [(1, 40.0), (2, 50.0)]
        study.tell(trial, Result(metrics={"acc": 50.0 + i}, intermediate=curve))
    curves = figures(render_study(study))["nf-plot-curves"]["data"]
    assert [(n_points(t), t["mode"]) for t in curves] == [(2, "lines"), (1, "lines+markers"), (1, "lines+markers")]
    assert all(t["marker"]["size"][-1] > 0 for t in curves[1:])


def test_a_search_run_folder_is_reported_as_its_study(tmp_path, capsys, monkeypatch):
    """Would fail: 'nasforge report RUN' said RUN was no bench folder and looked for the study in ./nasforge.db."""
    monkeypatch.chdir(tmp_path)
    run, other = tmp_path / "run", tmp_path / "two"
    run.mkdir(), other.mkdir()
    make_study(f"sqlite:///{run / 'study.db'}", "job", n=6).storage.close()
    assert main(["report", "run"]) == 0  # its study.db and the one study in it, the report inside it
    html = (run / "report.html").read_text()
    assert "nasforge study job" in html and not (tmp_path / "report.html").exists()
    make_study(f"sqlite:///{other / 'study.db'}", "job2", n=6).storage.close()
    assert main(["report", "run", "two"]) == 0  # two runs compared, as two studies are
    assert "2 studies of nb201" in (tmp_path / "report.html").read_text()
    (tmp_path / "report.html").unlink()  # else each case below is refused for it first (no --overwrite)
    make_study(f"sqlite:///{other / 'study.db'}", "job3", n=4).storage.close()
    cases = [(["two"], "holds 2 studies ['job2', 'job3']; name one: nasforge report STUDY --storage sqlite:///"),
             (["run", "run/"], "run run/: one run folder named more than once"),
             (["run", "--storage", f"sqlite:///{run / 'study.db'}"],
              "no study 'run' in sqlite:///"),
             (["run", "--storage", f"sqlite:///{run / 'study.db'}"],
              "run is a 'nasforge search' run folder: leave out --storage to report the study in it"),
             (["."], ". is neither a 'nasforge bench --out' folder (bench.json is missing) nor a 'nasforge search' "
                     "run folder (study.db is missing)"),
             (["x" * 300], "no database file 'nasforge.db'"),  # a name too long for a path: no OSError
             (["nosuch"], "nosuch: no such folder (of 'nasforge bench --out' or 'nasforge search'), no "
                          "nasforge-runs/nosuch/, and as a study name: no database file 'nasforge.db'")]
    for argv, needle in cases:
        assert main(["report", *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, err


def test_a_bench_folder_named_twice_is_not_called_a_study(tmp_path, capsys):
    (tmp_path / "bench.json").write_text('{"benchmark": "t"}')
    assert main(["report", str(tmp_path), str(tmp_path)]) == 2
    assert f"'{tmp_path}' named more than once: each study or folder is reported once" in capsys.readouterr().err


def test_an_empty_study_and_single_objective_comparisons_show_no_empty_fields(tmp_path):
    """Would fail: an empty study's trials row read '0: ', and single-objective studies were compared with a
    'Pareto set' column that is always 1."""
    url = f"sqlite:///{tmp_path / 'so.db'}"
    empty = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="empty", storage=url)
    assert "<tr><td>trials</td><td>0</td></tr>" in render_study(empty)
    done = Study(get_space("nb201"), "random", objectives="acc", seed=1, name="done", storage=url)
    for _ in range(3):
        trial = done.ask()
        done.tell(trial, toy_metrics(trial.arch))
    html = render_study([empty, done])
    table = re.search(r'<section id="nf-studies">.*?</section>', html, re.S).group(0)
    assert "Pareto set" not in table
    assert "<th>study</th><th>strategy</th><th>trials</th><th>best acc</th><th>wall s</th>" in table
    assert "<tr><td>empty</td><td>random</td><td>0</td><td></td>" in table


def test_model_diagnostics_skipped_with_a_note_when_the_model_needs_a_missing_package(monkeypatch):
    import sys

    study = Study(get_space("nb201"), "bananas", objectives="acc", seed=0, n_initial=4)
    for _ in range(5):
        trial = study.ask()
        study.tell(trial, toy_metrics(trial.arch))
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    html = render_study(study)  # the rest of the report is drawn
    assert "No model diagnostics: predictor &#x27;lgb&#x27; needs lightgbm: pip install &#x27;nasforge[boost]&#x27;" \
        in html
