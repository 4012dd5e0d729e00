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


def test_class_folders_alike_but_for_how_an_accent_is_written_load_with_a_warning(tmp_path: Path) -> None:
    """Two classes, as always (a stored run on such a folder resumes as it was), and a warning naming both."""
    root = _folder(tmp_path / "nf", (NFD, NFC, "dog"))
    with pytest.warns(UserWarning) as record:
        data = load_dataset("folder", root)
    assert data.class_names == tuple(sorted((NFD, NFC, "dog")))
    message = str(next(w.message for w in record if "accent" in str(w.message)))
    assert "\n" not in message and ascii(NFD) in message and ascii(NFC) in message


def test_korean_class_folders_written_apart_by_macos_get_the_warning(tmp_path: Path) -> None:
    """Hangul written apart (jamo) holds no combining mark, yet is one class split in two (regression review h)."""
    names = (unicodedata.normalize("NFC", "\ud55c\uad6d"), unicodedata.normalize("NFD", "\ud55c\uad6d"), "dog")
    with pytest.warns(UserWarning, match="accent"):
        load_dataset("folder", _folder(tmp_path / "ko", names))


def test_distinct_characters_nfc_maps_onto_one_are_no_such_pair(tmp_path: Path, recwarn) -> None:
    """CJK compatibility ideographs (U+F914 and U+6A02 are distinct characters, one in NFC) load without it."""
    data = load_dataset("folder", _folder(tmp_path / "cjk", ("\uf914", "\u6a02", "x")))
    assert len(data.class_names) == 3 and not [w for w in recwarn if "accent" in str(w.message)]


def test_split_class_alike_but_for_unicode_form_says_so(tmp_path: Path) -> None:
    _folder(tmp_path / "sp" / "train", (NFC, "dog"))
    _folder(tmp_path / "sp" / "test", (NFD, "dog"))
    with pytest.raises(UsageError, match="that the training split lacks") as info:
        load_dataset("folder", tmp_path / "sp")
    assert f"{ascii(NFD)} differs from training class {ascii(NFC)} only in Unicode form" in str(info.value)


def test_accented_class_names_load_as_before(tmp_path: Path) -> None:
    data = load_dataset("folder", _folder(tmp_path / "ok", (NFD, "dog", "été")))
    assert data.class_names == tuple(sorted((NFD, "dog", "été")))


def _refused(capsys: pytest.CaptureFixture[str], args: list[str], *expected: str) -> None:
    """``nasforge ARGS`` exits 2 with one line holding each of ``expected``."""
    from nasforge.cli import main

    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "that data set 'folder' is read from" in err, err
    assert all(text in err for text in expected), err


def test_oneshot_train_out_inside_the_data_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root = _folder(tmp_path / "f6")
    train = ["oneshot", "train", "--data", "folder", "--val-fraction", "0.2", "--epochs", "1"]
    _refused(capsys, [*train, "--data-dir", str(root), "--out", str(root / "sn")], "--out")
    monkeypatch.chdir(root)  # the default --out, run from inside the data
    _refused(capsys, [*train, "--data-dir", "."], "--out 'nasforge-runs/supernet'")
    assert sorted(p.name for p in root.iterdir()) == ["a", "b"]


def test_oneshot_study_out_or_storage_inside_the_data_is_refused(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = _folder(tmp_path / "f5")
    study = ["oneshot", "study", "--data", "folder", "--data-dir", str(root), "--k", "10", "--seeds", "1",
             "--epochs", "1", "--supernet-epochs", "1"]
    _refused(capsys, [*study, "--out", str(root / "st")], "--out")
    _refused(capsys, [*study, "--out", str(tmp_path / "st"), "--storage", f"sqlite:///{root}/a/g.db"], "--storage")
    assert sorted(p.name for p in root.iterdir()) == ["a", "b"] and not (tmp_path / "st").exists()


def test_search_storage_inside_the_data_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _folder(tmp_path / "f5")
    _refused(capsys, ["search", "--data", "folder", "--data-dir", str(root), "--trials", "1", "--out",
                      str(tmp_path / "run"), "--storage", f"sqlite:///{root}/a/s.db"], "--storage")
    assert not (root / "a" / "s.db").exists() and not (tmp_path / "run").exists()


def test_oneshot_search_storage_inside_the_data_is_refused(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from nasforge.cli import main

    root = _folder(tmp_path / "f6")
    assert main(["oneshot", "train", "--data", "folder", "--data-dir", str(root), "--val-fraction", "0.2",
                 "--epochs", "1", "--C", "4", "--batch-size", "8", "--out", str(tmp_path / "sn")]) == 0
    capsys.readouterr()
    _refused(capsys, ["oneshot", "search", "--supernet", str(tmp_path / "sn"), "--trials", "1", "--storage",
                      f"sqlite:///{root}/a/s.db"], "--storage")
    assert not (root / "a" / "s.db").exists()


def test_resume_with_its_data_moved_says_to_put_it_back(tmp_path: Path) -> None:
    from nasforge.pipelines.search import SearchConfig, _evaluators
    from nasforge.spaces import get_space

    gone = str(tmp_path / "moved")  # the path recorded when the run started, empty now
    config = SearchConfig(data="folder", data_dir=gone, out=str(tmp_path / "run"))
    with pytest.raises(UsageError) as info:
        _evaluators(config, get_space("nb201"))  # as nasforge resume builds them
    assert f"{gone!r} recorded when this run started does not exist: put the data (or a symbolic link" \
        in str(info.value)


def test_digits_hard_without_the_supernet_evaluator_says_what_it_needs(capsys: pytest.CaptureFixture[str]) -> None:
    from nasforge.cli import main

    assert main(["search", "--data", "digits-hard", "--trials", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "(digits-hard needs --evaluator supernet), got 'digits-hard'" in err


def test_a_storage_file_beside_the_class_folders_stays_allowed(tmp_path: Path) -> None:
    """A database at the top of the image folder is not read as data (as before); one in a class folder is."""
    from nasforge.data.sources import check_storage_out_of_data

    root = tmp_path / "imgs"
    (root / "a").mkdir(parents=True)
    check_storage_out_of_data(f"sqlite:///{root}/s.db", "--storage", "folder", root)
    with pytest.raises(UsageError, match="--storage .* inside the folder"):
        check_storage_out_of_data(f"sqlite:///{root}/a/s.db", "--storage", "folder", root)


@pytest.mark.parametrize("place", ["train/s.db", ".cache/s.db"])
def test_a_storage_file_atop_a_split_folder_or_in_a_hidden_one_stays_allowed(tmp_path: Path, place: str) -> None:
    """Not read as data: allowed before the storage check, and so after it (regression review g)."""
    from nasforge.data.sources import check_storage_out_of_data

    root = tmp_path / "sp"
    _folder(root / "train", ("a", "b"))
    _folder(root / "test", ("a", "b"))
    (root / ".cache").mkdir()
    check_storage_out_of_data(f"sqlite:///{root / place}", "--storage", "folder", root)
    with pytest.raises(UsageError, match="--storage .* inside the folder"):
        check_storage_out_of_data(f"sqlite:///{root}/train/a/s.db", "--storage", "folder", root)
