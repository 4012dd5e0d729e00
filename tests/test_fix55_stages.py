"""Stop 55, the two-stage job (``nasforge search``): ``summary.json`` records how stage 2 retrained its networks, as
it records stage 1's recipe; the best line says when a front member ranked above the reported best has no retrained
network (its retrain failed)."""
import io
import json

from rich.console import Console

from nasforge.evaluators.base import Result
from nasforge.experiment import Study
from nasforge.pipelines.search import PIPELINE, SearchConfig, write_outputs
from nasforge.spaces import get_space


def _two_stage_study(tmp_path, fail_best: bool) -> tuple[Study, SearchConfig]:
    """A stored search study with a front of two members (trial 0 best by val_acc), both sent to retrain; the
    retrain of trial 0 FAILED when ``fail_best``."""
    out = tmp_path / "run"
    out.mkdir()
    storage = f"sqlite:///{out / 'study.db'}"
    config = SearchConfig(trials=2, retrain=2, workers=1, final_epochs=3, name="s", data="digits", out=str(out),
                          storage=storage)
    study = Study(get_space("nb201"), "mo_random", objectives=["val_acc", "params"], directions=["max", "min"],
                  seed=0, name="s", storage=storage, user_attrs={"pipeline": PIPELINE,
                                                                  "pipeline_config": config.to_json()})
    for val_acc, params in ((60.0, 200.0), (30.0, 100.0)):
        study.tell(study.ask(), {"val_acc": val_acc, "params": params, "flops": 1e6})
    for source in (0, 1):
        study.enqueue(study.trials[source].arch, user_attrs={"stage": "retrain", "source_trial": source})
    for trial in [t for t in study.trials if t.user_attrs.get("stage") == "retrain"]:
        assert study.claim(trial)
        source = trial.user_attrs["source_trial"]
        if fail_best and source == 0:
            study.record_result(trial, Result(status="failed", error="worker died (killed by SIGKILL)"))
        else:
            folder = out / "models" / f"net{source}"
            folder.mkdir(parents=True)
            study.record_result(trial, Result(metrics={"test_acc": 90.0 - source, "params": 1.0},
                                      user_attrs={"model_dir": str(folder)}))
    return study, config


def test_summary_records_the_retraining_recipe(tmp_path):
    """Would fail: summary.json recorded search_training only; the retrains' epochs, size, learning rate and splits
    (--final-epochs 3 here) were nowhere in the outputs."""
    from nasforge.pipelines.search import retrain_training

    study, config = _two_stage_study(tmp_path, fail_best=False)
    summary = write_outputs(study, config)
    assert summary["retrain_training"] == {
        "C": 16, "N": 4, "epochs": 3, "batch_size": 64, "optimizer": "sgd", "nesterov": True, "momentum": 0.9,
        "lr": 0.05, "schedule": "cosine", "weight_decay": 5e-4, "label_smoothing": 0.1, "grad_clip": 5.0,
        "bn_mode": "inherited", "augment": "crop", "seed": 0, "trained_on": "train+val"}
    stored = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert stored["retrain_training"] == summary["retrain_training"]
    assert retrain_training(SearchConfig(retrain=0), get_space("nb201")) is None  # nothing is retrained


def test_retraining_recipe_follows_the_evaluator_that_retrains(tmp_path):
    """The augmentation stage 2 trained with is its evaluator's (a supernet run's: the supernet's record)."""
    from nasforge.pipelines.search import _evaluators, retrain_training

    config = SearchConfig(retrain=1, final_epochs=2, augment="none", data="digits", out=str(tmp_path))
    space = get_space("nb201")
    _, retrain = _evaluators(config, space)
    recipe = retrain_training(config, space, retrain)
    assert (recipe["epochs"], recipe["augment"]) == (retrain.train.epochs, "none") == (2, "none")

    class Stand:  # a supernet run's stage-2 evaluator: the supernet's data set and augmentation
        data, augment = "digits", None

    assert retrain_training(SearchConfig(evaluator="supernet", retrain=1), space, Stand())["augment"] == "crop"
    assert retrain_training(SearchConfig(evaluator="supernet", retrain=1), space)["augment"] is None  # not read


def test_best_line_names_a_better_front_member_whose_retrain_failed(tmp_path):
    """Would fail: with trial 0's retrain failed, the run said 'best retrained network (by search val_acc): ...
    (trial 1)' and nothing else on that line's side, so trial 1 read as the search's best; the note names trial 0
    and the command that retrains it."""
    study, config = _two_stage_study(tmp_path, fail_best=True)
    text = io.StringIO()
    summary = write_outputs(study, config, Console(file=text, width=200))
    assert summary["best_trial"] == 1
    printed = text.getvalue()
    assert "best retrained network (by search val_acc): test accuracy 89.00% (trial 1)" in printed
    assert (f"note: trial 0, better by search val_acc, has no retrained network: its retrain (trial 2) did not "
            f"complete; {summary['resume_command']} retrains it") in printed


def test_no_note_when_every_retrain_completed(tmp_path):
    study, config = _two_stage_study(tmp_path, fail_best=False)
    text = io.StringIO()
    write_outputs(study, config, Console(file=text, width=200))
    assert "has no retrained network" not in text.getvalue()
