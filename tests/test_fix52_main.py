"""Stop 52 fixes made on main (beside the helpers' branches)."""

from __future__ import annotations

import pytest

from nasforge.exceptions import StorageError
from nasforge.experiment.storage.base import check_stored_arch, check_stored_archs
from nasforge.experiment.trial import Trial
from nasforge.spaces import Architecture, get_space

URL = "postgresql://ann:s3cret@db.example/nas"


def _bad_trial() -> Trial:
    return Trial(number=3, arch=Architecture("nb201", ("not an nb201 op",) * 6))


@pytest.mark.parametrize("check", [lambda t: check_stored_arch(get_space("nb201"), t, URL, "s"),
                                   lambda t: check_stored_archs(get_space("nb201"), [t], URL, "s", {})])
def test_a_damaged_stored_architecture_is_named_without_the_storage_password(check):
    """Would fail: the message showed the URL as given, password included."""
    with pytest.raises(StorageError) as info:
        check(_bad_trial())
    assert "s3cret" not in str(info.value) and "ann:***@db.example" in str(info.value)
