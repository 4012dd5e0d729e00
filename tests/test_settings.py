"""Reading an object's constructor settings back (nasforge.settings)."""

import numpy as np

from nasforge.settings import bind_error, constructor_settings, is_plain, keyword_names


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


def test_bind_error_names_what_a_call_lacks_and_keyword_names_reads_a_signature():
    def f(arch, fidelity=None, *, reporter=None):
        return arch

    assert bind_error(f, 1) is None
    assert bind_error(f, 1, 2, reporter=3) is None
    assert "unexpected keyword argument 'epochs'" in bind_error(f, 1, epochs=2)
    assert "missing a required argument: 'arch'" in bind_error(f)
    assert bind_error(len, 1, 2) is None or "argument" in bind_error(len, 1, 2)  # builtins may lack a signature
    assert bind_error(5) is None  # nothing to check against: the call itself will complain
    assert keyword_names(f) == ["arch", "fidelity", "reporter"]
    assert keyword_names(lambda **kw: kw) is None
