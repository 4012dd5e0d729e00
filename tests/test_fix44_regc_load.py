"""Review 44 regression (rc): Study.load(strategy=...) takes a fresh instance of a strategy of the user's that a
study was made with by a registered name, in a process where that name is not registered."""

import pytest

import nasforge
from nasforge import Study
from nasforge.exceptions import UsageError
from nasforge.spaces import get_space
from nasforge.strategies import STRATEGIES


class Mine(nasforge.Strategy):
    name = "mine"

    def __init__(self, space, seed=None, dedup=True, width=4):
        super().__init__(space, seed, dedup)
        self.width = width

    def _propose(self):
        return self.space.sample(self.rng)


class MineNoName(nasforge.Strategy):  # no name of its own: it reads Strategy's
    def __init__(self, space, seed=None, dedup=True, width=4):
        super().__init__(space, seed, dedup)
        self.width = width

    def _propose(self):
        return self.space.sample(self.rng)


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))
    monkeypatch.setattr(STRATEGIES, "_tags", dict(STRATEGIES._tags))
    return STRATEGIES


@pytest.mark.parametrize("kwargs", [{"width": 8}, {}])
def test_load_takes_a_fresh_instance_of_a_strategy_made_by_a_name_no_longer_registered(tmp_path, registry, kwargs):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    registry.register("mine", Mine)
    study = Study("nb201", "mine", objectives="val_acc", seed=0, storage=url, name="a", **kwargs)
    study.tell(study.ask(), {"val_acc": 1.0})
    study.close()
    del registry._entries["mine"], registry._tags["mine"]  # not registered in the loading process
    space = get_space("nb201")
    width = kwargs.get("width", 4)
    loaded = Study.load("a", url, strategy=Mine(space, seed=0, width=width))
    assert loaded.strategy.n_told == 1
    loaded.close()
    again = Study("nb201", Mine(space, seed=0, width=width), objectives="val_acc", storage=url, name="a",
                  load_if_exists=True)
    assert again.strategy.n_told == 1
    again.close()
    with pytest.raises(UsageError, match=f"strategy settings width={width}, not 9"):
        Study.load("a", url, strategy=Mine(space, seed=0, width=9))
    with pytest.raises(UsageError, match="strategy settings dedup=True, not False"):
        Study.load("a", url, strategy=Mine(space, seed=0, width=width, dedup=False))


def test_load_takes_an_object_whose_class_has_no_name_of_its_own_registered_when_made(tmp_path, registry):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    registry.register("mynoname", MineNoName)
    study = Study("nb201", "mynoname", objectives="val_acc", seed=0, storage=url, name="c")
    study.tell(study.ask(), {"val_acc": 1.0})
    study.close()
    del registry._entries["mynoname"], registry._tags["mynoname"]  # not registered in the loading process
    loaded = Study.load("c", url, strategy=MineNoName(get_space("nb201"), seed=0))
    assert loaded.strategy.n_told == 1
    loaded.close()
    with pytest.raises(UsageError, match="strategy settings width=4, not 5"):
        Study.load("c", url, strategy=MineNoName(get_space("nb201"), seed=0, width=5))


class MinePool(nasforge.Strategy):
    name = "minepool"

    def __init__(self, space, seed=None, dedup=True, pool=None):
        super().__init__(space, seed, dedup)
        self.pool = 10 if pool is None else pool  # a None default resolved in __init__

    def _propose(self):
        return self.space.sample(self.rng)


class MineHidden(nasforge.Strategy):
    name = "minehidden"

    def __init__(self, space, seed=None, dedup=True, width=4):
        super().__init__(space, seed, dedup)
        self._width = width  # kept under another name: it cannot be read back

    def _propose(self):
        return self.space.sample(self.rng)


@pytest.mark.parametrize("cls, kwargs", [(MinePool, {}), (MineHidden, {"width": 8})])
def test_load_takes_an_instance_whose_settings_cannot_all_be_read_back(tmp_path, registry, cls, kwargs):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    registry.register(cls.name, cls)
    study = Study("nb201", cls.name, objectives="val_acc", seed=0, storage=url, name="p", **kwargs)
    study.tell(study.ask(), {"val_acc": 1.0})
    study.close()
    del registry._entries[cls.name], registry._tags[cls.name]  # not registered in the loading process
    loaded = Study.load("p", url, strategy=cls(get_space("nb201"), seed=0, **kwargs))
    assert loaded.strategy.n_told == 1
    loaded.close()
