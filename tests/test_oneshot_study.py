"""Few-shot options (mid-schedule split, shared seed), supernet-seed averaging and the ground-truth ceiling of
the ranking study; each option has a test that fails if it is silently ignored."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.oneshot import OneShotConfig, build_supernet, split_supernet, train_few_shot, train_supernet  # noqa: E402
from nasforge.oneshot import study as study_mod  # noqa: E402
from nasforge.oneshot.study import RankingConfig, _aggregate, ceiling, kendall  # noqa: E402
from nasforge.spaces import get_space  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def data(toy_images):
    return toy_images


def _net():
    torch.manual_seed(0)
    return build_supernet("nb201", 4, 1, C=2, N=1)


def _moved(net, before):
    return sum(float((v.float() - before[k].float()).abs().sum()) for k, v in net.state_dict().items()
               if k.endswith("weight"))


def test_start_epoch_resumes_the_schedule_at_its_learning_rate(data):
    late, fresh = _net(), _net()
    before = {k: v.clone() for k, v in late.state_dict().items()}
    rec = train_supernet(late, data, OneShotConfig(epochs=6, start_epoch=5, batch_size=32))
    train_supernet(fresh, data, OneShotConfig(epochs=1, batch_size=32))
    assert [h["epoch"] for h in rec.history] == [5] and "schedule resumed at epoch 5 of 6" in rec.tricks
    assert _moved(late, before) < 0.5 * _moved(fresh, before)  # the schedule's tail: a far smaller step size
    with pytest.raises(UsageError):
        OneShotConfig(epochs=3, start_epoch=3)


def test_few_shot_shared_seed_gives_every_part_the_parent_seed(data):
    few = split_supernet(_net(), ["edge_0_3"])
    cfg = OneShotConfig(epochs=1, batch_size=48, seed=7)
    assert [r.config["seed"] for r in train_few_shot(few, data, cfg)] == [7, 8, 9, 10, 11]
    assert [r.config["seed"] for r in train_few_shot(few, data, cfg, shared_seed=True)] == [7] * 5


def test_few_shot_records_say_how_each_part_trained(data):
    """Would fail: the study's part records said only "restricted to ..." (oneshot train added its own line)."""
    few = split_supernet(_net(), ["edge_0_3"])
    restarted = train_few_shot(few, data, OneShotConfig(epochs=1, batch_size=48, lr=0.02), shared_seed=True)
    assert {r.tricks[-1] for r in restarted} == {"few-shot part: 1 more epoch at lr 0.02, a restarted cosine schedule"}
    finished = train_few_shot(few, data, OneShotConfig(epochs=4, start_epoch=1, batch_size=48), shared_seed=True)
    assert {r.tricks[-1] for r in finished} == {"few-shot part: 3 more epochs, the rest of the parent's schedule "
                                                "(no restart)"}


def test_ceiling_matches_an_independent_replicate_of_the_averaged_ground_truth():
    rng = np.random.default_rng(0)
    true = rng.normal(size=3000)

    def protocol(n_seeds):  # a ground truth: the mean of n noisy trainings
        return true + rng.normal(scale=1.0, size=(n_seeds, true.size))

    c = ceiling(protocol(4))
    replicate = kendall(protocol(4).mean(0), protocol(4).mean(0))
    oracle = kendall(true, protocol(4).mean(0))
    assert c["replicate_tau"] == pytest.approx(replicate, abs=0.03)
    assert c["oracle_tau"] == pytest.approx(oracle, abs=0.03)
    assert c["seed_to_seed_tau"] < c["split_half_tau"] < c["replicate_tau"] < c["oracle_tau"]


def test_rows_average_over_supernet_seeds():
    rows = [{"name": "x", "kendall_tau": t, "spearman": 2 * t, "top10_tau": 0.0, "kind": "supernet",
             "fav_ops": {"a": t}} for t in (0.2, 0.4, 0.6)]
    row = _aggregate("x", rows)
    assert row["n_seeds"] == 3 and row["kendall_tau"] == pytest.approx(0.4) and row["per_seed_tau"] == [0.2, 0.4, 0.6]
    assert row["kendall_tau_std"] == pytest.approx(0.2) and row["fav_ops"]["a"] == pytest.approx(0.4)


def test_study_trains_one_set_of_supernets_per_seed(monkeypatch):
    seen = []

    def fake(cfg, seed, truth=None, verbose=True):
        seen.append(seed)
        return {"scores": {}, "info": {}, "records": {}, "timing": {}}

    monkeypatch.setattr(study_mod, "supernet_scores", fake)
    study_mod._map_seeds(RankingConfig(supernet_seed=3, supernet_seeds=3, workers=1), [3, 4, 5], None, False)
    assert seen == [3, 4, 5]


@pytest.mark.slow
def test_small_study_reports_mean_and_std_over_supernet_seeds(tmp_path):
    cfg = RankingConfig(k=10, gt_seeds=2, gt_epochs=1, C=2, supernet_epochs=2, finetune_steps=1,
                        fewshot_split_epoch=1, supernet_seeds=2, workers=2)
    result = study_mod.run_ranking_study(cfg, tmp_path, log=lambda _m: None)
    spos = next(r for r in result.rows if r["name"] == "SPOS + BN recalibration")
    assert spos["n_seeds"] == 2 and len(spos["per_seed_tau"]) == 2 and "kendall_tau_std" in spos
    assert set(result.seed_scores["few-shot + recal"]) == {"0", "1"}
    assert any(r["kind"] == "ensemble" for r in result.rows)
    records = result.records["1"]
    assert [r["config"]["seed"] for r in records["few_shot"]] == [1] * 5
    assert records["few_shot"][0]["config"]["start_epoch"] == 1 and len(records["few_shot"][0]["history"]) == 1
    assert records["spos_same_budget"]["config"]["epochs"] == 1 + 5 * 1  # split epoch + 5 parts x 1 epoch
    assert "±" in study_mod.format_table(result)


@pytest.mark.slow
def test_small_study_scores_every_row_against_a_longer_ground_truth(tmp_path):
    cfg = RankingConfig(k=10, gt_seeds=2, gt_epochs=1, check_epochs=(2,), C=2, supernet_epochs=2,
                        finetune_steps=1, fewshot_split_epoch=1, supernet_seeds=1, workers=2)
    result = study_mod.run_ranking_study(cfg, tmp_path, log=lambda _m: None)
    longer = np.array(result.horizons["2"]["acc"]).mean(0)
    assert np.array(result.horizons["2"]["acc"]).shape == (2, 10)
    assert result.horizons["2"]["tau_with_ground_truth"] == pytest.approx(
        study_mod.kendall(longer, np.array(result.ground_truth["acc"]).mean(0)))
    for r in result.rows:  # supernet rows average single-seed taus; the baselines' scores are their own
        assert "kendall_tau@2ep" in r
        if r.get("kind") == "baseline":
            assert r["kendall_tau@2ep"] == pytest.approx(study_mod.kendall(np.array(result.scores[r["name"]]), longer))
    assert "tau @2 ep" in study_mod.format_table(result)


def test_check_horizons_records_each_longer_ground_truth(monkeypatch):
    truth = np.arange(6, dtype=float)
    longer = np.array([[0, 1, 2, 5, 4, 3], [0, 2, 1, 5, 3, 4]], dtype=float)
    calls = []

    def fake_train(cfg, archs, data, storage, epochs=None, seeds=None):
        calls.append(epochs)
        return [[{"val_acc": a} for a in row] for row in longer]

    monkeypatch.setattr(study_mod, "train_standalone", fake_train)
    result = study_mod.RankingStudy({}, [], {}, {})
    checks = study_mod.check_horizons(RankingConfig(check_epochs=(32,)), [None] * 6, None, "memory", truth, result,
                                      lambda _m: None)
    assert calls == [32] and list(checks) == [32] and np.allclose(checks[32], longer.mean(0))
    horizon = result.horizons["32"]
    assert horizon["tau_with_ground_truth"] == pytest.approx(study_mod.kendall(longer.mean(0), truth))
    assert horizon["ceiling"]["n_seeds"] == 2 and horizon["mean_val_acc"] == pytest.approx(longer.mean())


def test_cli_refuses_bad_check_epochs(capsys):
    from nasforge.cli import main

    assert main(["oneshot", "study", "--check-epochs", "8"]) == 2  # the ground truth's own length
    assert "--check-epochs" in capsys.readouterr().err
    assert main(["oneshot", "study", "--check-epochs", "x"]) == 2
    assert "--check-epochs" in capsys.readouterr().err


@pytest.mark.slow
def test_supernet_scores_restart_few_shot_from_its_own_parent_at_the_lr_factor():
    cfg = RankingConfig(k=10, C=2, supernet_epochs=2, fewshot_parent_epochs=1, fewshot_epochs=1, finetune_steps=1,
                        fewshot_lr_factor=0.2, fewshot_shared_seed=False)
    out = study_mod.supernet_scores(cfg, seed=2, verbose=False)
    few = out["records"]["few_shot"]
    assert [r["config"]["lr"] for r in few] == [pytest.approx(0.01)] * 5 and [r["config"]["seed"] for r in few] == [2, 3, 4, 5, 6]
    assert out["records"]["few_shot_parent"]["config"]["epochs"] == 1 and "few-shot's parent (1 ep) + recal" in out["scores"]
    assert out["records"]["spos_same_budget"]["config"]["epochs"] == 1 + 5 * 1
    # the parts' records say what `oneshot train --few-shot-split` records say (train_few_shot writes the line)
    assert {r["tricks"][-1] for r in few} == {"few-shot part: 1 more epoch at lr 0.01, a restarted cosine schedule"}
    assert len(out["scores"]["few-shot + recal"]) == 10


def test_cli_refuses_contradictory_few_shot_options(capsys):
    from nasforge.cli import main

    assert main(["oneshot", "study", "--few-shot-split-epoch", "150"]) == 2
    assert "--few-shot-split-epoch" in capsys.readouterr().err


def test_supernet_width_is_its_own_setting(toy_images):
    narrow = study_mod._supernet_for(RankingConfig(C=2, supernet_width=1), toy_images)
    wide = study_mod._supernet_for(RankingConfig(C=2, supernet_width=2), toy_images)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(wide) > 2 * count(narrow)


@pytest.mark.slow  # kept out of the default suite, over its 10-minute budget (run with -m slow)
def test_supernet_scores_use_the_weight_decay_and_score_by_loss(capsys):
    cfg = RankingConfig(k=4, C=2, supernet_epochs=1, fewshot_parent_epochs=None, fewshot_epochs=1, finetune_steps=1,
                        recal_batches=1, supernet_weight_decay=0.02, score_by="loss")
    out = study_mod.supernet_scores(cfg, seed=0, verbose=True)
    said = capsys.readouterr().out  # review 43: one few-shot epoch is "1 epoch"
    assert "sub-supernets x 1 epoch in " in said and "x 1 epochs" not in said
    assert out["records"]["spos"]["config"]["weight_decay"] == 0.02
    assert {r["config"]["weight_decay"] for r in out["records"]["few_shot"]} == {0.02}
    scores = np.array(out["scores"]["SPOS + BN recalibration"])
    assert scores.shape == (4,) and (scores < 0).all()  # minus a cross-entropy: higher is better


def test_study_refuses_an_unknown_score_by(tmp_path, capsys):
    from nasforge.cli import main

    with pytest.raises(UsageError, match="score_by"):
        study_mod.run_ranking_study(RankingConfig(score_by="tau"), tmp_path)
    assert main(["oneshot", "study", "--score-by", "tau"]) == 2
    assert "--score-by" in capsys.readouterr().err


def test_baseline_trains_with_its_own_seed_outside_the_ground_truth(monkeypatch, tmp_path, capsys):
    from nasforge.cli import main

    calls = []

    def fake_train(cfg, archs, data, storage, epochs=None, seeds=None):
        calls.append((epochs, list(seeds)))
        return [[{"val_acc": 1.0, "val_loss": 0.5, "params": 1, "flops": 1, "train_seconds": 0.1} for _ in archs]]

    monkeypatch.setattr(study_mod, "train_standalone", fake_train)
    study_mod.ground_truth(RankingConfig(gt_seeds=2, baseline_epochs=1), [None] * 3, None, "memory", lambda _m: None)
    assert calls == [(None, [0]), (None, [1]), (1, [study_mod.BASELINE_SEED])]
    seed = study_mod.BASELINE_SEED
    assert study_mod.gt_study_name(RankingConfig(), 1, seed).endswith(f"-e1-s{seed}")  # its own stored study
    with pytest.raises(UsageError, match="gt_seeds"):
        RankingConfig(gt_seeds=study_mod.BASELINE_SEED + 1).validate()
    assert main(["oneshot", "study", "--seeds", str(study_mod.BASELINE_SEED + 1), "--out", str(tmp_path / "r")]) == 2
    assert "--seeds" in capsys.readouterr().err and not (tmp_path / "r").exists()


@pytest.mark.parametrize("fields, message", [
    ({"val_fraction": 0.0}, r"val_fraction must be in \(0, 1\)"),  # the ground truth is scored on validation
    ({"val_fraction": 0.5, "test_fraction": 0.5}, r"val_fraction 0.5 \+ test_fraction 0.5 must be < 1"),
    ({"data": "digits", "noise": 0.2}, "--noise 0.2 applies to digits-hard only, not digits"),
])
def test_config_refuses_a_split_study_data_cannot_make(fields, message):
    from nasforge.cli.oneshot import _flag

    with pytest.raises(UsageError, match=message):
        RankingConfig(**fields).validate(_flag)


def test_the_table_names_how_many_architectures_the_top_tau_uses():
    truth = np.arange(10, dtype=float)
    ceiling_ = {"n_seeds": 2, "replicate_tau": 0.5, "oracle_tau": 0.6, "seed_to_seed_tau": 0.3, "split_half_tau": 0.4}
    space = get_space("nb201")
    row = study_mod.ranking_row("x", truth, truth, -truth, truth, [space.sample(0)] * 10, space)
    result = study_mod.RankingStudy({"C": 8}, ["a"] * 10, {"acc": [truth.tolist()] * 2}, ceiling_, rows=[row])
    table = study_mod.format_table(result)
    assert row["top10_n"] == 5 and "| scorer | tau | rho | top-5 tau |" in table and "top10%" not in table
    assert "top-5 tau: tau among the ground truth's best 5 of the 10 (50 %: the best 10 %, at least 5)" in table



def test_the_report_json_is_strict(tmp_path, monkeypatch):
    """A ceiling that could not be computed (NaN) is null in ranking.json and in `oneshot study --format json`."""
    import json

    ceiling_ = {"n_seeds": 1, "replicate_tau": float("nan"), "oracle_tau": np.float64("nan"), "seed_to_seed_tau": 0.3}
    result = study_mod.RankingStudy({"C": 8}, ["a"] * 10, {"acc": [[1.0] * 10]}, ceiling_)
    assert result.to_json()["ceiling"] == {"n_seeds": 1, "replicate_tau": None, "oracle_tau": None,
                                           "seed_to_seed_tau": 0.3}
    monkeypatch.setattr(study_mod, "plot_study", lambda *args: None)  # no rows to plot
    study_mod.write_report(result, tmp_path)
    data = json.loads((tmp_path / "ranking.json").read_text(), parse_constant=pytest.fail)
    assert data["ceiling"]["replicate_tau"] is None


def test_the_plots_show_every_supernet_row_and_hide_no_bar(tmp_path, monkeypatch):
    """Would fail: the scatter showed the first 6 supernet rows only (never few-shot or a trick), unlabelled as the
    seed-averaged scores, and the tau plot's legend sat inside the axes, over the last rows' bars."""
    pytest.importorskip("matplotlib")
    import nasforge.writes as writes

    truth = np.arange(10, dtype=float)
    ceiling_ = {"n_seeds": 2, "replicate_tau": 0.5, "oracle_tau": 0.6, "seed_to_seed_tau": 0.3, "split_half_tau": 0.4}
    space = get_space("nb201")
    names = ["baseline: params", *(f"row {i}" for i in range(9))]
    scores = {name: (truth * (-1) ** i).tolist() for i, name in enumerate(names)}
    rows = [study_mod.ranking_row(n, np.array(scores[n]), truth, -truth, truth, [space.sample(0)] * 10, space)
            for n in names]
    result = study_mod.RankingStudy({"C": 8, "supernet_seeds": 2}, ["a"] * 10, {"acc": [truth.tolist()] * 2},
                                    ceiling_, rows=rows, scores=scores)
    figures = {}

    def keep(fig, path, name, **options):
        fig.canvas.draw()
        figures[path.name] = fig

    monkeypatch.setattr(writes, "write_figure", keep)
    study_mod.plot_study(result, tmp_path)
    panels = [ax for ax in figures["ranking_scatter.png"].axes if ax.axison]
    assert [ax.get_title().split("\n")[0] for ax in panels] == names[1:]
    assert [ax.get_title().split("\n")[1] for ax in panels[:2]] == ["tau -1.000", "tau +1.000"]
    assert "averaged over the 2 supernet seeds" in figures["ranking_scatter.png"].get_suptitle()
    tau = figures["ranking_tau.png"]
    (legend,), (ax,) = tau.legends, tau.axes
    renderer = tau.canvas.get_renderer()
    assert legend.get_window_extent(renderer).y1 <= ax.get_window_extent(renderer).y0  # below the bars


class _QuickTraining:
    """Stands in for TrainingEvaluator in the ground-truth test: a metric from the architecture, no training."""

    merge_val, fidelity = False, {"epochs": 1}  # what the engine reads of a TrainingEvaluator (its last step)

    def __init__(self, **_settings) -> None:
        pass

    def evaluate(self, arch, fidelity=None):
        return {"val_acc": float(len(set(arch.genotype))), "val_loss": 1.0}


def test_ground_truth_trains_with_worker_processes(tmp_path, monkeypatch):
    """Would fail: the ground truth passed catch=False to the process executor, which the engine now refuses, so
    every ranking study with workers > 1 (the CLI default) stopped before training anything."""
    import nasforge.evaluators.training as training

    monkeypatch.setattr(training, "TrainingEvaluator", _QuickTraining)
    space = get_space("nb201")
    archs = [space.sample(np.random.default_rng(i)) for i in range(3)]
    metrics = study_mod._trained(space, archs, None, f"sqlite:///{tmp_path / 'gt.db'}", "gt", C=2, N=1, epochs=1,
                                 seed=0, workers=2)
    assert [m["val_acc"] for m in metrics] == [float(len(set(a.genotype))) for a in archs]
