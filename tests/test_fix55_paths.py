"""Review paths55: paths as users have them (a full disk, a dangling link, a read-only folder, a value starting
with '-') get one line naming the path, and nothing stored is lost."""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from cli_lines import error_line
from predictor_data import sample

from nasforge.cli import main
from nasforge.predictors import get_predictor

FAST = {"n_estimators": 10}


@contextlib.contextmanager
def _file_size_limit(size: int) -> Iterator[None]:
    """Files written meanwhile may not grow past ``size`` bytes (RLIMIT_FSIZE, as ``ulimit -f`` sets it; Python
    ignores SIGXFSZ, so a write past it fails with EFBIG, as one on a full disk fails with ENOSPC)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


@pytest.fixture(scope="module")
def data():
    return sample(60)


@pytest.mark.parametrize("model", ["lgb", "xgb"])
def test_a_tree_predictor_saved_on_a_full_disk_is_an_oserror_and_leaves_nothing(data, tmp_path, model):
    """Would fail: LightGBM's / XGBoost's own writer raised LightGBMError / XGBoostError (the CLI's traceback)."""
    space, archs, y = data
    predictor = get_predictor(model, space, **FAST).fit(archs, y)
    with _file_size_limit(2048), pytest.raises(OSError):
        predictor.save(tmp_path / "p")
    assert not (tmp_path / "p").exists()
    predictor.save(tmp_path / "p")  # the same bytes as before, loading as before
    assert (tmp_path / "p" / ("model.txt" if model == "lgb" else "model.json")).stat().st_size > 2048


@pytest.mark.parametrize("model", ["lgb", "xgb"])
def test_surrogate_fit_on_a_full_disk_is_one_line(data, tmp_path, capsys, model):
    """Would fail: ``nasforge surrogate fit`` on a full disk ended in the library's traceback."""
    space, archs, y = data
    table = tmp_path / "t.csv"
    pd.DataFrame({"arch": [space.format(a) for a in archs], "val_acc": y}).to_csv(table, index=False)
    with _file_size_limit(2048):
        line = error_line(capsys, ["surrogate", "fit", "--table", str(table), "--space", "nb201", "--metrics",
                                   "val_acc", "--model", model, "--params", '{"n_estimators": 10}', "--out",
                                   str(tmp_path / "s")])
    assert line.endswith(f"--out {tmp_path / 's'}: cannot save the surrogate (File too large)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]  # no folder, no staging left
    assert main(["surrogate", "fit", "--table", str(table), "--space", "nb201", "--metrics", "val_acc", "--model",
                 model, "--params", '{"n_estimators": 10}', "--out", str(tmp_path / "s")]) == 0


@pytest.mark.parametrize("below", ["", "sub/run"])
def test_an_out_through_a_link_to_nothing_names_the_link(tmp_path, monkeypatch, capsys, below):
    """Would fail: '--out: cannot create ... (File exists)', naming neither the link nor what it lacks."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").symlink_to("/nonexistent-mount/runs")
    out = f"runs/{below}" if below else "runs"
    (tmp_path / "t.csv").write_text("arch,acc\nx|y,1\nx|z,2\nw|y,3\nw|z,4\n")
    line = error_line(capsys, ["bench", "--table", "t.csv", "--space", "chain", "--objective", "acc", "--trials", "2",
                               "--seeds", "1", "--strategies", "random", "--out", out])
    assert line.endswith(f"--out {out}: cannot create {out!r}: 'runs' is a symbolic link to '/nonexistent-mount/runs'"
                         ", which does not exist (create its target, or remove the link)")
    assert not Path("/nonexistent-mount").exists()


def test_an_export_into_an_existing_folder_it_cannot_write_does_not_say_create(tmp_path, monkeypatch):
    """Would fail: 'its folder ... cannot be created (no write permission in ...)' for a folder that exists (on a
    read-only file system, say), as if it were missing."""
    import os

    from nasforge.exceptions import UsageError
    from nasforge.export import export_target

    (tmp_path / "out").mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(UsageError, match=r"cannot write in its folder .*out \(no write permission\)$"):
        export_target(tmp_path / "net", "onnx", str(tmp_path / "out" / "m.onnx"))
    with pytest.raises(UsageError, match=r"its folder .*new cannot be created \(no write permission in "):
        export_target(tmp_path / "net", "onnx", str(tmp_path / "out" / "new" / "m.onnx"))


@pytest.mark.parametrize(("argv", "joined"), [
    (["search", "--data", "npz", "--data-dir", "-lead.npz"], "--data-dir=-lead.npz"),
    (["bench", "--space-module", "-net.py:Net"], "--space-module=-net.py:Net"),
    (["trials", "s", "--out", "-x.csv"], "--out=-x.csv"),
    (["oneshot", "train", "--out", "-ck"], "--out=-ck"),
])
def test_a_path_starting_with_a_dash_says_how_to_give_it(capsys, argv, joined):
    """Would fail: 'argument --data-dir: expected one argument', though one was given."""
    line = error_line(capsys, argv)
    assert f"expected one argument; {argv[-1]!r} was read as an option: a value starting with '-' is joined to its " \
           f"option ({joined})" in line


def test_an_option_left_without_its_value_gets_no_such_hint(capsys):
    assert "read as an option" not in error_line(capsys, ["search", "--out", "--no-progress"])
    assert "read as an option" not in error_line(capsys, ["search", "--out", "--bogus"])


def test_a_run_whose_database_file_was_removed_does_not_say_the_study_is_stored(tmp_path):
    """Would fail: the note read 'the study is stored; finish the run with: nasforge resume ... --storage' naming
    the file that had just been removed (or moved away), which the error itself says to put back first."""
    from engine_evaluators import Toy

    from nasforge.exceptions import StorageFileMovedError
    from nasforge.experiment import Study
    from nasforge.pipelines.search import noting_resume, resume_command
    from nasforge.spaces import get_space

    path = tmp_path / "run" / "study.db"
    path.parent.mkdir()
    url = f"sqlite:///{path}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="s", storage=url)
    study.optimize(Toy(), n_trials=1)

    def remove(_study, trial) -> None:
        for side in ("", "-wal", "-shm"):
            Path(f"{path}{side}").unlink(missing_ok=True)

    with pytest.raises(StorageFileMovedError) as raised, noting_resume("s", url, usage_errors=False):
        study.optimize(Toy(), n_trials=3, callbacks=[remove])
    study.storage.close()
    assert raised.value.__notes__ == [f"once the database file is back at its path, finish the run with: "
                                      f"{resume_command('s', url)}"]
    with pytest.raises(RuntimeError) as raised, noting_resume("s", url, usage_errors=False):
        raise RuntimeError("boom")
    assert raised.value.__notes__ == [f"the study is stored; finish the run with: {resume_command('s', url)}"]


SMALL_SPACE = '''
from torch import nn
from nasforge.spaces.model_space import ValueChoice


class Small(nn.Module):
    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.body = nn.Conv2d(in_channels, ValueChoice([4, 8], label="width"), 3, padding=1)
        self.head = nn.Linear(8, num_classes)

    def forward(self, x):
        y = self.body(x).mean((2, 3))
        return self.head(nn.functional.pad(y, (0, 8 - y.shape[1])))
'''


def _saved_network(tmp_path: Path, module_file: str, folder: str = "net") -> Path:
    import torch

    from nasforge.export import save_model
    from nasforge.spaces.model_space import ModelSpace

    (tmp_path / module_file).write_text(SMALL_SPACE)
    space = ModelSpace(f"{tmp_path / module_file}:Small", input_shape=(1, 8, 8))
    arch = space.parse("width=4")
    torch.manual_seed(0)
    return save_model(tmp_path / folder, space.build(arch), model_name="model_space", arch=arch,
                      model_kwargs={"space": space.config()}, num_classes=10, in_channels=1,
                      preprocessing={"input_shape": [1, 8, 8], "scale": 1 / 16, "mean": [0.0], "std": [1.0],
                                     "class_names": [str(i) for i in range(10)]})


@pytest.mark.parametrize("module_file", ["my net.py", "my-net.py", "réseau.py"])
def test_a_network_of_a_module_file_whose_name_is_no_identifier_exports_as_torchscript(tmp_path, module_file):
    """Would fail for 'my net.py': the file's private module name held its stem as it is, a qualified name TorchScript
    cannot read back ("expected a valid token but found ' '"), a traceback from 'nasforge export --format
    torchscript'."""
    import torch

    from nasforge.export import export_model

    out = export_model(_saved_network(tmp_path, module_file), "torchscript", tmp_path / "model.pt")
    assert torch.jit.load(str(out))(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_an_export_to_a_path_that_is_not_utf8_is_written(tmp_path, fmt):
    """Would fail: torch's writers and readers take a path only as UTF-8 text: an --out holding a byte that is not
    UTF-8 (a Latin-1 folder name) was refused as 'the network fails on an input' (onnx) or a traceback."""
    import os

    from nasforge.export import export_model

    folder = _saved_network(tmp_path, "small.py")
    name = os.fsdecode(b"caf\xe9." + (b"pt" if fmt == "torchscript" else b"onnx"))
    out = export_model(folder, fmt, str(tmp_path / name))
    assert out.stat().st_size > 0 and (tmp_path / f"{name}.json").is_file()


def _latin1(tmp_path: Path, name: bytes) -> Path:
    """``tmp_path / name`` for a name of bytes that are not UTF-8 (a Latin-1 'é' is b'\\xe9')."""
    import os

    return tmp_path / os.fsdecode(name)


def test_a_search_whose_out_or_storage_is_not_utf8_is_one_line(tmp_path, monkeypatch, capsys):
    """Would fail: a UnicodeEncodeError traceback once the run folder was made (its lock records the resume
    command as text)."""
    monkeypatch.chdir(tmp_path)
    out = _latin1(tmp_path, b"caf\xe9")
    line = error_line(capsys, ["search", "--trials", "1", "--out", str(out)])
    assert line.startswith(f"nasforge search: error: --out {str(out)!r}: the folder named holds a byte that is not "
                           "UTF-8 text")
    line = error_line(capsys, ["search", "--trials", "1", "--out", "ok", "--storage", f"sqlite:///{out}.db"])
    assert f"--storage {f'sqlite:///{out}.db'!r}: the database file named holds a byte that is not UTF-8" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_study_in_a_file_whose_path_is_not_utf8_is_read_and_refused_for_writing_in_one_line(tmp_path, capsys):
    """Would fail: every command, 'studies' too, ended in a UnicodeEncodeError traceback (the file's path put into a
    SQLite URI as UTF-8 text)."""
    import shutil

    from engine_evaluators import Toy

    from nasforge.experiment import Study
    from nasforge.spaces import get_space

    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="s",
                  storage=f"sqlite:///{tmp_path / 'ok.db'}")
    study.optimize(Toy(), n_trials=2)
    study.storage.close()  # its last writes in the file itself, for the copy
    path = _latin1(tmp_path, b"caf\xe9.db")
    shutil.copy(tmp_path / "ok.db", path)
    before = path.read_bytes()
    assert main(["studies", "--storage", f"sqlite:///{path}", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("s,")
    assert main(["trials", "s", "--storage", f"sqlite:///{path}", "--format", "csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    line = error_line(capsys, ["delete", "s", "--storage", f"sqlite:///{path}"])
    assert "the path of the database file holds a byte that is not UTF-8 text, so it cannot be opened for " \
           "writing" in line
    assert path.read_bytes() == before


# -- review of fix55-oldcompat: a stored gp surrogate with an encoding beside the hamming kernel continues its search

def _old_gp_study(tmp_path: Path, strategy: str, **kwargs):
    """A study as a release of 2026-12-05 stored it: a gp surrogate with an encoding beside the hamming kernel (taken
    and ignored then); loaded at HEAD (with the warning that says so)."""
    import json
    import sqlite3

    from nasforge import Study
    from nasforge.spaces import get_space

    space = get_space("nb201")
    objectives = {"objectives": ["acc", "p"], "directions": ["maximize", "minimize"]} if strategy == "ts_hvi" else \
        {"objectives": "acc"}
    url = f"sqlite:///{tmp_path / 'old.db'}"
    gp = {"name": "gp", "kernel": "hamming"}
    with Study(space, strategy, seed=3, name="g", storage=url, surrogate=gp, n_initial=3, **objectives,
               **kwargs) as study:
        study.optimize(_scores, n_trials=3)
    with sqlite3.connect(tmp_path / "old.db") as raw:
        raw.execute("UPDATE nasforge_studies SET strategy_config = ?",
                    (json.dumps({"surrogate": {**gp, "encoding": "path"}, "n_initial": 3, **kwargs}),))
    raw.close()
    with pytest.warns(UserWarning, match="encoding 'path' .stored by an older version. is ignored") as caught:
        study = Study.load("g", url)
    assert len([w for w in caught if "stored by an older version" in str(w.message)]) == 1
    return study


def _scores(arch) -> dict[str, float]:
    text = str(arch.genotype)
    return {"acc": float(sum(map(ord, text)) % 97), "p": float(len(text) % 13)}


def test_an_old_ts_hvi_study_with_a_gp_encoding_continues_its_search(tmp_path):
    """Would fail: ts_hvi builds its surrogates anew at every refit, outside the load, where the encoding beside the
    hamming kernel was refused: the loaded study's first new trial past n_initial stopped with a UsageError."""
    study = _old_gp_study(tmp_path, "ts_hvi", refit_every=1)
    study.optimize(_scores, n_trials=3)
    assert len(study.trials) == 6
    study.close()


def test_an_old_gp_bo_study_with_a_gp_encoding_continues_after_an_interrupted_ask(tmp_path, monkeypatch):
    """Would fail: after an ask interrupted (Ctrl-C), the strategy is rebuilt from its state before its next use, and
    that rebuild refused the encoding beside the hamming kernel (UsageError), so the loaded study could not go on."""
    study = _old_gp_study(tmp_path, "gp_bo")
    asked = type(study.strategy).ask
    calls = []

    def interrupted_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return asked(self, *args, **kwargs)

    monkeypatch.setattr(type(study.strategy), "ask", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(lambda arch: _scores(arch)["acc"], n_trials=1)
    monkeypatch.undo()
    study.optimize(lambda arch: _scores(arch)["acc"], n_trials=2)
    assert len([t for t in study.trials if t.state.name == "COMPLETE"]) == 5
    study.close()
