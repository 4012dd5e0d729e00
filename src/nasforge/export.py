"""Trained networks as portable artifacts, and their export to ONNX, TorchScript or safetensors.

A saved network is a folder holding ``model.safetensors`` (the weights, no pickle) and ``model.json``
(what rebuilds it: the registered model name and its keyword arguments, the architecture, the input
preprocessing, the class names and the metrics it reached). :func:`load_model` rebuilds it with
:func:`nasforge.models.create_model`; :func:`export_model` turns it into a file that runs without
nasforge: ONNX (onnxruntime), TorchScript (``torch.jit.load``) or safetensors plus a JSON sidecar
(rebuild with ``create_model``, load with ``safetensors.torch.load_file``). See docs/export.md.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exceptions import UsageError

if TYPE_CHECKING:
    from torch import nn

    from .spaces import Architecture

ARTIFACT_FORMAT = "nasforge-model/1"
WEIGHTS_FILE, INFO_FILE = "model.safetensors", "model.json"
FORMATS = ("onnx", "torchscript", "safetensors")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt", "safetensors": ".safetensors"}


def save_model(folder: str | Path, model: nn.Module, *, model_name: str, arch: Architecture,
               model_kwargs: dict[str, Any], num_classes: int, in_channels: int, preprocessing: dict[str, Any],
               metrics: dict[str, float] | None = None, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model``'s weights (safetensors) and ``model.json`` into ``folder``; returns the folder.

    ``model_name``/``model_kwargs``/``arch``/``num_classes``/``in_channels`` are what
    ``create_model`` needs to rebuild the network; ``preprocessing`` comes from
    ``ImageDataset.preprocessing()``.
    """
    import torch
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    info = {"format": ARTIFACT_FORMAT, "model": model_name, "model_kwargs": model_kwargs,
            "architecture": arch.to_json(), "num_classes": int(num_classes), "in_channels": int(in_channels),
            "preprocessing": preprocessing, "metrics": dict(metrics or {}), "torch_version": torch.__version__,
            **(extra or {})}
    json.dumps(info, allow_nan=True)  # fail before writing anything if a value is not JSON
    tmp = folder / (WEIGHTS_FILE + ".tmp")
    save_file(state, str(tmp), metadata={"format": ARTIFACT_FORMAT})
    tmp.replace(folder / WEIGHTS_FILE)  # readers never see half a file
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2))
    return folder


def read_info(folder: str | Path) -> dict[str, Any]:
    """The ``model.json`` of a saved network, checked."""
    folder = Path(folder)
    path = folder / INFO_FILE
    if not path.is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise UsageError(f"{folder} is not a saved nasforge network (needs {INFO_FILE} and {WEIGHTS_FILE})")
    try:
        info = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != ARTIFACT_FORMAT:
        raise UsageError(f"{path}: unknown format {info.get('format') if isinstance(info, dict) else info!r}, "
                         f"expected {ARTIFACT_FORMAT!r}")
    missing = [k for k in ("model", "model_kwargs", "architecture", "num_classes", "in_channels", "preprocessing")
               if k not in info]
    if missing:
        raise UsageError(f"{path} lacks field(s) {missing}")
    return info


def load_model(folder: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a saved network (in eval mode) and its ``model.json``; weights are read with safetensors
    (no code runs) and must match the rebuilt network exactly."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .models import create_model
    from .spaces import Architecture

    folder = Path(folder)
    info = read_info(folder)
    model = create_model(info["model"], Architecture.from_json(info["architecture"]),
                         num_classes=info["num_classes"], in_channels=info["in_channels"], **info["model_kwargs"])
    try:
        state = load_file(str(folder / WEIGHTS_FILE))
    except (SafetensorError, OSError) as exc:
        raise UsageError(f"{folder / WEIGHTS_FILE} is not a readable safetensors file ({exc})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise UsageError(f"{folder / WEIGHTS_FILE} does not fit the network in {INFO_FILE}: "
                         f"{str(exc).splitlines()[0]}") from None
    return model.eval(), info


def export_model(folder: str | Path, fmt: str, out: str | Path) -> Path:
    """Write the saved network in ``folder`` as ``fmt`` ("onnx", "torchscript", "safetensors") to ``out``
    (a file, or a folder that receives ``model.<suffix>``), plus ``<out>.json`` with its preprocessing,
    class names and architecture. Returns the model file."""
    import torch

    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; choose from {list(FORMATS)}")
    model, info = load_model(folder)
    out = Path(out)
    if out.is_dir() or not out.suffix:
        out = out / f"model{SUFFIXES[fmt]}"
    out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(1, *info["preprocessing"]["input_shape"])
    if fmt == "safetensors":
        shutil.copyfile(Path(folder) / WEIGHTS_FILE, out)
    elif fmt == "torchscript":
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 steers towards torch.export
            torch.jit.save(torch.jit.trace(model, example), str(out))
    else:
        _export_onnx(model, example, out)
    sidecar = {k: info[k] for k in ("model", "model_kwargs", "architecture", "num_classes", "in_channels",
                                    "preprocessing", "metrics") if k in info}
    sidecar.update({"export_format": fmt, "file": out.name, "input_name": "input", "output_name": "logits"})
    out.with_name(out.name + ".json").write_text(json.dumps(sidecar, indent=2))
    return out


def _export_onnx(model: nn.Module, example: Any, out: Path) -> None:
    """ONNX with a dynamic batch dimension (input ``input``, output ``logits``), by torch's TorchScript-based
    exporter (fast, and enough for these convolutional networks)."""
    import torch

    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError:
        raise UsageError("ONNX export needs the onnx package: pip install 'nasforge[export]'") from None
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), str(out), input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)


def find_saved_network(source: str | Path, trial: int | None = None, storage: str | None = None) -> Path:
    """The folder of a saved network named by ``source``: the folder itself, a run folder of
    ``nasforge search`` (with ``trial``: that retrain trial or the search trial it retrained; without:
    the retrained network with the best test accuracy), or a study name with ``storage``."""
    path = Path(source)
    if storage is None and (path / INFO_FILE).is_file():
        return path
    if storage is None:
        db = path / "study.db"
        if not db.is_file():
            raise UsageError(f"{source} is neither a saved network ({INFO_FILE}) nor a run folder with study.db; "
                             "pass a study name with --storage URL")
        storage, name = f"sqlite:///{db}", None
    else:
        name = str(source)
    from .pipelines.search import saved_networks

    networks = saved_networks(name, storage)
    if not networks:
        raise UsageError(f"study {name or source} has no retrained network saved")
    if trial is None:
        best = max(networks, key=lambda n: n["test_acc"] if n["test_acc"] is not None else float("-inf"))
        return Path(best["path"])
    for entry in networks:
        if trial in (entry["trial"], entry["source_trial"]):
            return Path(entry["path"])
    raise UsageError(f"--trial {trial}: no saved network; trials with one: "
                     f"{sorted(e['trial'] for e in networks)} (retrains of {sorted(e['source_trial'] for e in networks)})")
