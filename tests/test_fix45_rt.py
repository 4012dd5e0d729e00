"""The read-through clean-ups of fix45_rt: one reader of ``supernet.json``, one "same registered strategy" check,
``Study.resume`` using :func:`check_resume_options`, and ``get_space`` using the registry's unknown-name error."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from nasforge.exceptions import UsageError

RECORDS = {"not json": "{", "a list": "[1, 2]", "a string": '"nb201"', "no space": '{"data": 1}',
           "a list of options": '{"space": "nb201", "space_config": [1]}', "no data": '{"space": "nb201"}',
           "data of the wrong shape": '{"space": "nb201", "data": "cifar10"}',
           "a data name": '{"space": "nb201", "data": {"data": "cifar10"}}',
           "no name": '{"space": "", "data": {"data": 5}}'}


def _write(folder: Path, text: str) -> Path:
    (folder / "supernet.json").write_text(text, encoding="utf-8")
    return folder


def test_supernet_record_reads_a_json_object_or_nothing(tmp_path):
    from nasforge.evaluators.supernet import supernet_record

    assert supernet_record(None) is None
    assert supernet_record(tmp_path) is None  # no file
    assert supernet_record(tmp_path / "a\0b") is None  # not a path at all
    (tmp_path / "supernet.json").write_bytes(b"\xff\xfe")
    assert supernet_record(tmp_path) is None  # not UTF-8
    for text in ("{", "[1, 2]", '"nb201"', "null"):
        assert supernet_record(_write(tmp_path, text)) is None, text
    assert supernet_record(_write(tmp_path, '{"space": "nb201"}')) == {"space": "nb201"}


@pytest.mark.parametrize("case", sorted(RECORDS))
def test_the_helpers_read_the_record_alike(tmp_path, case):
    """What each helper makes of a record (those that cannot be read: the defaults; loading names the damage)."""
    from nasforge.evaluators.supernet import recorded_data, records_no_data
    from nasforge.pipelines.search import DEFAULT_SPACE, SearchConfig, _default_space_name

    info = json.loads(RECORDS[case]) if case != "not json" else None
    _write(tmp_path, RECORDS[case])
    readable = isinstance(info, dict)
    data = info.get("data") if readable else None
    assert recorded_data(tmp_path) == (data["data"] if isinstance(data, dict) and isinstance(data.get("data"), str)
                                       else "digits")
    assert records_no_data(tmp_path) is (readable and not data)
    config = SearchConfig(evaluator="supernet", supernet=str(tmp_path))
    space = info.get("space") if readable else None
    assert _default_space_name(config) == (space if isinstance(space, str) and space else DEFAULT_SPACE)


def test_the_space_checks_pass_over_a_record_they_cannot_read(tmp_path):
    from nasforge.pipelines.search import _check_supernet_space, supernet_space
    from nasforge.spaces import get_space

    space = get_space("nb201")
    for text in ("{", "[1]", '{"data": 1}', '{"space": "nb201", "space_config": [1]}', '{"space": "nb201"}'):
        _write(tmp_path, text)
        _check_supernet_space(SimpleNamespace(evaluator="supernet", supernet=str(tmp_path)), space)
    _write(tmp_path, '{"space": "nb101"}')
    with pytest.raises(UsageError, match="supernet of space 'nb101', which is not the search space 'nb201'"):
        _check_supernet_space(SimpleNamespace(evaluator="supernet", supernet=str(tmp_path)), space)
    _check_supernet_space(SimpleNamespace(evaluator="training", supernet=str(tmp_path)), space)  # not read
    for text in ("{", "[1]", '{"data": 1}'):
        assert supernet_space(_write(tmp_path, text)) is None
    with pytest.raises(UsageError, match="is damaged: its space record 5 with"):
        supernet_space(_write(tmp_path, '{"space": 5}'))


def test_a_strategy_is_known_by_its_registered_aliases(tmp_path):
    """One check of "the same registered strategy": when it is recorded, loaded by name and loaded as an object."""
    from nasforge.experiment import Study
    from nasforge.spaces import get_space
    from nasforge.strategies import get_strategy

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study("nb201", "re", objectives="acc", seed=0, name="aliases", storage=url)
    assert study.record.strategy == "evolution"  # the name its class goes by, "re" being an alias of it
    study.close()
    for name in ("evolution", "re"):
        Study.load("aliases", url, strategy=name).close()
    with pytest.raises(UsageError, match="was created with strategy 'evolution', not 'random'; leave strategy= out"):
        Study.load("aliases", url, strategy="random")
    loaded = Study.load("aliases", url, strategy=get_strategy("re", get_space("nb201"), seed=0))
    assert loaded.record.strategy == "evolution"
    loaded.close()


def _acc(arch) -> dict[str, float]:
    return {"acc": 1.0}


def test_resume_checks_its_options_as_check_resume_options_does():
    """A finished study's resume refuses what ``nasforge resume`` refuses (:func:`check_resume_options`), with the
    same message; with trials left, the recorded settings the inline executor cannot apply are still refused."""
    from nasforge.experiment import Study
    from nasforge.experiment.study import check_resume_options

    study = Study("nb201", "random", objectives="acc", seed=0).optimize(_acc, 2)
    study.set_run_config({**study.run_config, "executor": "process", "n_workers": 2})
    config = {k: v for k, v in study.run_config.items() if k not in ("n_trials_total", "n_trials")}
    messages = []
    for overrides in ({"executor": "inline", "executor_options": None}, {"n_workers": 0}):
        with pytest.raises(UsageError) as expected:
            check_resume_options(study.name, config, overrides)
        with pytest.raises(UsageError) as raised:
            study.resume(_acc, **overrides)
        assert str(raised.value) == str(expected.value)
        messages.append(str(raised.value))
    assert "recorded n_workers=2, which the inline executor cannot apply" in messages[0]
    assert "n_workers" in messages[1]
    study.set_run_config({**study.run_config, "n_trials_total": 3})  # a trial left to run
    with pytest.raises(UsageError, match="recorded n_workers=2, which the inline executor cannot apply"):
        study.resume(_acc, executor="inline", executor_options=None)
    assert len(study.trials) == 2
    study.resume(_acc, executor="inline", executor_options=None, n_workers=1)
    assert len(study.trials) == 3


@pytest.mark.parametrize("name, hint", [("nasbench201", " (did you mean 'nb201', the NAS-Bench-201 space?)"),
                                        ("DARTS", " (did you mean 'darts', the DARTS / NAS-Bench-301 space?)"),
                                        ("chian", " (did you mean 'chain'?)"), ("zzz", ""), (5, "")])
def test_an_unknown_space_is_the_registry_s_error_with_the_space_hint(name, hint):
    from nasforge.spaces import SPACES, available_spaces, get_space

    message = f"unknown search space {name!r}{hint}; choose from {', '.join(available_spaces())}"
    for call in (get_space, SPACES.get):
        with pytest.raises(UsageError) as raised:
            call(name)
        assert str(raised.value) == message


def test_a_registry_without_a_hint_says_did_you_mean():
    from nasforge.registry import Registry

    registry = Registry("thing")
    registry.register("alpha", dict)
    with pytest.raises(UsageError, match=r"^unknown thing 'alpah' \(did you mean 'alpha'\?\); choose from alpha$"):
        registry.get("alpah")
