"""Shared machinery of the PyTorch predictors (imported lazily: only these modules need torch).

A :class:`TorchPredictor` trains ``n_models`` independently initialised networks with Adam and a
cosine learning-rate schedule on the mean squared error of standardized targets; it predicts their
mean (and, with several networks, their spread as ``predict_std``). Weights are saved with
safetensors; ``predictor.json`` holds everything needed to rebuild the networks.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import SEED_LIMIT  # torch takes a signed 64-bit seed; strategies derive larger ones
from ..exceptions import UnsafeFileError
from ..extras import require
from ..spaces import SearchSpace
from .base import Predictor, check_counts, check_positive

WEIGHTS_FILE = "weights.safetensors"


def import_torch(feature: str = "the neural predictors (gin, mlp)"):
    """The torch module, or a MissingDependencyError naming ``feature`` and the extra that installs it."""
    return require("torch", feature)


@contextmanager
def torch_local(torch: Any, threads: int) -> Iterator[None]:
    """Run torch with ``threads`` threads and a forked global RNG: afterwards the process has its own thread
    count and random stream back (a fit must not change a user's later torch work)."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        torch.set_num_threads(before)


class TorchPredictor(Predictor):
    """Base of the neural predictors; subclasses build the network and turn inputs into arrays."""

    requires = ("torch",)

    def __init__(self, space: SearchSpace, encoding: str | None, seed: int, n_models: int, hidden: int,
                 layers: int, epochs: int, batch_size: int, lr: float, weight_decay: float,
                 n_threads: int) -> None:
        super().__init__(space, encoding, seed)
        check_counts({"n_models": n_models, "hidden": hidden, "layers": layers, "epochs": epochs,
                      "batch_size": batch_size, "n_threads": n_threads})
        check_positive("lr", lr)
        check_positive("weight_decay", weight_decay, allow_zero=True)
        self.n_models, self.hidden, self.layers = n_models, hidden, layers
        self.epochs, self.batch_size, self.lr, self.weight_decay = epochs, batch_size, lr, weight_decay
        self.n_threads = n_threads
        self._nets: list[Any] = []

    @property
    def has_uncertainty(self) -> bool:  # type: ignore[override]
        return self.n_models > 1

    # -- subclass hooks ------------------------------------------------------------------------
    @abstractmethod
    def _arrays(self, x: Any) -> tuple[np.ndarray, ...]:
        """The network's input arrays (first axis: architectures)."""

    @abstractmethod
    def _network(self, input_shapes: list[list[int]]) -> Any:
        """A fresh ``torch.nn.Module`` for inputs of these per-architecture shapes."""

    # -- training and inference ----------------------------------------------------------------
    def _fit(self, x: Any, z: np.ndarray) -> None:
        torch = import_torch()
        with torch_local(torch, self.n_threads):
            self._train(torch, x, z)

    def _train(self, torch: Any, x: Any, z: np.ndarray) -> None:
        arrays = [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in self._arrays(x)]
        target = torch.from_numpy(z.astype(np.float32))
        self._state["input_shapes"] = [list(a.shape[1:]) for a in arrays]
        generator = torch.Generator().manual_seed(self.seed % SEED_LIMIT)
        nets = []  # assigned only once every network is trained
        for member in range(self.n_models):
            torch.manual_seed((self.seed * 1000 + member) % SEED_LIMIT)
            net = self._network(self._state["input_shapes"])
            optimizer = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            steps_per_epoch = -(-len(target) // self.batch_size)
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, self.epochs * steps_per_epoch)
            net.train()
            for _ in range(self.epochs):
                order = torch.randperm(len(target), generator=generator)
                for start in range(0, len(target), self.batch_size):
                    batch = order[start:start + self.batch_size]
                    loss = torch.mean((net(*(a[batch] for a in arrays)) - target[batch]) ** 2)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    schedule.step()
            net.eval()
            nets.append(net)
        self._nets = nets

    def _member_predictions(self, x: Any) -> np.ndarray:
        torch = import_torch()
        arrays = [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in self._arrays(x)]
        members = []
        with torch_local(torch, self.n_threads), torch.no_grad():
            for net in self._nets:
                chunks = [net(*(a[s:s + 4096] for a in arrays)) for s in range(0, len(arrays[0]), 4096)]
                members.append(torch.cat(chunks).numpy())
        return np.stack(members)

    def _predict(self, x: Any) -> np.ndarray:
        return self._member_predictions(x).mean(axis=0)

    def _predict_std(self, x: Any) -> np.ndarray:
        return self._member_predictions(x).std(axis=0)

    # -- saving --------------------------------------------------------------------------------
    def _save_model(self, folder: Path) -> list[str]:
        from safetensors.torch import save

        tensors = {f"{m}.{k}": v.detach().contiguous() for m, net in enumerate(self._nets)
                   for k, v in net.state_dict().items()}
        (folder / WEIGHTS_FILE).write_bytes(save(tensors))  # with the umask's mode (save_file's is always 0600)
        return [WEIGHTS_FILE]

    def _load_model(self, folder: Path) -> None:
        from safetensors.torch import load_file

        tensors = load_file(str(folder / WEIGHTS_FILE))
        members = {key.split(".", 1)[0] for key in tensors}
        if members != {str(m) for m in range(self.n_models)}:
            raise UnsafeFileError(f"{folder / WEIGHTS_FILE} holds the weights of {len(members)} network(s), but "
                                  f"n_models is {self.n_models}")
        nets = []  # assigned only once every network is loaded
        for member in range(self.n_models):
            net = self._network(self._state["input_shapes"])
            prefix = f"{member}."
            net.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
            net.eval()
            nets.append(net)
        self._nets = nets
