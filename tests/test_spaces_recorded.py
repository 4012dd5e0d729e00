"""RecordedSpace: a stored study's space seen through the texts stored with its trials."""

from __future__ import annotations

import pytest

from nasforge.exceptions import UsageError
from nasforge.spaces import Architecture
from nasforge.spaces.recorded import RecordedSpace

DEEP, SHALLOW, BARE = (Architecture("model_space", g) for g in (("2", "conv", "skip"), ("1", "conv", "conv"), ("1",)))


def test_parameters_cover_every_label_and_mark_inactive_decisions():
    """Model-space texts leave inactive decisions out: each architecture still has every label (a report's
    per-choice tables need one column set), an inactive one as "-"."""
    space = RecordedSpace("model_space", {}, {DEEP: "depth=2|block0=conv|block1=skip", SHALLOW: "depth=1|block0=conv"},
                          "no such Python file: net.py")
    assert space.format(SHALLOW) == "depth=1|block0=conv"
    assert space.to_params(SHALLOW) == {"depth": "1", "block0": "conv", "block1": "-"}
    assert space.categorical_params() == {"depth": ["2", "1"], "block0": ["conv"], "block1": ["skip", "-"]}
    assert space.canonical(DEEP) == DEEP and space.note.startswith("space 'model_space' cannot be rebuilt here")


def test_texts_of_another_form_give_one_parameter_per_genotype_entry():
    space = RecordedSpace("mine", None, {BARE: "1"}, "unknown search space 'mine'")
    assert space.to_params(BARE) == {"decision_0": "1"}
    assert space.format(Architecture("mine", ("7", "x"))) == "7|x"  # not stored: the genotype


@pytest.mark.parametrize("call", ["sample", "neighbors", "parse", "encode_onehot", "from_params", "size"])
def test_what_needs_the_space_is_refused_naming_why(call):
    space = RecordedSpace("model_space", {}, {}, "no such Python file: net.py")
    with pytest.raises(UsageError, match=r"cannot be rebuilt here \(no such Python file: net.py\).*needs the space"):
        getattr(space, call)(*([DEEP] if call != "size" else []))
