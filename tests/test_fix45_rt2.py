"""The one reader of a run folder's summary.json, and the server-run refusal that reads it."""

import json

import pytest

from nasforge.cli.engine import refuse_server_run_folder
from nasforge.exceptions import UsageError
from nasforge.pipelines.search import _summary_record, resume_command


@pytest.mark.parametrize("text", [None, "{not json", "[1]", "\xff"])
def test_summary_record_is_none_for_a_missing_unreadable_or_non_object_summary(tmp_path, text):
    if text == "\xff":
        (tmp_path / "summary.json").write_bytes(b"\xff")
    elif text is not None:
        (tmp_path / "summary.json").write_text(text)
    assert _summary_record(tmp_path) is None


def test_summary_record_reads_the_object(tmp_path):
    (tmp_path / "summary.json").write_text('{"name": "demo"}')
    assert _summary_record(tmp_path) == {"name": "demo"}


def _summary(folder, storage):
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({"name": "demo", "resume_command": resume_command("demo",
                                                                                                     storage)}))
    return folder


def test_the_summary_of_a_server_run_is_refused_naming_its_study(tmp_path):
    folder = _summary(tmp_path / "run", "postgresql://u:secret@host/db")
    with pytest.raises(UsageError, match=r"study 'demo', which is stored in a database server.*nasforge show demo "
                                         r"--storage postgresql://u@host/db") as info:
        refuse_server_run_folder(folder, "nasforge show")
    assert "secret" not in str(info.value)


@pytest.mark.parametrize("storage", ["memory", "sqlite:///:memory:"])
def test_the_summary_of_a_memory_run_is_no_server_run(tmp_path, storage):
    # a memory run's summary was taken for a server run ("run nasforge show demo --storage memory"), as its lock
    # file never was
    refuse_server_run_folder(_summary(tmp_path / "run", storage), "nasforge show")
