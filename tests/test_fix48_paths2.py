"""Review 48 (paths, names, environment): long path names, non-UTF-8 streams, ``sslpassword``, safetensors modes,
``~`` in path options."""

from __future__ import annotations

import io
import os
import stat
import sys

import pytest

from nasforge.experiment.storage.display import display_url, mask_passwords, without_password

_PG = "postgresql+psycopg://bob:p%40ss@127.0.0.1:5432/nf?sslpassword=TopSecret9&sslmode=disable"


def test_sslpassword_is_masked_and_never_recorded():
    assert "TopSecret9" not in display_url(_PG) and "sslpassword=***&sslmode=disable" in display_url(_PG)
    assert without_password(_PG) == "postgresql+psycopg://bob@127.0.0.1:5432/nf?sslmode=disable"
    assert without_password("postgresql://b@h/nf?sslmode=allow&SSLPassword=x") == "postgresql://b@h/nf?sslmode=allow"
    message = mask_passwords(f"cannot open storage '{_PG.replace('bob:p%40ss', 'bob')}'")
    assert "TopSecret9" not in message and "sslpassword=***" in message


@pytest.fixture
def umask_002():
    previous = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(previous)


def test_saved_network_weights_follow_the_umask_and_keep_their_bytes(tmp_path, umask_002):
    from safetensors.torch import save_file

    from nasforge.export import ARTIFACT_FORMAT, WEIGHTS_FILE, save_model
    from nasforge.models import create_model
    from nasforge.spaces import ChainSpace

    arch = ChainSpace([["conv3", "skip"]]).parse("conv3")
    net = create_model("chain", arch, num_classes=3, in_channels=1, C=4).eval()
    folder = save_model(tmp_path / "net", net, model_name="chain", arch=arch, model_kwargs={"C": 4}, num_classes=3,
                        in_channels=1, preprocessing={"input_shape": [1, 8, 8]})
    weights = folder / WEIGHTS_FILE
    assert stat.S_IMODE(weights.stat().st_mode) == 0o664 == stat.S_IMODE((folder / "model.json").stat().st_mode)
    state = {k: v.detach().contiguous().clone() for k, v in net.state_dict().items()}
    save_file(state, str(tmp_path / "direct"), metadata={"format": ARTIFACT_FORMAT})
    assert weights.read_bytes() == (tmp_path / "direct").read_bytes()  # the same file as before, byte for byte


@pytest.mark.parametrize("name, params, weights", [("knn", {}, "knn.safetensors"),
                                                   ("mlp", {"n_models": 1, "hidden": 4, "layers": 1, "epochs": 1},
                                                    "weights.safetensors")])
def test_predictor_weights_follow_the_umask(tmp_path, umask_002, name, params, weights):
    from nasforge.predictors import get_predictor, load_predictor
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"], ["a", "b"]])
    archs = list(space.enumerate())
    predictor = get_predictor(name, space, **params).fit(archs, [float(i) for i in range(len(archs))])
    folder = predictor.save(tmp_path / name)
    assert stat.S_IMODE((folder / weights).stat().st_mode) == 0o664
    assert (load_predictor(folder, space).predict(archs) == predictor.predict(archs)).all()


# -- a path name longer than the file system allows: one line, exit 2, naming the option ---------------------------
_LONG = "é" * 130  # 260 bytes: over NAME_MAX (255)


@pytest.mark.parametrize("argv, option", [
    (["bench", "--table", f"{_LONG}.csv", "--space", "nb201", "--objective", "acc"], "--table"),
    (["search", "--trials", "2", "--storage", f"sqlite:///{_LONG}.db", "--out", "ok"], "--storage"),
    (["predictors", "eval", "--table", f"{_LONG}.csv", "--space", "nb201", "--metric", "acc"], "--table"),
    (["surrogate", "info", _LONG], "ARTIFACT"),
    (["bench", "--space", "chain", "--space-config", f"{_LONG}.yaml"], "--space-config"),
    (["bench", "--space-module", f"{_LONG}.py:X"], "--space-module"),
    (["search", "--data", "folder", "--data-dir", _LONG], "--data-dir"),
    (["oneshot", "search", "--checkpoint", _LONG], "--checkpoint"),
])
def test_a_path_name_too_long_is_one_line(tmp_path, monkeypatch, capsys, argv, option):
    from nasforge.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"error: {option} '" in err and "File name too long" in err
    assert not (tmp_path / "ok").exists()


# -- '~' in path options and NASFORGE_DATA ----------------------------------------------------------------------------
@pytest.fixture
def home(tmp_path, monkeypatch):
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


def test_a_leading_tilde_is_the_home_folder_in_every_path_option(home, capsys):
    from nasforge.cli import main

    (home / "t.csv").write_text("arch,acc\n" + "".join(f"{a}|{b},{i}\n" for i, (a, b) in
                                                       enumerate([("x", "y"), ("x", "z"), ("w", "y"), ("w", "z")])))
    assert main(["bench", "--table", "~/t.csv", "--space", "chain", "--objective", "acc", "--strategies", "random",
                 "--trials", "3", "--seeds", "1", "--out", "~/b"]) == 0
    assert (home / "b" / "bench.json").is_file() and not (home.parent / "~").exists()
    capsys.readouterr()
    assert main(["bench", "--table", "~/t.csv", "--space", "chain", "--space-config", "~/none.yaml"]) == 2
    assert f"{home}/none.yaml" in capsys.readouterr().err


def test_a_tilde_in_a_sqlite_storage_and_in_nasforge_data(home, monkeypatch):
    from nasforge.benchmarks.data_files import data_dirs
    from nasforge.cli import _home_expanded

    assert _home_expanded("sqlite:///~/runs/s.db?mode=ro", storage=True) == f"sqlite:///{home}/runs/s.db?mode=ro"
    assert _home_expanded("sqlite+pysqlite:///~/s.db", storage=True) == f"sqlite+pysqlite:///{home}/s.db"
    assert _home_expanded("sqlite:///~no-such-user-48/s.db", storage=True) == "sqlite:///~no-such-user-48/s.db"
    assert _home_expanded("postgresql://u@h/~db", storage=True) == "postgresql://u@h/~db"
    (home / "d").mkdir()
    monkeypatch.setenv("NASFORGE_DATA", "~/d")
    assert data_dirs()[0] == home / "d"


# -- an output encoding that cannot show every character -------------------------------------------------------------
def _ascii_streams(monkeypatch):
    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="ascii") for _ in range(2))
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)

    def text(stream):
        stream.flush()
        return stream.buffer.getvalue().decode("ascii")

    return lambda: (text(out), text(err))


def test_a_table_on_an_ascii_stdout_is_printed(tmp_path, monkeypatch):
    from nasforge.cli import main

    table = tmp_path / "t.csv"
    table.write_text("arch,acc\nx|y,1\nx|z,2\nw|y,3\nw|z,4\n")
    shown = _ascii_streams(monkeypatch)
    assert main(["bench", "--table", str(table), "--space", "chain", "--objective", "acc", "--strategies", "random",
                 "--trials", "3", "--seeds", "1", "--out", str(tmp_path / "é")]) == 0
    out, _ = shown()
    assert "-----" in out and "\\xe9" in out and sys.stdout.errors == "strict"  # the stream's own handling is back


def test_a_printed_command_names_the_real_study(tmp_path, monkeypatch):
    from nasforge.cli import _fail
    from nasforge.cli.output import shown_on
    from nasforge.exceptions import NasforgeError

    shown = _ascii_streams(monkeypatch)
    exc = NasforgeError("study 'é-run' failed")
    exc.add_note("the study is stored; finish the run with: nasforge resume 'é-run' --storage sqlite:///s.db")
    assert _fail("search", exc, 1, debug=False) == 1
    assert shown()[1] == ("nasforge search: error: study $'\\u00e9-run' failed\nnasforge search: the study is stored; "
                          "finish the run with: nasforge resume $'\\u00e9-run' --storage sqlite:///s.db\n")
    stream = io.TextIOWrapper(io.BytesIO(), encoding="latin-1")
    assert shown_on("nasforge resume 'é中\\🎉' --storage x", stream) == \
        "nasforge resume $'é\\u4e2d\\\\\\U0001f389' --storage x"
    assert shown_on("resume 'é-run'", io.StringIO()) == "resume 'é-run'"


def test_two_password_keys_side_by_side_are_both_dropped():
    """Would fail: the first match took the '&' the next key needed, so sslpassword= stayed recorded."""
    from nasforge.experiment.storage.display import without_password

    url = "postgresql+psycopg://bob@db.example/nas?password=pw&sslpassword=KeyPass9&sslmode=require"
    assert without_password(url) == "postgresql+psycopg://bob@db.example/nas?sslmode=require"
    assert without_password("postgresql://h/d?sslpassword=A&sslpassword=B") == "postgresql://h/d"
    assert without_password("postgresql://h/d?a=1&password=x") == "postgresql://h/d?a=1"


def test_a_table_rendered_into_a_buffer_takes_standard_outputs_encoding(monkeypatch):
    """Would fail: `trials` renders its table into a StringIO (no encoding), so an ASCII terminal got '\\u2500'."""
    import io

    from nasforge.cli import output

    monkeypatch.setattr(output.sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    assert output._rule(io.StringIO()) == "-"


def test_a_plain_storage_path_has_its_tilde_expanded(monkeypatch, tmp_path):
    from nasforge.cli import _home_expanded

    monkeypatch.setenv("HOME", str(tmp_path))
    assert _home_expanded("~/s.db", storage=True) == str(tmp_path / "s.db")
    assert _home_expanded("postgresql://u@h/~db", storage=True) == "postgresql://u@h/~db"
