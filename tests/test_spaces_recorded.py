"""RecordedSpace: a stored study's space seen through the texts stored with its trials."""

from __future__ import annotations

import pytest

from nasforge.exceptions import UsageError
from nasforge.spaces import Architecture
from nasforge.spaces.recorded import RecordedSpace

from model_space_sources import TWO_CHOICE_NET

DEEP, SHALLOW, BARE = (Architecture("model_space", g) for g in (("2", "conv", "skip"), ("1", "conv", "conv"), ("1",)))


def test_parameters_cover_every_label_and_mark_inactive_decisions():
    """Model-space texts leave inactive decisions out: each architecture still has every label (a report's
    per-choice tables need one column set), an inactive one as "-"."""
    space = RecordedSpace("model_space", {}, {DEEP: "depth=2|block0=conv|block1=skip", SHALLOW: "depth=1|block0=conv"},
                          "no such Python file: net.py")
    assert space.format(SHALLOW) == "depth=1|block0=conv"
    assert space.to_params(SHALLOW) == {"depth": "1", "block0": "conv", "block1": "-"}
    assert space.categorical_params() == {"depth": ["2", "1"], "block0": ["conv"], "block1": ["skip", "-"]}
    assert space.canonical(DEEP) == DEEP and space.note.startswith("space 'model_space' cannot be rebuilt here")


def test_texts_of_another_form_give_one_parameter_per_genotype_entry():
    space = RecordedSpace("mine", None, {BARE: "1"}, "unknown search space 'mine'")
    assert space.to_params(BARE) == {"decision_0": "1"}
    assert space.format(Architecture("mine", ("7", "x"))) == "7|x"  # not stored: the genotype


@pytest.mark.parametrize("call", ["sample", "neighbors", "parse", "encode_onehot", "from_params", "size"])
def test_what_needs_the_space_is_refused_naming_why(call):
    space = RecordedSpace("model_space", {}, {}, "no such Python file: net.py")
    with pytest.raises(UsageError, match=r"cannot be rebuilt here \(no such Python file: net.py\).*needs the space"):
        getattr(space, call)(*([DEEP] if call != "size" else []))


def test_a_model_space_shown_as_stored_has_no_note_and_says_what_it_lacks():
    space = RecordedSpace("model_space", {}, {SHALLOW: "depth=1|block0=conv"})
    assert space.note is None and space.format(SHALLOW) == "depth=1|block0=conv"
    with pytest.raises(UsageError, match=r"space 'model_space' is shown from its stored architectures \(its module is "
                                         r"not run\): this needs the space itself"):
        space.sample(0)


def test_read_only_commands_never_run_a_stored_module_reference(tmp_path, monkeypatch, capsys):
    """A study database is data: its space config named os:system with a command, and `nasforge trials` ran it.
    trials / status / report show a model-space study from its stored texts, as before, and run nothing."""
    import json
    import sqlite3

    from nasforge.cli import main
    from nasforge.experiment import Study
    from nasforge.spaces.model_space import ModelSpace

    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.py").write_text(TWO_CHOICE_NET)
    space = ModelSpace(f"{tmp_path / 'net.py'}:Net", input_shape=(2,))
    study = Study(space, "random", objectives="score", seed=0, name="mine", storage="sqlite:///ms.db")
    for _ in range(3):
        trial = study.ask()
        study.tell(trial, float(trial.number))
    texts = [space.format(t.arch) for t in study.trials]
    study.storage.close()

    def views() -> str:
        assert main(["trials", "mine", "--storage", "sqlite:///ms.db", "--format", "json"]) == 0
        captured = capsys.readouterr()
        assert [t["arch"] for t in json.loads(captured.out)["trials"]] == texts
        assert main(["status", "mine", "--storage", "sqlite:///ms.db"]) == 0
        assert texts[2] in capsys.readouterr().out
        assert main(["report", "mine", "--storage", "sqlite:///ms.db", "--out", "r.html", "--overwrite"]) == 0
        assert texts[2] in (tmp_path / "r.html").read_text()
        return captured.err + capsys.readouterr().err

    assert views() == ""  # the study as it is: no note
    marker = tmp_path / "PWNED"
    evil = json.dumps({"module": "os:system", "input_shape": [2], "module_args": [f"touch {marker}"],
                       "module_kwargs": {}})
    with sqlite3.connect(tmp_path / "ms.db") as db:
        db.execute("update nasforge_studies set space_config = ?", (evil,))
    views()
    assert not marker.exists()
