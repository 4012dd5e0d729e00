"""Data sets: embedded digits, CIFAR python batches, NPZ, image folders, augmentation."""

import pickle
import warnings
from dataclasses import replace

import numpy as np
import pytest
import torch

from nasforge.data import augment_batch, from_arrays, load_dataset, random_crop, random_flip, sources, split_indices
from nasforge.exceptions import UsageError


def test_digits_split_is_fixed_seeded_and_normalized():
    a, b = load_dataset("digits"), load_dataset("digits")
    assert (len(a.y_train), len(a.y_val), len(a.y_test)) == (1079, 359, 359)
    assert a.x_train.shape[1:] == (1, 8, 8) and a.num_classes == 10 and a.augment == "crop"
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_train, b.y_train)
    assert abs(float(a.x_train.mean())) < 1e-5 and abs(float(a.x_train.std()) - 1) < 1e-3
    assert not torch.equal(load_dataset("digits", seed=1).y_test, a.y_test)


def test_split_indices_partition_and_reject_bad_fractions():
    tr, va, te = split_indices(100, 0.1, 0.2, seed=3)
    assert (len(tr), len(va), len(te)) == (70, 10, 20)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(100))
    with pytest.raises(ValueError, match="sum < 1"):
        split_indices(10, 0.5, 0.5, seed=0)


def test_subset_and_resize():
    data = load_dataset("digits")
    half = data.subset(0.5, seed=0)
    assert len(half.y_train) == 540 and len(half.y_val) == len(data.y_val)
    assert torch.equal(half.y_train, data.subset(0.5, seed=0).y_train)
    assert data.resized(16).x_test.shape[1:] == (1, 16, 16)
    with pytest.raises(ValueError, match="fraction must be in"):
        data.subset(0.0)


def _write_cifar(folder, n_train=20, n_test=10, classes=10, protocol=pickle.DEFAULT_PROTOCOL):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        batch = {b"data": rng.integers(0, 256, (n_train, 3072), dtype=np.uint8),
                 b"labels": rng.integers(0, classes, n_train).tolist()}
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch, protocol=protocol))
    test = {b"data": rng.integers(0, 256, (n_test, 3072), dtype=np.uint8),
            b"labels": rng.integers(0, classes, n_test).tolist()}
    (folder / "test_batch").write_bytes(pickle.dumps(test, protocol=protocol))


def test_cifar10_from_python_batches(tmp_path):
    _write_cifar(tmp_path / "cifar-10-batches-py")
    data = load_dataset("cifar10", tmp_path)  # the parent folder works, and so does the batch folder itself
    assert data.x_train.shape[1:] == (3, 32, 32) and data.num_classes == 10
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (90, 10, 10)
    assert load_dataset("cifar10", tmp_path / "cifar-10-batches-py").augment == "crop_flip"


def test_cifar_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset("cifar10", tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 batches in .*binary version.*python version"):
        load_dataset("cifar10", tmp_path)
    _write_cifar(tmp_path / "c")
    (tmp_path / "c" / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="data_batch_3.*not a CIFAR python batch"):
        load_dataset("cifar10", tmp_path / "c")
    with pytest.raises(ValueError, match="needs a data directory"):
        load_dataset("cifar100")
    with pytest.raises(ValueError, match="unknown data set 'mnist'"):
        load_dataset("mnist", tmp_path)


def test_cifar_loader_refuses_code_in_pickles(tmp_path):
    _write_cifar(tmp_path / "c")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "c" / "test_batch").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(ValueError, match=r"refusing to load [\w.]*print: CIFAR batches hold only arrays"):
        load_dataset("cifar10", tmp_path / "c")


def test_npz_with_and_without_splits(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "pair.npz", x=rng.random((50, 6, 6)).astype(np.float32), y=rng.integers(0, 3, 50))
    data = load_dataset("npz", tmp_path / "pair.npz")
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (35, 5, 10) and data.in_channels == 1
    np.savez(tmp_path / "split.npz", x_train=rng.integers(0, 256, (20, 5, 5, 3), dtype=np.uint8),
             y_train=rng.integers(0, 4, 20), x_test=rng.integers(0, 256, (8, 5, 5, 3), dtype=np.uint8),
             y_test=rng.integers(0, 4, 8))
    split = load_dataset("npz", tmp_path / "split.npz")
    assert split.x_train.shape[1:] == (3, 5, 5) and len(split.y_test) == 8 and len(split.y_val) == 2
    np.savez(tmp_path / "bad.npz", images=np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match=r"\['images'\] that nasforge does not read; accepted: x_train"):
        load_dataset("npz", tmp_path / "bad.npz")
    np.savez(tmp_path / "floaty.npz", x=np.zeros((10, 2, 2)), y=np.zeros(10))
    with pytest.raises(UsageError, match=r"floaty.npz': labels 'y' must be integers, got dtype float64"):
        load_dataset("npz", tmp_path / "floaty.npz")


def test_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 2)):
        for cls in ("cat", "dog"):
            (tmp_path / "imgs" / split / cls).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (7, 7, 3), dtype=np.uint8)).save(
                    tmp_path / "imgs" / split / cls / f"{i}.png")
    data = load_dataset("folder", tmp_path / "imgs", val_fraction=0.25)
    assert data.num_classes == 2 and data.x_train.shape[1:] == (3, 7, 7)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (9, 3, 4)
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    (tmp_path / "empty" / "other").mkdir(parents=True)
    with pytest.raises(ValueError, match="no images"):
        load_dataset("folder", tmp_path / "empty")


def test_augmentation_is_seeded_and_shape_preserving():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    a = random_crop(x, 1, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, random_crop(x, 1, torch.Generator().manual_seed(0)))
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    windows = {(dy, dx): padded[:, :, dy:dy + 4, dx:dx + 4] for dy in range(3) for dx in range(3)}
    seen = set()
    for seed in range(30):  # every image is one of the 9 shifted windows of itself, and all 9 occur
        crop = random_crop(x, 1, torch.Generator().manual_seed(seed))
        for i in range(2):
            seen |= {k for k, w in windows.items() if torch.equal(crop[i], w[i])}
            assert any(torch.equal(crop[i], w[i]) for w in windows.values())
    assert len(seen) == 9
    flips = random_flip(x, torch.Generator().manual_seed(1))
    assert all(torch.equal(f, img) or torch.equal(f, img.flip(2)) for f, img in zip(flips, x))
    assert torch.equal(augment_batch(x, "none", torch.Generator()), x)
    with pytest.raises(ValueError, match="unknown augmentation 'rotate'"):
        augment_batch(x, "rotate", torch.Generator())


def test_non_finite_pixels_are_refused_naming_the_array(tmp_path):
    x = np.random.default_rng(0).random((20, 4, 4)).astype(np.float32)
    x[3, 1, 1], x[5, 0, 2] = np.nan, np.inf
    np.savez(tmp_path / "nan.npz", x=x, y=np.arange(20) % 2)
    with pytest.raises(ValueError, match=r"nan.npz', array 'x': 2 of its 320 values are NaN or infinite"):
        load_dataset("npz", tmp_path / "nan.npz")
    with pytest.raises(ValueError, match="val images: 1 of its 80 values are NaN or infinite"):
        from_arrays("t", (x[6:], np.arange(14) % 2), (x[:5], np.arange(5) % 2), (x[6:], np.arange(14) % 2))


def test_empty_splits_are_refused(tmp_path):
    x, y = np.zeros((30, 4, 4), dtype=np.uint8), np.arange(30) % 3
    np.savez(tmp_path / "empty_test.npz", x_train=x, y_train=y, x_test=x[:0], y_test=y[:0])
    with pytest.raises(ValueError, match=r"empty_test.npz', array 'x_test' holds no images \(shape \(0, 4, 4\)\)"):
        load_dataset("npz", tmp_path / "empty_test.npz")
    np.savez(tmp_path / "tiny.npz", x=x[:4], y=y[:4])  # 10% of 4 images rounds to no validation image
    with pytest.raises(ValueError, match="4 images are too few to split .*: a split would be empty"):
        load_dataset("npz", tmp_path / "tiny.npz")
    assert len(split_indices(4, 0.0, 0.5, seed=0)[1]) == 0  # an empty split asked for stays allowed


def _save_images(folder, names, rgb=True, size=6, seed=0):
    """One random RGB (or grayscale) PNG per name under ``folder``."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        pixels = rng.integers(0, 256, (size, size, 3) if rgb else (size, size), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name)


def test_every_split_of_an_image_folder_is_converted_by_one_rule(tmp_path):
    for split in ("train", "test"):  # a grayscale first training image, RGB and larger images after it
        _save_images(tmp_path / "s" / split / "a", ["0.png", "1.png", "2.png", "3.png"], rgb=False)
        _save_images(tmp_path / "s" / split / "b", ["0.png", "1.png", "2.png", "3.png"], size=9)
        _save_images(tmp_path / "flat" / "a", [f"{split}{i}.png" for i in range(5)], rgb=False)
        _save_images(tmp_path / "flat" / "b", [f"{split}{i}.png" for i in range(5)], size=9)
    split = load_dataset("folder", tmp_path / "s", val_fraction=0.25)
    flat = load_dataset("folder", tmp_path / "flat")
    assert split.x_train.shape[1:] == split.x_test.shape[1:] == flat.x_test.shape[1:] == (3, 6, 6)
    for cls in ("a", "b"):
        _save_images(tmp_path / "gray" / "train" / cls, ["0.png", "1.png", "2.png", "3.png"], rgb=False)
        _save_images(tmp_path / "gray" / "test" / cls, ["0.png"], rgb=False)
    assert load_dataset("folder", tmp_path / "gray", val_fraction=0.25).x_test.shape[1:] == (1, 6, 6)


def test_image_folder_skips_hidden_entries_reads_nested_images_and_refuses_bad_classes(tmp_path):
    root = tmp_path / "imgs"
    _save_images(root / "cat", ["0.png", "1.png", "2.png"])
    _save_images(root / "cat" / "nested" / "deeper", ["3.png", "4.png"])
    _save_images(root / "dog", ["0.png", "1.png", "2.png", "3.png", "4.png"])
    _save_images(root / "dog" / ".ipynb_checkpoints", ["0-checkpoint.png"])
    _save_images(root / ".ipynb_checkpoints", ["x.png"])
    (root / "cat" / "Thumbs.db").write_bytes(b"\xd0\xcf")  # OS files are skipped like hidden ones
    (root / "dog" / "nested").mkdir()
    (root / "dog" / "nested" / "desktop.ini").write_text("[.ShellClassInfo]")
    data = load_dataset("folder", root, val_fraction=0.2, test_fraction=0.2)
    assert data.class_names == ("cat", "dog") and len(data.y_train) + len(data.y_val) + len(data.y_test) == 10
    (root / "cat" / "nested" / "notes.txt").write_text("not an image")  # was skipped without a word
    with pytest.raises(ValueError, match=r"class folder '.*cat' holds 1 file\(s\) that are no image: nested/notes.txt "
                                         r"\(images end in \.png, .*; hidden files, Thumbs.db and desktop.ini are "
                                         r"skipped\)"):
        load_dataset("folder", root)
    (root / "cat" / "nested" / "notes.txt").unlink()
    (root / "emu").mkdir()
    with pytest.raises(ValueError, match=r"class folder '.*emu' holds no images"):
        load_dataset("folder", root)
    split = tmp_path / "split"
    for name in ("train", "test"):
        for cls in ("x", "y"):
            _save_images(split / name / cls, ["0.png", "1.png", "2.png", "3.png"])
    _save_images(split / "test" / "z_extra", ["0.png"])
    with pytest.raises(ValueError, match=r"test' has class folder\(s\) \['z_extra'\] that the training split lacks"):
        load_dataset("folder", split, val_fraction=0.25)


def test_a_corrupt_image_is_refused_naming_the_file(tmp_path):
    for cls in ("cat", "dog"):
        _save_images(tmp_path / "imgs" / cls, ["0.png", "1.png", "2.png", "3.png", "4.png"])
    (tmp_path / "imgs" / "cat" / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # hidden: skipped
    assert load_dataset("folder", tmp_path / "imgs", val_fraction=0.2, test_fraction=0.2).num_classes == 2
    (tmp_path / "imgs" / "cat" / "5.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"cannot read image '.*5.png'"):
        load_dataset("folder", tmp_path / "imgs")
    good = (tmp_path / "imgs" / "cat" / "0.png").read_bytes()
    (tmp_path / "imgs" / "cat" / "5.png").write_bytes(good[:len(good) // 2])  # truncated: fails on reading pixels
    with pytest.raises(ValueError, match=r"cannot read image '.*5.png'"):
        load_dataset("folder", tmp_path / "imgs")


def test_16_bit_grayscale_images_keep_their_depth(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (tmp_path / "deep" / cls).mkdir(parents=True)
        for i in range(5):
            pixels = rng.integers(0, 1500, (6, 6), dtype=np.uint16)  # dark 16-bit: well below 255 * 257
            Image.fromarray(pixels).save(tmp_path / "deep" / cls / f"{i}.png")
    assert Image.open(tmp_path / "deep" / "a" / "0.png").mode == "I;16"
    data = load_dataset("folder", tmp_path / "deep", val_fraction=0.2, test_fraction=0.2)
    assert data.scale == 1 / 65535 and data.in_channels == 1
    assert float(data.x_train.std()) > 0.5  # not saturated to one value (convert("L") made every pixel 255)
    _save_images(tmp_path / "deep" / "c", ["0.png"], rgb=False)
    with pytest.raises(ValueError, match=r"images mix 16-bit grayscale \('.*0.png'\) and 8-bit pixels \('.*c/0.png'\)"):
        load_dataset("folder", tmp_path / "deep")


def test_an_image_folder_given_as_dot_is_named_after_the_folder(tmp_path, monkeypatch):
    for cls in ("cat", "dog"):
        _save_images(tmp_path / "pets" / cls, ["0.png", "1.png", "2.png", "3.png", "4.png"])
    monkeypatch.chdir(tmp_path / "pets")
    assert load_dataset("folder", ".", val_fraction=0.2, test_fraction=0.2).name == "pets"


def test_npz_images_without_their_labels_are_refused(tmp_path):
    x, y = np.zeros((30, 4, 4), dtype=np.uint8), np.arange(30) % 3
    np.savez(tmp_path / "xval_only.npz", x_train=x, y_train=y, x_val=x[:5], x_test=x[:6], y_test=y[:6])
    with pytest.raises(ValueError, match=r"xval_only.npz' holds 'x_val' but not 'y_val'"):
        load_dataset("npz", tmp_path / "xval_only.npz")


def test_cifar_batches_pickled_by_python_3_with_protocol_2_load_and_stay_restricted(tmp_path):
    import codecs

    _write_cifar(tmp_path / "c", protocol=2)  # bytes and arrays are rebuilt with _codecs.encode(text, "latin1")
    assert load_dataset("cifar10", tmp_path / "c").x_train.shape[1:] == (3, 32, 32)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    class OtherCodec:
        def __reduce__(self):
            return (codecs.encode, ("text", "rot13"))

    for payload, refused in ((Evil(), r"refusing to load [\w.]*print"), (OtherCodec(), r"refusing _codecs.encode")):
        (tmp_path / "c" / "test_batch").write_bytes(pickle.dumps({b"data": payload, b"labels": []}, protocol=2))
        with pytest.raises(ValueError, match=refused):
            load_dataset("cifar10", tmp_path / "c")


def test_cifar100_class_names_come_from_its_meta_file(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in (("train", 300), ("test", 20)):
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"fine_labels": (np.arange(n) % 100).tolist()}
        (folder / name).write_bytes(pickle.dumps(batch))
    assert load_dataset("cifar100", tmp_path).class_names is None  # no meta file: labels are numbers
    names = [f"class_{i}".encode() for i in range(100)]
    (folder / "meta").write_bytes(pickle.dumps({b"fine_label_names": names, b"coarse_label_names": names[:20]}))
    data = load_dataset("cifar100", tmp_path)
    assert data.class_names[:2] == ("class_0", "class_1") and len(data.class_names) == 100
    (folder / "meta").write_bytes(pickle.dumps({b"fine_label_names": names[:3]}))
    with pytest.warns(UserWarning, match="fine_label_names is not a list of 100 names"):  # optional: numbers
        assert load_dataset("cifar100", tmp_path).class_names is None


def test_npz_pairs_of_different_lengths_are_refused(tmp_path):
    x, y = np.zeros((100, 4, 4), dtype=np.uint8), np.arange(100) % 5
    np.savez(tmp_path / "short.npz", x=x, y=y[:50])
    with pytest.raises(UsageError, match=r"short.npz': 'x' holds 100 images but 'y' 50 labels"):
        load_dataset("npz", tmp_path / "short.npz")
    np.savez(tmp_path / "long.npz", x=x[:50], y=y)  # used to fail with an IndexError
    with pytest.raises(UsageError, match=r"'x' holds 50 images but 'y' 100 labels"):
        load_dataset("npz", tmp_path / "long.npz")
    np.savez(tmp_path / "test.npz", x_train=x, y_train=y, x_test=x[:10], y_test=y[:9])
    with pytest.raises(UsageError, match=r"'x_test' holds 10 images but 'y_test' 9 labels"):
        load_dataset("npz", tmp_path / "test.npz")


def test_npz_x_y_with_given_splits_uses_them_and_ambiguous_files_are_refused(tmp_path):
    x, y = np.zeros((100, 4, 4), dtype=np.uint8), np.arange(100) % 5
    np.savez(tmp_path / "xy_test.npz", x=x, y=y, x_test=x[:40], y_test=y[:40])
    data = load_dataset("npz", tmp_path / "xy_test.npz")
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (90, 10, 40)
    np.savez(tmp_path / "xy_all.npz", x=x, y=y, x_val=x[:7], y_val=y[:7], x_test=x[:40], y_test=y[:40])
    data = load_dataset("npz", tmp_path / "xy_all.npz")
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (100, 7, 40)
    np.savez(tmp_path / "xy_val.npz", x=x, y=y, x_val=x[:7], y_val=y[:7])
    data = load_dataset("npz", tmp_path / "xy_val.npz")
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (80, 7, 20)
    np.savez(tmp_path / "both.npz", x_train=x, y_train=y, x_test=x[:40], y_test=y[:40], x=x, y=y)
    with pytest.raises(UsageError, match=r"both.npz' holds both 'x' and 'x_train'"):
        load_dataset("npz", tmp_path / "both.npz")
    np.savez(tmp_path / "extra.npz", x=x, y=y, names=np.array(["a", "b"]))
    with pytest.raises(UsageError, match=r"extra.npz' holds array\(s\) \['names'\] that nasforge does not read"):
        load_dataset("npz", tmp_path / "extra.npz")
    np.savez(tmp_path / "notest.npz", x_train=x, y_train=y)
    with pytest.raises(UsageError, match=r"notest.npz' holds 'x_train' but no 'x_test'"):
        load_dataset("npz", tmp_path / "notest.npz")


def test_resized_makes_non_square_images_square(tmp_path):
    for cls in ("a", "b"):
        _save_images(tmp_path / "wide" / cls, [f"{i}.png" for i in range(5)])
    data = load_dataset("folder", tmp_path / "wide")
    wide = replace(data, x_train=data.x_train.repeat(1, 1, 1, 2))  # 6 x 12 images
    assert wide.resized(12).x_train.shape[1:] == (3, 12, 12)
    assert data.resized(6) is data


def test_float_and_32_bit_images_in_folders_are_refused_naming_the_file(tmp_path):
    from PIL import Image

    for cls in ("a", "b"):
        (tmp_path / "f" / cls).mkdir(parents=True)
        (tmp_path / "i" / cls).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(np.full((6, 6), 0.5, dtype=np.float32)).save(tmp_path / "f" / cls / f"{i}.tif")
            Image.fromarray(np.full((6, 6), 100_000, dtype=np.int32)).save(tmp_path / "i" / cls / f"{i}.tif")
    with pytest.raises(ValueError, match=r"a/0.tif' holds floating-point pixels \(Pillow mode F\).*NPZ"):
        load_dataset("folder", tmp_path / "f")
    with pytest.raises(ValueError, match=r"a/0.tif' is not 16-bit: its pixels span 100000..100000"):
        load_dataset("folder", tmp_path / "i")


@pytest.mark.parametrize("content", [b"", b"just text", b"\x93NUMPY", "npy", "truncated"])
def test_a_file_that_is_no_npz_archive_is_refused_in_one_line(tmp_path, content):
    path = tmp_path / "d.npz"
    if content == "npy":
        np.save(tmp_path / "d.npy", np.zeros((4, 2, 2)))
        path = tmp_path / "d.npy"
    elif content == "truncated":
        np.savez(path, x=np.zeros((40, 4, 4)), y=np.zeros(40, dtype=np.int64))
        path.write_bytes(path.read_bytes()[:300])
    else:
        path.write_bytes(content)
    with pytest.raises(UsageError, match=r"d.np[yz]' is not a readable NPZ archive \(a zip of arrays"):
        load_dataset("npz", path)


def test_npz_values_beyond_float32_are_refused_without_a_warning(tmp_path):
    x = np.zeros((20, 4, 4))
    x[0, 0, 0] = 1e300
    np.savez(tmp_path / "big.npz", x=x, y=np.arange(20) % 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="array 'x': 1 of its 320 values are out of float32 range"):
            load_dataset("npz", tmp_path / "big.npz")


def test_a_random_folder_split_without_training_images_of_a_class_is_refused(tmp_path):
    for cls, n in (("a", 20), ("b", 20), ("c", 1)):
        _save_images(tmp_path / "rare" / cls, [f"{i}.png" for i in range(n)], seed=n)
    with pytest.raises(ValueError, match=r"the random split \(seed 3\) left class 'c' \(1 image\) without training"):
        load_dataset("folder", tmp_path / "rare", seed=3)  # the only 'c' image goes to the test split
    assert load_dataset("folder", tmp_path / "rare", seed=0).num_classes == 3  # where it lands in training


@pytest.mark.parametrize("val", ["val", "valid", "validation"])
def test_the_validation_folder_may_have_any_common_name(tmp_path, val):
    for split, n in (("train", 4), (val, 2), ("test", 2)):
        for cls in ("a", "b"):
            _save_images(tmp_path / "s" / split / cls, [f"{i}.png" for i in range(n)])
    data = load_dataset("folder", tmp_path / "s")
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (8, 4, 4)


def test_images_an_image_folder_would_ignore_are_refused(tmp_path):
    for split in ("train", "test"):
        for cls in ("a", "b"):
            _save_images(tmp_path / "s" / split / cls, ["0.png", "1.png", "2.png", "3.png"])
    _save_images(tmp_path / "s" / "dev" / "a", ["0.png"])
    with pytest.raises(ValueError, match=r"folder\(s\) \['dev'\] that are no split"):
        load_dataset("folder", tmp_path / "s")
    _save_images(tmp_path / "s" / "val" / "a", ["0.png"])
    (tmp_path / "s" / "dev").rename(tmp_path / "s" / "validation")
    with pytest.raises(ValueError, match=r"2 validation folders \['val', 'validation'\]; keep one"):
        load_dataset("folder", tmp_path / "s")
    for layout in ("s", "s/train", "flat"):
        for cls in ("a", "b"):
            _save_images(tmp_path / "flat" / cls, ["0.png", "1.png", "2.png", "3.png", "4.png"])
        _save_images(tmp_path / layout, ["stray.png"])
    with pytest.raises(ValueError, match=r"'.*flat' holds 1 image\(s\) outside any class folder \(stray.png\)"):
        load_dataset("folder", tmp_path / "flat")
    (tmp_path / "s" / "validation").rename(tmp_path / "s" / "other")
    with pytest.raises(ValueError, match="outside any class folder"):
        load_dataset("folder", tmp_path / "s")


def test_cifar_pixels_outside_0_255_are_refused_plainly_and_str_keys_read(tmp_path):
    _write_cifar(tmp_path / "wide")
    batch = {b"data": np.full((20, 3072), 300, dtype=np.int64), b"labels": [0] * 20}
    (tmp_path / "wide" / "data_batch_2").write_bytes(pickle.dumps(batch))
    with pytest.raises(ValueError, match=r"data_batch_2': pixels must be integers 0..255, got dtype int64 spanning "
                                         r"300..300"):
        load_dataset("cifar10", tmp_path / "wide")
    _write_cifar(tmp_path / "str")
    (tmp_path / "str" / "test_batch").write_bytes(pickle.dumps({"data": batch[b"data"] // 2, "labels": [0] * 20}))
    assert len(load_dataset("cifar10", tmp_path / "str").y_test) == 20  # text keys, as Python 3 writes them
    (tmp_path / "str" / "test_batch").write_bytes(pickle.dumps({"pixels": batch[b"data"], "labels": [0] * 20}))
    with pytest.raises(ValueError, match=r"not a CIFAR python batch: it has no entry b'data' \(a bytes or text key; "
                                         r"its keys are 'pixels', 'labels'\)"):
        load_dataset("cifar10", tmp_path / "str")


def test_data_with_fewer_than_two_classes_is_refused(tmp_path):
    """Every network would score 100% on one class."""
    _save_images(tmp_path / "one" / "cat", ["0.png", "1.png", "2.png", "3.png", "4.png"])
    with pytest.raises(ValueError, match=r"'.*one' has 1 class folder \['cat'\]: a classifier needs at least 2 "):
        load_dataset("folder", tmp_path / "one")
    for split in ("train", "test"):
        _save_images(tmp_path / "split" / split / "cat", ["0.png", "1.png", "2.png", "3.png"])
    with pytest.raises(ValueError, match=r"'.*split/train' has 1 class folder \['cat'\]"):
        load_dataset("folder", tmp_path / "split")
    np.savez(tmp_path / "one.npz", x=np.zeros((20, 4, 4), dtype=np.uint8), y=np.zeros(20, dtype=np.int64))
    with pytest.raises(UsageError, match=r"NPZ file '.*one.npz' holds 1 class: a classifier needs at least 2"):
        load_dataset("npz", tmp_path / "one.npz")


@pytest.mark.parametrize("names", [("Train", "Test"), ("training_set", "test_set"), ("TRAINING", "Testing", "Valid"),
                                   ("train", "test")])
def test_split_folders_are_recognised_in_any_case_and_by_their_common_names(tmp_path, names):
    """Kaggle's training_set/ and test_set/ (or Train/ and Test/) were read as two classes, "Train" and "Test"."""
    for split, n in zip(names, (4, 2, 2)):
        for cls in ("cat", "dog"):
            _save_images(tmp_path / "s" / split / cls, [f"{i}.png" for i in range(n)])
    fractions = {"val_fraction": 0.25} if len(names) == 2 else {}  # a Valid/ folder is the validation split
    data = load_dataset("folder", tmp_path / "s", **fractions)
    assert data.class_names == ("cat", "dog")
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == ((6, 2, 4) if len(names) == 2 else (8, 4, 4))


@pytest.mark.parametrize("classes", [("Bus", "Car", "Train"), ("Control", "Test"), ("Testing", "Validation")])
def test_classes_named_like_a_split_beside_other_classes_stay_classes(tmp_path, classes):
    """Bus/, Car/, Train/ was refused as a split layout without a test folder, Control/ and Test/ as a test folder
    without a training one: unless every folder is a split and one trains (or train/ is there), folders are
    classes."""
    for cls in classes:
        _save_images(tmp_path / "s" / cls, [f"{i}.png" for i in range(5)])
    data = load_dataset("folder", tmp_path / "s", val_fraction=0.2, test_fraction=0.2)
    assert data.class_names == classes
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 5 * len(classes)


def test_split_folders_of_the_same_classes_beside_another_folder_are_refused_not_read_as_classes(tmp_path):
    """Training/ and Testing/ holding cat/ and dog/ beside unlabeled/ were read as 3 classes named after them."""
    for folder in ("Training", "Testing", "unlabeled"):
        for cls in ("cat", "dog"):
            _save_images(tmp_path / "s" / folder / cls, [f"{i}.png" for i in range(3)])
    with pytest.raises(ValueError, match=r"'.*s' has Training/ and folder\(s\) \['unlabeled'\] that are no split"):
        load_dataset("folder", tmp_path / "s")
    for cls in ("cat", "dog"):  # Training/ + Validation/ of one set of classes: a split layout without a test split
        _save_images(tmp_path / "v" / "Training" / cls, ["0.png", "1.png"])
        _save_images(tmp_path / "v" / "Validation" / cls, ["0.png", "1.png"])
    with pytest.raises(FileNotFoundError, match=r"'.*v' has Training/ but no test split folder"):
        load_dataset("folder", tmp_path / "v")


def test_a_split_layout_without_a_test_folder_or_with_two_of_one_split_is_refused(tmp_path):
    for folder in ("Train", "Valid"):
        _save_images(tmp_path / "flat" / folder / "cat", [f"{i}.png" for i in range(5)])
    with pytest.raises(FileNotFoundError, match=r"'.*flat' has Train/ but no test split folder \(test, testing, "
                                                r"test_set, testing_set; any case\)"):
        load_dataset("folder", tmp_path / "flat")
    for split in ("train", "Train", "test"):
        for cls in ("a", "b"):
            _save_images(tmp_path / "s" / split / cls, ["0.png", "1.png", "2.png", "3.png"])
    if (tmp_path / "s" / "train").samefile(tmp_path / "s" / "Train"):
        pytest.skip("a case-insensitive file system holds one folder for train/ and Train/")
    with pytest.raises(ValueError, match=r"'.*s' has 2 training folders \['Train', 'train'\]; keep one"):
        load_dataset("folder", tmp_path / "s")


def test_images_behind_symbolic_links_are_read_once_and_loops_or_broken_links_refused(tmp_path):
    """os.walk skipped a linked folder's images without a word; then a link to a folder already read (cat/latest
    -> 2019) was refused as if it were a loop."""
    _save_images(tmp_path / "elsewhere", [f"{i}.png" for i in range(5)])
    for cls in ("cat", "dog"):
        _save_images(tmp_path / "imgs" / cls, [f"{i}.png" for i in range(5)])
    _save_images(tmp_path / "imgs" / "cat" / "2019", ["a.png", "b.png"])
    (tmp_path / "imgs" / "cat" / "more").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    for link in ("0_latest", "latest", "z_latest"):  # before and after 2019/: a real folder is read first
        (tmp_path / "imgs" / "cat" / link).symlink_to("2019", target_is_directory=True)
    (tmp_path / "imgs" / "cat" / "more_again").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    data = load_dataset("folder", tmp_path / "imgs", val_fraction=0.2, test_fraction=0.2)
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 5 + 2 + 5 + 5
    files = [str(f.relative_to(tmp_path / "imgs" / "cat")) for f in sources._visible_files(tmp_path / "imgs" / "cat")]
    assert "2019/a.png" in files and "more/0.png" in files and not any("latest" in f for f in files)
    (tmp_path / "imgs" / "dog" / "sub").mkdir()
    (tmp_path / "imgs" / "dog" / "sub" / "loop").symlink_to(tmp_path / "imgs" / "dog", target_is_directory=True)
    with pytest.raises(ValueError, match=r"dog/sub/loop' is a symbolic link to '.*dog', which holds it \(a link "
                                         r"loop\): remove the link"):
        load_dataset("folder", tmp_path / "imgs")
    (tmp_path / "imgs" / "dog" / "sub" / "loop").unlink()
    (tmp_path / "imgs" / "dog" / "gone.png").symlink_to(tmp_path / "missing.png")
    with pytest.raises(ValueError, match=r"dog' holds a broken symbolic link '.*gone.png'"):
        load_dataset("folder", tmp_path / "imgs")


@pytest.mark.parametrize("dtype", [np.complex64, "datetime64[s]", "timedelta64[s]", [("a", "f4")], "U1"])
def test_npz_pixels_that_are_no_real_numbers_are_refused_naming_file_and_array(tmp_path, dtype):
    np.savez(tmp_path / "odd.npz", x=np.zeros((20, 4, 4), dtype=dtype), y=np.arange(20) % 2)
    with pytest.raises(UsageError, match=r"odd.npz', array 'x': pixels must be real numbers \(integers or floats\), "
                                         r"got dtype"):
        load_dataset("npz", tmp_path / "odd.npz")
    with pytest.raises(ValueError, match=r"train images: pixels must be real numbers"):
        from_arrays("t", (np.zeros((4, 4, 4), dtype=dtype), np.arange(4) % 2), (np.zeros((0, 4, 4)), np.zeros(0)),
                    (np.zeros((0, 4, 4)), np.zeros(0)))


def test_npz_channels_last_images_with_more_than_4_channels_are_refused_not_misread(tmp_path):
    """(40, 16, 16, 8) was read as 16 channels of 16x8 pixels."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "nhwc8.npz", x=rng.random((40, 16, 16, 8)).astype(np.float32), y=np.arange(40) % 2)
    with pytest.raises(UsageError, match=r"nhwc8.npz', array 'x': shape \(40, 16, 16, 8\) holds 16 channels of "
                                         r"16x8 pixels \(NCHW\) or 8 channels of 16x16 pixels \(NHWC\), and "
                                         r"nasforge does not guess"):
        load_dataset("npz", tmp_path / "nhwc8.npz")
    np.savez(tmp_path / "nchw8.npz", x=rng.random((40, 8, 16, 16)).astype(np.float32), y=np.arange(40) % 2)
    assert load_dataset("npz", tmp_path / "nchw8.npz").x_train.shape[1:] == (8, 16, 16)


def test_npz_label_errors_name_the_file_the_array_and_its_shape(tmp_path):
    x = np.zeros((40, 4, 4), dtype=np.uint8)
    np.savez(tmp_path / "col.npz", x=x, y=(np.arange(40) % 2)[:, None])
    with pytest.raises(UsageError, match=r"col.npz': labels 'y' must be a 1-D array \(one label per image\), got "
                                         r"shape \(40, 1\); store y.reshape\(-1\)"):
        load_dataset("npz", tmp_path / "col.npz")
    np.savez(tmp_path / "ftest.npz", x=x, y=np.arange(40) % 2, x_test=x[:5], y_test=np.zeros(5))
    with pytest.raises(UsageError, match=r"ftest.npz': labels 'y_test' must be integers, got dtype float64"):
        load_dataset("npz", tmp_path / "ftest.npz")


def test_cifar_batches_pickled_with_protocol_5_load_and_stay_restricted(tmp_path):
    _write_cifar(tmp_path / "c", protocol=5)  # arrays are rebuilt with numpy's _frombuffer
    assert load_dataset("cifar10", tmp_path / "c").x_train.shape[1:] == (3, 32, 32)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    class ObjectArray:  # _frombuffer asked for an object array: numbers only
        def __reduce__(self):
            from numpy._core.numeric import _frombuffer

            return (_frombuffer, (b"\0" * 8, np.dtype(object), (1,), "C"))

    for payload, refused in ((Evil(), r"refusing to load [\w.]*print"),
                             (ObjectArray(), r"refusing numpy.dtype\('O8'\)")):  # refused as the dtype is built
        (tmp_path / "c" / "test_batch").write_bytes(pickle.dumps({b"data": payload, b"labels": []}, protocol=5))
        with pytest.raises(ValueError, match=refused):
            load_dataset("cifar10", tmp_path / "c")


def _write_cifar_binary(folder, n=20, label_bytes=1, files=None, seed=0):
    """Binary CIFAR batches: per record ``label_bytes`` label bytes then 3,072 pixel bytes."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for name in files or [*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin"]:
        labels = rng.integers(0, 10 if label_bytes == 1 else 100, (n, label_bytes), dtype=np.uint8)
        (folder / name).write_bytes(np.hstack([labels, rng.integers(0, 256, (n, 3072), dtype=np.uint8)]).tobytes())


def test_cifar_binary_version_is_read_and_preferred_to_the_python_one(tmp_path):
    _write_cifar_binary(tmp_path / "cifar-10-batches-bin")
    data = load_dataset("cifar10", tmp_path)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (90, 10, 20)
    record = np.fromfile(tmp_path / "cifar-10-batches-bin" / "test_batch.bin", dtype=np.uint8)[:3073]
    assert int(data.y_test[0]) == record[0] and data.class_names[0] == "airplane"
    raw = data.x_test[0] * torch.tensor(data.std).view(3, 1, 1) + torch.tensor(data.mean).view(3, 1, 1)
    assert torch.allclose(raw / data.scale, torch.from_numpy(record[1:].reshape(3, 32, 32)).float(), atol=1e-3)
    _write_cifar(tmp_path / "cifar-10-batches-py", n_test=7)  # both versions: the binary one, no unpickling
    assert len(load_dataset("cifar10", tmp_path).y_test) == 20
    assert len(load_dataset("cifar10", tmp_path / "cifar-10-batches-bin").y_test) == 20
    (tmp_path / "cifar-10-batches-bin" / "data_batch_2.bin").write_bytes(b"\0" * 3000)
    with pytest.raises(ValueError, match=r"data_batch_2.bin' is not a binary CIFAR batch: its 3000 bytes are no "
                                         r"whole number of 3073-byte records"):
        load_dataset("cifar10", tmp_path)
    _write_cifar_binary(tmp_path / "cifar-100-binary", n=1000, label_bytes=2, files=["train.bin", "test.bin"])
    names = [f"class_{i}" for i in range(100)]
    (tmp_path / "cifar-100-binary" / "fine_label_names.txt").write_text("\n".join(names) + "\n")
    record = np.fromfile(tmp_path / "cifar-100-binary" / "test.bin", dtype=np.uint8)[:3074]
    cifar100 = load_dataset("cifar100", tmp_path)
    assert int(cifar100.y_test[0]) == record[1] and cifar100.class_names[5] == "class_5"  # the fine label


def test_a_subset_keeps_one_image_of_every_class_and_is_unchanged_where_it_had_one(tmp_path):
    """subset(0.01) of digits kept 6 of its 10 classes."""
    data = load_dataset("digits")
    small = data.subset(0.01, seed=0)
    assert len(small.y_train) == 11 and set(small.y_train.tolist()) == set(range(10))
    for fraction, seed in ((0.5, 0), (0.1, 3)):  # every class drawn anyway: the same images, in the same order
        order = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(seed))
        old = order[:int(round(fraction * len(data.y_train)))]
        assert torch.equal(data.subset(fraction, seed=seed).y_train, data.y_train[old])
        assert torch.equal(data.subset(fraction, seed=seed).x_train, data.x_train[old])
