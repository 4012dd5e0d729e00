"""Review 43 of one-shot NAS: damaged (non-finite) supernets, recorded space options, ``--derive`` with SPOS,
the ranking study's smallest K and an interrupted study's message."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from nasforge.cli import main  # noqa: E402
from nasforge.oneshot import build_supernet  # noqa: E402
from nasforge.oneshot.checkpoint import CheckpointError, load_supernet, save_supernet  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")
DIGITS = {"data": {"data": "digits", "data_options": {}}}



def test_nan_weights_are_refused_as_damaged(tmp_path, capsys):
    net = build_supernet("nb201", 10, 1, C=2, N=1)
    with torch.no_grad():
        next(net.parameters()).fill_(float("nan"))
    save_supernet(net, tmp_path / "nan", DIGITS)
    with pytest.raises(CheckpointError, match="is damaged: 1 tensor.s. hold NaN or infinite values"):
        load_supernet(tmp_path / "nan")
    assert main(["oneshot", "search", "--supernet", str(tmp_path / "nan"), "--trials", "2"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "NaN or infinite" in err


def test_a_search_where_every_trial_failed_exits_1(ck, capsys, monkeypatch):
    from nasforge.evaluators import SupernetEvaluator

    def fail(self, arch, *args, **kwargs):
        raise RuntimeError("scoring broke")

    monkeypatch.setattr(SupernetEvaluator, "evaluate", fail)
    with pytest.warns(UserWarning, match="failed"):
        code = main(["oneshot", "search", "--supernet", str(ck), "--trials", "2", "--bn-mode", "inherited"])
    assert code == 1
    captured = capsys.readouterr()
    assert "no architecture was scored: all 2 trials failed" in captured.err and "rank" not in captured.out


def test_a_registered_space_keeps_its_options(tmp_path):
    """Would fail: supernet.json recorded {} for NB201, so a 'functional' supernet came back as 'network'."""
    from nasforge.spaces import get_space

    space = get_space("nb201", canonical_rule="functional")
    save_supernet(build_supernet(space, 10, 1, C=2, N=1), tmp_path / "f", DIGITS)
    info = json.loads((tmp_path / "f" / "supernet.json").read_text())
    assert info["space_config"] == {"canonical_rule": "functional"}
    assert load_supernet(tmp_path / "f")[0].space.canonical_rule == "functional"


def test_an_older_registered_space_record_without_options_still_loads(ck):
    info = json.loads((ck / "supernet.json").read_text())
    (ck / "supernet.json").write_text(json.dumps({**info, "space_config": {}}))
    assert load_supernet(ck)[0].space.canonical_rule == "network"


def test_unknown_space_options_are_damage(ck):
    info = json.loads((ck / "supernet.json").read_text())
    (ck / "supernet.json").write_text(json.dumps({**info, "space_config": {"bogus": 1}}))
    with pytest.raises(CheckpointError, match="is damaged: space 'nb201' with options"):
        load_supernet(ck)


def test_oneshot_train_records_the_space_config(tmp_path, capsys):
    (tmp_path / "func.json").write_text('{"canonical_rule": "functional"}')
    assert main(["oneshot", "train", "--space", "nb201", "--space-config", str(tmp_path / "func.json"), "--epochs",
                 "1", "--C", "2", "--N", "1", "--out", str(tmp_path / "out")]) == 0
    info = json.loads((tmp_path / "out" / "supernet.json").read_text())
    assert info["space_config"] == {"canonical_rule": "functional"}


@pytest.mark.parametrize("derive", ["argmax", "pt"])
def test_derive_with_spos_is_refused_whatever_its_value(tmp_path, capsys, derive):
    """Would fail for argmax: it was the default, so an explicit --derive argmax with SPOS was ignored."""
    assert main(["oneshot", "train", "--method", "spos", "--derive", derive, "--epochs", "1",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--derive applies to --method darts or gdas" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_darts_derives_with_argmax_by_default(tmp_path, capsys):
    assert main(["oneshot", "train", "--method", "darts", "--epochs", "2", "--C", "2", "--N", "1",
                 "--out", str(tmp_path / "o")]) == 0
    assert "derived (argmax): " in capsys.readouterr().out


def test_k_below_10_is_refused_in_python_as_on_the_command_line(tmp_path, capsys):
    """Would fail in Python: only the CLI refused --k 6, RankingConfig(k=6).validate() accepted it."""
    from nasforge.exceptions import UsageError
    from nasforge.oneshot.study import MIN_K, RankingConfig

    with pytest.raises(UsageError, match="k must be >= 10 for top-10 figures, got 6"):
        RankingConfig(k=6).validate()
    RankingConfig(k=MIN_K).validate()
    assert main(["oneshot", "study", "--k", "6", "--out", str(tmp_path / "st")]) == 2
    assert capsys.readouterr().err.strip().endswith("--k must be >= 10 for top-10 figures, got 6")
    assert not (tmp_path / "st").exists()


@pytest.mark.slow  # kept out of the default suite, over its 10-minute budget (run with -m slow)
def test_an_interrupted_study_says_the_ground_truth_is_stored_and_a_rerun_says_reused(tmp_path, capsys,
                                                                                       monkeypatch):
    """Would fail: the interruption said only 'interrupted', and the rerun's seed lines did not say 'reused'."""
    import nasforge.oneshot.study as study_mod

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(study_mod, "_map_seeds", interrupt)  # after the ground truth, before the supernets
    command = ["oneshot", "study", "--k", "10", "--seeds", "1", "--epochs", "1", "--workers", "1",
               "--out", str(tmp_path / "st")]
    assert main(command) == 130
    captured = capsys.readouterr()
    assert "ground truth seed 0: 10 architectures (" in captured.out and "reused" not in captured.out
    assert (f"the ground-truth trainings done so far are stored in {tmp_path / 'st' / 'ground_truth.db'}; rerun "
            "the same command to reuse them") in captured.err
    assert main(command) == 130
    assert "ground truth seed 0: 10 architectures (all reused, " in capsys.readouterr().out


def test_oneshot_search_runs_a_multi_objective_strategy_on_the_one_objective(ck, capsys):
    assert main(["oneshot", "search", "--supernet", str(ck), "--strategy", "nsga2", "--trials", "3",
                 "--bn-mode", "inherited", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["trials"] == 3
    assert main(["oneshot", "search", "--help"]) == 0
    assert "a multi-objective one, e.g. nsga2, runs on the one --score-by objective" in " ".join(
        capsys.readouterr().out.split())


@pytest.mark.parametrize("k, says_all", [(10, True), (40, False)])
def test_the_table_says_when_the_top10_column_is_the_best_of_the_k(k, says_all):
    """Would fail: at K=10 the header said '10 %' of a 5-of-10 top and nothing said top10 was the best of the K."""
    import numpy as np

    import nasforge.oneshot.study as study_mod
    from nasforge.spaces import get_space

    truth = np.arange(k, dtype=float)
    ceiling_ = {"n_seeds": 2, "replicate_tau": 0.5, "oracle_tau": 0.6, "seed_to_seed_tau": 0.3, "split_half_tau": 0.4}
    space = get_space("nb201")
    row = study_mod.ranking_row("x", truth, truth, -truth, truth, [space.sample(0)] * k, space)
    result = study_mod.RankingStudy({"C": 8}, ["a"] * k, {"acc": [truth.tolist()] * 2}, ceiling_, rows=[row])
    table = study_mod.format_table(result)
    share = "50 %" if k == 10 else "12 %"
    assert f"best 5 of the {k} ({share}: the best 10 %, at least 5)" in table
    assert ("here all 10: the best of the K for every scorer" in table) == says_all
