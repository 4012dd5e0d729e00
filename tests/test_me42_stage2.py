"""Stage 2 resumed (me42): retrains an earlier session completed count as done."""

from __future__ import annotations

from rich.console import Console

from nasforge import Study, get_space
from nasforge.pipelines import search as pipeline
from nasforge.pipelines.search import SearchConfig


def test_a_resumed_stage_two_counts_the_retrains_an_earlier_session_completed():
    """Would fail before: the first network finished after a resume read '1 of 3 networks done' though another was
    done before, and its time did not scale the ETA."""
    study = Study(get_space("nb201"), "mo_random", objectives=["val_acc", "params"],
                  directions=["maximize", "minimize"], seed=0, name="resumed")
    for i in range(3):
        study.tell(study.ask(), {"val_acc": 50.0 + i, "params": 1e4 * (i + 1), "train_seconds": 4.0, "epochs": 4,
                                 "trained_params": 1e4 * (i + 1)})
    retrains = [study.enqueue(t.arch, user_attrs={pipeline.STAGE_KEY: pipeline.RETRAIN, "source_trial": t.number})
                for t in study.trials[:3]]
    earlier = study.next_waiting()  # an earlier session retrained the first network in 40 s
    study.tell(earlier, {"val_acc": 60.0, "params": 1e4, "train_seconds": 40.0})
    console = Console(record=True, width=200)
    track = pipeline.RetrainProgress(study, retrains, SearchConfig(final_epochs=10, workers=1, threads=1), console)
    pending = [t for t in study.trials if t.number in track.numbers and not t.done]
    track.start(pending, 1)
    assert track.actual == {earlier.number: 40.0}  # search trials (complete, not retrains) are not counted
    assert "retraining 2 of 3 network(s)" in console.export_text(clear=False)
    trial = study.next_waiting()
    study.tell(trial, {"val_acc": 61.0, "params": 2e4, "train_seconds": 40.0})
    track.finished(study, next(t for t in study.trials if t.number == trial.number))
    said = console.export_text()
    assert "2 of 3 networks done" in said and "eta ~" in said
