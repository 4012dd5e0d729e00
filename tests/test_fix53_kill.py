"""Kill -9 at the wrong moment: a bench overwrite never leaves one run's bench.json beside another's curves, and
report refuses such a folder; status names the command that writes a killed search run's missing outputs."""
import json
import shutil
from pathlib import Path

import pytest

from nasforge.analysis.harness import compare
from nasforge.cli import main


def _chain_table():
    """A 9-architecture chain table: acc = the sum of the choices' positions (a=0, b=1, c=2)."""
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"]] * 2)
    records = [{"arch": space.format(a), "acc": float(sum("abc".index(c) for c in a.genotype))}
               for a in space.enumerate()]
    return TabularBenchmark(records, space)


def _bench(strategies, budget):
    return compare(_chain_table(), strategies, seeds=2, budget=budget, objective="acc", secondary=None, workers=1)


class _Killed(BaseException):
    """Stands for kill -9: nothing after it runs."""


def test_a_killed_overwrite_leaves_no_mark_of_a_finished_run(tmp_path, monkeypatch):
    import nasforge.analysis.harness as harness
    from nasforge.analysis.studyreport import PAGE_START, load_bench
    from nasforge.exceptions import UsageError

    _bench(["random"], 4).save(tmp_path)
    (tmp_path / "report.html").write_text(PAGE_START + " bench: its report")  # as bench_report starts it
    written = []
    real = harness.write_atomic

    def write_then_die(path, *args, **kwargs):
        written.append(path.name)
        if path.name == "bench.json":
            raise _Killed
        result = real(path, *args, **kwargs)
        if len(written) == 1:
            raise _Killed  # killed after the first new file
        return result

    monkeypatch.setattr(harness, "write_atomic", write_then_die)
    with pytest.raises(_Killed):
        _bench(["random", "local_search"], 6).save(tmp_path, overwrite=True)
    assert written[0] != "bench.json"  # the mark is written last
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "bench.json" not in names and "report.html" not in names  # plainly incomplete: no mark, no stale report
    with pytest.raises(UsageError, match="bench.json is missing"):
        load_bench(tmp_path)
    monkeypatch.setattr(harness, "write_atomic", real)
    _bench(["random", "local_search"], 6).save(tmp_path, overwrite=True)  # the overwrite then completes
    assert json.loads((tmp_path / "bench.json").read_text())["budget"] == 6


def test_report_refuses_a_bench_folder_mixing_two_runs(tmp_path, capsys):
    from nasforge.analysis.studyreport import load_bench

    old, new = tmp_path / "old", tmp_path / "new"
    _bench(["random", "evolution"], 6).save(old)
    _bench(["random", "local_search"], 4).save(new)
    assert load_bench(old).strategies == ["random", "evolution"]  # one run's folder loads
    shutil.copy(new / "bench.json", old / "bench.json")  # an earlier release's overwrite killed after bench.json
    assert main(["report", str(old), "--out", str(tmp_path / "r.html"), "--overwrite"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert ("holds outputs of two runs: bench_curves.csv has strategies random, evolution (bench.json's: random, "
            "local_search): run the bench again with --overwrite") in err
    _bench(["random", "evolution"], 4).save(new, overwrite=True)  # same strategies, another budget
    shutil.copy(new / "bench.json", old / "bench.json")
    assert main(["report", str(old), "--out", str(tmp_path / "r.html"), "--overwrite"]) == 2
    assert "evaluations up to 6 (bench.json's budget: 4)" in capsys.readouterr().err


def test_a_strategy_name_pandas_would_misread_still_loads(tmp_path):
    from nasforge.analysis.studyreport import load_bench

    _bench(["random"], 4).save(tmp_path)
    for name in ("bench.json", "bench_curves.csv"):  # a strategy of one's own registered as "NA"
        path = tmp_path / name
        path.write_text(path.read_text().replace('"random"', '"NA"').replace("random,", "NA,"))
    assert load_bench(tmp_path).strategies == ["NA"]


@pytest.fixture()
def killed_run(tmp_path, monkeypatch):
    """A 'nasforge search' run folder whose run finished every trial and was killed before its summary.json."""
    from nasforge import Result, Study
    from nasforge.spaces import get_space

    monkeypatch.chdir(tmp_path)
    Path("kT").mkdir()
    study = Study(get_space("chain", layers=[["a", "b"], ["c", "d"]]), "random", objectives="acc", seed=0, name="kT",
                  storage="sqlite:///kT/study.db")
    for value in (1.0, 3.0, 2.0):
        study.tell(study.ask(), Result(metrics={"acc": value}))
    study.set_user_attr("pipeline", "search")
    study.set_user_attr("search_done", True)
    yield study
    study.storage.close()


def _status(capsys, folder="kT"):
    assert main(["status", folder]) == 0
    return capsys.readouterr().out


def test_status_says_a_finished_search_wrote_no_outputs(killed_run, capsys):
    from nasforge.pipelines.search import resume_command, run_folder_storage

    line = ("outputs: not written (no summary.json: the run stopped before it, unless it is writing them now): "
            f"{resume_command('kT', run_folder_storage('kT'))} writes them")
    assert _status(capsys).splitlines()[-1] == line
    Path("kT/summary.json").write_text("{}")
    assert "outputs:" not in _status(capsys)  # a run that wrote its outputs


def test_status_of_an_unfinished_or_python_study_is_unchanged(killed_run, capsys):
    killed_run.set_user_attr("search_done", False)  # killed in stage 1: its trials are not all done
    assert "outputs:" not in _status(capsys)
    killed_run.set_user_attr("search_done", True)
    killed_run.set_user_attr("pipeline", None)  # a Python study in a folder's study.db: it writes no outputs
    assert "outputs:" not in _status(capsys)
