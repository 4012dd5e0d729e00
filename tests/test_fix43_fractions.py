"""load_dataset's split fractions: honoured for digits, refused where the files hold the split themselves."""
import numpy as np
import pytest

from nasforge.data import load_dataset
from nasforge.exceptions import UsageError


def test_digits_honours_given_fractions_and_keeps_its_default_split():
    assert [len(s) for s in (load_dataset("digits").y_train, load_dataset("digits").y_val)] == [1079, 359]
    data = load_dataset("digits", val_fraction=0.5, test_fraction=0.1)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (719, 898, 180)


def _npz(tmp_path, **arrays):
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    return path


def test_npz_fraction_for_a_held_split_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.random((60, 8, 8)).astype(np.float32), np.arange(60) % 3
    path = _npz(tmp_path, x=x, y=y, x_test=x[:9], y_test=y[:9])
    with pytest.raises(UsageError, match=r"test_fraction=0.3 does not apply .*'x_test'"):
        load_dataset("npz", path, test_fraction=0.3)
    data = load_dataset("npz", path, val_fraction=0.5)  # the drawn split still follows its fraction
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (30, 30, 9)


def test_folder_with_val_folder_refuses_val_fraction(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    for split in ("train", "val", "test"):
        for label in ("a", "b"):
            folder = tmp_path / "imgs" / split / label
            folder.mkdir(parents=True)
            for i in range(3):
                Image.fromarray(np.full((4, 4), 40 * i, np.uint8)).save(folder / f"{i}.png")
    with pytest.raises(UsageError, match="val_fraction=0.2 does not apply .*val/ holds its validation"):
        load_dataset("folder", tmp_path / "imgs", val_fraction=0.2)
    assert len(load_dataset("folder", tmp_path / "imgs").y_val) == 6


def test_cifar_fraction_on_a_folder_without_batches_says_the_batches_are_missing(tmp_path):
    """Regression: the test_fraction refusal blamed 'its own test batch' in a folder that holds none."""
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 batches in"):
        load_dataset("cifar10", tmp_path, test_fraction=0.2)
    (tmp_path / "cifar-10-batches-bin").mkdir()
    (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").write_bytes(b"")
    with pytest.raises(UsageError, match="test_fraction=0.2 does not apply .*its own test batch"):
        load_dataset("cifar10", tmp_path, test_fraction=0.2)
