"""Review 47, security C: stored JSON and JSON options that nest too deeply are one-line errors; a saved network's or
supernet's description whose sizes do not fit its weights is refused before anything of that size is built."""

import json

import pytest

from nasforge.exceptions import UsageError

DEEP = "[" * 5000 + "]" * 5000  # past Python's parser (RecursionError)
LESS_DEEP = '{"a": ' + "[" * 300 + "]" * 300 + "}"  # parsed, but repr, == or json.dumps of it could fail later


def test_deeply_nested_json_options_and_stored_files_are_one_line_errors(tmp_path):
    """Each of these raised RecursionError (a traceback on the command line)."""
    from nasforge.benchmarks.surrogate import read_manifest
    from nasforge.cli.options import parse_json
    from nasforge.evaluators.supernet import supernet_record
    from nasforge.exceptions import UnsafeFileError
    from nasforge.export import read_info
    from nasforge.oneshot.checkpoint import CheckpointError, load_supernet
    from nasforge.pipelines.search import _summary_record

    for text in (DEEP, LESS_DEEP):
        with pytest.raises(UsageError, match=r"^--strategy-kwargs nests too deeply \(over 200 levels\)$"):
            parse_json(text, "--strategy-kwargs")
        net = tmp_path / "net"
        net.mkdir(exist_ok=True)
        (net / "model.json").write_text(text)
        (net / "model.safetensors").write_bytes(b"")
        with pytest.raises(UsageError, match=r"model.json nests too deeply \(over 200 levels\)$"):
            read_info(net)
        sn = tmp_path / "sn"
        sn.mkdir(exist_ok=True)
        (sn / "supernet.json").write_text(text)
        (sn / "supernet.pt").write_bytes(b"")
        with pytest.raises(CheckpointError, match=r"supernet.json' is damaged: it nests too deeply \(over 200"):
            load_supernet(sn)
        assert supernet_record(sn) is None  # read before loading: the load then names the damage
        (tmp_path / "summary.json").write_text(text)
        assert _summary_record(tmp_path) is None
        (tmp_path / "manifest.json").write_text(text)
        with pytest.raises(UnsafeFileError, match=r"manifest.json nests too deeply \(over 200 levels\)$"):
            read_manifest(tmp_path)


def test_json_limit_error_is_a_value_error_and_config_depth_is_kept():
    from nasforge.jsonfiles import JSONLimitError, loads

    assert issubclass(JSONLimitError, ValueError)
    assert loads("[" * 200 + "]" * 200) == loads("[" * 200 + "]" * 200, 200)
    assert loads("[[1]]", 2) == [[1]]
    with pytest.raises(JSONLimitError, match=r"^nests too deeply \(over 1 levels\)$"):
        loads("[[1]]", 1)
    with pytest.raises(json.JSONDecodeError):
        loads("[")

