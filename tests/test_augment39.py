"""The training augmentation of data read from files is the user's choice (``augment``: none, crop, crop_flip):
it reaches the training batches, is recorded by a search, a supernet and a ground truth, and is used again on
resume / checkpoint reload; records made before it existed still resume with the data set's own."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nasforge.cli import main  # noqa: E402
from nasforge.data import AUGMENTATIONS, augment_batch, from_arrays, load_dataset, load_npz  # noqa: E402
from nasforge.evaluators import SupernetEvaluator, TrainingEvaluator, training  # noqa: E402
from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.experiment import Study  # noqa: E402
from nasforge.experiment.evaluator_spec import build_evaluator  # noqa: E402
from nasforge.oneshot.study import RankingConfig, gt_study_name, study_data  # noqa: E402
from nasforge.pipelines import search as pipeline  # noqa: E402
from nasforge.pipelines.search import SearchConfig, resume_search, run_search  # noqa: E402
from nasforge.spaces import get_space  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")
MARK = 2  # the bright column of every image: left of the middle, so a mirror flip moves it to the right half


class Crash(BaseException):
    """Stands for the process dying between the stages."""


def _npz(path, n: int = 48, side: int = 16) -> None:
    """``n`` uint8 images of 2 classes, dark but for column :data:`MARK` (a left-right asymmetric mark)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 30, (n, side, side), dtype=np.uint8)
    x[:, :, MARK] = 255
    np.savez(path, x=x, y=np.arange(n) % 2)


@pytest.fixture
def seen(monkeypatch):
    """Every batch the standalone and the supernet trainers augment: (kind, the augmented images)."""
    from nasforge.oneshot import trainer as oneshot_trainer
    from nasforge.training import trainer

    batches: list[tuple[str, torch.Tensor]] = []

    def recording(x, kind, generator):
        out = augment_batch(x, kind, generator)
        batches.append((kind, out))
        return out

    monkeypatch.setattr(trainer, "augment_batch", recording)
    monkeypatch.setattr(oneshot_trainer, "augment_batch", recording)
    monkeypatch.setattr(training, "_DATA_CACHE", {})
    return batches


def _mark_columns(batches: list[tuple[str, torch.Tensor]]) -> set[int]:
    """The column where each trained image is brightest (its mark, shifted by a crop or mirrored by a flip)."""
    return {int(c) for _, x in batches for c in x.sum(dim=(1, 2)).argmax(dim=-1).flatten()}


def test_load_dataset_takes_the_augmentation_and_keeps_each_sources_own_by_default(tmp_path):
    _npz(tmp_path / "m.npz")
    assert load_dataset("npz", tmp_path / "m.npz").augment == "crop_flip"  # unchanged default of files
    assert load_dataset("digits").augment == "crop"
    for kind in AUGMENTATIONS:
        assert load_dataset("npz", tmp_path / "m.npz", augment=kind).augment == kind
        assert load_npz(tmp_path / "m.npz", augment=kind).augment == kind
        assert load_dataset("digits", augment=kind).augment == kind  # the embedded set too: same meaning
        assert study_data("digits-hard", augment=kind).augment == kind
    assert study_data("npz", str(tmp_path / "m.npz"), augment="crop").augment == "crop"
    data = load_dataset("npz", tmp_path / "m.npz")
    for call in (lambda: load_dataset("npz", tmp_path / "m.npz", augment="flip"),
                 lambda: load_npz(tmp_path / "m.npz", augment="Crop"), lambda: load_dataset("digits", augment=True),
                 lambda: replace(data, augment="mirror"), lambda: TrainingEvaluator("digits", augment="flip"),
                 lambda: from_arrays("a", (data.x_train.numpy(), data.y_train.numpy()),
                                     (data.x_val.numpy(), data.y_val.numpy()),
                                     (data.x_test.numpy(), data.y_test.numpy()), augment="crop-flip")):
        with pytest.raises(UsageError, match="unknown augmentation; choose from none, crop, crop_flip"):
            call()


def test_augment_batch_mirrors_only_with_crop_flip():
    x = torch.zeros(64, 1, 16, 16)
    x[..., MARK] = 1.0
    gen = torch.Generator().manual_seed(0)
    crop = _mark_columns([("crop", augment_batch(x, "crop", gen))])
    assert crop <= set(range(MARK + 3))  # shifted by at most 16 // 8 = 2 pixels, never mirrored
    flipped = _mark_columns([("crop_flip", augment_batch(x, "crop_flip", gen))])
    assert flipped & set(range(16 - MARK - 3, 16))  # some images mirrored into the right half


@pytest.mark.parametrize("augment, kind", [(None, "crop_flip"), ("crop", "crop"), ("none", "none")])
def test_the_training_evaluator_trains_with_the_chosen_augmentation(tmp_path, seen, augment, kind):
    _npz(tmp_path / "m.npz")
    evaluator = TrainingEvaluator("npz", tmp_path / "m.npz", C=2, N=1, train={"epochs": 1, "batch_size": 16},
                                  latency_repeats=1, augment=augment)
    arch = get_space("nb201").sample(np.random.default_rng(0))
    evaluator.evaluate(arch)
    assert {k for k, _ in seen} == {kind}
    columns = _mark_columns(seen)
    assert (max(columns) >= 16 - MARK - 3) == (kind == "crop_flip")  # a mark in the right half: a mirrored image
    spec = json.loads(json.dumps(evaluator.spec()))
    assert spec["kwargs"].get("augment") == augment  # recorded only where given: older specs look the same
    assert build_evaluator(spec).dataset().augment == kind
    old = {**spec, "kwargs": {k: v for k, v in spec["kwargs"].items() if k != "augment"}}
    assert build_evaluator(old).dataset().augment == "crop_flip"  # a spec stored before: the data set's own


def _crashed_run(tmp_path, monkeypatch, **kw) -> str:
    """A search on the NPZ data that dies between the stages; its storage URL."""
    def crash(*args, **kwargs):
        raise Crash()

    real = pipeline._enqueue_retrains
    monkeypatch.setattr(pipeline, "_enqueue_retrains", crash)
    config = SearchConfig(data="npz", data_dir=str(tmp_path / "m.npz"), trials=2, retrain=1, search_epochs=1,
                          final_epochs=1, workers=1, threads=1, out=str(tmp_path / "run"), name="job", **kw)
    with pytest.raises(Crash):
        run_search(config)
    monkeypatch.setattr(pipeline, "_enqueue_retrains", real)
    monkeypatch.setattr(training, "_DATA_CACHE", {})  # read again, as by the process of a resume
    return f"sqlite:///{tmp_path / 'run' / 'study.db'}"


def test_a_search_records_the_augmentation_and_its_resume_trains_with_it(tmp_path, monkeypatch, seen):
    _npz(tmp_path / "m.npz")
    url = _crashed_run(tmp_path, monkeypatch, augment="crop")
    assert {k for k, _ in seen} == {"crop"}  # stage 1
    study = Study.load("job", url)
    assert study.user_attrs["pipeline_config"]["augment"] == "crop"
    seen.clear()
    resume_search("job", url, progress=False)
    assert {k for k, _ in seen} == {"crop"}  # stage 2, in the resumed run
    assert max(_mark_columns(seen)) < 16 - MARK - 3


def test_a_search_stored_before_the_field_still_resumes_with_the_data_sets_own(tmp_path, monkeypatch, seen):
    _npz(tmp_path / "m.npz")
    url = _crashed_run(tmp_path, monkeypatch)
    study = Study.load("job", url)
    stored = {k: v for k, v in study.user_attrs["pipeline_config"].items() if k != "augment"}
    study.set_user_attr("pipeline_config", stored)  # as a run of an older nasforge stored it
    seen.clear()
    resume_search("job", url, progress=False)
    assert {k for k, _ in seen} == {"crop_flip"}
    assert len([t for t in Study.load("job", url).trials if pipeline.is_retrain(t)]) == 1


def test_a_supernet_records_its_augmentation_and_a_reload_retrains_with_it(tmp_path, seen):
    _npz(tmp_path / "m.npz")
    out = tmp_path / "ck"
    assert main(["oneshot", "train", "--data", "npz", "--data-dir", str(tmp_path / "m.npz"), "--augment", "none",
                 "--epochs", "1", "--C", "2", "--batch-size", "16", "--out", str(out)]) == 0
    assert {k for k, _ in seen} == {"none"}
    assert json.loads((out / "supernet.json").read_text())["data"]["data_options"]["augment"] == "none"
    evaluator = SupernetEvaluator.from_checkpoint(out)
    assert evaluator.dataset().augment == "none" and evaluator.training_data()["augment"] == "none"
    again = build_evaluator(json.loads(json.dumps(evaluator.spec())))  # as nasforge resume rebuilds it
    assert again.training_data()["augment"] == "none"
    retrain = TrainingEvaluator(**again.training_data(), C=2, N=1, train={"epochs": 1, "batch_size": 16},
                                latency_repeats=1)
    seen.clear()
    retrain.evaluate(get_space("nb201").sample(np.random.default_rng(1)))
    assert {k for k, _ in seen} == {"none"}
    chosen = SupernetEvaluator.from_checkpoint(out, data_options={"augment": "crop"})  # no score depends on it
    assert chosen.training_data()["augment"] == "crop"
    with pytest.raises(UsageError, match="unknown augmentation"):
        SupernetEvaluator.from_checkpoint(out, data_options={"augment": "flip"})


def test_a_supernet_saved_before_the_field_reloads_with_the_data_sets_own(tmp_path):
    _npz(tmp_path / "m.npz")
    out = tmp_path / "ck"
    assert main(["oneshot", "train", "--data", "npz", "--data-dir", str(tmp_path / "m.npz"), "--epochs", "1",
                 "--C", "2", "--batch-size", "16", "--out", str(out)]) == 0
    assert "augment" not in json.loads((out / "supernet.json").read_text())["data"]["data_options"]
    evaluator = SupernetEvaluator.from_checkpoint(out)
    assert evaluator.training_data()["augment"] is None and evaluator.dataset().augment == "crop_flip"


def test_the_ground_truth_protocol_holds_the_augmentation_only_when_given():
    base = RankingConfig()
    assert "augment" not in base.gt_protocol()  # stored ground truths of today's runs keep their names
    assert gt_study_name(base, 8, 0) == gt_study_name(RankingConfig(augment=None), 8, 0)
    names = {gt_study_name(RankingConfig(augment=kind), 8, 0) for kind in AUGMENTATIONS}
    assert len(names) == 3 and gt_study_name(base, 8, 0) not in names
    with pytest.raises(UsageError, match="--augment 'flip': unknown augmentation"):
        RankingConfig(augment="flip").validate(lambda name: "--" + name)


def test_bad_values_are_refused_in_python():
    with pytest.raises(UsageError, match="augment must be one of none, crop, crop_flip"):
        SearchConfig(augment="flip").validate()
    SearchConfig(augment="none").validate()  # digits (the default data) takes it too
    with pytest.raises(UsageError, match="unknown augmentation"):
        SupernetEvaluator(torch.nn.Identity(), "digits", data_options={"augment": "flip"})


@pytest.mark.parametrize("argv", [["search"], ["oneshot", "train"], ["oneshot", "study"]])
def test_the_cli_refuses_a_bad_augmentation_with_the_valid_list(capsys, argv):
    assert main([*argv, "--augment", "flip"]) == 2
    err = capsys.readouterr().err
    assert "argument --augment: invalid choice: 'flip' (did you mean 'crop_flip'?) (choose from " in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
