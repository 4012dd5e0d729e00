"""Review 51 fixes of real training: a network that edits its input in place leaves the data set as it was, and
the opt-in BatchNorm re-estimation before validation (``bn_mode="recalibrate"``)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from nasforge.data import from_arrays  # noqa: E402
from nasforge.training import TrainConfig, Trainer  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _images(n: int = 60, seed: int = 0):
    """Centred (half negative) 8x8 one-channel images of 4 classes, split 50 / 30 / 20 %."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(size=(n, 8, 8)).astype(np.float32) + y[:, None, None] * np.eye(8, dtype=np.float32)
    a, b = n // 2, n * 8 // 10
    return from_arrays("toy", (x[:a], y[:a]), (x[a:b], y[a:b]), (x[b:], y[b:]), 4, augment="none")


class _InPlace(nn.Module):
    """A network whose first op is an in-place ReLU on its input (a pre-activation block without a stem)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.act, self.head = nn.ReLU(inplace=True), nn.Sequential(nn.Flatten(), nn.Linear(64, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(x))


def _splits(data) -> list[torch.Tensor]:
    return [t.clone() for t in (data.x_train, data.x_val, data.x_test)]


def _unchanged(data, before: list[torch.Tensor]) -> bool:
    return all(torch.equal(a, b) for a, b in zip((data.x_train, data.x_val, data.x_test), before))


def _editing_input(model: nn.Module) -> nn.Module:
    """``model`` with a hook that clamps its input in place before every forward pass."""
    def clamp(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        args[0].clamp_(min=0)

    model.register_forward_pre_hook(clamp)
    return model


# -- 1. the data set is never edited by the network trained or scored -------------------------------------------
def test_training_a_network_that_edits_its_input_leaves_validation_and_test_images_as_they_were():
    data = _images()
    before = _splits(data)
    result = Trainer(TrainConfig(epochs=2, batch_size=16, eval_batch_size=7)).fit(_InPlace(), data)
    assert _unchanged(data, before)
    again = Trainer(TrainConfig(epochs=2, batch_size=16, eval_batch_size=7)).fit(_InPlace(), data)
    assert (again.val_acc, again.test_acc) == (result.val_acc, result.test_acc)  # the next training sees the same
    merged = _images()
    Trainer(TrainConfig(epochs=1, batch_size=16)).fit(_InPlace(), merged, merge_val=True)
    assert _unchanged(merged, before)


def test_scoring_with_a_supernet_that_edits_its_input_leaves_the_scored_split_as_it_was():
    from nasforge.oneshot import ScoreConfig, SubnetScorer, build_supernet

    data = _images()
    before = _splits(data)
    net = _editing_input(build_supernet("nb201", 4, 1, C=2, N=1))
    for mode in ("inherited", "batch", "recalibrate"):
        scorer = SubnetScorer(net, data, ScoreConfig(bn_mode=mode, eval_batch_size=7))
        scorer.score(net.space.sample(np.random.default_rng(0)))
    assert _unchanged(data, before)


def test_the_search_check_that_a_network_fits_the_data_leaves_its_training_images_as_they_were(monkeypatch):
    from nasforge.evaluators import TrainingEvaluator
    from nasforge.pipelines.search import _check_network_fits
    from nasforge.spaces import get_space

    data = _images()
    evaluator = TrainingEvaluator(data, C=2, N=1)
    build = evaluator.build
    monkeypatch.setattr(evaluator, "build", lambda arch, fidelity=None: (_editing_input(build(arch)[0]),
                                                                         *build(arch)[1:]))
    before = _splits(data)
    _check_network_fits(evaluator, get_space("nb201"))
    assert _unchanged(data, before)


# -- 2. BatchNorm statistics re-estimated before validation (opt-in) -------------------------------------------
def _bn_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5),
                         nn.Flatten(), nn.Linear(256, 4))


def test_bn_mode_is_inherited_by_default_and_checked():
    from nasforge.exceptions import UsageError

    assert TrainConfig().bn_mode == "inherited"
    with pytest.raises(UsageError, match=r"unknown bn_mode 'batch'; choose from \['inherited', 'recalibrate'\]"):
        TrainConfig(bn_mode="batch")


def test_recalibrate_batchnorm_averages_the_batches_and_restores_modes_and_momentum():
    from nasforge.training import recalibrate_batchnorm

    net, x = _bn_net().train(), torch.randn(40, 1, 8, 8)
    net[1].running_mean.fill_(5.0)
    state = torch.random.get_rng_state()
    recalibrate_batchnorm(net, [x[:20], x[20:]])
    assert torch.equal(torch.random.get_rng_state(), state)  # dropout stayed off: nothing drawn
    assert net.training and net[3].training and net[1].momentum == 0.1
    with torch.no_grad():
        means = [net[0](half).mean((0, 2, 3)) for half in (x[:20], x[20:])]
    assert torch.allclose(net[1].running_mean, (means[0] + means[1]) / 2, atol=1e-6)  # reset, then averaged


def test_training_with_recalibrated_bn_validates_the_same_weights_with_re_estimated_statistics(monkeypatch):
    import nasforge.training.trainer as trainer

    data = _images(120)
    calls = []
    real = trainer.recalibrate_batchnorm
    monkeypatch.setattr(trainer, "recalibrate_batchnorm",
                        lambda model, batches: calls.append(1) or real(model, batches))
    config = TrainConfig(epochs=2, batch_size=16, augment=False)
    plain_net, recal_net = _bn_net(), _bn_net()
    plain = Trainer(config).fit(plain_net, data)
    recal = Trainer(TrainConfig(**{**config.__dict__, "bn_mode": "recalibrate"})).fit(recal_net, data)
    assert len(calls) == 2  # before each validation
    assert recal.train_loss == plain.train_loss  # the same training: only the statistics validated with differ
    weights = [k for k in plain_net.state_dict() if "running" not in k and "num_batches" not in k]
    assert all(torch.equal(plain_net.state_dict()[k], recal_net.state_dict()[k]) for k in weights)
    expected = _bn_net()
    expected.load_state_dict(plain_net.state_dict())
    real(expected, [data.x_train[i:i + 16] for i in range(0, len(data.y_train), 16)])
    assert torch.equal(expected[1].running_mean, recal_net[1].running_mean)
    assert Trainer(config).evaluate(expected, data.x_val, data.y_val) == (recal.val_acc, recal.val_loss)
    calls.clear()
    Trainer(TrainConfig(epochs=2, batch_size=16, bn_mode="recalibrate")).fit(_bn_net(), data, merge_val=True)
    assert len(calls) == 1  # nothing validated: once, before the test


def test_a_default_training_saves_its_network_under_the_folder_name_it_had_before_bn_mode(tmp_path):
    from nasforge.evaluators import TrainingEvaluator
    from nasforge.spaces import get_space

    arch = get_space("nb201").parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|"
                                    "avg_pool_3x3~2|")
    folders = []
    for train in (None, {"bn_mode": "recalibrate"}):
        evaluator = TrainingEvaluator("digits", C=2, N=1, fidelity={"epochs": 1, "data_fraction": 0.1}, train=train,
                                      save_dir=tmp_path, latency_repeats=1)
        folders.append(evaluator.evaluate(arch).user_attrs["model_dir"])
    assert folders[0].endswith("nb201-1c06314b9129") and folders[1] != folders[0]


def test_search_bn_mode_is_validated_recorded_and_reaches_the_search_trials_only(tmp_path):
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import SearchConfig, _evaluators, search_training
    from nasforge.spaces import get_space

    with pytest.raises(UsageError, match="bn_mode must be one of inherited, recalibrate"):
        SearchConfig(bn_mode="batch").validate()
    with pytest.raises(UsageError, match="bn_mode applies to the training evaluator only"):
        SearchConfig(evaluator="supernet", supernet="ck", bn_mode="recalibrate").validate()
    assert SearchConfig(out=str(tmp_path)).resolved().bn_mode == "inherited"  # recorded explicitly
    assert SearchConfig.from_json({"trials": 3}).bn_mode is None  # stored before: inherited, as it ran
    space = get_space("nb201")
    for bn_mode, expected in ((None, "inherited"), ("recalibrate", "recalibrate")):
        config = SearchConfig(out=str(tmp_path), bn_mode=bn_mode).resolved()
        search, retrain = _evaluators(config, space)
        assert (search.train.bn_mode, retrain.train.bn_mode) == (expected, "inherited")
        assert search.spec()["kwargs"]["train"]["bn_mode"] == expected
        assert search_training(config, space)["bn_mode"] == expected


def test_the_search_command_takes_bn_mode_recalibrate_with_the_training_evaluator(monkeypatch, capsys):
    import nasforge.pipelines.search as pipeline
    from nasforge.cli import main

    seen = []
    monkeypatch.setattr(pipeline, "run_search", lambda config, **kwargs: seen.append(config))
    assert main(["search", "--bn-mode", "recalibrate", "--trials", "2"]) == 0
    assert seen[0].bn_mode == "recalibrate" and seen[0].supernet_score is None
    for argv, message in ((["--bn-mode", "batch"], "--bn-mode must be one of inherited, recalibrate"),
                          (["--recal-batches", "2"], "--recal-batches: applies to --evaluator supernet only")):
        assert main(["search", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err


# -- 3. the throughput benchmark records when, under what load, and the CPU-time ratio ---------------------------
@pytest.mark.slow
def test_the_throughput_benchmark_records_date_load_and_cpu_time_ratios(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "training_throughput.py"
    out = tmp_path / "t.json"
    subprocess.run([sys.executable, str(script), "--epochs", "1", "--rounds", "1", "--json", str(out)], check=True,
                   capture_output=True)
    report = json.loads(out.read_text())
    assert report["date"] and len(report["load_average"]["start"]) == 3 and len(report["load_average"]["end"]) == 3
    for row in report["rows"]:
        assert len(row["ours_cpu_s_all"]) == len(row["plain_cpu_s_all"]) == 1
        assert row["cpu_ratio"] == row["plain_cpu_s_all"][0] / row["ours_cpu_s_all"][0]


def test_prepared_gives_the_network_in_the_mode_the_score_evaluates_it():
    """Review regression e: with recalibration restoring the caller's modes, a supernet left in train mode (or
    fine-tuned) ran dropout inside prepared(), so a forward pass there gave another loss than the score."""
    import numpy as np
    from torch import nn

    from nasforge.data import from_arrays
    from nasforge.oneshot import ScoreConfig, SubnetScorer
    from nasforge.spaces.model_space import LayerChoice, ModelSpace

    class WithDropout(nn.Module):
        def __init__(self, num_classes=4, in_channels=1):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
            self.op = LayerChoice({"c3": nn.Conv2d(8, 8, 3, padding=1), "c1": nn.Conv2d(8, 8, 1)}, label="op")
            self.head = nn.Sequential(nn.Dropout(0.5), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes))

        def forward(self, x):
            return self.head(self.op(self.stem(x)))

    rng = np.random.default_rng(0)
    y, x = rng.integers(0, 4, 96), rng.normal(size=(96, 8, 8)).astype(np.float32)
    data = from_arrays("toy", (x[:48], y[:48]), (x[48:80], y[48:80]), (x[80:], y[80:]), 4)
    space = ModelSpace(WithDropout, num_classes=4, input_shape=(1, 8, 8))
    supernet = space.supernet()
    scorer = SubnetScorer(supernet, data, ScoreConfig(bn_mode="recalibrate", recal_batches=1, finetune_steps=1))
    supernet.train()
    with scorer.prepared(space.parse("op=c3")) as module:
        assert not any(m.training for m in module.modules())


def test_recal_batches_with_the_training_evaluator_says_it_is_for_the_supernet(capsys):
    """Review regression e: --bn-mode inherited --recal-batches 2 said '--recal-batches applies only with --bn-mode
    recalibrate', and with recalibrate the training evaluator refused it again."""
    from nasforge.cli import main

    for mode in ("inherited", "recalibrate"):
        assert main(["search", "--bn-mode", mode, "--recal-batches", "2", "--trials", "1"]) == 2
        assert capsys.readouterr().err.strip() == ("nasforge search: error: --recal-batches: applies to --evaluator "
                                                   "supernet only (how the supernet scores)")
