"""A few-shot split over the part limit names the copies' memory in a unit that says something."""
import re

import pytest

from nasforge import get_space
from nasforge.exceptions import UsageError
from nasforge.oneshot import build_supernet, split_supernet


def test_the_refused_split_of_a_small_supernet_names_its_copies_in_mib():
    net = build_supernet(get_space("nb201"), 10, 1, C=4, N=1)
    size = sum(t.numel() * t.element_size() for t in net.state_dict().values())
    with pytest.raises(UsageError) as refused:
        split_supernet(net, ["edge_0_3", "edge_0_1", "edge_1_2"])
    shown = re.search(r"about ([\d.]+) MiB of copies", str(refused.value))
    assert shown and float(shown.group(1)) == pytest.approx(125 * size / 2**20, rel=0.05)  # was "0.0 GiB"


def test_a_split_of_hundreds_of_mib_is_said_in_whole_mib():
    net = build_supernet(get_space("nb201"), 10, 1, C=16, N=1)
    with pytest.raises(UsageError) as refused:
        split_supernet(net, ["edge_0_3", "edge_0_1", "edge_1_2"])
    assert re.search(r"about \d{2,4} MiB of copies", str(refused.value)), str(refused.value)  # not 1.9e+02 MiB
