"""Review 50 fixes of the one-shot journeys: the strict-fair record line, the --data-dir hint for a moved data
set, and ranking.json's one-seed std (null) and integer counts."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")

from nasforge.cli import main  # noqa: E402
from nasforge.evaluators import SupernetEvaluator  # noqa: E402
from nasforge.exceptions import MissingFileError  # noqa: E402
from nasforge.oneshot import OneShotConfig, build_supernet  # noqa: E402
from nasforge.oneshot.checkpoint import save_supernet  # noqa: E402
from nasforge.oneshot.study import RankingStudy, _aggregate  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _sampling_line(sampling: str) -> str:
    line, = [t for t in OneShotConfig(sampling=sampling).tricks() if t.startswith("sampling")]
    return line


def test_the_strict_fair_line_says_it_accumulates_the_gradients_of_m_paths_into_one_step():
    strict, fair = _sampling_line("strict_fair"), _sampling_line("fair")
    assert strict != fair and strict.startswith("sampling: strict_fair (")
    assert "gradients of m paths" in strict and "one optimizer step" in strict
    assert fair == ("sampling: fair (the widest decisions' options equally often, a smaller decision's about "
                    "equally often)")  # unchanged


@pytest.fixture
def moved(tmp_path, monkeypatch):
    """A supernet folder whose recorded NPZ file is no longer where it was trained on it."""
    monkeypatch.chdir(tmp_path)
    gone = str(tmp_path / "gone.npz")
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), tmp_path / "sn",
                  {"data": {"data": "npz", "data_options": {"data_dir": gone, "val_fraction": 0.4, "seed": 0}}})
    return gone


def test_a_moved_recorded_data_file_is_named_with_the_data_dir_way_out(moved):
    with pytest.raises(MissingFileError, match="--data-dir") as info:
        SupernetEvaluator.from_checkpoint("sn")
    assert repr(moved) in str(info.value) and "recorded split is kept" in str(info.value)


@pytest.mark.parametrize("argv", [["oneshot", "search", "--supernet", "sn", "--trials", "2"],
                                  ["search", "--evaluator", "supernet", "--supernet", "sn", "--trials", "2",
                                   "--retrain", "0", "--out", "run", "--no-progress"]])
def test_both_supernet_searches_suggest_data_dir_for_a_moved_data_file(moved, argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and moved in err and "pass their new location as --data-dir" in err, err


def _seed_row(tau: float) -> dict:
    return {"name": "x", "kendall_tau": tau, "spearman": tau, "top10_tau": tau, "top10_n": 5, "kind": "supernet",
            "kendall_tau@2ep": tau, "archs_per_second": 3.0}


def test_a_one_seed_row_stores_no_std_and_counts_stay_integers():
    row = _aggregate("x", [_seed_row(0.3)])
    stds = [k for k in row if k.endswith("_std")]
    assert sorted(stds) == ["kendall_tau@2ep_std", "kendall_tau_std", "spearman_std", "top10_tau_std"]
    assert all(math.isnan(row[k]) for k in stds)
    assert row["top10_n"] == 5 and isinstance(row["top10_n"], int) and isinstance(row["archs_per_second"], float)
    stored = json.loads(json.dumps(RankingStudy({}, [], {}, {}, rows=[row]).to_json(), allow_nan=False))["rows"][0]
    assert all(stored[k] is None for k in stds) and stored["top10_n"] == 5 and type(stored["top10_n"]) is int


def test_several_seeds_keep_their_std_and_the_shared_count():
    row = _aggregate("x", [_seed_row(0.2), _seed_row(0.4)])
    assert row["kendall_tau_std"] == pytest.approx(0.1414, abs=1e-4) and type(row["top10_n"]) is int



def test_a_resumed_run_says_to_put_the_moved_data_back_not_to_pass_data_dir(moved):
    """Would fail: nasforge resume, which takes no --data-dir, was told to pass one."""
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import SearchConfig, _evaluators
    from nasforge.spaces import get_space

    config = SearchConfig(evaluator="supernet", supernet="sn", retrain=0)
    refused = r"recorded path .* does not exist: put its files back there to resume"
    with pytest.raises(UsageError, match=refused) as info:
        _evaluators(config, get_space("nb201"))
    assert "--data-dir" not in str(info.value)
    with pytest.raises(MissingFileError, match="--data-dir"):  # a new run may name another place
        _evaluators(config, get_space("nb201"), new_run=True)
