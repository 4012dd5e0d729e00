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


def test_a_type_error_of_a_setting_is_bad_parameters_and_keeps_its_cause():
    class Buggy:
        def __init__(self, space, seed=None, size=3):
            len(size)  # a setting of the wrong type (or a bug inside the constructor): the cause is kept

        def fail(self):
            raise ValueError("not a TypeError")

    things = Registry("thing")
    things.register("buggy", Buggy, builtin=True)  # one of nasforge's own: its TypeError is a setting's type
    things.register("passes_on", lambda space, **kwargs: Buggy(space, **kwargs))
    things.register("other", lambda space: Buggy.fail(None))
    with pytest.raises(UsageError, match="bad parameters for thing 'buggy': object of type 'int' has no len") as info:
        things.build({"name": "buggy"}, "nb201")
    assert isinstance(info.value.__cause__, TypeError)  # --debug prints the traceback inside the constructor
    things.register("mine", Buggy)  # a user's entry: an error raised inside it is a bug there, shown as it is
    with pytest.raises(TypeError, match="object of type 'int' has no len"):
        things.build({"name": "mine"}, "nb201")
    with pytest.raises(ValueError, match="not a TypeError"):  # any other error propagates as it is
        things.build({"name": "other"}, "nb201")
    with pytest.raises(UsageError, match="unknown thing \\['buggy'\\]"):  # not hashable: unknown, not a TypeError
        things.build({"name": ["buggy"]}, "nb201")
    with pytest.raises(UsageError, match="bad parameters for thing 'buggy': got an unexpected keyword argument 'sise'"):
        things.build({"name": "buggy", "sise": 3}, "nb201")
    with pytest.raises(UsageError, match="bad parameters for thing 'passes_on': .*unexpected keyword argument 'sise'"):
        things.build({"name": "passes_on", "sise": 3}, "nb201")  # refused where it is passed on


def test_tags_an_entry_was_registered_without_have_the_registry_defaults():
    from nasforge.strategies import RandomSearch, get_strategy

    things = Registry("thing", fast=False)
    things.register("a", int)
    assert things.tags("a") == {"fast": False} and things.names(fast=False) == ["a"]
    STRATEGIES.register("mine_untagged", RandomSearch)
    try:
        assert STRATEGIES.tags("mine_untagged")["multi_objective"] is False
        with pytest.raises(UsageError, match="strategy 'mine_untagged' takes no constraints"):
            get_strategy("mine_untagged", "nb201", constraints=["params <= 3"])
    finally:
        STRATEGIES._entries.pop("mine_untagged"), STRATEGIES._tags.pop("mine_untagged")


def test_a_builtin_entry_is_replaced_only_on_request():
    from nasforge.strategies import RandomSearch

    things = Registry("thing")
    things.register("own", int, builtin=True)
    with pytest.raises(UsageError, match="thing 'own' is one of nasforge's own; register yours under another name "
                                         r"\(or pass replace=True"):
        things.register("own", float)
    with pytest.raises(UsageError, match="one of nasforge's own"):
        things.register("own")(float)  # the decorator form too
    assert things.get("own") is int
    things.register("mine", int)
    things.register("mine", float)  # a user's own name may be registered again
    assert things.get("mine") is float
    things.register("own", float, replace=True)
    assert things.get("own") is float
    things.register("own", complex)  # now the user's
    with pytest.raises(UsageError, match="strategy 'random' is one of nasforge's own"):
        STRATEGIES.register("random", RandomSearch)


def test_the_user_wrappers_take_replace_as_the_refusal_says(monkeypatch):
    from nasforge.models import MODELS, register_model
    from nasforge.spaces import SPACES, ChainSpace, register_space

    for registry in (SPACES, MODELS):  # the registries are restored after the test
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
        monkeypatch.setattr(registry, "_tags", dict(registry._tags))
        monkeypatch.setattr(registry, "_builtin", set(registry._builtin))
    with pytest.raises(UsageError, match="'nb201' is one of nasforge's own.*replace=True"):
        register_space("nb201", ChainSpace)
    register_space("nb201", ChainSpace, replace=True)
    assert SPACES.get("nb201") is ChainSpace
    with pytest.raises(UsageError, match="'nb201' is one of nasforge's own"):
        register_model("nb201", print)
    register_model("nb201", print, replace=True)
    assert MODELS.get("nb201") is print
