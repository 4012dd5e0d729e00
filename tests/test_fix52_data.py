"""Review 52 (data): class folders alike but for their Unicode form, run files written into the data, a resume
whose data moved, and digits-hard without the supernet evaluator."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest

from nasforge.data import load_dataset
from nasforge.exceptions import UsageError

NFC, NFD = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")


def _folder(root: Path, names: tuple[str, ...] = ("a", "b"), per_class: int = 6) -> Path:
    """One class folder of 8x8 grayscale PNGs per name."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in names:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


def test_class_folders_alike_but_for_unicode_form_are_refused(tmp_path: Path) -> None:
    root = _folder(tmp_path / "nf", (NFD, NFC, "dog"))
    with pytest.raises(UsageError) as info:
        load_dataset("folder", root)
    message = str(info.value)
    assert "\n" not in message and ascii(NFD) in message and ascii(NFC) in message and "Unicode form" in message


def test_split_class_alike_but_for_unicode_form_says_so(tmp_path: Path) -> None:
    _folder(tmp_path / "sp" / "train", (NFC, "dog"))
    _folder(tmp_path / "sp" / "test", (NFD, "dog"))
    with pytest.raises(UsageError, match="that the training split lacks") as info:
        load_dataset("folder", tmp_path / "sp")
    assert f"{ascii(NFD)} differs from training class {ascii(NFC)} only in Unicode form" in str(info.value)


def test_accented_class_names_load_as_before(tmp_path: Path) -> None:
    data = load_dataset("folder", _folder(tmp_path / "ok", (NFD, "dog", "été")))
    assert data.class_names == tuple(sorted((NFD, "dog", "été")))
