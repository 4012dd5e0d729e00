"""Review 42 c, items 2-4: an evaluator trains every trial on the data it first read; the stamp covers only the
files the loader reads; a Netpbm file beside the class folders is skipped as before."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from test_fix42_data import _folder

from nasforge.data import load_dataset
from nasforge.data.sources import files_stamp
from nasforge.evaluators import TrainingEvaluator, training
from nasforge.exceptions import UsageError


def _count(data: object) -> int:
    return len(data.y_train) + len(data.y_val) + len(data.y_test)


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "_DATA_CACHE", {})


def test_one_evaluator_keeps_its_data_after_an_edit(tmp_path: Path) -> None:
    root = _folder(tmp_path / "imgs")
    evaluator = TrainingEvaluator("folder", data_dir=root)
    first = evaluator.dataset()
    _folder(root, per_class=2, start=30)  # images added mid-run
    assert evaluator.dataset() is first and _count(first) == 12
    assert _count(TrainingEvaluator("folder", data_dir=root).dataset()) == 16  # a new evaluator: the edited files
    assert evaluator.dataset() is first  # still its own data, though the process now holds the new one


def test_evaluator_sent_to_a_worker_keeps_its_stamp_not_its_data(tmp_path: Path) -> None:
    root = _folder(tmp_path / "imgs")
    evaluator = TrainingEvaluator("folder", data_dir=root)
    first = evaluator.dataset()
    sent = pickle.dumps(evaluator)
    assert len(sent) < 20_000  # no tensors travel
    assert pickle.loads(sent).dataset() is first  # a forked worker: the process's copy, not read again
    training._DATA_CACHE.clear()  # a worker that did not inherit the data reads the unchanged files
    assert _count(pickle.loads(sent).dataset()) == 12
    training._DATA_CACHE.clear()
    _folder(root, per_class=1, start=40)
    with pytest.raises(UsageError, match="its files changed after this evaluator first read them"):
        pickle.loads(sent).dataset()


def test_search_retrains_on_the_data_the_search_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nasforge.pipelines.search import SearchConfig, run_search

    root = _folder(tmp_path / "imgs", per_class=8)
    seen: list[tuple[bool, int]] = []
    build = TrainingEvaluator.build

    def counting(self: TrainingEvaluator, arch: object, fidelity: object = None) -> tuple:
        out = build(self, arch, fidelity)
        seen.append((self.merge_val, _count(out[1])))
        if len(seen) == 1:
            _folder(root, per_class=1, start=50)  # edited after the first trial
        return out

    monkeypatch.setattr(TrainingEvaluator, "build", counting)
    run_search(SearchConfig(data="folder", data_dir=str(root), trials=3, search_epochs=1, final_epochs=1,
                            retrain=1, workers=1, out=str(tmp_path / "run")), progress=False)
    assert seen and all(count == 16 for _, count in seen) and any(merge for merge, _ in seen), seen


@pytest.mark.parametrize("touch", ["readme", "hidden", "folder_mtime", "notebook", "swap"])
def test_stamp_ignores_files_the_loader_does_not_read(tmp_path: Path, touch: str) -> None:
    root = _folder(tmp_path / "imgs")
    stamp = files_stamp("folder", root)
    if touch == "readme":
        (root / "README").write_text("about")
    elif touch == "hidden":
        (root / ".cache").mkdir()
        (root / "a" / ".DS_Store").write_bytes(b"x")
    elif touch == "folder_mtime":
        os.utime(root / "a", ns=(1, 1))
    elif touch == "notebook":
        (root / "a" / ".ipynb_checkpoints").mkdir()
        (root / "a" / ".ipynb_checkpoints" / "x.png").write_bytes(b"x")
    else:
        (root / "b" / "Thumbs.db").write_bytes(b"x")
    assert files_stamp("folder", root) == stamp


@pytest.mark.parametrize("where", ["class", "split"])
def test_stamp_sees_every_image_the_loader_reads(tmp_path: Path, where: str) -> None:
    if where == "class":
        root = _folder(tmp_path / "imgs")
        target = root / "a" / "deep" / "x.png"
    else:
        root = tmp_path / "imgs"
        _folder(root / "train")
        _folder(root / "test", per_class=2)
        target = root / "test" / "b" / "new.png"
    stamp = files_stamp("folder", root)
    target.parent.mkdir(exist_ok=True)
    target.write_bytes((root / ("a" if where == "class" else "train/a") / "0.png").read_bytes())
    assert files_stamp("folder", root) != stamp
    assert "x.png" in str(target) or where == "split"


def test_stamp_of_cifar_covers_only_its_batch_files(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(b"x")
    stamp = files_stamp("cifar10", tmp_path)
    (folder / "readme.html").write_text("about")
    assert files_stamp("cifar10", tmp_path) == stamp
    (folder / "data_batch_3").write_bytes(b"xy")
    assert files_stamp("cifar10", tmp_path) != stamp


@pytest.mark.parametrize("place", ["root", "train"])
@pytest.mark.parametrize("suffix", [".pgm", ".ppm", ".pbm", ".pnm"])
def test_netpbm_file_beside_class_folders_is_skipped_as_before(tmp_path: Path, place: str, suffix: str) -> None:
    root = tmp_path / "imgs"
    if place == "root":
        _folder(root)
        loose = root / f"preview{suffix}"
    else:
        _folder(root / "train")
        _folder(root / "test", per_class=2)
        loose = root / "train" / f"x{suffix}"
    loose.write_bytes(b"P5 1 1 255\n\0")
    data = load_dataset("folder", root)
    assert _count(data) == (12 if place == "root" else 16)
    with pytest.raises(UsageError, match="outside any class folder"):  # an image of the old suffixes is refused
        loose.with_suffix(".png").write_bytes(b"x")
        load_dataset("folder", root)
