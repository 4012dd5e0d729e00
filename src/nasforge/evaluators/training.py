"""Evaluate an architecture by building its network and training it on real data."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import time
import warnings
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks import check_int, check_real, check_seed, check_threads
from ..exceptions import ArchitectureError, UsageError
from ..oneshot.checks import check_augment, check_split_options
from ..registry import did_you_mean
from ..spaces import Architecture
from ..spaces.base import check_architecture
from .base import Result

if TYPE_CHECKING:
    from torch import nn

    from ..data import ImageDataset
    from ..training import TrainConfig
    from .reporter import Reporter

SPLIT_OPTIONS = ("noise", "val_fraction", "test_fraction")
"""The ``data_options`` a TrainingEvaluator passes on to :func:`nasforge.oneshot.study.study_data`."""
FIDELITY_KEYS = ("epochs", "data_fraction", "width", "cells", "resolution")
"""Low-fidelity knobs a trial may set: training epochs, fraction of the training split, channel
multiplier, cells per stage, input resolution (pixels)."""

RESERVED_MODEL_KWARGS = ("C", "N", "num_classes", "in_channels")
"""Network arguments the evaluator sets itself, so ``model_kwargs`` may not."""
MISFIT_TRIES = 7
"""How many sampled networks (besides a model space's default one) a network that cannot run on the data is
checked against: where one of them runs, the misfit is that network's own and fails its trial only."""

FILE_NAME_BYTES = 255
"""The longest file name, in UTF-8 bytes, that common file systems take (``NAME_MAX`` on Linux and macOS)."""


def network_folder_name(space: str, key: str) -> str:
    """The folder a saved network of space ``space`` goes to: its name and the hash of ``key`` (what determined
    the weights)."""
    return f"{space}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def space_name_budget() -> int:
    """The most UTF-8 bytes a space name can take for its saved networks to be written: the longest file name
    ``save_dir`` gets is the staging folder ``.<folder>.<pid>.<8 hex>.tmp`` that :func:`nasforge.export.save_model`
    renames to :func:`network_folder_name` (pids have at most 7 digits)."""
    return FILE_NAME_BYTES - len(f".{network_folder_name('', '')}.{9_999_999}.{'0' * 8}.tmp")


_DATA_CACHE: dict[tuple, tuple[str | None, dict[str | None, Any]]] = {}
"""One copy of each data set per process: (data, resolved data_dir, data_seed, data_options) -> the stamp of its
files when last read (:func:`~nasforge.data.sources.files_stamp`) and the data set by ``augment`` (sharing tensors);
an evaluator keeps the entry it first used (:meth:`TrainingEvaluator.dataset`)."""


class TrainingEvaluator:
    """Train the network of each architecture and report accuracy, loss and cost metrics.

    ``data`` is a data set name for :func:`nasforge.data.load_dataset` (loaded lazily, at the first trial, and kept
    for every later one, so the evaluator stays cheap to send to worker processes) or an ``ImageDataset``.
    ``C`` and ``N`` size the network (base channels, cells per stage; ``N=None`` for networks whose
    depth is part of the genotype, such as chains); ``train`` is a
    :class:`TrainConfig` (or its fields as a dict); ``fidelity`` holds the default knobs of
    :data:`FIDELITY_KEYS`, which each ``evaluate`` call may override. ``threads`` caps torch's
    intra-op threads in the process that evaluates (one per worker is fastest for small nets).
    ``seed`` seeds the weights, the data order and augmentation, and the ``data_fraction`` subset
    (it replaces ``train.seed``, and warns if that is set). ``data_options`` (keys of :data:`SPLIT_OPTIONS`)
    load the data as a one-shot supernet's split (:func:`nasforge.oneshot.study.study_data`, with ``data_seed``)
    instead of ``load_dataset``'s default split: a network retrained after a supernet search is tested on images the
    supernet never trained on nor scored. ``augment`` chooses the training augmentation of the data
    (:data:`~nasforge.data.AUGMENTATIONS`: "none", "crop", "crop_flip"; None: the data set's own, "crop" for
    digits, "crop_flip" for files); ``train.augment=False`` still turns it off.
    ``merge_val=True`` trains on train + validation (final retraining) and reports no validation metrics.
    ``deploy`` (e.g. ``{"C": 16, "N": 4}``) measures the cost metrics on the network at that size, the
    one to be deployed, while accuracy comes from the (cheaper) network trained at the given fidelity.
    ``model`` names the registered network that builds the architectures (default: the
    architecture's space name; see :func:`nasforge.models.model_for_space`). ``save_dir`` saves each
    trained network there (``nasforge.export.save_model``: safetensors weights, architecture,
    preprocessing, metrics) in a folder of its own, named after everything that set its weights (nothing
    saved before is replaced), and returns the folder as the result's user attribute ``model_dir``.

    Metrics: ``val_acc``, ``test_acc`` (percent), ``val_loss``, ``test_loss``, ``train_loss``,
    ``params``, ``flops``, ``latency_ms`` (median batch-1 forward) of the deployed network (without a training-only
    auxiliary head), ``train_seconds``, ``epochs``, and ``trained_params`` (the parameters of the network actually
    trained, auxiliary head included). Each epoch's ``val_acc`` goes to the engine's reporter, whatever the study's
    objectives: :attr:`report_direction` tells its pruner that higher is better.
    """

    report_direction = "maximize"
    """The direction of the reported values (:data:`nasforge.experiment.reporting.REPORT_DIRECTION`): val_acc."""
    first_report_step = 1
    """The step of a trial's first report (:data:`nasforge.experiment.reporting.FIRST_REPORT_STEP`): epochs
    completed, from 1."""

    def __init__(self, data: str | ImageDataset = "digits", data_dir: str | Path | None = None, data_seed: int = 0,
                 C: int = 16, N: int | None = 1, train: TrainConfig | dict[str, Any] | None = None,
                 fidelity: dict[str, Any] | None = None,
                 threads: int | None = 1, seed: int = 0, latency_repeats: int = 20, merge_val: bool = False,
                 model_kwargs: dict[str, Any] | None = None, deploy: dict[str, int] | None = None,
                 model: str | None = None, save_dir: str | Path | None = None,
                 data_options: dict[str, Any] | None = None, augment: str | None = None) -> None:
        from ..data import ImageDataset
        from ..training import TrainConfig

        if not isinstance(data, (str, ImageDataset)):
            raise UsageError(f"data must be a data set name or an ImageDataset, got {data!r}")
        if data_options is not None and (not isinstance(data_options, dict) or set(data_options) - set(SPLIT_OPTIONS)):
            raise UsageError(f"data_options must be a dict with keys from {list(SPLIT_OPTIONS)}, got {data_options!r}")
        if data_options is not None and not isinstance(data, str):
            raise UsageError(f"data_options {data_options!r} apply to a data set given by name, not an ImageDataset")
        if not isinstance(data, str) and (data_dir is not None or data_seed != 0):
            what = f"data_dir {str(data_dir)!r}" if data_dir is not None else f"data_seed {data_seed!r}"
            raise UsageError(f"{what}: the data set is given as an ImageDataset, already loaded and split, so it "
                             "would be ignored; leave data_dir and data_seed out")
        check_augment(augment)
        if isinstance(data, str):
            _check_data(data, data_dir, data_options)
        elif merge_val is False and len(data.y_val) == 0:  # val_acc, the objective, would be NaN after training
            raise UsageError(f"data set {data.name!r} has no validation images, so val_acc cannot be measured: load "
                             "it with val_fraction > 0, or give merge_val=True to train on it without validating")
        if data_options is not None:  # merge_val trains on the validation images: it may leave none; a split the
            # files hold (CIFAR's test batch, a folder's val/) is not drawn, so its fraction counts as 0
            check_split_options({**data_options, "data_dir": data_dir}, _data_label, empty_val=merge_val is True,
                                data=data if isinstance(data, str) else None)
        check_seed("data_seed", data_seed)
        check_int("C", C, 1)
        if N is not None:
            check_int("N", N, 1)
        self.data, self.data_dir, self.data_seed = data, data_dir, data_seed
        self.data_options = None if data_options is None else dict(data_options)
        self.augment = augment
        self.C, self.N = C, N
        self.train = train if isinstance(train, TrainConfig) else _train_config(train)
        self.fidelity = self.check_fidelity(fidelity or {})
        if threads is not None:
            check_threads("threads", threads)
        self.threads = threads
        check_seed("seed", seed)
        self.seed = seed
        if self.train.seed not in (0, seed):  # a stored spec holds train's seed: warned, never refused (resume)
            warnings.warn(f"train['seed'] {self.train.seed} is ignored: the evaluator's seed={seed} seeds training "
                          f"(a stored study's trials all train with it); for a new evaluator pass "
                          f"TrainingEvaluator(seed={self.train.seed})", UserWarning, stacklevel=2)
        check_int("latency_repeats", latency_repeats, 1)
        self.latency_repeats = latency_repeats
        if not isinstance(merge_val, bool):
            raise UsageError(f"merge_val must be True or False, got {merge_val!r}")
        self.merge_val = merge_val
        if model_kwargs is not None and not isinstance(model_kwargs, dict):
            raise UsageError(f"model_kwargs must be a dict of keyword arguments, got {model_kwargs!r}")
        self.model_kwargs = dict(model_kwargs or {})
        reserved = sorted(set(self.model_kwargs) & set(RESERVED_MODEL_KWARGS))
        if reserved:
            raise UsageError(f"model_kwargs {reserved}: the evaluator sets them (C=, N=, the fidelity knobs, the "
                             "data); leave them out of model_kwargs")
        unknown = sorted(set(deploy or {}) - {"C", "N"})
        if unknown:
            raise UsageError(f"deploy sizes are C and N, got {unknown}")
        for name, value in (deploy or {}).items():
            check_int(f"deploy {name}", value, 1)
        self.deploy = dict(deploy) if deploy else None
        if model is not None and not isinstance(model, str):
            raise UsageError(f"model must be a registered model name or None, got {model!r}")
        self.model = model
        self.save_dir = None if save_dir is None else str(save_dir)
        if save_dir is not None:
            if not isinstance(save_dir, (str, os.PathLike)):  # '' is the working folder, as it always was
                raise UsageError(f"save_dir must be a path (str or Path), got {type(save_dir).__name__} {save_dir!r}")
            self._check_save_dir()

    def _check_save_dir(self) -> None:
        """Before any training: ``save_dir`` is not a file nor in the folder the data is read from, and what
        rebuilds a saved network is plain JSON."""
        from ..data.sources import check_out_of_data

        folder = Path(self.save_dir).absolute()
        existing = next(f for f in (folder, *folder.parents) if f.exists())
        if not existing.is_dir():
            raise UsageError(f"save_dir {self.save_dir}: {existing} is a file, not a folder")
        if isinstance(self.data, str):
            check_out_of_data(self.save_dir, "save_dir", self.data, self.data_dir)
        try:
            json.dumps(self.model_kwargs)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"save_dir: a saved network is rebuilt from model_kwargs, which must be plain JSON "
                             f"({exc}); got {self.model_kwargs!r}") from None

    def __repr__(self) -> str:
        data = self.data if isinstance(self.data, str) else getattr(self.data, "name", "data")
        sizes = "" if "space" in self.model_kwargs else f"C={self.C}, N={self.N}, "  # a model space sizes its own
        return f"TrainingEvaluator(data={data!r}, {sizes}fidelity={self.fidelity})"

    @staticmethod
    def check_fidelity(fidelity: dict[str, Any]) -> dict[str, Any]:
        """``fidelity`` checked: known knobs (:data:`FIDELITY_KEYS`), each a number in its range."""
        if not isinstance(fidelity, dict):
            raise UsageError(f"fidelity must be a dict of knobs {list(FIDELITY_KEYS)}, got {fidelity!r}")
        unknown = sorted(set(fidelity) - set(FIDELITY_KEYS))
        if unknown:
            raise UsageError(f"unknown fidelity knob(s) {unknown}; choose from {list(FIDELITY_KEYS)}")
        for name in ("epochs", "cells", "resolution"):
            if name in fidelity:
                check_int(f"fidelity {name}", fidelity[name], 1)
        if "data_fraction" in fidelity:
            check_real("fidelity data_fraction", fidelity["data_fraction"], lambda v: 0 < v <= 1, "in (0, 1]")
        if "width" in fidelity:
            check_real("fidelity width", fidelity["width"], lambda v: v > 0, "a positive number")
        return dict(fidelity)

    def dataset(self) -> ImageDataset:
        """The full-fidelity data set, with the ``augment`` chosen. An evaluator reads its files once, at its first
        call, and keeps that data for every later call, also in the worker processes it is sent to: one run trains
        every trial on the same data even if the files are edited meanwhile. Files unchanged since are not read
        again (one copy per process, which every ``augment`` shares); a new evaluator reads edited files anew."""
        from ..data import ImageDataset

        if isinstance(self.data, ImageDataset):
            return self.data if self.augment is None else replace(self.data, augment=self.augment)
        variants = self.__dict__.get("_variants")
        if variants is None:
            variants = self._variants = self._first_load()
        return _variant(variants, self.augment, self.data)

    def _first_load(self) -> dict[str | None, ImageDataset]:
        """The data set by ``augment`` for this evaluator's first :meth:`dataset` in this process (:func:`_cached`).
        An evaluator sent to a worker keeps the stamp of its first read, or of its first sending
        (:meth:`__getstate__`): a worker whose process holds no copy of that data refuses files changed since."""
        here = self.__dict__.get("_stamp_host", _host()) == _host()  # another machine holds its own copy
        self._stamp, variants = _cached(self._data_key(), self.__dict__.get("_stamp") if here else None, self._load)
        self._stamp_host = _host()
        return variants

    def _data_key(self) -> tuple:
        """This evaluator's key in :data:`_DATA_CACHE`: data, resolved ``data_dir``, ``data_seed``, ``data_options``."""
        data_dir = None if self.data_dir is None else str(Path(self.data_dir).expanduser().resolve())
        return self.data, data_dir, self.data_seed, json.dumps(self.data_options, sort_keys=True)

    def __getstate__(self) -> dict[str, Any]:
        """The evaluator without its data (workers get it from their own process), with the stamp of its files: of
        its first read, or, sent before any read, of the files now, which this evaluator keeps from then on. Every
        worker then reads the same files (one started later, after an edit, refuses them), as if the evaluator had
        read its data when first sent."""
        if isinstance(self.data, str) and "_stamp" not in self.__dict__:
            from ..data.sources import files_stamp

            name, data_dir = self._data_key()[:2]
            with warnings.catch_warnings():  # the worker's read warns about the folder, not this stamp
                warnings.simplefilter("ignore")
                self._stamp, self._stamp_host = files_stamp(name, data_dir), _host()
        return {k: v for k, v in self.__dict__.items() if k != "_variants"}

    def _load(self) -> ImageDataset:
        """The data set read from its source (``load_dataset``, or ``study_data`` with ``data_options``)."""
        from ..data import load_dataset

        if self.data_options is None:
            return load_dataset(self.data, self.data_dir, seed=self.data_seed, augment=self.augment)
        from ..oneshot.study import study_data

        return study_data(self.data, None if self.data_dir is None else str(self.data_dir), seed=self.data_seed,
                          augment=self.augment, **self.data_options)

    def build(self, arch: Architecture,
              fidelity: dict[str, Any] | None = None) -> tuple[nn.Module, ImageDataset, dict[str, Any]]:
        """The (untrained, seeded) network of ``arch`` at ``fidelity``, the data set it trains on, and the
        fidelity knobs in force; a ``UsageError`` for a network that cannot be built with these settings."""
        check_architecture(arch)
        knobs = {**self.fidelity, **self.check_fidelity(fidelity or {})}
        name = self.model or arch.space
        if self.model in (None, "model_space") and "space" in self.model_kwargs and arch.space != "model_space":
            raise UsageError(f"an architecture of space {arch.space!r} was given to the evaluator of a model space, "
                             "which trains only that space's networks")
        size = self.size(knobs, name)
        data = self.dataset()
        if "resolution" in knobs:
            data = data.resized(int(knobs["resolution"]))
        if "data_fraction" in knobs:
            data = data.subset(float(knobs["data_fraction"]), seed=self.seed)
        model = self._create(name, arch, data, size, knobs)
        return model, data, knobs

    def _create(self, name: str, arch: Architecture, data: ImageDataset, size: dict[str, int],
                knobs: dict[str, Any]) -> nn.Module:
        """``create_model`` with the evaluator's settings, its weights drawn with ``seed`` (the caller's global
        RNG state is restored after); its refusal (e.g. C too small for the cell) is a ``UsageError`` that names
        the fidelity knobs in force."""
        import torch

        from ..models import create_model

        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                return create_model(name, arch, num_classes=data.num_classes, in_channels=data.in_channels,
                                    **size, **self.model_kwargs)
        except UsageError as exc:
            if not knobs or str(exc).startswith("the network of "):  # a model-space network: the same at any knobs
                raise
            raise UsageError(f"fidelity {knobs} (network size {size}): {exc}") from None
        except (ValueError, TypeError) as exc:
            knob_note = f", fidelity {knobs}" if knobs else ""
            raise UsageError(f"the {name} network of {arch.genotype!r} at {size}{knob_note}: {exc}") from None

    def size(self, knobs: dict[str, Any], model: str) -> dict[str, int]:
        """The size knobs of network ``model`` (``C``, and ``N`` where the network takes it) at fidelity ``knobs``
        (checked by :meth:`check_fidelity`), after checking ``model`` and ``model_kwargs`` fit each other."""
        takes = _model_parameters(model)
        if takes is not None:
            unknown = sorted(set(self.model_kwargs) - takes)
            if unknown:
                options = sorted(takes - {"arch", "num_classes", "in_channels", *RESERVED_MODEL_KWARGS})
                raise UsageError(f"model_kwargs {unknown}: the {model} network takes no such argument(s); it "
                                 f"takes {options or 'none'}")
        size = {"C": max(1, round(self.C * float(knobs.get("width", 1.0))))}
        what = "fidelity cells" if "cells" in knobs else "N"
        n = knobs.get("cells", self.N)
        if n is not None and _takes_n(model, takes, n, what):
            size["N"] = int(n)
        from ..models import MODELS

        check_size = getattr(MODELS.get(model), "check_size", None)  # _model_parameters checked the name
        if check_size is not None:  # a network's own size rule, for every architecture at once
            try:
                check_size(**size)
            except UsageError as exc:
                raise UsageError(f"fidelity {knobs} (network size {size}): {exc}" if knobs else str(exc)) from None
        return size

    def evaluate(self, arch: Architecture, fidelity: dict[str, Any] | None = None,
                 reporter: Reporter | None = None) -> Result:
        """Build, measure and train one network; each epoch's validation accuracy goes to ``reporter`` at step =
        epochs completed (1 to ``epochs``: the last report is at the trial's budget, where no pruner stops it)."""
        import torch

        threads = torch.get_num_threads()
        try:  # the caller's thread count is theirs again afterwards (a notebook, their own training)
            if self.threads is not None:
                torch.set_num_threads(self.threads)
            return self._evaluate(arch, fidelity, reporter)
        finally:
            torch.set_num_threads(threads)

    def _evaluate(self, arch: Architecture, fidelity: dict[str, Any] | None, reporter: Reporter | None) -> Result:
        """:meth:`evaluate` on the thread count in force."""
        from ..training import Trainer, count_flops, count_params, measure_latency

        start = time.perf_counter()
        try:
            model, data, knobs = self.build(arch, fidelity)
            shape = tuple(data.x_train.shape[1:])
            _dry_run(model, shape, arch, knobs, self.model_kwargs.get("space"))
        except UsageError as exc:
            if not str(exc).startswith("the network of ") or not self._another_runs(arch, fidelity):
                raise  # every network tried fails alike: misuse (data, fidelity or module), which stops the run
            raise ArchitectureError(str(exc)) from None  # this network's own choices: it fails its trial only
        target, cost_shape = model, shape
        if self.deploy is not None:  # the deployed network, at the data's full resolution
            name = self.model or arch.space
            deploy = dict(self.deploy)
            if "N" in deploy and not _takes_n(name, _model_parameters(name), deploy["N"], "deploy N"):
                del deploy["N"]
            target = self._create(name, arch, data, deploy, {})
            cost_shape = tuple(self.dataset().x_train.shape[1:])
        cost_metrics = {"params": float(count_params(target)), "flops": float(count_flops(target, cost_shape)),
                        "latency_ms": measure_latency(target, cost_shape, repeats=self.latency_repeats),
                        "trained_params": float(count_params(model, training_only=True))}
        config = replace(self.train, epochs=int(knobs.get("epochs", self.train.epochs)), seed=self.seed)

        def on_epoch(epoch: int, record: dict[str, float]) -> None:  # epoch: epochs completed, from 1
            if reporter is not None and not self.merge_val:
                reporter.report(epoch, record["val_acc"])

        try:
            outcome = Trainer(config).fit(model, data, on_epoch=on_epoch, merge_val=self.merge_val)
        except MODULE_ERRORS as exc:
            module = self._model_space() if (self.model or arch.space) == "model_space" else None
            if not _raised_in(exc, getattr(module, "_source", None)):  # a registered network's error: as raised
                raise
            detail = (str(exc).splitlines() or [""])[0]
            raise ArchitectureError(f"the network of {_arch_text(arch, self.model_kwargs.get('space'))} failed "
                                    f"while training: {type(exc).__name__}: {detail}".rstrip(": ")) from exc
        metrics = {**outcome.metrics(), **cost_metrics}
        if self.merge_val:
            metrics = {k: v for k, v in metrics.items() if not k.startswith("val_")}
        attrs = {"model_dir": str(self._save(model, arch, data, knobs, config, metrics))} if self.save_dir else {}
        return Result(metrics=metrics, cost=time.perf_counter() - start, user_attrs=attrs,
                      intermediate=[(int(r["epoch"]), r["val_acc"]) for r in outcome.history if not self.merge_val])

    def _model_space(self) -> Any:
        """The model space whose networks this evaluator trains (None for a registered network)."""
        space = self.model_kwargs.get("space")
        if isinstance(space, dict):
            from ..spaces.model_space.space import cached_space

            return cached_space(space)
        return space

    def _another_runs(self, arch: Architecture, fidelity: dict[str, Any] | None) -> bool:
        """Whether a network of ``arch``'s space other than ``arch`` is built and runs at ``fidelity``: the space's
        default network (a model space's module as written), then a few sampled ones (the same whatever the seed);
        remembered per fidelity, so only the first misfit of a run pays for the check."""
        import numpy as np

        from ..spaces import get_space

        key = json.dumps(fidelity or {}, sort_keys=True, default=str)
        runs = self.__dict__.setdefault("_runs", {})
        if key not in runs:
            try:
                space = self._model_space()
                space = space if hasattr(space, "sample") else get_space(arch.space)
            except Exception:  # noqa: BLE001 - a space not rebuilt here: the misfit is taken as misuse, as before
                return False
            rng = np.random.default_rng(0)
            others = [*([space.default] if hasattr(space, "default") else []),
                      *(space.sample(rng) for _ in range(MISFIT_TRIES))]
            runs[key] = any(self._runs_at(other, fidelity) for other in dict.fromkeys(others) if other != arch)
        return runs[key]

    def _runs_at(self, arch: Architecture, fidelity: dict[str, Any] | None) -> bool:
        """Whether the network of ``arch`` is built and runs at ``fidelity``."""
        try:
            model, data, knobs = self.build(arch, fidelity)
            _dry_run(model, tuple(data.x_train.shape[1:]), arch, knobs, self.model_kwargs.get("space"))
        except Exception:  # noqa: BLE001 - a user's module may raise anything while built
            return False
        return True

    def _save(self, model: nn.Module, arch: Architecture, data: ImageDataset, knobs: dict[str, Any],
              config: TrainConfig, metrics: dict[str, Any]) -> Path:
        """Save a trained network under ``save_dir``, in a folder named after everything that determined its
        weights (architecture, network, size, training, fidelity, data, seed): another training never lands
        in the same folder, and one that would (data passed in memory, an edited module) goes to a new one.

        The cost metrics of ``model.json`` (``params``, ``flops``, ``latency_ms``) are the saved network's own;
        with ``deploy``, the deploy-size network's (the result's) are under ``metrics["deploy"]`` with its size."""
        from ..export import save_model

        if self.deploy is not None:
            from ..training import count_flops, count_params, measure_latency

            shape = tuple(data.x_train.shape[1:])
            metrics = {**metrics, "params": float(count_params(model)), "flops": float(count_flops(model, shape)),
                       "latency_ms": measure_latency(model, shape, repeats=self.latency_repeats),
                       "deploy": {"size": dict(self.deploy),
                                  **{k: metrics[k] for k in ("params", "flops", "latency_ms") if k in metrics}}}
        name = self.model or arch.space
        size = {} if name == "model_space" else self.size(knobs, name)  # a module fixes its own size: C/N unused
        model_kwargs = {**size, **self.model_kwargs}
        data_name = self.data if isinstance(self.data, str) else getattr(self.data, "name", "data")
        train = asdict(config)
        if config.bn_mode == "inherited":  # the default: named as before the setting existed
            del train["bn_mode"]
        key = json.dumps({"arch": arch.to_json(), "model": name, "model_kwargs": model_kwargs,
                          "train": train, "fidelity": knobs, "data": data_name,
                          "data_dir": None if self.data_dir is None else str(Path(self.data_dir).absolute()),
                          "data_seed": self.data_seed, "merge_val": self.merge_val, "seed": self.seed,
                          **({"data_options": self.data_options} if self.data_options is not None else {}),
                          **({"augment": self.augment} if self.augment is not None else {})},
                         sort_keys=True)
        folder = Path(self.save_dir).absolute() / network_folder_name(arch.space, key)
        return save_model(folder, model, model_name=name, arch=arch, model_kwargs=model_kwargs,
                          num_classes=data.num_classes, in_channels=data.in_channels,
                          preprocessing=data.preprocessing(), metrics=metrics, new_folder=True)

    def spec(self) -> dict[str, Any]:
        """``{"factory", "kwargs"}`` in plain JSON that rebuilds this evaluator (the engine records it so
        ``nasforge resume`` can continue a study); only for data sets given by name. ``data_dir`` is recorded
        absolute, so the study reads the same files whatever folder it is resumed from; ``augment`` is recorded
        where given (a spec without it, as stored before, trains with the data set's own)."""
        if not isinstance(self.data, str):
            raise UsageError("an evaluator built from an in-memory data set cannot be rebuilt from a spec; "
                             "pass the data set by name")
        try:
            json.dumps(self.model_kwargs)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"an evaluator whose model_kwargs are not plain JSON cannot be rebuilt from a spec "
                             f"({exc})") from None
        data_dir = None if self.data_dir is None else str(Path(self.data_dir).expanduser().absolute())
        kwargs = {"data": self.data, "data_dir": data_dir,  # absolute: a resume reads the same files from anywhere
                  "data_seed": self.data_seed, "C": self.C, "N": self.N, "train": asdict(self.train),
                  "fidelity": dict(self.fidelity), "threads": self.threads, "seed": self.seed,
                  "latency_repeats": self.latency_repeats, "merge_val": self.merge_val,
                  "model_kwargs": dict(self.model_kwargs), "deploy": self.deploy, "model": self.model,
                  "save_dir": self.save_dir, "data_options": self.data_options,
                  **({"augment": self.augment} if self.augment is not None else {})}
        return {"factory": f"{__name__}:{type(self).__name__}", "kwargs": kwargs}


def shared_dataset(name: str, data_dir: str | Path | None, seed: int = 0, augment: str | None = None) -> ImageDataset:
    """:func:`~nasforge.data.load_dataset` through this process's copy of the data (:data:`_DATA_CACHE`), read only
    when its files changed since: an evaluator of the same data then reads nothing again (nor warns again)."""
    from ..data import load_dataset

    resolved = None if data_dir is None else str(Path(data_dir).expanduser().resolve())
    _, variants = _cached((name, resolved, seed, json.dumps(None)), None,
                          lambda: load_dataset(name, data_dir, seed=seed, augment=augment))
    return _variant(variants, augment, name)


def _host() -> str:
    """This machine's name: a stamp (inodes, modification times) holds only for the files of the machine it was
    taken on; a Ray worker on another machine reads its own copy of the data."""
    import socket

    return socket.gethostname()


def _cached(key: tuple, pinned: str | None, load: Any) -> tuple[str | None, dict[str | None, ImageDataset]]:
    """(stamp, data set by ``augment``) of :data:`_DATA_CACHE` ``key``: the process's copy when it has the stamp
    ``pinned`` or, with none pinned, when its files are unchanged (:func:`~nasforge.data.sources.files_stamp`,
    taken before reading), else ``load()`` now; a UsageError for files changed since the ``pinned`` read."""
    from ..data.sources import files_stamp

    name, data_dir = key[0], key[1]
    cached = _DATA_CACHE.get(key)
    if pinned is None or cached is None or cached[0] != pinned:
        stamp = files_stamp(name, data_dir)  # before reading: a file changed while read is read again
        if pinned is not None and stamp != pinned:
            raise UsageError(f"data {name!r} at {data_dir!r}: its files changed after this evaluator first read "
                             "them, and one run trains every trial on the same data; leave the files as they are "
                             "during a run (a new search reads the edited files)")
        if cached is None or cached[0] != stamp:
            data = load()
            cached = _DATA_CACHE[key] = stamp, {None: data} if data.augment == _default_augment(name) else {}
            cached[1][data.augment] = data
    return cached


def _variant(variants: dict[str | None, ImageDataset], augment: str | None, name: str) -> ImageDataset:
    """The data set of ``variants`` with ``augment`` (None: data set ``name``'s own), sharing their tensors."""
    if augment not in variants:
        want = augment or _default_augment(name)
        variants[augment] = variants.get(want) or replace(next(iter(variants.values())), augment=want)
        if augment is None and want == "crop_flip":  # as from_arrays warns a read with the default augment
            from ..data.dataset import warn_tabular

            warn_tabular(variants[augment].name, tuple(variants[augment].x_train.shape[1:]), stacklevel=4)
    return variants[augment]


def _train_config(train: dict[str, Any] | None) -> TrainConfig:
    """A :class:`TrainConfig` from its fields as a dict; ``UsageError`` naming unknown fields."""
    from dataclasses import fields

    from ..training import TrainConfig

    if train is not None and not isinstance(train, dict):
        raise UsageError(f"train must be a TrainConfig or a dict of its fields, got {train!r}")
    known = [f.name for f in fields(TrainConfig)]
    unknown = sorted(set(train or {}) - set(known))
    if unknown:
        raise UsageError(f"unknown training setting(s) {unknown}; choose from {known}")
    return TrainConfig(**(train or {}))


def _default_augment(name: str) -> str:
    """The augmentation data set ``name`` gets by default: "crop" for digits (never mirrored), else "crop_flip"."""
    from ..oneshot.study import STUDY_DATASETS

    return "crop" if name in STUDY_DATASETS else "crop_flip"


def _data_label(field: str) -> str:
    """How the evaluator's refusals name a data setting: a split option as ``data_options KEY``."""
    return f"data_options {field}" if field in SPLIT_OPTIONS else field


def _check_data(name: str, data_dir: str | Path | None, data_options: dict[str, Any] | None) -> None:
    """A data set name that loads (:func:`~nasforge.data.load_dataset`'s, or a one-shot study's with
    ``data_options``) with the settings that apply to it (:func:`nasforge.oneshot.study.check_data_options`): a
    split fraction for a split the files hold themselves would be ignored (the value ``study_data`` takes by default,
    which older saved supernets passed on and evaluator specs recorded, is let through as before), and a
    ``data_dir`` that exists (:func:`~nasforge.data.sources.data_path`; the data is read by the first trial)."""
    from ..data.sources import DATASETS, data_path
    from ..oneshot.study import check_data_options, study_data

    if data_options is None and name not in DATASETS:
        from ..oneshot.study import data_names

        if name in data_names():
            raise UsageError(f"data {name!r} is a one-shot study's data set, loaded with its split: give "
                             f"data_options={{}} (study_data's defaults) or data_options with keys "
                             f"{list(SPLIT_OPTIONS)}")
        raise UsageError(f"data {name!r}: unknown data set{did_you_mean(name, [*DATASETS, *data_names()])}; "
                         f"choose from {list(DATASETS)}, or "
                         f"{[n for n in data_names() if n not in DATASETS]} with data_options")
    options = data_options or {}
    check_data_options(name, data_dir, options.get("noise"), _data_label, test_fraction=options.get("test_fraction"))
    if data_dir is not None:  # a typo would else fail every trial
        data_path(name, data_dir)
    # study_data's defaults are what saved supernets passed on before this check: specs recorded so still rebuild
    recorded = {key: p.default for key, p in inspect.signature(study_data).parameters.items() if "fraction" in key}
    given = [key for key in ("val_fraction", "test_fraction") if key in options and options[key] != recorded[key]]
    held = held_fractions(name, data_dir) if given else {}
    void = [key for key in given if key in held]
    if void:
        raise UsageError(f"{_data_label(void[0])} {options[void[0]]} does not apply to {name} {data_dir}: its "
                         f"{void[0].removesuffix('_fraction')} split is {held[void[0]]}; leave it out")


def held_fractions(name: str, data_dir: str | Path | None) -> dict[str, str]:
    """The split fractions (``val_fraction``, ``test_fraction``) that data set ``name``'s files at ``data_dir``
    make void, each with what holds that split (an image folder's ``val/``, an NPZ file's ``x_test``...)."""
    from ..data.sources import DATASETS, stored_splits

    if name not in DATASETS or data_dir is None:
        return {}
    return {f"{split}_fraction": held for split, held in stored_splits(name, data_dir).items()}


def _model_parameters(model: str) -> set[str] | None:
    """The argument names of registered network ``model`` (None where it takes ``**kwargs`` or cannot be
    inspected); a ``UsageError`` for a name no network is registered under."""
    from ..models import MODELS
    from ..settings import keyword_names

    if model not in MODELS:
        raise UsageError(f"model {model!r}: no network is registered under that name; choose from {MODELS.names()} "
                         "(pass model= for a space named otherwise)")
    names = keyword_names(MODELS.get(model))
    return None if names is None else set(names)


def _takes_n(model: str, takes: set[str] | None, n: int, what: str) -> bool:
    """Whether network ``model`` gets ``N``: yes where it takes one; a network whose depth is in the genotype
    (a chain) has one repetition, so ``n`` = 1 is dropped and any other value is a ``UsageError``."""
    if takes is None or "N" in takes:
        return True
    if n != 1:
        raise UsageError(f"{what}={n}: the {model} network has no cells to repeat (its depth is in the genotype); "
                         "leave it out (N=None or 1)")
    return False


MODULE_ERRORS = (ValueError, AssertionError, TypeError, IndexError, KeyError, AttributeError, NotImplementedError)
"""The kinds of error that a model space's module raising them while its network trains would raise again on a
re-run (a bug or misfit of the network's own choices), so the trial fails without a retry; other errors
(``RuntimeError``: out of memory, a device error) are retried."""


def _raised_in(exc: BaseException, source: Any) -> bool:
    """Whether ``exc``'s traceback passes through the file ``source`` (a model space's module file)."""
    if not source:
        return False
    import os

    target = os.path.realpath(source)
    tb = exc.__traceback__
    while tb is not None:
        if os.path.realpath(tb.tb_frame.f_code.co_filename) == target:
            return True
        tb = tb.tb_next
    return False


def _dry_run(model: nn.Module, shape: tuple[int, ...], arch: Architecture, knobs: dict[str, Any],
             space: Any = None) -> None:
    """One forward pass of a blank image before training: a network that cannot run on images of ``shape`` (e.g.
    too small a ``resolution`` for its downsampling) is a ``UsageError`` naming the architecture (in the text form
    of ``space``, a model space or its config, else of the registered space ``arch.space``), the shape and the
    fidelity knobs in force, if any."""
    import torch

    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *shape))
    except Exception as exc:  # noqa: BLE001 - whatever a user's module raises, a re-run would raise it too
        if "memory" in str(exc).lower() or isinstance(exc, MemoryError):  # out of memory now is no misfit: as it is
            raise
        fidelity = f" (fidelity {knobs})" if knobs else ""
        detail = (str(exc).splitlines() or [""])[0]
        detail = detail if isinstance(exc, RuntimeError) else f"{type(exc).__name__}: {detail}".rstrip(": ")
        raise UsageError(f"the network of {_arch_text(arch, space)} cannot run on images of shape {list(shape)}"
                         f"{fidelity}: {detail}") from None
    finally:
        model.train(was_training)


def _arch_text(arch: Architecture, space: Any = None) -> str:
    """``arch`` in its space's text form (``space``: a model space or its config; else the registered space
    ``arch.space``), or its genotype when no space reads it."""
    from ..spaces import get_space

    try:
        if space is None:
            space = get_space(arch.space)
        elif isinstance(space, dict):
            from ..spaces.model_space.space import cached_space

            space = cached_space(space)
        return space.format(arch)
    except Exception:  # noqa: BLE001 - a space that cannot be rebuilt here: the genotype says the same
        return repr(arch.genotype)
