"""Review 42 c, items 5 and 7: a model space's shape read shares the evaluators' copy of the data (its warnings are
given once); the blank-images warning gives the stored pixel value and names the user's call."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from nasforge.evaluators import TrainingEvaluator, training
from nasforge.evaluators.training import shared_dataset


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "_DATA_CACHE", {})


def _folder(root: Path, value: int | None = None) -> Path:
    """Two class folders of 8x8 RGBA PNGs with transparent pixels (all of ``value`` if given)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
            if value is not None:
                pixels[..., :3] = value
            pixels[0, 0, 3] = 0
            Image.fromarray(pixels, "RGBA").save(root / name / f"{i}.png")
    return root


def test_model_space_shape_read_is_shared_and_warns_once(tmp_path: Path) -> None:
    from argparse import Namespace

    from nasforge.spaces.model_space import space_for_module

    root = _folder(tmp_path / "imgs")
    example = Path(__file__).resolve().parents[1] / "examples" / "digits_cnn.py"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        space_for_module(f"{example}:DigitsCNN", None, Namespace(data="folder", data_dir=str(root), seed=0))
        data = TrainingEvaluator("folder", data_dir=root).dataset()
    said = [w for w in caught if "transparent pixels" in str(w.message)]
    assert len(said) == 1
    assert data.x_train.data_ptr() == shared_dataset("folder", root, augment="none").x_train.data_ptr()


def test_blank_images_warning_gives_the_stored_value_at_the_callers_line(tmp_path: Path) -> None:
    from nasforge.data import load_dataset

    root = _folder(tmp_path / "blank", value=128)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_dataset("folder", root)
    blank = [w for w in caught if "blank" in str(w.message) and "value" in str(w.message)]
    assert len(blank) == 1 and "every pixel has the value 128)" in str(blank[0].message)
    assert blank[0].filename == __file__
