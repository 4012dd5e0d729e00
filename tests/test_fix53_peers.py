"""Review 53 fixes (peer comparisons): what a benchmark records of the Optuna peers names the Optuna version and the
sampler's resolved settings (``optuna_tpe`` is another algorithm under Optuna 3.5-4.x than under 5), and
``strategies_learning.py`` plots the rows it tabulates (after pooling)."""

from __future__ import annotations

import json

import pytest

from nasforge.analysis.harness import check_strategies, compare
from nasforge.spaces import NASBench201Space
from nasforge.spaces.nb201 import conv_proxy

optuna = pytest.importorskip("optuna")

SPACE = NASBench201Space()


def _chain_table():
    """A 9-architecture chain table: acc = the sum of the choices' positions (a=0, b=1, c=2)."""
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"]] * 2)
    records = [{"arch": space.format(a), "acc": float(sum("abc".index(c) for c in a.genotype))}
               for a in space.enumerate()]
    return TabularBenchmark(records, space)


def test_bench_records_the_optuna_version_and_resolved_sampler_settings(tmp_path):
    """Would fail before: bench.json recorded {'dedup': True, 'sampler': 'tpe', 'n_objectives': 1} only, whichever
    Optuna ran (Optuna 5 ignores multivariate=False: the record must say what ran, not what was asked)."""
    from nasforge.analysis.studyreport import load_bench

    report = compare(_chain_table(), ["optuna_tpe", "random"], seeds=1, budget=4, objective="acc", secondary=None,
                     workers=1, strategy_kwargs={"optuna_tpe": {"multivariate": False}})
    paths = report.save(tmp_path / "bench")
    settings = json.loads(paths["json"].read_text())["strategy_settings"]
    sampler = optuna.samplers.TPESampler(seed=0, multivariate=False)
    recorded = settings["optuna_tpe"]["optuna"]
    assert recorded["version"] == optuna.__version__ and recorded["sampler"] == "TPESampler"
    assert recorded["multivariate"] is sampler._parzen_estimator_parameters.multivariate  # True under Optuna 5
    assert recorded["constant_liar"] is sampler._constant_liar
    assert settings["optuna_tpe"]["multivariate"] is False  # what was asked stays recorded beside it
    assert "optuna" not in settings["random"]
    # a bench.json written before (no "optuna" record) still loads, as nasforge report reads it
    meta = json.loads(paths["json"].read_text())
    del meta["strategy_settings"]["optuna_tpe"]["optuna"]
    paths["json"].write_text(json.dumps(meta))
    assert load_bench(tmp_path / "bench").strategies == ["optuna_tpe", "random"]


def test_a_sampler_object_records_its_class_and_population():
    from nasforge.strategies.optuna_adapter import OptunaStrategy

    sampler = optuna.samplers.NSGAIISampler(seed=0, population_size=20)
    strategy = OptunaStrategy(SPACE, seed=0, dedup=True, sampler=sampler, n_objectives=2)
    assert strategy.library_settings() == {"optuna": {"version": optuna.__version__, "sampler": "NSGAIISampler",
                                                      "population_size": 20}}
    assert check_strategies(SPACE, ["evolution"])["evolution"].get("optuna") is None


class _ConvTable:
    """A stand-in for the NB201 table: the conv proxy as accuracy."""

    @staticmethod
    def value(arch, metric):
        return 50.0 + conv_proxy(arch)


def test_strategies_mo_rows_record_the_optuna_version(bench_module, monkeypatch):
    strategies_mo = bench_module("strategies_mo")
    fake = {"space": SPACE, "table": _ConvTable(), "cost": conv_proxy, "constraint": None, "ref": (0.0, 60.0),
            "hv": 1000.0, "true": {(104.0, 54.0)}, "reachable_front": set(), "true_networks": set(),
            "strategy_kwargs": {}}
    monkeypatch.setitem(strategies_mo._CTX, "fake", fake)
    out = strategies_mo.run(("optuna_nsga2", "fake", 0, 25))
    assert out["library"]["optuna"]["version"] == optuna.__version__
    assert out["library"]["optuna"]["population_size"] == strategies_mo.NSGA2_POPULATION
    assert strategies_mo.run(("nsga2", "fake", 0, 25))["library"] == {}


def test_strategies_learning_records_the_optuna_version_and_refuses_merging_another(bench_module):
    learning = bench_module("strategies_learning")

    class Table:
        space = SPACE

    library = learning.library_settings(Table(), "optuna_tpe", {"dedup": True})
    assert library["optuna"]["version"] == optuna.__version__
    assert learning.library_settings(Table(), "tpe", {}) == {}
    stored = {"trials": 300, "canonical_rule": "network", "strategy_kwargs": {"dedup": True},
              "optuna": {**library["optuna"], "version": "4.5.0", "multivariate": False}}
    refusal = learning.merge_refusal("optuna_tpe", stored, 300, {"dedup": True}, "network", library)
    assert "optuna" in refusal and "'4.5.0'" in refusal
    same = {**stored, "optuna": library["optuna"]}
    assert learning.merge_refusal("optuna_tpe", same, 300, {"dedup": True}, "network", library) is None
    older = {k: v for k, v in stored.items() if k != "optuna"}  # a row stored before it recorded the version
    assert learning.merge_refusal("optuna_tpe", older, 300, {"dedup": True}, "network", library) is None


def test_strategies_learning_plots_the_seeds_its_table_pools(bench_module, tmp_path, monkeypatch):
    """Would fail before: --plot-only drew the figure before pooling --pool, so the committed CIFAR-10 figure drew
    smac from 40 seeds while its table row pooled 70."""
    import os
    import sys

    import nasforge.benchmarks

    learning = bench_module("strategies_learning")

    class Table:
        @staticmethod
        def optimum(objective, direction):
            return 100.0

    def row(seeds: range) -> dict:
        per_seed = {str(seed): {"values": [99.0] * 60, "seconds": 0.1} for seed in seeds}
        return learning.summarize_traces(Table(), per_seed, 60)

    (tmp_path / "strategies_learning_cifar10.json").write_text(json.dumps({"smac": row(range(2))}))
    pool = tmp_path / "smac_seeds2-4.json"
    pool.write_text(json.dumps({"smac": row(range(2, 5))}))
    drawn: dict[str, int] = {}
    monkeypatch.setattr(nasforge.benchmarks, "load_nb201", lambda **kwargs: Table())
    monkeypatch.setattr(learning, "plot", lambda results, path, title: drawn.update(
        {name: r["seeds"] for name, r in results.items()}))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS"):  # main sets them
        monkeypatch.setenv(var, os.environ.get(var, "1"))
    monkeypatch.setattr(sys, "argv", ["strategies_learning.py", "--plot-only", "--out", str(tmp_path), "--pool",
                                      str(pool)])
    learning.main()
    assert drawn == {"smac": 5}
