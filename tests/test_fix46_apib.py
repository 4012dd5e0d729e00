"""Public API fixes (review 46, part B): path arguments that are no path, create_model's and validate's argument
checks, and one name given where a list of names is expected."""

from __future__ import annotations

import pytest

from nasforge.analysis import bench_report
from nasforge.benchmarks import SurrogateBenchmark, TabularBenchmark, load_nb201
from nasforge.exceptions import UsageError
from nasforge.export import load_model, read_info
from nasforge.models import create_model, model_for_space
from nasforge.oneshot.checkpoint import load_supernet
from nasforge.spaces import Architecture, get_space


@pytest.mark.parametrize("load", [load_model, read_info, load_supernet, bench_report, SurrogateBenchmark.load])
@pytest.mark.parametrize("folder", [None, 3])
def test_a_folder_that_is_no_path_is_a_usage_error_naming_it(load, folder):
    with pytest.raises(UsageError, match=r"^folder must be a path \(str or Path\), got"):
        load(folder)


@pytest.mark.parametrize("load", [load_model, read_info, load_supernet, bench_report, SurrogateBenchmark.load])
def test_an_empty_folder_name_is_refused_not_read_as_the_working_folder(load):
    with pytest.raises(UsageError, match="^folder must name .*an unset shell variable"):
        load(" ")


# -- one name where a list of names is expected; a space by its name ---------------------------------------------
def nb201_records() -> list[dict]:
    space = get_space("nb201")
    return [{"arch": space.format(space.sample(seed)), "acc": float(seed), "loss": 1.0} for seed in range(3)]


def test_a_table_takes_its_space_by_name_and_one_metric_name_alone():
    table = TabularBenchmark(nb201_records(), "nb201", metrics="acc")
    assert table.space.name == "nb201" and table.metrics == ["acc"]
    assert TabularBenchmark(nb201_records(), get_space("nb201"), metrics=("acc", "loss")).metrics == ["acc", "loss"]


@pytest.mark.parametrize("space, match", [(None, "space must be a SearchSpace or a space name, got NoneType"),
                                          ("nb2011", "unknown search space 'nb2011' \\(did you mean 'nb201'\\?\\)")])
def test_a_table_without_a_space_is_a_usage_error_naming_it(space, match):
    with pytest.raises(UsageError, match=match):
        TabularBenchmark(nb201_records(), space)


@pytest.mark.parametrize("metrics", [[], 5, ["acc", 3]])
def test_table_metrics_that_are_no_names_are_a_usage_error_naming_them(metrics):
    with pytest.raises(UsageError, match="^metrics must be a name or a non-empty list of names"):
        TabularBenchmark(nb201_records(), "nb201", metrics=metrics)


@pytest.mark.parametrize("metrics", [lambda: __import__("pandas").Index(["acc", "loss"]),
                                     lambda: __import__("numpy").array(["acc", "loss"]),
                                     lambda: {"acc": 0, "loss": 0}.keys(), lambda: (name for name in ("acc", "loss"))])
def test_table_metrics_take_any_collection_of_names(metrics):
    """Would fail (regression of the one-name check): a pandas Index (df.columns.drop("arch")), a NumPy array,
    dict keys or a generator of names were refused; they were taken before."""
    assert sorted(TabularBenchmark(nb201_records(), "nb201", metrics=metrics()).metrics) == ["acc", "loss"]


def test_load_nb201_takes_one_metric_name_alone(nb201_table):
    assert load_nb201(metrics="cifar10-val").metrics == load_nb201(metrics=["cifar10-val"]).metrics


def test_split_supernet_takes_one_decision_name_alone():
    from nasforge.oneshot import build_supernet, split_supernet

    net = build_supernet("nb201", 10, 1, C=2, N=1)
    assert split_supernet(net, "edge_0_3").allowed == split_supernet(net, ["edge_0_3"]).allowed
    with pytest.raises(UsageError, match="^on must be a name or a non-empty list of names, got None"):
        split_supernet(net, None)


# -- validate: only the space's own architectures ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["nb201", "darts", "nb101", "proxylessnas"])
def test_validate_refuses_what_is_no_architecture_of_the_space(name):
    space = get_space(name)
    arch = space.sample(0)
    space.validate(arch)
    for bad, match in [(None, "expected an Architecture, got NoneType"),
                       (space.format(arch), "use space.parse\\(text\\)"),
                       (Architecture("other", arch.genotype), f"belongs to space 'other', not '{name}'")]:
        with pytest.raises(UsageError, match=match):
            space.validate(bad)


# -- create_model's arguments ------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, kwargs, match", [
    ((0,), {}, "num_classes must be an integer >= 1, got 0"),
    (("10",), {}, "num_classes must be an integer >= 1, got '10'"),
    ((10,), {"in_channels": 0}, "in_channels must be an integer >= 1, got 0"),
    ((10,), {"c": 8}, "unexpected keyword argument 'c' \\(it takes: C, N; 'c': did you mean 'C'\\?\\)"),
])
def test_create_model_refuses_bad_arguments_naming_them(args, kwargs, match):
    with pytest.raises(UsageError, match=match):
        create_model("nb201", get_space("nb201").sample(0), *args, **kwargs)


def test_create_model_needs_an_architecture_and_model_for_space_takes_a_name():
    with pytest.raises(UsageError, match="^arch must be an Architecture .*got NoneType"):
        create_model("nb201", None, 10)
    assert model_for_space("nb201") == model_for_space(get_space("nb201")) == ("nb201", {})


@pytest.mark.parametrize("model, arch", [("nb201", lambda: get_space("nb201").sample(0)),
                                         ("darts", lambda: get_space("darts").sample(0)),
                                         ("nb101", lambda: get_space("nb101").sample(0))])
@pytest.mark.parametrize("size", [{"C": 2.5}, {"C": "8"}, {"N": True}, {"C": 0}])
def test_create_model_names_a_width_or_depth_that_is_no_positive_integer(model, arch, size):
    """Would fail: C=2.5 or "8" reached torch (TypeError deep in a layer)."""
    from nasforge.models import create_model

    with pytest.raises(UsageError, match=r"needs C >= 1 and N >= 1 \(integers\)"):
        create_model(model, arch(), num_classes=10, in_channels=3, **size)


def test_table_metrics_given_as_str_enum_members_are_their_values():
    """Would fail (regression review): a list of str Enum members became 'Metric.ACC' (str() of the member)."""
    import enum

    class Metric(str, enum.Enum):
        ACC = "acc"
        LOSS = "loss"

    assert TabularBenchmark(nb201_records(), "nb201", metrics=[Metric.ACC, Metric.LOSS]).metrics == ["acc", "loss"]
