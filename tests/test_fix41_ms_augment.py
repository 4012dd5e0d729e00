"""Crop padding per axis (review ms41 item 2): square images augment bit for bit as before."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch.nn import functional as F  # noqa: E402

from nasforge.data.augment import augment_batch, crop_padding  # noqa: E402


def _old_augment(x: torch.Tensor, kind: str, generator: torch.Generator) -> torch.Tensor:
    """The augmentation before the fix: the width's padding on all four sides, flips on any input."""
    padding = max(1, x.shape[-1] // 8)
    n, _, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding)).permute(0, 2, 3, 1)
    dy = torch.randint(0, 2 * padding + 1, (n, 1, 1), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n, 1, 1), generator=generator)
    rows = dy + torch.arange(h).view(1, h, 1)
    cols = dx + torch.arange(w).view(1, 1, w)
    x = padded[torch.arange(n).view(n, 1, 1), rows, cols].permute(0, 3, 1, 2).contiguous()
    if kind == "crop_flip":
        flip = torch.rand(x.shape[0], generator=generator) < 0.5
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    return x


@pytest.mark.parametrize("kind", ["crop", "crop_flip"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32), (1, 16, 16)])
def test_square_images_augment_exactly_as_before(kind: str, shape: tuple[int, ...]) -> None:
    x = torch.randn(64, *shape, generator=torch.Generator().manual_seed(1))
    new = augment_batch(x, kind, torch.Generator().manual_seed(7))
    old = _old_augment(x, kind, torch.Generator().manual_seed(7))
    assert torch.equal(new, old)


def test_each_axis_is_padded_by_an_eighth_of_its_own_length() -> None:
    assert crop_padding(8, 64) == (1, 8) and crop_padding(64, 8) == (8, 1) and crop_padding(1, 30) == (0, 3)
    x = torch.ones(500, 1, 8, 64)
    out = augment_batch(x, "crop", torch.Generator().manual_seed(0))
    assert float((out == 0).float().mean()) < 0.25  # was 56% with the width's padding on the height


def test_a_one_pixel_high_row_is_neither_shifted_vertically_nor_mirrored() -> None:
    x = torch.arange(1, 31, dtype=torch.float32).repeat(1000, 1).view(1000, 1, 1, 30)
    cropped = augment_batch(x, "crop", torch.Generator().manual_seed(0))
    assert bool((cropped != 0).any(dim=-1).all())  # no row is all zeros (834 of 1000 were)
    assert torch.equal(augment_batch(x, "crop_flip", torch.Generator().manual_seed(0)), cropped)  # no flip
    ascending = (cropped[..., 1:] - cropped[..., :-1])[(cropped[..., 1:] != 0) & (cropped[..., :-1] != 0)]
    assert bool((ascending == 1).all())  # features keep their order: shifted, never reversed


def test_one_pixel_high_inputs_with_the_default_augmentation_warn_to_pass_none():
    """Would fail: tabular features held as (1, 1, F) trained with crop_flip, shifted sideways, without a word."""
    import warnings

    import numpy as np

    from nasforge.data.dataset import from_arrays

    x = np.random.default_rng(0).normal(size=(60, 1, 1, 30)).astype("float32")
    y = np.arange(60) % 2
    splits = ((x[:40], y[:40]), (x[40:50], y[40:50]), (x[50:], y[50:]))
    with pytest.warns(UserWarning, match=r"one-pixel-high inputs \(1, 1, 30\).*--augment none"):
        from_arrays("t", *splits)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_arrays("t", *splits, augment="none")  # chosen: no warning
        from_arrays("t", *(((np.repeat(a, 8, axis=2)), b) for a, b in splits))  # 8 rows: an image, no warning


def test_reading_the_data_for_a_model_spaces_shape_does_not_warn(tmp_path):
    """Would fail: --space-module read the data for its input shape at the default augmentation, so the tabular
    warning fired even with --augment none (and twice without it)."""
    import warnings
    from pathlib import Path
    from types import SimpleNamespace

    import numpy as np

    from nasforge.spaces.model_space import space_for_module

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "t.npz", x=rng.normal(size=(80, 1, 1, 30)).astype("float32"), y=np.arange(80) % 2)
    example = Path(__file__).resolve().parents[1] / "examples" / "tabular_mlp.py"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        space = space_for_module(f"{example}:TabularMLP", None,
                                 SimpleNamespace(data="npz", data_dir=str(tmp_path / "t.npz"), seed=0))
    assert space.input_shape == (1, 1, 30)
