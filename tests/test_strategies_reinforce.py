"""REINFORCE / PPO controller: the policy moves towards what scores well, on every space; exact resume;
learning on the NAS-Bench-201 table."""

import numpy as np
import pytest

from nasforge.exceptions import UsageError
from nasforge.spaces import ChainSpace, DartsSpace, NASBench101Space, NASBench201Space
from nasforge.strategies import Reinforce, get_strategy

NB201 = NASBench201Space()
CONV3 = NB201.categorical_params()["edge_0_1"].index("nor_conv_3x3")


def conv_score(arch):
    return float(sum(op == "nor_conv_3x3" for op in arch.genotype))


def run(strategy, n, score=conv_score):
    archs = []
    for _ in range(n):
        arch = strategy.ask()
        strategy.tell(arch, score(arch))
        archs.append(arch)
    return archs


@pytest.mark.parametrize("algorithm", ["reinforce", "ppo"])
def test_policy_concentrates_on_what_scores_well(algorithm):
    strategy = Reinforce(NB201, seed=0, algorithm=algorithm)
    archs = run(strategy, 150)
    probs = [np.exp(z - z.max()) / np.exp(z - z.max()).sum() for z in strategy.policy.logits]
    assert min(p[CONV3] for p in probs) > 0.5  # uniform would be 0.2
    early, late = np.mean([conv_score(a) for a in archs[:30]]), np.mean([conv_score(a) for a in archs[-30:]])
    assert late > early + 1.0
    assert len({NB201.canonical_key(a) for a in archs}) == 150  # de-duplicated like every strategy


def test_entropy_bonus_keeps_the_policy_wider():
    spread = []
    for coef in (0.0, 0.5):
        strategy = Reinforce(NB201, seed=1, entropy_coef=coef)
        run(strategy, 100)
        spread.append(np.mean([np.exp(z - z.max()).sum() for z in strategy.policy.logits]))  # larger: flatter
    assert spread[1] > spread[0]


@pytest.mark.parametrize("space", [DartsSpace(), NASBench101Space(), ChainSpace([["a", "b"], ["c", "d", "e"]] * 3)],
                         ids=["darts", "nb101", "chain"])
def test_every_space(space):
    def score(arch):
        view = space.to_params(arch)
        return float(sum(choices.index(view[n]) == 0 for n, choices in space.categorical_params().items()))

    archs = run(Reinforce(space, seed=0), 40, score)
    for arch in archs:
        space.validate(arch)
    assert len({space.canonical_key(a) for a in archs}) == 40


@pytest.mark.parametrize("algorithm", ["reinforce", "ppo"])
def test_same_seed_and_exact_resume(algorithm):
    assert run(Reinforce(NB201, seed=2, algorithm=algorithm), 30) == run(Reinforce(NB201, seed=2, algorithm=algorithm), 30)
    batch = {"batch_size": 4} if algorithm == "ppo" else {}
    reference = Reinforce(NB201, seed=4, algorithm=algorithm, **batch)
    pending = [reference.ask() for _ in range(3)]  # resume with results still outstanding
    snapshot = reference.state_dict()
    for arch in pending:
        reference.tell(arch, conv_score(arch))
    expected = run(reference, 20)
    resumed = Reinforce(NB201, seed=0, algorithm=algorithm, **batch)
    resumed.load_state_dict(snapshot)
    for arch in pending:
        resumed.tell(arch, conv_score(arch))
    assert run(resumed, 20) == expected


def test_bad_algorithm():
    with pytest.raises(UsageError, match="algorithm"):
        get_strategy("reinforce", NB201, algorithm="a2c")


@pytest.mark.parametrize("setting", [{"batch_size": 5}, {"ppo_epochs": 2}, {"clip": 0.1}])
def test_ppo_settings_without_ppo_are_refused(setting):
    with pytest.raises(UsageError, match=f"reinforce: {next(iter(setting))} needs algorithm='ppo'"):
        get_strategy("reinforce", NB201, **setting)
    get_strategy("reinforce", NB201, algorithm="ppo", **setting)


def test_learns_on_the_nb201_table():
    from scipy.stats import mannwhitneyu

    from nasforge.analysis.harness import run_trace
    from nasforge.benchmarks import load_nb201
    from nasforge.exceptions import MissingFileError

    try:
        table = load_nb201()
    except MissingFileError as exc:
        pytest.skip(f"NAS-Bench-201 table not available: {exc}")
    optimum = table.optimum("val_acc", "maximize")

    def regrets(name):
        return np.array([optimum - run_trace(table, name, seed, 150, "val_acc").values.max() for seed in range(10)])

    ours, rand = regrets("reinforce"), regrets("random")
    assert ours.mean() < 0.6 * rand.mean() and mannwhitneyu(ours, rand, alternative="less").pvalue < 0.05, (ours, rand)


def test_lstm_controller_resumes_exactly():
    pytest.importorskip("torch")
    strategy = Reinforce(NB201, seed=0, controller="lstm", lr=0.02)
    run(strategy, 15)
    snapshot = strategy.state_dict()
    expected = run(strategy, 10)
    resumed = Reinforce(NB201, seed=9, controller="lstm", lr=0.02)
    resumed.load_state_dict(snapshot)
    assert run(resumed, 10) == expected
    with pytest.raises(UsageError, match="controller"):
        Reinforce(NB201, controller="gru")


@pytest.mark.slow
def test_lstm_controller_learns():
    pytest.importorskip("torch")
    archs = run(Reinforce(NB201, seed=0, controller="lstm", lr=0.02), 120)
    early, late = np.mean([conv_score(a) for a in archs[:30]]), np.mean([conv_score(a) for a in archs[-30:]])
    assert late > early + 1.0
