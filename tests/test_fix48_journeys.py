"""Review 48, user journeys: ``nasforge report FILE.db`` names that file, a repeated ``--storage`` is refused, the
Summary of a search that retrained one network shows the search's workers, and the Progress note states the
hypervolume's reference point."""
import html
import re

import pytest

from nasforge import Result, Study, get_space
from nasforge.analysis import report
from nasforge.analysis.studyreport import load_study_data, open_readonly
from nasforge.analysis.studyreport.views import summary_view
from nasforge.cli import main
from nasforge.experiment.stages import RETRAIN, STAGE_KEY

pytest.importorskip("plotly")
pytest.importorskip("sqlalchemy")


def _study(path, name: str, accs: list[float], params: list[float]) -> Study:
    study = Study(get_space("nb201"), "mo_random", objectives=["acc", "params"], directions=["maximize", "minimize"],
                  seed=0, name=name, storage=f"sqlite:///{path}")
    for acc, count in zip(accs, params):
        study.tell(study.ask(), Result(metrics={"acc": acc, "params": count}))
    return study


def test_report_of_a_database_file_names_that_file_as_status_does(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _study(tmp_path / "week.db", "week", [50.0], [1000.0])
    assert main(["report", "week.db"]) == 2
    err = capsys.readouterr().err.strip()
    assert "'week.db' is a file, not a run folder or a study name" in err and "--storage sqlite:///" in err
    assert "nasforge.db" not in err and len(err.splitlines()) == 1
    assert main(["status", "week.db"]) == 2
    assert err.split("error: ", 1)[1] == capsys.readouterr().err.strip().split("error: ", 1)[1]
    assert main(["report", "week.db", "other.db"]) == 2  # several: how studies of several files are compared
    assert "report([Study.load(NAME_A, URL_A)" in capsys.readouterr().err


def test_a_repeated_storage_is_refused_not_dropped(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("A", "B"):  # the way the message gives: each file in a folder of its own as study.db
        (tmp_path / name).mkdir()
        _study(tmp_path / name / "study.db", name, [50.0], [1000.0])
    assert main(["report", "A", "B", "--storage", "sqlite:///A/study.db", "--storage", "sqlite:///B/study.db"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--storage given 2 times" in err and "study.db" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "report.html").exists()
    assert main(["report", "A", "B", "--out", "ab.html"]) == 0, capsys.readouterr().err


def test_the_summary_of_a_search_that_retrained_one_network_shows_the_search_workers(tmp_path):
    study = _study(tmp_path / "s.db", "s", [50.0, 55.0], [1000.0, 2000.0])
    study.set_user_attr("pipeline", "search")
    study.set_user_attr("pipeline_config", {"workers": 2})  # nasforge search --workers 2
    study.enqueue(study.trials[1].arch, user_attrs={STAGE_KEY: RETRAIN, "source_trial": 1})
    study.optimize(lambda arch: Result(metrics={"acc": 56.0, "params": 2000.0}), n_trials=0)  # stage 2: 1 network
    data = load_study_data(open_readonly(study.storage.url), "s")
    assert data.run_config["n_workers"] == 1
    text = html.unescape(summary_view(data))
    assert "the search was started with 2 (process), the stage-2 retraining (the last run) asked for 1 (inline)" \
        in text
    plain = load_study_data(open_readonly(_study(tmp_path / "p.db", "p", [50.0], [1.0]).storage.url), "p")
    plain.run_config = {"n_workers": 3, "executor": "thread"}  # no stages: the last run's, as before
    assert "last run asked for 3 (thread)" in html.unescape(summary_view(plain))


def _progress_note(page: str) -> str:
    return html.unescape(re.search(r'<section id="nf-progress"><h2>Progress</h2><p class="nf-note">(.*?)</p>',
                                   page).group(1))


def test_the_progress_note_states_the_hypervolume_reference_the_studies_share(tmp_path):
    one = _study(tmp_path / "one.db", "one", [60.0, 70.0], [3000.0, 5000.0])
    two = _study(tmp_path / "two.db", "two", [40.0, 65.0], [2000.0, 9000.0])
    alone = _progress_note(report(one, tmp_path / "one.html").read_text())
    assert "reference point: acc 59, params 5200, 10% of each objective's range beyond its worst value over its " \
           "complete trials." in alone
    both = _progress_note(report([one, two], tmp_path / "both.html").read_text())
    assert "reference point: acc 37, params 9700, 10%" in both and "of the 2 studies" in both
    assert "shared by them, so a study's hypervolume here depends on the studies shown with it" in both


def test_report_storage_keeps_its_path_checks_and_a_users_pipeline_config_is_not_read(tmp_path, monkeypatch, capsys):
    """Would fail: once --storage could be given several times, its ~ was no longer expanded nor a too-long name
    refused; a study whose own user attribute pipeline_config is text made the Summary raise."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    study = _study(tmp_path / "so.db", "so", [50.0], [1000.0])
    study.set_user_attr("pipeline_config", "my own note")
    study.optimize(lambda arch: Result(metrics={"acc": 51.0, "params": 900.0}), n_trials=1)
    assert main(["report", "so", "--storage", "sqlite:///~/so.db", "--out", "r.html"]) == 0, capsys.readouterr().err
    assert (tmp_path / "r.html").exists()
    assert main(["report", "so", "--storage", f"sqlite:///{'x' * 300}.db"]) == 2
    assert "File name too long" in capsys.readouterr().err
