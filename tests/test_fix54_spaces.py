"""Fixes of the stop-54 spaces review: malformed DARTS text, a new model space's missing module, row() of an
invalid architecture."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.benchmarks.tabular import TabularBenchmark
from nasforge.exceptions import UsageError
from nasforge.spaces import get_space

_CONCAT = "normal_concat=[2, 3, 4, 5], reduce=[], reduce_concat=[2, 3, 4, 5]"


@pytest.mark.parametrize("text", [
    f"Genotype(normal={'-' * 400}1, {_CONCAT})",  # refused by literal_eval, then too deep for ast.unparse
    f"Genotype(normal=x{'[0]' * 400}, {_CONCAT})",
    f"Genotype(normal=1{'+1' * 400}, {_CONCAT})",
    f"Genotype(normal=[], {_CONCAT}, **{'-' * 400}1)",
    "-" * 100_000 + "1",  # too deep for ast.parse (MemoryError)
    "not " * 100_000,
])
def test_darts_parse_refuses_deeply_nested_text_in_one_short_line(text):
    with pytest.raises(UsageError) as info:
        get_space("darts").parse(text)
    message = str(info.value)
    assert "\n" not in message and len(message) < 1000


def test_darts_concat_too_deep_is_quoted_from_the_text():
    space = get_space("darts")
    valid = space.format(space.sample(0))
    text = valid.replace("normal_concat=[2, 3, 4, 5]", f"normal_concat={'-' * 400}1")
    with pytest.raises(UsageError, match=r"normal_concat must be .* got '-{400}1'$"):
        space.parse(text)


def test_darts_table_names_the_row_of_a_deeply_nested_genotype():
    space = get_space("darts")
    rng = np.random.default_rng(0)
    rows = [{"arch": space.format(space.sample(rng)), "val_acc": float(i)} for i in range(3)]
    rows.append({"arch": f"Genotype(normal={'-' * 1000}1, {_CONCAT})", "val_acc": 1.0})
    with pytest.raises(UsageError, match="data row 4 .* of table 'bad'"):
        TabularBenchmark(rows, space, name="bad")


def test_darts_valid_texts_parse_as_before():
    space = get_space("darts")
    for seed in range(20):
        arch = space.sample(seed)
        text = space.format(arch)
        assert space.parse(text) == arch
        assert space.parse(text.replace("[2, 3, 4, 5]", "range(2, 6)")) == arch


def test_a_new_model_space_with_a_missing_file_gets_the_plain_error(tmp_path):
    module = tmp_path / "typo.py"
    with pytest.raises(UsageError, match=rf"^no such Python file: {module}$"):
        get_space("model_space", module=f"{module}:Net", input_shape=[1, 8, 8])


def test_a_stored_model_space_whose_file_is_gone_says_it_was_recorded(tmp_path):
    from nasforge.spaces import stored_space

    module = tmp_path / "gone.py"
    with pytest.raises(UsageError, match=rf"^the model-space module '{module}:Net' was recorded by that path, and its "
                                         r"file is gone \(no such Python file: .*\): restore it there$"):
        stored_space("model_space", {"module": f"{module}:Net", "input_shape": [1, 8, 8]})


@pytest.mark.parametrize("name, genotype", [("nb201", ("foo",) * 6), ("darts", ((("none", 0),) * 8,) * 2)])
def test_row_of_an_invalid_genotype_is_an_arch_not_in_table_error(name, genotype):
    from nasforge.benchmarks.tabular import ArchNotInTableError
    from nasforge.spaces import Architecture

    space = get_space(name)
    table = TabularBenchmark([{"arch": space.format(space.sample(i)), "val_acc": 1.0} for i in range(3)], space)
    arch = Architecture(name, genotype)
    with pytest.raises(ArchNotInTableError, match="unknown .*operation") as info:
        table.row(arch)
    assert isinstance(info.value, KeyError)
    assert arch not in table
