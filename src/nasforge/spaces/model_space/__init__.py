"""Search spaces written as ordinary PyTorch modules (NNI-style model spaces).

::

    from torch import nn
    from nasforge.spaces.model_space import LayerChoice, ModelSpace, ValueChoice

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            width = ValueChoice([16, 32], label="width")
            self.conv = LayerChoice({"k3": nn.Conv2d(1, width, 3, padding=1),
                                     "k5": nn.Conv2d(1, width, 5, padding=2)}, label="conv")
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))

        def forward(self, x):
            return self.head(self.conv(x).relu())

    space = ModelSpace(Net, input_shape=(1, 8, 8))   # a SearchSpace: every strategy and Study work on it
    net = space.build(space.parse("width=32|conv=k5"))  # a plain nn.Module

Importing this package does not import torch; the names below load it on first use.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {"LayerChoice": "primitives", "InputChoice": "primitives", "ValueChoice": "primitives",
            "Repeat": "primitives", "ChosenInputs": "primitives", "Decision": "primitives",
            "ModelSpace": "space", "create_network": "space", "ModelSpaceSupernet": "supernet"}


def from_config(config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Rebuild a ModelSpace from its ``config()`` (registered as ``get_space("model_space", **config)``)."""
    from .space import from_config as rebuild

    return rebuild(config, **kwargs)


def space_for_module(reference: str, options: Any, args: Any) -> Any:
    """``--space-module FILE.py:NAME`` (or ``package.module:NAME``) when NAME is an ``nn.Module`` class or a
    function returning an ``nn.Module``: its ModelSpace for the data set of ``args`` (``--data``,
    ``--data-dir``, ``--seed``), with ``options`` (``--space-config``) as constructor keyword arguments.
    When NAME is a function returning a SearchSpace, that space (the function is called once, here). None
    when NAME is something else (a SearchSpace class, a function that fails), which the caller handles."""
    from ...exceptions import UsageError
    from ..base import SearchSpace
    from .reference import load_reference

    try:
        built = _built(load_reference(reference), options)
    except UsageError as exc:
        raise UsageError(f"--space-module {reference}: {exc}") from None
    if isinstance(built, SearchSpace):
        return built
    if built is not _MODULE:
        return None
    if options is not None and not isinstance(options, dict):
        raise UsageError(f"--space-config: options of {reference} must be a mapping, got {type(options).__name__}")
    if getattr(args, "data", None) is None:
        raise UsageError(f"--space-module {reference}: a model space (an nn.Module class or factory) needs a data "
                         "set; use it with nasforge search --data ...")
    from ...evaluators.training import shared_dataset
    from ...oneshot.study import STUDY_DATASETS, study_data
    from .space import for_data

    seed = getattr(args, "seed", 0) or 0
    try:
        if args.data in STUDY_DATASETS:  # nasforge oneshot's own sets (its default, digits-hard)
            data = study_data(args.data, seed=seed, augment="none")  # read for its shape and classes only
        else:
            # through the evaluators' copy: the search's evaluator reads nothing again (nor warns twice)
            data = shared_dataset(args.data, getattr(args, "data_dir", None), seed=seed, augment="none")
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(f"--data: {exc}") from None
    return for_data(reference, data, options)


_MODULE = object()  # what _built says of an nn.Module class or a function returning a module


def _built(target: Any, options: Any) -> Any:
    """``_MODULE`` when ``target`` builds an ``nn.Module`` (an ``nn.Module`` class, or a function that returns one
    when called with ``options``); else what the function returned, or None (a class, or a function that fails
    here: left to the caller, as a SearchSpace class or factory)."""
    import torch  # the user's module imports it anyway

    if isinstance(target, type):
        return _MODULE if issubclass(target, torch.nn.Module) else None
    if not callable(target) or (options is not None and not isinstance(options, dict)):
        return None
    try:
        value = target(**(options or {}))
    except Exception:
        return _MODULE if isinstance(_with_data_arguments(target, options or {}), torch.nn.Module) else None
    return _MODULE if isinstance(value, torch.nn.Module) else value


def _with_data_arguments(target: Any, options: dict[str, Any]) -> Any:
    """What function ``target`` returns when called with ``options`` plus stand-ins for the data's
    ``num_classes``/``in_channels`` where it requires them (the data's own values go to it later); None when it
    requires neither or fails even so; a ``UsageError`` naming what else it requires that ``options`` lack."""
    import inspect

    from ...exceptions import UsageError
    from ...settings import bind_error

    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return None
    needed = {name: value for name, value in (("num_classes", 2), ("in_channels", 1)) if name not in options
              and name in parameters and parameters[name].default is inspect.Parameter.empty}
    if not needed:
        return None
    if (error := bind_error(target, **options, **needed)) is not None:
        raise UsageError(f"cannot be called with the options {sorted(options)} ({error}); give its arguments "
                         f"with --space-config FILE (nasforge gives it {' and '.join(needed)} from the data)")
    try:
        return target(**options, **needed)
    except Exception:  # noqa: BLE001 - a user's function may raise anything: left to the caller
        return None


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        from ...extras import require

        require("torch", f"nasforge.spaces.model_space.{name}")  # without the extra: the line naming it
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [*_EXPORTS, "from_config", "space_for_module"]
