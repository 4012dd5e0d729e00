"""ModelSpace: the search space of the choices inside a user's ``nn.Module``, and its networks."""

from __future__ import annotations

from ...extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

import itertools
import json
import math
import re
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ...checks import check_input_shape
from ...exceptions import UsageError, user_stacklevel
from ..base import ENUMERABLE_LIMIT, Architecture, SearchSpace, as_rng
from .primitives import (_ADDRESS, CHANGED_ADVICE, ChangedCandidates, Decision, Guard, UnknownChoice, _shape,
                         construction, outside_instances)
from .reference import (absolute_reference, edited_file, load_reference, reference_of, source_file,
                        source_fingerprint, stored_reference, unparsable)

NAME = "model_space"


class ModelSpace(SearchSpace):
    """The decisions made by LayerChoice / InputChoice / ValueChoice / Repeat inside ``module``.

    ``module`` is an ``nn.Module`` class (or any callable returning a module), or its reference
    ``"package.module:Class"`` / ``"file.py:Class"``; ``args``/``kwargs`` (or ``module_args`` /
    ``module_kwargs``, the form a stored study keeps) go to its constructor. ``input_shape`` is the
    shape of one input without the batch dimension, e.g. ``(1, 8, 8)``.

    At creation the module is built once with every candidate and run on a zero input: labels reused
    with different candidates, empty choices and candidates whose output shapes disagree raise
    ``UsageError`` naming the label; so does a choice whose candidates change with another choice, and any
    ValueChoice value whose network fails the forward pass or changes the output shape (one build per value,
    except for Repeat depths: the first forward ran every block).

    A genotype is the tuple of chosen candidate names, one per decision in construction order; the
    text form is ``label=name|label=name|...``. Decisions inside Repeat blocks beyond the chosen depth
    (or inside unchosen callable LayerChoice candidates, or left out by a plain ``if`` on a ValueChoice's value,
    as the one build per value shows) are inactive: ``canonical`` resets them to
    their first candidate, ``neighbors`` never changes them, and the text leaves them out.
    """

    name = NAME

    def __init__(self, module: Callable[..., nn.Module] | str, *args: Any, input_shape: Sequence[int],
                 module_args: Sequence[Any] = (), module_kwargs: Mapping[str, Any] | None = None,
                 source_sha1: str | None = None, **kwargs: Any) -> None:
        if isinstance(module, str):
            self.factory = load_reference(module)  # recorded as found again from any working directory: a file's
            self.module: str | None = reference_of(self.factory) or absolute_reference(module)  # own module by path
        else:
            self.module, self.factory = reference_of(module), module
        if isinstance(self.factory, nn.Module):
            raise UsageError(f"pass the class {type(self.factory).__name__} (or a function returning a module), not an "
                             "instance: a model space builds its networks itself")
        if not callable(self.factory):
            raise UsageError(f"a model space needs an nn.Module class or factory, got {self.factory!r}")
        self._source = source_file(self.factory)
        self._source_now = source_fingerprint(self._source) if self._source else None
        self.source_sha1 = source_sha1 or self._source_now  # as recorded (by a study, a saved network), else now
        self.module_args = [*module_args, *args]
        self.module_kwargs = {**(module_kwargs or {}), **kwargs}
        self.input_shape = check_input_shape(input_shape)
        self._stored = bool(getattr(_REBUILDING, "on", False))  # rebuilt from a stored record: loads as it was made
        self._exempt = False  # a stored space a creation check refuses today: its builds do not compare candidates
        with torch.random.fork_rng(devices=[]):  # the probe networks leave torch's seeded generator as it was
            self._discover()
        try:
            _MADE[_config_key(self.config())] = self
        except (UsageError, TypeError, ValueError):  # no JSON config (it saves no network), or keys json cannot sort
            pass

    # -- construction --------------------------------------------------------------------------
    @property
    def _what(self) -> str:
        return self.module or getattr(self.factory, "__qualname__", repr(self.factory))

    def _instantiate(self) -> nn.Module:
        from ...settings import bind_error

        if (error := bind_error(self.factory, *self.module_args, **self.module_kwargs)) is not None:
            raise UsageError(f"constructing {self._what} failed: {error}; give its arguments with --space-config FILE "
                             "(in Python: ModelSpace(Net, ..., name=value))")
        try:
            net = self.factory(*self.module_args, **self.module_kwargs)
        except UsageError:
            raise
        except Exception as exc:
            raise UsageError(f"constructing {self._what} failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(net, nn.Module):
            raise UsageError(f"{self._what} returned {type(net).__name__}, not an nn.Module")
        return net

    def _dummy_forward(self, net: nn.Module, what: str) -> Any:
        net.eval()
        try:
            with torch.no_grad():
                return net(torch.zeros(2, *self.input_shape))
        except UsageError:
            raise
        except Exception as exc:
            raise UsageError(f"{what} of {self._what} fails on an input of shape {list(self.input_shape)}: "
                             f"{type(exc).__name__}: {exc}") from exc

    def _discover(self) -> None:
        with construction("discover") as ctx:
            net = self._instantiate()
        self.decisions: tuple[Decision, ...] = tuple(ctx.decisions.values())
        if not any(len(d) > 1 for d in self.decisions):
            raise UsageError(f"{self._what} makes no choice with two or more candidates")
        self._depth_only = frozenset(label for label, n in ctx.depth_uses.items() if n >= ctx.value_calls[label])
        self._position = {d.label: i for i, d in enumerate(self.decisions)}
        if ctx.nested:
            self._refuse_nested(ctx.nested, net)
        self._usages = {label: tuple(guards) for label, guards in ctx.usages.items()}
        self._compared: tuple[Decision, ...] = self.decisions  # what the creation builds check candidates against
        self._offsets = [0, *itertools.accumulate(len(d) for d in self.decisions)]
        output = self._dummy_forward(net, "the network with every candidate")
        if not isinstance(output, torch.Tensor):
            what = (f"a dict (keys {sorted(map(str, output))[:5]})" if isinstance(output, Mapping) else
                    f"a {type(output).__name__} of {len(output)}" if isinstance(output, (list, tuple)) else
                    type(output).__name__)
            raise UsageError(f"{self._what}: forward must return one tensor, the class scores (batch, classes); it "
                             f"returned {what}")
        if output.dim() != 2:
            raise UsageError(f"{self._what}: forward must return the class scores, shape (batch, classes); for a batch "
                             f"of 2 inputs it returned a tensor of shape {list(output.shape)}")
        self.output_shape = _shape(output)[1:]
        self._find_dropped()

    def _refuse(self, message: str) -> None:
        """``UsageError`` for a new space that a creation check finds wrong; a space rebuilt from a stored record
        (:func:`rebuild_stored`) loads as it was made, with a warning (once per process)."""
        if not self._stored:
            raise UsageError(message) from None
        self._exempt = True
        text = f"{self._what}: {message} (a stored study's space: it loads as it was made; a new search refuses it)"
        if text not in _WARNED:
            _WARNED.add(text)
            warnings.warn(text, UserWarning, stacklevel=user_stacklevel())

    def _refuse_nested(self, nested: Sequence[tuple[str, str, str]], net: nn.Module) -> None:
        """Refuse (:meth:`_refuse`) a decision inside a LayerChoice candidate given as an instance: it would count
        even when another candidate is chosen. Only decisions (two or more candidates; a Repeat of fixed depth is
        none) count, and not one also used outside such instances (or a ValueChoice used other than as a Repeat
        depth, whose uses cannot be seen): it always counts anyway."""
        outside = outside_instances(net)
        decisions = {d.label: d for d in self.decisions}
        found = [(label, name, inner) for label, name, inner in nested
                 if inner in decisions and len(decisions[inner]) > 1 and inner not in outside
                 and (decisions[inner].kind != "value" or inner in self._depth_only)]
        if found:
            label, name, inner = found[0]
            self._refuse(f"LayerChoice {label!r}: candidate {name!r} is a module instance holding choice {inner!r}, "
                         "which would count even when another candidate is chosen; write the candidate as a "
                         "callable (lambda: Block(...)) so its choices count only when it is chosen")

    def _probe(self, assignment: Mapping[str, int], what: str) -> tuple[nn.Module, set[str]] | UsageError:
        """A creation check's build of ``assignment`` (``what``: that network), without a forward, and the labels it
        asked for, or the ``UsageError`` its build failed with; a choice whose candidates differ from the default
        network's is refused (:meth:`_refuse`), and a stored space, warned, is then built as it was made, without
        the comparison."""
        try:
            with construction("build", assignment, self._compared) as built:
                return self._instantiate(), built.used
        except ChangedCandidates as exc:
            self._refuse(_changed(exc, what))
        except UsageError as exc:
            return exc
        self._compared = ()
        return self._probe(assignment, what)

    def _find_dropped(self) -> None:
        """Check that every value of each ValueChoice gives a working network of the same output shape (one build
        per value), and find the uses of choices that a plain ``if`` on such a value leaves out, so those uses are
        inactive for that value: a use outside any block is checked in that build, a use inside Repeat blocks or
        callable LayerChoice candidates in a build where its enclosing decisions select it (compatible ones
        merged into one build, without a forward pass)."""
        default = {d.label: 0 for d in self.decisions}
        dropped: dict[tuple[str, int], dict[str, set[str]]] = {}  # (label, use) -> {value label: names leaving it}
        for decision in self.decisions:
            if decision.kind != "value":
                continue
            if decision.label in self._depth_only:  # MixedRepeat checked every depth in the forward above
                self._check_candidates(decision, default)
                continue
            for k in range(1, len(decision)):
                name = decision.names[k]
                what = f"the network with {decision.label}={name}"
                builds = _merge_guards({(label, n): guard for label, guards in self._usages.items()
                                        for n, guard in enumerate(guards) if guard and label != decision.label},
                                       decision.label, name)
                for constraint, uses in [({}, [(label, n) for label, guards in self._usages.items()
                                               for n, guard in enumerate(guards) if guard == ()
                                               and label != decision.label]), *builds]:
                    assignment = {**default, **{label: self.decisions[self._position[label]].names.index(min(names))
                                                for label, names in constraint.items()}, decision.label: k}
                    probed = self._probe(assignment, what)
                    if isinstance(probed, UnknownChoice):
                        raise UsageError(f"ValueChoice {decision.label!r}: {what} makes choice {probed.label!r}, which "
                                         f"the network with {decision.label}={decision.names[0]} does not make; "
                                         "make the choice for every value, or list first a value that makes it "
                                         "(the first value's network names the choices; a plain `if` on the value, "
                                         "or a loop `for i in range(value)`, may leave its module out; for a "
                                         "number of blocks use Repeat(block, depth=ValueChoice([...])))") from None
                    if isinstance(probed, UsageError):
                        if constraint:  # another decision's choice may fail with this value: nothing to learn
                            continue
                        raise probed
                    candidate, used = probed
                    if not constraint:  # every value gives a working network of the same output shape
                        shape = _shape(self._dummy_forward(candidate, what))[1:]
                        if shape != self.output_shape:
                            raise UsageError(f"ValueChoice {decision.label!r}: {what} outputs shape {shape}, the "
                                             f"default network {self.output_shape}")
                    for label, n in uses:
                        if label not in used:  # a plain `if` on this value left this use out
                            dropped.setdefault((label, n), {}).setdefault(decision.label, set()).add(name)
        for (label, n), by_value in dropped.items():  # active only for the values whose network asks for it
            extra = tuple((value, frozenset(set(self.decisions[self._position[value]].names) - names))
                          for value, names in by_value.items())
            usages = list(self._usages[label])
            usages[n] = usages[n] + extra
            self._usages[label] = tuple(usages)

    def _check_candidates(self, decision: Decision, default: Mapping[str, int]) -> None:
        """For a ValueChoice used as a Repeat depth only (its number may still enter another choice's candidates):
        one build at its last value, without a forward (one per value would make creation quadratic in the depths),
        checks that every choice keeps its candidates (:class:`ChangedCandidates`); another failure is left to the
        networks' own builds, as before, and :meth:`build` checks every network it makes."""
        k = len(decision) - 1
        if k == 0:
            return
        self._probe({**default, decision.label: k}, f"the network with {decision.label}={decision.names[k]}")

    def _assignment(self, indices: Sequence[int]) -> dict[str, int]:
        return {d.label: int(k) for d, k in zip(self.decisions, indices)}

    def _indices(self, arch: Architecture) -> list[int]:
        return [d.names.index(name) for d, name in zip(self.decisions, arch.genotype)]

    def check_source(self, trained: str = "the study", remedy: str | None = "start a new search") -> None:
        """``UsageError`` when the file defining the module changed since ``source_sha1`` was recorded: its networks
        would not be the ones trained (a record without a fingerprint passes). ``trained``: what was trained with
        it; ``remedy``: the other way out than restoring the file (None: the message gives no advice, the caller
        its own)."""
        if self.source_sha1 is not None and self._source_now != self.source_sha1:
            raise UsageError(changed_line(self._source, self.module, trained, remedy))

    # -- networks ------------------------------------------------------------------------------
    def build(self, arch: Architecture) -> nn.Module:
        """The plain network of ``arch``: the user's module with only the chosen submodules (no choice
        wrapper left), freshly initialized with torch's current random state; ``UsageError`` when the module's
        file changed since the space was recorded (:meth:`check_source`), or when a choice's candidates differ from
        the default network's (not for a stored space that a creation check refuses today: built as it was made;
        a worker's copy of a new space, rebuilt from its record, compares as the new space does)."""
        self.check_source()
        self.check(arch)
        try:  # named as the scheduler knows a failure that a re-run would repeat
            compared = () if self._exempt else self.decisions
            with construction("build", self._assignment(self._indices(arch)), compared):
                net = self._instantiate()
            if has_lazy(net):  # nn.LazyConv2d, nn.LazyLinear...: their parameters exist after a first forward
                self._dummy_forward(net, "its first forward")
                net.train()
        except UsageError as exc:
            raise UsageError(f"the network of {self.format(arch)} cannot be built: {exc}") from None
        return net

    def supernet(self, max_partitions: int = 64) -> nn.Module:
        """A weight-sharing supernet of every architecture (see :class:`.supernet.ModelSpaceSupernet`)."""
        from .supernet import ModelSpaceSupernet

        self.check_source()
        return ModelSpaceSupernet(self, max_partitions=max_partitions)

    def config(self) -> dict[str, Any]:
        """Plain JSON that rebuilds this space with ``get_space("model_space", **config)`` (what a stored
        study and the evaluator's worker processes use); ``UsageError`` if it cannot."""
        if self.module is None:
            raise UsageError(f"model space of {self._what} cannot be rebuilt by name: define the class at the "
                             "top level of a module or file (not inside a function)")
        config = {"module": self.module, "input_shape": list(self.input_shape),
                  "module_args": list(self.module_args), "module_kwargs": dict(self.module_kwargs),
                  **({"source_sha1": self.source_sha1} if self.source_sha1 else {})}
        try:
            json.dumps(config)
        except TypeError as exc:
            raise UsageError(f"model space of {self._what} cannot be rebuilt: its constructor arguments are not "
                             f"plain JSON ({exc})") from None
        return config

    def evaluator(self, data: Any = "digits", **kwargs: Any) -> Any:
        """A :class:`~nasforge.evaluators.TrainingEvaluator` that trains this space's networks (in worker
        processes too, when the space can be rebuilt by name). The module sets the network's size and settings:
        ``C``, ``N``, ``deploy``, the fidelity knobs ``width`` and ``cells``, and ``model_kwargs`` are refused."""
        from ...evaluators.training import TrainingEvaluator

        _refuse_sizes(kwargs)
        kwargs.pop("model_kwargs", None)  # empty
        try:
            spec: Any = self.config()
        except UsageError as exc:
            if kwargs.get("save_dir") is not None:  # refused now, not after the first training
                raise UsageError(f"{exc}; a saved network is rebuilt by name, so save_dir cannot be used") from None
            spec = self  # in-process evaluation only
        if hasattr(data, "num_classes") and hasattr(data, "in_channels"):  # a data set at hand: checked now
            check_data(self, data.num_classes, data.in_channels)
        return TrainingEvaluator(data, model_kwargs={"space": spec}, **kwargs)

    def __reduce__(self) -> Any:
        """Pickled as its config (rebuilt, never unpickled module objects) when it has one."""
        try:
            return rebuild_stored, (self.config(),)
        except UsageError:
            return super().__reduce__()

    def __repr__(self) -> str:
        name = getattr(self.factory, "__qualname__", None) or self._what
        return f"ModelSpace({name}, decisions={len(self.decisions)}, size={self.size:.3g})"

    # -- the SearchSpace interface -------------------------------------------------------------
    def _arch(self, indices: Sequence[int]) -> Architecture:
        return Architecture(self.name, tuple(d.names[int(k)] for d, k in zip(self.decisions, indices)))

    @property
    def default(self) -> Architecture:
        """Every decision at its first candidate: the network ``module(*args, **kwargs)`` builds by itself."""
        return self._arch([0] * len(self.decisions))

    def sample(self, rng: np.random.Generator | int | None) -> Architecture:
        return self._arch(as_rng(rng).integers([len(d) for d in self.decisions]))

    def active(self, arch: Architecture) -> list[bool]:
        """Per decision, whether it changes the network of ``arch``."""
        chosen = dict(zip((d.label for d in self.decisions), arch.genotype))
        return [any(all(chosen.get(label) in names for label, names in guard) for guard in self._usages[d.label])
                for d in self.decisions]

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """Every architecture that differs in one active decision."""
        g = self.check(arch).genotype
        return [Architecture(self.name, g[:i] + (name,) + g[i + 1:])
                for i, (d, on) in enumerate(zip(self.decisions, self.active(arch))) if on
                for name in d.names if name != g[i]]

    def canonical(self, arch: Architecture) -> Architecture:
        """Inactive decisions reset to their first candidate."""
        self._valid(arch)
        g = tuple(name if on else d.names[0] for d, name, on in zip(self.decisions, arch.genotype, self.active(arch)))
        return Architecture(self.name, g)

    def parse(self, text: str) -> Architecture:
        """Read ``label=name|label=name|...`` (any order, each label at most once, spaces around parts ignored):
        every active decision must be given; a left-out inactive one takes its first candidate."""
        if not isinstance(text, str):
            raise UsageError(f"model-space architecture must be a string, got {type(text).__name__}")
        chosen: dict[str, str] = {}
        for part in text.split("|"):
            label, sep, name = (s.strip() for s in part.partition("="))
            if not sep:
                raise UsageError(f"expected label=candidate, got {part.strip()!r} in {text!r}")
            if label not in self._position:
                raise UsageError(f"unknown label {label!r}; labels are {[d.label for d in self.decisions]}")
            if label in chosen:
                raise UsageError(f"label {label!r} given twice in {text!r}")
            chosen[label] = name
        arch = Architecture(self.name, tuple(chosen.get(d.label, d.names[0]) for d in self.decisions))
        self.validate(arch)
        missing = [d.label for d, on in zip(self.decisions, self.active(arch)) if on and d.label not in chosen]
        if missing:
            raise UsageError(f"missing label(s) {missing} in {text!r}")
        return arch

    def format(self, arch: Architecture) -> str:
        """``label=name|...`` of the active decisions: the network's text (inactive decisions, such as blocks
        beyond the depth, change nothing and are left out; :meth:`parse` reads it back as the canonical form)."""
        self._valid(arch)
        return "|".join(f"{d.label}={name}" for d, name, on in zip(self.decisions, arch.genotype, self.active(arch))
                        if on)

    def validate(self, arch: Architecture) -> None:
        problem = self.misfit(arch)
        if problem:
            changed = (f"; the module's space changed: its file {self._source} was edited since this was recorded "
                       "(restore it or start a new search)") if self._source_now != self.source_sha1 else ""
            raise UsageError(f"{problem}{changed}")

    def misfit(self, arch: Architecture) -> str | None:
        """Why ``arch`` is not an architecture of this space (the candidate it names that no choice offers), without
        :meth:`validate`'s note on an edited module file; None when it is one."""
        g = self._own(arch).genotype
        if not isinstance(g, tuple) or len(g) != len(self.decisions):
            return f"model-space genotype must be a tuple of {len(self.decisions)} candidate names, got {g!r}"
        for d, name in zip(self.decisions, g):
            if name not in d.names:
                alike = [n for n in d.names if isinstance(name, str) and n.lower() == name.lower()]
                hint = f" (names are case-sensitive: {alike[0]!r}?)" if alike else \
                    (" (a name holding a memory address: an older nasforge named function candidates so, "
                     "differently in every run; this record cannot be matched to a candidate)"
                     if isinstance(name, str) and _ADDRESS.search(name) else "")
                return f"choice {d.label!r}: unknown candidate {name!r}; choose from {list(d.names)}{hint}"
        return None

    def encode_onehot(self, arch: Architecture) -> np.ndarray:
        """One-hot candidate of every decision of the canonical form, concatenated."""
        vec = np.zeros(self._offsets[-1], dtype=np.float32)
        for i, k in enumerate(self._indices(self.canonical(arch))):
            vec[self._offsets[i] + k] = 1.0
        return vec

    def categorical_params(self) -> dict[str, list[str]]:
        return {d.label: list(d.names) for d in self.decisions}

    def from_params(self, params: dict[str, str]) -> Architecture:
        return Architecture(self.name, tuple(self._checked_params(params).values()))

    def to_params(self, arch: Architecture) -> dict[str, str]:
        return dict(zip((d.label for d in self.decisions), self._valid(arch)))

    @property
    def size(self) -> int:
        return math.prod(len(d) for d in self.decisions)

    @property
    def is_enumerable(self) -> bool:
        return self.size <= ENUMERABLE_LIMIT

    def enumerate(self) -> Iterator[Architecture]:
        if not self.is_enumerable:
            return super().enumerate()
        return (self._arch(ks) for ks in itertools.product(*(range(len(d)) for d in self.decisions)))

    def count_unique(self) -> int:
        """Number of distinct networks (canonical forms): ``size`` when every decision always counts, else by
        enumeration (enumerable spaces only)."""
        if all(() in self._usages[d.label] for d in self.decisions):  # each has a use outside any block
            return self.size
        return len({self.canonical(a) for a in self.enumerate()})


def _changed(exc: ChangedCandidates, what: str) -> str:
    """The one-line refusal of a space whose choice ``exc.label`` has other candidates in ``what`` (a network)."""
    kind = {"value": "ValueChoice", "layer": "LayerChoice", "input": "InputChoice"}[exc.known.kind]
    return (f"{kind} {exc.label!r}: {what} gives it candidates {list(exc.found.names)}, the default network "
            f"{list(exc.known.names)}: {CHANGED_ADVICE}")


_REBUILDING = threading.local()  # on: rebuild_stored is rebuilding a stored space (it loads as it was made)
_WARNED: set[str] = set()  # the warnings given for stored spaces, once per process


def _merge_guards(guards: Mapping[tuple[str, int], Guard], value: str, name: str
                  ) -> list[tuple[dict[str, frozenset], list[tuple[str, int]]]]:
    """Group the uses ``(label, use) -> guard`` whose guards one assignment satisfies together with ``value=name``
    (a use whose guard excludes that name is left out): a list of (label -> names allowed, the uses)."""
    groups: list[tuple[dict[str, frozenset], list[tuple[str, int]]]] = []
    for use, guard in guards.items():
        need: dict[str, frozenset] = {}
        for label, names in guard:
            need[label] = need.get(label, names) & names
        if value in need and name not in need.pop(value) or not all(need.values()):
            continue
        for constraint, uses in groups:
            if all(constraint[label] & names for label, names in need.items() if label in constraint):
                for label, names in need.items():
                    constraint[label] = constraint.get(label, names) & names
                uses.append(use)
                break
        else:
            groups.append((need, [use]))
    return groups


def _refuse_sizes(settings: Mapping[str, Any]) -> None:
    """``UsageError`` for an evaluator setting (of ``settings``, those the user gave) that sizes or configures the
    network: a model-space network is the user's module, which sets its own size and settings."""
    given = [f"{name}={settings[name]!r}" for name in ("C", "N", "deploy") if settings.get(name) is not None]
    fidelity = settings.get("fidelity")
    given += [f"fidelity {key}" for key in ("width", "cells") if isinstance(fidelity, Mapping) and key in fidelity]
    if given:
        raise UsageError(f"{', '.join(given)}: a model-space network takes its size from its module; change the "
                         "module, or pass its constructor arguments to ModelSpace(Net, ..., name=value)")
    if settings.get("model_kwargs"):
        raise UsageError(f"model_kwargs {settings['model_kwargs']!r}: a model-space network takes its settings from "
                         "its module; pass them to its constructor: ModelSpace(Net, ..., name=value) (--space-config "
                         "on the command line)")


def has_lazy(net: nn.Module) -> bool:
    """Whether ``net`` holds parameters or buffers of lazy modules that no forward has shaped yet."""
    from torch.nn.parameter import is_lazy

    return any(is_lazy(t) for t in itertools.chain(net.parameters(), net.buffers()))


def from_config(config: Mapping[str, Any] | None = None, **kwargs: Any) -> ModelSpace:
    """A ModelSpace from :meth:`ModelSpace.config` (a dict, or its keys as keyword arguments), as
    ``get_space("model_space", **config)`` makes it: a new space, checked as ``ModelSpace(...)`` is; its module
    reference must name the user's own model code (:func:`.reference.stored_reference`), checked before anything
    calls it."""
    return _from_config({**(config or {}), **kwargs})


def rebuild_stored(config: Mapping[str, Any]) -> ModelSpace:
    """The ModelSpace a stored record names (a study's space, a saved network's ``model.json``, a copy sent to a
    worker process): as :func:`from_config`, but a space that the creation checks refuse today (a candidate instance
    holding a choice, candidates that follow another choice) loads, lists, exports and resumes as it was made, with
    a warning naming the label, and its builds do not compare candidates."""
    try:
        _REBUILDING.on = True
        return _from_config(dict(config))
    finally:
        _REBUILDING.on = False


_OPTIONS = ("module", "input_shape", "module_args", "module_kwargs", "source_sha1")
"""The keys of :meth:`ModelSpace.config`: the options of ``get_space("model_space", ...)``."""


_NOT_RECORDED = ("this model space was not recorded by name (its class was defined inside a function, or its "
                 "arguments are not plain JSON), so it cannot be rebuilt here: pass space=ModelSpace(...) to "
                 "Study.load, or define the class at a module's top level")


def _from_config(config: dict[str, Any]) -> ModelSpace:
    """The space of ``config``; a UsageError naming an unknown or missing option (a stored record without a module:
    its space was not recorded by name)."""
    if getattr(_REBUILDING, "on", False) and not config.get("module"):
        raise UsageError(_NOT_RECORDED)
    options = f"(it takes: {', '.join(_OPTIONS)})"
    unknown = sorted(set(config) - set(_OPTIONS), key=str)
    if unknown:
        raise UsageError(f"unknown model-space option(s) {unknown} {options}")
    missing = ["module"] * (not config.get("module")) + ["input_shape"] * (config.get("input_shape") is None)
    if missing:
        # no option at all: also what a record stored without options gives (oneshot's get_space(name))
        stored = f"; if it comes from a stored record, {_NOT_RECORDED}" if not config else ""
        raise UsageError(f"get_space('model_space') needs module= (a 'file.py:Class' or 'package.module:Class' "
                         f"reference) and input_shape=; missing {', '.join(missing)} {options}{stored}")
    edited = edited_file(config["module"], config.get("source_sha1"))  # read before the file is parsed or run
    try:
        stored_reference(config["module"])
        return ModelSpace(config["module"], input_shape=config["input_shape"],
                          module_args=config.get("module_args") or (), module_kwargs=config.get("module_kwargs"),
                          source_sha1=config.get("source_sha1"))
    except UsageError as exc:
        if edited:
            raise EditedModule(edited, config["module"], unparsable(edited) or str(exc)) from None
        recorded = getattr(_REBUILDING, "on", False) or config.get("source_sha1")  # a record, or config() of one
        if not (recorded and str(exc).startswith(GONE)):  # a new space's missing file: the plain error
            raise
        raise UsageError(f"the model-space module {config['module']!r} was recorded by that path, and its file is "
                         f"gone ({exc}): restore it there") from None


GONE = "no such Python file: "
"""How loading a reference says its file is missing."""


def changed_line(source: str | None, module: str | None, trained: str, remedy: str | None, detail: str = "") -> str:
    """The line saying that the module file ``source`` (of reference ``module``) changed since ``trained`` was
    trained; ``detail``: more on it; ``remedy``: the other way out than restoring the file (None: no advice)."""
    found = "" if module is None or module.rpartition(":")[0].endswith(".py") else \
        f" (module {module.rpartition(':')[0]} resolves to that file here: if the study used another " \
        "file of that name, run from the folder it was made in, or put that folder on PYTHONPATH)"
    advice = "" if remedy is None else f"; restore it or {remedy}"
    return f"the module file {source} changed since {trained} was trained{found}{detail}{advice}"


class EditedModule(UsageError):
    """A stored model space whose module file changed since it was recorded and no longer loads: ``str()`` says so
    as :meth:`ModelSpace.check_source` does for a study, :meth:`line` for what else was trained with it."""

    def __init__(self, source: str, module: str, failure: str) -> None:
        self.source, self.module, self.failure = source, module, failure
        super().__init__(self.line())

    def line(self, trained: str = "the study", remedy: str | None = "start a new search") -> str:
        """The line of :func:`changed_line`, with why the edited file no longer loads."""
        return changed_line(self.source, self.module, trained, remedy, f", and no longer loads ({self.failure})")


_CACHE: dict[str, ModelSpace] = {}  # one space per config and process (creation runs the checks)
_MADE: weakref.WeakValueDictionary[str, ModelSpace] = weakref.WeakValueDictionary()  # every live one, by config


def _config_key(config: Mapping[str, Any]) -> str:
    return json.dumps(dict(config), sort_keys=True)


def cached_space(config: Mapping[str, Any]) -> ModelSpace:
    """The ModelSpace of ``config`` (:meth:`ModelSpace.config`, a record of a space made before: an evaluator's or
    a saved network's), rebuilt once per process (:func:`rebuild_stored`)."""
    key = _config_key(config)
    if key not in _CACHE:
        _CACHE[key] = rebuild_stored(config)
    return _CACHE[key]


def space_made(config: Mapping[str, Any]) -> ModelSpace | None:
    """A ModelSpace of ``config`` this process made and still holds (the code it was made from, even if its file
    was edited since), else None; nothing is imported or cached."""
    key = _config_key(config)
    return _CACHE.get(key) or _MADE.get(key)


def create_network(arch: Architecture, num_classes: int, in_channels: int = 3,
                   space: ModelSpace | Mapping[str, Any] | None = None, C: int | None = None,
                   N: int | None = None) -> nn.Module:
    """The models-registry builder for ``"model_space"``: ``space`` (a ModelSpace or its config) builds
    ``arch``. The module defines its own size: ``C`` and ``N``, which the evaluator passes (and older saved
    networks record in ``model.json``), are not used, and no other setting is taken; the data must match the
    space's input channels and output classes."""
    if space is None:
        raise UsageError("a model-space network needs space= (a ModelSpace or its config); pass "
                         "model_kwargs={'space': space.config()} to the TrainingEvaluator, or use space.evaluator()")
    if not isinstance(space, ModelSpace):
        space = cached_space(space)
    check_data(space, num_classes, in_channels)
    return space.build(arch)


def check_data(space: ModelSpace, num_classes: int, in_channels: int, source: str = "the data has") -> None:
    """``UsageError`` unless ``in_channels`` input channels and ``num_classes`` classes fit ``space``;
    ``source`` says where they come from (``"the data has"``, or a saved network's ``model.json``)."""
    if in_channels != space.input_shape[0]:
        raise UsageError(f"{source} {in_channels} input channel(s), the model space expects input shape "
                         f"{list(space.input_shape)}")
    if space.output_shape != (num_classes,):
        from ...settings import keyword_names

        given = space.module_kwargs.get("num_classes")
        takes = keyword_names(space.factory)
        if given is not None and given != num_classes:
            origin = (f"its constructor was given num_classes={given!r} (--space-config, or "
                      "ModelSpace(..., num_classes=))")
        elif takes is None or "num_classes" in takes:
            origin = (f"in Python, give ModelSpace(..., num_classes={num_classes}); only the CLI's --space-module "
                      "passes the data's class count itself")
        else:
            origin = ("its constructor takes no num_classes argument, which nasforge would set to the data's class "
                      "count")
        raise UsageError(f"{source} {num_classes} classes, the model space's network outputs shape "
                         f"{list(space.output_shape)} ({origin})")


def for_data(module: str, data: Any, options: Mapping[str, Any] | None = None) -> ModelSpace:
    """The ModelSpace of ``module`` (a ``"file.py:Class"`` / ``"package.module:Class"`` reference) for
    an ``ImageDataset``: the input shape is the data's, and ``num_classes`` / ``in_channels`` are passed
    from the data when the constructor takes them and ``options`` (its other keyword arguments) does not."""
    import inspect

    factory = load_reference(module)
    kwargs = dict(options or {})
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    for name, value in (("num_classes", data.num_classes), ("in_channels", data.in_channels)):
        if name in params and name not in kwargs:
            kwargs[name] = int(value)
    return ModelSpace(module, input_shape=tuple(int(n) for n in data.x_train.shape[1:]), **kwargs)
