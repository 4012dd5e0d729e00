"""The two-stage search as a library: a job interrupted in stage 1, between the stages or during the retrains is
finished by one resume (Python or `nasforge resume`), with every output; a real kill -9 of the process group too."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from model_space_sources import TINY_MODEL_SPACE

from nasforge.cli import main
from nasforge.evaluators import training
from nasforge.exceptions import UsageError
from nasforge.experiment import Study
from nasforge.experiment.storage import open_storage
from nasforge.experiment.storage.urls import check_storage_url
from nasforge.pipelines import resume
from nasforge.pipelines import search as pipeline
from nasforge.pipelines.search import SearchConfig, resume_search, run_search
from nasforge.spaces import get_space

OUTPUTS = ("trials.csv", "front.json", "pareto.png", "summary.json")


class Crash(BaseException):
    """Stands for the process dying (not an Exception, so nothing catches it on the way up)."""


def _config(tmp_path, **kw):
    return SearchConfig(**{"trials": 3, "retrain": 2, "search_epochs": 1, "final_epochs": 1, "workers": 1,
                           "threads": 1, "seed": 2, "out": str(tmp_path / "run"), "name": "job", **kw})


def _finished(tmp_path, trials=3):
    out = tmp_path / "run"
    assert all((out / f).is_file() for f in OUTPUTS)
    study = Study.load("job", f"sqlite:///{out / 'study.db'}")
    search = [t for t in study.trials if not pipeline.is_retrain(t)]
    retrains = [t for t in study.trials if pipeline.is_retrain(t)]
    assert len(search) == trials and all(t.state.value == "COMPLETE" for t in study.trials)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_retrained"] == len(retrains) >= 1
    assert all((out / "models").is_dir() and os.path.isdir(t.user_attrs["model_dir"]) for t in retrains)
    assert len({t.user_attrs["source_trial"] for t in retrains}) == len(retrains)  # each retrained once
    sources = [study.trials[t.user_attrs["source_trial"]] for t in retrains if t.state.value == "COMPLETE"]
    chosen = max(sources, key=lambda t: (t.metrics["val_acc"], -t.number))  # by the search, never by the test split
    assert (summary["best_trial"], summary["best_selected_by"]) == (chosen.number, "search val_acc")
    return study, summary


def test_crash_between_the_stages_is_finished_by_resume(tmp_path, monkeypatch):
    config = _config(tmp_path)
    real = pipeline._enqueue_retrains

    def crash(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(pipeline, "_enqueue_retrains", crash)
    with pytest.raises(Crash):
        run_search(config)
    assert not (tmp_path / "run" / "summary.json").exists()
    monkeypatch.setattr(pipeline, "_enqueue_retrains", real)
    summary = resume_search("job", f"sqlite:///{tmp_path / 'run' / 'study.db'}")
    study, written = _finished(tmp_path)
    assert written == json.loads(json.dumps(summary))
    again = resume(study.name, f"sqlite:///{tmp_path / 'run' / 'study.db'}")  # a finished job: outputs rewritten
    assert again["front"] == summary["front"] and len(Study.load("job", study.storage.url).trials) == len(study.trials)
    url = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    assert main(["resume", "job", "--storage", url, "--evaluator", "nope:nope"]) == 2  # was silently ignored
    assert main(["resume", "job", "--storage", url, "--executor", "process"]) == 2
    for ignored in (["--trial-timeout", "0.01"], ["--no-trial-timeout"], ["--pruner", "nosuch"]):  # were ignored too
        assert main(["resume", "job", "--storage", url, *ignored]) == 2


def test_crash_in_stage_one_and_during_the_retrains(tmp_path, monkeypatch):
    config = _config(tmp_path)
    real_optimize = pipeline._optimize
    calls = []

    def dies_midway(study, evaluator, n_trials, workers, config, **options):
        calls.append((n_trials, options.get("n_trials_total"), study.n_proposals))
        if len(calls) == 1:  # stage 1: two of three trials, then the process "dies"
            real_optimize(study, evaluator, None, workers, config, **{**options, "n_trials_total": 2})
            raise Crash()
        if len(calls) == 3:  # stage 2 of the first resume: one retrain runs, then the process "dies"
            study.claim(next(t for t in study.trials if t.state.value == "WAITING"))
            raise Crash()
        real_optimize(study, evaluator, n_trials, workers, config, **options)

    monkeypatch.setattr(pipeline, "_optimize", dies_midway)
    with pytest.raises(Crash):
        run_search(config)
    with pytest.raises(Crash):
        resume_search("job", f"sqlite:///{tmp_path / 'run' / 'study.db'}")
    study = Study.load("job", f"sqlite:///{tmp_path / 'run' / 'study.db'}")
    assert study.user_attrs["search_done"] and sum(pipeline.is_retrain(t) for t in study.trials) >= 1
    assert calls[1] == (None, 3, 2)  # the resume's stage 1 works to the shared target: the missing search trial
    assert study.n_proposals == 3
    monkeypatch.setattr(pipeline, "_optimize", real_optimize)
    study.storage.requeue(study.id, numbers=[t.number for t in study.trials if t.state.value == "RUNNING"])
    resume_search("job", f"sqlite:///{tmp_path / 'run' / 'study.db'}")
    _finished(tmp_path)


def test_resume_of_a_study_not_made_by_the_pipeline_is_a_clear_error(tmp_path):
    from nasforge.spaces import get_space

    url = f"sqlite:///{tmp_path / 'plain.db'}"
    Study(get_space("nb201"), "random", name="plain", storage=url)
    with pytest.raises(UsageError, match="was not created by a pipeline"):
        resume("plain", url)
    with pytest.raises(UsageError, match="not created by nasforge search"):
        resume_search("plain", url)


def _count(db, where):
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute(f"SELECT COUNT(*) FROM nasforge_trials WHERE {where}").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("when", ["stage1", "retrain"])
def test_kill_9_of_the_process_group_then_one_resume_command(tmp_path, when):
    out = tmp_path / "run"
    db = out / "study.db"
    nasforge = os.path.join(os.path.dirname(sys.executable), "nasforge")
    cmd = [nasforge, "search", "--name", "job", "--out", str(out), "--workers", "2", "--threads", "1",
           "--trials", "6", "--retrain", "2", "--search-epochs", "1", "--final-epochs", "3", "--seed", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    where = ("state = 'COMPLETE'" if when == "stage1" else "state = 'RUNNING' AND user_attrs LIKE '%retrain%'")
    deadline = time.time() + 300
    while _count(db, where) < (2 if when == "stage1" else 1):
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read().decode()[-2000:]
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "summary.json").exists()
    rerun = subprocess.run(cmd, capture_output=True, text=True)  # the same command names the one that finishes it
    command = f"nasforge resume job --storage sqlite:///{db}"
    assert rerun.returncode == 2 and command in rerun.stderr
    time.sleep(1)  # the killed workers are gone
    assert main(command.split()[1:]) == 0
    _finished(tmp_path, trials=6)


@pytest.mark.parametrize("field,value,message", [
    ("trials", 0, "trials must be an integer >= 1, got 0"),
    ("search_epochs", 0, "search_epochs must be an integer >= 1, got 0"),
    ("final_epochs", -1, "final_epochs must be an integer >= 1, got -1"),
    ("timeout", -5, "timeout must be a positive number of seconds, got -5"),
    ("seed", -1, "seed must be an integer >= 0, got -1"),
    ("workers", 2.5, "workers must be an integer >= 1, got 2.5"),
    ("name", "", "name must be 1-200 characters"),
    ("objectives", ["size"], "objectives must name metrics of"),
    ("storage", "foo://bar", "storage: 'foo://bar' is not a storage URL"),
    ("storage", "sqlite:////nonexistent_dir/x.db", "storage: folder '/nonexistent_dir'"),
])
def test_config_is_checked_before_any_work(tmp_path, field, value, message):
    config = _config(tmp_path, **{field: value})
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(".", r"\.")):
        run_search(config)
    assert not (tmp_path / "run").exists()


def test_search_epochs_with_a_multi_fidelity_strategy_is_refused_naming_its_budgets(tmp_path, capsys):
    """Would fail without the check: the strategy's budgets silently won over --search-epochs."""
    with pytest.raises(UsageError, match="search_epochs does not apply to strategy 'hyperband', which chooses each "
                                         "trial's epochs itself .* set min_budget, max_budget and eta in "
                                         "strategy_kwargs"):
        run_search(_config(tmp_path, strategy="hyperband", objectives="val_acc", directions="maximize"))
    assert main(["search", "--strategy", "asha", "--objectives", "val_acc", "--search-epochs", "2",
                 "--out", str(tmp_path / "cli")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--search-epochs does not apply to strategy 'asha'" in err
    assert "--strategy-kwargs" in err and not (tmp_path / "run").exists() and not (tmp_path / "cli").exists()
    config = _config(tmp_path, strategy="hyperband", objectives="val_acc", directions="maximize", pruner="curve",
                     search_epochs=None)  # the curve pruner judges the trials of the strategy's largest budget
    config.validate()


@pytest.mark.parametrize("kw, message", [
    ({"retrain": 0, "final_epochs": 3}, "final_epochs applies to the retraining (stage 2), which retrain 0 skips"),
    ({"pruner": "median", "search_epochs": 1}, "pruner does not apply with search_epochs 1"),
])
def test_options_a_run_would_ignore_are_refused_but_a_stored_config_still_resumes(tmp_path, kw, message):
    """Would fail without the check: --final-epochs with nothing retrained and a pruner that can stop no
    one-epoch trial were silently ignored."""
    with pytest.raises(UsageError, match=re.escape(message)):
        _config(tmp_path, **kw).validate()
    _config(tmp_path, **kw).validate(resumed=True)  # a study stored before the rule


@pytest.mark.parametrize("kwargs, message", [({"min_budget": 0.5}, "fidelity epochs must be an integer >= 1, got 1.33"),
                                             ({"fidelity": "bogus"}, r"unknown fidelity knob\(s\) \['bogus'\]")])
def test_budgets_the_evaluator_cannot_take_are_refused_before_any_work_and_on_resume(tmp_path, monkeypatch,
                                                                                     kwargs, message):
    """Would fail without the check: the run failed at its first trial, and each resume added a FAILED trial."""
    config = _config(tmp_path, strategy="hyperband", objectives="val_acc", directions="maximize", search_epochs=None,
                     strategy_kwargs=kwargs)
    with pytest.raises(UsageError, match=f"strategy 'hyperband' asks for .* budgets .*refuses: {message}") as caught:
        run_search(config)
    assert not (tmp_path / "run").exists() and not getattr(caught.value, "__notes__", None)
    monkeypatch.setattr(pipeline, "_check_budgets", lambda *args: None)  # a study stored before the check
    with pytest.raises(UsageError, match=message):
        run_search(config)
    url = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    trials = len(Study.load("job", url).trials)
    monkeypatch.undo()
    with pytest.raises(UsageError, match=f"strategy 'hyperband' asks for .*refuses: {message}") as caught:
        resume_search("job", url)
    assert not getattr(caught.value, "__notes__", None) and len(Study.load("job", url).trials) == trials


def test_space_specs_rebuild_every_kind_of_space():
    from nasforge.spaces import ChainSpace, get_space

    for space in (get_space("nb201"), get_space("proxylessnas"), get_space("nb101"),
                  ChainSpace([["conv3", "skip"], ["mbconv_e3_k3", "conv5"]], name="mine")):
        spec = json.loads(json.dumps(pipeline.space_spec(space)))
        rebuilt = pipeline.space_from_spec(spec)
        arch = space.sample(__import__("numpy").random.default_rng(0))
        assert rebuilt.name == space.name and rebuilt.format(rebuilt.parse(space.format(arch))) == space.format(arch)


def _npz(path, classes, n=120, seed=0):
    """An NPZ data set of ``n`` random 8x8 grey images in ``classes`` classes."""
    import numpy as np

    rng = np.random.default_rng(seed)
    np.savez(path, x=rng.integers(0, 256, (n, 8, 8), dtype=np.uint8), y=np.arange(n) % classes)


def test_a_relative_data_dir_is_stored_absolute_and_read_from_any_folder(tmp_path, monkeypatch, capsys):
    for folder, classes in (("a", 3), ("b", 5)):  # another folder holds another ok.npz
        (tmp_path / folder).mkdir()
        _npz(tmp_path / folder / "ok.npz", classes)
    monkeypatch.chdir(tmp_path / "a")
    real = pipeline._enqueue_retrains

    def crash(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(pipeline, "_enqueue_retrains", crash)
    with pytest.raises(Crash):
        run_search(_config(tmp_path, data="npz", data_dir="ok.npz", retrain=1))
    monkeypatch.setattr(pipeline, "_enqueue_retrains", real)
    url = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    study = Study.load("job", url)
    assert study.user_attrs["pipeline_config"]["data_dir"] == str(tmp_path / "a" / "ok.npz")
    assert study.run_config["evaluator"]["kwargs"]["data_dir"] == str(tmp_path / "a" / "ok.npz")
    monkeypatch.chdir(tmp_path / "b")
    resume_search("job", url)
    retrained = [t for t in Study.load("job", url).trials if pipeline.is_retrain(t)]
    model = json.loads((tmp_path / "run" / "models" / os.path.basename(retrained[0].user_attrs["model_dir"])
                        / "model.json").read_text())
    assert model["num_classes"] == 3  # trained on a/ok.npz, not on the ok.npz of the folder it was resumed from


def test_a_study_stored_with_a_relative_data_dir_still_resumes(tmp_path, monkeypatch, capsys):
    (tmp_path / "a").mkdir()
    _npz(tmp_path / "a" / "ok.npz", 3)
    monkeypatch.chdir(tmp_path / "a")
    run_search(_config(tmp_path, data="npz", data_dir="ok.npz", retrain=1))
    url = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    study = Study.load("job", url)
    study.set_user_attr("pipeline_config", {**study.user_attrs["pipeline_config"], "data_dir": "ok.npz"})  # as stored
    assert main(["resume", "job", "--storage", url, "--no-progress"]) == 0  # from the folder it was started in
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["resume", "job", "--storage", url, "--no-progress"]) == 2  # was a FileNotFoundError traceback
    err = capsys.readouterr().err
    assert "recorded the data path 'ok.npz' relative to the folder it was started from" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def _copy_db(source, target):
    """A consistent copy of a SQLite study file (its write-ahead log included)."""
    from contextlib import closing

    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def test_a_copied_study_writes_beside_the_copy_never_into_the_original_run(tmp_path, capsys):
    import shutil

    run_search(_config(tmp_path, retrain=1))
    original = {f: (tmp_path / "run" / f).stat().st_mtime_ns for f in OUTPUTS}
    shutil.copytree(tmp_path / "run", tmp_path / "copy")  # the whole run folder copied
    copy_url = f"sqlite:///{tmp_path / 'copy' / 'study.db'}"
    summary = resume_search("job", copy_url)
    assert summary["resume_command"] == f"nasforge resume job --storage {copy_url}"
    copied = json.loads((tmp_path / "copy" / "summary.json").read_text())
    assert copied["resume_command"].endswith(copy_url)
    assert copied["best_model_dir"].startswith(str(tmp_path / "copy" / "models"))  # the copy's own networks
    (tmp_path / "alone").mkdir()  # only the study file copied, into a folder of its own
    _copy_db(tmp_path / "run" / "study.db", tmp_path / "alone" / "job.db")
    resume_search("job", f"sqlite:///{tmp_path / 'alone' / 'job.db'}")
    assert all((tmp_path / "alone" / f).is_file() for f in OUTPUTS)
    assert {f: (tmp_path / "run" / f).stat().st_mtime_ns for f in OUTPUTS} == original  # the original untouched
    _copy_db(tmp_path / "run" / "study.db", tmp_path / "run" / "backup.db")  # a copy inside the original run
    backup = f"sqlite:///{tmp_path / 'run' / 'backup.db'}"
    assert main(["resume", "job", "--storage", backup, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"is a copy of the run in {tmp_path / 'run'}" in err and "move the copy into a folder of its own" in err
    assert {f: (tmp_path / "run" / f).stat().st_mtime_ns for f in OUTPUTS} == original


def test_outputs_never_replace_the_users_files_nor_write_through_links(tmp_path):
    run_search(_config(tmp_path, retrain=1))
    out, mine = tmp_path / "run", tmp_path / "mine.csv"
    mine.write_text("my,data\n1,2\n")
    (out / "trials.csv").unlink()
    (out / "trials.csv").symlink_to(mine)
    url = f"sqlite:///{out / 'study.db'}"
    with pytest.raises(UsageError, match="trials.csv' is a symbolic link"):
        resume_search("job", url)
    assert mine.read_text() == "my,data\n1,2\n"
    (out / "trials.csv").unlink()
    resume_search("job", url)  # the run's own outputs stay rewritable
    assert all((out / f).is_file() for f in OUTPUTS) and mine.read_text() == "my,data\n1,2\n"
    mydir = tmp_path / "mydir"
    mydir.mkdir()
    (mydir / "trials.csv").write_text("my,data\n")
    with pytest.raises(UsageError, match="trials.csv' exists and is not the trials.csv of a search"):
        run_search(_config(tmp_path, out=str(mydir), name="other"))
    assert sorted(p.name for p in mydir.iterdir()) == ["trials.csv"]  # refused before any work


def test_a_run_folder_only_the_database_names_is_never_written(tmp_path, monkeypatch):
    """Would fail: a hand-edited study.db recording out=/elsewhere (and a relative storage URL that matches it from
    its folder) made resume write the whole run there, over the files in it."""
    run_search(_config(tmp_path, trials=1, retrain=0, final_epochs=None))
    out, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "notes.txt").write_text("mine")
    study = Study.load("job", f"sqlite:///{out / 'study.db'}")
    recorded = study.user_attrs["pipeline_config"]
    study.set_user_attr("pipeline_config", {**recorded, "out": str(elsewhere), "storage": "sqlite:///study.db"})
    monkeypatch.chdir(out)
    with pytest.raises(UsageError, match="holds no record of this run"):
        resume_search("job", "sqlite:///study.db")
    assert [p.name for p in elsewhere.iterdir()] == ["notes.txt"]
    shared = tmp_path / "shared"  # a storage outside the run folder: the run folder records the run
    shared.mkdir()
    url = f"sqlite:///{shared / 'studies.db'}"
    run_search(_config(tmp_path, trials=1, retrain=0, final_epochs=None, out=str(tmp_path / "run2"), storage=url))
    assert resume_search("job", url)["resume_command"] == f"nasforge resume job --storage {url}"
    (tmp_path / "run2" / "summary.json").unlink()  # stopped before its summary (Ctrl-C): its folder holds only run
    assert resume_search("job", url)["resume_command"] == f"nasforge resume job --storage {url}"  # files: resumed


def test_resume_refuses_data_files_changed_since_the_search_started(tmp_path, monkeypatch):
    _npz(tmp_path / "ok.npz", 3)

    def crash(*args, **kwargs):
        raise Crash()

    real = pipeline._enqueue_retrains
    monkeypatch.setattr(pipeline, "_enqueue_retrains", crash)
    with pytest.raises(Crash):
        run_search(_config(tmp_path, data="npz", data_dir=str(tmp_path / "ok.npz"), retrain=1))
    monkeypatch.setattr(pipeline, "_enqueue_retrains", real)
    url = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    _npz(tmp_path / "ok.npz", 3, seed=1)  # replaced in place: stage 2 would retrain on other images
    monkeypatch.setattr(training, "_DATA_CACHE", {})  # read again, as by the process of a resume
    with pytest.raises(UsageError, match=f"was trained on other data: data npz in {tmp_path / 'ok.npz'}: the files "
                                         "changed since"):  # the recorded data, named
        resume_search("job", url)
    _npz(tmp_path / "ok.npz", 3)
    monkeypatch.setattr(training, "_DATA_CACHE", {})
    resume_search("job", url)
    _finished(tmp_path)


def test_unfinished_runs_names_the_runs_without_a_summary(tmp_path):
    root = tmp_path / "nasforge-runs"
    for run in ("a-killed", "b-finished"):
        (root / run).mkdir(parents=True)
        Study("nb201", "random", name=run, storage=f"sqlite:///{root / run / 'study.db'}", seed=0)
    (root / "b-finished" / "summary.json").write_text("{}")
    (root / "c-broken").mkdir()
    (root / "c-broken" / "study.db").write_text("not a database")
    killed = f"sqlite:///{root / 'a-killed' / 'study.db'}"
    assert pipeline.unfinished_runs(root) == [pipeline.resume_command("a-killed", killed)]


@pytest.mark.parametrize("url, words", [("sqlite:///", "names no database file"), ("sqlite://", "names no database"),
                                        ("sqlite:///{tmp}", "names the folder"),
                                        ("sqlite:///{tmp}/afile/x.db", "is a file, not a folder")])
def test_check_storage_url_names_what_is_wrong(tmp_path, url, words):
    (tmp_path / "afile").write_text("")
    with pytest.raises(UsageError, match=words):
        check_storage_url(url.format(tmp=tmp_path), "--storage")


@pytest.mark.parametrize("score, message", [
    ({"seed": 1}, r"supernet_score: unknown setting\(s\) \['seed'\]; choose from \['bn_mode'"),  # the run's seed
    ({"bn_mode": "batch", "recal_batches": 2}, "supernet_score: recal_batches=2 applies only with bn_mode="),
    ("batch", "supernet_score must be a dict of ScoreConfig fields, got 'batch'"),
])
def test_supernet_score_is_checked_as_the_evaluator_checks_it(tmp_path, score, message):
    with pytest.raises(UsageError, match=message):
        SearchConfig(evaluator="supernet", supernet=str(tmp_path), objectives=["val_acc"], directions=["maximize"],
                     strategy="evolution", supernet_score=score).validate()
    resolved = SearchConfig(evaluator="supernet", supernet=str(tmp_path), supernet_score={"finetune_steps": 1})
    assert resolved.resolved().supernet_score == {"bn_mode": "recalibrate", "finetune_steps": 1}


def test_a_study_name_longer_than_a_folder_name_may_be_is_refused():
    with pytest.raises(UsageError, match="255 bytes"):
        SearchConfig(name="\U0001f680" * 100).validate()  # 100 characters, 400 bytes


@pytest.mark.parametrize("name", [".", "..", "..."])
def test_a_study_name_of_dots_only_which_would_leave_nasforge_runs_is_refused(name):
    with pytest.raises(UsageError, match="not only dots"):
        SearchConfig(name=name).validate()


def test_saved_networks_of_a_mistyped_storage_create_no_database(tmp_path):
    with pytest.raises(Exception):
        pipeline.saved_networks(None, f"sqlite:///{tmp_path / 'typo.db'}")
    assert not list(tmp_path.iterdir())


def test_stage_two_waits_for_a_retrain_another_process_is_running(tmp_path, monkeypatch):
    import threading

    from nasforge.evaluators import Result

    url = f"sqlite:///{tmp_path / 'study.db'}"
    here = Study("nb201", "random", objectives="val_acc", name="s", storage=url, seed=0)
    retrain = here.enqueue(here.strategy.space.sample(np.random.default_rng(0)), user_attrs={"stage": "retrain"})
    elsewhere = Study.load("s", url)  # another worker of the same study
    assert elsewhere.claim(elsewhere.get_trial(retrain.number))
    here.sync()
    timer = threading.Timer(0.5, lambda: elsewhere.tell(retrain.number, {"val_acc": 50.0}))
    timer.start()
    monkeypatch.setattr(pipeline, "WAIT_SECONDS", 0.05)

    def must_not_run(arch):
        raise AssertionError("the retrain another process runs was run here too")

    pipeline._retrain(here, [here.get_trial(retrain.number)], must_not_run, SearchConfig(workers=1), progress=False)
    timer.join()
    assert here.get_trial(retrain.number).metrics == {"val_acc": 50.0} and len(here.trials) == 1


@pytest.mark.parametrize("strategy", ["ts_hvi", "qnehvi"])
def test_a_model_space_gets_its_parameter_count_as_a_known_objective(tmp_path, strategy):
    """The ``params`` cost of a model space is built from the space (it was: 'ParameterCount.__init__() got
    multiple values for argument 'space'', so ts_hvi / qnehvi / a params constraint could not run)."""
    from nasforge.pipelines.search import _evaluators, _known_objectives
    from nasforge.spaces.model_space.space import for_data
    from nasforge.strategies.model_based.surrogates import make_surrogate

    (tmp_path / "net.py").write_text(TINY_MODEL_SPACE)
    config = _config(tmp_path, strategy=strategy).resolved()
    data = _evaluators(config, get_space("nb201"))[0].dataset()
    space = for_data(f"{tmp_path / 'net.py'}:Net", data)
    known = make_surrogate(_known_objectives(config, space, _evaluators(config, space)[0])["surrogates"][1], space)
    arch = space.parse("width=8|conv=k3")
    assert known.predict([arch])[0][0] == -sum(p.numel() for p in space.build(arch).parameters())


def test_resume_refuses_a_module_file_edited_since_the_study_was_trained(tmp_path):
    """The study records the sha1 of the module's file; it was: resumed with the edited code, silently."""
    from nasforge.spaces.model_space.space import for_data

    module = tmp_path / "net.py"
    module.write_text(TINY_MODEL_SPACE)
    config = _config(tmp_path, trials=1, retrain=0, final_epochs=None, threads=1)
    data = pipeline._evaluators(config.resolved(), get_space("nb201"))[0].dataset()
    run_search(config, space=for_data(f"{module}:Net", data), progress=False)
    storage = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    module.write_text(TINY_MODEL_SPACE.replace("nn.AdaptiveAvgPool2d(1)", "nn.AdaptiveMaxPool2d(1)"))
    with pytest.raises(UsageError, match="the module file .*net.py changed since the study was trained; restore it "
                                         "or start a new search"):
        resume_search("job", storage)
    module.write_text(TINY_MODEL_SPACE)  # restored: resumes
    resume_search("job", storage, progress=False)


@pytest.mark.parametrize("objectives", [["val_acc", "latency_ms"], ["val_acc", "latency_ms", "params"]])
def test_pareto_png_draws_the_second_objective_and_front_json_is_sorted_by_it(tmp_path, monkeypatch, objectives):
    """pareto.png put params on x whatever the objectives: with latency as the second objective, the front
    (computed on latency) was drawn over params. Beyond two objectives the title says what is drawn."""
    import nasforge.analysis.pareto as analysis_pareto

    directions = ["maximize"] + ["minimize"] * (len(objectives) - 1)
    study = Study(get_space("nb201"), "mo_random", objectives=objectives, directions=directions, seed=0, name="pf")
    rng = np.random.default_rng(0)
    for _ in range(30):
        trial = study.ask()
        study.tell(trial, {"val_acc": float(rng.random()), "latency_ms": float(rng.random()),
                           "params": float(rng.random())})
    drawn = {}
    monkeypatch.setattr(analysis_pareto, "plot_front", lambda path, x, y, front, xlabel, ylabel, **kw:
                        drawn.update(x=x, front=front, xlabel=xlabel, title=kw["title"]))
    pipeline.write_outputs(study, SearchConfig(out=str(tmp_path), name="pf", workers=1, threads=1))
    done = study.completed(searched_only=True)
    assert drawn["x"].tolist() == [t.metrics["latency_ms"] for t in done]
    assert drawn["xlabel"] == "latency_ms (minimize)"
    assert sorted(done[i].number for i in drawn["front"]) == sorted(t.number for t in study.pareto_front())
    rows = json.loads((tmp_path / "front.json").read_text())
    assert [r["latency_ms"] for r in rows] == sorted(r["latency_ms"] for r in rows)
    assert ("Pareto set of all 3 objectives" in drawn["title"]) == (len(objectives) == 3)


def test_failed_trials_are_retried_and_a_failed_retrain_is_rerun_by_resume(tmp_path, monkeypatch, capsys):
    """A killed worker's search trial is re-run (--trials complete); a retrain still failed after the run's
    retries makes the run fail naming the resume command, and resume retrains it (the failed ones kept)."""
    real, calls = training.TrainingEvaluator.evaluate, []

    def flaky(self, arch, fidelity=None, **kwargs):
        calls.append(self.save_dir is not None)
        if calls.count(False) == 1 and not calls[-1] or self.save_dir is not None:
            raise RuntimeError("worker died (killed by SIGKILL)")
        return real(self, arch, fidelity, **kwargs)

    monkeypatch.setattr(training.TrainingEvaluator, "evaluate", flaky)
    url = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    with pytest.raises(pipeline.NasforgeError, match=r"1 of 1 retrains failed .*retrain them with: nasforge resume"):
        run_search(_config(tmp_path, retrain=1, max_crash_reruns=5))
    study = Study.load("job", url)
    assert sum(t.state.value == "COMPLETE" and not pipeline.is_retrain(t) for t in study.trials) == 3
    assert [t.state.value for t in study.trials if pipeline.is_retrain(t)] == ["FAILED"] * (1 + pipeline.RETRIES)
    assert study.run_config["max_crash_reruns"] == 5
    assert (tmp_path / "run" / "summary.json").is_file()
    monkeypatch.setattr(training.TrainingEvaluator, "evaluate", real)
    assert main(["resume", "job", "--storage", url, "--max-crash-reruns", "7", "--no-progress"]) == 0
    study = Study.load("job", url)
    retrains = [t for t in study.trials if pipeline.is_retrain(t)]
    assert [t.state.value for t in retrains] == ["FAILED"] * (1 + pipeline.RETRIES) + ["COMPLETE"]
    assert study.user_attrs["pipeline_config"]["max_crash_reruns"] == 7 == study.run_config["max_crash_reruns"]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["n_retrained"] == 1


def test_an_interrupt_names_the_command_that_finishes_the_run(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_complete", interrupted)
    before = signal.getsignal(signal.SIGINT)
    out = tmp_path / "run"
    assert main(["search", "--workers", "1", "--out", str(out), "--no-progress", "--trials", "2"]) == 130
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "nasforge search: interrupted" and len(err) == 2
    assert err[1].startswith("nasforge search: the study is stored; finish the run with: nasforge resume search-nb201")
    assert f"--storage sqlite:///{out}/study.db" in err[1]
    assert signal.getsignal(signal.SIGINT) is before and not (out / pipeline.LOCK).exists()


def test_a_second_interrupt_while_the_first_is_reported_prints_no_traceback(monkeypatch, capsys):
    import nasforge.cli as cli

    def interrupted(args):
        raise KeyboardInterrupt

    class Stderr:
        def write(self, text):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C again while the message is printed
            return len(text)

        def flush(self):
            pass

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["studies"].set_defaults(func=interrupted)
    monkeypatch.setattr(sys, "stderr", Stderr())
    assert main(["studies", "--storage", "sqlite:///x.db"]) == 130


def test_a_run_folder_in_use_by_another_search_is_refused_before_anything_starts(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with pipeline._holding(out, "nasforge resume other --storage x"):
        with pytest.raises(UsageError, match=r"is the folder of another search running now \(study: nasforge resume "
                                             r"other --storage x\); pick another out"):
            run_search(_config(tmp_path))
        assert sorted(p.name for p in out.iterdir()) == [pipeline.LOCK]
        with pipeline._holding(out, "nasforge resume other --storage x"):  # the same study's runs share it
            pass
    assert not list(out.iterdir())


def test_a_run_folder_of_a_search_starting_now_says_so(tmp_path):
    """A server run's lock names its study only once the study is stored: until then the refusal says a search is
    starting there, not that it is another search's (regression: 'another search running now' for the same study)."""
    out = tmp_path / "run"
    out.mkdir()
    with pipeline._holding(out, "nasforge resume other --storage x", deferred=True):
        with pytest.raises(UsageError, match=r"is the folder of a search starting now \(its study is not stored "
                                             r"yet\); if it is this study, wait for it to finish, else pick another "
                                             r"out$"):
            run_search(_config(tmp_path))


def test_an_output_folder_that_cannot_be_written_is_refused_before_the_retrains(tmp_path, monkeypatch):
    real = pipeline._optimize

    def then_blocked(study, evaluator, *args, **kwargs):  # stage 1, then models/ cannot be made any more
        real(study, evaluator, *args, **kwargs)
        (tmp_path / "run" / "models").write_text("not a folder")

    monkeypatch.setattr(pipeline, "_optimize", then_blocked)
    with pytest.raises(UsageError, match=r"out: cannot create '.*/run/models' \(File exists\)"):
        run_search(_config(tmp_path))
    study = Study.load("job", f"sqlite:///{tmp_path / 'run' / 'study.db'}")
    assert study.user_attrs["search_done"] and not any(pipeline.is_retrain(t) for t in study.trials)


def test_temporary_files_of_gone_writers_are_removed_and_nothing_else(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead, alive = int(gone.stdout), os.getpid()
    (tmp_path / "models").mkdir()
    names = {f".report.html.{dead}.abcd_f12.tmp": True, f".report.html.{alive}.abcdef12.tmp": False,
             ".trials.csv.abcdef12.tmp": True, ".front.json.abcdef13.tmp": False, ".notes.tmp": False,
             f".mine.{dead}.abcdef12.tmp": False}
    for name in names:
        (tmp_path / name).write_text("x")
    old = time.time() - 2 * pipeline.STALE_TEMPORARY
    os.utime(tmp_path / ".trials.csv.abcdef12.tmp", (old, old))
    os.utime(tmp_path / ".notes.tmp", (old, old))
    for name, stale in ((f".nb201-0123456789ab.{dead}.0123abcd.tmp", True),
                        (f".nb201-0123456789ab.{alive}.0123abcd.tmp", False)):
        (tmp_path / "models" / name).mkdir()
        (tmp_path / "models" / name / "model.json").write_text("{}")
        names[f"models/{name}"] = stale
    for name in (f".report.html.{dead}.abcd_f12.tmp", f"models/.nb201-0123456789ab.{dead}.0123abcd.tmp",
                 f"models/.nb201-0123456789ab.{dead}.0123abcd.tmp/model.json"):
        os.utime(tmp_path / name, (old, old))  # left by a kill, unchanged since (a fresh one may be another host's)
    removed = pipeline.remove_stale_temporaries(tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in removed) == sorted(n for n, s in names.items() if s)
    assert all((tmp_path / n).exists() != s for n, s in names.items())


def test_abandoned_empty_run_folders_are_removed(tmp_path):
    old = time.time() - 120
    for name, content in (("empty", None), ("locked", pipeline.LOCK), ("fresh", None), ("user", "notes.txt")):
        (tmp_path / name).mkdir()
        if content:
            (tmp_path / name / content).write_text("")
        if name != "fresh":
            os.utime(tmp_path / name, (old, old))
    (tmp_path / "held").mkdir()
    with pipeline._holding(tmp_path / "held", "x"):
        os.utime(tmp_path / "held", (old, old))
        pipeline.remove_abandoned_run_folders(tmp_path)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "held", "user"]


def test_a_storage_in_another_run_folder_is_refused(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    (base / "summary.json").write_text("{}")
    with pytest.raises(UsageError, match=f"storage: {base / 'study.db'} is in the run folder {base} of another "
                                         r"search \(summary.json\)"):
        run_search(_config(tmp_path, storage=f"sqlite:///{base / 'study.db'}"))
    assert not (tmp_path / "run").exists() and not (base / "study.db").exists()


def test_constraints_no_trial_meets_retrain_nothing_and_fail_plainly(tmp_path, capsys):
    """The least violating trials a strategy ranks are no front: nothing is retrained or saved, summary.json and
    the console say so, and the run (and its resume, alike) fails in one line without a resume note."""
    url = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    args = ["search", "--trials", "3", "--retrain", "2", "--search-epochs", "1", "--final-epochs", "1", "--workers",
            "1", "--threads", "1", "--no-progress", "--name", "job", "--out", str(tmp_path / "run"),
            "--constraints", "params <= 1000"]
    for command in (args, ["resume", "job", "--storage", url, "--no-progress"]):
        assert main(command) == 1
        out, err = capsys.readouterr()
        assert "no Pareto front: none of the 3 search trials satisfies the constraints params <= 1000" in out
        assert "best retrained" not in out
        assert err.splitlines() == [f"nasforge {command[0]}: error: no search trial satisfies the constraints "
                                    f"params <= 1000: nothing retrained; loosen them or search more (results: "
                                    f"{tmp_path / 'run' / 'report.html'})"]
    study = Study.load("job", url)
    assert not any(pipeline.is_retrain(t) for t in study.trials) and not (tmp_path / "run" / "models").exists()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["front"], summary["n_feasible"], summary["n_complete"]) == ([], 0, 3)
    assert summary["constraints"] == ["params <= 1000"] and summary["best_test_acc"] is None
    assert json.loads((tmp_path / "run" / "front.json").read_text()) == []
    assert main(["status", "job", "--storage", url]) == 0
    assert "pareto front: 0 trials" in capsys.readouterr().out  # as the job says, not the least violating ones
    # a job started before this rule keeps its own (the least violating trials): resuming it changes nothing
    study.set_user_attr(pipeline.FEASIBLE_ONLY, False)
    assert main(["resume", "job", "--storage", url, "--no-progress"]) == 0
    assert any(pipeline.is_retrain(t) for t in Study.load("job", url).trials)
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["front"]


@pytest.mark.slow  # kept out of the default suite, over its 10-minute budget (run with -m slow)
def test_a_front_under_constraints_holds_only_trials_that_meet_them(tmp_path):
    summary = run_search(_config(tmp_path, trials=4, retrain=4, constraints=["params <= 400000"]))
    study = Study.load("job", f"sqlite:///{tmp_path / 'run' / 'study.db'}")
    feasible = [t for t in study.completed(searched_only=True) if t.metrics["params"] <= 400000]
    assert summary["n_feasible"] == len(feasible) and summary["front"]
    assert all(row["params"] <= 400000 for row in summary["front"])


@pytest.mark.slow  # kept out of the default suite, over its 10-minute budget (run with -m slow)
def test_stage_seconds_sum_over_the_sessions_of_a_resumed_run(tmp_path, monkeypatch):
    """search_seconds and retrain_seconds count every session that ran the stage (a resume used to replace the
    search time with its own, and a killed session's retrain time was lost)."""
    real_optimize, calls = pipeline._optimize, []

    def slow(study, evaluator, n_trials, workers, config, **options):
        calls.append(n_trials)
        time.sleep(0.5)
        if len(calls) == 1:  # stage 1: two of three trials, then the process "dies"
            real_optimize(study, evaluator, None, workers, config, **{**options, "n_trials_total": 2})
            raise Crash()
        if len(calls) == 3:  # the first resume dies in stage 2 before a retrain ends
            raise Crash()
        real_optimize(study, evaluator, n_trials, workers, config, **options)

    monkeypatch.setattr(pipeline, "_optimize", slow)
    url = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    with pytest.raises(Crash):
        run_search(_config(tmp_path))
    first = Study.load("job", url).user_attrs["search_seconds"]
    assert first >= 0.5
    with pytest.raises(Crash):
        resume_search("job", url)
    attrs = Study.load("job", url).user_attrs
    assert attrs["search_seconds"] >= first + 0.5 and attrs["retrain_seconds"] >= 0.5
    summary = resume_search("job", url)
    assert summary["search_seconds"] == attrs["search_seconds"]
    assert summary["retrain_seconds"] >= attrs["retrain_seconds"] + 0.5


def test_one_objective_direction_or_constraint_may_be_a_plain_string(tmp_path):
    config = SearchConfig(objectives="val_acc", directions="maximize", constraints="params <= 400000, flops <= 1e9")
    config.validate()
    assert (config.objectives, config.directions) == (["val_acc"], ["maximize"])
    assert config.constraints == ["params <= 400000", "flops <= 1e9"]
    assert SearchConfig(directions="minimize").directions == ["minimize", "minimize"]
    config.objectives = 3
    with pytest.raises(UsageError, match="objectives must be a metric name or a list of them, got 3"):
        config.validate()


def test_a_shared_storage_outside_the_run_folder_is_used_and_one_holding_a_run_of_its_folder_refused(tmp_path):
    """A studies file beside other studies (one created from Python, one whose search ran elsewhere) is fine; a file
    whose study recorded the file's own folder as its run folder belongs to that run, even without its outputs."""
    shared = tmp_path / "shared"
    shared.mkdir()
    url = f"sqlite:///{shared / 'studies.db'}"
    Study("nb201", "random", objectives="val_acc", directions="maximize", name="mine", storage=url)
    Study("nb201", "random", objectives="val_acc", directions="maximize", name="elsewhere", storage=url,
          user_attrs={"pipeline_config": {"out": str(tmp_path / "old-run")}})
    run_search(_config(tmp_path, trials=1, retrain=0, final_epochs=None, storage=url))
    assert {s.name for s in open_storage(url, readonly=True).list_studies()} == {"mine", "elsewhere", "job"}
    Study("nb201", "random", objectives="val_acc", directions="maximize", name="owner", storage=url,
          user_attrs={"pipeline_config": {"out": str(shared)}})
    with pytest.raises(UsageError, match=rf"storage: {shared / 'studies.db'} is in the run folder {shared} of "
                                         r"another search \(owner\)"):
        run_search(_config(tmp_path, name="job2", out=str(tmp_path / "run2"), storage=url))
    assert not (tmp_path / "run2").exists()


@pytest.mark.parametrize("tables", [False, True])
def test_a_run_folder_whose_database_was_left_empty_by_a_kill_starts_again(tmp_path, capsys, tables):
    """Would fail: a run killed as it created study.db (0 bytes, or a SQLite file without tables) left a folder that
    neither the same search nor resume could continue ('not a nasforge database', exit 1)."""
    out = tmp_path / "run"
    out.mkdir()
    if tables:
        sqlite3.connect(out / "study.db").execute("PRAGMA user_version = 1").connection.close()
    else:
        (out / "study.db").write_bytes(b"")
    url = f"sqlite:///{out / 'study.db'}"
    assert main(["resume", "job", "--storage", url]) == 2
    assert "is an empty database (no tables" in capsys.readouterr().err
    run_search(_config(tmp_path, trials=1, retrain=0, final_epochs=None))
    assert [t.state.value for t in Study.load("job", url).trials] == ["COMPLETE"]
