"""Few-shot NAS: split a supernet on chosen decisions into sub-supernets that inherit its weights, train
each further on its part of the space, and score an architecture with the sub-supernet containing it.

:class:`FewShotSupernet` is itself a :class:`~nasforge.oneshot.Supernet`, so scorers, evaluators and
studies use it unchanged. Where to split: fixed by the caller, or chosen by gradient matching
(:func:`choose_split`, GM-NAS, Hu et al. ICLR 2022): the options of a decision whose gradients on the
shared weights disagree most should not share weights.
"""

from __future__ import annotations

from ..extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

import copy
import math
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..data import ImageDataset
from ..checks import check_names
from ..exceptions import UsageError
from ..spaces import Architecture, SearchSpace
from .base import Supernet, check_part_count, check_splittable, decisions
from .checks import check_data, check_supernet
from .sampling import ArchSampler
from .trainer import OneShotConfig, OneShotRecord, train_supernet

MAX_OPTIONS = 10
"""Most options of a decision :func:`best_partition` partitions (exhaustively)."""
MAX_PATH_DRAWS = 100
"""Most paths :func:`gradient_similarity` draws for one batch in search of one where its decision matters."""


class FewShotSupernet(nn.Module):
    """Sub-supernets, member ``i`` restricted to ``allowed[i]`` (parts that hold every architecture once:
    :func:`check_parts`); ``activate`` routes to the member that contains the architecture."""

    def __init__(self, members: Sequence[nn.Module], allowed: Sequence[dict[str, list[str]]]) -> None:
        super().__init__()
        if not members or len(members) != len(allowed):
            raise ValueError("need one allowed-options dict per member, and at least one member")
        if any(isinstance(m, FewShotSupernet) for m in members):
            raise UsageError("a few-shot supernet cannot be split again: split the original supernet on all the "
                             "decisions at once, e.g. split_supernet(net, ['edge_0_3', 'edge_0_1'])")
        self.members = nn.ModuleList(members)
        self.space = members[0].space
        self.allowed = check_parts(self.space, allowed)
        self.config = {**getattr(members[0], "config", {}), "few_shot": [dict(a) for a in self.allowed]}
        self.current = 0

    def active_member(self) -> nn.Module:
        """The sub-supernet ``activate`` routed to (scorers save and restore only its state)."""
        return self.members[self.current]

    def member_of(self, arch: Architecture) -> int:
        params = self.space.to_params(arch)
        for i, allowed in enumerate(self.allowed):
            if all(params[name] in options for name, options in allowed.items()):
                return i
        raise ValueError(f"no sub-supernet contains {self.space.format(arch)}")

    def activate(self, arch: Architecture) -> None:
        self.current = self.member_of(arch)
        self.members[self.current].activate(arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.members[self.current](x)


def check_parts(space: SearchSpace, allowed: object) -> list[dict[str, list[str]]]:
    """``allowed`` as the few-shot parts of ``space``, checked: a list of dicts, each mapping decisions of the
    space to distinct options of theirs (a decision a part leaves out: all its options), that together hold every
    architecture exactly once (one sub-supernet per architecture; :func:`split_supernet` makes such parts).
    ``UsageError`` saying what is wrong otherwise."""
    options = dict(decisions(space))
    if not isinstance(allowed, Sequence) or isinstance(allowed, str) or not allowed:
        got = "an empty list" if isinstance(allowed, Sequence) and not allowed else type(allowed).__name__
        raise UsageError(f"the few-shot parts must be a non-empty list of {{decision: [options]}} dicts, got {got}")
    parts = [_check_part(i, part, options) for i, part in enumerate(allowed)]
    split = list(dict.fromkeys(name for part in parts for name in part))
    held = [{name: part.get(name, options[name]) for name in split} for part in parts]
    for name in split:
        missing = [o for o in options[name] if not any(o in part[name] for part in held)]
        if missing:
            raise UsageError(f"no part holds {name}={missing[0]}: the parts must cover every option of the decisions "
                             "they split")
    for (i, a), (j, b) in itertools.combinations(enumerate(held), 2):
        if all(set(a[name]) & set(b[name]) for name in split):
            both = ", ".join(f"{name}={next(o for o in a[name] if o in b[name])}" for name in split)
            raise UsageError(f"parts {i} and {j} both hold {both}: each architecture must be in one part only")
    covered = sum(math.prod(len(part[name]) for name in split) for part in held)
    total = math.prod(len(options[name]) for name in split)
    if covered != total:
        raise UsageError(f"the parts hold {covered} of the {total} option combinations of {', '.join(split)}: some "
                         "architectures are in no part")
    return [dict(part) for part in parts]


def _check_part(i: int, part: object, options: dict[str, list[str]]) -> dict[str, list[str]]:
    """Few-shot part ``i`` as ``{decision: [options]}``; ``UsageError`` unless it names decisions of ``options``
    with distinct options of theirs (at least one each)."""
    if not isinstance(part, Mapping):
        raise UsageError(f"part {i} must be a {{decision: [options]}} dict, got {type(part).__name__}")
    checked = {}
    for name, held in part.items():
        if name not in options:
            raise UsageError(f"part {i} names {name!r}, not a decision of the space (one of {list(options)[:4]}...)")
        if isinstance(held, str) or not isinstance(held, Sequence) or not held \
                or any(o not in options[name] for o in held) or len(set(held)) != len(held):
            raise UsageError(f"part {i}: {name} must list distinct options of {options[name]}, got {held!r}")
        checked[name] = list(held)
    return checked


def split_supernet(supernet: Supernet, on: str | Sequence[str],
                   groups: Mapping[str, Sequence[Sequence[str]]] | None = None) -> FewShotSupernet:
    """One sub-supernet (weights copied from ``supernet``) per combination of option groups of the decisions
    ``on`` (a decision's name or a list of them); ``groups[name]`` partitions that decision's options (default:
    every option its own group, the exhaustive split of few-shot NAS). A few-shot supernet is not split again, and
    a decision whose options ``groups`` keeps in one group is not split on (one part: the supernet itself)
    (``UsageError``)."""
    check_supernet(supernet, "split_supernet")
    on = check_names("on", on)  # one name alone is one decision, not its characters
    if isinstance(supernet, FewShotSupernet):
        raise UsageError(f"split_supernet: the supernet is already split (on {sorted(supernet.allowed[0])}); split "
                         f"the original supernet on all the decisions at once, e.g. split_supernet(net, "
                         f"{[*supernet.allowed[0], *on]})")
    options = dict(decisions(supernet.space))
    unknown = [name for name in on if name not in options]
    if unknown or len(set(on)) != len(on):
        raise UsageError(f"split on distinct decisions from {list(options)}, got {list(on)}")
    check_splittable(supernet.space, on, "split_supernet", exhaustive=False)  # groups may make fewer parts
    parts = {name: [[o] for o in options[name]] for name in on}
    for name, partition in (groups or {}).items():
        flat = [o for group in partition for o in group]
        if name not in parts or sorted(flat) != sorted(options[name]) or any(not g for g in partition):
            raise UsageError(f"groups[{name!r}] must partition {options.get(name)} of a split decision, got {partition}")
        if len(partition) < 2:
            raise UsageError(f"split_supernet: groups[{name!r}] is one group of all its options: splitting on it would "
                             "make one part; give it at least two groups")
        parts[name] = [list(g) for g in partition]
    count = math.prod(len(parts[name]) for name in on)
    mib = count * sum(t.numel() * t.element_size() for t in supernet.state_dict().values()) / 2**20
    size = f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib:.0f} MiB" if mib >= 10 else f"{mib:.2g} MiB"
    check_part_count(count, on, "split_supernet", f": about {size} of copies")  # before any copy
    combos = list(itertools.product(*(parts[name] for name in on)))
    allowed = [{name: list(group) for name, group in zip(on, combo)} for combo in combos]
    return FewShotSupernet([copy.deepcopy(supernet) for _ in combos], allowed)


def gradient_similarity(supernet: Supernet, data: ImageDataset, decision: str, batches: int = 8,
                        batch_size: int = 64, seed: int = 0) -> np.ndarray:
    """GM-NAS's gradient-matching score: cosine similarity, per pair of options of ``decision``, of the
    supernet's training-loss gradients on the *shared* weights (those every option's sub-network uses) when
    that option is taken, summed over ``batches`` training batches. Each batch fixes one uniform random path
    for the other decisions in which ``decision`` matters (:func:`live_path`: a path where it is dead would give
    every option the same gradient, cosine 1) and uses it for every option (common random numbers). The
    supernet is left as it was (BN running statistics included)."""
    from torch.nn import functional as F

    from ..checks import check_int, check_seed

    check_supernet(supernet, "gradient_similarity")
    check_data(supernet, data, "gradient_similarity")
    check_int("batches", batches, 1)
    check_int("batch_size", batch_size, 1)
    check_seed("seed", seed)
    options = dict(decisions(supernet.space))
    if decision not in options:
        raise UsageError(f"unknown decision {decision!r}; choose from {list(options)}")
    check_splittable(supernet.space, [decision], "gradient_similarity", exhaustive=False)
    opts = options[decision]
    weights = [p for p in supernet.parameters() if p.requires_grad]
    arch_ids = {id(a) for a in getattr(supernet, "arch_parameters", lambda: [])()}
    weights = [p for p in weights if id(p) not in arch_ids]
    saved = copy.deepcopy(supernet.state_dict())
    gen = torch.Generator().manual_seed(seed)
    sampler = ArchSampler(supernet.space, np.random.default_rng(seed))
    sums: list[dict[int, torch.Tensor]] = [{} for _ in opts]
    supernet.train()
    try:
        for _ in range(batches):
            idx = torch.randperm(len(data.y_train), generator=gen)[:batch_size]
            xb, yb = data.x_train[idx], data.y_train[idx]
            path = live_path(supernet.space, sampler, decision)
            grads = []
            for option in opts:
                supernet.activate(supernet.space.from_params({**path, decision: option}))
                grads.append(torch.autograd.grad(F.cross_entropy(supernet(xb), yb), weights, allow_unused=True))
            shared = [i for i in range(len(weights)) if all(g[i] is not None for g in grads)]
            for acc, g in zip(sums, grads):
                for i in shared:
                    acc[i] = acc[i] + g[i] if i in acc else g[i].clone()
    finally:
        supernet.load_state_dict(saved)
        supernet.eval()
    keys = sorted(set.intersection(*(set(acc) for acc in sums)))
    if not keys:
        raise ValueError(f"the options of {decision!r} share no weights")
    vectors = torch.stack([torch.cat([acc[i].flatten() for i in keys]) for acc in sums])
    unit = vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return (unit @ unit.T).numpy().astype(float)


def live_path(space: SearchSpace, sampler: ArchSampler, decision: str) -> dict[str, str]:
    """A path (every decision's option) drawn from ``sampler`` in which ``decision`` matters: its options do
    not all give functionally identical architectures (``space.canonical_key``; e.g. an NB201 edge whose
    source the input never reaches). Draws up to :data:`MAX_PATH_DRAWS` paths, then ``UsageError``."""
    options = dict(decisions(space))[decision]
    for _ in range(MAX_PATH_DRAWS):
        path = space.to_params(sampler.sample())
        keys = {space.canonical_key(space.from_params({**path, decision: option})) for option in options}
        if len(keys) > 1:
            return path
    raise UsageError(f"decision {decision!r} made no difference in {MAX_PATH_DRAWS} sampled paths (every option "
                     "gave the same network): its gradients cannot be compared")


def best_partition(similarity: np.ndarray, n_groups: int) -> tuple[list[list[int]], float]:
    """The balanced partition of options into ``n_groups`` groups (sizes differ by at most one) with the
    lowest mean similarity between options of different groups (GM-NAS's min cut; exhaustive, small ``n``),
    and that cut. ``n_groups`` equal to the number of options: every option alone, the cut is the mean
    similarity over all pairs."""
    n = len(similarity)
    if not 2 <= n_groups <= n or n > MAX_OPTIONS:
        raise UsageError(f"cannot partition {n} options into {n_groups} groups")
    if n_groups == n:  # the only such partition (the search below would take n^n steps)
        return [[i] for i in range(n)], float(np.mean(similarity[np.triu_indices(n, 1)]))
    best: tuple[list[list[int]], float] | None = None
    for labels in itertools.product(range(n_groups), repeat=n):
        if labels[0] != 0 or any(labels[i] > max(labels[:i]) + 1 for i in range(1, n)):
            continue  # each partition once: groups numbered in order of first appearance
        sizes = np.bincount(labels, minlength=n_groups)
        if sizes.min() == 0 or sizes.max() - sizes.min() > 1:
            continue
        cross = [similarity[i, j] for i in range(n) for j in range(i + 1, n) if labels[i] != labels[j]]
        cut = float(np.mean(cross))
        if best is None or cut < best[1]:
            best = ([[i for i in range(n) if labels[i] == g] for g in range(n_groups)], cut)
    return best


@dataclass
class SplitPlan:
    """Where to split: decisions ``on`` (best first), the option ``groups`` of each, and every decision's
    cut (mean gradient similarity across groups; lower = the options disagree more) and similarity matrix."""

    on: list[str]
    groups: dict[str, list[list[str]]]
    cuts: dict[str, float] = field(default_factory=dict)
    similarity: dict[str, list[list[float]]] = field(default_factory=dict)


def choose_split(supernet: Supernet, data: ImageDataset, n_decisions: int = 1, n_groups: int | None = None,
                 batches: int = 8, seed: int = 0) -> SplitPlan:
    """GM-NAS's split choice on a (warmed-up) supernet: for every decision, the gradient similarity of its
    options (:func:`gradient_similarity`) and its best partition into ``n_groups`` groups (``None``: every
    option alone, few-shot NAS's exhaustive split); split the ``n_decisions`` decisions with the lowest cut.
    Decisions that cannot be partitioned so (fewer than ``n_groups`` or 2 options, such as a DARTS node with a
    single input pair; more than 10) are skipped; ``n_decisions`` is checked before any gradient. Unlike
    GM-NAS, all decisions are measured once on the parent (not again inside each sub-supernet)."""
    from ..checks import check_int, check_seed

    check_supernet(supernet, "choose_split")
    check_data(supernet, data, "choose_split")
    if n_groups is not None:
        check_int("n_groups", n_groups, 2)
    check_int("batches", batches, 1)
    check_seed("seed", seed)
    low = n_groups or 2
    candidates = [(name, opts) for name, opts in decisions(supernet.space) if low <= len(opts) <= MAX_OPTIONS]
    if not candidates:
        counts = sorted({len(opts) for _, opts in decisions(supernet.space)})
        given = f"n_groups={n_groups}: " if n_groups is not None else ""
        raise UsageError(f"choose_split: {given}no decision has {low} to {MAX_OPTIONS} options to partition into "
                         f"{low} groups (the decisions of {supernet.space.name!r} have {counts} options)")
    if isinstance(n_decisions, bool) or not isinstance(n_decisions, int) or not 1 <= n_decisions <= len(candidates):
        raise UsageError(f"n_decisions must be an integer in [1, {len(candidates)}] (the decisions with {low} to "
                         f"{MAX_OPTIONS} options), got {n_decisions!r}")
    cuts, groups, sims = {}, {}, {}
    for name, opts in candidates:
        sim = gradient_similarity(supernet, data, name, batches=batches, seed=seed)
        partition, cuts[name] = best_partition(sim, n_groups or len(opts))
        groups[name] = [[opts[i] for i in g] for g in partition]
        sims[name] = sim.tolist()
    on = sorted(cuts, key=cuts.get)[:n_decisions]
    return SplitPlan(on, {name: groups[name] for name in on}, cuts, sims)


def train_few_shot(few_shot: FewShotSupernet, data: ImageDataset, config: OneShotConfig,
                   shared_seed: bool = False) -> list[OneShotRecord]:
    """Train every sub-supernet on its own part of the space, seeded ``config.seed + i`` or, with
    ``shared_seed``, all ``config.seed`` (the same batch order and augmentation for every part: common
    random numbers, so parts differ by their architectures rather than by their training noise); each record's
    tricks end with a ``few-shot part: ...`` line (its epochs and learning rate). DARTS/GDAS
    parts are refused where the split decisions are not the supernet's relaxed ones (the DARTS space: its
    architecture weights are per edge, its decisions per node): train those with SPOS."""
    from dataclasses import replace

    from .trainer import arch_decisions

    if not isinstance(few_shot, FewShotSupernet):
        raise UsageError(f"train_few_shot needs a FewShotSupernet (from split_supernet), got "
                         f"{type(few_shot).__name__}; train a plain supernet with train_supernet")
    if not isinstance(config, OneShotConfig):
        raise UsageError(f"config must be a OneShotConfig (e.g. OneShotConfig(epochs=1)), got {type(config).__name__}")
    if not isinstance(shared_seed, bool):
        raise UsageError(f"shared_seed must be True or False, got {shared_seed!r}")
    relaxed = {name for name, _ in arch_decisions(few_shot.members[0])}
    unrelaxed = sorted(set(few_shot.allowed[0]) - relaxed)
    if config.method != "spos" and unrelaxed:
        raise UsageError(f"train_few_shot: method={config.method!r} cannot train parts split on {unrelaxed}: "
                         f"{type(few_shot.members[0]).__name__}'s architecture weights are over other decisions "
                         f"(its arch_decisions, e.g. {sorted(relaxed)[:2]}); train the parts with method='spos'")
    records = [train_supernet(member, data, replace(config, seed=config.seed + (0 if shared_seed else i)),
                              allowed=allowed)
               for i, (member, allowed) in enumerate(zip(few_shot.members, few_shot.allowed))]
    for record in records:
        record.tricks.append(_part_trick(config))
    return records


def _part_trick(config: OneShotConfig) -> str:
    """The trick line of a few-shot part trained with ``config``: how many more epochs, on which schedule."""
    n = config.epochs - config.start_epoch
    more = f"few-shot part: {n} more epoch{'s' * (n != 1)}"
    if config.start_epoch:
        return f"{more}, the rest of the parent's schedule (no restart)"
    return f"{more} at lr {config.lr:g}, a restarted cosine schedule"
