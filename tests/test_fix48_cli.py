"""Review 48 (docs/cli.md): worker pools capped, repeated strategies, empty option values, notices after refusals."""

import pytest

from nasforge.analysis import harness
from nasforge.cli import main
from nasforge.spaces import ChainSpace

LAYERS = [["conv3", "conv5", "skip"], ["conv3", "conv5", "skip"], ["conv3", "conv5"]]


@pytest.fixture
def chain(tmp_path):
    """A table of every architecture of a small chain space (the docs' chain.csv kind), and its layers.yaml."""
    space, table, layers = ChainSpace(LAYERS), tmp_path / "chain.csv", tmp_path / "layers.yaml"
    rows = [f"{space.format(a)},{50 + i % 7},{60 + i % 5}" for i, a in enumerate(space.enumerate())]
    table.write_text("arch,acc,val_acc\n" + "\n".join(rows) + "\n")
    layers.write_text("".join(f"- [{', '.join(layer)}]\n" for layer in LAYERS))
    return table, layers


def lines(text: str) -> list[str]:
    return text.strip().splitlines()


@pytest.fixture
def pools(monkeypatch):
    """The ``max_workers`` of every process pool bench starts; the pool maps in this process (nothing is forked)."""
    started: list[int] = []

    class Recorder:
        def __init__(self, max_workers, mp_context=None):
            started.append(max_workers)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def map(self, fn, *iterables, chunksize=1):
            return map(fn, *iterables)

    monkeypatch.setattr(harness, "ProcessPoolExecutor", Recorder)
    return started


def test_bench_starts_no_more_workers_than_runs(chain, tmp_path, capsys, pools):
    table, layers = chain
    code = main(["bench", "--table", str(table), "--space", "chain", "--space-config", str(layers), "--objective",
                 "acc", "--workers", "100000", "--trials", "5", "--seeds", "3", "--strategies", "random",
                 "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    assert pools == [3]  # 1 strategy x 3 seeds


def test_compare_starts_no_more_workers_than_runs(chain, pools):
    from nasforge.benchmarks import TabularBenchmark, read_table

    table = TabularBenchmark(read_table(chain[0], text_columns=("arch",)), ChainSpace(LAYERS))
    report = harness.compare(table, ["random", "evolution"], seeds=2, budget=5, objective="acc", workers=64)
    assert pools == [4] and set(report.strategies) == {"random", "evolution"}


def test_a_workers_count_no_system_can_run_is_refused_in_one_line(chain, tmp_path, capsys, pools):
    table, layers = chain
    code = main(["bench", "--table", str(table), "--space", "chain", "--space-config", str(layers), "--objective",
                 "acc", "--workers", "99999999999999999999", "--trials", "5", "--seeds", "1", "--strategies",
                 "random", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and lines(err) == ["nasforge bench: error: --workers must be an integer >= 1 and <= 4194304, "
                                        "got 99999999999999999999"]
    assert pools == [] and not (tmp_path / "out").exists()
    with pytest.raises(harness.UsageError, match="workers must be an integer >= 0 and <= 4194304"):
        harness.compare(None, ["random"], secondary=None, workers=2**31)


@pytest.mark.parametrize("given, said", [("random,random", "random"),
                                         ("evolution,re", "evolution and re (the same strategy)")])
def test_surrogate_eval_refuses_a_repeated_strategy_as_bench_does(tmp_path, capsys, given, said):
    code = main(["surrogate", "eval", str(tmp_path / "s"), "--strategies", given, "--seeds", "1", "--trials", "5",
                 "--out", str(tmp_path / "q")])
    err = capsys.readouterr().err
    assert code == 2 and lines(err) == [f"nasforge surrogate eval: error: --strategies: {said} given more than once; "
                                        "name each strategy once"]
    assert not (tmp_path / "q").exists()


@pytest.mark.parametrize("argv, option", [(["--objective", ""], "--objective"),
                                          (["--workers-simulated", "2", "--time-column", ""], "--time-column")])
def test_bench_refuses_an_empty_objective_or_time_column_before_any_work(chain, tmp_path, capsys, argv, option):
    table, layers = chain
    code = main(["bench", "--table", str(table), "--space", "chain", "--space-config", str(layers), *argv,
                 "--trials", "5", "--seeds", "1", "--strategies", "random", "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""  # no run header
    assert lines(captured.err) == [f"nasforge bench: error: {option}: metric '' is not in table 'chain.csv'; "
                                   "available: ['acc', 'val_acc']"]


def test_bench_secondary_empty_still_means_none(chain, tmp_path, capsys):
    table, layers = chain
    code = main(["bench", "--table", str(table), "--space", "chain", "--space-config", str(layers), "--objective",
                 "acc", "--secondary", "", "--trials", "5", "--seeds", "1", "--strategies", "random", "--workers",
                 "1", "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err


def inferred(err: str) -> bool:
    return "nasforge: inferred a chain space from the table" in err


@pytest.mark.parametrize("command, argv", [
    (["bench"], ["--objective", "acc", "--trials", "15", "--seeds", "1", "--strategies", "random", "--out", "{used}"]),
    (["predictors", "eval"], ["--metric", "acc", "--train-sizes", "17", "--test-size", "8", "--out", "{new}"]),
    (["surrogate", "fit"], ["--metrics", "nope", "--model", "knn", "--out", "{new}"]),
], ids=["bench", "predictors", "surrogate-fit"])
def test_a_refusal_after_inferring_a_chain_space_is_one_line(chain, tmp_path, capsys, command, argv):
    used = tmp_path / "used"  # an earlier bench run's folder
    used.mkdir()
    (used / "bench.json").write_text("{}")
    argv = [a.format(used=used, new=tmp_path / "new") for a in argv]
    code = main([*command, "--table", str(chain[0]), "--space", "chain", *argv])
    err = capsys.readouterr().err
    assert code == 2 and len(lines(err)) == 1 and not inferred(err), err


@pytest.mark.slow  # a surrogate fitted, then two evaluations: about 4 s
def test_surrogate_eval_announces_the_inferred_space_only_for_a_run_that_goes_ahead(chain, tmp_path, capsys):
    table = str(chain[0])
    assert main(["surrogate", "fit", "--table", table, "--space", "chain", "--metrics", "acc", "--model", "knn",
                 "--out", str(tmp_path / "s")]) == 0
    assert inferred(capsys.readouterr().err)
    run = ["surrogate", "eval", str(tmp_path / "s"), "--table", table, "--space", "chain", "--metric", "acc",
           "--seeds", "1", "--trials", "5"]
    assert main([*run, "--out", str(tmp_path / "s" / "x")]) == 2
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and "lies inside" in err
    assert main([*run, "--out", str(tmp_path / "e")]) == 0
    assert inferred(capsys.readouterr().err)


@pytest.mark.parametrize("command", [["bench", "--objective", "acc"], ["predictors", "eval", "--metric", "acc"],
                                     ["surrogate", "fit", "--metrics", "acc"]])
def test_an_empty_arch_column_is_refused_not_read_as_arch(chain, tmp_path, capsys, command):
    table, layers = chain
    code = main([*command, "--table", str(table), "--space", "chain", "--space-config", str(layers),
                 "--arch-column", "", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and lines(err) == [f"nasforge {' '.join(command[:-2])}: error: --arch-column must name a column "
                                        "of --table, got '' (an unset shell variable?)"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv", [["status", "--", "--storage", "x"], ["status", "--", "--storage=x", "y"]])
def test_an_option_taken_as_the_study_after_dashes_gets_the_put_it_before_hint(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(lines(err)) == 1
    assert "; --storage: an option after '--' is read as an argument; put it before '--'" in err


def test_the_python_fidelity_report_refuses_a_repeated_strategy_before_any_work():
    from nasforge.analysis.surrogate_fidelity import fidelity_report

    with pytest.raises(harness.UsageError, match="evolution and re .the same strategy. given more than once"):
        fidelity_report(None, None, strategies=["evolution", "re"])
