"""Review 39 (training, search, data): an output folder inside the data is refused before any work, one torch
thread per worker by default, a random split that leaves a class out of training says so and what to do,
summary.json keeps its best_* keys (null) when nothing is retrained, and CIFAR-100's optional meta file
(str keys, or unusable) does not stop the data set."""

import json
import pickle
import re

import numpy as np
import pytest

from nasforge.cli import main
from nasforge.data import load_dataset
from nasforge.evaluators import TrainingEvaluator
from nasforge.exceptions import UsageError
from nasforge.pipelines.search import SearchConfig, run_search


def _image_folder(root, counts):
    """Class folders of tiny 8x8 PNGs: ``counts`` maps a class name to its number of images."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, n in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*"))


@pytest.mark.parametrize("out", [".", "cat/run"])
def test_search_out_in_the_image_folder_is_refused_before_any_work(tmp_path, capsys, out):
    data = _image_folder(tmp_path / "f", {"cat": 5, "dog": 5})
    before = _files(data)
    args = ["search", "--data", "folder", "--data-dir", str(data), "--trials", "2", "--retrain", "0",
            "--search-epochs", "1", "--workers", "1", "--no-progress"]
    assert main([*args, "--out", str(data / out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--out" in err and f"folder {str(data)!r} that data set 'folder'" in err
    assert _files(data) == before  # nothing written into the data


def test_default_out_in_the_image_folder_and_save_dir_in_it_are_refused(tmp_path, monkeypatch):
    data = _image_folder(tmp_path / "f", {"cat": 5, "dog": 5})
    monkeypatch.chdir(data / "cat")  # the default out, ./nasforge-runs/<name>, would land in a class folder
    with pytest.raises(UsageError, match=r"the default out 'nasforge-runs' is inside the folder"):
        SearchConfig(data="folder", data_dir=str(data)).validate()
    with pytest.raises(UsageError, match=r"save_dir '\.\./models' is inside the folder"):
        TrainingEvaluator("folder", data_dir="..", save_dir="../models")
    TrainingEvaluator("folder", data_dir=str(data), save_dir=str(tmp_path / "models"))  # beside it: fine


def test_out_in_a_cifar_folder_or_beside_an_npz_file_is_fine(tmp_path):
    """CIFAR reads its fixed batch file names only, so a run folder inside its folder breaks nothing (and old
    jobs stored that way still resume); only image folders, which read every file, refuse it."""
    batches = tmp_path / "c" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    SearchConfig(data="cifar10", data_dir=str(tmp_path / "c"), out=str(batches / "run")).validate()
    SearchConfig(data="cifar10", data_dir=str(batches), out=str(batches / "run")).validate()
    TrainingEvaluator("cifar10", data_dir=str(batches), save_dir=str(batches / "models"))
    np.savez(tmp_path / "d.npz", x=np.zeros((10, 4, 4)), y=np.arange(10) % 2)
    SearchConfig(data="npz", data_dir=str(tmp_path / "d.npz"), out=str(tmp_path)).validate()


def test_search_threads_default_to_one_per_worker(tmp_path, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    for workers in (1, 2):
        assert SearchConfig(out=str(tmp_path), workers=workers).resolved().threads == 1
    assert SearchConfig(out=str(tmp_path), threads=3).resolved().threads == 3


def _failing_seeds(load, seeds=range(12)):
    """The messages of the seeds whose random split ``load(seed)`` refuses."""
    messages = {}
    for seed in seeds:
        try:
            load(seed)
        except UsageError as exc:
            messages[seed] = str(exc)
    return messages


def test_a_random_split_that_leaves_a_class_out_names_the_split_and_the_way_out(tmp_path):
    data = _image_folder(tmp_path / "rare", {"a": 20, "b": 1})
    messages = _failing_seeds(lambda seed: load_dataset("folder", data, seed=seed))
    assert messages and len(messages) < 12  # some seeds keep 'b' in training, some do not
    for seed, message in messages.items():
        assert message == (f"data set 'rare': the random split (seed {seed}) left class 'b' (1 image) without "
                           "training images (all drawn into validation or test): give that class more images, or "
                           "pick another seed (--seed)")
    np.savez(tmp_path / "rare.npz", x=np.zeros((21, 4, 4), dtype=np.uint8), y=np.array([0] * 20 + [1]))
    messages = _failing_seeds(lambda seed: load_dataset("npz", tmp_path / "rare.npz", seed=seed))
    assert messages and all("left class 1 (1 image) without training images" in m for m in messages.values())
    np.savez(tmp_path / "gap.npz", x=np.zeros((20, 4, 4), dtype=np.uint8), y=np.arange(20) % 2 * 2)
    with pytest.raises(UsageError, match=r"labels must be 0..K-1 .* none of 1 "):  # a label gap is no split's doing
        load_dataset("npz", tmp_path / "gap.npz")


def test_summary_keeps_the_best_keys_null_without_retraining(tmp_path):
    config = SearchConfig(trials=2, retrain=0, search_epochs=1, workers=1, threads=1, out=str(tmp_path / "run"))
    summary = run_search(config)
    keys = ("best_test_acc", "best_arch", "best_network", "best_trial", "best_selected_by", "best_model_dir",
            "retrained_param_range")
    assert all(summary[key] is None for key in keys)
    stored = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert all(stored[key] is None for key in keys) and stored["retrain_seconds"] is None
    print(summary["best_test_acc"], summary["best_model_dir"])  # docs/training.md's example


def _cifar100(folder, meta):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in (("train", 300), ("test", 20)):
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"fine_labels": (np.arange(n) % 100).tolist()}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "meta").write_bytes(meta)


def test_cifar100_meta_with_str_keys_gives_names_and_an_unusable_one_only_a_warning(tmp_path):
    names = [f"n{i}" for i in range(100)]
    _cifar100(tmp_path / "py3" / "cifar-100-python", pickle.dumps({"fine_label_names": names}))
    assert load_dataset("cifar100", tmp_path / "py3").class_names[:2] == ("n0", "n1")
    for i, (meta, problem) in enumerate(((b"junk", "no readable pickle"),
                                         (pickle.dumps({"coarse_label_names": names[:20]}),
                                          "no fine_label_names entry (its keys: 'coarse_label_names')"),
                                         (pickle.dumps({b"fine_label_names": names[:3]}), "not a list of 100"),
                                         (pickle.dumps([1, 2]), "holds a list, not a dict"))):
        _cifar100(tmp_path / str(i) / "cifar-100-python", meta)
        with pytest.warns(UserWarning, match=f"{re.escape(problem)}.*classes are named by their labels 0..99"):
            data = load_dataset("cifar100", tmp_path / str(i))
        assert data.class_names is None and data.num_classes == 100

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    _cifar100(tmp_path / "evil" / "cifar-100-python", pickle.dumps({"fine_label_names": Evil()}))
    with pytest.raises(UsageError, match=r"not a CIFAR-100 meta file: refusing to load [\w.]*print"):
        load_dataset("cifar100", tmp_path / "evil")
