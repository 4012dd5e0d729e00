"""An evaluator that scores architectures with a trained supernet (one-shot NAS through the Study loop)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import MissingFileError, UsageError
from ..jsonfiles import loads
from ..oneshot.checks import DATA_OPTIONS, check_data, check_data_record, check_split_options
from ..oneshot.study import data_names, split_defaults  # split_defaults re-exported: it was defined here before
from ..registry import did_you_mean
from ..spaces import Architecture
from .base import Result

if TYPE_CHECKING:
    from torch import nn

    from ..data import ImageDataset



def _check_options(data: Any, score: Any, data_options: dict[str, Any] | None, threads: int | None,
                   deploy: dict[str, int] | None, latency_repeats: int) -> Any:
    """``UsageError`` for any bad argument of :class:`SupernetEvaluator`, before anything is loaded; returns
    the :class:`~nasforge.oneshot.ScoreConfig` that ``score`` stands for."""
    from ..checks import check_int
    from ..data import ImageDataset
    from ..oneshot.scoring import search_score

    if isinstance(data, str) and data not in data_names():
        raise UsageError(f"unknown data set {data!r}{did_you_mean(data, data_names())}; choose from {data_names()}")
    if not isinstance(data, (str, ImageDataset)):
        raise UsageError(f"data must be a data set name or an ImageDataset, got {type(data).__name__}")
    if data_options is not None and (not isinstance(data_options, dict) or set(data_options) - set(DATA_OPTIONS)):
        raise UsageError(f"data_options must be a dict with keys from {list(DATA_OPTIONS)}, got {data_options!r}")
    if data_options and not isinstance(data, str):
        raise UsageError(f"data_options {data_options!r} apply to a data set given by name, not an ImageDataset")
    check_split_options(data_options or {}, lambda name: f"data_options {name}",
                        data=data if isinstance(data, str) else None)
    if deploy is not None and (not isinstance(deploy, dict) or set(deploy) - {"C", "N"}):
        raise UsageError(f"deploy must be a dict of sizes C and N (e.g. {{'C': 16, 'N': 4}}), got {deploy!r}")
    for name, value in (deploy or {}).items():
        check_int(f"deploy[{name!r}]", value, 1)
    check_int("latency_repeats", latency_repeats, 0)
    if threads is not None:
        check_int("threads", threads, 1)
    return search_score(score)


def _recorded_split(recorded: dict[str, Any], given: dict[str, Any],
                    free: tuple[str, ...] = ("data_dir", "noise", "augment")) -> dict[str, Any]:
    """The recorded data options with only the ``free`` ones taken from ``given`` (they do not move the split: where
    the files are, the noise scored on, the augmentation of networks retrained from
    :meth:`SupernetEvaluator.training_data`); ``UsageError`` when ``given`` sets another option to a value other
    than the recorded one (or, unrecorded, ``study_data``'s default)."""
    defaults = split_defaults()
    kept = {k: recorded.get(k, defaults[k]) for k in given if k not in free}
    clash = {k: v for k, v in given.items() if k not in free and v != kept[k]}
    if clash:
        raise UsageError(f"data_options {clash} contradict the split the supernet was trained on {kept}: scores "
                         f"would use validation images it trained on; leave them out (only {', '.join(free)} may "
                         "change)")
    return {**recorded, **{k: v for k, v in given.items() if k in free and v is not None}}


def scoring_split(spec_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The validation split a stored :meth:`SupernetEvaluator.spec` scores on: its data set and split options,
    with ``study_data``'s defaults for those it leaves out (where the files are, ``data_dir``, and the training
    augmentation, which no score uses, aside)."""
    defaults = split_defaults()
    options = spec_kwargs.get("data_options") or {}
    return {"data": spec_kwargs.get("data"),
            **{k: options.get(k, v) for k, v in defaults.items() if k not in ("data_dir", "augment")}}


def supernet_record(folder: str | Path | None) -> dict[str, Any] | None:
    """The ``supernet.json`` of the supernet saved in ``folder``, parsed; None where it cannot be read or holds
    no JSON object (loading the supernet then names the damage). The one reader of the record for the helpers
    that look at it before the supernet is loaded."""
    try:
        info = loads((Path(folder) / "supernet.json").read_text(encoding="utf-8"))
    except (OSError, TypeError, ValueError):  # TypeError: no folder; ValueError: not JSON (or too deep), not UTF-8
        return None
    return info if isinstance(info, dict) else None


def recorded_data(checkpoint: str | Path | None) -> str:
    """The name of the data set a saved supernet records it was trained on (``supernet.json``'s ``data``);
    "digits" where it records none or cannot be read (loading the supernet then names the damage)."""
    data = (supernet_record(checkpoint) or {}).get("data")
    name = data.get("data") if isinstance(data, dict) else None
    return name if isinstance(name, str) else "digits"


def warn_no_data_record(checkpoint: str | Path, stacklevel: int = 3) -> None:
    """Warn that the supernet saved in ``checkpoint`` records no training data, so digits with the default split
    is assumed (a supernet saved from Python without one)."""
    import warnings

    warnings.warn(f"{str(Path(checkpoint) / 'supernet.json')!r} records no training data: scoring on digits with the "
                  "default split, whose validation images may hold images it trained on if it trained on other data "
                  "or another split (then name the data: --data, or data= in Python)", stacklevel=stacklevel)


def records_no_data(checkpoint: str | Path | None) -> bool:
    """Whether the readable ``supernet.json`` of ``checkpoint`` lacks a data record (False where it cannot be
    read: loading the supernet then names the damage)."""
    info = supernet_record(checkpoint)
    return info is not None and not info.get("data")


def check_supernet_strategy(strategy: str, label: str = "strategy") -> None:
    """``UsageError`` (naming ``label``) for a multi-fidelity strategy: a supernet ignores the budget, so
    hyperband/asha/bohb would score the same architectures again at each rung (unknown names are left to the
    strategy registry)."""
    from ..strategies import check_single_fidelity

    check_single_fidelity([strategy], label, "but a supernet scores an architecture the same at every budget, so "
                          "every rung would re-score the same architectures",
                          "use a single-fidelity strategy (e.g. evolution, random)")


def check_same_weights(started: str | None, now: str, checkpoint: str | Path) -> None:
    """:class:`~nasforge.oneshot.checkpoint.CheckpointError` unless the supernet's weights file has the sha256 a
    study ``started`` with (None: a study stored before it was recorded, which passes)."""
    from ..oneshot.checkpoint import CheckpointError

    if started is not None and started != now:
        raise CheckpointError(f"{str(checkpoint)!r}: the checkpoint changed since the study started (supernet.pt has "
                              "another sha256: trained or saved again), so its scores would mix two supernets; "
                              "restore the supernet it started with, or search the new one in a new study")


def elastic_layout(config: dict[str, Any], C: int | None = None) -> dict[str, Any]:
    """The chain network's ``stages``/``widths``/``strides`` of an elastic supernet's layout (its ``config``: one
    layer per stage), widths scaled from its stem to ``C`` (None: as trained); empty for any other supernet."""
    if not config.get("elastic"):
        return {}
    scale = 1.0 if C is None else C / config["C"]
    return {"stages": [1] * len(config["widths"]), "widths": [max(1, round(w * scale)) for w in config["widths"]],
            "strides": list(config["strides"])}


class RecordedDataMissing(MissingFileError):
    """Nothing is left at ``path``, where a supernet recorded the files of its data set ``data``."""

    def __init__(self, data: str, path: str) -> None:
        super().__init__(f"data {data!r}: its recorded path {path!r} does not exist; if its files moved, pass their "
                         "new location as --data-dir (data_dir in Python); the recorded split is kept")
        self.data, self.path = data, path

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return type(self), (self.data, self.path)


def _check_recorded_path(data: str, data_dir: str | None) -> None:
    """:class:`RecordedDataMissing` when nothing is left at ``data_dir``, the path the supernet recorded for data
    set ``data``'s files (None: data built in)."""
    if data_dir is not None and not Path(data_dir).expanduser().exists():
        raise RecordedDataMissing(data, data_dir)


def _check_fingerprint(data: ImageDataset, recorded: str, where: str) -> None:
    """``UsageError`` (naming the data as ``where``) unless ``data`` has the content fingerprint the supernet
    recorded for its data."""
    from ..oneshot.checkpoint import data_fingerprint

    if data_fingerprint(data) != recorded:
        raise UsageError(f"data {where}: the files changed since the supernet was trained on "
                         "them (another content fingerprint), so its validation split may hold images it trained on; "
                         "score on the data it was trained on, or train a new supernet")


class SupernetEvaluator:
    """Score each architecture as a sub-network of ``supernet`` (inherited weights) on ``data``'s validation
    split: metrics ``val_acc`` (percent), ``val_loss`` and, where the space has a standalone network,
    ``params`` and ``flops`` of that network and its ``latency_ms`` (median batch-1 CPU forward over
    ``latency_repeats`` runs on one thread, as ``TrainingEvaluator`` measures it; 0: not measured);
    cost is the scoring time in seconds. ``deploy`` (e.g. ``{"C": 16, "N": 5}``) measures them on the
    standalone network at that size, the one to be deployed (``scored_params`` is then the network at the
    supernet's size, the one scored); without it they are those of the network at the supernet's size.
    Every argument is checked before anything is loaded or scored (``UsageError`` naming it).

    ``score`` is a :class:`~nasforge.oneshot.ScoreConfig`, or a dict of its fields over the search default
    (:func:`~nasforge.oneshot.scoring.search_score`: BN statistics recalibrated, as ``nasforge oneshot search``
    scores; None: that default): BN mode, recalibration batches, fine-tuning steps. Build from a saved supernet
    with :meth:`from_checkpoint`, which also makes the evaluator rebuildable by ``nasforge resume`` (``spec``).
    ``data`` given by name goes through :func:`nasforge.oneshot.study.study_data` (``digits``, ``digits-hard``
    or any ``load_dataset`` name) with ``data_options`` (``data_dir``, ``noise``, ``val_fraction``,
    ``test_fraction``, ``seed``, ``augment``: the training augmentation, which scores do not use but networks
    retrained with :meth:`training_data` do).
    """

    def __init__(self, supernet: nn.Module, data: ImageDataset | str = "digits", score: Any = None,
                 data_options: dict[str, Any] | None = None, threads: int | None = 1,
                 deploy: dict[str, int] | None = None, latency_repeats: int = 20) -> None:
        from ..oneshot.scoring import SubnetScorer

        score_config = _check_options(data, score, data_options, threads, deploy, latency_repeats)
        if isinstance(data, str):
            from ..oneshot.study import study_data

            self._data_spec = {"data": data, "data_options": dict(data_options or {})}
            try:
                data = study_data(data, **(data_options or {}))
            except (ValueError, FileNotFoundError) as exc:
                raise UsageError(f"data {data!r}: {exc}") from None
        else:
            self._data_spec = None
        check_data(supernet, data, "supernet")  # named as the user knows it, before SubnetScorer checks it again
        self.score_config = score_config
        self.supernet, self.data, self.threads = supernet, data, threads
        self.scorer = SubnetScorer(supernet, data, self.score_config)
        self.checkpoint: str | None = None
        self.weights_sha256: str | None = None
        self.deploy = dict(deploy) if deploy else None
        self.latency_repeats = latency_repeats
        self._sizes: dict[Architecture, dict[str, float]] = {}

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path, data: str | None = None, score: Any = None,
                        data_options: dict[str, Any] | None = None, threads: int | None = 1,
                        deploy: dict[str, int] | None = None, latency_repeats: int = 20,
                        weights_sha256: str | None = None) -> SupernetEvaluator:
        """Load a supernet saved by ``save_supernet``; ``data`` defaults to the data set it was trained on
        (recorded in its metadata as ``data``; where none is, digits, with a warning). On that data set the
        recorded split (``val_fraction``, ``seed``, ``test_fraction``) is always kept, so no validation image was
        trained on: ``data_options``
        may only give ``data_dir`` (where the files are now), ``augment`` (of the networks retrained with
        :meth:`training_data`; default: the recorded one) and, for digits-hard, ``noise`` (the pixel noise
        scored on; it does not move the split), and a value contradicting the record is a ``UsageError``; so
        on digits for a supernet trained on digits-hard (the same images) and the reverse. ``noise`` for data
        other than digits-hard and ``data_dir`` with the built-in digits sets are refused. Data
        files whose content changed since the supernet was trained on them (its recorded ``fingerprint``,
        :func:`~nasforge.oneshot.checkpoint.data_fingerprint`) are refused too: their validation split could
        hold images it trained on (a record without a fingerprint is accepted). The
        checkpoint (and a given ``data_dir``) are stored as absolute paths, so ``spec()`` rebuilds the
        evaluator from any directory, and ``spec()`` records the sha256 of the weights file loaded: given as
        ``weights_sha256`` (as ``nasforge resume`` does), a checkpoint trained again since is refused, so one
        study never mixes two supernets' scores. A supernet that cannot be loaded (or ``weights_sha256`` it does
        not match) raises :class:`~nasforge.oneshot.checkpoint.CheckpointError`."""
        from ..oneshot.checkpoint import CheckpointError, load_supernet
        from ..oneshot.study import STUDY_DATASETS

        _check_options(data or "digits", score, data_options, threads, deploy, latency_repeats)
        if weights_sha256 is not None and not isinstance(weights_sha256, str):
            raise UsageError(f"weights_sha256 must be a hex digest (str), got {weights_sha256!r}")
        supernet, info = load_supernet(checkpoint)
        check_same_weights(weights_sha256, info["weights_sha256"], checkpoint)
        try:  # the data it was trained on: what it is scored on by default, its split kept
            check_data_record(info.get("data"))
        except UsageError as exc:
            raise CheckpointError(f"{str(Path(checkpoint) / 'supernet.json')!r} is damaged: its data record: "
                                  f"{exc}") from None
        recorded = info.get("data") or {}
        if data is None and "data" not in recorded:  # a supernet saved from Python without a data record
            warn_no_data_record(checkpoint)
        data = data or recorded.get("data", "digits")
        options = dict(data_options or {})
        if options.get("data_dir") is not None:
            if data in STUDY_DATASETS:
                raise UsageError(f"data_dir {options['data_dir']} applies to data read from files, not {data} "
                                 "(built in)")
            options["data_dir"] = str(Path(options["data_dir"]).absolute())
        kept = dict(recorded.get("data_options") or {})
        if "noise" in options and data != "digits-hard":
            if recorded.get("data") != data or options["noise"] != kept.get("noise"):
                raise UsageError(f"data_options noise={options['noise']!r} applies to digits-hard only, not {data}")
            del options["noise"]  # the noise oneshot train records for any data (unused): a stored spec repeats it
        if data == recorded.get("data"):
            if options.get("data_dir") is None:
                _check_recorded_path(data, kept.get("data_dir"))
            options = _recorded_split(kept, options)
        elif {data, recorded.get("data")} <= set(STUDY_DATASETS):  # digits and digits-hard: the same images
            options = _recorded_split({k: v for k, v in kept.items() if k not in ("data_dir", "noise")}, options)
        evaluator = cls(supernet, data, score, options, threads, deploy, latency_repeats)
        if data == recorded.get("data") and recorded.get("fingerprint") is not None:
            _check_fingerprint(evaluator.data, recorded["fingerprint"], f"{data} in {options.get('data_dir')}")
        evaluator.checkpoint = str(Path(checkpoint).absolute())
        evaluator.weights_sha256 = info["weights_sha256"]
        return evaluator

    def dataset(self) -> ImageDataset:
        """The data set architectures are scored on (the interface pipelines use for any evaluator)."""
        return self.data

    def training_data(self) -> dict[str, Any]:
        """``TrainingEvaluator`` data arguments for this evaluator's data set and split (only when built from
        a data set given by name): networks retrained with them are tested on images no score was taken on, and
        train with the supernet's augmentation (its record's, or the one given). A fraction of a split the files
        hold themselves (which the supernet's record may carry: it was ignored) is left out."""
        from .training import SPLIT_OPTIONS, held_fractions

        if self._data_spec is None:
            raise ValueError("only a SupernetEvaluator built from a data set given by name has training data")
        data, options = self._data_spec["data"], {**split_defaults(), **self._data_spec["data_options"]}
        void = held_fractions(data, options["data_dir"])
        return {"data": data, "data_dir": options["data_dir"], "data_seed": options["seed"],
                "data_options": {k: options[k] for k in SPLIT_OPTIONS if k not in void}, "augment": options["augment"]}

    def __repr__(self) -> str:
        return f"SupernetEvaluator({type(self.supernet).__name__}, data={self.data.name!r}, {self.score_config})"

    def _size_metrics(self, arch: Architecture) -> dict[str, float]:
        """``params``/``flops``/``latency_ms`` of the standalone network (deploy size if given) and, with
        ``deploy``, ``scored_params`` at the supernet's size; empty where the space has no standalone network."""
        if arch not in self._sizes:
            from ..models import create_model, model_for_space
            from ..training import count_flops, count_params, measure_latency

            try:  # by the space's type, not its name: any chain space (named or not) builds the chain network
                model, space_kwargs = model_for_space(self.supernet.space)
            except ValueError:  # no network is registered for this space
                self._sizes[arch] = {}
                return {}
            cfg = getattr(self.supernet, "config", {})
            scored = {k: cfg[k] for k in ("C", "N") if cfg.get(k) is not None} | elastic_layout(cfg)

            def build(size: dict[str, Any]) -> nn.Module:
                return create_model(model, arch, num_classes=self.data.num_classes,
                                    in_channels=self.data.in_channels, **{**space_kwargs, **size})

            # deployed: the standalone skeleton at the deploy size (what stage 2 retrains), else as scored
            deployed = scored if self.deploy is None else self.deploy | self.layout(self.deploy.get("C"))
            net, shape = build(deployed), tuple(self.data.x_train.shape[1:])
            sizes = {"params": float(count_params(net)), "flops": float(count_flops(net, shape))}
            if self.latency_repeats:
                sizes["latency_ms"] = measure_latency(net, shape, repeats=self.latency_repeats)
            if self.deploy is not None:
                sizes["scored_params"] = float(count_params(build(scored)))
            self._sizes[arch] = sizes
        return self._sizes[arch]

    def layout(self, C: int | None = None) -> dict[str, Any]:
        """The network arguments of the supernet's own layout at stem width ``C`` (an elastic supernet's
        :func:`elastic_layout`, empty for others): a network retrained at another size keeps the layout scored."""
        return elastic_layout(getattr(self.supernet, "config", {}), C)

    def evaluate(self, arch: Architecture, fidelity: dict[str, Any] | None = None) -> Result:
        import torch

        start, before = time.perf_counter(), torch.get_num_threads()
        try:
            if self.threads is not None:
                torch.set_num_threads(self.threads)
            metrics = {**self.scorer.score(self.supernet.space.check(arch)), **self._size_metrics(arch)}
        finally:  # the caller's thread count is theirs again afterwards, as TrainingEvaluator leaves it
            torch.set_num_threads(before)
        return Result(metrics=metrics, cost=time.perf_counter() - start)

    def spec(self) -> dict[str, Any]:
        """``{"factory", "kwargs"}`` rebuilding this evaluator (only from a checkpoint and a named data set)."""
        from dataclasses import asdict

        if self.checkpoint is None or self._data_spec is None:
            raise ValueError("only a SupernetEvaluator built with from_checkpoint(..., data=<name>) has a spec")
        return {"factory": f"{__name__}:{type(self).__name__}.from_checkpoint",
                "kwargs": {"checkpoint": self.checkpoint, **self._data_spec, "score": asdict(self.score_config),
                           "threads": self.threads, "deploy": self.deploy, "latency_repeats": self.latency_repeats,
                           "weights_sha256": self.weights_sha256}}
