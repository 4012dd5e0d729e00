"""Review 51 (security): what a received database or run folder may make a resume do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nasforge
from nasforge import Study
from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.experiment import scheduler
from nasforge.experiment.storage.urls import sqlite_url
from nasforge.pipelines.search import SearchConfig, _copy_writes_beside_itself, resume_command
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")
RUNTIME_ENV = {"runtime_env": {"env_vars": {"PYTHONPATH": "."}}}


@pytest.fixture
def ray_study(tmp_path, monkeypatch):
    """A study of 2 trials whose run_config says: resume to 4 on the ray executor (options set by each test);
    ``calls`` collects the executors the resume builds (an inline one stands in for Ray)."""
    monkeypatch.chdir(tmp_path)
    study = Study(SPACE, "random", objectives="acc", seed=0, name="demo", storage="sqlite:///nasforge.db")
    study.optimize(Toy(), 2, evaluator_spec={"factory": "engine_evaluators:make_toy", "kwargs": {"sleep": 0.0}})
    calls: list[tuple[str, dict]] = []
    real = scheduler.get_executor

    def built(name, n_workers=1, trial_timeout=None, **options):
        calls.append((name, options))
        return real("inline")

    monkeypatch.setattr(scheduler, "get_executor", built)

    def recorded(options):
        study.set_run_config({**study.run_config, "n_trials_total": 4, "executor": "ray", "executor_options": options})
        return calls

    return study, recorded


@pytest.mark.parametrize("options", [{"init_kwargs": RUNTIME_ENV}, {"address": "ray://evil.example:10001"},
                                     {"cpus_per_trial": 1, "init_kwargs": {"num_cpus": 2}}])
def test_resume_never_takes_stored_ray_options_that_run_code_or_send_data(ray_study, capsys, options):
    """Would fail: a database's init_kwargs (runtime_env: workers import its sitecustomize.py) or address (the
    trials go to another cluster) went to ray.init on resume, from the command line and from Python."""
    study, recorded = ray_study
    calls = recorded(options)
    refused = sorted(set(options) - {"cpus_per_trial"})
    assert main(["resume", "demo", "--evaluator", "engine_evaluators:make_toy"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"ray executor option(s) {', '.join(refused)}" in err, err
    assert "executor_options=" in err and "--executor process" in err
    with pytest.raises(UsageError, match="does not take them from a database"):
        Study.load("demo", "sqlite:///nasforge.db").resume(Toy())
    assert main(["resume", "demo", "--evaluator", "engine_evaluators:make_toy", "--executor", "ray"]) == 2
    assert "does not take them from a database" in capsys.readouterr().err
    assert calls == [] and len(Study.load("demo", "sqlite:///nasforge.db").trials) == 2


def test_stored_ray_options_run_when_the_user_passes_them_again(ray_study):
    study, recorded = ray_study
    calls = recorded({"init_kwargs": {"num_cpus": 2}})
    Study.load("demo", "sqlite:///nasforge.db").resume(Toy(), executor_options={"init_kwargs": {"num_cpus": 1}})
    assert calls == [("ray", {"init_kwargs": {"num_cpus": 1}})]


def test_process_executor_drops_the_stored_ray_options(ray_study, capsys):
    _, recorded = ray_study
    calls = recorded({"address": "auto"})
    assert main(["resume", "demo", "--evaluator", "engine_evaluators:make_toy", "--executor", "process"]) == 0
    assert calls == [("process", {})]
    assert "address did not apply to --executor process" in capsys.readouterr().err


@pytest.mark.parametrize("options", [None, {}, {"cpus_per_trial": 1, "gpus_per_trial": 0}])
def test_a_ray_study_with_harmless_options_resumes_as_before(ray_study, capsys, options):
    _, recorded = ray_study
    calls = recorded(options)
    assert main(["resume", "demo", "--evaluator", "engine_evaluators:make_toy"]) == 0
    assert calls == [("ray", dict(options or {}))]
    assert "2 trials finished in this run" in capsys.readouterr().out


NASFORGE_SRC = Path(nasforge.__file__).resolve().parent


@pytest.mark.parametrize("module", ["nasforge.writes:write_atomic", f"{NASFORGE_SRC / 'writes.py'}:write_atomic"])
def test_a_stored_reference_never_calls_a_function_of_nasforge(tmp_path, module):
    """Would fail: in an editable install nasforge lies outside site-packages, so a record naming
    nasforge.writes:write_atomic counted as the user's own code and wrote the file its module_args named."""
    target = tmp_path / "PWNED"
    config = {"module": module, "input_shape": [1, 8, 8], "module_args": [str(target), "x\n", "x"],
              "module_kwargs": {}}
    with pytest.raises(UsageError, match=r"^a stored space reference runs only your own model code .* names nasforge "
                                         r"itself .*: refused$"):
        get_space("model_space", **config)  # as Study.load, resume, export, load_model and a supernet do
    assert not target.exists()


def test_a_nasforge_function_reexported_by_a_users_package_is_refused(tmp_path, monkeypatch):
    from nasforge.spaces.model_space.reference import stored_reference

    (tmp_path / "relay").mkdir()
    (tmp_path / "relay" / "__init__.py").write_text("from nasforge.writes import write_atomic\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UsageError, match="'relay:write_atomic' is the function nasforge.writes.write_atomic, not "
                                         "your own code"):
        stored_reference("relay:write_atomic")


@pytest.mark.parametrize("elsewhere", [False, True])
def test_nasforge_is_recognised_wherever_it_is_installed(tmp_path, elsewhere):
    """The editable install of this checkout (outside site-packages), and a copy anywhere else."""
    from nasforge.spaces.model_space import reference

    copy = tmp_path / "lib" / "nasforge"
    (copy / "spaces").mkdir(parents=True)
    for init in (copy / "__init__.py", copy / "spaces" / "__init__.py"):
        init.write_text("")
    (copy / "spaces" / "nets.py").write_text("def make():\n    pass\n")
    path = copy / "spaces" / "nets.py" if elsewhere else NASFORGE_SRC / "writes.py"
    assert reference._in_nasforge(str(path))
    assert "names nasforge itself" in reference._unrunnable(f"{path}:make")
    assert not reference._in_nasforge(str(tmp_path / "lib" / "mine.py"))


def _victim_run(folder: Path, name: str = "mine") -> dict[str, bytes]:
    """A finished run folder of study ``name`` stored elsewhere (its outputs as a search writes them)."""
    folder.mkdir(parents=True)
    summary = {"name": name, "n_search_trials": 1, "resume_command": resume_command(name, "sqlite:////x/shared.db")}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    (folder / "trials.csv").write_text("number,state,arch\n0,COMPLETE,a\n")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("storage", ["sqlite:///nasforge.db", "absolute"])
def test_a_received_database_never_writes_into_another_runs_folder(tmp_path, monkeypatch, storage):
    """Would fail: a database recording out=<another run's folder> and the relative storage sqlite:///nasforge.db
    (which names the received file from its folder) made resume write its outputs over that run's."""
    received = tmp_path / "received"
    received.mkdir()
    monkeypatch.chdir(received)
    url = sqlite_url(received / "nasforge.db") if storage == "absolute" else storage
    victim = tmp_path / "run_v"
    before = _victim_run(victim)
    config = SearchConfig(storage=url, out=str(victim), name="evil")
    with pytest.raises(UsageError, match=rf"^study 'evil' in sqlite:///nasforge.db records the run folder {victim}, "
                                         r"which holds no record of this run .*: copy the database into a folder"):
        _copy_writes_beside_itself("evil", "sqlite:///nasforge.db", config, None)
    assert {p.name: p.read_bytes() for p in victim.iterdir()} == before


def test_a_run_folder_a_stopped_server_run_left_is_another_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "server_run"
    out.mkdir()
    (out / ".nasforge-run.lock").write_text(resume_command("other", "postgresql://u@h/db"))
    config = SearchConfig(storage=sqlite_url(tmp_path / "nasforge.db"), out=str(out), name="evil")
    with pytest.raises(UsageError, match="holds no record of this run"):
        _copy_writes_beside_itself("evil", "sqlite:///nasforge.db", config, None)


def test_a_run_folder_recording_this_run_is_still_written(tmp_path, monkeypatch):
    """A run whose relative storage names its file from the folder it started in, and whose out records it."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "o"
    out.mkdir()
    summary = {"name": "rel", "n_search_trials": 1, "resume_command": resume_command("rel", "sqlite:///s.db")}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    config = SearchConfig(storage="sqlite:///s.db", out=str(out), name="rel")
    assert _copy_writes_beside_itself("rel", "sqlite:///s.db", config, None) is config
