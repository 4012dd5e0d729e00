"""Choice primitives used inside an ordinary ``nn.Module.__init__``: LayerChoice, InputChoice, ValueChoice, Repeat.

They behave according to the *construction context* that :class:`~.space.ModelSpace` opens around the
user's constructor:

- no context (``MyNet()`` called directly): every choice takes its first candidate and the result is a
  plain network, the space's default architecture;
- ``discover``: every choice records its decision (label, candidates); layer/input/repeat choices return
  "mixed" modules that hold every candidate and check, on a dummy forward, that candidates agree on shape;
- ``build``: every choice takes the candidate an architecture assigns to its label and returns it plainly
  (the chosen module itself, a ``ChosenInputs`` selector, an ``nn.Sequential`` of blocks, a value), so the
  built network holds no choice wrapper;
- ``supernet``: like ``discover`` but without the shape check; the mixed modules run one active candidate.

A label names one decision; several choices with the same label share it. Choices without a label get
``<kind>_<n>`` numbered in construction order within their scope (a LayerChoice candidate given as a
callable, or a Repeat block, opens a scope), so numbering never depends on other decisions; a user's
label equal to an automatic one is refused (they would silently be one decision).
"""

from __future__ import annotations

from ...extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

import copy
import itertools
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ...exceptions import UsageError

REDUCTIONS = ("sum", "mean", "concat")
_FORBIDDEN = ("|", "=")


@dataclass(frozen=True)
class Decision:
    """One searchable decision: its label, kind (``layer``, ``input``, ``value``) and candidates (names
    for the text form, and the values they stand for)."""

    label: str
    kind: str
    names: tuple[str, ...]
    values: tuple[Any, ...]

    def __len__(self) -> int:
        return len(self.names)


Guard = tuple[tuple[str, frozenset], ...]
"""Conditions for a use of a decision to matter: (label, names that make it active) for each
enclosing LayerChoice candidate or Repeat block."""


@dataclass
class _Context:
    mode: str  # discover | build | supernet
    assignment: Mapping[str, int] = field(default_factory=dict)  # label -> candidate index (build, supernet)
    decisions: dict[str, Decision] = field(default_factory=dict)
    usages: dict[str, list[Guard]] = field(default_factory=dict)
    depth_uses: dict[str, int] = field(default_factory=dict)  # value label -> uses as a Repeat depth
    value_calls: dict[str, int] = field(default_factory=dict)  # value label -> ValueChoice calls
    scope: list[str] = field(default_factory=list)
    guard: list[tuple[str, frozenset]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    given: set[str] = field(default_factory=set)  # labels the user wrote
    automatic: dict[str, str] = field(default_factory=dict)  # label given to an unlabelled choice -> its kind
    used: set[str] = field(default_factory=set)  # labels the network asked for (build)
    expected: Mapping[str, Decision] = field(default_factory=dict)  # label -> the space's decision (build)
    nested: list[tuple[str, str, str]] = field(default_factory=list)  # (label, candidate, inner label): discover

    @property
    def records(self) -> bool:
        return self.mode in ("discover", "supernet")

    def label(self, kind: str, label: str | None) -> str:
        """``label`` checked, or for an unlabelled choice an automatic one; ``UsageError`` when a user's label
        is the automatic label of an unlabelled choice (they would silently be one decision)."""
        if label is not None:
            if not isinstance(label, str) or not label.strip() or label != label.strip() \
                    or any(c in label for c in _FORBIDDEN):
                raise UsageError(f"choice label {label!r} must be a non-empty string without '|', '=' or "
                                 "surrounding spaces")
            if label in self.automatic:
                raise _clash(label, self.automatic[label])
            self.given.add(label)
            return label
        prefix = "".join(f"{s}." for s in self.scope)
        key = f"{prefix}{kind}"
        n = self.counters.get(key, 0)
        self.counters[key] = n + 1
        label = f"{key}_{n}"
        if label in self.given:
            raise _clash(label, kind)
        self.automatic[label] = kind
        return label

    def choose(self, decision: Decision) -> int:
        """Record (discover/supernet) or look up (build) a decision; the chosen candidate index."""
        label = decision.label
        if self.records:
            known = self.decisions.get(label)
            if known is None:
                self.decisions[label] = decision
            elif (known.kind, known.names) != (decision.kind, decision.names):
                raise UsageError(f"label {label!r} is used by two choices with different candidates: "
                                 f"{known.kind} {list(known.names)} and {decision.kind} {list(decision.names)}")
            self.usages.setdefault(label, []).append(tuple(self.guard))
            if self.mode == "discover" or label not in self.assignment:
                return 0
        if label not in self.assignment:
            raise UnknownChoice(label, f"choice {label!r} is not a decision of this space (choices must not appear "
                                "or disappear with other decisions, except inside Repeat blocks and callable "
                                "LayerChoice candidates)")
        known = self.expected.get(label)
        if known is not None and (known.kind, known.names) != (decision.kind, decision.names):
            raise ChangedCandidates(label, known, decision)
        self.used.add(label)
        return self.assignment[label]

    @contextmanager
    def scoped(self, name: str, guard: tuple[str, frozenset] | None) -> Iterator[None]:
        self.scope.append(name)
        if guard is not None:
            self.guard.append(guard)
        try:
            yield
        finally:
            self.scope.pop()
            if guard is not None:
                self.guard.pop()


class UnknownChoice(UsageError):
    """A build met choice ``label``, which the space's discovery did not record."""

    def __init__(self, label: str, message: str) -> None:
        super().__init__(message)
        self.label = label


class ChangedCandidates(UsageError):
    """A build met choice ``label`` with other candidates than the space's discovery recorded: they depend on
    another choice, so a stored architecture would name another network than the one built."""

    def __init__(self, label: str, known: Decision, found: Decision) -> None:
        self.label, self.known, self.found = label, known, found
        super().__init__(f"choice {label!r} has candidates {list(found.names)} here, {list(known.names)} in the "
                         f"default network: {CHANGED_ADVICE}")


CHANGED_ADVICE = ("candidates that depend on another choice would make a stored architecture name another network; "
                  "give it fixed candidates (for a width relative to another, choose a multiplier "
                  "ValueChoice([1, 2]) and compute width * mult)")


def _clash(label: str, kind: str) -> UsageError:
    return UsageError(f"choice label {label!r} is also the automatic label of an unlabelled {kind} choice; give "
                      "that choice a label, or rename this one")


_LOCAL = threading.local()


def _current() -> _Context | None:
    stack = getattr(_LOCAL, "stack", None)
    return stack[-1] if stack else None


@contextmanager
def construction(mode: str, assignment: Mapping[str, int] | None = None,
                 expected: Sequence[Decision] = ()) -> Iterator[_Context]:
    """Open a construction context (see the module docstring) for the choices created inside it; ``expected``: the
    space's decisions, which a build checks each choice's candidates against (:class:`ChangedCandidates`)."""
    ctx = _Context(mode, dict(assignment or {}), expected={d.label: d for d in expected})
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    stack.append(ctx)
    try:
        yield ctx
    finally:
        stack.pop()


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")  # in the str() of a function or plain object: differs in every run


def _value_name(value: Any, label: str) -> str:
    """The name of a ValueChoice candidate: its ``str()`` (a class: ``<class 'torch.nn...GELU'>``, the name stored
    studies and saved networks hold), or for a function (whose ``str()`` holds its memory address, different in
    every process) its ``__name__``; ``UsageError`` for another value whose ``str()`` holds an address (a stored
    architecture could never name it again). A ``{name: value}`` ValueChoice names its candidates itself."""
    text = str(value)
    if not _ADDRESS.search(text):
        return text
    name = getattr(value, "__name__", None)
    if isinstance(name, str) and name and not name.startswith("<"):
        return name
    raise UsageError(f"choice {label!r}: candidate {text} has no stable name (its text holds a memory address, "
                     "different in every run); name the candidates with a dict, e.g. ValueChoice({'a': x, 'b': y})")


def _names(values: Sequence[Any], label: str) -> tuple[str, ...]:
    names = tuple(str(v) for v in values)
    for n in names:
        if not n or n != n.strip() or any(c in n for c in _FORBIDDEN):
            raise UsageError(f"choice {label!r}: candidate {n!r} must print as a non-empty string without "
                             "'|', '=' or surrounding spaces")
    if len(set(names)) != len(names):
        raise UsageError(f"choice {label!r} lists a candidate twice: {list(names)} (name them with a dict "
                         "{name: candidate} if they differ)")
    return names


def _need_candidates(values: Any, label: str, what: str, mapping: bool = True) -> None:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, Mapping) if mapping else Sequence):
        raise UsageError(f"choice {label!r}: {what} must be a list{' (or dict)' if mapping else ''}, got "
                         f"{type(values).__name__}")
    if len(values) == 0:
        raise UsageError(f"choice {label!r} has no candidates")


# -- ValueChoice ---------------------------------------------------------------------------------
class _DepthInt(int):
    """An int from a ValueChoice, tagged with its label while a space is discovered (so Repeat knows
    its depth is a decision). Arithmetic on it gives plain ints."""

    label: str


def ValueChoice(candidates: Sequence[Any] | Mapping[str, Any], label: str | None = None) -> Any:  # noqa: N802
    """One of ``candidates`` (ints, floats, strings, functions, ...): a width, a kernel size, an expansion
    ratio, an activation, a Repeat depth. A candidate is named by its ``str()`` (a function by its
    ``__name__``); a ``{name: value}`` dict names them itself. Returns the plain chosen value, so ordinary
    arithmetic (``width * 2``) works; outside a ModelSpace it returns the first candidate."""
    ctx = _current()
    if ctx is None:
        _need_candidates(candidates, label or "value", "candidates")
        return next(iter(candidates.values())) if isinstance(candidates, Mapping) else candidates[0]
    return _choose_value(ctx, candidates, ctx.label("value", label))


def _choose_value(ctx: _Context, candidates: Sequence[Any] | Mapping[str, Any], label: str) -> Any:
    """The value of ``candidates`` chosen for the (already checked) ``label``, recorded as a decision."""
    _need_candidates(candidates, label, "candidates")
    if isinstance(candidates, Mapping):
        names, values = _names([str(k) for k in candidates], label), tuple(candidates.values())
    else:
        values = tuple(candidates)
        names = _names([_value_name(v, label) for v in values], label)
    value = values[ctx.choose(Decision(label, "value", names, values))]
    if ctx.records:
        ctx.value_calls[label] = ctx.value_calls.get(label, 0) + 1
        if isinstance(value, int) and not isinstance(value, bool):
            tagged = _DepthInt(value)
            tagged.label = label
            return tagged
    return value


# -- LayerChoice ---------------------------------------------------------------------------------
class MixedLayer(nn.Module):
    """All candidates of a LayerChoice; ``forward`` runs the active one (``check_shapes``: runs every
    candidate and raises if their output shapes differ)."""

    def __init__(self, label: str, names: Sequence[str], candidates: Sequence[nn.Module],
                 check_shapes: bool = False) -> None:
        super().__init__()
        self.label, self.names = label, tuple(names)
        self.candidates = nn.ModuleList(candidates)
        self.active = 0
        self.weights: torch.Tensor | None = None  # relaxed mode: mix every candidate with a nonzero weight
        self.check_shapes = check_shapes
        self.instances: frozenset[int] = frozenset()  # candidates given as module instances (discover)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.weights is not None:
            terms = ((w, lambda c=c: c(*args, **kwargs)) for w, c in zip(self.weights, self.candidates))
            return _mix(self.label, terms)
        if not self.check_shapes:
            return self.candidates[self.active](*args, **kwargs)
        outputs = [_checked_call(c, args, kwargs, f"LayerChoice {self.label!r}: candidate {n!r}")
                   for n, c in zip(self.names, self.candidates)]
        shapes = [_sample_shape(o) for o in outputs]
        if len(set(shapes)) > 1:
            detail = ", ".join(f"{n}: {s}" for n, s in zip(self.names, shapes))
            raise UsageError(f"LayerChoice {self.label!r}: candidates disagree on output shape ({detail})")
        return outputs[0]


def _checked_call(module: nn.Module, args: tuple[Any, ...], kwargs: Mapping[str, Any], what: str) -> Any:
    """``module(*args, **kwargs)`` in the every-candidate forward at a space's creation; a failure names ``what``
    (the choice and its candidate or block) and the input's shape."""
    try:
        return module(*args, **kwargs)
    except UsageError:
        raise
    except Exception as exc:
        shape = _sample_shape(args[0]) if len(args) == 1 else [_sample_shape(a) for a in args]
        raise UsageError(f"{what} fails on an input of shape {list(shape) if isinstance(shape, tuple) else shape}: "
                         f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}") from exc


def _mix(label: str, terms: Iterator[tuple[torch.Tensor, Callable[[], torch.Tensor]]]) -> torch.Tensor:
    """Sum of ``weight * output()`` over the terms whose weight is not exactly zero (those never run)."""
    out = None
    for weight, output in terms:
        if float(weight.detach()) != 0.0:  # detached: no autograd warning on reading it
            out = weight * output() if out is None else out + weight * output()
    if out is None:
        raise ValueError(f"choice {label!r}: every option has weight 0")
    return out


def _shape(output: Any) -> Any:
    if isinstance(output, torch.Tensor):
        return tuple(output.shape)
    if isinstance(output, (list, tuple)):
        return tuple(_shape(o) for o in output)
    return type(output).__name__


def _sample_shape(output: Any) -> Any:
    """:func:`_shape` of one sample: without the batch dimension, as ``input_shape`` is written."""
    if isinstance(output, torch.Tensor):
        return tuple(output.shape[1:])
    if isinstance(output, (list, tuple)):
        return tuple(_sample_shape(o) for o in output)
    return type(output).__name__


def _candidate_name(candidate: Any) -> str | None:
    if isinstance(candidate, nn.Module):
        return type(candidate).__name__.lower()
    name = getattr(candidate, "__name__", None)
    return None if name is None or name.startswith("<") else name


def LayerChoice(candidates: Sequence[Any] | Mapping[str, Any], label: str | None = None) -> nn.Module:  # noqa: N802
    """One of several modules. ``candidates`` is a list or a ``{name: candidate}`` dict; a candidate is
    an ``nn.Module`` or a zero-argument callable returning one (built only when needed, and choices
    inside it count only when it is chosen). List candidates are named by class or function name when
    those are distinct, else ``0, 1, ...``."""
    ctx = _current()
    label = ctx.label("layer", label) if ctx is not None else (label or "layer")
    _need_candidates(candidates, label, "candidates")
    if isinstance(candidates, Mapping):
        names, items = _names(list(candidates), label), list(candidates.values())
    else:
        items = list(candidates)
        guessed = [_candidate_name(c) for c in items]
        names = tuple(guessed) if None not in guessed and len(set(guessed)) == len(guessed) \
            else tuple(str(i) for i in range(len(items)))
        names = _names(names, label)
    for name, item in zip(names, items):
        if not isinstance(item, nn.Module) and not callable(item):
            raise UsageError(f"LayerChoice {label!r}: candidate {name!r} is neither an nn.Module nor a callable")
    if ctx is None:
        return _materialize(items[0], label, names[0], None)
    index = ctx.choose(Decision(label, "layer", names, names))
    if ctx.mode == "build":
        return _materialize(items[index], label, names[index], ctx)
    modules = [_materialize(item, label, name, ctx) for name, item in zip(names, items)]
    if ctx.mode == "discover":  # choices inside a candidate instance were made before it: they always count
        ctx.nested += [(label, name, inner.label) for name, item in zip(names, items) if isinstance(item, nn.Module)
                       for inner in item.modules() if isinstance(inner, (MixedLayer, MixedInput, MixedRepeat))]
    mixed = MixedLayer(label, names, modules, check_shapes=ctx.mode == "discover")
    mixed.active = index
    if ctx.mode == "discover":
        mixed.instances = frozenset(i for i, item in enumerate(items) if isinstance(item, nn.Module))
    return mixed


def outside_instances(net: nn.Module) -> set[str]:
    """The labels of the choice modules in ``net`` reached without entering a LayerChoice candidate given as a
    module instance (a choice also used there always counts, whichever candidate is chosen)."""
    labels: set[str] = set()
    seen: set[int] = set()
    stack = [net]
    while stack:
        module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        if isinstance(module, (MixedLayer, MixedInput, MixedRepeat)):
            labels.add(module.label)
        if isinstance(module, MixedLayer):
            stack += [c for i, c in enumerate(module.candidates) if i not in module.instances]
        else:
            stack += list(module.children())
    return labels


def _materialize(item: Any, label: str, name: str, ctx: _Context | None) -> nn.Module:
    if isinstance(item, nn.Module):
        return item
    try:
        if ctx is None:
            module = item()
        else:
            with ctx.scoped(f"{label}.{name}", (label, frozenset([name]))):
                module = item()
    except UsageError:
        raise
    except Exception as exc:
        raise UsageError(f"LayerChoice {label!r}: building candidate {name!r} failed: {type(exc).__name__}: "
                         f"{exc}") from exc
    if not isinstance(module, nn.Module):
        raise UsageError(f"LayerChoice {label!r}: candidate {name!r} returned {type(module).__name__}, "
                         "not an nn.Module")
    return module


# -- InputChoice ---------------------------------------------------------------------------------
class ChosenInputs(nn.Module):
    """The plain module an InputChoice becomes in a built network: reduce the chosen inputs of a list."""

    def __init__(self, indices: Sequence[int], reduction: str = "sum") -> None:
        super().__init__()
        self.indices = list(indices)
        self.reduction = reduction

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return _reduce([inputs[i] for i in self.indices], self.reduction)

    def extra_repr(self) -> str:
        return f"indices={self.indices}, reduction={self.reduction!r}"


def _reduce(chosen: list[torch.Tensor], reduction: str) -> torch.Tensor:
    if reduction == "concat":
        return torch.cat(chosen, dim=1)
    out = chosen[0]
    for x in chosen[1:]:
        out = out + x
    if reduction == "mean":
        out = out / len(chosen)
    return out


class MixedInput(nn.Module):
    """Every subset of an InputChoice; ``forward`` reduces the active one (``check_shapes``: raises if
    the inputs' shapes do not allow every subset)."""

    def __init__(self, label: str, subsets: Sequence[tuple[int, ...]], reduction: str,
                 check_shapes: bool = False) -> None:
        super().__init__()
        self.label, self.subsets, self.reduction = label, list(subsets), reduction
        self.active = 0
        self.weights: torch.Tensor | None = None  # relaxed mode: mix the subsets
        self.check_shapes = check_shapes

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        n = max(max(s) for s in self.subsets) + 1
        if len(inputs) != n:
            raise UsageError(f"InputChoice {self.label!r} expects a list of {n} inputs, got {len(inputs)}")
        if self.check_shapes:
            shapes = [tuple(x.shape[1:]) for x in inputs]  # one sample's, as input_shape is written
            keep = (lambda s: s[1:]) if self.reduction == "concat" else (lambda s: s)
            if len({keep(s) for s in shapes}) > 1:
                raise UsageError(f"InputChoice {self.label!r}: inputs disagree on shape {shapes} "
                                 f"(reduction {self.reduction!r})")
            channels = {subset: sum(shapes[i][0] for i in subset) for subset in self.subsets} \
                if self.reduction == "concat" else {}
            if len(set(channels.values())) > 1:
                raise UsageError(f"InputChoice {self.label!r}: its choices concatenate to different channel counts "
                                 f"(inputs -> channels: {channels}); the layers after it take one shape")
        if self.weights is not None:
            return _mix(self.label, ((w, lambda s=s: _reduce([inputs[i] for i in s], self.reduction))
                                     for w, s in zip(self.weights, self.subsets)))
        return _reduce([inputs[i] for i in self.subsets[self.active]], self.reduction)


def InputChoice(n_candidates: int, n_chosen: int = 1, reduction: str = "sum",  # noqa: N802
                label: str | None = None) -> nn.Module:
    """Choose ``n_chosen`` of ``n_candidates`` inputs (the module's forward gets them as a list) and
    reduce them by ``sum``, ``mean`` or ``concat`` (along channels). Candidates are named by index
    (``"2"``, or ``"0+2"`` for two)."""
    ctx = _current()
    label = ctx.label("input", label) if ctx is not None else (label or "input")
    if isinstance(n_candidates, bool) or not isinstance(n_candidates, int) or n_candidates < 1:
        raise UsageError(f"InputChoice {label!r} has no candidates (n_candidates={n_candidates!r})")
    if isinstance(n_chosen, bool) or not isinstance(n_chosen, int) or not 1 <= n_chosen <= n_candidates:
        raise UsageError(f"InputChoice {label!r}: n_chosen must be 1..{n_candidates}, got {n_chosen!r}")
    if reduction not in REDUCTIONS:
        raise UsageError(f"InputChoice {label!r}: reduction must be one of {list(REDUCTIONS)}, got {reduction!r}")
    subsets = list(itertools.combinations(range(n_candidates), n_chosen))
    if ctx is None:
        return ChosenInputs(subsets[0], reduction)
    names = tuple("+".join(map(str, s)) for s in subsets)
    index = ctx.choose(Decision(label, "input", names, tuple(subsets)))
    if ctx.mode == "build":
        return ChosenInputs(subsets[index], reduction)
    mixed = MixedInput(label, subsets, reduction, check_shapes=ctx.mode == "discover")
    mixed.active = index
    return mixed


# -- Repeat --------------------------------------------------------------------------------------
class MixedRepeat(nn.Module):
    """The most blocks a Repeat may have; ``forward`` runs the first ``active`` (``check_shapes``: runs
    them all and raises if the output shape differs between allowed depths)."""

    def __init__(self, label: str, blocks: Sequence[nn.Module], depths: Sequence[int],
                 check_shapes: bool = False, names: Sequence[str] | None = None) -> None:
        super().__init__()
        self.label, self.depths = label, tuple(depths)
        self.names = tuple(names) if names is not None else tuple(str(d) for d in depths)  # the decision's names
        self.blocks = nn.ModuleList(blocks)
        self.active = max(depths)
        self.weights: torch.Tensor | None = None  # relaxed mode: mix the outputs at each depth
        self.check_shapes = check_shapes

    def forward(self, x: Any) -> Any:
        if self.weights is not None:
            outputs = {}
            mixed = [(w, d) for w, d in zip(self.weights, self.depths) if float(w.detach()) != 0.0]  # one read each
            last = max((d for _, d in mixed), default=0)
            for i in range(last + 1):
                outputs[i] = x
                if i < last:
                    x = self.blocks[i](x)
            self._check_same_shape({d: _sample_shape(outputs[d]) for _, d in mixed})
            return _mix(self.label, ((w, lambda d=d: outputs[d]) for w, d in mixed))
        if not self.check_shapes:
            for block in self.blocks[:self.active]:
                x = block(x)
            return x
        shapes = {}
        for i in range(len(self.blocks) + 1):
            if i in self.depths:
                shapes[i] = _sample_shape(x)
            if i < len(self.blocks):
                x = _checked_call(self.blocks[i], (x,), {}, f"Repeat {self.label!r}: block {i}")
        self._check_same_shape(shapes)
        return x

    def _check_same_shape(self, shapes: Mapping[int, Any]) -> None:
        """``UsageError`` naming the Repeat unless the outputs at every depth (``shapes``: depth -> one sample's
        output shape) agree: the one-shot trainers mix them."""
        if len(set(shapes.values())) > 1:
            detail = ", ".join(f"depth {d}: {s}" for d, s in shapes.items())
            raise UsageError(f"Repeat {self.label!r}: output shape depends on the depth ({detail}); blocks "
                             "after the smallest depth must keep the shape")


def Repeat(block: Callable[[int], nn.Module] | nn.Module, depth: int | Sequence[int],  # noqa: N802
           label: str | None = None) -> nn.Module:
    """``depth`` blocks in sequence. ``block`` is a callable ``block(index) -> nn.Module`` (choices made
    inside it are per block and count only while the block is in use) or a module (deep-copied).
    ``depth`` is an int, a ``ValueChoice([...])`` or a list of allowed depths (a decision labelled
    ``label``)."""
    ctx = _current()
    name = ctx.label("repeat", label) if ctx is not None else (label or "repeat")
    if isinstance(depth, Sequence) and not isinstance(depth, str):
        depth = _choose_value(ctx, list(depth), name) if ctx is not None else ValueChoice(list(depth), label=name)
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise UsageError(f"Repeat {name!r}: depth must be a non-negative int, a list of them or a ValueChoice, "
                         f"got {depth!r}")
    depth_label = depth.label if isinstance(depth, _DepthInt) else None
    depths, names = (int(depth),), (str(int(depth)),)
    if ctx is not None and ctx.records and depth_label is not None:
        ctx.depth_uses[depth_label] = ctx.depth_uses.get(depth_label, 0) + 1
        depths, names = tuple(ctx.decisions[depth_label].values), ctx.decisions[depth_label].names
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in depths):
            raise UsageError(f"Repeat {name!r}: depth candidates must be non-negative ints, got {list(depths)}")
    count = max(depths) if ctx is not None and ctx.records else int(depth)
    blocks = [_make_block(block, i, name, depth_label, dict(zip(names, depths)), ctx) for i in range(count)]
    if ctx is None or not ctx.records:
        return nn.Sequential(*blocks)
    mixed = MixedRepeat(depth_label or name, blocks, depths, check_shapes=ctx.mode == "discover", names=names)
    mixed.active = int(depth)
    return mixed


def _make_block(block: Any, index: int, name: str, depth_label: str | None, depths: Mapping[str, int],
                ctx: _Context | None) -> nn.Module:
    """Block ``index`` of Repeat ``name``; ``depths``: the depth decision's candidate names -> depths."""
    if isinstance(block, nn.Module):
        return copy.deepcopy(block)
    if not callable(block):
        raise UsageError(f"Repeat {name!r}: block must be an nn.Module or a callable block(index)")
    if ctx is None:
        module = block(index)
    else:
        active = frozenset(n for n, d in depths.items() if d > index)  # the names of the depths that run it
        guard = (depth_label, active) if depth_label is not None and len(depths) > 1 else None
        with ctx.scoped(f"{name}.{index}", guard):
            module = block(index)
    if not isinstance(module, nn.Module):
        raise UsageError(f"Repeat {name!r}: block({index}) returned {type(module).__name__}, not an nn.Module")
    return module
