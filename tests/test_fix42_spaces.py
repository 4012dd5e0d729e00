"""Fixes of review 42 (search spaces, bench): runs that stop early, space bugs named, space modules, the cache."""

from __future__ import annotations

import json
import warnings

import pytest

from nasforge.analysis.harness import compare
from nasforge.exceptions import SpaceExhausted, SpaceExhaustedWarning
from nasforge.strategies import STRATEGIES, Strategy


def _chain_table():
    """A 9-architecture chain table: acc = the sum of the choices' positions (a=0, b=1, c=2)."""
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"]] * 2)
    records = [{"arch": space.format(a), "acc": float(sum("abc".index(c) for c in a.genotype))}
               for a in space.enumerate()]
    return TabularBenchmark(records, space)


class GivesUp(Strategy):
    """Proposes only the first 3 + seed architectures of the space, so that it runs out early for small seeds."""

    name = "gives_up"
    max_dedup_tries = own_tries = 50

    def _propose(self):
        return self.rng.choice(list(self.space.enumerate())[:3 + self.seed])

    def _unproposed(self):  # gives up, as on a space that cannot be enumerated (on this one asks find the rest)
        raise SpaceExhausted(f"{self.name}: gave up")


@pytest.fixture()
def gives_up(monkeypatch):
    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))
    monkeypatch.setattr(STRATEGIES, "_tags", dict(STRATEGIES._tags))
    STRATEGIES.register("gives_up", GivesUp)


def test_compare_names_the_runs_that_stopped_early_and_reports_no_regret_from_fewer(gives_up):
    with pytest.warns(SpaceExhaustedWarning) as caught:
        report = compare(_chain_table(), ["gives_up", "random"], seeds=3, budget=5, objective="acc", secondary=None,
                         workers=1)
    assert [str(w.message) for w in caught] == [
        "strategy 'gives_up': 2 of 3 runs stopped before 5 evaluations (seed 0 after 3, seed 1 after 4): it found "
        "no new architecture to propose; no regret is reported after more evaluations than the shortest run made (3)"]
    rep = report.strategies["gives_up"]
    assert rep.stopped == {0: 3, 1: 4}
    assert rep.at(3) >= 0 and all(rep.at(n, stat) != rep.at(n, stat) for n in (4, 5) for stat in ("mean", "median"))
    assert rep.at(5, unique=True) != rep.at(5, unique=True)
    assert report.strategies["random"].stopped == {} and report.strategies["random"].at(5) >= 0
    data = report.to_json()
    assert data["stopped_early"] == {"gives_up": {"0": 3, "1": 4}}
    assert data["summary"][0]["mean@5"] is None


def test_run_trace_of_a_run_that_stops_early_is_short_and_warns_its_caller_once(gives_up):
    from nasforge.analysis.harness import run_trace

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trace = run_trace(_chain_table(), "gives_up", 0, 5, "acc")
    assert len(trace.values) == 3
    assert [(w.category, str(w.message), w.filename) for w in caught] == [(
        SpaceExhaustedWarning, "strategy 'gives_up', seed 0: the run stopped after 3 of 5 evaluations on table: it "
        "found no new architecture to propose, so the trace is shorter than the budget", __file__)]


def test_study_exhaustion_warning_names_the_strategy_and_seed():
    from nasforge import Study
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b"]] * 2)
    study = Study(space, "random", objectives="acc", seed=4)
    with pytest.warns(SpaceExhaustedWarning, match=r"study 'study': strategy 'random' \(seed 4\) has no new "
                                                   r"architecture to propose .* 4 proposals of the target"):
        study.optimize(lambda arch: {"acc": 1.0}, n_trials=6)


def test_bench_table_and_footnote_say_runs_stopped_and_do_not_blame_repeats(gives_up, tmp_path, capsys):
    from nasforge.cli import main

    table = tmp_path / "t.csv"
    tab = _chain_table()
    table.write_text("arch,acc\n" + "".join(f"{tab.space.format(a)},{v}\n" for a, v in
                                            zip(tab.archs, tab.values("acc"))))
    with pytest.warns(SpaceExhaustedWarning, match=r"'gives_up': 2 of 3 runs stopped before 5 evaluations \(seed 0"):
        assert main(["bench", "--table", str(table), "--space", "chain", "--objective", "acc", "--strategies",
                     "gives_up", "--seeds", "3", "--trials", "5", "--workers", "1", "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    row = next(line for line in captured.out.splitlines() if line.startswith("gives_up") and " 5 " in line)
    assert row.split()[:5] == ["gives_up", "5", "-", "-", "-"]
    assert "a run of the strategy stopped before n evaluations" in captured.out
    assert "they repeat" not in captured.out
    assert json.loads((tmp_path / "o" / "bench.json").read_text())["stopped_early"] == {"gives_up": {"0": 3, "1": 4}}


class _BadSample:
    """Made lazily: a user chain space whose sample() returns a plain tuple (the space's bug, not the strategy's)."""

    @staticmethod
    def make():
        from nasforge.spaces import ChainSpace

        class BadSample(ChainSpace):
            def sample(self, rng):
                return tuple(super().sample(rng).genotype)

        return BadSample([["a", "b"]] * 2)


def test_a_space_bug_under_a_built_in_strategy_names_the_space_methods():
    from nasforge import Study
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match=r"strategy 'random' \(RandomSearch\) proposed what is no architecture of "
                                         r"space 'chain': .*tuple.*; the built-in strategy proposes what the space's "
                                         r"own methods return \(sample, neighbors, mutate, from_params, enumerate\), "
                                         r"so one of BadSample's returned it"):
        Study(_BadSample.make(), "random", objectives="acc", seed=0).optimize(lambda a: {"acc": 1.0}, n_trials=2)


def test_a_user_strategy_proposing_a_non_architecture_is_still_named_as_its_bug():
    from nasforge import Study
    from nasforge.exceptions import UsageError
    from nasforge.spaces import ChainSpace

    class Mine(Strategy):
        name = "mine42"

        def _propose(self):
            return ("a", "a")

    space = ChainSpace([["a", "b"]] * 2)
    with pytest.raises(UsageError, match=r"proposed what is no architecture of space 'chain': .*; its _propose must "
                                         r"return one"):
        Study(space, Mine(space, seed=0), objectives="acc").optimize(lambda a: {"acc": 1.0}, n_trials=1)


def test_the_distinct_count_cache_keeps_no_space_alive():
    import gc
    import weakref

    from nasforge.spaces import ChainSpace
    from nasforge.strategies import base, get_strategy

    refs, keys = [], set()
    for seed in range(20):
        space = ChainSpace([["a", "b"], ["c", "d"]])
        strategy = get_strategy("random", space, seed=seed)
        strategy.ask()
        assert base._distinct(space) == 4 and id(space) in base._DISTINCT
        refs.append(weakref.ref(space))
        keys.add(id(space))
        if seed == 0:
            kept = space
        del strategy, space
    gc.collect()
    assert [ref() is not None for ref in refs] == [True] + [False] * 19
    assert base._DISTINCT[id(kept)][0]() is kept  # the entry of the living space stays
    assert not (keys - {id(kept)}) & base._DISTINCT.keys()  # those of the dead ones were removed with them


def test_space_module_with_an_abstract_class_is_one_line_exit_2(tmp_path, capsys):
    from nasforge.cli import main

    (tmp_path / "mine.py").write_text("from nasforge import SearchSpace\n\n\nclass Incomplete(SearchSpace):\n"
                                      "    name = 'inc'\n\n    def sample(self, rng):\n        return None\n")
    (tmp_path / "t.csv").write_text("arch,acc\n0,1.0\n1,2.0\n")
    code = main(["bench", "--table", str(tmp_path / "t.csv"), "--space-module", f"{tmp_path / 'mine.py'}:Incomplete",
                 "--objective", "acc", "--seeds", "1", "--trials", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "class Incomplete is abstract: it does not define canonical, categorical_params, " in err
    assert not (tmp_path / "o").exists()


def _nb201_rows(rule: str):
    """One row per class of NAS-Bench-201 ``rule`` (its representatives), with a made-up accuracy."""
    from nasforge.spaces import NASBench201Space

    space = NASBench201Space(rule)
    reps = {space.canonical_key(a): a for a in space.enumerate()}
    return [{"arch": space.format(a), "acc": float(i % 97)} for i, a in enumerate(reps.values())]


def test_a_partial_nb201_table_complete_under_another_rule_names_that_rule():
    from nasforge.analysis.harness import check_coverage
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.exceptions import UsageError
    from nasforge.spaces import NASBench201Space

    rows = _nb201_rows("functional")
    with pytest.raises(UsageError, match=r"holds 4,930 of the 5,260 distinct architectures of space 'nb201'; bench "
                                         r".*or a --space-config with \{\"canonical_rule\": \"functional\"\}"):
        check_coverage(TabularBenchmark(rows, NASBench201Space()), "bench", "a --space-config")
    assert check_coverage(TabularBenchmark(rows, NASBench201Space("functional"))) == 4930


def test_a_partial_table_of_another_space_names_the_python_route_to_search_a_surrogate():
    from nasforge.analysis.harness import check_coverage
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.exceptions import UsageError
    from nasforge.spaces import NASBench201Space

    rows = _nb201_rows("network")[:100]
    with pytest.raises(UsageError, match=r"a surrogate fitted on it \(nasforge surrogate fit\) can be searched in "
                                         r"Python: Study\(\.\.\.\)\.optimize\(SurrogateEvaluator\(SurrogateBenchmark"):
        check_coverage(TabularBenchmark(rows, NASBench201Space()), "bench", "a --space-config")


def test_space_chain_on_a_table_of_another_space_names_the_row_and_its_arch(tmp_path, capsys):
    from nasforge.cli import main

    (tmp_path / "t.csv").write_text("arch,acc\na|b,1.0\n|nor_conv_1x1~0|+|skip_connect~0|,2.0\n")
    code = main(["bench", "--table", str(tmp_path / "t.csv"), "--space", "chain", "--objective", "acc",
                 "--seeds", "1", "--trials", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert ("--space chain: data row 2 of --table has arch '|nor_conv_1x1~0|+|skip_connect~0|', which is no chain "
            "architecture ('|'-separated choices such as 'conv3|skip'): empty choice at position 0") in err


def test_get_space_chain_takes_no_stored_flag_so_a_built_in_name_stays_refused():
    from nasforge.exceptions import UsageError
    from nasforge.spaces import ChainSpace, get_space

    with pytest.raises(UsageError, match=r"unexpected keyword argument 'stored' \(it takes: layers, name, stages\)"):
        get_space("chain", layers=[["a", "b"]], name="nb201", stored=True)
    with pytest.raises(UsageError, match="nb201"):
        get_space("chain", layers=[["a", "b"]], name="nb201")
    kept = ChainSpace.from_config({"layers": [["a", "b"]], "name": "nb201", "stages": None}, stored=True)
    assert (kept.name, kept.layers, kept.size) == ("nb201", (("a", "b"),), 2)
