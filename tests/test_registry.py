"""One registry idiom: register/get/names with tags, the same for spaces, predictors, strategies, ..."""

import pytest

from nasforge.exceptions import UsageError
from nasforge.predictors import PREDICTORS, available_predictors, get_predictor
from nasforge.predictors.kernels import KNNPredictor
from nasforge.registry import Registry
from nasforge.spaces import SPACES, ChainSpace, available_spaces, get_space, register_space
from nasforge.strategies import STRATEGIES


def test_register_get_names_and_tag_filters():
    things = Registry("thing")
    things.register("b", int, fast=True)

    @things.register("a", fast=False)
    def make_a():
        return "a"

    assert things.get("a") is make_a and things.get("b") is int
    assert things.names() == ["a", "b"] and things.names(fast=True) == ["b"]
    assert things.names(lambda tags: not tags["fast"]) == ["a"] and "a" in things
    with pytest.raises(UsageError, match="unknown thing 'c'; choose from a, b"):
        things.get("c")


def test_user_registered_space_and_predictor_are_found_by_name():
    register_space("tiny_chain", lambda: ChainSpace(layers=[["x", "y"]], name="tiny_chain"))
    PREDICTORS.register("my_knn", KNNPredictor)
    try:
        assert "tiny_chain" in available_spaces() and get_space("tiny_chain").layers == (("x", "y"),)
        assert "my_knn" in available_predictors()
        assert isinstance(get_predictor("my_knn", get_space("nb201")), KNNPredictor)
    finally:
        SPACES._entries.pop("tiny_chain"), SPACES._tags.pop("tiny_chain")
        PREDICTORS._entries.pop("my_knn"), PREDICTORS._tags.pop("my_knn")


def test_strategy_registry_tags_split_the_families():
    assert {"nsga2", "parego"} <= set(STRATEGIES.names(multi_objective=True))
    assert "random" in STRATEGIES.names(multi_objective=False)


def test_build_from_a_spec_names_the_bad_part():
    things = Registry("thing")
    things.register("pair", lambda first, second=0: (first, second))
    assert things.build("pair", 1) == (1, 0) and things.build({"name": "pair", "second": 5}, 1) == (1, 5)
    with pytest.raises(UsageError, match="the thing spec .* needs a 'name'"):
        things.build({"second": 5}, 1)
    with pytest.raises(UsageError, match="bad parameters for thing 'pair'"):
        things.build({"name": "pair", "third": 1}, 1)


def test_an_unknown_tag_is_refused_not_an_empty_list():
    with pytest.raises(UsageError, match=r"unknown strategy tag\(s\) \['multi_objectiv'\]; tags: .*multi_objective"):
        STRATEGIES.names(multi_objectiv=True)
