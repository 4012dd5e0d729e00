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


def _edit(path, change):
    info = json.loads(path.read_text())
    change(info)
    path.write_text(json.dumps(info))


def _saved_supernet(folder, few_shot=False):
    from nasforge.oneshot import split_supernet
    from nasforge.oneshot.checkpoint import save_supernet
    from nasforge.oneshot.registry import build_supernet

    net = build_supernet("nb201", 10, 1, C=4, N=1)
    if few_shot:
        net = split_supernet(net, "edge_0_1")
    save_supernet(net, folder)
    return net


def test_a_few_shot_list_longer_than_the_weights_is_refused_before_any_copy(tmp_path, monkeypatch):
    """A 12 KB supernet.json listing 3000 parts made 3000 deep copies of the supernet (287 s, 4.6 GB) before
    the weights were compared."""
    import copy

    from nasforge.oneshot.checkpoint import CheckpointError, load_supernet

    net = _saved_supernet(tmp_path / "sn", few_shot=True)
    parts = len(net.members)
    loaded, _ = load_supernet(tmp_path / "sn")  # as saved: loads
    assert len(loaded.members) == parts
    _edit(tmp_path / "sn" / "supernet.json", lambda info: info["config"].update(few_shot=[{}] * 50))
    copies = []
    monkeypatch.setattr(copy, "deepcopy", lambda *args, **kwargs: copies.append(1))
    with pytest.raises(CheckpointError, match=f"does not fit .*: supernet.json lists 50 few-shot part\\(s\\), "
                                              f"supernet.pt holds the weights of {parts}$"):
        load_supernet(tmp_path / "sn")
    assert not copies

