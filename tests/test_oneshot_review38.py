"""Review 38 of the oneshot area: the resume note of an interrupted ``oneshot search``, ``--supernet`` as its
option name, its "study already exists" message, the supernet evaluator's thread default, the few-shot split
and wrong-data messages, and ``train_supernet`` leaving torch's global RNG as it was."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from nasforge.cli import build_parser, main  # noqa: E402
from nasforge.data import load_digits  # noqa: E402
from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.oneshot import OneShotConfig, SubnetScorer, build_supernet, train_supernet  # noqa: E402
from nasforge.oneshot.study import RankingConfig  # noqa: E402
from nasforge.pipelines.search import SearchConfig  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _search(ck, *argv: str) -> list[str]:
    return ["oneshot", "search", "--supernet", str(ck), "--bn-mode", "inherited", "--strategy", "random", *argv]


def test_interrupted_oneshot_search_prints_the_command_that_finishes_it(tmp_path, ck, capsys, interrupt_scoring):
    url = f"sqlite:///{tmp_path / 's.db'}"
    interrupt_scoring(2)
    assert main(_search(ck, "--trials", "5", "--storage", url, "--name", "intr")) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err
    assert f"the study is stored; finish the run with: nasforge resume intr --storage {url}" in err


def test_interrupted_in_memory_search_offers_no_resume(ck, capsys, interrupt_scoring):
    interrupt_scoring(2)
    assert main(_search(ck, "--trials", "5")) == 130
    assert "nasforge resume" not in capsys.readouterr().err


def test_study_exists_offers_resume_only_with_work_left(tmp_path, ck, capsys, interrupt_scoring):
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert main(_search(ck, "--trials", "2", "--storage", url)) == 0  # the default --name oneshot-search
    capsys.readouterr()
    assert main(_search(ck, "--trials", "2", "--storage", url)) == 2
    err = capsys.readouterr().err
    assert f"study 'oneshot-search' already exists in {url} and is finished; to run a new search, pass another " \
           "--name or another --storage" in err and "nasforge resume" not in err and len(err.splitlines()) == 1
    interrupt_scoring(2)
    assert main(_search(ck, "--trials", "5", "--storage", url, "--name", "half")) == 130
    capsys.readouterr()
    assert main(_search(ck, "--trials", "5", "--storage", url, "--name", "half")) == 2
    err = capsys.readouterr().err
    assert f"to finish its 4 trials left: nasforge resume half --storage {url}; or pass another --name" in err


def test_supernet_is_the_option_name_and_checkpoint_still_works(tmp_path, ck, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["oneshot", "search", "--help"])
    assert "--supernet FOLDER, --checkpoint FOLDER" in capsys.readouterr().out
    assert main(["oneshot", "search", "--checkpoint", str(ck), "--trials", "2", "--bn-mode", "inherited"]) == 0
    capsys.readouterr()
    for option in ("--supernet", "--checkpoint"):  # an error names the option as typed
        assert main(["oneshot", "search", option, str(tmp_path / "none")]) == 2
        assert capsys.readouterr().err.strip().endswith(
            f"error: {option} {tmp_path / 'none'}: {str(tmp_path / 'none')!r} holds no saved supernet "
            "(supernet.json and supernet.pt)")


def test_supernet_evaluator_defaults_to_one_thread(tmp_path, ck, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    supernet = SearchConfig(evaluator="supernet", supernet=str(ck), out=str(tmp_path / "a")).resolved()
    assert supernet.threads == 1
    assert SearchConfig(out=str(tmp_path / "b"), workers=2).resolved().threads == 1  # training too (search_threads)
    given = SearchConfig(evaluator="supernet", supernet=str(ck), out=str(tmp_path / "c"), threads=3).resolved()
    assert given.threads == 3


@pytest.mark.parametrize("split, message", [
    (("edge_9",), "--few-shot-split edge_9: unknown decision(s) edge_9; choose from edge_0_1,"),
    (("edge_0_3", "edge_0_3"), "--few-shot-split edge_0_3,edge_0_3: decision(s) edge_0_3 given twice"),
    ((), "--few-shot-split : no decision given; choose from edge_0_1,"),
])
def test_study_split_errors_say_what_is_wrong(split, message):
    label = {"split_on": "--few-shot-split"}.get
    with pytest.raises(UsageError) as info:
        RankingConfig(split_on=split).validate(lambda name: label(name, name))
    assert message in str(info.value)


def test_no_supernet_error_and_help_list_only_space_names(capsys):
    with pytest.raises(UsageError) as info:
        build_supernet("nb101", 10, 1)
    assert "supernets exist for ['chain', 'darts', 'nb201', 'proxylessnas'] and for model spaces" in str(info.value)
    assert "model_space" not in str(info.value)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["oneshot", "train", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "search space: nb201, darts, chain, proxylessnas, or one registered" in shown and "nb101" not in shown


def test_wrong_data_advice_fits_training_and_scoring():
    data = load_digits().subset(0.1)
    net = build_supernet("nb201", 10, 3, C=2, N=1)
    with pytest.raises(UsageError, match=r"in_channels=3: train it on data with 3 channel\(s\), or build the "
                                         r"supernet with in_channels=1$"):
        train_supernet(net, data, OneShotConfig(epochs=1))
    with pytest.raises(UsageError, match=r"num_classes=4: train it on data of 4 classes, or build the supernet "
                                         r"with num_classes=10$"):
        train_supernet(build_supernet("nb201", 4, 1, C=2, N=1), data, OneShotConfig(epochs=1))
    with pytest.raises(UsageError, match=r"SubnetScorer: .* score it on data with 3 channel\(s\)"):
        SubnetScorer(net, data)


def test_train_supernet_leaves_the_global_rng_as_it_was():
    data = load_digits().subset(0.1)
    torch.manual_seed(0)
    net = build_supernet("nb201", 10, 1, C=2, N=1, drop_path=0.2)  # drop-path draws from the global generator
    start = {k: v.clone() for k, v in net.state_dict().items()}
    torch.manual_seed(123)
    before = torch.get_rng_state()
    train_supernet(net, data, OneShotConfig(epochs=1, seed=5))
    assert torch.equal(torch.get_rng_state(), before)
    trained = {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(start)
    torch.manual_seed(999)  # another caller state: the same training
    train_supernet(net, data, OneShotConfig(epochs=1, seed=5))
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in trained.items())
