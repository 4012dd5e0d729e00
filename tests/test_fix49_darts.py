"""DARTS genotype text: concat indices must be ints, and ``**`` unpacking is named as such."""
import pytest

from nasforge.exceptions import UsageError
from nasforge.spaces import get_space

NORMAL = ("[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
          "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)]")
REDUCE = ("[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), "
          "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)]")


def _text(normal_concat: str = "[2, 3, 4, 5]") -> str:
    return f"Genotype(normal={NORMAL}, normal_concat={normal_concat}, reduce={REDUCE}, reduce_concat=[2, 3, 4, 5])"


@pytest.mark.parametrize("concat", ["[2.0, 3.0, 4.0, 5.0]", "[2, 3, 4, 5.0]", "(2, 3, 4, 5.0)"])
def test_float_concat_indices_are_refused(concat):
    with pytest.raises(UsageError, match="normal_concat must be"):
        get_space("darts").parse(_text(concat))


def test_int_concat_still_parses():
    space = get_space("darts")
    assert space.format(space.parse(_text("(2, 3, 4, 5)"))) == space.format(space.parse(_text()))


def test_double_star_unpacking_is_named():
    with pytest.raises(UsageError, match=r"given by name .* not unpacked with \*\*"):
        get_space("darts").parse(_text().replace("Genotype(", "Genotype(**{}, "))
