"""Regression fixes of the read-through refactor: a surrogate of a model space that cannot be rebuilt by name fits
and queries in memory and is refused only when saved; a space record that is not a mapping is named as such."""

import sys

import numpy as np
import pandas as pd
import pytest

from nasforge.exceptions import UsageError
from nasforge.spaces import stored_space

pytest.importorskip("torch")
pytest.importorskip("lightgbm")

NET = """
import torch
from torch import nn
from nasforge.spaces.model_space import LayerChoice
class Net(nn.Module):
    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, 8, 3, padding=1)
        self.c = LayerChoice([nn.Conv2d(8, 8, 3, padding=1), nn.Identity()], label="c")
        self.d = LayerChoice([nn.Conv2d(8, 8, 1), nn.Identity()], label="d")
        self.head = nn.Linear(8, num_classes)
    def forward(self, x):
        x = self.d(self.c(torch.relu(self.stem(x))))
        return self.head(x.mean((2, 3)))
"""


def test_a_surrogate_of_a_model_space_built_in_a_function_fits_and_is_refused_only_on_save(tmp_path, monkeypatch):
    from nasforge.benchmarks.surrogate import SurrogateBenchmark
    from nasforge.spaces.model_space import ModelSpace

    (tmp_path / "fix44_ra_net.py").write_text(NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    import fix44_ra_net

    def make():
        def factory():
            return fix44_ra_net.Net(num_classes=10, in_channels=1)
        return factory

    space = ModelSpace(make(), input_shape=(1, 8, 8))
    archs = sorted({space.format(space.sample(i)) for i in range(20)})
    table = pd.DataFrame({"arch": archs, "val_acc": np.linspace(50, 90, len(archs))})
    bench = SurrogateBenchmark.fit(space, table, model="lgb", model_params={"encoding": "onehot"}, holdout=0.0)
    assert np.isfinite(bench.query(space.sample(0))["val_acc"])
    with pytest.raises(UsageError, match="cannot be rebuilt by name"):
        bench.save(tmp_path / "surrogate")
    assert not (tmp_path / "surrogate").exists()
    sys.modules.pop("fix44_ra_net", None)


@pytest.mark.parametrize("config", [["x"], "abc", 3])
def test_a_space_record_that_is_not_a_mapping_is_named(config):
    with pytest.raises(UsageError, match="options of space 'nb201' must be a mapping"):
        stored_space("nb201", config)
