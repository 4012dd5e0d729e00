"""Trained networks as portable artifacts, and their export to ONNX, TorchScript or safetensors.

A saved network is a folder holding ``model.safetensors`` (the weights, no pickle) and ``model.json``
(what rebuilds it: the registered model name and its keyword arguments, the architecture, the input
preprocessing, the class names and the metrics it reached). :func:`load_model` rebuilds it with
:func:`nasforge.models.create_model`; :func:`export_model` turns it into a file that runs without
nasforge: ONNX (onnxruntime), TorchScript (``torch.jit.load``) or safetensors plus a JSON sidecar
(rebuild with ``create_model``, load with ``safetensors.torch.load_file``). See docs/export.md.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shlex
import shutil
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .checks import check_int, check_path, is_real
from .exceptions import UsageError
from .jsonfiles import JSONLimitError, loads
from .writes import new_folders_removed_on_failure, remove_dead_temporaries, write_atomic

if TYPE_CHECKING:
    from torch import nn

    from .spaces import Architecture

ARTIFACT_FORMAT = "nasforge-model/1"
WEIGHTS_FILE, INFO_FILE = "model.safetensors", "model.json"
FORMATS = ("onnx", "torchscript", "safetensors")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt", "safetensors": ".safetensors"}
IMAGE_MODELS = ("nb201", "darts", "nb101", "chain", "proxylessnas")
"""The built-in networks, which take images: their ``input_shape`` is [channels, height, width]."""
COSTS = ("params", "flops", "latency_ms")


def save_model(folder: str | Path, model: nn.Module, *, model_name: str, arch: Architecture,
               model_kwargs: dict[str, Any], num_classes: int, in_channels: int, preprocessing: dict[str, Any],
               metrics: dict[str, float] | None = None, extra: dict[str, Any] | None = None,
               new_folder: bool = False) -> Path:
    """Write ``model``'s weights (safetensors) and ``model.json`` into ``folder``; returns the folder.

    ``model_name``/``model_kwargs``/``arch``/``num_classes``/``in_channels`` are what
    ``create_model`` needs to rebuild the network; ``preprocessing`` comes from
    ``ImageDataset.preprocessing()``.

    Nothing stored is replaced: ``folder`` must be new or empty, or already hold this very network (the
    same weights and ``model.json`` apart from metrics and torch version), which is then kept as it is
    (a resumed job that trains a network again finds it). Any other content raises ``UsageError``, or
    with ``new_folder=True`` the network goes to the first of ``<folder>-2``, ``<folder>-3``, ... that is
    free or holds it. The files are written into a staging folder that one rename moves in place, so a
    reader never sees half a network.

    What :func:`load_model` would refuse is refused first (``UsageError``, nothing written): a field of
    ``model.json`` it does not take (e.g. ``class_names`` that are not ``num_classes`` names), a network
    ``create_model`` cannot rebuild from these arguments, or weights of other names or shapes than the rebuilt
    network's.
    """
    import torch
    from safetensors.torch import save
    from torch import nn

    from .spaces import Architecture

    check_path("folder", folder, "the folder to save the network in")
    for name, value, kind, want in (("model", model, nn.Module, "a torch nn.Module"),
                                    ("model_name", model_name, str, "a registered model name (str)"),
                                    ("arch", arch, Architecture, "an Architecture"),
                                    ("model_kwargs", model_kwargs, dict, "a dict of create_model's keyword arguments"),
                                    ("preprocessing", preprocessing, Mapping, "a dict (ImageDataset.preprocessing())"),
                                    ("metrics", metrics, (Mapping, type(None)), "a dict of metric values or None"),
                                    ("extra", extra, (Mapping, type(None)), "a dict of model.json fields or None")):
        if not isinstance(value, kind):
            raise UsageError(f"save_model: {name} must be {want}, got {type(value).__name__} {value!r:.60}")
    folder = Path(folder)
    if model_name == "nb101":  # how its cell was built: files without it were saved in the given node order
        model_kwargs = {"canonical": _nb101_canonical(model, model_kwargs), **model_kwargs}
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    info = {"format": ARTIFACT_FORMAT, "model": model_name, "model_kwargs": model_kwargs,
            "architecture": arch.to_json(), "num_classes": _count("num_classes", num_classes),
            "in_channels": _count("in_channels", in_channels), "preprocessing": dict(preprocessing),
            "metrics": dict(metrics or {}), "torch_version": torch.__version__, **(extra or {})}
    try:
        text = json.dumps(info, indent=2, allow_nan=True)  # fail before writing anything if a value is not JSON
    except TypeError as exc:
        raise UsageError(f"cannot save the network in {folder}: model.json would not be plain JSON ({exc})") from None
    _check_rebuilds(json.loads(text), state, folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_temporaries(folder.parent, (folder.name,))  # what a killed save of this folder left
    staging = folder.parent / f".{folder.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    staging.mkdir()
    try:
        # bytes written as every other file (save_file would create it 0600, whatever the umask)
        (staging / WEIGHTS_FILE).write_bytes(save(state, metadata={"format": ARTIFACT_FORMAT}))
        (staging / INFO_FILE).write_text(text)
        target, n = folder, 1
        while True:
            try:
                staging.rename(target)  # atomic; refused when target is a file or a folder that is not empty
                return target
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                    raise
            if _holds(target, state, json.loads(text)):
                return target
            if not new_folder:
                raise UsageError(f"{target} already holds a different network or other files; nothing was "
                                 "overwritten: save to another folder")
            n += 1
            target = folder.with_name(f"{folder.name}-{n}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when the rename happened


def _count(name: str, value: Any) -> int:
    """``save_model``'s ``num_classes``/``in_channels``: an integer >= 1 (a whole float such as 10.0 too, as it
    always took)."""
    whole = isinstance(value, float) and value.is_integer()
    try:
        return check_int(f"save_model: {name}", int(value) if whole else value, 1)
    except UsageError as exc:
        raise UsageError(f"{exc}; nothing was written") from None


def _check_rebuilds(info: dict[str, Any], state: dict[str, Any], folder: Path) -> None:
    """``UsageError`` (nothing written) unless :func:`load_model` would take ``model.json``'s ``info`` and the
    weights ``state`` saved in ``folder``: the fields checked, the network rebuilt (the caller's global RNG state
    is restored after), its tensors' names and shapes those of ``state``."""
    import torch

    try:
        _check_info(info, Path(INFO_FILE))
        config = info["model_kwargs"].get("space") if info["model"] == "model_space" else None
        if isinstance(config, dict):  # no save imports its module: the space this process made, if any
            from .spaces.model_space.space import space_made

            space = space_made(config)
            if space is None:  # none alive here: load_model checks it
                return
            info = {**info, "model_kwargs": {**info["model_kwargs"], "space": space}}
        with torch.random.fork_rng(devices=[]):
            rebuilt = _rebuild(info, Path(INFO_FILE))
    except UsageError as exc:
        raise UsageError(f"cannot save the network in {folder}, nothing was written: {exc}") from None
    mismatch = _first_mismatch(rebuilt.state_dict(), state, weights="the model")
    if mismatch:
        raise UsageError(f"cannot save the network in {folder}, nothing was written: the model's weights do not fit "
                         f"the network model_name, arch, model_kwargs, num_classes and in_channels describe "
                         f"(load_model rebuilds that one): {mismatch}")


def _nb101_canonical(model: nn.Module, model_kwargs: dict[str, Any]) -> Any:
    """How the cells of NB101 network ``model`` were built (``canonical``): the network's own flag, which a
    ``model_kwargs["canonical"]`` must agree with (``UsageError``), else ``model_kwargs``'s, else the default, True
    (a network pickled by a version before the flag has none)."""
    from .models.nb101 import NB101Network

    built = getattr(model, "canonical", None) if isinstance(model, NB101Network) else None
    given = model_kwargs.get("canonical", True if built is None else built)
    if built is not None and given != built:
        raise UsageError(f"cannot save the network: it was built with canonical={built}, but model_kwargs say "
                         f"canonical={given!r} (model.json would rebuild another wiring); pass model_kwargs as it "
                         "was built")
    return given


def _holds(folder: Path, state: dict[str, Any], info: dict[str, Any]) -> bool:
    """Whether ``folder`` is a saved network with exactly these weights and (metrics and torch version aside)
    this ``model.json``."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    def rebuild_info(record: Any) -> Any:
        return {k: v for k, v in record.items() if k not in ("metrics", "torch_version")} \
            if isinstance(record, dict) else None

    try:
        old = loads((folder / INFO_FILE).read_text())
        weights = load_file(str(folder / WEIGHTS_FILE))
    except (OSError, ValueError, SafetensorError):
        return False
    return (rebuild_info(old) == rebuild_info(info) and weights.keys() == state.keys()
            and all(weights[k].dtype == v.dtype and torch.equal(weights[k], v) for k, v in state.items()))


def read_info(folder: str | Path) -> dict[str, Any]:
    """The ``model.json`` of a saved network, checked: every field a rebuild needs, of the right type."""
    check_path("folder", folder, "a saved network's folder")
    folder = Path(folder)
    path = folder / INFO_FILE
    if not path.is_file() or not (folder / WEIGHTS_FILE).is_file():
        from .pipelines.search import RUN_DATABASE

        hint = (f"; it is a run folder: find_saved_network({str(folder)!r}) gives the folder of its network"
                if (folder / RUN_DATABASE).is_file() else "")
        raise UsageError(f"{folder} is not a saved nasforge network (needs {INFO_FILE} and {WEIGHTS_FILE}){hint}")
    try:
        info = loads(path.read_text())
    except JSONLimitError as exc:
        raise UsageError(f"{path} {exc}") from None
    except ValueError as exc:  # not UTF-8, or not JSON
        raise UsageError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != ARTIFACT_FORMAT:
        raise UsageError(f"{path}: unknown format {info.get('format') if isinstance(info, dict) else info!r}, "
                         f"expected {ARTIFACT_FORMAT!r}")
    missing = [k for k in ("model", "model_kwargs", "architecture", "num_classes", "in_channels", "preprocessing")
               if k not in info]
    if missing:
        raise UsageError(f"{path} lacks field(s) {missing}")
    _check_info(info, path)
    return info


def _check_info(info: dict[str, Any], path: Path) -> None:
    """``UsageError`` naming the field and ``path`` when a field of ``model.json`` has the wrong type."""
    def need(ok: bool, field: str, rule: str) -> None:
        if not ok:
            value = info
            for key in field.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            raise UsageError(f"{path}: field {field!r} must be {rule}, got {value!r}")

    def positive_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    need(isinstance(info["model"], str) and bool(info["model"]), "model", "a registered model name")
    need(isinstance(info["model_kwargs"], dict), "model_kwargs", "an object of keyword arguments")
    arch = info["architecture"]
    need(isinstance(arch, dict) and isinstance(arch.get("space"), str) and isinstance(arch.get("genotype"), list),
         "architecture", 'an object {"space": NAME, "genotype": [...]}')
    need(positive_int(info["num_classes"]), "num_classes", "a positive integer")
    need(positive_int(info["in_channels"]), "in_channels", "a positive integer")
    pre = info["preprocessing"]
    need(isinstance(pre, dict), "preprocessing", "an object")
    shape = pre.get("input_shape")
    need(isinstance(shape, list) and bool(shape) and all(positive_int(n) for n in shape),
         "preprocessing.input_shape", "a list of positive integers (one input without the batch dimension)")
    need(shape[0] == info["in_channels"], "preprocessing.input_shape",
         f"a shape whose first entry is in_channels ({info['in_channels']})")
    if info["model"] in IMAGE_MODELS:
        need(len(shape) == 3, "preprocessing.input_shape", f"[channels, height, width] (an image; {info['model']})")
    space = info["model_kwargs"].get("space") if info["model"] == "model_space" else None
    # only the channels: a network trained at the resolution fidelity has its own height and width, and a space's
    # module may take any shape (a tabular [features] too); the trace refuses one its network fails on
    if isinstance(space, dict) and isinstance(space.get("input_shape"), list) and space["input_shape"]:
        need(shape[0] == space["input_shape"][0], "preprocessing.input_shape",
             f"a shape with the model space's {space['input_shape'][0]} input channel(s) (its input_shape "
             f"{space['input_shape']}, model_kwargs.space)")
    need(isinstance(info.get("metrics", {}), dict), "metrics", "an object")
    rules = _preprocessing_rules(info)
    for key, (ok, rule) in rules.items():
        if key in pre:
            need(ok(pre[key]), f"preprocessing.{key}", rule)


def _preprocessing_rules(info: dict[str, Any]) -> dict[str, tuple[Callable[[Any], bool], str]]:
    """What ``scale``, ``mean``, ``std`` and ``class_names`` of ``model.json``'s ``preprocessing`` must be (the
    formula ``(raw * scale - mean[c]) / std[c]`` and ``class_names[argmax]`` an export's user applies)."""
    from .checks import is_real as number

    def per_channel(nonzero: bool) -> Callable[[Any], bool]:
        return lambda value: (isinstance(value, list) and len(value) == info["in_channels"]
                              and all(number(v) and (v != 0 or not nonzero) for v in value))

    channels, classes = info["in_channels"], info["num_classes"]
    return {"scale": (lambda v: number(v) and v > 0, "a positive number (raw pixels are multiplied by it)"),
            "mean": (per_channel(False), f"a list of {channels} number(s), one per input channel"),
            "std": (per_channel(True), f"a list of {channels} non-zero number(s), one per input channel"),
            "class_names": (lambda v: isinstance(v, list) and len(v) == classes and all(isinstance(c, str) for c in v),
                            f"a list of {classes} class name(s) (num_classes), strings")}


def _check_deployable(info: dict[str, Any], folder: str | Path) -> None:
    """``UsageError`` when ``model.json``'s ``preprocessing`` lacks a field an export's user needs (read_info has
    checked those present)."""
    missing = [f"preprocessing.{key}" for key in _preprocessing_rules(info) if key not in info["preprocessing"]]
    if missing:
        raise UsageError(f"{Path(folder) / INFO_FILE}: export refused, nothing written: it lacks {', '.join(missing)} "
                         "(how raw images become the network's input, and what its outputs mean); save the network "
                         "with preprocessing=dataset.preprocessing()")


def _edited_module(folder: Path, config: dict[str, Any], changed: str) -> str:
    """The line refusing a saved network whose model-space module file ``changed`` (:meth:`ModelSpace.check_source`'s
    words, without advice): a new search is no fix for a saved network."""
    return (f"{folder / INFO_FILE}: the network is built from the model-space module {config['module']!r}: {changed}; "
            "restore the file as it was (a saved network is rebuilt from the very module it was trained with)")


def load_model(folder: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a saved network (in eval mode) and its ``model.json``; weights are read with safetensors
    (no code runs) and must match the rebuilt network exactly."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    check_path("folder", folder, "a saved network's folder")
    folder = Path(folder)
    info = read_info(folder)
    if info["model"] == "model_space" and isinstance(info["model_kwargs"].get("space"), dict):
        from .spaces.model_space.reference import file_problem
        from .spaces.model_space.space import EditedModule, cached_space, check_data

        config = info["model_kwargs"]["space"]
        gone = file_problem(config.get("module"), None)  # an edited file is check_source's
        if gone:
            raise UsageError(f"{folder / INFO_FILE}: the network is built from the model-space module "
                             f"{config['module']!r}, whose file is gone ({gone}): restore it there (a saved network "
                             "is rebuilt from the very module it was trained with)")
        try:
            space = cached_space(config)
        except EditedModule as exc:  # edited so that it no longer loads
            raise UsageError(_edited_module(folder, config, exc.line(remedy=None))) from None
        try:
            space.check_source(remedy=None)  # the weights belong to the module as it was trained
        except UsageError as exc:
            raise UsageError(_edited_module(folder, config, str(exc))) from None
        check_data(space, info["num_classes"], info["in_channels"], source=f"{folder / INFO_FILE} says the network has")
    model = _rebuild(info, folder / INFO_FILE, saved=True)
    try:
        state = load_file(str(folder / WEIGHTS_FILE))
    except (SafetensorError, OSError) as exc:
        raise UsageError(f"{folder / WEIGHTS_FILE} is not a readable safetensors file ({exc})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise UsageError(f"{folder / WEIGHTS_FILE} does not fit the network in {INFO_FILE}: "
                         f"{_first_mismatch(model.state_dict(), state) or str(exc).splitlines()[0]}") from None
    return model.eval(), info


def _rebuild(info: dict[str, Any], path: Path, saved: bool = False) -> nn.Module:
    """A new network of ``model.json``'s ``info`` (checked by :func:`_check_info`), as :func:`load_model` rebuilds
    it (with :func:`_rebuild_kwargs`); ``UsageError`` naming ``path`` when it cannot be built."""
    from .models import create_model
    from .spaces import Architecture

    kwargs = _rebuild_kwargs(info, saved)
    try:
        return create_model(info["model"], Architecture.from_json(info["architecture"]),
                            num_classes=info["num_classes"], in_channels=info["in_channels"], **kwargs)
    except (TypeError, ValueError, KeyError) as exc:  # UsageError is a ValueError
        raise UsageError(f"{path}: cannot rebuild the network from its model, model_kwargs and "
                         f"architecture ({type(exc).__name__}: {exc})") from None
    except (RuntimeError, MemoryError) as exc:  # the allocator refuses a size like C=100000
        raise UsageError(f"{path}: cannot build the network of its model_kwargs {kwargs} (too large "
                         f"for this machine? {type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None


def _rebuild_kwargs(info: dict[str, Any], saved: bool = False) -> dict[str, Any]:
    """The keyword arguments (besides ``num_classes`` and ``in_channels``) ``create_model`` rebuilds the network of
    ``model.json``'s ``info`` with: its ``model_kwargs`` as the network read them when it was saved (an export's
    sidecar records these, so its documented rebuild gives :func:`load_model`'s network). ``saved``: ``info`` was
    read from a saved network, whose settings the networks' checks refused after it was saved are read as the
    network read them then."""
    kwargs = dict(info["model_kwargs"])
    if info["model"] == "model_space":  # saved before other settings were refused: they were never used
        kwargs = {k: v for k, v in kwargs.items() if k in ("space", "C", "N")}
    if info["model"] == "nb101":  # saved before NB101 cells were built canonical: their given node order
        kwargs.setdefault("canonical", False)
    if saved and info["model"] == "darts":  # saved before DartsNetwork checked them: as it read them then
        if "auxiliary" in kwargs and not isinstance(kwargs["auxiliary"], bool):
            kwargs["auxiliary"] = bool(kwargs["auxiliary"])  # any truthy value built the head
        if "drop_path" in kwargs and not (is_real(kwargs["drop_path"]) and kwargs["drop_path"] > 0):
            kwargs["drop_path"] = 0.0  # None, False or below 0 dropped nothing
    if saved and info["model"] in ("chain", "proxylessnas"):  # saved before ChainNetwork checked them
        kwargs = {k: v for k, v in kwargs.items() if k not in ("stages", "widths", "strides") or v}  # 0: default
    return kwargs


def _first_mismatch(expected: dict[str, Any], stored: dict[str, Any], weights: str = "the file") -> str | None:
    """The first tensor where the weights ``stored`` (named ``weights`` in the message) differ from the rebuilt
    network's (``expected``) in shape, or that one of them lacks, and how many more differ; None when they agree."""
    problems = []
    for key, tensor in expected.items():
        if key not in stored:
            problems.append(f"{key} {list(tensor.shape)} in {INFO_FILE}'s network is not in {weights}")
        elif stored[key].shape != tensor.shape:
            problems.append(f"{key}: {list(tensor.shape)} in {INFO_FILE} vs {list(stored[key].shape)} in {weights}")
    problems += [f"{key} {list(stored[key].shape)} in {weights} is not in {INFO_FILE}'s network"
                 for key in stored if key not in expected]
    if not problems:
        return None
    return problems[0] + (f" (and {len(problems) - 1} more tensor(s) differ)" if len(problems) > 1 else "")


def export_target(folder: str | Path, fmt: str, out: str | Path, overwrite: bool = False,
                  flag: str = "overwrite=True") -> Path:
    """The model file ``export_model`` writes for ``out``, checked before any work (nothing is created): see
    :func:`_checked_out` (``out`` a string ending in ``/`` names a folder; ``flag``: how the messages name
    ``overwrite``, ``--overwrite`` on the command line); ``UsageError`` also when its folder cannot be created."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; choose from {list(FORMATS)}")
    check_path("folder", folder, "a saved network's folder")
    check_path("out", out)
    if not isinstance(overwrite, bool):
        raise UsageError(f"overwrite must be True or False, got {overwrite!r}")
    try:
        # a folder: a string ending in "/", or a Path without suffix (a Path cannot end in "/"; as before)
        as_folder = str(out).endswith(("/", os.sep)) or (isinstance(out, Path) and not out.suffix)
        out = _checked_out(folder, fmt, Path(out), overwrite, as_folder=as_folder, flag=flag)
        existing = next(p for p in out.parents if p.exists())
        writable = os.access(existing, os.W_OK | os.X_OK)
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise UsageError(f"cannot export to {out}: {exc.strerror or exc}") from None
    if not writable:
        reason = "read-only file system" if _read_only(existing) else "no write permission"
        if existing == out.parent:  # it exists: nothing to create, but nothing can be written in it
            raise UsageError(f"cannot export to {out}: cannot write in its folder {existing} ({reason})")
        raise UsageError(f"cannot export to {out}: its folder {out.parent} cannot be created ({reason} in "
                         f"{existing})")
    return out


def _read_only(folder: Path) -> bool:
    """Whether ``folder`` is on a file system mounted read-only (where no permission helps)."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows)
        return False


def _checked_out(folder: str | Path, fmt: str, out: Path, overwrite: bool, as_folder: bool = False,
                 flag: str = "overwrite=True") -> Path:
    """The model file for ``out``: a folder (an existing one, or any with ``as_folder``) receives
    ``model.<suffix>``, any other path is the file. ``UsageError`` when that file name has no suffix (a new
    folder was meant, or a file named without one) or one other than the format's (any case), when the file or
    its ``.json`` sidecar lies inside a saved network (the one exported or any other) or is a folder, or when it
    exists and is not a previous export (a file with its sidecar written by :func:`export_model`), or exists at
    all without ``overwrite``."""
    suffix = SUFFIXES[fmt]
    if out.is_dir() or as_folder:
        out = out / f"model{suffix}"
    elif not out.suffix and out.exists():
        raise UsageError(f"export to {out} refused: it exists and is not a folder; name the {fmt} file with a "
                         f"suffix (e.g. model{suffix}) or a folder to receive model{suffix}")
    elif not out.suffix:
        raise UsageError(f"export to {out} refused: it is not a folder and has no suffix; name the {fmt} file "
                         f"{out}{suffix}, or a new folder {out}/ (with the trailing /) to receive model{suffix}")
    other = next((f for f, ending in SUFFIXES.items() if ending == out.suffix.lower() and f != fmt), None)
    if other is not None:
        raise UsageError(f"export to {out} refused: {out.suffix} is the suffix of {other} files; name the {fmt} file "
                         f"*{SUFFIXES[fmt]}")
    source = Path(folder).resolve()
    for path in (out, _sidecar(out)):
        network = next((p for p in path.resolve().parents if _is_network(p)), None)
        if network is not None:
            which = "being exported" if network == source else "(nothing stored is replaced)"
            raise UsageError(f"export to {path} refused: it lies inside the saved network {network} {which}")
        if path.is_dir():
            raise UsageError(f"export to {path} refused: a folder of that name exists")
        if path.exists() and not _previous_export(out):
            where = "--out" if flag.startswith("--") else "out"
            raise UsageError(f"export to {path} refused: the file exists and is not a previous export (a model file "
                             f"with the {_sidecar(out).name} nasforge export wrote), so it is never replaced: pick "
                             f"another {where}")
        if path.exists() and not overwrite:
            raise UsageError(f"export to {path} refused: the file exists and is a previous export; pass {flag} to "
                             "replace it")
    if out.suffix.lower() != suffix:  # a reader picks the format by the suffix: model.xyz would hide it
        raise UsageError(f"export to {out} refused: {out.suffix} is not the suffix of {fmt} files; name the file "
                         f"{_with_last_suffix(out, suffix)} (or {out.name}{suffix}), or a folder {out}/ (with the "
                         f"trailing /) to receive model{suffix}")
    blocker = next((f for f in out.parents if f.exists() and not f.is_dir()), None)
    if blocker is not None:
        raise UsageError(f"cannot export to {out}: {blocker} is a file, not a folder")
    return out


def _with_last_suffix(out: Path, suffix: str) -> str:
    """The name ``out`` with its last suffix replaced by ``suffix``, without doubling it: ``m.onnx.bak`` is
    ``m.onnx`` (not ``m.onnx.onnx``), ``model.xyz`` is ``model.onnx``."""
    stem = Path(out.stem)
    return stem.name if stem.suffix.lower() == suffix else out.with_suffix(suffix).name


def _is_network(folder: Path) -> bool:
    """Whether ``folder`` is a saved network (it holds ``model.json`` and ``model.safetensors``)."""
    return (folder / INFO_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()


def _previous_export(out: Path) -> bool:
    """Whether ``out`` (or, when it is absent, its sidecar alone) was written by :func:`export_model`: its sidecar
    records an export of this very file, and the file is not a SQLite database."""
    try:
        record = json.loads(_sidecar(out).read_text())
        if out.exists():
            with open(out, "rb") as file:
                if file.read(16) == b"SQLite format 3\x00":
                    return False
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("export_format") in FORMATS and record.get("file") == out.name


def _sidecar(out: Path) -> Path:
    return out.with_name(out.name + ".json")


def export_model(folder: str | Path, fmt: str, out: str | Path, overwrite: bool = False,
                 flag: str = "overwrite=True", metrics: dict[str, Any] | None = None) -> Path:
    """Write the saved network in ``folder`` as ``fmt`` ("onnx", "torchscript", "safetensors") to ``out``
    (a file named with a suffix, or a folder that receives ``model.<suffix>``: an existing one, or a new one
    given as a string ending in ``/`` or as a ``Path`` without suffix), plus ``<out>.json`` with its preprocessing,
    class names and architecture. Returns the model file.

    Existing files are never replaced, except a previous export with ``overwrite`` (never a saved network's
    files, the source's or another's): see :func:`export_target` (``flag``: how its messages name ``overwrite``).
    Each file is written under a temporary name and renamed when complete; a refused export leaves nothing
    behind, not even the folders it created.

    The sidecar's ``metrics`` are ``model.json``'s: those of the first run that saved the network there (a later
    job with the same weights keeps the folder as it is). Pass ``metrics``, the stored metrics of the trial the
    network is exported as (``trial.metrics``; ``nasforge export --trial`` does), to describe that trial's run
    instead: see :func:`sidecar_metrics`."""
    out = export_target(folder, fmt, out, overwrite, flag)  # a bad target is refused before torch is imported
    import torch

    from .experiment._export import json_safe
    from .training.cost import unfused_attention

    model, info = load_model(folder)
    _check_deployable(info, folder)
    sidecar = {k: info[k] for k in ("model", "model_kwargs", "architecture", "num_classes", "in_channels",
                                    "preprocessing", "metrics") if k in info}
    sidecar["model_kwargs"] = _rebuild_kwargs(info, saved=True)  # as load_model read them: create_model rebuilds it
    if metrics is not None:
        sidecar["metrics"] = sidecar_metrics(info.get("metrics") or {}, metrics)
    sidecar["preprocessing"] = {**sidecar["preprocessing"], "pixel_max": pixel_max(sidecar["preprocessing"])}
    sidecar.update({"export_format": fmt, "file": out.name, "input_name": "input", "output_name": "logits"})
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")  # unique per call
    with new_folders_removed_on_failure(out.parent):
        _make_folder(out)
        remove_dead_temporaries(out.parent, (out.name,))  # a killed export's copies of the model
        try:
            if fmt == "safetensors":
                shutil.copyfile(Path(folder) / WEIGHTS_FILE, tmp)
            elif fmt == "torchscript":
                buffer = io.BytesIO()  # torch's own file writer aborts the process when the disk is full
                with warnings.catch_warnings(), torch.no_grad(), unfused_attention(), _trace_failure(folder, fmt, info):
                    warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 steers towards torch.export
                    warnings.simplefilter("ignore", torch.jit.TracerWarning)  # _check_export tests what it warns of
                    torch.jit.save(torch.jit.trace(model, _example_input(folder, fmt, info)), buffer)
                with open(tmp, "wb") as file:
                    file.write(buffer.getbuffer())
            else:
                buffer = io.BytesIO()  # torch takes a path only as UTF-8 text: a name that is not UTF-8 failed
                with _trace_failure(folder, fmt, info):
                    _export_onnx(model, _example_input(folder, fmt, info), buffer, folder)
                with open(tmp, "wb") as file:
                    file.write(buffer.getbuffer())
            if fmt != "safetensors":
                _check_export(model, _exported_runner(fmt, tmp), info["preprocessing"]["input_shape"], fmt, folder)
            # the sidecar first: a kill before the model file is in place leaves a previous export (its sidecar
            # alone, or beside the file it replaces) that --overwrite replaces, never a model file without one;
            # follow=False as the model file (replaced by rename): never a file outside --out
            text = json.dumps(json_safe(sidecar), indent=2, allow_nan=False)
            previous = _sidecar(out).read_bytes() if _sidecar(out).is_file() else None
            written = write_atomic(_sidecar(out), text, "export to", follow=False)
            try:
                tmp.replace(out)
            except OSError:  # a failed export leaves what was there: the earlier sidecar back, or none
                if previous is not None:
                    write_atomic(written, previous, "export to", follow=False)
                else:
                    written.unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise UsageError(f"cannot write the export to {out} ({exc.strerror or exc})") from None
        finally:
            tmp.unlink(missing_ok=True)
    return out


def _example_input(folder: str | Path, fmt: str, info: dict[str, Any]) -> Any:
    """The zero input of batch size 1 a network is traced with, of ``model.json``'s ``input_shape``; a one-line
    ``UsageError`` naming it when torch cannot make it (more memory than the machine gives, or a size beyond int64)."""
    import torch

    shape = info["preprocessing"]["input_shape"]
    try:
        return torch.zeros(1, *shape)
    except (RuntimeError, MemoryError, TypeError, OverflowError) as exc:
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        raise UsageError(f"export of {folder} as {fmt} refused, nothing written: cannot make an input of shape {shape} "
                         f"(preprocessing.input_shape of {Path(folder) / INFO_FILE}; too large for this machine? "
                         f"{type(exc).__name__}: {reason})") from None


@contextlib.contextmanager
def _trace_failure(folder: str | Path, fmt: str, info: dict[str, Any]) -> Iterator[None]:
    """A network that fails while traced (e.g. on ``model.json``'s ``input_shape``) as a one-line ``UsageError``;
    file errors (``OSError``) and refusals pass."""
    try:
        yield
    except (UsageError, OSError):
        raise
    except Exception as exc:  # noqa: BLE001 - a network (a user's module too) may raise anything
        reason = (str(exc).strip().splitlines() or [""])[0][:300]
        raise UsageError(f"export of {folder} as {fmt} refused, nothing written: the network fails on an input of "
                         f"shape {info['preprocessing']['input_shape']} (preprocessing.input_shape of "
                         f"{Path(folder) / INFO_FILE}): {type(exc).__name__}: {reason}") from None


def sidecar_metrics(stored: dict[str, Any], trial: dict[str, Any]) -> dict[str, Any]:
    """The metrics an export's sidecar records for a network exported as a trial: the trial's stored metrics
    (``trial``), which describe its own run, where ``model.json``'s (``stored``) are those of the first run that
    saved the network. A trial whose ``params`` differ from the saved network's measured its costs at a deploy
    size (``TrainingEvaluator(deploy=...)``): they go under ``deploy`` (with its ``size`` where ``model.json``
    records it), and the network's own ``params``, ``flops`` and ``latency_ms`` are model.json's."""
    if not (isinstance(trial.get("params"), (int, float)) and isinstance(stored.get("params"), (int, float))
            and trial["params"] != stored["params"]):
        return dict(trial)  # the trial measured this very network
    recorded = stored.get("deploy") if isinstance(stored.get("deploy"), dict) else {}
    size = recorded.get("size") if recorded.get("params") == trial["params"] else None
    return {**{k: v for k, v in trial.items() if k not in COSTS and k != "deploy"},
            **{k: stored[k] for k in COSTS if k in stored},
            "deploy": {**({"size": size} if size is not None else {}), **{k: trial[k] for k in COSTS if k in trial}}}


def pixel_max(preprocessing: dict[str, Any]) -> float | None:
    """The raw value of a full-intensity pixel in the training images: the one ``scale`` maps to 1 (16 for digits,
    255 for 8-bit images, 65535 for 16-bit ones). An image of another depth is mapped onto 0..pixel_max before
    the formula (an 8-bit one: ``raw / 255 * pixel_max``). None when ``scale`` is not below 1: the pixels were
    used as given, in a range ``scale`` does not tell."""
    scale = preprocessing.get("scale")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < 1:
        return None
    value = 1.0 / scale
    return float(round(value)) if abs(value - round(value)) <= 1e-9 * value else value


def _make_folder(out: Path) -> None:
    """Create the folder of ``out``, or raise a UsageError naming it."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot export to {out}: its folder {out.parent} cannot be created "
                         f"({exc.strerror or exc})") from None


CHECK_BATCHES = (1, 3)
"""Batch sizes an exported file is run at and compared with the PyTorch network (it is traced at batch 1)."""


def _exported_runner(fmt: str, path: Path) -> Callable[[Any], Any]:
    """A function running the exported file at ``path`` on a float tensor, returning its output as a tensor. The
    file is read here and its bytes handed over: the runtimes take a path only as UTF-8 text."""
    import torch

    data = Path(path).read_bytes()
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(io.BytesIO(data)).eval()
    try:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4  # a failing run is reported by _check_export, not logged
        session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        return lambda x: torch.from_numpy(session.run(["logits"], {"input": x.numpy()})[0])
    except ImportError:  # onnx's own (slower) reference runtime
        import onnx
        from onnx.reference import ReferenceEvaluator

        evaluator = ReferenceEvaluator(onnx.load_model_from_string(data))
        return lambda x: torch.from_numpy(evaluator.run(["logits"], {"input": x.numpy()})[0])


def _check_export(model: nn.Module, run: Callable[[Any], Any], input_shape: list[int], fmt: str,
                  folder: str | Path) -> None:
    """``UsageError`` unless the exported network (``run``) gives the PyTorch network's outputs at every batch
    size of :data:`CHECK_BATCHES`: a forward that turns the traced batch size into a constant (``x.reshape(len(x),
    -1)``) exports a file that is wrong, or fails, at any other. PyTorch outputs holding NaN are refused as
    such (:func:`_not_finite`): no comparison can pass (equal infinities compare as close)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    for n in CHECK_BATCHES:
        x = torch.randn(n, *input_shape, generator=generator)
        with torch.no_grad():
            expected = model(x)
            if torch.isnan(expected).any():  # NaN never equals itself: no export could match (equal infinities do)
                raise UsageError(_not_finite(model, fmt, folder))
            try:
                got = run(x)
                same = got.shape == expected.shape and torch.allclose(got, expected, rtol=1e-3, atol=1e-4)
            except Exception:  # the exported file fails at this batch size
                same = False
        if not same:
            raise UsageError(f"export of {folder} as {fmt} refused, nothing written: the exported network does not "
                             f"match the PyTorch one at batch size {n}: its forward either branches on the data "
                             "(an `if` on a tensor's value: the export keeps the branch the traced zero input took; "
                             "use torch.where), or fixes the batch size it was traced with (e.g. "
                             "x.reshape(len(x), -1); write x.flatten(1))")


def _not_finite(model: nn.Module, fmt: str, folder: str | Path) -> str:
    """The line refusing the export of ``model`` (saved in ``folder``), whose outputs hold NaN: it
    names the first weight tensor that holds one, if any."""
    import torch

    bad = next((name for name, tensor in model.state_dict().items()
                if tensor.is_floating_point() and not torch.isfinite(tensor).all()), None)
    cause = (f"its weights hold NaN or infinite values ({bad} in {Path(folder) / WEIGHTS_FILE})" if bad
             else "its forward makes them from finite weights")
    return (f"export of {folder} as {fmt} refused, nothing written: the network's outputs on random inputs "
            f"hold NaN: {cause}")


def _export_onnx(model: nn.Module, example: Any, out: Path | io.BytesIO, folder: str | Path) -> None:
    """ONNX with a dynamic batch dimension (input ``input``, output ``logits``), by torch's TorchScript-based
    exporter (fast, and enough for these convolutional networks), attention off its fused op, which ONNX lacks;
    an operation ONNX lacks is a ``UsageError``."""
    import torch

    from .training.cost import unfused_attention

    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError:
        raise UsageError("ONNX export needs the onnx package: pip install 'nasforge[export]'") from None
    try:
        with warnings.catch_warnings(), torch.no_grad(), unfused_attention(), _native_stdout_silenced():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (example,), out if isinstance(out, io.BytesIO) else str(out),
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    except torch.onnx.errors.OnnxExporterError as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"export of {folder} as onnx refused, nothing written: {reason}; export it with --format "
                         "torchscript (format='torchscript') instead") from None


@contextlib.contextmanager
def _native_stdout_silenced() -> Iterator[None]:
    """Send what native code writes to the process's stdout to the null device meanwhile: torch's ONNX exporter
    prints its whole graph there when it fails (the error it raises says what failed)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no stdout to protect
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def find_saved_network(source: str | Path, trial: int | None = None, storage: str | None = None) -> Path:
    """The folder of a saved network named by ``source``: the folder itself, a run folder of
    ``nasforge search`` (a bare name that is no file or folder here: ``./nasforge-runs/NAME``; with ``trial``: the
    network that trial saved, whatever its stage, or that of the retrain of search trial ``trial``; without: the
    retrained network whose search trial is best on the first objective,
    :func:`~nasforge.pipelines.search.selection_score`), or a study name with ``storage``. Without ``storage`` a
    run folder wins over a study of ``./nasforge.db`` (which ``nasforge status`` reads first); that study is read
    only when no run folder has the name (``nasforge-runs/NAME`` does not exist), and the run folder of a study in a
    database server is refused, naming that study's command and, when ``./nasforge.db`` holds ``source``, its
    own. ``trial`` names a trial of a study or run: with a network folder it is refused."""
    return find_saved_trial(source, trial, storage)[0]


def find_saved_trial(source: str | Path, trial: int | None = None,
                     storage: str | None = None) -> tuple[Path, dict[str, Any] | None]:
    """:func:`find_saved_network`'s folder and the stored metrics of the trial that saved the network there (None
    for a network folder given as ``source``): ``export_model(folder, ..., metrics=metrics)`` writes that trial's
    metrics into the sidecar, as ``nasforge export`` does."""
    check_path("source", source, "a saved network's folder, a run folder or a study")
    if trial is not None:  # a numpy integer too (a trial number read from a data frame or an array)
        if isinstance(trial, bool) or not isinstance(trial, Integral) or trial < 0:
            raise UsageError(f"trial must be a trial number (an integer >= 0) or None, got {type(trial).__name__} "
                             f"{trial!r}")
        trial = int(trial)
    if storage is not None and not isinstance(storage, str):
        raise UsageError(f"storage must be a storage URL (str) or None, got {type(storage).__name__} {storage!r}")
    path = Path(source)
    if storage is None and os.path.isfile(path / INFO_FILE):  # os.path: False, not OSError, for a too long name
        if trial is not None:
            raise UsageError(f"trial {trial} given, but {source} is a saved network's folder, which holds one "
                             "network (--trial names a trial of a study or run): export it without --trial")
        return path, None
    from .pipelines.search import RUN_DATABASE, RUNS_ROOT, best_retrained, run_folder_storage, saved_networks

    name: str | None = str(source)
    if storage is None:
        default_run = Path(RUNS_ROOT) / path if len(path.parts) == 1 and not os.path.lexists(path) else None
        storage, name = run_folder_storage(path) or (default_run and run_folder_storage(default_run)), None
    if storage is None:  # no run folder: a server run folder refused, else a study of ./nasforge.db or an error
        from .cli.engine import DEFAULT_STORAGE, _default_storage_holds, refuse_server_run_folders

        refuse_server_run_folders(str(source), "nasforge export", default_storage_first=False)
        held = len(path.parts) == 1 and bool(_default_storage_holds(str(source)))
        if held and default_run is not None and not os.path.lexists(default_run):
            storage, name = DEFAULT_STORAGE, str(source)  # no run folder of that name: the study of ./nasforge.db
        if storage is None and path.name == INFO_FILE and os.path.isfile(path):
            raise UsageError(f"{source} is a saved network's {INFO_FILE}: pass its folder, {path.absolute().parent}")
        if storage is None and path.name == RUN_DATABASE and os.path.isfile(path):
            from .experiment.storage.urls import sqlite_url

            raise UsageError(f"{source} is a run's study database: pass its folder, {path.parent}, or --storage "
                             f"{sqlite_url(path)} with the study name")
        if storage is None:
            looked = f", and {default_run}/ holds no study.db" if default_run else ""
            shadowed = Path(RUNS_ROOT) / path
            if default_run is None and len(path.parts) == 1 and run_folder_storage(shadowed):  # ./NAME hides it
                looked = (f" (the run folder {shadowed}/ of that name is not read: a file or folder {source} here "
                          f"comes first; pass {shlex.quote(str(shadowed))} in its place to export the run)")
            other = f" ({DEFAULT_STORAGE} holds a study {source}: --storage {DEFAULT_STORAGE} exports it)" if held \
                else ""
            raise UsageError(f"{source} is neither a saved network ({INFO_FILE}) nor a run folder with study.db"
                             f"{looked}; pass a study name with --storage URL{other}")

    # read once, read-only, without the space or the strategy's replay; the refusals below read it once more
    networks = saved_networks(name, storage, any_stage=True)  # name None: the only study
    if trial is None:
        retrained = [n for n in networks if n["retrain"]]
        if not retrained:
            raise UsageError(_none_retrained(name, storage, networks))
        best = best_retrained(retrained, lambda n: n["score"], lambda n: n["source_trial"]
                              if isinstance(n["source_trial"], int) else n["trial"])  # as summary.json's best
        return _present(best), best["metrics"]
    for entry in sorted(networks, key=lambda n: n["trial"] != trial):  # the trial itself, else its retrain
        if trial in (entry["trial"], entry["source_trial"]):
            return _present(entry), entry["metrics"]
    study_name, attrs, trials, chosen = _stored_study(name, storage)
    numbers = sorted(t.number for t in trials)
    found = _with_networks(networks) or "none"
    if trial not in numbers:
        held = f"trials {numbers[0]}-{numbers[-1]}" if numbers else "no trials"
        raise UsageError(f"study {study_name} has no trial {trial} (it has {held}; those with a saved network: "
                         f"{found})")
    state = _no_network_state(next(t for t in trials if t.number == trial), trials, study_name, attrs, storage,
                              chosen)
    raise UsageError(f"--trial {trial}: no saved network{state}; trials with one: {found}")


def _no_network_state(trial: Any, trials: list[Any], name: str, attrs: dict[str, Any], storage: str,
                      chosen: list[Any]) -> str:
    """Why ``trial`` (of study ``name``: its ``trials`` and user attributes ``attrs``; ``chosen``: the front members
    its search retrains, :func:`_stored_study`) has no saved network, as ": ..." (empty when it completed and simply
    saved none), as :func:`_none_retrained` says it for a study. A resume is advised only where it would retrain
    ``trial``: stage 1 did not finish, ``trial`` is chosen for retraining and its own retrain is not queued yet (a
    search killed before or between the enqueues), or one of ``trial`` is queued and unfinished or failed."""
    from .experiment.stages import is_retrain, saved_model_dir, source_trial, unsaved_retrain
    from .pipelines.search import PIPELINE, resume_command

    if trial.state.value == "FAILED":
        return f": trial {trial.number} FAILED ({trial.error or 'no error recorded'})"
    if trial.state.value == "PRUNED":  # finished: stopped early, most often before any network was saved
        recorded = saved_model_dir(trial)  # an evaluator that caught TrialPruned may have saved one all the same
        return (f": trial {trial.number} was PRUNED (stopped early by the pruner, so it saved no network)"
                if recorded is None else f": trial {trial.number} was PRUNED (stopped early by the pruner): the "
                f"network it recorded (model_dir {recorded}) is not exported, only a COMPLETE trial's")
    if trial.state.value != "COMPLETE":
        return f": trial {trial.number} is {trial.state.value} (not finished)"
    config = attrs.get("pipeline_config")
    if attrs.get("pipeline") != PIPELINE or not isinstance(config, dict):
        return ""
    if is_retrain(trial):  # one that completed without a network is retrained again by a resume
        if not unsaved_retrain(trial):
            return ""
        unsaved = f": retrain trial {trial.number} completed without a saved network ({_unsaved_record(trial)})"
        later = [t.number for t in trials if is_retrain(t) and t.number > trial.number
                 and source_trial(t) == source_trial(trial)]
        return (f"{unsaved}; trial {later[-1]} is a later retrain of trial {source_trial(trial)}" if later
                else f"{unsaved}; retrain it with: {resume_command(name, storage)}")
    if config.get("retrain") == 0:
        return f": trial {trial.number} is a search trial and the search ran with --retrain 0"
    retrains = [t for t in trials if is_retrain(t)]
    own = [t for t in retrains if source_trial(t) == trial.number]  # its retrain and retries
    unqueued = not own and trial.number in {t.number for t in chosen}  # killed between two enqueues: a resume queues it
    if not attrs.get("search_done") or any(not t.done for t in own) or unqueued:
        stage = "the search" if not attrs.get("search_done") else "the retrain stage"
        return (f": trial {trial.number} is a search trial; its retrain has not run ({stage} did not finish; killed, "
                f"or still running): finish it with {resume_command(name, storage)}")
    if own:  # all finished: the latest failed or completed without a network (a resume queues a new one either way)
        latest = own[-1]
        if latest.state.value == "FAILED":
            return (f": trial {trial.number} is a search trial whose retrain failed (trial {latest.number}: "
                    f"{latest.error or 'no error recorded'}); retrain it with: {resume_command(name, storage)}")
        if unsaved_retrain(latest):
            return (f": trial {trial.number} is a search trial whose retrain (trial {latest.number}) completed "
                    f"without a saved network ({_unsaved_record(latest)}); retrain it with: "
                    f"{resume_command(name, storage)}")
        return ""
    return (f": trial {trial.number} is a search trial that was not retrained (only --retrain members of the feasible "
            "Pareto front are)")


def _unsaved_record(trial: Any) -> str:
    """What a retrain ``trial`` that completed without a saved network recorded instead, as "it recorded ..."."""
    import reprlib

    recorded = (trial.user_attrs or {}).get("model_dir")
    return "it recorded " + ("no network folder" if recorded is None
                             else f"model_dir {reprlib.repr(recorded)}, no folder name")


def _present(entry: dict[str, Any]) -> Path:
    """The folder of a :func:`~nasforge.pipelines.search.saved_networks` entry; ``UsageError`` naming the places
    looked in when it is in none of them."""
    if entry["missing"]:
        raise UsageError(f"trial {entry['trial']}'s saved network is missing (moved or deleted): looked at "
                         f"{' and '.join(entry['missing'])}")
    return Path(entry["path"])


def _with_networks(networks: list[dict[str, Any]]) -> str:
    """The trials of ``networks`` (:func:`~nasforge.pipelines.search.saved_networks`), as a message lists them."""
    return ", ".join(f"{e['trial']}" + (f" (retrain of {e['source_trial']})" if e["source_trial"] is not None else "")
                     for e in sorted(networks, key=lambda e: e["trial"]))


def _stored_study(name: str | None, storage: str) -> tuple[str, dict[str, Any], list[Any], list[Any]]:
    """Study ``name`` of ``storage`` (None: the only one), read-only: its name, user attributes, trials, and the
    trials of its feasible Pareto front that its search retrains (as a resume chooses them; none for a study that is
    no search)."""
    from .experiment import Study
    from .experiment.storage import open_storage
    from .pipelines.search import PIPELINE, SearchConfig, choose_for_retraining, feasible_front, only_study, \
        space_from_spec

    with open_storage(storage, readonly=True) as store:
        name = name or only_study(store, "nasforge export")
        spec = (store.load_study(name).user_attrs or {}).get("space_spec")
        study = Study.load(name, store, space=space_from_spec(spec) if spec else None, replay=False)  # trials only
        attrs, chosen = dict(study.user_attrs or {}), []
        if attrs.get("pipeline") == PIPELINE and isinstance(attrs.get("pipeline_config"), dict):
            # the study's objectives are the run's (its config created the study); retrain as the resume reads it
            retrain = SearchConfig.from_json(attrs["pipeline_config"]).retrain
            chosen = choose_for_retraining(feasible_front(study), study.objectives, study.directions, retrain)
        return name, attrs, list(study.trials), chosen


def _stored_attrs(name: str | None, storage: str) -> tuple[str, dict[str, Any]]:
    """Study ``name`` of ``storage`` (None: the only one), read-only without its trials: its name and user
    attributes."""
    from .experiment.storage import open_storage
    from .pipelines.search import only_study

    with open_storage(storage, readonly=True) as store:
        name = name or only_study(store, "nasforge export")
        return name, dict(store.load_study(name).user_attrs or {})


def _none_retrained(name: str | None, storage: str, networks: list[dict[str, Any]]) -> str:
    """Why study ``name`` has no retrained network to export, and what to do: finish an unfinished search with
    ``nasforge resume``, or (only when a trial saved one, ``networks``) export a trial's network with ``--trial``.
    Its trials are read only for a search that retrains (the other answers need its attributes alone)."""
    from .experiment.stages import is_retrain, unsaved_retrain
    from .pipelines.search import PIPELINE, resume_command

    name, attrs = _stored_attrs(name, storage)
    hint = (f" (--trial N exports the network a trial of any stage saved; trials with one: {_with_networks(networks)})"
            if networks else "")
    config = attrs.get("pipeline_config")
    if attrs.get("pipeline") != PIPELINE or not isinstance(config, dict):
        return f"study {name} has no retrained network saved{hint}"
    if config.get("retrain") == 0:
        return f"study {name} has no retrained network saved: its search ran with --retrain 0{hint}"
    finish = f"finish it with: {resume_command(name, storage)}"
    if not attrs.get("search_done"):
        return (f"study {name} has no retrained network saved: its search stopped before retraining (stage 1, the "
                f"search, did not finish; killed, or still running); {finish}{hint}")
    name, attrs, trials, chosen = _stored_study(name, storage)
    retrains = [t for t in trials if is_retrain(t)]
    if any(not t.done for t in retrains) or (not retrains and chosen):
        return (f"study {name} has no retrained network saved: its search stopped before its retrain stage finished "
                f"(killed, or still running); {finish}{hint}")
    if not retrains:
        return f"study {name} has no retrained network saved: no search trial completed within its constraints{hint}"
    unsaved = [t for t in retrains if unsaved_retrain(t)]
    failed = [t for t in retrains if not unsaved_retrain(t)]
    told = (f"its {len(failed)} retrain trial(s) failed (trial {failed[-1].number}: {failed[-1].error})"
            if failed else "")
    if unsaved:  # completed without a network folder (a search-size result, or a damaged model_dir): not failed
        latest = unsaved[-1]
        # beside failed ones, their error is told too (a resume may fail on it again)
        also, them = (f", and {told}", "them") if failed else ("", "it")
        return (f"study {name} has no retrained network saved: its retrain trial {latest.number} completed without a "
                f"saved network ({_unsaved_record(latest)}){also}; retrain {them} with: "
                f"{resume_command(name, storage)}{hint}")
    return (f"study {name} has no retrained network saved: {told}; retrain them with: "
            f"{resume_command(name, storage)}{hint}")
