"""CIFAR: a test batch is said to be held exactly where load_cifar reads one (one lookup shared by both)."""

from __future__ import annotations

import pytest

from nasforge.data import load_dataset
from nasforge.data.sources import stored_splits
from nasforge.exceptions import UsageError

HELD = {"test": "its own test batch"}


@pytest.mark.parametrize("name, files, held", [
    ("cifar10", ["cifar-10-batches-bin/test_batch.bin"], HELD),
    ("cifar10", ["test_batch.bin"], HELD),
    ("cifar10", ["cifar-10-batches-py/test_batch"], HELD),
    ("cifar10", ["test_batch"], HELD),
    ("cifar100", ["cifar-100-binary/test.bin"], HELD),
    ("cifar100", ["cifar-100-python/test"], HELD),
    ("cifar10", ["cifar-10-batches-py/data_batch_1"], {}),
    ("cifar10", ["cifar-10-batches-py/data_batch_1", "test_batch"], {}),  # load_cifar reads the folder only
    ("cifar100", ["cifar-10-batches-py/test_batch"], {}),
])
def test_stored_splits_follows_the_folder_load_cifar_reads(tmp_path, name, files, held):
    for file in files:
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_bytes(b"")
    assert stored_splits(name, tmp_path) == held


def test_a_test_fraction_beside_an_unread_test_batch_says_the_batches_are_missing(tmp_path):
    """Would fail: 'test_fraction=0.3 does not apply ... leave test_fraction out' for a test batch beside a
    cifar-10-batches-py/ folder that load_cifar does not read (it reads the folder, which lacks one): left out,
    loading then said the batches are missing."""
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "test_batch").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 batches"):
        load_dataset("cifar10", tmp_path, test_fraction=0.3)
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 batches"):
        load_dataset("cifar10", tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"")
    with pytest.raises(UsageError, match="does not apply .* its own test batch holds its test split"):
        load_dataset("cifar10", tmp_path, test_fraction=0.3)
