"""Reading an object's constructor settings back (nasforge.settings)."""

import numpy as np

from nasforge.settings import constructor_settings, is_plain


class _Kept:
    def __init__(self, space, width: int, ratio: float = 0.5, names=("a",), model=None, extra: int = 3, **kw):
        self.width, self.ratio, self.names, self.model = width, ratio, names, model


def test_constructor_settings_reads_plain_arguments_and_says_whether_they_suffice():
    settings, complete = constructor_settings(_Kept(None, 4, names=("a", "b")))
    assert settings == {"width": 4, "ratio": 0.5, "names": ("a", "b"), "model": None} and complete
    settings, complete = constructor_settings(_Kept(None, 4, model=np.zeros(2)))
    assert "model" not in settings and not complete  # kept, but not plain data
    broken = _Kept(None, 4)
    del broken.width  # a required argument that is not kept
    assert constructor_settings(broken) == ({"ratio": 0.5, "names": ("a",), "model": None}, False)


def test_is_plain():
    assert is_plain({"a": [1, 2.5, None, ("x", True)]})
    assert not is_plain({1: "int key"}) and not is_plain({"a"}) and not is_plain(np.int64(3))
