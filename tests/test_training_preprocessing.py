"""A data set records how raw images became its tensors, so a saved network can be fed new images."""

import numpy as np
import pytest
import torch

from nasforge.data import from_arrays, load_dataset, split_indices


def test_digits_preprocessing_reproduces_the_tensors_from_raw_pixels():
    from sklearn.datasets import load_digits

    data = load_dataset("digits")
    pre = data.preprocessing()
    assert pre["input_shape"] == [1, 8, 8] and pre["class_names"] == [str(i) for i in range(10)]
    raw = load_digits().images.astype(np.float32)  # pixels 0..16
    x = (torch.from_numpy(raw[:, None]) * pre["scale"] - pre["mean"][0]) / pre["std"][0]
    _, _, test = split_indices(len(raw), 0.2, 0.2, seed=0)  # the digits split
    assert torch.allclose(x[test], data.x_test, atol=1e-5)

def test_uint8_images_are_scaled_and_class_names_checked():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(30, 6, 6, 3), dtype=np.uint8)
    labels = np.arange(30) % 3
    data = from_arrays("rgb", (images[:20], labels[:20]), (images[20:25], labels[20:25]), (images[25:], labels[25:]),
                       class_names=["a", "b", "c"])
    pre = data.preprocessing()
    assert pre["scale"] == 1 / 255 and len(pre["mean"]) == 3 and pre["class_names"] == ["a", "b", "c"]
    expected = (torch.from_numpy(images[:20].transpose(0, 3, 1, 2).astype(np.float32)) / 255
                - torch.tensor(pre["mean"]).view(1, 3, 1, 1)) / torch.tensor(pre["std"]).view(1, 3, 1, 1)
    assert torch.allclose(data.x_train, expected, atol=1e-5)
    try:
        from_arrays("rgb", (images[:20], labels[:20]), (images[20:25], labels[20:25]), (images[25:], labels[25:]),
                    class_names=["a", "b"])
    except ValueError as exc:
        assert "2 class names for 3 classes" in str(exc)
    else:
        raise AssertionError("a wrong number of class names was accepted")


def test_splits_with_uint8_and_float_images_are_refused():
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, size=(30, 6, 6), dtype=np.uint8), np.arange(30) % 3
    test = (images[25:].astype(np.float32) / 255, labels[25:])  # already in 0..1: dividing by 255 again is wrong
    with pytest.raises(ValueError, match="'mixed': train images are uint8 .* but test images are float32"):
        from_arrays("mixed", (images[:20], labels[:20]), (images[20:25], labels[20:25]), test)
    data = from_arrays("given", (images[:20], labels[:20]), (images[20:25], labels[20:25]), test, scale=1.0)
    assert data.scale == 1.0  # an explicit scale is the caller's choice


def test_labels_must_be_0_to_k_minus_1_with_every_class_in_training():
    x, y = np.zeros((40, 4, 4), dtype=np.float32), np.arange(40) % 3

    def build(train_y, test_y=y[30:], num_classes=None):
        return from_arrays("labels", (x[:25], train_y), (x[25:30], y[25:30]), (x[30:], test_y), num_classes)

    with pytest.raises(ValueError, match=r"labels reach 3 .* none of 0 \(1 of 4 missing\)"):
        build(y[:25] + 1, y[30:] + 1)  # 1-based
    with pytest.raises(ValueError, match=r"labels reach 25 .* none of 0, 1, 2, 3, 4, \.\.\. \(23 of 26 missing\)"):
        build(y[:25] * 10 + 5, y[30:] * 10 + 5)
    with pytest.raises(ValueError, match=r"labels reach 3 .* none of 3 \(1 of 4 missing\)"):
        build(y[:25], np.full(10, 3))  # a class only the test split has
    with pytest.raises(ValueError, match="train labels must be >= 0, found -1"):
        build(y[:25] - 1)
    assert build(np.zeros(25, dtype=np.int64), num_classes=3).num_classes == 3  # the caller knows the classes
    assert build(y[:25], np.zeros(10, dtype=np.int64)).num_classes == 3  # a small split may miss a class


@pytest.mark.parametrize("shape, expected", [((5, 4, 4, 3), (3, 4, 4)), ((5, 4, 4, 1), (1, 4, 4)),
                                             ((5, 3, 4, 4), (3, 4, 4)), ((5, 8, 8, 3), (3, 8, 8)),
                                             ((5, 3, 8, 8), (3, 8, 8)), ((5, 3, 3, 3), (3, 3, 3))])
def test_tiny_channels_last_images_are_not_read_as_channels_first(shape, expected):
    x, y = np.zeros(shape, dtype=np.uint8), np.arange(5) % 2
    assert tuple(from_arrays("tiny", (x, y), (x, y), (x, y)).x_train.shape[1:]) == expected


@pytest.mark.parametrize("name", ["digits", "digits-hard"])
def test_the_study_digits_preprocessing_reads_raw_digit_pixels(name):
    from sklearn.datasets import load_digits

    from nasforge.oneshot.study import study_data

    data = study_data(name, val_fraction=0.4, test_fraction=0.1, seed=0)
    pre = data.preprocessing()
    assert data.name == name and pre["scale"] == 1 / 16 and pre["class_names"] == [str(i) for i in range(10)]
    raw = torch.from_numpy(load_digits().images.astype(np.float32)[:, None])  # pixels 0..16
    x = (raw * pre["scale"] - pre["mean"][0]) / pre["std"][0]
    train, _, _ = split_indices(len(raw), 0.4, 0.1, seed=0)
    diff = (x[train] - data.x_train) * pre["std"][0]  # in 0..1 pixel units: none, or the fixed noise of std 0.5
    assert float(diff.abs().max()) < 1e-5 if name == "digits" else abs(float(diff.std()) - 0.5) < 0.01


def test_the_preprocessing_records_how_images_were_resized(tmp_path):
    """A user resizing raw images otherwise (bilinear for a folder's bicubic) got other inputs, unknowingly."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i, side in enumerate((6, 9, 6, 9, 6)):
            pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / cls / f"{i}.png")
    data = load_dataset("folder", tmp_path / "imgs", val_fraction=0.2, test_fraction=0.2)
    folder_step = {"to": [6, 6], "method": "bicubic", "by": "PIL.Image.Image.resize", "on": "raw pixels"}
    assert data.preprocessing()["resize"] == [folder_step] and "resize steps" in data.preprocessing()["formula"]
    big = Image.open(tmp_path / "imgs" / "a" / "1.png").convert("RGB")  # a 9x9 image, read as the folder reads it
    raw = np.asarray(big.resize((6, 6), Image.Resampling.BICUBIC), dtype=np.float32).transpose(2, 0, 1)
    pre = data.preprocessing()
    x = (torch.from_numpy(raw) * pre["scale"] - torch.tensor(pre["mean"]).view(3, 1, 1)) / torch.tensor(
        pre["std"]).view(3, 1, 1)
    every = torch.cat([data.x_train, data.x_val, data.x_test])
    assert any(torch.allclose(x, image, atol=1e-5) for image in every)
    steps = data.resized(12).preprocessing()["resize"]
    assert steps[0] == folder_step and steps[1]["to"] == [12, 12] and steps[1]["method"].startswith("bilinear")
    assert load_dataset("digits").preprocessing()["resize"] == []
    for cls in ("a", "b"):  # every image 6x6: none is resized
        (tmp_path / "same" / cls).mkdir(parents=True)
        for i in range(5):
            pixels = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "same" / cls / f"{i}.png")
    assert load_dataset("folder", tmp_path / "same").preprocessing()["resize"] == []
