"""Report fixes of stop 45: recorded diagnostics' ``numbers``, the order of the --out and study checks, RunTrace
checks in regret_matrix, labels of same-named studies, the bench-with-studies message, an empty report path and
the importance plots' axis titles."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge import Result, Study, get_space
from nasforge.analysis.regret import RunTrace, regret_matrix
from nasforge.analysis.studyreport import from_study, model_diagnostics, render_study, report
from nasforge.cli import main
from nasforge.exceptions import UsageError

from report_pages import figures, op_length_score

pytest.importorskip("plotly")


def small_study(url: str = "memory", name: str = "s", n: int = 12, seed: int = 0) -> Study:
    """A one-objective nb201 study of ``n`` trials (score: op-name lengths)."""
    study = Study(get_space("nb201"), "random", objectives="acc", seed=seed, name=name, storage=url)
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, Result(metrics={"acc": op_length_score(trial.arch)}))
    return study


@pytest.mark.parametrize("numbers", [5, [[0], [1], [2]], [0, True, 2], [0, 1], [0, 99, 2]])
def test_recorded_numbers_that_are_no_trial_numbers_only_lose_the_hovers(numbers):
    """Would fail: an int or a list of lists in ``numbers`` was a TypeError (exit 1 in ``nasforge report``); the
    plot itself is kept (as it was for a ``numbers`` of the wrong length), only its hovers go."""
    study = small_study()
    found = {"actual": [1, 2, 3], "predicted": [1.1, 2.2, 2.9], "numbers": numbers}
    study.set_user_attr("model_diagnostics", found)
    data = from_study(study)
    assert model_diagnostics(data) == found
    page = render_study(data)
    assert "No model diagnostics" not in page
    assert "leave-one-out prediction" in page


def test_recorded_numbers_with_nulls_are_kept():
    study = small_study()
    found = {"actual": [1, 2, 3], "predicted": [1.1, 2.2, 2.9], "numbers": [0, None, 2]}
    study.set_user_attr("model_diagnostics", found)
    assert model_diagnostics(from_study(study)) == found


def test_a_missing_study_is_named_before_advice_about_an_earlier_report(tmp_path, capsys, monkeypatch):
    """Would fail: with ./report.html from an earlier report, a wrong name, folder or storage said 'pass
    --overwrite', which would then have replaced that report."""
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    small_study(url, "one")
    monkeypatch.chdir(tmp_path)
    assert main(["report", "one", "--storage", url]) == 0
    before = (tmp_path / "report.html").read_bytes()
    (tmp_path / "emptydir").mkdir()
    for args, message in ((["nosuch", "--storage", url], "no study 'nosuch'"),
                          (["one", "--storage", f"sqlite:///{tmp_path / 'nosuch.db'}"], "no database file"),
                          (["nonexist_thing"], "nonexist_thing: no such folder"),
                          (["emptydir"], "emptydir is neither a 'nasforge bench --out' folder")):
        assert main(["report", *args]) == 2
        err = capsys.readouterr().err
        assert message in err and "--overwrite" not in err, err
    assert main(["report", "one", "--storage", url]) == 2  # the study exists: now the earlier report is named
    assert "holds a report written by nasforge already" in capsys.readouterr().err
    assert main(["report", "nosuch", "--storage", url, "--out", str(tmp_path / "emptydir")]) == 2
    assert "is a folder" in capsys.readouterr().err  # an --out that cannot be written: before any study is read
    assert (tmp_path / "report.html").read_bytes() == before


def test_a_damaged_bench_folder_is_named_before_advice_about_an_earlier_report(tmp_path, capsys):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "bench.json").write_text("[]")
    (tmp_path / "b" / "bench_curves.csv").write_text("strategy,evaluations,regret_mean\nrandom,1,0.5\n")
    out = tmp_path / "r.html"
    report(small_study(), out)
    assert main(["report", str(tmp_path / "b"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not a JSON object of bench results" in err and "--overwrite" not in err, err


@pytest.mark.parametrize("trace, message", [
    (RunTrace(np.array([1., 3., 2.]), np.array([5.]), ["a", "b", "c"]),
     "traces: run 0 has 3 values and 1 secondary values"),
    (RunTrace(["x", "y", "z"], [5., 6., 7.], ["a", "b", "c"]), "traces: run 0's values must be numbers"),
    (RunTrace(np.ones((3, 1)), np.ones(3), ["a", "b", "c"]), "traces: run 0's values must be one-dimensional")])
@pytest.mark.parametrize("unique_only", [False, True])
def test_regret_matrix_checks_each_run_trace(trace, message, unique_only):
    """Would fail: mismatched lengths were an IndexError from numpy."""
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        regret_matrix([trace], 4.0, 3, unique_only=unique_only)


@pytest.mark.parametrize("keys, message", [(["a"], "traces: run 0 has 3 values and 1 keys; unique_only needs one"),
                                           (7, "traces: run 0's keys must be a list")])
def test_regret_matrix_checks_keys_only_where_it_reads_them(keys, message):
    """unique_only reads the keys: they must be one per evaluation; without it they are never read, and any keys
    give the regret they gave before the checks (regression: a short keys list was refused)."""
    trace = RunTrace(np.array([1., 3., 2.]), np.zeros(3), keys)
    with pytest.raises(UsageError, match=message):
        regret_matrix([trace], 10.0, 3, unique_only=True)
    np.testing.assert_array_equal(regret_matrix([trace], 10.0, 3)[0], [[9., 7., 7.]])


def test_regret_matrix_takes_plain_lists_with_unique_only():
    """Would fail: lists with unique_only=True were a TypeError (masking a list with a boolean array)."""
    listed = RunTrace([1., 3., 2.], [5., 6., 7.], ["a", "b", "a"])
    arrays = RunTrace(np.array([1., 3., 2.]), np.array([5., 6., 7.]), ["a", "b", "a"])
    for unique_only in (False, True):
        got = regret_matrix([listed], 4.0, 3, unique_only=unique_only)
        want = regret_matrix([arrays], 4.0, 3, unique_only=unique_only)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_same_named_studies_are_told_apart(tmp_path):
    """Would fail: two run folders' studies named alike were two 'runf' lines and rows."""
    for folder in ("rf", "rf2"):
        (tmp_path / folder).mkdir()
        small_study(f"sqlite:///{tmp_path / folder / 'study.db'}", "runf", seed=len(folder))
    out = tmp_path / "two.html"
    assert main(["report", str(tmp_path / "rf"), str(tmp_path / "rf2"), "--out", str(out)]) == 0
    html = out.read_text()
    legend = [t["name"] for t in figures(html)["nf-plot-progress-trials"]["data"]]
    assert legend == ["runf (rf)", "runf (rf2)"]
    assert "runf (rf), runf (rf2)" in html  # the header
    assert html.count("<td>runf (rf)</td>") == 1 and html.count("<td>runf (rf2)</td>") == 1, "Studies table"
    pages = [render_study([small_study(), small_study(seed=1)]), render_study([small_study(name="a"),
                                                                               small_study(name="b", seed=1)])]
    assert [t["name"] for t in figures(pages[0])["nf-plot-progress-trials"]["data"]] == ["s #1", "s #2"]
    assert [t["name"] for t in figures(pages[1])["nf-plot-progress-trials"]["data"]] == ["a", "b"]  # unchanged


def test_a_bench_folder_with_a_run_folder_is_named_as_such(tmp_path, capsys):
    """Would fail: the refusal said 'one bench folder at a time' although only one was given."""
    (tmp_path / "b1").mkdir()
    (tmp_path / "b1" / "bench.json").write_text("{}")
    (tmp_path / "rf").mkdir()
    small_study(f"sqlite:///{tmp_path / 'rf' / 'study.db'}", "runf")
    assert main(["report", str(tmp_path / "b1"), str(tmp_path / "rf")]) == 2
    err = capsys.readouterr().err
    assert (f"a bench folder cannot be reported with studies or run folders ({tmp_path / 'rf'}): report "
            f"{tmp_path / 'b1'} on its own") in err, err
    (tmp_path / "b2").mkdir()
    (tmp_path / "b2" / "bench.json").write_text("{}")
    assert main(["report", str(tmp_path / "b1"), str(tmp_path / "b2")]) == 2
    assert "one 'nasforge bench --out' folder at a time" in capsys.readouterr().err


@pytest.mark.parametrize("path", ["", "  "])
def test_an_empty_report_path_is_named_as_empty(tmp_path, monkeypatch, path):
    """Would fail: report(study, "") said "report path '.' is a folder"."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=f"report path must name a file, got {path!r} \\(an empty path\\)"):
        report(small_study(), path)
    assert list(tmp_path.iterdir()) == []


def test_importance_plots_have_axis_titles():
    """Would fail: the heatmap and the forest bars had no axis titles."""
    figs = figures(render_study(small_study()))
    heatmap, forest = figs["nf-plot-importance-0"]["layout"], figs["nf-plot-importance-forest"]["layout"]
    assert heatmap["xaxis"]["title"]["text"] == "choice" and heatmap["yaxis"]["title"]["text"] == "edge/layer"
    assert forest["xaxis"]["title"]["text"] == "edge/layer"
