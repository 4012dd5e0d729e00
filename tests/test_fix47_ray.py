"""Ray executor and noisy table fixes of 2026-12-07 (stop 47): noisy table draws that do not depend on the executor,
Ctrl-C while Ray is imported, an unreachable Ray cluster, and init_kwargs that ray.init refuses."""

from __future__ import annotations

import itertools
import pickle
import sys

import pytest

from nasforge import Study
from nasforge.benchmarks import TabularBenchmark
from nasforge.evaluators import TableEvaluator
from nasforge.exceptions import UsageError
from nasforge.experiment.executors import EXECUTORS
from nasforge.experiment.executors.inline import InlineExecutor
from nasforge.spaces import get_space

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def _seed_table(n: int = 40) -> TabularBenchmark:
    """NB201 rows whose ``acc_seed<k>`` column holds k, so a noisy query's ``acc`` is the seed it drew."""
    archs = [f"|{g[0]}~0|+|{g[1]}~0|{g[2]}~1|+|{g[3]}~0|{g[4]}~1|{g[5]}~2|"
             for g in itertools.islice(itertools.product(OPS, repeat=6), n)]
    return TabularBenchmark([{"arch": a, **{f"acc_seed{k}": float(k) for k in range(5)}} for a in archs],
                            get_space("nb201"))


@pytest.mark.parametrize("seed", [123, None])
def test_noisy_table_draws_do_not_depend_on_the_executor(seed):
    """Would fail: the evaluator advanced one generator of its own, so a Ray task (a fresh copy of the evaluator per
    query) drew the same seed every time, and N worker processes (one copy each) repeated each other's draws."""
    table = _seed_table()
    inline = TableEvaluator(table, noisy=True, seed=seed)
    archs = list(table.archs)
    drawn = [inline.evaluate(a).metrics["acc"] for a in archs]
    copied = pickle.dumps(inline)  # what the process and Ray executors send to their workers
    assert [pickle.loads(copied).evaluate(a).metrics["acc"] for a in archs] == drawn  # a copy per query (Ray)
    halves = pickle.loads(copied), pickle.loads(copied)  # two workers, trials alternating
    assert [halves[i % 2].evaluate(a).metrics["acc"] for i, a in enumerate(archs)] == drawn
    assert len(set(drawn)) == 5  # every seed is drawn: noise, not one repeated draw
    assert [inline.evaluate(a).metrics["acc"] for a in reversed(archs)] == drawn[::-1]  # order does not matter


def test_noisy_table_draws_change_with_the_seed_and_repeat_for_an_architecture():
    table = _seed_table(12)
    a = table.archs[0]
    assert {TableEvaluator(table, noisy=True, seed=s).evaluate(a).metrics["acc"] for s in range(40)} == \
        {0.0, 1.0, 2.0, 3.0, 4.0}
    evaluator = TableEvaluator(table, noisy=True, seed=7)
    assert len({evaluator.evaluate(a).metrics["acc"] for _ in range(10)}) == 1
    assert TableEvaluator(table).evaluate(a).metrics["acc"] == 2.0  # not noisy: the seed mean


def _waiting_study(tmp_path) -> Study:
    """A stored study with one WAITING trial."""
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="k",
                  storage=f"sqlite:///{tmp_path / 'k.db'}")
    study.enqueue(_seed_table().archs[0])
    return study


def test_ctrl_c_while_ray_is_imported_stays_an_interrupt_and_keeps_the_trials_waiting(tmp_path, monkeypatch):
    """Would fail: shutdown imported Ray again after a Ctrl-C inside ``import ray``, and its AttributeError (a
    partially initialised module) replaced the interrupt: a 79-line traceback and exit status 1, not 130."""
    fake = tmp_path / "fake" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(  # Ctrl-C the first time; a second import fails as a half-imported Ray does
        "from pathlib import Path\nmark = Path(__file__).with_name('imported')\nif mark.exists():\n"
        "    raise AttributeError(\"partially initialized module 'ray' has no attribute '_private'\")\n"
        "mark.touch()\nraise KeyboardInterrupt\n")
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path / "fake"))
    study = _waiting_study(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(TableEvaluator(_seed_table()), 1, n_workers=2, executor="ray")
    assert [t.state.value for t in study.trials] == ["WAITING"]


def test_shutdown_of_an_executor_that_never_got_ray_imports_nothing(monkeypatch):
    """Would fail: shutdown ran ``import ray`` even where start never got past it (here: it raises ImportError)."""
    from nasforge.experiment.executors.ray import RayExecutor

    monkeypatch.setitem(sys.modules, "ray", None)
    RayExecutor(2).shutdown()


class _StuckStop(InlineExecutor):
    """Interrupted as it starts, then fails to stop."""

    def start(self, evaluator, decide):
        raise KeyboardInterrupt

    def shutdown(self):
        raise RuntimeError("cannot stop")


def test_a_run_keeps_its_interrupt_when_stopping_the_workers_fails(tmp_path):
    """Would fail: the executor's shutdown error replaced the interrupt (a traceback and status 1, not 130)."""
    EXECUTORS.register("fix47-stuck", lambda n_workers=1, trial_timeout=None, **kw: _StuckStop(**kw))
    try:
        study = _waiting_study(tmp_path)
        with pytest.raises(KeyboardInterrupt) as raised:
            study.optimize(TableEvaluator(_seed_table()), 1, executor="fix47-stuck")
    finally:
        EXECUTORS._entries.pop("fix47-stuck"), EXECUTORS._tags.pop("fix47-stuck")
    assert raised.value.__notes__ == ["stopping the workers failed too: RuntimeError: cannot stop"]
    assert [t.state.value for t in study.trials] == ["WAITING"]


def _refusing_ray_init(monkeypatch, error: BaseException) -> None:
    ray = pytest.importorskip("ray")

    def init(**kwargs):
        raise error

    monkeypatch.setattr(ray, "init", init)


def test_a_ray_cluster_that_is_down_is_one_line_naming_the_address_and_the_override(monkeypatch):
    """Would fail: ray.init's ConnectionError reached the user as a 42-line traceback (status 1)."""
    from nasforge.experiment.executors.ray import RayExecutor

    _refusing_ray_init(monkeypatch, ConnectionError("Could not find any running Ray instance.\nPlease specify ..."))
    with pytest.raises(UsageError, match=r"^cannot reach the Ray cluster at executor option address='auto' \(Could "
                                         r"not find any running Ray instance\. Please specify \.\.\.\): start it, "
                                         r"or run on this machine with executor='process' \(nasforge resume "
                                         r"--executor process\)$"):
        RayExecutor(1, address="auto")._init_ray()


@pytest.mark.parametrize("error", [ValueError("Resource quantities must be nonnegative."),
                                   RuntimeError("Unknown keyword argument(s): bogus_kw"),
                                   AssertionError("CPU (<class 'str'>): two"), TypeError("bad")])
def test_init_kwargs_that_ray_init_refuses_are_a_usage_error_naming_them(monkeypatch, error):
    """Would fail: a bad init_kwargs value came back as Ray's raw ValueError, RuntimeError or AssertionError."""
    from nasforge.experiment.executors.ray import RayExecutor

    _refusing_ray_init(monkeypatch, error)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(UsageError, match=rf"^executor option init_kwargs=\{{'num_cpus': -1\}} was refused by "
                                         rf"ray\.init: {type(error).__name__}: "):
        RayExecutor(1, init_kwargs={"num_cpus": -1})._init_ray()
    with pytest.raises(UsageError, match=r"^executor option address='bogus' was refused by ray\.init: "):
        RayExecutor(1, address="bogus")._init_ray()  # ray.init's 'Invalid address format: bogus' (a ValueError)
    with pytest.raises(type(error)) as raised:  # nothing of the user's to blame: Ray's own failure, as it is
        RayExecutor(1)._init_ray()
    assert not isinstance(raised.value, UsageError)


def test_a_bad_ray_address_variable_is_named_not_the_valid_init_kwargs(monkeypatch):
    """Would fail: RAY_ADDRESS=bogus was reported as 'init_kwargs={'num_cpus': 1} was refused'."""
    from nasforge.experiment.executors.ray import RayExecutor

    _refusing_ray_init(monkeypatch, ValueError("Invalid address format: bogus"))
    monkeypatch.setenv("RAY_ADDRESS", "bogus")
    with pytest.raises(UsageError, match=r"^executor option init_kwargs=\{'num_cpus': 1\} and RAY_ADDRESS='bogus' "
                                         r"were refused by ray\.init: ValueError: Invalid address format: bogus$"):
        RayExecutor(1, init_kwargs={"num_cpus": 1})._init_ray()
    with pytest.raises(UsageError, match=r"^RAY_ADDRESS='bogus' was refused by ray\.init"):
        RayExecutor(1)._init_ray()
