"""Review 54, the user's own data: an evaluator sent to workers before any read pins the files it was sent with."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nasforge.evaluators import TrainingEvaluator, training
from nasforge.exceptions import UsageError


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "_DATA_CACHE", {})


def _folder(root: Path, classes: tuple[str, ...] = ("a", "b"), per_class: int = 6, size: int = 8) -> Path:
    """A tiny image folder: ``per_class`` ``size``-pixel PNGs in each class folder."""
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.full((size, size, 3), 20 * i + 90 * c, np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def _worker_copy(payload: bytes, monkeypatch: pytest.MonkeyPatch) -> TrainingEvaluator:
    """The evaluator as a freshly spawned worker gets it: unpickled in a process holding no copy of the data."""
    monkeypatch.setattr(training, "_DATA_CACHE", {})
    return pickle.loads(payload)


def test_worker_started_after_an_edit_refuses_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _folder(tmp_path / "d")
    ev = TrainingEvaluator("folder", data_dir=data, C=4, N=1)
    payload = pickle.dumps(ev)  # the executor pickles it once, before any read, for every worker it starts
    assert _worker_copy(payload, monkeypatch).dataset().num_classes == 2  # the first worker: files as sent
    _folder(data, classes=("c",))  # a class added during the run
    with pytest.raises(UsageError, match="files changed after this evaluator first read them"):
        _worker_copy(payload, monkeypatch).dataset()  # a worker restarted later
    with pytest.raises(UsageError, match="files changed"):
        _worker_copy(pickle.dumps(ev), monkeypatch).dataset()  # the same evaluator sent again: the same pin
    assert TrainingEvaluator("folder", data_dir=data, C=4, N=1).dataset().num_classes == 3  # a new one reads them


def test_evaluator_read_before_sending_keeps_its_own_stamp(tmp_path: Path) -> None:
    data = _folder(tmp_path / "d")
    ev = TrainingEvaluator("folder", data_dir=data, C=4, N=1)
    ev.dataset()
    assert ev._stamp is not None and pickle.loads(pickle.dumps(ev))._stamp == ev._stamp
    digits = TrainingEvaluator("digits", C=4, N=1)
    assert pickle.loads(pickle.dumps(digits))._stamp is None  # data read from no file: nothing to pin


def _big_first(root: Path) -> Path:
    """A folder of small images whose first image (sorted by path) is large."""
    _folder(root)
    Image.fromarray(np.zeros((300, 400, 3), np.uint8)).save(root / "a" / "0-big.png")
    return root


def test_large_first_image_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nasforge.data import load_dataset, sources

    data = _big_first(tmp_path / "d")
    monkeypatch.setattr(sources, "available_memory", lambda: 2**20)  # 13 images of 400x300 RGB need 17.9 MiB
    monkeypatch.setattr(sources, "_pixels", lambda *args: pytest.fail("an image was read"))
    with pytest.raises(UsageError) as info:
        load_dataset("folder", data)
    message = str(info.value)
    assert "\n" not in message
    assert all(part in message for part in (str(data / "a" / "0-big.png"), "400x300 pixels", "13 images",
                                            "0.0174 GiB", "0.000977 GiB available"))


def test_folder_that_fits_loads_and_out_of_memory_is_refused(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from nasforge.data import load_dataset, sources

    data = _big_first(tmp_path / "d")
    assert sources.available_memory() > 2**24  # this machine: the folder fits
    assert load_dataset("folder", data).x_train.shape[2:] == (300, 400)

    def no_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(sources, "from_arrays", no_memory)
    with pytest.raises(UsageError, match=r"0-big.png', 400x300 pixels, so its 13 images need at least 0.0174 GiB of "
                                         r"memory, more than could be allocated"):
        load_dataset("folder", data)


def test_resume_refusal_names_the_recorded_data(tmp_path: Path) -> None:
    from nasforge.experiment import Study
    from nasforge.oneshot.checkpoint import check_study_fingerprint

    study = Study("nb201", "random", name="r6", storage=f"sqlite:///{tmp_path / 'study.db'}")
    check_study_fingerprint(study, "old", "start a new search")
    with pytest.raises(UsageError, match=r"was trained on other data: data folder in /data/d6: the files changed "
                                         r"since \(another content fingerprint\); start a new search"):
        check_study_fingerprint(study, "new", "start a new search", "folder in /data/d6")


def _cifar_python(folder: Path, per_batch: int = 10) -> None:
    """A whole (tiny) python version of CIFAR-10 in ``folder``: five training batches and a test batch."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        (folder / name).write_bytes(pickle.dumps({b"data": x, b"labels": [i % 10 for i in range(per_batch)]},
                                                 protocol=2))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_cifar_partial_binary_folder_beside_a_whole_python_version(tmp_path: Path) -> None:
    from nasforge.data import load_dataset

    _cifar_python(tmp_path / "cifar-10-batches-py")
    (tmp_path / "cifar-10-batches-bin").mkdir()
    (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").write_bytes(bytes(3073 * 3))  # an interrupted extraction
    data = load_dataset("cifar10", tmp_path)  # the whole python version, not the partial binary one
    assert (len(data.x_train) + len(data.x_val), len(data.x_test)) == (50, 10)
    (tmp_path / "cifar-10-batches-py" / "data_batch_5").unlink()  # neither whole: the binary one, refused as before
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-bin/data_batch_1.bin' is missing"):
        load_dataset("cifar10", tmp_path)


def test_class_folder_named_train_refusal_says_how_to_rename_it(tmp_path: Path) -> None:
    from nasforge.data import load_dataset

    data = _folder(tmp_path / "d", classes=("bus", "car", "train"), per_class=4)
    with pytest.raises(FileNotFoundError, match=r"a folder named train/ is read as the training split: if train/ is a "
                                                r"class beside bus/, car/, rename it Train/"):
        load_dataset("folder", data)
    (data / "train").rename(data / "Train")
    assert load_dataset("folder", data).class_names == ("Train", "bus", "car")


def test_a_worker_on_another_machine_reads_its_own_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Would fail (regression review i): a Ray worker on another machine, whose identical copy has other inodes,
    was refused as 'files changed'; the pinned stamp holds on the machine it was taken on only."""
    data = _folder(tmp_path / "d")
    payload = pickle.dumps(TrainingEvaluator("folder", data_dir=data, C=4, N=1))
    _folder(data, classes=("c",))  # this machine's files differ from the sender's now
    monkeypatch.setattr(training, "_host", lambda: "another-machine")
    assert _worker_copy(payload, monkeypatch).dataset().num_classes == 3


def test_pinning_at_sending_prints_no_folder_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Would fail: the stamp taken at pickling ran the folder checks, so their warnings printed once more."""
    import warnings

    from nasforge.data import sources

    def warning_stamp(name, data_dir):
        warnings.warn("a folder warning")
        return "stamp"

    monkeypatch.setattr(sources, "files_stamp", warning_stamp)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.dumps(TrainingEvaluator("folder", data_dir=_folder(tmp_path / "d"), C=4, N=1))


def test_a_real_split_layout_gets_no_rename_hint(tmp_path: Path) -> None:
    """Would fail: train/ + test/ with the same classes beside another folder was told to rename train/ to Train/."""
    from nasforge.data.sources import split_folders

    for split in ("train", "test"):
        _folder(tmp_path / split)
    (tmp_path / "unlabeled").mkdir()
    with pytest.raises(UsageError) as refused:
        split_folders(tmp_path)
    assert "unlabeled" in str(refused.value) and "rename it Train/" not in str(refused.value)
