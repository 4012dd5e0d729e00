"""Saving and loading trained supernets: ``supernet.pt`` (a state dict, read with ``weights_only=True``) and
``supernet.json`` (how to rebuild it: space, sizes, norm, drop-path, few-shot parts, data, training record, and
``weights_sha256``, the sha256 of the ``supernet.pt`` it was saved with)."""

from __future__ import annotations

from ..extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

import copy
import hashlib
import io
import json
import re
import reprlib
import warnings
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import nn

from ..checks import check_path
from ..exceptions import MissingFileError, UsageError
from ..jsonfiles import JSONLimitError, loads
from ..models.layers import Norm
from ..spaces import ChainSpace, get_space, space_record, stored_space
from ..writes import is_dead_temporary, json_starting, own_outputs, remove_dead_temporaries, write_atomic
from .checks import check_data_record

if TYPE_CHECKING:
    from ..data import ImageDataset

FORMAT = "nasforge-supernet/1"
MODEL_SPACE = "model_space"


class CheckpointError(UsageError):
    """A saved supernet that cannot be loaded: missing, damaged, or not matching its own description."""


class MissingCheckpointError(CheckpointError, MissingFileError):
    """The folder holds no saved supernet (also a ``FileNotFoundError``)."""


OWN_KEYS = ("format", "space", "space_config", "config", "arch_trained", "weights_sha256")
"""The keys ``supernet.json`` itself uses; ``meta`` may not set them."""


_is_description = json_starting(  # a supernet.json save_supernet wrote: its first key, "format", names this one
    rb'"format":\s*"' + re.escape(FORMAT).encode() + b'"')


def _is_saved_weights(path: Path) -> bool:
    """Whether ``path`` is a ``supernet.pt`` of an earlier save: one that a ``supernet.json`` of this format
    describes (damaged or not; a torch file alone may be any checkpoint of the user's)."""
    description = path.with_name("supernet.json")
    return description.is_file() and _is_description(description)


SAVED_FILES = {"supernet.pt": _is_saved_weights, "supernet.json": _is_description}
"""The files :func:`save_supernet` writes, each with how an earlier save's is recognised (any other file of their
names, or a symbolic link, is never replaced)."""


def check_save_folder(folder: str | Path, overwrite: bool, name: str = "folder",
                      flag: str = "overwrite=True") -> Path:
    """``folder`` as a Path; ``UsageError`` naming it as ``name`` when it is a file, holds a ``supernet.pt`` or
    ``supernet.json`` that no earlier save wrote or a symbolic link of those names (even with ``overwrite``), or
    holds a saved supernet or other files and not ``overwrite`` (``flag`` says how to allow it). The temporary
    files of saves killed while they wrote (their process gone) are removed first."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{name} {str(folder)!r} is a file, not a folder")
    saved = own_outputs(folder, SAVED_FILES, name, "nasforge (oneshot train, save_supernet)")
    # a killed save's: no file of the user's, nothing to refuse (a rerun at once after the kill goes on; a fresh
    # one stays, maybe another machine's save, until the next write of its file)
    remove_dead_temporaries(folder, SAVED_FILES)
    held = sorted(p.name for p in folder.iterdir() if not is_dead_temporary(p.name, SAVED_FILES)) \
        if folder.is_dir() else []
    if held and not overwrite:
        what = "a saved supernet" if saved else f"{len(held)} file(s) {held[:3]}"
        raise UsageError(f"{name} {str(folder)!r} already holds {what}; save into a new or empty folder, or pass "
                         f"{flag} to replace it")
    return folder


def save_supernet(supernet: nn.Module, folder: str | Path, meta: dict[str, Any] | None = None,
                  overwrite: bool = False) -> Path:
    """Write ``supernet`` (built by :func:`build_supernet`, possibly split for few-shot) into ``folder``.

    ``folder`` must be new or empty: one that already holds a saved supernet or other files is refused
    (``UsageError``, nothing written) unless ``overwrite=True``, which replaces ``supernet.pt`` and
    ``supernet.json`` and leaves any other file alone. Each file is replaced atomically, the description first;
    ``supernet.json`` records the weights' sha256, so a save interrupted between the two is refused by
    :func:`load_supernet` rather than pairing the new description with old weights."""
    import torch

    if not isinstance(overwrite, bool):
        raise UsageError(f"overwrite must be True or False, got {overwrite!r}")
    if meta is not None and not isinstance(meta, dict):
        raise UsageError(f"meta must be a dict, got {type(meta).__name__}")
    clash = sorted(set(meta or {}) & set(OWN_KEYS))
    if clash:
        raise UsageError(f"meta keys {clash} are the file's own (it records {list(OWN_KEYS)}); rename them")
    if meta is not None and "data" in meta:  # read back by SupernetEvaluator.from_checkpoint to score
        try:
            check_data_record(meta["data"])
        except UsageError as exc:
            raise UsageError(f"meta['data']: {exc}") from None
    folder = check_save_folder(folder, overwrite)
    config = dict(getattr(supernet, "config", {}))
    space = supernet.space
    weights = io.BytesIO()
    torch.save(supernet.state_dict(), weights)
    info = {"format": FORMAT, "space": space.name, "space_config": space_record(space) or {}, "config": config,
            "arch_trained": getattr(supernet, "arch_trained", None),
            "weights_sha256": hashlib.sha256(weights.getvalue()).hexdigest(), **(meta or {})}
    # the description first: a save killed between the two leaves one recognised as an earlier save's (replaced
    # with overwrite), never a lone supernet.pt; its weights_sha256 keeps load_supernet from pairing it with others
    write_atomic(folder / "supernet.json", json.dumps(info, indent=1, default=str), "folder", follow=False)
    write_atomic(folder / "supernet.pt", weights.getvalue(), "folder", follow=False)
    return folder


def _load_space(info: dict[str, Any], json_file: Path) -> Any:
    """The space ``supernet.json`` records (:func:`~nasforge.spaces.stored_space`; ``{}`` in a file saved before a
    registered space's options were recorded: its defaults); a model space whose module cannot be loaded, or
    changed since (its recorded fingerprint), is a CheckpointError."""
    name, config = info["space"], info.get("space_config")
    if not config:
        return get_space(name)
    try:
        space = stored_space(name, config)
        if name == MODEL_SPACE:
            space.check_source("the supernet", "train it again")  # the weights belong to the module as it was
    except UsageError as exc:
        if name == MODEL_SPACE:
            from ..spaces.model_space.space import EditedModule

            said = exc.line("the supernet", "train it again") if isinstance(exc, EditedModule) else exc
            raise CheckpointError(f"{str(json_file)!r}: its model space cannot be rebuilt: {said}") from None
        raise CheckpointError(f"{str(json_file)!r} is damaged: space {name!r} with options {config}: {exc}") from None
    return space


def load_supernet(folder: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a saved supernet (weights loaded safely) and return it with its metadata, whose
    ``weights_sha256`` is that of the ``supernet.pt`` loaded (also for a file saved before it was recorded). A
    damaged or mismatched ``supernet.json`` / ``supernet.pt`` (a data record of the wrong shape, few-shot parts
    that do not hold every architecture once, weights other than those the description was saved with, NaN or
    infinite weights) is a :class:`CheckpointError` naming the file."""
    import torch

    from .fewshot import FewShotSupernet, check_parts

    check_path("folder", folder, "a saved supernet's folder")
    folder = Path(folder)
    if not (folder / "supernet.json").is_file() or not (folder / "supernet.pt").is_file():
        raise MissingCheckpointError(f"{str(folder)!r} holds no saved supernet (supernet.json and supernet.pt)")
    json_file, weights_file = folder / "supernet.json", folder / "supernet.pt"
    try:
        info = loads(json_file.read_text(encoding="utf-8"))
    except JSONLimitError as exc:
        raise CheckpointError(f"{str(json_file)!r} is damaged: it {exc}") from None
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or not JSON
        raise CheckpointError(f"{str(json_file)!r} is damaged: not readable JSON ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise CheckpointError(f"{str(json_file)!r} is not a {FORMAT} file")
    _check_fields(info, json_file)

    def does_not_fit(why: str) -> CheckpointError:
        return CheckpointError(f"{str(weights_file)!r} does not fit the supernet {str(json_file)!r} describes "
                               f"(edited or from another save): {' '.join(why.split())[:300]}")

    try:
        cfg = dict(info["config"])
        few_shot = cfg.pop("few_shot", None)
        space = _load_space(info, json_file)
        raw, state = _read_weights(weights_file)
        held = len({key.split(".")[1] for key in state if isinstance(key, str) and key.startswith("members.")})
        if few_shot and len(few_shot) != held:  # before a copy of the supernet per part: 12 KB may list thousands
            raise does_not_fit(f"{json_file.name} lists {len(few_shot)} few-shot part(s), {weights_file.name} holds "
                               f"the weights of {held}")
        if few_shot:  # before a copy per part, and before scoring: a part the space lacks fails only then
            try:
                check_parts(space, few_shot)
            except UsageError as exc:
                raise CheckpointError(f"{str(json_file)!r} is damaged: its few-shot parts (config.few_shot): "
                                      f"{exc}") from None
        base = _rebuild(space, cfg)
        net = FewShotSupernet([copy.deepcopy(base) for _ in few_shot], few_shot) if few_shot else base
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{str(json_file)!r} is damaged: cannot rebuild the supernet it describes "
                              f"({type(exc).__name__}: {exc})") from None
    except (RuntimeError, MemoryError) as exc:  # the allocator refuses a size like C=100000
        size = {key: cfg[key] for key in ("C", "N") if key in cfg}
        raise CheckpointError(f"{str(json_file)!r}: cannot build the supernet it describes {size} (too large for this "
                              f"machine? {type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise does_not_fit(str(exc)) from None
    sha256 = hashlib.sha256(raw).hexdigest()
    if info.get("weights_sha256", sha256) != sha256:  # recorded since 2026-12-05
        raise CheckpointError(f"{str(weights_file)!r} is not the weights file {str(json_file)!r} was saved with "
                              "(another sha256: a save was interrupted between the two, or one was replaced); save "
                              "the supernet again")
    broken = [key for key, value in state.items() if torch.is_tensor(value) and value.is_floating_point()
              and not bool(torch.isfinite(value).all())]
    if broken:  # NaN or infinite weights score every architecture at chance: damaged, not a supernet to search
        raise CheckpointError(f"{str(weights_file)!r} is damaged: {len(broken)} tensor(s) hold NaN or infinite "
                              f"values (e.g. {broken[0]!r}); train the supernet again")
    if info.get("arch_trained") is not None:  # recorded since derive_argmax refuses SPOS-only supernets
        net.arch_trained = info["arch_trained"]
    return net.eval(), {**info, "weights_sha256": sha256}


FIELD_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "space": ((str,), "a space's name"), "config": ((dict,), "an object"),
    "arch_trained": ((bool, type(None)), "true, false or null"), "weights_sha256": ((str,), "a hex digest")}
"""The fields of ``supernet.json`` :func:`load_supernet` reads as they are, with the types they must have (the
others are checked where they are read: the space's options, the sizes, norm and drop-path by the supernet they
build, the few-shot parts, and the data record by the scorers; the training records are not read)."""


def _check_fields(info: dict[str, Any], json_file: Path) -> None:
    """:class:`CheckpointError` naming ``json_file`` and the field when a field of :data:`FIELD_TYPES` that the
    file holds has another type (``space`` and ``config`` must be there; the others, left out by older saves,
    read as before)."""
    for key, (types, want) in FIELD_TYPES.items():
        if (key in info or key in ("space", "config")) and not isinstance(info.get(key), types):
            got = reprlib.repr(info[key]) if key in info else "nothing"
            raise CheckpointError(f"{str(json_file)!r} is damaged: {key} must be {want}, got {got}")


def _read_weights(weights_file: Path) -> tuple[bytes, dict[str, Any]]:
    """The bytes of ``supernet.pt`` and the state dict they hold, read with ``weights_only=True``; a
    :class:`CheckpointError` when they hold none."""
    import torch

    try:
        raw = weights_file.read_bytes()
        with warnings.catch_warnings():  # a pickle's "Detected pickle protocol" warning: it is refused below
            warnings.simplefilter("ignore")
            state = torch.load(io.BytesIO(raw), weights_only=True)
    except Exception:  # torch raises UnpicklingError, RuntimeError, EOFError... on a damaged or pickled file
        state = None
    if not isinstance(state, dict):
        raise CheckpointError(f"{str(weights_file)!r} is damaged or not a plain tensor file (a state dict written "
                              "by save_supernet); it is not loaded")
    return raw, state


def _rebuild(space: Any, cfg: dict[str, Any]) -> nn.Module:
    """The (untrained) supernet ``cfg`` describes: an elastic chain, a model space's own, or a :func:`build_supernet`
    one."""
    from .registry import build_supernet

    if space.name == MODEL_SPACE:  # the user's module sets its sizes and shapes
        return space.supernet()
    if cfg.get("elastic"):
        from .elastic import ElasticChainSupernet

        return ElasticChainSupernet(space, cfg["num_classes"], cfg["in_channels"], C=cfg["C"], widths=cfg["widths"],
                                    strides=cfg["strides"])
    if isinstance(space, ChainSpace) and "stages" in cfg:  # the recorded layout (one flat stage before 2026-12-05)
        from .chain import ChainSupernet

        return ChainSupernet(space, cfg["num_classes"], cfg["in_channels"], C=cfg["C"], stages=cfg["stages"],
                             widths=cfg["widths"], strides=cfg["strides"], drop_path=cfg.get("drop_path", 0.0),
                             norm=Norm(**cfg.get("norm", {})))
    return build_supernet(space, cfg["num_classes"], cfg["in_channels"], norm=Norm(**cfg.get("norm", {})),
                          drop_path=cfg.get("drop_path", 0.0), C=cfg.get("C"), N=cfg.get("N"))


def check_study_fingerprint(study: Any, fingerprint: str, remedy: str, where: str | None = None) -> None:
    """Record ``fingerprint`` (:func:`data_fingerprint`) with a study that has no trial yet; ``UsageError``
    naming the data as ``where`` (e.g. "folder in /data/pets"; None: "the data files") and ending in ``remedy``
    when the study recorded another one, since its trials saw other data. A study stored before fingerprints were
    recorded passes, as it did then."""
    stored = study.user_attrs.get("data_fingerprint")
    if stored is None and not study.trials:
        study.set_user_attr("data_fingerprint", fingerprint)
    elif stored is not None and stored != fingerprint:
        files = "the data files" if where is None else f"data {where}: the files"
        raise UsageError(f"study {study.name!r} in {study.storage.url} was trained on other data: {files} "
                         f"changed since (another content fingerprint); {remedy}")


_FINGERPRINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # data set (immutable) -> its fingerprint


def data_fingerprint(data: ImageDataset, chunk: int = 512) -> str:
    """A sha1 over the labels and images of each split of ``data`` as loaded: recorded with what was trained on
    it, it tells whether the data files changed since (images added, replaced, relabelled), not whether they
    moved. Pixels are hashed as recovered from the normalized tensors, ``(x * std + mean) / scale``, on a grid
    of 1/1024 level: whole-level images (8-bit files, CIFAR) hash alike on any machine; float images only with
    the same torch build (the normalization's rounding may differ). Computed once per data set object."""
    if data in _FINGERPRINTS:
        return _FINGERPRINTS[data]
    import numpy as np

    shape = (1, data.in_channels, 1, 1)
    mean = np.asarray(data.mean or [0.0] * data.in_channels, dtype=np.float64).reshape(shape)
    std = np.asarray(data.std or [1.0] * data.in_channels, dtype=np.float64).reshape(shape)
    digest = hashlib.sha1()
    for split in ("train", "val", "test"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        digest.update(f"{split} {tuple(x.shape)} {data.num_classes};".encode())
        digest.update(y.cpu().numpy().astype(np.int64).tobytes())
        for start in range(0, len(x), chunk):  # in place: one float64 and one int64 copy of a chunk
            raw = x[start:start + chunk].cpu().numpy().astype(np.float64, order="C")
            raw *= std
            raw += mean
            raw /= data.scale
            raw *= 1024
            np.round(raw, out=raw)
            digest.update(raw.astype(np.int64))  # the same bytes as before (C order): the same sha1
    _FINGERPRINTS[data] = fingerprint = digest.hexdigest()
    return fingerprint
