"""Storage paths older versions read, bench-folder hints, graph-view refusals, settings warnings, the rich bar,
few-shot checks (me42)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from nasforge import Study, get_space
from nasforge.exceptions import StorageError, UsageError
from nasforge.experiment.storage import open_storage


def test_a_plain_path_older_versions_read_as_another_file_warns_when_that_file_exists(tmp_path, monkeypatch):
    """Would fail before: storage='exp%41.db' quietly started a new study beside the expA.db an older nasforge
    had written for that very path."""
    monkeypatch.chdir(tmp_path)
    with Study(get_space("nb201"), "random", storage=str(tmp_path / "expA.db"), name="s") as study:
        study.tell(study.ask(), 1.0)
    with pytest.warns(UserWarning, match=r"read this path as the file .*expA\.db"):
        open_storage("exp%41.db").close()
    assert (tmp_path / "exp%41.db").is_file()  # the file of that very name, as documented


def test_the_bench_folder_hint_quotes_the_folder_for_the_shell(tmp_path):
    folder = tmp_path / "bench dir"
    folder.mkdir()
    (folder / "bench.json").write_text("{}")
    with pytest.raises(StorageError, match=r"report it with: nasforge report") as caught:
        open_storage(str(folder), readonly=True)
    assert f"nasforge report {shlex.quote(str(folder))}" in str(caught.value)


def test_a_storage_that_must_exist_does_not_offer_memory(tmp_path):
    """Would fail before: resume/delete --storage 'x' listed 'memory', which they refuse."""
    with pytest.raises(StorageError) as caught:
        open_storage(str(tmp_path / "nothing"), create=False)
    assert "expected sqlite:///FILE.db" in str(caught.value)


def test_a_space_without_a_graph_view_names_the_one_hot_route():
    """Would fail before: a bare ValueError, a traceback in `nasforge predictors eval` on a user's own space."""
    from nasforge.predictors.graphs import graph_view

    class Plain(type(get_space("nb201"))):
        pass

    graph_view(Plain())  # a subclass of a space with a view has it
    from types import SimpleNamespace

    with pytest.raises(UsageError, match="encoding='onehot'"):
        graph_view(SimpleNamespace(name="own"))


def test_the_settings_warning_as_an_error_leaves_no_study_stored(tmp_path):
    """Would fail before: with warnings as errors, Study() raised after storing the study, so the next run met
    StudyExistsError."""
    import warnings

    from nasforge.experiment.storage import open_storage as opened

    class Sized(type(get_space("nb201"))):
        def __init__(self, bits: int = 4) -> None:
            super().__init__()
            self.n = bits

    url = f"sqlite:///{tmp_path / 'w.db'}"
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(UserWarning, match="cannot record its constructor argument 'bits'"):
                Study(Sized(bits=3), "random", storage=url, name="a")
    with opened(url, readonly=True) as store:
        assert store.list_studies() == []


def test_the_rich_bar_shows_a_cheap_status_at_once():
    """Would fail before: a status skipped within 0.25 s of the last stayed on the bar through the next (long)
    trial."""
    import io
    import time

    from nasforge.experiment.progress import ProgressReporter

    class TTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    reporter = ProgressReporter("x", 10, stream=TTY())
    reporter.update(1, 0, 1, 0.5)
    time.sleep(0.05)
    reporter.update(2, 1, 1, 0.9)  # a trial failed 50 ms later: its status is cheap, so shown now
    assert reporter._bar.tasks[0].fields["status"] == "best 0.9 | failed 1 | pruned 0 | running 1"  # bests first
    reporter.close()


def test_gradient_similarity_takes_a_decision_of_many_options():
    """Would fail: refused as a split into 70 sub-supernets, though gradient_similarity splits nothing."""
    from types import SimpleNamespace

    from nasforge.oneshot.fewshot import gradient_similarity

    space = SimpleNamespace(name="fake", categorical_params=lambda: {"w": [str(i) for i in range(70)], "v": ["a", "b"]})
    supernet = SimpleNamespace(space=space, parameters=lambda: iter([]))
    with pytest.raises(Exception) as caught:  # fails later, on the fake supernet: not on the option count
        gradient_similarity(supernet, None, "w")
    assert "sub-supernets" not in str(caught.value) and "parts" not in str(caught.value)


def test_supernet_messages_show_the_path_as_given(tmp_path, monkeypatch):
    """Would fail: '--supernet /abs/path/nothere: ...' named an absolute path the user never typed."""
    from nasforge.pipelines.search import _shown

    monkeypatch.chdir(tmp_path)
    assert _shown(str(tmp_path / "runs" / "sn")) == "runs/sn"
    assert _shown("/elsewhere/sn") == "/elsewhere/sn" and _shown("sn") == "sn" and _shown(None) is None


def test_bench_charges_the_optuna_peers_as_ours(tmp_path):
    """Would fail before: bench ran plain Optuna, which evaluated repeats (dup > 0) and spent budget on them."""
    import json
    import os

    from nasforge.cli import main

    pytest.importorskip("optuna")
    data = os.environ.get("NASFORGE_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    if not (Path(data) / "nb201_hp12.csv.gz").is_file():
        pytest.skip(f"NAS-Bench-201 table not available in {data}")
    assert main(["bench", "--strategies", "optuna_tpe", "--seeds", "2", "--trials", "150", "--out",
                 str(tmp_path / "b")]) == 0
    record = json.loads((tmp_path / "b" / "bench.json").read_text())
    assert record["strategy_settings"]["optuna_tpe"]["dedup"] is True
    assert [row["duplicates"] for row in record["summary"]] == [0.0]  # plain Optuna repeats within 150 (TPE)
