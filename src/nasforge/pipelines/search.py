"""The main job: a two-stage multi-objective NAS with real training, callable from Python.

Stage 1 searches at low fidelity (a narrow, shallow network trained for a few epochs; its cost
metrics are those of the full-size network it stands for, the one to be deployed). Stage 2
retrains the chosen members of the Pareto front at full fidelity on train + validation: each
retrain is a trial of the same study (``Study.enqueue``, user attribute ``stage="retrain"``, kept
from the strategy), so it is stored, resumed and listed like any trial, and its trained network is
saved under ``<out>/models/`` (see :mod:`nasforge.export`). The run folder receives ``trials.csv``,
``front.json``, ``summary.json`` and ``pareto.png``.

The whole job resumes after a crash or kill -9 with :func:`resume_search` (``nasforge resume NAME
--storage URL``): the study records this pipeline and its :class:`SearchConfig`, so the rest of
stage 1, the retrains and the outputs are done from what is stored.

    from nasforge.pipelines.search import SearchConfig, run_search
    summary = run_search(SearchConfig(trials=20, retrain=2, out="runs/demo"))
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import reprlib
import shlex
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..checks import MAX_THREADS, SEED_LIMIT, check_path, is_real
from ..exceptions import NasforgeError, StorageFileMovedError, StudyExistsError, UsageError
from ..extras import check_installed
from ..jsonfiles import loads
from ..pareto import SENSES, as_direction
from ..registry import did_you_mean, takes_hint
from ..experiment._results import plain_values
from ..experiment.progress import eta_from, format_seconds
from ..experiment.stages import FEASIBLE_ONLY, RANGE_REFERENCE, RETRAIN, STAGE_KEY, is_retrain, saved_model_dir, \
    search_config, source_trial, unsaved_retrain
from ..experiment.storage.base import is_utf8
from ..experiment.storage.display import display_url, study_command, without_password
from ..experiment.storage.urls import (absolute_sqlite_url, check_storage_url, sqlite_path, sqlite_url,
                                       storage_errors_as_usage)
from ..writes import check_folder, check_target, head, remove_dead_temporaries, write_atomic

if TYPE_CHECKING:
    from ..evaluators.training import TrainingEvaluator
    from ..experiment import Study, Trial
    from ..experiment.storage import Storage
    from ..experiment.storage.base import StudyRecord
    from ..spaces import Architecture, SearchSpace

T = TypeVar("T")

PIPELINE = "search"
RUNS_ROOT = "nasforge-runs"
"""Where a run without ``out`` gets its folder (``nasforge-runs/<name>``), relative to the working directory."""
METRICS = ("val_acc", "test_acc", "val_loss", "train_loss", "params", "flops", "latency_ms", "train_seconds")
SUPERNET_METRICS = ("val_acc", "val_loss", "params", "flops", "latency_ms")  # what SupernetEvaluator reports
ACCURACIES = ("val_acc", "test_acc")
"""The metrics that are accuracies (percent): maximized by default, and the axes retrained test accuracies share."""
TEST_METRIC = "test_acc"
"""The test split's accuracy: reported, never an objective of a new search (it would choose the network it then
reports on)."""
OBJECTIVES = tuple(m for m in METRICS if m != TEST_METRIC)
"""The metrics a new search may take as objectives (offered by help and error messages)."""
WAIT_SECONDS = 2.0
"""How often stage 2 looks for the results of retrains another process of the same study is running."""
FIT_TRIES = 8
"""How many networks (the default, then others) the pre-flight check tries before it refuses a space."""
RETRIES = 2
"""How often a run re-runs a failed trial (a killed worker's, ...) of either stage as a new trial (``retry_of``);
a resume re-runs the retrains still failed once more each."""
LOCK = ".nasforge-run.lock"
"""The file of a run folder that a running search (or resume) holds locked, so no other study's run starts in it."""
RUN_DATABASE = "study.db"
"""The SQLite file a run folder holds its study in (the default storage: ``sqlite:///<out>/study.db``)."""
OUTPUT_FILES = ("trials.csv", "front.json", "summary.json", "pareto.png", "report.html")
STALE_TEMPORARY = 600.0
"""Seconds after which a temporary output file whose name carries no process id counts as abandoned."""


@dataclass(frozen=True)
class Preset:
    """Network sizes and epochs of the two stages for one kind of space; ``final_lr`` is the peak
    learning rate of the longer, deeper final training (lower than the search's for stability)."""

    search_C: int
    search_N: int | None
    search_epochs: int
    final_C: int
    final_N: int | None
    final_epochs: int
    final_lr: float = 0.05


PRESETS: dict[str, Preset] = {
    "nb201": Preset(search_C=8, search_N=1, search_epochs=4, final_C=16, final_N=4, final_epochs=30),
    "darts": Preset(search_C=4, search_N=1, search_epochs=3, final_C=8, final_N=2, final_epochs=15),
    "nb101": Preset(search_C=8, search_N=1, search_epochs=4, final_C=16, final_N=2, final_epochs=15),
    "proxylessnas": Preset(search_C=8, search_N=None, search_epochs=4, final_C=16, final_N=None, final_epochs=15),
    "chain": Preset(search_C=8, search_N=None, search_epochs=4, final_C=16, final_N=None, final_epochs=15),
    "model_space": Preset(search_C=1, search_N=None, search_epochs=4, final_C=1, final_N=None, final_epochs=15),
}
"""Per model (``nasforge.models`` name). A user's module (``model_space``) fixes its own size: only
the epochs differ between the stages."""


NAME_RULE = ("must be 1-200 characters of valid UTF-8 (at most 255 bytes) without '/' or surrounding spaces, not "
             "only dots ('.', '..'), not starting with '-' (read as an option) and not ending in '.db' (read as a "
             "database file)")
"""What :func:`valid_name` asks of a study name given to a search (``nasforge search`` and ``oneshot search``)."""


def valid_name(name: Any, new: bool = True) -> bool:
    """Whether ``name`` follows :data:`NAME_RULE` (by default it also names the run folder); a study stored before
    2026-12-06 (not ``new``) may start with '-' or end in '.db' (the command line reaches it as
    :func:`resume_command` spells it), and one stored before 2026-12-05 be only dots or over 255 bytes (its run
    folder was given with --out)."""
    return (isinstance(name, str) and 0 < len(name) <= 200 and is_utf8(name) and "/" not in name
            and name.strip() == name
            and not (new and (len(name.encode()) > 255 or name.strip(".") == "" or name.startswith("-")
                              or name.lower().endswith(".db"))))


DEFAULT_SPACE = "nb201"
"""The space a search without one searches (with the supernet evaluator: where the supernet records none)."""


@dataclass
class SearchConfig:
    """Settings of the two-stage search (every field is plain JSON; the study stores them).

    ``objectives``/``directions``: metrics of :data:`METRICS` (not ``test_acc``: the test split only reports)
    and max/min or maximize/minimize (stored as the latter; None: accuracies maximize, the rest minimize).
    ``threads``: torch threads per worker (None: 1, the fastest on a busy machine: benchmarks/search_threads.py).
    ``timeout``: seconds for stage 1 (per run; a resumed run gets it again). ``storage``: study URL (None:
    ``sqlite:///<out>/study.db``; a ``Path``: that SQLite file). ``out``: run folder (None:
    ``nasforge-runs/<name>``). ``name``: study name (None: ``search-<space>-<data>-<time>``). ``retrain``: front
    members retrained (0 skips stage 2). ``search_epochs``/``final_epochs``: None takes the model's :data:`PRESETS`.
    ``space``: a registered space's name; None (not given) is the space the supernet records with the supernet
    evaluator (as ``nasforge oneshot search``), else :data:`DEFAULT_SPACE`. ``space_config``: options of
    ``space`` (a chain's layers...); ignored when ``run_search`` gets a space object. ``evaluator``: "training"
    (stage 1 trains every trial) or "supernet" (stage 1 scores trials with the supernet saved in folder
    ``supernet`` by ``nasforge oneshot train``; one-shot NAS).
    ``data``: None is digits for the training evaluator and the data set the supernet was trained on (with its
    recorded split and noise) for the supernet evaluator, which also takes digits-hard. ``augment``: the
    training augmentation of both stages (:data:`~nasforge.data.AUGMENTATIONS`: "none", "crop", "crop_flip"; None:
    the data set's own, "crop" for digits, "crop_flip" for files; with the supernet evaluator, the one the supernet
    recorded); a resume uses the recorded one (a study stored without it: the data set's own, as it ran).
    ``supernet_score``: :class:`~nasforge.oneshot.ScoreConfig` fields (not ``seed``: the run's ``seed`` is used)
    of the supernet evaluator over the search default (:func:`~nasforge.oneshot.scoring.search_settings`, BN
    recalibrated, as ``nasforge oneshot search``); :meth:`resolved` records the BN mode, so a resume scores alike.
    ``bn_mode``: the BatchNorm statistics the training evaluator validates search trials with
    (:data:`~nasforge.training.BN_MODES`; None: "inherited", the running statistics training leaves, as a study
    stored without it ran; "recalibrate": re-estimated on the training split first, which ranks 1-epoch budgets
    better: docs/training.md); :meth:`resolved` records it. The retraining validates nothing: it keeps the default.
    ``constraints``: ``"METRIC <= NUMBER"`` / ``>=`` on metrics of :data:`METRICS` (multi-objective
    strategies): the front and the retrained architectures keep the trials that satisfy them (none does: the run
    retrains nothing and raises :class:`NoFeasibleTrial` once its outputs are written).
    ``data_dir`` and a SQLite ``storage`` file are stored absolute (:meth:`resolved`), so a resume reads the same
    files from any folder.
    ``max_crash_reruns``: how often a trial whose process died (kill -9 of the run) is re-run before it is FAILED.
    """

    space: str | None = None
    space_config: Any = None
    data: str | None = None
    data_dir: str | None = None
    objectives: list[str] = field(default_factory=lambda: ["val_acc", "params"])
    directions: list[str] | None = None
    strategy: str = "mo_evolution"
    trials: int = 60
    timeout: float | None = None
    workers: int = 2
    threads: int | None = None
    storage: str | None = None
    out: str | None = None
    name: str | None = None
    retrain: int = 5
    search_epochs: int | None = None
    final_epochs: int | None = None
    pruner: str | dict[str, Any] | None = None  # a registered name or a spec {"name": ..., **settings}
    seed: int = 0
    evaluator: str = "training"
    supernet: str | None = None
    supernet_score: dict[str, Any] | None = None
    constraints: list[str] = field(default_factory=list)
    strategy_kwargs: dict[str, Any] = field(default_factory=dict)
    max_crash_reruns: int = 3
    augment: str | None = None
    bn_mode: str | None = None

    def __post_init__(self) -> None:
        """One objective, direction or constraint may be a plain string, as ``Study`` takes them (one direction
        applies to every objective; a constraints string may hold several, comma-separated); a path may be a
        ``Path`` (a ``storage`` Path names a SQLite file) and a number a numpy scalar, kept as the str and Python
        number the stored config holds."""
        if isinstance(self.storage, os.PathLike):
            self.storage = sqlite_url(self.storage)
        for name in ("out", "data_dir"):
            if isinstance(getattr(self, name), os.PathLike):
                setattr(self, name, os.fspath(getattr(self, name)))
        for name in NUMBER_FIELDS:
            setattr(self, name, plain_values(getattr(self, name)))
        if isinstance(self.objectives, (str, tuple)):
            self.objectives = [self.objectives] if isinstance(self.objectives, str) else list(self.objectives)
        if self.directions is None and isinstance(self.objectives, list):
            self.directions = [default_direction(o) for o in self.objectives]
        if isinstance(self.directions, (str, tuple)):
            self.directions = ([self.directions] * max(1, len(self.objectives)) if isinstance(self.directions, str)
                               else list(self.directions))
        if isinstance(self.directions, list):  # a spelling as_direction refuses is left for validate to name
            self.directions = [SENSES.get(d.strip().lower(), d) if isinstance(d, str) else d for d in self.directions]
        if isinstance(self.constraints, (str, tuple)):
            self.constraints = ([c.strip() for c in self.constraints.split(",") if c.strip()]
                                if isinstance(self.constraints, str) else list(self.constraints))

    def validate(self, label: Callable[[str], str] = str, resumed: bool = False) -> None:
        """Check every field before any work starts; ``UsageError`` names the field as ``label(name)``
        (the CLI passes ``--option`` names). ``resumed``: the stored config of a study being resumed, which may
        hold options a run ignored (refused for new runs only): a ``search_epochs`` of a multi-fidelity strategy
        whose budget is epochs, a ``pruner`` with ``search_epochs`` 1 (or ``curve`` with fewer than 5),
        ``final_epochs`` with ``retrain`` 0, ``augment`` with the supernet evaluator and ``retrain`` 0,
        :data:`TEST_METRIC` as an objective or constraint; and values releases before 2026-12-06 stored: a
        multi-fidelity strategy with the supernet evaluator, an ``out`` inside the data folder (a copy writes beside
        itself), a ``name`` of dots only or over 255 bytes (:func:`valid_name`)."""
        def need(ok: bool, name: str, rule: str, choices: Iterable[str] = ()) -> None:
            """A UsageError naming the field, ``rule`` and the value (with the closest of ``choices``) unless ``ok``."""
            if not ok:
                value = getattr(self, name)
                raise UsageError(f"{label(name)} {rule}, got {'nothing' if value is None else repr(value)}"
                                 f"{did_you_mean(value, choices)}")

        def integer(name: str, minimum: int, optional: bool = False) -> None:
            value = getattr(self, name)
            if optional and value is None:
                return
            need(isinstance(value, int) and not isinstance(value, bool) and value >= minimum, name,
                 f"must be an integer >= {minimum}")

        from ..strategies import STRATEGIES

        if self.strategy not in STRATEGIES:
            raise UsageError(f"{label('strategy')}: unknown strategy {self.strategy!r}"
                             f"{did_you_mean(self.strategy, STRATEGIES.names())}; choose from {STRATEGIES.names()}")
        for name in ("out", "data_dir"):  # (storage: a URL, checked as one below)
            if getattr(self, name) is not None:
                check_path(label(name), getattr(self, name))
        _check_utf8_place(label("out"), self.out, "the folder")
        integer("trials", 1)
        integer("workers", 1)
        integer("threads", 1, optional=True)
        need(self.threads is None or self.threads <= MAX_THREADS, "threads",
             f"must be at most {MAX_THREADS} (4 per CPU, at least 64)")
        integer("retrain", 0)
        integer("search_epochs", 1, optional=True)
        integer("final_epochs", 1, optional=True)
        integer("seed", 0)
        integer("max_crash_reruns", 0)
        need(self.seed < SEED_LIMIT, "seed", "must be < 2**63 (a 64-bit seed)")
        need(self.timeout is None or (isinstance(self.timeout, (int, float)) and self.timeout > 0), "timeout",
             "must be a positive number of seconds")
        need(self.name is None or valid_name(self.name, new=not resumed), "name", NAME_RULE)
        need(isinstance(self.objectives, list), "objectives", "must be a metric name or a list of them")
        need(isinstance(self.directions, list), "directions", "must be maximize/minimize or a list of them")
        unknown = [o for o in self.objectives if o not in METRICS]
        need(bool(self.objectives) and not unknown, "objectives", f"must name metrics of {list(OBJECTIVES)}")
        need(len(set(self.objectives)) == len(self.objectives), "objectives", "must not repeat a metric")
        need(len(self.directions) == len(self.objectives), "directions",
             f"must give one direction per objective ({len(self.objectives)}: {', '.join(map(str, self.objectives))})")
        need(set(self.directions) <= {"maximize", "minimize"}, "directions",
             "must be max, min, maximize or minimize per objective")
        need(resumed or TEST_METRIC not in self.objectives, "objectives",
             f"must not include {TEST_METRIC}: the test split only reports (a network chosen by it would be "
             f"reported on the data that chose it); search on val_acc, every retrained network's {TEST_METRIC} "
             "is reported")
        counts = getattr(STRATEGIES.get(self.strategy), "objective_counts", None)
        need(not isinstance(counts, tuple) or counts[1] != 1 or len(self.objectives) == 1, "objectives",
             f"must be one metric for strategy {self.strategy!r}, which handles one objective (e.g. "
             f"{label('objectives')} {self.objectives[0]}), or use a multi-objective strategy (mo_evolution, "
             "nsga2, ts_hvi, ...)")
        low, high = counts if isinstance(counts, tuple) else (1, None)  # before the per-objective surrogates exist
        wanted = f"{low}" if low == high else f"at least {low}" if high is None else f"{low} to {high}"
        if len(self.objectives) < low or (high is not None and len(self.objectives) > high):
            raise UsageError(f"{label('objectives')}: strategy {self.strategy!r} handles {wanted} objective(s), got "
                             f"{len(self.objectives)} ({', '.join(self.objectives)})")
        from ..data.sources import DATASETS, check_out_of_data, check_storage_out_of_data
        from ..experiment.pruners import PRUNERS
        from ..oneshot.checks import AUGMENTATIONS
        from ..oneshot.study import data_names

        names = data_names() if self.evaluator == "supernet" else DATASETS  # study_data's, digits-hard too
        supernet_only = f" ({self.data} needs {label('evaluator')} supernet)" if self.data in data_names() else ""
        need(self.data is None or self.data in names, "data", f"must be one of {', '.join(names)}{supernet_only}",
             () if supernet_only else names)  # a supernet data set: no guess beside the evaluator it needs
        need(self.evaluator != "training" or self.data not in (None, "digits") or self.data_dir is None, "data_dir",
             "applies to data read from files, not digits (built in)")
        need(self.evaluator != "training" or self.data in (None, "digits") or self.data_dir is not None, "data_dir",
             f"must name the folder or file of data set {self.data} (it needs a data directory)")
        if self.evaluator == "supernet" and self.data_dir is not None:  # before its loading names the keyword
            from ..evaluators.supernet import recorded_data, supernet_record
            from ..oneshot.study import STUDY_DATASETS

            # the data it scores on: the one given, else the supernet's own (an unreadable record: loading says so)
            scored = self.data if self.data or supernet_record(self.supernet) is None else recorded_data(self.supernet)
            need(scored not in STUDY_DATASETS, "data_dir", f"applies to data read from files, not {scored} (built in)")
        if isinstance(self.data, str) and self.data_dir is not None and not resumed:  # its files must not join data
            check_out_of_data(self.out or RUNS_ROOT, label("out") if self.out else f"the default {label('out')}",
                              self.data, self.data_dir)  # (a stored run resumes where it ran, or beside its copy)
            if isinstance(self.storage, str):
                check_storage_out_of_data(self.storage, label("storage"), self.data, self.data_dir)
        need(self.augment is None or (isinstance(self.augment, str) and self.augment in AUGMENTATIONS), "augment",
             f"must be one of {', '.join(AUGMENTATIONS)} (or leave it out: the data set's own)", AUGMENTATIONS)
        pruner = self.pruner.get("name") if isinstance(self.pruner, dict) else self.pruner
        need(self.pruner is None or (isinstance(pruner, str) and pruner in PRUNERS), "pruner",
             f"must be one of {', '.join(PRUNERS.names())} or a spec {{\"name\": NAME, ...settings}}",
             PRUNERS.names() if isinstance(self.pruner, str) else ())
        self._validate_pruner(need)
        from ..strategies.multi_fidelity import budget_rule

        multi_fidelity = self.strategy in STRATEGIES and STRATEGIES.tags(self.strategy)["multi_fidelity"]
        rule = budget_rule(self.strategy, self.strategy_kwargs if isinstance(self.strategy_kwargs, dict) else {})
        # a multi-fidelity budget of epochs (the default) sets each trial's epochs; another (data_fraction, width,
        # ...) does not: its trials train --search-epochs (or the preset's), as any strategy's
        budget_epochs = multi_fidelity and (rule is None or rule[0] == "epochs")
        need(not budget_epochs or self.search_epochs is None or resumed, "search_epochs",
             f"does not apply to strategy {self.strategy!r}, which chooses each trial's epochs itself (its budgets: "
             f"set min_budget, max_budget and eta in {label('strategy_kwargs')}, e.g. '{{\"max_budget\": 4}}')")
        need(pruner != "curve" or budget_epochs or (self.search_epochs or 0) >= 5 or resumed, "search_epochs",
             "must be set to 5 or more with the curve pruner (a curve needs 4 reports before it can stop a trial "
             "early; the presets train 3-4 epochs)")
        top: float | None = None  # the largest budget of epochs of a multi-fidelity strategy, where known
        if budget_epochs and self.pruner is not None and not resumed:
            top = None if rule is None else rule[1]
            need(top is None or top > 1, "pruner", f"does not apply with strategy {self.strategy!r} whose budgets are "
                 f"all 1 epoch (a trial's only report is its last, which no pruner stops): leave it out or set "
                 f"max_budget 2 or more in {label('strategy_kwargs')}")
            need(pruner != "curve" or top is None or top >= 5, "pruner", f"curve needs a largest budget of 5 epochs "
                 f"or more (a curve needs 4 reports before it can stop a trial early), but strategy {self.strategy!r} "
                 f"trains at most {top:g}: set max_budget 5 or more in {label('strategy_kwargs')}")
        need(self.pruner is None or self.search_epochs != 1 or resumed, "pruner",
             f"does not apply with {label('search_epochs')} 1 (a trial's only report is its last, which no pruner "
             f"stops): leave it out or set {label('search_epochs')} 2 or more")
        if not resumed and self.evaluator == "training":  # a supernet trains nothing: its pruner is refused below
            space = self.space or DEFAULT_SPACE  # not given: the training evaluator's default
            preset = PRESETS[space].search_epochs if space in PRESETS else None  # the default epochs
            epochs = top if budget_epochs and self.pruner is not None else self.search_epochs or preset
            self._validate_pruner_reach(need, label, epochs, "max_budget in " + label("strategy_kwargs")
                                        if budget_epochs else label("search_epochs"))
        need(self.retrain or self.final_epochs is None or resumed, "final_epochs",
             f"applies to the retraining (stage 2), which {label('retrain')} 0 skips: leave it out")
        need(self.retrain or self.evaluator != "supernet" or self.augment is None or resumed, "augment",
             "would be ignored: nothing is trained (the supernet evaluator trains nothing in stage 1, and "
             f"{label('retrain')} 0 skips the retraining): leave it out")
        if self.storage is not None:
            need(isinstance(self.storage, str), "storage",
                 "must be a storage URL (sqlite:///FILE.db, postgresql://...)")
            if not resumed:  # a moved or copied run resumes from its new place; a URL older rules allowed is kept
                check_storage_url(self.storage, label("storage"))
                _check_utf8_place(label("storage"), self.storage, "the database file")
        need(self.evaluator in ("training", "supernet"), "evaluator", "must be training or supernet")
        need(self.evaluator != "supernet" or self.supernet is not None, "supernet",
             f"must name a folder saved by 'nasforge oneshot train' with {label('evaluator')} supernet")
        need(self.evaluator == "supernet" or self.supernet is None, "supernet",
             f"needs {label('evaluator')} supernet (the {self.evaluator} evaluator reads no supernet)")
        unreported = [o for o in self.objectives if o not in SUPERNET_METRICS] if self.evaluator == "supernet" else []
        need(not unreported, "objectives", f"must be among {', '.join(SUPERNET_METRICS)} with the supernet evaluator, "
             f"which does not report {', '.join(map(str, unreported))}")
        need(self.evaluator == "supernet" or self.supernet_score is None, "supernet_score",
             "applies to the supernet evaluator only")
        if self.bn_mode is not None:
            from ..training import BN_MODES

            need(self.evaluator == "training", "bn_mode",
                 "applies to the training evaluator only (the supernet evaluator's is in supernet_score)")
            need(isinstance(self.bn_mode, str) and self.bn_mode in BN_MODES, "bn_mode",
                 f"must be one of {', '.join(BN_MODES)} with the training evaluator", BN_MODES)
        if self.evaluator == "supernet" and not resumed:
            from ..evaluators.supernet import check_supernet_strategy

            check_supernet_strategy(self.strategy, label("strategy"))
        if self.supernet_score is not None:  # not seed: the run's
            from ..oneshot.scoring import search_settings

            search_settings(self.supernet_score, label("supernet_score"), fixed=("seed",))
        for unused in ("search_epochs", "pruner"):  # a supernet scores without training: nothing to set or stop
            need(self.evaluator == "training" or getattr(self, unused) is None, unused,
                 "applies to the training evaluator only (the supernet evaluator trains nothing in stage 1)")
        self._validate_constraints(need, label, resumed)
        self._validate_strategy_kwargs(need)

    def _validate_pruner(self, need: Callable[[bool, str, str], None]) -> None:
        """A pruner spec's settings: the pruner is built once now, so a bad one fails before any work."""
        if self.pruner is None:
            return
        from ..experiment.pruners import get_pruner

        try:
            get_pruner(self.pruner)
        except UsageError as exc:
            need(False, "pruner", f"is not valid ({exc})")

    def _validate_pruner_reach(self, need: Callable[[bool, str, str], None], label: Callable[[str], str],
                               epochs: float | None, epochs_name: str) -> None:
        """A pruner whose own settings put its first decision (:meth:`Pruner.first_decision`) at or past the trials'
        end, ``epochs`` or its own :meth:`~Pruner.last_step` (a trial's last report, which no pruner stops), could
        never stop a trial: refused, naming the setting."""
        from ..experiment.pruners import first_decision, get_pruner, never_stops

        if self.pruner is None:
            return
        pruner = get_pruner(self.pruner)  # valid: _validate_pruner built it
        reason = never_stops(pruner, first_step=1)  # type: ignore[arg-type]  # a spec builds a pruner
        need(reason is None, "pruner", f"{pruner.name!r} {reason}")
        first = first_decision(pruner)
        if first is None or not isinstance(epochs, (int, float)):  # e.g. a user's pruner: its rule is its own
            return
        setting, value, step = first
        need(step < epochs, "pruner", f"can never stop a trial: with {setting} {value} its first decision is at epoch "
             f"{step}, but trials train {epochs:g} (the last report is never judged); lower {setting} or set "
             f"{epochs_name} above {step}")

    def _validate_strategy_kwargs(self, need: Callable[[bool, str, str], None]) -> None:
        """A JSON object of parameters the strategy's constructor takes (names only: values are checked
        by the strategy itself), none of them set by another field."""
        from ..settings import bind_error
        from ..strategies import STRATEGIES

        need(isinstance(self.strategy_kwargs, dict) and not set(self.strategy_kwargs) & RESERVED_STRATEGY_KWARGS,
             "strategy_kwargs", f"must be a JSON object of strategy parameters other than "
             f"{', '.join(sorted(RESERVED_STRATEGY_KWARGS))} (set by their own options)")
        if self.strategy in STRATEGIES:
            factory = STRATEGIES.get(self.strategy)
            error = bind_error(factory, None, **self.strategy_kwargs)
            hint = "" if error is None else takes_hint(factory, self.strategy_kwargs,
                                                      skip={"space", "dedup", *RESERVED_STRATEGY_KWARGS})
            need(error is None, "strategy_kwargs", f"must be parameters of strategy {self.strategy!r} ({error}{hint})")

    def _validate_constraints(self, need: Callable[[bool, str, str], None], label: Callable[[str], str] = str,
                              resumed: bool = False) -> None:
        """Constraints parse, can hold together (in a new run: a stored one keeps its own), are on known metrics
        the evaluator reports, never on :data:`TEST_METRIC` in a new run (the test split would steer the search,
        as an objective would), and have a multi-objective strategy."""
        from ..strategies import STRATEGIES
        from ..strategies.constraints import check_satisfiable, parse_constraints

        need(isinstance(self.constraints, list) and all(isinstance(c, str) for c in self.constraints),
             "constraints", "must be a 'METRIC <= NUMBER' string or a list of them")
        try:
            parsed = parse_constraints(self.constraints)
            if not resumed:
                check_satisfiable(parsed)
        except UsageError as exc:  # its message quotes the constraint: no "got ..." after it
            raise UsageError(f"{label('constraints')}: {exc}") from None
        unknown = [c.metric for c in parsed if c.metric not in METRICS]
        need(not unknown, "constraints", f"must be on metrics of {list(METRICS if resumed else OBJECTIVES)}")
        need(resumed or all(c.metric != TEST_METRIC for c in parsed), "constraints",
             f"must not be on {TEST_METRIC}: the test split only reports (a search it steers would choose the "
             f"network it then reports on); constrain val_acc instead")
        need(self.evaluator == "training" or all(c.metric in SUPERNET_METRICS for c in parsed), "constraints",
             f"must be on {', '.join(SUPERNET_METRICS)} with the supernet evaluator")
        if parsed and self.strategy in STRATEGIES and not STRATEGIES.tags(self.strategy).get("multi_objective"):
            counts = getattr(STRATEGIES.get(self.strategy), "objective_counts", (1, 1))
            several = isinstance(counts, tuple) and counts[1] != 1  # random, grid: any number of objectives
            note = " (it runs several objectives but reads no scores)" if several else ""
            use = "mo_random (random sampling, front of the feasible trials) or another multi-objective strategy (" \
                if self.strategy == "random" else "a multi-objective strategy ("
            need(False, "constraints", f"are not taken by strategy {self.strategy!r}{note}: use {use}"
                 "nsga2, mo_evolution, ts_hvi, qnehvi, parego, ...)")
        need(not parsed or self.strategy in STRATEGIES, "constraints",
             "need a multi-objective strategy (nsga2, mo_evolution, ts_hvi, qnehvi, parego, mo_random, ...)")

    def resolved(self, label: str | None = None) -> SearchConfig:
        """A copy with the defaults that depend on the machine, the time or other fields filled in; ``label``
        names the space in the default run name instead of ``space`` (a user's module: its class)."""
        score, supernet = None, self.supernet
        if self.evaluator == "supernet":
            from ..evaluators.supernet import recorded_data
            from ..oneshot.scoring import search_settings

            if supernet is not None:  # absolute: the stored config resumes from any folder
                supernet = str(Path(supernet).expanduser().absolute())
            data = self.data or recorded_data(supernet)
            score = search_settings(self.supernet_score)
        else:
            data = self.data or "digits"
        bn_mode = self.bn_mode or ("inherited" if self.evaluator == "training" else None)
        space = label or self.space or _default_space_name(self)
        name = self.name or _default_name(space, data)
        out = str(Path(self.out or Path(RUNS_ROOT) / name).absolute())
        data_dir = None if self.data_dir is None else str(Path(self.data_dir).expanduser().absolute())
        # absolute, as out: the resume command recorded and a resume from another folder name the same file
        storage = absolute_sqlite_url(self.storage) if self.storage else sqlite_url(Path(out) / RUN_DATABASE)
        return SearchConfig(**{**asdict(self), "name": name, "out": out, "data_dir": data_dir, "data": data,
                               "supernet_score": score, "supernet": supernet, "storage": storage, "bn_mode": bn_mode,
                               "threads": self.threads or 1})  # threads on shared cores wait for each other

    def to_json(self) -> dict[str, Any]:
        """The config as stored with the study: its storage URL without a password (every reader sees it)."""
        data = asdict(self)
        if data["storage"] is not None:
            data["storage"] = without_password(data["storage"])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


NUMBER_FIELDS = ("trials", "timeout", "workers", "threads", "retrain", "search_epochs", "final_epochs", "seed",
                 "max_crash_reruns")
"""The fields of :class:`SearchConfig` that hold a number."""
LEGACY_SUPERNET_SCORE = {"bn_mode": "inherited"}
"""How a supernet search stored before its score settings were recorded scored (``ScoreConfig()``; inherited
statistics draw no batch, so the seed does not matter): its resume scores alike, never mixing two BN modes."""
RESERVED_STRATEGY_KWARGS = frozenset({"seed", "constraints", "objectives", "directions", "name", "storage",
                                      "user_attrs"})


def default_direction(metric: str) -> str:
    """How an objective given without a direction is optimized: accuracies maximize, the rest minimize."""
    return "maximize" if metric in ACCURACIES else "minimize"


def parse_objectives(text: str) -> tuple[list[str], list[str]]:
    """``"val_acc:max,params:min"`` -> (names, directions); a direction is max/min or maximize/minimize (as
    ``--direction`` and the stored config spell it); accuracies default to max, the rest to min."""
    names, directions = [], []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        name, _, sense = item.partition(":")
        if name not in METRICS:
            raise UsageError(f"unknown objective {name!r}{did_you_mean(name, OBJECTIVES)}; "
                             f"choose from {list(OBJECTIVES)}")
        if sense and sense.strip().lower() not in SENSES:
            raise UsageError(f"objective {item!r}: direction must be max, min, maximize or minimize, got {sense!r}")
        names.append(name)
        directions.append(as_direction(sense) if sense else default_direction(name))
    if not names:
        raise UsageError(f"no objectives in {text!r}")
    if len(set(names)) != len(names):
        raise UsageError(f"objective listed twice in {text!r}")
    return names, directions


# -- the space and its networks ----------------------------------------------------------------------
def space_spec(space: SearchSpace) -> dict[str, Any]:
    """Plain JSON that rebuilds ``space`` (stored with the study, so resume needs no command line)."""
    from ..experiment.study import init_config
    from ..spaces import ChainSpace

    if isinstance(space, ChainSpace):
        return {"kind": "chain", "config": {"layers": [list(layer) for layer in space.layers], "name": space.name,
                                            "stages": getattr(space, "stages", None)}}
    config = space.config() if callable(getattr(space, "config", None)) else (init_config(space) or {})
    return {"kind": space.name, "config": config}


def space_from_spec(spec: dict[str, Any]) -> SearchSpace:
    from ..spaces import ChainSpace, stored_space

    if spec["kind"] == "chain":
        return ChainSpace.from_config({k: v for k, v in spec["config"].items() if v is not None}, stored=True)
    return stored_space(spec["kind"], spec["config"])


def _space_from_config(config: SearchConfig) -> SearchSpace:
    from ..spaces import ChainSpace, available_spaces, get_space, space_hint

    if config.space not in available_spaces():
        raise UsageError(f"space: unknown search space {config.space!r}{space_hint(config.space)}; choose from "
                         f"{available_spaces()}")
    try:
        if config.space == "chain":
            if config.space_config is None:
                raise UsageError("space: a chain space needs space_config (its layers)")
            return ChainSpace.from_config(config.space_config)
        return get_space(config.space, **(config.space_config or {}))
    except (TypeError, ValueError) as exc:
        raise UsageError(f"space_config: {exc}") from None


def preset_for(model: str) -> Preset:
    if model not in PRESETS:
        raise UsageError(f"no network preset for space {model!r}; choose from {list(PRESETS)}")
    return PRESETS[model]


# -- stages ------------------------------------------------------------------------------------------
def run_search(config: SearchConfig, space: SearchSpace | None = None, console: Any = None,
               progress: bool = True, out_name: str = "out") -> dict[str, Any]:
    """Run the whole job (stage 1, stage 2, outputs) and return the summary (also in ``summary.json``).

    ``space`` (any SearchSpace with a registered network, e.g. from ``--space-module``) replaces
    ``config.space``/``space_config``. ``console`` (a rich Console) gets the stage lines (stage 2's per-network
    lines included) and the front table; None prints none of them. ``progress``: the engine's progress display of
    the trials on stderr (a bar on a terminal, else plain lines), printed with or without a
    ``console``, its stage-2 ETA the same either way. A study of the
    same name in the storage is an error that names the command finishing it; a run without ``name`` and
    ``out`` (a new time-stamped folder) notes the :func:`unfinished_runs` under ``nasforge-runs/``. ``out_name``
    is how a refused run folder is named in messages (``--out`` on the command line).
    """
    from ..models import model_for_space

    if not isinstance(config, SearchConfig):
        raise UsageError(f"run_search needs a SearchConfig (SearchConfig(**settings) for a dict of them), got "
                         f"{type(config).__name__} {reprlib.repr(config)}")
    config.validate()
    if space is None and config.space is None:  # not given: the supernet's (None: its loading names the damage)
        space = supernet_space(config.supernet) if config.evaluator == "supernet" and config.supernet else None
    if space is not None:
        config.space = space.name  # names the study and the run folder
    config.space = config.space or DEFAULT_SPACE
    default_run = config.name is None and config.out is None  # a new, time-stamped run folder
    unfinished = unfinished_runs() if default_run and console is not None else []
    if config.evaluator == "supernet" and config.data is None:
        from ..evaluators.supernet import records_no_data, warn_no_data_record

        if records_no_data(config.supernet):  # resolved() fills in digits: say so, as oneshot search does
            warn_no_data_record(config.supernet)
    config = config.resolved(None if space is None else space_label(space))
    space = space or _space_from_config(config)
    if config.retrain:  # only stage 2 saves networks, named after the space
        _check_space_name_fits(space)
    preset_for(_model(space)[0])
    _check_supernet_space(config, space)
    _check_storage_place(config)
    if default_run:
        remove_abandoned_run_folders(Path(config.out).parent)
    out = Path(config.out)
    created = [folder for folder in (out, *out.parents) if not folder.exists()]  # deepest first
    check_folder(out, out_name)
    command = resume_command(config.name, config.storage)
    study: Study | None = None  # once made, a run on a server leaves the lock as the folder's record of it
    with contextlib.ExitStack() as held:
        try:
            server = recorded_server_run(command) is not None  # its lock names the study once it is stored
            busy = held.enter_context(_holding(out, command, out_name, started=lambda: study is not None,
                                               deferred=server))
            _check_run_folder(config, out_name)  # held: no other search can start in it until this one ends
            check_storage_url(config.storage)
            _check_server_storage(config.storage)  # a bad URL or password fails before the data loads
            _limit_threads(config)
            evaluators = _evaluators(config, space, new_run=True)  # built once (a supernet loads its checkpoint)
            search_ev = evaluators[0]
            data = _load_data(search_ev)  # fail fast on bad data, before any worker starts
            if config.evaluator == "training":  # the retrains keep the data the search read: one run, one data
                _load_data(evaluators[1])
            _check_network_fits(search_ev, space)
            study = _create_study(config, space, search_ev, busy)
            if server and not busy:
                _record_run(out, command)
        except Exception:
            held.close()
            for folder in created:  # a refused start leaves none of the folders it made behind, if still empty
                if any(folder.iterdir()):
                    break
                folder.rmdir()
            raise
        with noting_resume(config.name, config.storage, usage_errors=True):
            if console is not None:
                for command in unfinished:
                    console.print(f"[yellow]note:[/] an earlier search under nasforge-runs/ did not finish; to "
                                  f"finish it instead: {command}")
                console.print(f"[bold]nasforge search[/]: space {space_label(space)} "
                              f"(network {model_for_space(space)[0]}), "
                              f"{data}, objectives "
                              f"{', '.join(f'{o} ({d})' for o, d in zip(config.objectives, config.directions))}, "
                              f"{config.workers} worker(s) x {config.threads} thread(s), output {out}")
            return _complete(study, config, space, console, progress, evaluators)


def _check_utf8_place(shown: str, value: Any, what: str) -> None:
    """A UsageError naming ``shown`` when the path or URL ``value`` holds a byte that is not UTF-8 (Python's lone
    surrogate, ``'\\udce9'`` for a Latin-1 ``é``): a study records its folder and resume command as text, which such
    a byte cannot be written in."""
    if isinstance(value, (str, Path)) and not is_utf8(str(value)):
        raise UsageError(f"{shown} {str(value)!r}: {what} named holds a byte that is not UTF-8 text, "
                         "which a study cannot record (its run folder and resume command are stored as text): "
                         "rename it, or choose another path")


def _check_space_name_fits(space: SearchSpace) -> None:
    """A UsageError, before any work, for a space whose name is too long to name the networks stage 2 saves."""
    from ..evaluators.training import space_name_budget

    size, budget = len(space.name.encode()), space_name_budget()
    if size > budget:
        raise UsageError(f"space: the name of space {reprlib.repr(space.name)} is {size} bytes long (UTF-8); a "
                         f"search names the networks it saves after it, so the limit is {budget} bytes: give the "
                         "space a shorter name")


def space_label(space: SearchSpace) -> str:
    """How a run names ``space``: a user's module (``--space-module``) by its class, e.g. ``DigitsCNN``, so that
    runs over different modules can be told apart; a built-in space by its name."""
    if space.name != "model_space":
        return space.name
    label = getattr(getattr(space, "factory", None), "__qualname__", "") or space.name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label)  # a folder name: a class defined in a function has <locals>


@contextlib.contextmanager
def noting_resume(name: str, storage: str, usage_errors: bool) -> Iterator[None]:
    """An interrupt or error (a UsageError too with ``usage_errors``) leaving this block gets a note naming the
    command that finishes study ``name`` in ``storage`` (the CLI prints it under its message)."""
    try:
        yield
    except (KeyboardInterrupt, Exception) as exc:
        command = resume_command(name, storage)
        if command not in str(exc) and (usage_errors or not isinstance(exc, UsageError)) \
                and not isinstance(exc, NoFeasibleTrial):  # a resume would end alike
            if isinstance(exc, StorageFileMovedError):  # the storage names a file that is gone (or another one)
                exc.add_note(f"once the database file is back at its path, finish the run with: {command}")
            else:
                exc.add_note(f"the study is stored; finish the run with: {command}")
        raise


@contextlib.contextmanager
def _holding(out: Path, command: str, name: str = "out", started: Callable[[], bool] = lambda: False,
             deferred: bool = False) -> Iterator[bool]:
    """Hold ``out``'s :data:`LOCK` (``flock``: a dead holder's lock is released by the system) while a run of
    the study whose resume ``command`` it records works in it; a UsageError naming ``name`` (``--out`` on the
    command line) when a live process of another study holds it, or when it is the record a stopped run of another
    study stored in a database server left (:func:`_marks_the_folder`) and no ``summary.json`` says that run
    finished. Processes of the same study share the folder (they work towards one target): yields True when
    another live process of the study holds it; such a process that ends with the run finished removes the record
    its stopped holder left (:func:`_remove_finished_record`). ``deferred``: the lock stays empty until
    :func:`_record_run` writes ``command`` (once the study exists: a run killed before leaves no record of a study
    that was never made). The file is removed at the end, unless it is the folder's record of the run
    (:func:`_marks_the_folder`) and it recorded the run before, or ``started()`` says the run got past its
    checks."""
    import fcntl

    path = out / LOCK
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UsageError(f"{name}: cannot write in {str(out)!r} ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode(errors="replace")
            os.close(fd)
            if _resumes(holder, command):
                try:
                    yield True
                finally:
                    _remove_finished_record(out, command)
                return
            if not holder:  # a server run writes its study into the lock once the study is stored
                raise UsageError(f"{name}: {out} is the folder of a search starting now (its study is not "
                                 f"stored yet); if it is this study, wait for it to finish, else pick another "
                                 f"{name}") from None
            raise UsageError(f"{name}: {out} is the folder of another search running now (study: {holder}); pick "
                             f"another {name}") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino  # not a file its last holder removed meanwhile
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    left = os.read(fd, 4096).decode(errors="replace")
    other = recorded_server_run(left)
    if other is not None and not _resumes(left, command) and not _finished_here(out, left):
        os.close(fd)  # the only record of that run: never replaced (a finished one's is its summary.json)
        raise UsageError(f"{name}: {out} is the run folder of study {other[0]!r}, stored in a database server, whose "
                         f"run stopped before it finished ({path} records it); pick another {name}, or finish that "
                         f"run with: {_password_dropped(left)} (if that study was deleted, remove {path})")
    try:
        os.ftruncate(fd, 0)
        if not deferred:
            os.pwrite(fd, command.encode(), 0)  # at the start: the read above moved the offset
        yield False
    finally:
        if not ((_resumes(left, command) or started()) and _marks_the_folder(out, command)):
            with contextlib.suppress(OSError):
                path.unlink()
        os.close(fd)


def _record_run(out: Path, command: str) -> None:
    """Write ``command`` into the :data:`LOCK` of ``out`` that this process holds (:func:`_holding` with
    ``deferred``), once the study it resumes exists."""
    fd = os.open(out / LOCK, os.O_WRONLY)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, command.encode(), 0)
    finally:
        os.close(fd)


def _remove_finished_record(out: Path, command: str) -> None:
    """Remove the :data:`LOCK` of ``out`` that a stopped process of the study ``command`` resumes left, once
    ``summary.json`` says the run finished; a lock a live process holds (it removes it when it ends) or one naming
    another study is left as it is."""
    import fcntl

    if not _finished_here(out, command):
        return
    try:
        fd = os.open(out / LOCK, os.O_RDWR)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # BlockingIOError: a live holder; FileNotFoundError: removed meanwhile
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            left = os.read(fd, 4096).decode(errors="replace")
            if os.fstat(fd).st_ino == os.stat(out / LOCK).st_ino and _resumes(left, command):
                (out / LOCK).unlink()
    finally:
        os.close(fd)


def _summary_record(out: Path) -> dict[str, Any] | None:
    """The record in the ``summary.json`` of run folder ``out``; None when there is none, or it cannot be read or
    holds no JSON object."""
    try:
        record = loads((out / "summary.json").read_text())
    except (OSError, ValueError):  # FileNotFoundError: none; ValueError: not UTF-8, not JSON or nesting too deeply
        return None
    return record if isinstance(record, dict) else None


def _finished_here(out: Path, command: Any) -> bool:
    """Whether the ``summary.json`` of ``out`` names the study that the stored resume ``command`` finishes: its
    run finished there."""
    summary = _summary_record(out)
    return summary is not None and isinstance(command, str) and _resumes(summary.get("resume_command"), command)


def _marks_the_folder(out: Path, command: str) -> bool:
    """Whether the :data:`LOCK` of a run ending in ``out`` stays there as the folder's record of the run that
    ``command`` resumes: its study is stored in a database server (no study.db records it in the folder), and no
    ``summary.json`` there names it yet (a run stopped by Ctrl-C, SIGTERM, an error or a lost server)."""
    return recorded_server_run(command) is not None and not _finished_here(out, command)


_UNNUMBERED_TEMPORARY = re.compile(r"\.(?:%s)\.[a-z0-9_]{8}\.tmp" % "|".join(map(re.escape, OUTPUT_FILES)))


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Remove what killed writers left in run folder ``out``: temporary output files (``writes.write_atomic``'s
    names: removed when the process id they carry is gone, or, in the older names without one, when older than
    :data:`STALE_TEMPORARY` seconds) and staging folders of saved networks in ``models/`` (``export.save_model``'s
    names, with their writer's process id: removed when it is gone). Nothing else is touched."""
    removed = remove_dead_temporaries(out, OUTPUT_FILES) + remove_dead_temporaries(out / "models")
    now = time.time()
    for path in out.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if _UNNUMBERED_TEMPORARY.fullmatch(path.name) and path.is_file() and not path.is_symlink() \
                    and now - path.stat().st_mtime > STALE_TEMPORARY:
                path.unlink()
                removed.append(path)
    return removed


def remove_abandoned_run_folders(root: Path, older_than: float = 60.0) -> None:
    """Remove the folders of ``root`` (``nasforge-runs``) that a search killed before it created its study left:
    empty, or holding only an unheld :data:`LOCK` that names no study stored in a database server, and older than
    ``older_than`` seconds."""
    import fcntl

    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        with contextlib.suppress(OSError):
            if not folder.is_dir() or folder.is_symlink():
                continue
            entries = [p.name for p in folder.iterdir()]
            if set(entries) - {LOCK} or time.time() - folder.stat().st_mtime < older_than:
                continue
            if entries and recorded_server_run((folder / LOCK).read_text(errors="replace")):
                continue  # the record of a stopped run whose study is on a server (_marks_the_folder)
            if entries:
                fd = os.open(folder / LOCK, os.O_RDWR)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: a run holds it
                    (folder / LOCK).unlink()
                finally:
                    os.close(fd)
            folder.rmdir()


def _check_supernet_space(config: SearchConfig, space: SearchSpace) -> None:
    """With the supernet evaluator, the saved supernet must be one of ``space`` (else every trial fails);
    a missing or damaged checkpoint is reported when it is loaded."""
    from ..evaluators.supernet import supernet_record

    info = supernet_record(config.supernet) if config.evaluator == "supernet" else None
    recorded = (info or {}).get("space_config") or {}
    if info is None or "space" not in info or not isinstance(recorded, dict):
        return
    trained, layers, module = info["space"], recorded.get("layers"), recorded.get("module")  # a chain's, a model's
    stages = recorded.get("stages")
    own = [list(layer) for layer in space.layers] if hasattr(space, "layers") else None
    own_stages = list(space.stages) if hasattr(space, "stages") else None
    own_module = space.config()["module"] if space.name == "model_space" else None
    chain = "other layers" if layers is not None and own is not None and layers != own else \
        "other stages" if stages is not None and own_stages is not None and stages != own_stages else None
    if trained == space.name and chain:  # scores and sizes would be another layout's than stage 2 retrains
        raise UsageError(f"supernet {_shown(config.supernet)}: the search space has {chain} than the supernet (layers "
                         f"{layers}, stages {stages}, recorded in {Path(config.supernet) / 'supernet.json'}); "
                         "search it with a --space-config of those layers and stages")
    if trained == space.name and module is not None and own_module is not None and module != own_module:
        raise UsageError(f"supernet {_shown(config.supernet)}: it is a supernet of the module {module}, not of the "
                         f"search space's module {own_module}; search it with --space-module {module}, or train a "
                         f"supernet of {own_module} (nasforge oneshot train --space-module {own_module})")
    if trained != space.name:
        own_space = f"--space-module {module}" if module else f"--space {trained}"
        if layers is not None and trained != "proxylessnas":  # a chain: its name is no --space value
            own_space = (f"leave out --space, or pass --space chain --space-config FILE with the layers, name and "
                         f"stages recorded in {_shown(str(Path(config.supernet) / 'supernet.json'))}")
        raise UsageError(f"supernet {_shown(config.supernet)}: it is a supernet of space {trained!r}, which is not the "
                         f"search space {space.name!r}; search it in its own space ({own_space})")


def supernet_space(folder: str | Path) -> SearchSpace | None:
    """The space the supernet saved in ``folder`` records (``supernet.json``), which a search with the supernet
    evaluator searches when no space is given (as ``nasforge oneshot search``); a UsageError that names why for a
    model space (named by ``--space-module``) or a record that cannot be rebuilt; None where ``supernet.json``
    cannot be read (the supernet's loading reports it)."""
    from ..evaluators.supernet import supernet_record
    from ..spaces import stored_space

    info = supernet_record(folder)
    if info is None or "space" not in info:
        return None
    name, config, record = info["space"], info.get("space_config") or None, Path(folder) / "supernet.json"
    if name == "model_space":
        module = config.get("module") if isinstance(config, dict) else None
        raise UsageError(f"supernet {_shown(str(folder))}: it is a supernet of the model space of module {module}; "
                         f"search it in that space (--space-module {module}; run_search's space)")
    if not isinstance(name, str) or not isinstance(config, (dict, type(None))):
        raise UsageError(f"supernet {_shown(str(folder))}: {record} is damaged: its space record "
                         f"{reprlib.repr(info.get('space'))} with {reprlib.repr(info.get('space_config'))} is not a "
                         "space name and its options")
    try:
        return stored_space(name, config)
    except (UsageError, ValueError, TypeError) as exc:
        raise UsageError(f"supernet {_shown(str(folder))}: {record} is damaged: its space {name!r} cannot be rebuilt "
                         f"from the options it records ({exc})") from None


def _default_name(space: str, data: str) -> str:
    """``search-<space>-<data>-<time>``, the space's name cut short where the whole would break :data:`NAME_RULE`
    (the user gave no name, so none can be refused)."""
    head, tail = f"search-{space}", f"-{data}-{time.strftime('%Y%m%d-%H%M%S')}"
    while len(head) > len("search") and not valid_name(head + tail):
        head = head[:-1]
    return head + tail


def _default_space_name(config: SearchConfig) -> str:
    """The name of the space a config that gives none searches (:attr:`SearchConfig.space`), for its run name."""
    if config.evaluator == "supernet" and config.supernet:
        from ..evaluators.supernet import supernet_record

        name = (supernet_record(config.supernet) or {}).get("space")
        return name if isinstance(name, str) and name else DEFAULT_SPACE
    return DEFAULT_SPACE


def _shown(path: str | None) -> str | None:
    """``path`` as messages show it: relative to the working folder when inside it (as the user most likely gave
    it; the stored config holds it absolute), else as it is."""
    if path is None or not os.path.isabs(path):
        return path
    relative = os.path.relpath(path)
    return path if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative


BENCH_MARKS = ("bench.json", "simulated.json")
"""Files of a ``nasforge bench --out`` folder: a search run is refused there, as a bench is in a run folder."""


def refuse_run_folder(folder: str | Path, name: str, command: str) -> None:
    """A UsageError naming ``name`` when ``folder`` holds a ``nasforge search`` run (its study.db, summary.json or
    lock file): ``command`` (e.g. ``nasforge bench``) writing there would mix its outputs and report with the
    run's, and replace or remove them."""
    found = next((file for file in (RUN_DATABASE, "summary.json", LOCK) if os.path.isfile(Path(folder) / file)),
                 None)  # os.path: a name too long for the file system is no run folder (refused where it is made)
    if found is not None:
        raise UsageError(f"{name} {str(folder)!r} is the folder of a 'nasforge search' run ({found}); {command} "
                         f"writes its results into a folder of their own: pick another {name}")


def _check_run_folder(config: SearchConfig, name: str = "out") -> None:
    """Refuse a run folder that holds another study's run (its ``summary.json``, or a study in its
    ``study.db``): the outputs and networks there would be mixed with, or replaced by, this one's. The same
    study in the same storage passes (creating it then names the command that finishes it); a finished run's
    refusal names the command that rewrites its outputs only while its study is still stored. A ``report.html``
    there that nasforge did not write is refused too, before any training rather than when the run ends. The
    refusals name the run folder ``name`` (``--out`` on the command line)."""
    from ..analysis.studyreport import check_report_path

    out = Path(config.out)
    bench = next((file for file in BENCH_MARKS if os.path.isfile(out / file)), None)
    if bench is not None:  # its report.html would be replaced, and later reports would mix the two
        raise UsageError(f"{name}: {out} holds the results of 'nasforge bench --out' ({out / bench}); pick another "
                         f"{name} for the search run")
    check_report_path(out / "report.html", name)
    ours = resume_command(config.name, config.storage)
    db = out / RUN_DATABASE
    summary = out / "summary.json"
    if summary.is_file():
        record = _summary_record(out) or {}  # one that cannot be read, or names no study: not a search's
        command, study = record.get("resume_command"), record.get("name")
        if command is None and study is None:
            raise UsageError(f"{name} {str(summary)!r} exists and is not {RUN_OUTPUTS['summary.json'][1]}; not "
                             f"overwriting it: pick another {name} for the search run")
        if not _resumes(command, ours):
            if db.is_file() and _stored_in(command) != db.resolve():  # a copied run: its own study
                command = resume_command(study, sqlite_url(db.resolve())) if isinstance(study, str) else None
            recorded, report = recorded_study(command), out / "report.html"
            pointers = [f"its results: {report}"] if report.is_file() else []
            if recorded and still_stored(*recorded) is False:  # its command would fail: "no study"
                pointers.append(f"its study was deleted from {display_url(recorded[1])}, so no command rewrites "
                                "these outputs: remove them yourself to reuse the folder")
            elif isinstance(command, str):
                pointers.append(f"rewrite its outputs with: {command}")
            raise UsageError(f"{name}: {out} already holds the finished run of "
                             + (f"study {study!r}" if isinstance(study, str) else "another study")
                             + f" ({summary}); pick another {name} for a new run"
                             + (f" ({'; '.join(pointers)})" if pointers else ""))
    ours_here = _sqlite_file(config.storage) == db.resolve()  # the same file, however --storage spells it
    others = [study for study in _stored_studies(db) if not (ours_here and study == config.name)]
    if others:
        raise UsageError(f"{name}: {out} already holds the run of study {others[0]!r} ({db}); pick another {name}, "
                         f"or finish that run with: {resume_command(others[0], sqlite_url(db))}")
    check_outputs(out, name)



def _stored_in(command: Any) -> Path | None:
    """The SQLite file a stored :func:`resume_command` resumes from (None: another storage, or not such a
    command)."""
    try:
        parts = shlex.split(command) if isinstance(command, str) else []
    except ValueError:  # an edited summary.json: not read as a command
        return None
    return _sqlite_file(parts[parts.index("--storage") + 1]) if "--storage" in parts[:-1] else None


def _stored_studies(db: Path) -> list[str]:
    """The names of the studies in a run folder's database ``db`` (none when it is missing, or empty: a run killed
    as it created it, which this run fills); looking changes nothing, even in a damaged file, whose StorageError
    is raised."""
    from ..experiment.storage import open_storage
    from ..experiment.storage.sql import holds_no_table

    if not db.is_file() or holds_no_table(db):
        return []
    with open_storage(sqlite_url(db), readonly=True) as storage:
        return [summary.name for summary in storage.list_studies()]


PROBE_TIMEOUT = 2
"""Seconds :func:`still_stored` waits for a database server's answer, whatever the URL or ``PGCONNECT_TIMEOUT``
sets: a refusal that names a run's command stays quick when the server is out of reach."""


def still_stored(study: str, url: str) -> bool | None:
    """Whether the storage at ``url`` still holds the study ``study`` that a run folder records (False: it was
    opened, and the study is not in it, so the run's resume command would fail), read without changing anything;
    None when it cannot tell now: a relative SQLite path (read from a folder unknown here), a SQLite file missing
    (an unmounted disk, a folder this user cannot search) or damaged, a server out of reach within
    :data:`PROBE_TIMEOUT`."""
    from ..exceptions import EmptyStorageError, StorageError, StudyNotFoundError
    from ..experiment.storage import open_storage

    path = sqlite_path(url)
    if path is not None and not (os.path.isabs(path) and os.path.isfile(path)):
        return None
    probed = url if path is not None or url == "memory" else _probed_server(url)
    if probed is None:
        return None
    try:
        if path is not None:  # read as the run folder's own study.db is
            return study in _stored_studies(Path(path))
        with open_storage(probed, readonly=True) as storage:
            storage.load_study(study)
        return True
    except (StudyNotFoundError, EmptyStorageError):  # deleted, or its storage emptied
        return False
    except (StorageError, UsageError):
        return None


def _probed_server(url: str) -> str | None:
    """The server URL ``url`` with libpq's ``connect_timeout`` set to :data:`PROBE_TIMEOUT` (libpq reads the URL's
    before ``PGCONNECT_TIMEOUT``); None for another driver (whose wait nothing here bounds) or a bad URL."""
    import sqlalchemy as sa

    from ..experiment.storage.sql import LIBPQ_DRIVERS

    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "postgresql" or parsed.get_driver_name() not in LIBPQ_DRIVERS:
        return None
    return parsed.update_query_dict({"connect_timeout": str(PROBE_TIMEOUT)}).render_as_string(hide_password=False)


def _check_storage_place(config: SearchConfig) -> None:
    """Refuse a SQLite ``storage`` in the folder of another run (its outputs there, or a study whose run folder it
    is): the run's ``study.db`` belongs to it, and ``nasforge export FOLDER`` needs one study per folder."""
    path = _sqlite_file(config.storage)
    if path is None or path.parent == Path(config.out).resolve():
        return
    folder = path.parent
    marks = [name for name in ("summary.json", "front.json", "trials.csv", LOCK) if (folder / name).is_file()]
    if path.is_file() and not marks:
        from ..experiment.storage import open_storage
        from ..experiment.storage.base import StorageError

        try:
            with open_storage(sqlite_url(path), readonly=True) as stored:
                marks = [s.name for s in stored.list_studies() if _run_folder(stored.load_study(s.name)) == folder]
        except (StorageError, OSError):
            return
    if marks:
        raise UsageError(f"storage: {path} is in the run folder {folder} of another search ({', '.join(marks)}); "
                         "its study.db belongs to that run: give this run a storage of its own (default: "
                         "OUT/study.db)")


def _run_folder(record: StudyRecord) -> Path | None:
    """The run folder a stored study's search recorded (``pipeline_config["out"]``), else None (e.g. a study
    created from Python)."""
    out = search_config(record.user_attrs).get("out")
    return Path(out) if isinstance(out, str) and out else None


def _check_server_storage(url: str) -> None:
    """:func:`~nasforge.experiment.storage.urls.check_server_storage` (a name the tests replace)."""
    from ..experiment.storage.urls import check_server_storage

    check_server_storage(url)


def _sqlite_file(url: str) -> Path | None:
    """The resolved file of a SQLite storage URL (read as SQLAlchemy reads it), else None (also for a URL that
    cannot be read, e.g. a port that is not a number: opening the storage names what is wrong with it)."""
    import sqlalchemy as sa

    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return None
    return Path(parsed.database).resolve() if parsed.drivername.startswith("sqlite") and parsed.database else None

def resume_search(name: str, storage: str, workers: int | None = None, console: Any = None,
                  progress: bool = True, max_crash_reruns: int | None = None) -> dict[str, Any]:
    """Finish a search study that was interrupted (or re-write its outputs if it is complete): the rest
    of stage 1, the retrains not done yet or failed, then every output. ``workers`` overrides the stored count
    for this run; ``max_crash_reruns`` the recorded one, and is recorded for later resumes."""
    from ..experiment import Study
    from ..experiment.storage import open_storage

    with open_storage(storage, create=False) as opened:  # a mistyped path creates no database
        record = opened.load_study(name)
        database = opened.database_id()
    attrs = record.user_attrs or {}
    if attrs.get("pipeline") != PIPELINE or "pipeline_config" not in attrs:
        raise UsageError(f"study {name!r} in {display_url(storage)} was not created by nasforge search")
    # every extra the rest needs, in one line before anything is said or done (as nasforge search checks them)
    check_installed(("torch", "sqlalchemy", "plotly"), "resuming a search (its training, stored study and report)")
    if not isinstance(attrs["pipeline_config"], dict):
        raise UsageError(f"study {name!r} in {display_url(storage)}: its pipeline_config (the settings its search "
                         f"recorded) must be a JSON object, got {type(attrs['pipeline_config']).__name__} (a damaged "
                         "or hand-edited record)")
    config = SearchConfig.from_json(attrs["pipeline_config"])
    if config.evaluator == "supernet" and "supernet_score" not in attrs["pipeline_config"]:
        config.supernet_score = dict(LEGACY_SUPERNET_SCORE)
    if workers is not None:
        config.workers = workers
    if max_crash_reruns is not None:
        config.max_crash_reruns = max_crash_reruns
    given = {"workers": workers, "max_crash_reruns": max_crash_reruns}
    config.validate(lambda field: field if given.get(field) is not None else f"the recorded {field} of study {name!r}",
                    resumed=True)  # the stored config too: a hand-edited one is refused before anything runs
    missing = [field for field in ("out", "storage") if getattr(config, field) is None]  # every run records both
    if missing:
        raise UsageError(f"the recorded {missing[0]} of study {name!r} is missing (null): every search records it")
    if config.data_dir is not None and not Path(config.data_dir).expanduser().is_absolute():
        config.data_dir = _legacy_data_dir(name, config.data_dir, console)
    config = _copy_writes_beside_itself(name, storage, config, console,
                                        same_database=(attrs.get(STORAGE_ID), database))
    space = space_from_spec(attrs["space_spec"])
    if callable(getattr(space, "check_source", None)):  # a model space: its module file is the one trained
        space.check_source()
    study = Study.load(name, storage, space=space)
    if config.evaluator == "supernet" and config.supernet and not Path(config.supernet).is_absolute():
        stored = ((study.run_config or {}).get("evaluator") or {}).get("kwargs") or {}  # stored before 2026-12-06
        config.supernet = stored.get("checkpoint") or config.supernet  # the evaluator's spec holds it absolute
    if max_crash_reruns is not None:
        study.set_user_attr("pipeline_config", {**attrs["pipeline_config"], "max_crash_reruns": max_crash_reruns})
    check_folder(config.out, "out")
    out, command, checked = Path(config.out), resume_command(name, config.storage), False
    with _holding(out, command, started=lambda: checked), \
            noting_resume(config.name, config.storage, usage_errors=False):
        if recorded_server_run(command):
            _check_no_other_run(out, name, command)
        check_outputs(out)
        checked = True
        if console is not None:
            done = sum(t.done for t in study.trials)
            console.print(f"[bold]nasforge resume[/]: resuming {name!r} ({done} trials finished), output {config.out}")
        before = [(t.number, t.state) for t in study.trials]
        timed = _serial_latencies(study)
        summary = _complete(study, config, space, console, progress)
        if console is not None and [(t.number, t.state) for t in study.trials] == before:
            now = len(_serial_latencies(study) - timed)
            networks = f"{now} front network{'s' if now != 1 else ''}"
            measured = f" (with the serial latency of {networks} measured now: the run had not stored it)" if now else ""
            console.print(f"nothing was left to run: study {name!r} had finished, so no trial ran; its outputs were "
                          f"rewritten from the stored trials{measured}", highlight=False)
        return summary


def _serial_latencies(study: Study) -> set[str]:
    """The trials whose serial latency (:func:`measure_front_latency`) the study stores."""
    return set((study.user_attrs.get(SERIAL_LATENCY) or {}).get("trials") or {})


def _legacy_data_dir(name: str, data_dir: str, console: Any) -> str:
    """The data path of a study stored before paths were recorded absolute, read from the current folder as
    it was then; ``UsageError`` when nothing is there."""
    path = Path(data_dir).expanduser().absolute()
    if not path.exists():
        raise UsageError(f"data: study {name!r} recorded the data path {data_dir!r} relative to the folder it was "
                         f"started from, and {str(path)!r} does not exist: resume from that folder")
    if console is not None:
        console.print(f"[yellow]study {name!r} recorded the relative data path {data_dir!r}: reading {path}")
    return str(path)


def _same_database(storage: str, recorded: str, ids: tuple[str | None, str | None]) -> bool:
    """Whether server storage URL ``storage`` reaches the database the study was created in (``recorded``, its
    stored URL): by ``ids``, the database id stored with the study and the one ``storage`` reaches, where both are
    known; else by server, port and database, whatever role, password or name of this machine the URLs use."""
    if all(ids):
        return ids[0] == ids[1]
    import sqlalchemy as sa

    local = {None, "", "localhost", "127.0.0.1", "::1"}
    try:
        urls = [sa.engine.make_url(url) for url in (storage, recorded)]
    except (sa.exc.ArgumentError, ValueError):
        return False
    return len({(u.get_backend_name(), "localhost" if u.host in local else u.host, u.port or 5432, u.database)
                for u in urls}) == 1


def _copy_writes_beside_itself(name: str, storage: str, config: SearchConfig, console: Any,
                               same_database: tuple[str | None, str | None] = (None, None)) -> SearchConfig:
    """``config`` for resuming study ``name`` from ``storage``: a study resumed from the storage it was created in
    writes to its recorded ``out``; a copy (or a moved run) of a SQLite study writes its outputs and networks into
    the folder holding the copy, never into the original run's, and records the copy's path absolute. A recorded
    ``out`` other than the database's own folder is written only when it records this run (:func:`_records_the_run`),
    or when it holds only what a run writes (:func:`_holds_only_run_files`) and outputs of no other study
    (:func:`_outputs_are_its_own`: a run stopped before its summary, whatever path it recorded its database by): the
    database alone never names where a run writes (a relative path recorded matches any file of that name in the
    working directory). ``UsageError`` otherwise, when that folder is the original run's, or holds another study's
    run, and for a copy in another kind of storage (no folder of its own). A server storage (PostgreSQL) is the
    database it was created in when ``same_database`` (the stored and the reached database id) says so
    (:func:`_same_database`); the config keeps its recorded URL, so every teammate's run names the same resume
    command."""
    here = _sqlite_file(storage)
    if here is not None and here == _sqlite_file(config.storage):
        recorded = Path(config.out).resolve()
        if (here.parent == recorded or _records_the_run(recorded, resume_command(name, config.storage))
                or _holds_only_run_files(recorded) and _outputs_are_its_own(recorded, name, storage)):
            return config
        raise UsageError(f"study {name!r} in {storage} records the run folder {config.out}, which holds no record of "
                         "this run (a summary.json or lock file naming it) and files other than its outputs (another "
                         "run's or yours), and a database alone does not name where a run writes: copy the database "
                         "into a folder of its own and resume the copy (its outputs go beside it), or, if that folder "
                         "is this run's, move everything in it but models/ elsewhere and run this again")
    if here is None and (storage == config.storage or (_sqlite_file(config.storage) is None
                                                       and _same_database(storage, config.storage, same_database))):
        return config
    if here is None:
        raise UsageError(f"study {name!r} was created in {display_url(config.storage)}, not in the database "
                         f"{display_url(storage)} reaches; resumed from this copy it would write into the original "
                         f"run's folder {config.out}: resume it with a URL of the database it was created in, or "
                         "from a SQLite copy, whose outputs go beside it")
    out, copy = here.parent, absolute_sqlite_url(storage)  # recorded absolute: its resume command works from anywhere
    # this copy (also as an earlier resume of it recorded a relative path), or the run it copies
    ours = {resume_command(name, copy), resume_command(name, storage), resume_command(name, config.storage)}
    summary, record = out / "summary.json", _summary_record(out)  # one that cannot be read ("") names another run
    command = record.get("resume_command") if record is not None else "" if os.path.isfile(summary) else None
    if out == Path(config.out).resolve() or (command is not None and not _resumes(command, *ours)):
        raise UsageError(f"study {name!r} in {storage} is a copy of the run in {config.out} (created in "
                         f"{display_url(config.storage)}); its outputs go beside it, and {out} holds "
                         f"{'that run' if out == Path(config.out).resolve() else 'another run'}: move the copy "
                         "into a folder of its own")
    if console is not None:
        started = _started_in(here, config.storage)
        if started is None:
            console.print(f"[yellow]study {name!r} was created in {display_url(config.storage)} (output "
                          f"{config.out}); this copy writes its outputs beside itself, in {out}")
        else:  # stored before SQLite paths were recorded absolute: the folder it was read from is unknown
            console.print(f"[yellow]study {name!r} recorded its storage {config.storage} relative to the folder its "
                          f"run was started in, so {here} cannot be told from a copy: resumed as a copy, it writes "
                          f"its outputs beside itself, in {out}; if it is the run's own file, stop (finished trials "
                          f"stay stored) and resume from the folder the run started in, to write into {config.out}: "
                          f"cd {shlex.quote(str(started))} && {resume_command(name, config.storage)}",
                          highlight=False)
    return replace(config, out=str(out), storage=copy)


def _started_in(file: Path, recorded: str) -> Path | None:
    """The folder from which the relative SQLite path of a ``recorded`` storage URL (one stored before such paths
    were made absolute) names ``file``; None for another URL or a path ``file`` does not end with."""
    path = sqlite_path(recorded)
    if path is None or path == ":memory:" or os.path.isabs(path):
        return None
    parts = Path(os.path.normpath(path)).parts  # with '..': the folder's own name is not in ``file``
    return Path(*file.parts[:-len(parts)]) if os.pardir not in parts and file.parts[-len(parts):] == parts else None


def _check_no_other_run(out: Path, name: str, command: str) -> None:
    """Refuse to write the outputs of study ``name``, stored in a database server (``command`` resumes it), into
    its recorded run folder ``out`` when another search took that folder while the run was stopped: its
    ``summary.json`` names another study, or its ``study.db`` holds a study. That run's outputs would be replaced
    and the folder mixed."""
    summary, record = out / "summary.json", _summary_record(out)  # unreadable: check_outputs says what is wrong
    found = None
    if record is not None and not _resumes(record.get("resume_command"), command):
        study = record.get("name")
        found = f"the run of {f'study {study!r}' if isinstance(study, str) else 'another study'} ({summary})"
    elif studies := _stored_studies(out / RUN_DATABASE):
        found = f"the run of study {studies[0]!r} ({out / RUN_DATABASE})"
    if found is not None:
        raise UsageError(f"out: study {name!r} records the run folder {out}, which now holds {found}; its outputs "
                         "would replace that run's: move that run's files to another folder (or rename the "
                         f"folder), then run again: {command}")


def _holds_only_run_files(out: Path) -> bool:
    """Whether folder ``out`` is missing or holds only what a run writes, its outputs earlier outputs of a search
    (a run stopped by Ctrl-C or an error before its summary, whose storage lies elsewhere), and no record of a run
    (a ``summary.json``, or a lock file a stopped run left): writing there replaces nothing of the user's, nor
    another run's."""
    try:
        names = {p.name for p in out.iterdir() if not p.name.startswith(".")} if out.is_dir() else set()
        if out.exists() and not out.is_dir() or not names <= {*RUN_OUTPUTS, "report.html", "models"} - {"summary.json"}:
            return False
        if (out / LOCK).is_file() and (out / LOCK).read_text(errors="replace").strip():
            return False
        check_outputs(out)
    except (OSError, UsageError):
        return False
    return True


def _outputs_are_its_own(out: Path, name: str, storage: str) -> bool:
    """Whether the outputs in run folder ``out`` are those of study ``name`` in SQLite ``storage``: it holds none
    (a run stopped before writing them, or a folder not made yet), or its ``trials.csv`` lists only trials of that
    study, by number and architecture (a run stopped after writing its outputs, before its summary)."""
    if not any(os.path.lexists(out / file) for file in OUTPUT_FILES):
        return True
    import csv

    from ..experiment.storage import open_storage

    try:
        with (out / "trials.csv").open(newline="", encoding="utf-8") as file:
            listed = {(row.get("number"), row.get("arch")) for row in csv.DictReader(file)}
    except (OSError, UnicodeDecodeError, csv.Error):  # none, or not a trials.csv a search writes
        return False
    with open_storage(storage, readonly=True) as store:
        record = store.load_study(name)
        trials, texts = store.trials(record.id), store.arch_texts(record.id)
    return listed <= {(str(t.number), texts.get(t.arch)) for t in trials}


def _records_the_run(out: Path, command: str) -> bool:
    """Whether folder ``out`` records the run that ``command`` resumes: in its ``summary.json``, or in the lock file
    a killed run left there."""
    summary = _summary_record(out)
    if summary is None and os.path.isfile(out / "summary.json"):  # os.path: False, not OSError, for a too long name
        return False  # one that cannot be read
    try:
        lock = (out / LOCK).read_text() if (out / LOCK).is_file() else None
    except (OSError, UnicodeDecodeError):
        return False
    return any(_resumes(stored, command) for stored in (lock, summary and summary.get("resume_command")))


def is_staged(study: Study) -> bool:
    """Whether ``study``'s trials are listed with a stage: a ``nasforge search`` study (from its first trial on, so
    its columns stay the same before, during and without stage 2) or one with a trial naming its stage."""
    from ..experiment.stages import has_stages

    return study.user_attrs.get("pipeline") == PIPELINE or has_stages(study.trials)


def with_stages(frame: Any, trials: list[Trial], staged: bool) -> Any:
    """The trials ``frame`` with a ``stage`` column after ``arch`` (search or retrain, as the trials table shows
    it) when ``staged`` (:func:`is_staged` of the whole study); ``user_attrs_stage`` stays as stored (empty for
    search trials), a metric named ``stage`` is the column ``metric_stage`` beside it."""
    from ..experiment._export import METRIC_PREFIX
    from ..experiment.stages import stage_of

    if staged and "arch" in frame:
        if "stage" in frame:  # a metric of that name
            frame = frame.rename(columns={"stage": METRIC_PREFIX + "stage"})
        frame.insert(frame.columns.get_loc("arch") + 1, "stage", [stage_of(t) for t in trials])
    return frame


def run_folder_storage(folder: str | Path) -> str | None:
    """The storage URL of the study a ``nasforge search`` run folder holds (its ``study.db``), or None when
    ``folder`` holds none (also for a name the file system refuses, e.g. one too long)."""
    database = Path(folder) / RUN_DATABASE
    return sqlite_url(database.resolve()) if os.path.isfile(database) else None


def unfinished_runs(root: str | Path = RUNS_ROOT) -> list[str]:
    """The resume commands of the search runs in the folders of ``root`` that have not written their
    ``summary.json`` (killed, or still running elsewhere), oldest folder name first; folders whose
    ``study.db`` cannot be read are left out."""
    from ..experiment.storage import open_storage
    from ..experiment.storage.base import StorageError

    commands = []
    for database in sorted(Path(root).glob(f"*/{RUN_DATABASE}")):
        if (database.parent / "summary.json").exists():
            continue
        url = sqlite_url(database.resolve())
        try:
            with open_storage(url, readonly=True) as storage:
                commands += [resume_command(study.name, url) for study in storage.list_studies()]
        except (StorageError, OSError):
            continue
    return commands


STORAGE_ID = "storage_id"
"""The study attribute holding the id of the server database a search was created in (``database_id``)."""


def resume_command(name: str, storage: str) -> str:
    """The command line that finishes study ``name`` (never with the storage's password: it is stored and shown;
    the password comes from ``PGPASSWORD``, ``~/.pgpass`` or the URL the user passes)."""
    return study_command("resume", name, storage)


def recorded_study(command: Any) -> tuple[str, str] | None:
    """(study name, storage URL) of a stored :func:`resume_command` (a ``summary.json``'s or a lock file's), in
    either spelling (``nasforge resume NAME --storage URL``, ``nasforge resume --storage URL -- NAME``); else
    None."""
    try:
        parts = shlex.split(command) if isinstance(command, str) else []
    except ValueError:
        return None
    if len(parts) == 5 and parts[:2] == ["nasforge", "resume"] and parts[3] == "--storage":
        return parts[2], parts[4]  # the spelling of every name before 2026-12-06
    if len(parts) == 6 and parts[:3] == ["nasforge", "resume", "--storage"] and parts[4] == "--":
        return parts[5], parts[3]
    return None


def recorded_server_run(command: Any) -> tuple[str, str] | None:
    """:func:`recorded_study` of a stored resume command whose storage is a database server (not a SQLite file or
    memory: no study.db in the run folder records that run)."""
    study = recorded_study(command)
    return study if study and not study[1].startswith(("sqlite:", "sqlite+")) and study[1] != "memory" else None


def _password_dropped(command: Any) -> Any:
    """A stored :func:`resume_command` (a ``summary.json``'s or a lock file's) as :func:`resume_command` spells it
    today: one written before 2026-12-06 may hold the URL's password, and spells a name starting with '-' before
    ``--storage`` (``nasforge resume -x --storage URL``, now ``nasforge resume --storage URL -- -x``); anything
    else as it is."""
    study = recorded_study(command)
    return resume_command(*study) if study else command


def _resumes(stored: Any, *commands: str) -> bool:
    """Whether the resume command ``stored`` in a run folder (its ``summary.json`` or lock file, of any nasforge
    version) finishes the same study as one of ``commands``; the one comparison of such commands, so that a run
    recorded in an older spelling (:func:`_password_dropped`) is never taken for another run."""
    return isinstance(stored, str) and _password_dropped(stored) in [_password_dropped(c) for c in commands]


def _create_study(config: SearchConfig, space: SearchSpace, search: Any, busy: bool = False) -> Study:
    """The new study of the run; ``busy``: another live process of a study of this name holds the run folder."""
    from ..experiment import Study

    attrs = {"pipeline": PIPELINE, "pipeline_config": config.to_json(), "space_spec": space_spec(space),
             "resume_command": resume_command(config.name, config.storage), FEASIBLE_ONLY: True,
             RANGE_REFERENCE: True}
    constraints = {"constraints": config.constraints} if config.constraints else {}
    # the user's surrogates win over the known objectives
    strategy_kwargs = {**_known_objectives(config, space, search), **config.strategy_kwargs}
    try:
        with storage_errors_as_usage():  # a storage that cannot be opened is a bad --storage: nothing ran yet
            study = Study(space, config.strategy, objectives=config.objectives, directions=config.directions,
                          seed=config.seed, name=config.name, storage=config.storage, user_attrs=attrs,
                          **constraints, **strategy_kwargs)
        database = study.storage.database_id()
        if database is not None:  # a resume from another URL of this database is no copy (_same_database)
            study.set_user_attr(STORAGE_ID, database)
        return study
    except StudyExistsError:
        if busy:  # the advice to resume it would start a second process on the live run
            raise StudyExistsError(f"study {config.name!r} is being run now by another process (it holds "
                                   f"{str(Path(config.out) / LOCK)!r}); wait for it to finish, or resume it after it "
                                   "stops, or pick another --name") from None
        raise StudyExistsError(f"study {config.name!r} already exists in {display_url(config.storage)}; finish it "
                               f"(or rewrite its outputs) with: {resume_command(config.name, config.storage)}, or "
                               "pick another --name") from None


def _known_objectives(config: SearchConfig, space: SearchSpace, search: Any) -> dict[str, Any]:
    """``surrogates=`` for strategies tagged ``known_objectives`` (ts_hvi, qnehvi): the ``params``
    objective (the deployed network's parameter count) is computed from the architecture, not modelled,
    and constraints on ``params`` are checked before a trial is proposed. ``search``: the stage-1 evaluator."""
    from ..evaluators.training import TrainingEvaluator
    from ..strategies import STRATEGIES

    if "params" not in config.objectives or not STRATEGIES.tags(config.strategy).get("known_objectives"):
        return {}
    if not isinstance(search, TrainingEvaluator):
        return {}
    data = search.dataset()
    cost = {"name": "params", "num_classes": data.num_classes, "in_channels": data.in_channels, **(search.deploy or {})}
    if "space" in search.model_kwargs:  # a model space's network: ParameterCount builds it from the space it is given
        cost.update({k: v for k, v in search.model_kwargs.items() if k != "space"})
    else:
        cost.update({"model": search.model, **search.model_kwargs})
    return {"surrogates": [{"name": "known", "cost": cost, "sign": 1.0 if d == "maximize" else -1.0, "metric": "params"}
                           if o == "params" else None for o, d in zip(config.objectives, config.directions)]}


def _model(space: SearchSpace) -> tuple[str, dict[str, Any]]:
    from ..models import model_for_space

    try:
        return model_for_space(space)
    except ValueError as exc:
        raise UsageError(f"space: {exc}") from None


def _load_data(evaluator: Any, resumed: bool = False) -> Any:
    """The data set, through the search evaluator's per-process cache (so it is read once); a missing or
    unreadable file is a ``UsageError``. ``resumed``: for a stored run, whose refusal of images of a layout their
    shape does not tell names the layout its trials read them in."""
    from ..data.dataset import LayoutUntold

    try:
        return evaluator.dataset()
    except LayoutUntold as exc:
        read = (f"; this run's trials read them as {exc.read_as} ({exc.reading}), as every release that took this "
                f"shape did: add layout='{exc.read_as}' to resume it") if resumed else ""
        raise UsageError(f"data: {exc}{read}") from None
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(f"data: {exc}") from None


def _check_network_fits(evaluator: Any, space: SearchSpace) -> None:
    """A network of ``space``, built as stage 1 builds it, runs on two training images and outputs one score per
    class: a space that does not fit the data (input channels, the number of classes, e.g. a ``--space-module``
    with a fixed number of outputs) is one ``UsageError`` here, not a failure of every trial. The space's default
    network (if it has one) is tried first, then a few others (the same ones whatever the seed): the space is
    refused only when none runs, or when one runs with the wrong number of outputs; a network that fails for its
    own choices fails its trial.
    Before it, every choice of every layer of a chain space built by nasforge's chain network is checked once."""
    import numpy as np
    import torch

    from ..evaluators.training import TrainingEvaluator
    from ..models.chain import check_choice
    from ..spaces import ChainSpace

    if not isinstance(evaluator, TrainingEvaluator):  # a supernet evaluator scores the supernet built for its data
        return
    if isinstance(space, ChainSpace) and (evaluator.model or space.name) in ("chain", "proxylessnas"):
        for layer, choices in enumerate(space.layers):
            for choice in choices:
                try:
                    check_choice(choice)
                except UsageError as exc:
                    raise UsageError(f"space: layer {layer} of chain space {space.name!r}: {exc}") from None
    data, rng = evaluator.dataset(), np.random.default_rng(0)
    first = None
    first_archs = [space.default] if hasattr(space, "default") else []  # a model space's: its module as written
    for arch in dict.fromkeys([*first_archs, *(space.sample(rng) for _ in range(FIT_TRIES - len(first_archs)))]):
        try:
            model, images, _ = evaluator.build(arch)
            with torch.no_grad():
                shape = tuple(model.eval()(images.x_train[:2].clone()).shape)  # a copy: the input may be edited
        except UsageError as exc:
            first = first or UsageError(f"space: {exc}")
            continue
        except Exception as exc:  # a user's module may raise anything (AssertionError, TypeError, ...)
            first = first or UsageError(f"space: the network of {space.format(arch)} fails on the data's images of "
                                        f"shape {list(data.x_train.shape[1:])} ({type(exc).__name__}: {exc})")
            continue
        if shape != (min(2, len(data.x_train)), data.num_classes):
            raise UsageError(f"space: the network of {space.format(arch)} outputs shape {list(shape[1:])}, but the "
                             f"data has {data.num_classes} classes")
        return
    assert first is not None
    raise first from None


def _evaluators(config: SearchConfig, space: SearchSpace, new_run: bool = False) -> tuple[Any, Any]:
    """(search evaluator, retrain evaluator); ``new_run``: also check that the network builds at every budget of a
    multi-fidelity strategy (not on resume: a run stored before that check was made goes on, and rewrites its
    outputs, as it did)."""
    from ..evaluators.training import TrainingEvaluator

    model, model_kwargs = _model(space)
    preset = preset_for(model)
    deploy = {"C": preset.final_C, **({"N": preset.final_N} if preset.final_N is not None else {})}
    common = dict(threads=config.threads, seed=config.seed, model=model, model_kwargs=model_kwargs)
    if config.evaluator == "supernet":
        from ..evaluators.supernet import RecordedDataMissing, SupernetEvaluator
        from ..oneshot.checkpoint import CheckpointError

        try:
            options = {k: v for k, v in (("data_dir", config.data_dir), ("augment", config.augment)) if v}
            search = SupernetEvaluator.from_checkpoint(  # the recorded split: only data_dir (and augment) may change
                config.supernet, data=config.data, threads=config.threads,
                score={"seed": config.seed, **(config.supernet_score or {})}, data_options=options or None,
                deploy=deploy)
        except CheckpointError as exc:  # named as nasforge oneshot search names it
            raise UsageError(f"--supernet {_shown(config.supernet)}: {exc}") from None
        except RecordedDataMissing as exc:
            if new_run:
                raise
            raise UsageError(f"data {exc.data!r}: its recorded path {exc.path!r} does not exist: put its files back "
                             "there to resume this run (it goes on with the data it searched on)") from None
        common.update(search.training_data())  # stage 2 tests on the supernet's test split, never scored in stage 1
        common["model_kwargs"] = {**model_kwargs, **search.layout(preset.final_C)}  # an elastic supernet's layout
    else:
        if not new_run and config.data_dir is not None and not Path(config.data_dir).expanduser().exists():
            raise UsageError(f"data {config.data!r}: the path {config.data_dir!r} recorded when this run started "
                             "does not exist: put the data (or a symbolic link to it) back there to resume this run")
        common.update(data=config.data, data_dir=config.data_dir, data_seed=config.seed, augment=config.augment)
        search = TrainingEvaluator(C=preset.search_C, N=preset.search_N, deploy=deploy,
                                   train=_search_train(config, preset), **common)
    retrain = TrainingEvaluator(C=preset.final_C, N=preset.final_N, merge_val=True,
                                save_dir=str(Path(config.out) / "models"), train=_retrain_train(config, preset),
                                **common)
    if config.evaluator == "training":
        with _one_budget_said():
            _check_budgets(config, space, search if new_run else None)
    return search, retrain


def _search_train(config: SearchConfig, preset: Preset) -> Any:
    """The :class:`~nasforge.training.TrainConfig` of stage 1's trials: its defaults, with the search epochs and
    BN mode."""
    from ..training import TrainConfig

    return TrainConfig(epochs=config.search_epochs or preset.search_epochs, bn_mode=config.bn_mode or "inherited")


def _retrain_train(config: SearchConfig, preset: Preset) -> Any:
    """The :class:`~nasforge.training.TrainConfig` of stage 2's retrains: its defaults, with the final epochs and
    the preset's final learning rate."""
    from ..training import TrainConfig

    return TrainConfig(epochs=config.final_epochs or preset.final_epochs, lr=preset.final_lr)


def retrain_training(config: SearchConfig, space: SearchSpace, evaluator: Any = None) -> dict[str, Any] | None:
    """How stage 2 trains each retrained network (``summary.json``'s ``retrain_training``), as
    :func:`search_training` records stage 1: network size, recipe, the splits it trains on, the augmentation and the
    seed; None with ``retrain`` 0 (nothing is retrained). ``evaluator``: stage 2's evaluator where it is built (its
    augmentation is the supernet's record with ``--evaluator supernet``); without it the augmentation is the one
    ``config`` gives, else the data set's own (None for a supernet run, whose record is not read here)."""
    if not config.retrain:
        return None
    from ..evaluators.training import _default_augment

    model = _model(space)[0]
    preset = preset_for(model)
    train = _retrain_train(config, preset)
    sized = model != "model_space"  # a model space's module fixes its own size: C and N do not apply
    augment = getattr(evaluator, "augment", None) or config.augment
    data = getattr(evaluator, "data", None)
    data = data if isinstance(data, str) else config.data
    if augment is None and data is not None and (evaluator is not None or config.evaluator == "training"):
        augment = _default_augment(data)
    return {"C": preset.final_C if sized else None, "N": preset.final_N if sized else None, "epochs": train.epochs,
            "batch_size": train.batch_size, "optimizer": train.optimizer,
            "nesterov": train.optimizer == "sgd" and train.momentum > 0, "momentum": train.momentum, "lr": train.lr,
            "schedule": train.schedule, "weight_decay": train.weight_decay, "label_smoothing": train.label_smoothing,
            "grad_clip": train.grad_clip, "bn_mode": train.bn_mode, "augment": augment, "seed": config.seed,
            "trained_on": "train+val"}


def search_training(config: SearchConfig, space: SearchSpace,
                    fidelities: Sequence[dict[str, Any]] = ()) -> dict[str, Any] | None:
    """How stage 1 trains each search trial (``summary.json``'s ``search_training``): network size, recipe, the
    data's augmentation and the seed; None where a supernet scores the trials (nothing is trained). ``C``/``N`` are
    None where they do not apply (a model space's module sets its own size; a network without cells to repeat) or
    vary per trial: ``fidelities``, the search trials' fidelity knobs, give a multi-fidelity budget of ``epochs``,
    ``width``, ``cells`` or ``resolution``, whose range (and that of the ``C``, ``N`` or image size it sets)
    ``per_trial`` records. ``epochs`` is None under an epochs budget: each trial trains its budget's epochs."""
    if config.evaluator != "training":
        return None
    from ..evaluators.training import TrainingEvaluator, _default_augment
    from ..strategies.multi_fidelity import budget_rule

    model = _model(space)[0]
    preset = preset_for(model)
    train = _search_train(config, preset)
    sized = model != "model_space"  # a model space's module fixes its own size: C and N do not apply
    record = {"C": preset.search_C if sized else None, "N": preset.search_N if sized else None}
    rule = budget_rule(config.strategy, config.strategy_kwargs)
    knob = rule[0] if rule is not None and rule[0] in ("epochs", "width", "cells", "resolution") else None
    budgets = sorted({f[knob] for f in fidelities if knob is not None and knob in f})
    if budgets:
        per_trial: dict[str, Any] = {"budget": knob, "budgets": [budgets[0], budgets[-1]]}
        if knob == "resolution":
            per_trial["resolution"] = [budgets[0], budgets[-1]]  # the images' side, in pixels
        elif sized and knob != "epochs":  # the sizes the evaluator builds at the smallest and largest budget
            evaluator = TrainingEvaluator(C=preset.search_C, N=preset.search_N, model=model)
            field = "C" if knob == "width" else "N"
            per_trial[field] = [_size_at(evaluator, model, knob, b, field) for b in (budgets[0], budgets[-1])]
            record[field] = None
        record["per_trial"] = per_trial
    epochs = None if knob == "epochs" else train.epochs  # the preset's, which no trial of an epochs budget trains
    return {**record, "epochs": epochs, "batch_size": train.batch_size,
            "optimizer": train.optimizer, "nesterov": train.optimizer == "sgd" and train.momentum > 0,
            "momentum": train.momentum, "lr": train.lr, "schedule": train.schedule,
            "weight_decay": train.weight_decay, "label_smoothing": train.label_smoothing, "grad_clip": train.grad_clip,
            "bn_mode": train.bn_mode, "augment": config.augment or _default_augment(config.data), "seed": config.seed}


def _size_at(evaluator: Any, model: str, knob: str, budget: Any, field: str) -> int | None:
    """The ``C`` or ``N`` (``field``) ``evaluator`` builds ``model`` with at ``budget``; None where it refuses that
    budget (its trials failed: a record of the run never stops the run's outputs)."""
    try:
        return evaluator.size({knob: budget}, model).get(field)
    except UsageError:
        return None


@contextlib.contextmanager
def _one_budget_said() -> Iterator[None]:
    """The study says once that a multi-fidelity strategy's settings give one budget; the search's other builds of
    the strategy (the budget check before the study, the report after it) do not say it again."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".* give one budget \(", category=RuntimeWarning)
        yield


def _check_budgets(config: SearchConfig, space: SearchSpace, evaluator: TrainingEvaluator | None) -> None:
    """A multi-fidelity strategy's budgets are known before any trial: each must be a fidelity the training
    evaluator takes (an integer number of epochs...) and, where ``evaluator`` is given, one it builds its network at
    (NAS-Bench-101's ``C`` of 5 or more, a ``cells`` budget only for a network with cells to repeat), else one
    UsageError now rather than a failure of every trial (and of every resume)."""
    from ..evaluators.training import TrainingEvaluator

    from ..strategies import STRATEGIES, get_strategy

    if config.strategy not in STRATEGIES or not STRATEGIES.tags(config.strategy)["multi_fidelity"]:
        return
    strategy = get_strategy(config.strategy, space, seed=config.seed, **config.strategy_kwargs)
    budgets = [strategy.budget(rung) for rung in range(len(strategy.budgets))]
    model = _model(space)[0]
    try:
        for budget in budgets:
            fidelity = TrainingEvaluator.check_fidelity({strategy.fidelity: budget})
            if evaluator is not None:
                evaluator.size(fidelity, model)
    except UsageError as exc:
        raise UsageError(f"strategy {config.strategy!r} asks for {strategy.fidelity!r} budgets {budgets} (its "
                         f"fidelity, min_budget, max_budget, eta), which the training evaluator refuses: {exc}"
                         ) from None



def _check_scoring_split(study: Study, evaluator: Any) -> None:
    """A resumed supernet search scores on the split its finished trials were scored on: searches started
    before scoring always used the supernet's recorded split (when ``--seed`` set it, and the split could hold
    images the supernet trained on) cannot continue, since one study would mix two validation splits."""
    from ..evaluators.supernet import scoring_split

    stored = ((study.run_config or {}).get("evaluator") or {}).get("kwargs")
    if stored and scoring_split(stored) != (now := scoring_split(evaluator.spec()["kwargs"])):
        raise UsageError(f"study {study.name!r} was scored on the validation split {scoring_split(stored)}, not on "
                         f"the split its supernet was trained beside {now}, which nasforge now always uses (the old "
                         "one may hold images the supernet trained on); resuming would mix two splits in one study: "
                         "start a new search")


def _check_same_supernet(study: Study, evaluator: Any) -> None:
    """A resumed supernet search scores with the weights its finished trials were scored with (their sha256, in
    the stored evaluator spec)."""
    from ..evaluators.supernet import check_same_weights

    stored = ((study.run_config or {}).get("evaluator") or {}).get("kwargs") or {}
    check_same_weights(stored.get("weights_sha256"), evaluator.weights_sha256, evaluator.checkpoint)


START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"
"""How worker processes start. On Linux they are forked from the driver, which has already imported
torch and loaded the data set (the evaluator's per-process cache): a worker is ready in milliseconds
instead of re-importing torch and re-reading the data (about 2 s each on 2 cores, 5% of the search
stage of the main job). Forking is safe here because the driver runs torch with one thread
(:func:`_limit_threads`) and the workers only evaluate."""


def _optimize(study: Study, evaluator: Any, n_trials: int, workers: int, config: SearchConfig, *,
              progress: bool = True, **options: Any) -> None:
    executor_options = {"threads_per_worker": config.threads, "start_method": START_METHOD} if workers > 1 else None
    study.optimize(evaluator, n_trials=n_trials, n_workers=workers, executor="process" if workers > 1 else "inline",
                   progress=progress, evaluator_spec=evaluator.spec(), executor_options=executor_options,
                   max_retries=RETRIES, max_crash_reruns=config.max_crash_reruns, **options)


def _limit_threads(config: SearchConfig) -> None:
    """Torch threads of this process: the inline (1-worker) case trains here with ``config.threads``;
    with worker processes the driver only loads data and keeps one thread, so forked workers inherit
    no busy thread pool."""
    import torch

    torch.set_num_threads(config.threads if config.workers == 1 else 1)


def _complete(study: Study, config: SearchConfig, space: SearchSpace, console: Any, progress: bool,
              evaluators: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """Do whatever is not done yet: stage 1, stage 2, outputs (``evaluators``: the two stages', if built)."""
    from ..experiment import TrialState

    _limit_threads(config)  # both callers checked the folder and hold it
    search_ev, retrain_ev = evaluators or _evaluators(config, space)
    if config.evaluator == "supernet" and not study.user_attrs.get("search_done"):
        _check_same_supernet(study, search_ev)  # first: a retrained supernet may record another split too
        _check_scoring_split(study, search_ev)
    resumed = evaluators is None  # a new run's evaluators loaded the data before its study was stored
    data = _load_data(search_ev, resumed)  # loaded once here (cached per process); forked workers inherit it
    if config.evaluator == "training":  # the retrains keep the data the search read: one run, one data
        _load_data(retrain_ev, resumed)
    if config.data_dir is not None:  # files can change between a run and its resume (a built-in set cannot)
        from ..oneshot.checkpoint import check_study_fingerprint, data_fingerprint

        where = f"{config.data} in {config.data_dir}" if config.data else f"in {config.data_dir}"  # (a supernet's)
        check_study_fingerprint(study, data_fingerprint(data), "resume it with the files it was started on, or "
                                                               "start a new search", where)
    study.sync()  # another process of this study may have finished stage 1 since this one loaded it
    if not study.user_attrs.get("search_done"):  # the target is shared: runs of this study at once stop at it
        with _stage_clock(study, "search_seconds") as record:  # never another process's retrains: they are stage 2's
            _optimize(study, search_ev, None, config.workers, config, progress=progress, timeout=config.timeout,
                      pruner=config.pruner, n_trials_total=config.trials, callbacks=[record],
                      waiting_filter=lambda t: not is_retrain(t))
        if console is not None and config.timeout is None and study.n_proposals < config.trials:
            console.print(f"[yellow]stage 1 stopped after {study.n_proposals} of {config.trials} trials: the space "
                          "has no other distinct architecture")
        study.set_user_attr("search_done", True)
    if not study.pareto_front():
        _write_trials(study, config)
        raise NasforgeError(f"no search trial of study {study.name!r} completed; see the errors in "
                            f"{Path(config.out) / 'trials.csv'}")
    front = feasible_front(study)
    if not front:  # the constraints rule out every trial: nothing is worth retraining
        write_outputs(study, config, console, retrain_ev)
        raise NoFeasibleTrial(f"no search trial satisfies the constraints {', '.join(config.constraints)}: nothing "
                              f"retrained; loosen them or search more (results: {Path(config.out) / 'report.html'})")
    check_folder(Path(config.out) / "models", "out")  # before any retrain: its networks are saved there
    measure_front_latency(study, front, retrain_ev)
    retrains = _enqueue_retrains(study, front, config)
    if console is not None and 0 < len(retrains) < config.retrain:
        one = " (one objective: its best trial)" if len(config.objectives) == 1 else ""
        done = all(t.state == TrialState.COMPLETE for t in retrains)  # a resume of a finished run retrains none
        console.print(f"[yellow]note:[/] {'retrained' if done else 'retraining'} {len(retrains)} architecture(s), "
                      f"not the {config.retrain} asked: the Pareto front has {len(retrains)} member(s) with distinct "
                      f"objectives{one}",
                      highlight=False)
    _retrain(study, retrains, retrain_ev, config, progress, console)
    remove_stale_temporaries(Path(config.out))
    summary = write_outputs(study, config, console, retrain_ev)
    failed = [t for t in (_last_attempt(study, t) for t in retrains) if t.state != TrialState.COMPLETE]
    if failed:
        raise NasforgeError(f"{len(failed)} of {len(retrains)} retrains failed (trial {failed[-1].number}: "
                            f"{failed[-1].error}); the outputs leave them out; retrain them with: "
                            f"{resume_command(study.name, config.storage)}")
    return summary


SERIAL_LATENCY = "serial_latency"
"""Study user attribute: ``{"classes": the data's classes, "trials": {number: {"median", "min", "max", "rounds",
"repeats"}}}``, the latency (ms) of each front member measured by :func:`measure_front_latency`."""
LATENCY_ROUNDS = 5
"""Rounds of :func:`~nasforge.training.measure_latency` (each the median of the evaluator's ``latency_repeats``
batch-1 passes) per front member; their median is the front's latency, their range its spread."""


def measure_front_latency(study: Study, front: list[Trial], evaluator: Any) -> None:
    """Measure the latency of each front member not measured yet, one network at a time in this process once stage 1
    is over (no trial runs beside it): the search trials' own ``latency_ms`` was measured while other workers
    trained on the same cores, so the same network read 4 ms in one run and 11 ms in another. Stored per trial in
    the study (:data:`SERIAL_LATENCY`), so a resume measures only what is missing and the outputs read it back.
    ``evaluator``: the retrain evaluator, which builds the full-size network."""
    import statistics

    from ..training import measure_latency

    record = dict(study.user_attrs.get(SERIAL_LATENCY) or {})
    measured = dict(record.get("trials") or {})
    for trial in front:
        if str(trial.number) in measured:
            continue
        model, data, _ = evaluator.build(trial.arch)
        shape, repeats = tuple(data.x_train.shape[1:]), evaluator.latency_repeats
        rounds = [measure_latency(model, shape, repeats=repeats, warmup=10 if i == 0 else 0)
                  for i in range(LATENCY_ROUNDS)]
        measured[str(trial.number)] = {"median": statistics.median(rounds), "min": min(rounds), "max": max(rounds),
                                       "rounds": LATENCY_ROUNDS, "repeats": repeats}
        record = {"classes": data.num_classes, "trials": measured}
    if record.get("trials") is not None and record != study.user_attrs.get(SERIAL_LATENCY):
        study.set_user_attr(SERIAL_LATENCY, record)


def _retrain(study: Study, retrains: list[Trial], evaluator: Any, config: SearchConfig, progress: bool,
             console: Any = None) -> None:
    """Stage 2: run the retrain trials left WAITING here, and wait for those another process of the same study
    is running (a dead process's trials go back to WAITING, :func:`~nasforge.experiment.identity.is_orphan`, and
    are run here). With ``progress`` and a ``console``, a line when it starts (a rough time) and one per network;
    with ``progress``, with or without a console, the progress display's ETA is those lines' (one estimate)."""
    from ..experiment import TrialState
    from ..experiment.identity import STALE_AFTER

    track = RetrainProgress(study, retrains, config, console) if progress else None
    while pending := [t for t in (_last_attempt(study, t) for t in retrains) if not t.done]:
        if any(t.state == TrialState.WAITING for t in pending) or study.orphans(STALE_AFTER):
            if track is not None:
                track.start(pending, min(config.workers, len(pending)))
            estimate = contextlib.nullcontext() if track is None else eta_from(track.seconds_left)  # one ETA shown
            with _stage_clock(study, "retrain_seconds") as record, estimate:
                _optimize(study, evaluator, 0, min(config.workers, len(pending)), config, progress=progress,
                          callbacks=[record, *([track.finished] if track is not None else [])],
                          waiting_filter=is_retrain)  # a search trial another process left WAITING is no retrain
        else:
            time.sleep(WAIT_SECONDS)
            study.sync()


RUNNING_FLOOR = 0.1
"""The share of its estimate a retrain still running is given as left, however long it has run (an ETA of 0 s
while a network trains says nothing)."""


class RetrainProgress:
    """Stage 2's own progress lines: a retrain takes minutes and the scheduler's line (``done 0/5 | eta ?``) says
    nothing until the first one ends. At the start: how many networks, at what size, and a rough time
    (:func:`retrain_estimate` of each, packed on the processes by :func:`schedule_seconds`); then one line per
    finished network with an ETA: the rough times scaled by how long the finished ones really took, less what
    the running ones have already run, on min(workers, networks left) processes. Without a ``console`` it prints
    nothing and only gives the progress display its ETA (:meth:`seconds_left`)."""

    def __init__(self, study: Study, retrains: list[Trial], config: SearchConfig, console: Any) -> None:
        self.study, self.console = study, console
        self.total, self.numbers = len(retrains), {t.number for t in retrains}
        self.epochs = config.final_epochs or preset_for(_model(study.space)[0]).final_epochs
        sources = {t.number: t for t in study.trials}
        self.rough = {t.number: retrain_estimate(sources.get(source_trial(t)), self.epochs)
                      for t in sorted(retrains, key=lambda t: t.number)}  # in the order they start (enqueued)
        self.began, self.workers, self.actual = time.perf_counter(), 1, {}

    def start(self, pending: list[Trial], workers: int) -> None:
        """Print the line of a stage-2 session that runs the ``pending`` retrains on ``workers`` processes."""
        self.began, self.workers = time.perf_counter(), workers
        roots = {self._root(self.study, t.number) for t in pending}
        for trial in self.study.trials:  # retrains an earlier session completed count as done, and scale the ETA
            number = self._root(self.study, trial.number)
            if trial.state.value == "COMPLETE" and number in self.numbers and number not in roots:
                self.actual.setdefault(number, self._seconds(trial))
        left = [self.rough[n] for n in self.rough if n in roots]
        if self.console is None:
            return
        rough = (f"; roughly {format_seconds(schedule_seconds([], left, workers))} (from the search trials' "
                 "training times)" if left and None not in left else "")
        self.console.print(f"stage 2: retraining {len(pending)} of {self.total} network(s) at full size, "
                           f"{self.epochs} epochs each, {workers} at a time{rough}", highlight=False)

    def finished(self, study: Study, trial: Trial) -> None:
        """Trial callback: a line for a retrain of this stage (or a retry of one) that completed."""
        number = self._root(study, trial.number)
        if number not in self.numbers or trial.state.value != "COMPLETE":
            return
        self.actual[number] = self._seconds(trial)
        if self.console is None:
            return
        done, eta = len(self.actual), self._eta(study, time.time())
        self.console.print(f"retrained trial {trial.number} (search trial {trial.user_attrs.get('source_trial')}): "
                           f"{done} of {self.total} networks done after "
                           f"{format_seconds(time.perf_counter() - self.began)}"
                           f"{'' if eta is None or done >= self.total else f'; eta ~{format_seconds(eta)}'}",
                           highlight=False)

    @staticmethod
    def _seconds(trial: Trial) -> float:
        """How long a completed retrain took: its training alone, as the rough times are (a worker's start-up would
        inflate the scale on short retrains), else its wall time, else its cost."""
        trained = trial.metrics.get("train_seconds")
        wall = (trial.finished_at or 0.0) - (trial.started_at or 0.0)
        return float(trained) if trained else wall if wall > 0 else float(trial.cost or 0.0)

    def _root(self, study: Study, number: int) -> int:
        """The retrain of this stage that trial ``number`` is (a retry of)."""
        parents = {t.number: t.retry_of for t in study.trials}
        while number not in self.numbers and parents.get(number) is not None:
            number = parents[number]
        return number

    def seconds_left(self) -> float | None:
        """The ETA of the lines, now: the progress line of stage 2 shows it too (one estimate, not two)."""
        return self._eta(self.study, time.time())

    def _eta(self, study: Study, now: float) -> float | None:
        """Seconds left at wall time ``now``: each network not done takes its rough time times actual over rough of
        those done; a running one (its trial RUNNING in ``study``) has already run ``now - started_at`` of it, but
        keeps at least :data:`RUNNING_FLOOR` of it while it runs."""
        left = [n for n in self.rough if n not in self.actual]
        done_rough = sum(self.rough[n] or 0.0 for n in self.actual)
        if not left or any(self.rough[n] is None for n in left) or not done_rough:
            return None
        scale = sum(self.actual.values()) / done_rough
        started = {self._root(study, t.number): t.started_at for t in study.trials if t.state.value == "RUNNING"}
        running = [max(self.rough[n] * scale - (now - started[n]), RUNNING_FLOOR * self.rough[n] * scale)
                   for n in left if n in started]  # a network still running has some time left
        waiting = [self.rough[n] * scale for n in left if n not in started]
        return schedule_seconds(running, waiting, self.workers)


def schedule_seconds(running: list[float], waiting: list[float], workers: int) -> float:
    """Seconds until the last network ends on ``workers`` processes, of which at most one per network is busy:
    the ``running`` ones (seconds each has left) keep theirs, each ``waiting`` one (seconds, in the order they
    start) takes the process that frees first."""
    import heapq

    lanes = max(min(workers, len(running) + len(waiting)), len(running))
    free = sorted(running) + [0.0] * (lanes - len(running))
    heapq.heapify(free)
    for seconds in waiting:
        heapq.heappush(free, heapq.heappop(free) + seconds)
    return max(free, default=0.0)


PARAMS_EXPONENT = 0.5
""":func:`retrain_estimate` scales a search trial's training time by (full-size params / trained params) to this
power: measured on digits (2026-12-06, 10 retrains of 5 runs, 2 workers) the time per epoch grew as the ratio to
the 0.2-0.8 (median 0.55); a linear scaling (1.0) made the rough time about 2x too long in every run."""


def retrain_estimate(source: Trial | None, epochs: int) -> float | None:
    """Rough seconds to retrain ``source``'s architecture for ``epochs`` at full size: its search training time
    per epoch times ``epochs`` times (the full-size network's parameters over the trained network's) to the
    :data:`PARAMS_EXPONENT` (None where the search trial did not train it, e.g. a supernet scored it)."""
    metrics = {} if source is None else source.metrics
    seconds, trained_epochs = metrics.get("train_seconds"), metrics.get("epochs")
    params, trained = metrics.get("params"), metrics.get("trained_params")
    if not (seconds and trained_epochs and params and trained):
        return None
    return float(seconds) / float(trained_epochs) * epochs * (float(params) / float(trained)) ** PARAMS_EXPONENT


CLOCK_EVERY = 5.0
"""Seconds between two records of a stage's time while it runs (:func:`_stage_clock`)."""


@contextlib.contextmanager
def _stage_clock(study: Study, key: str) -> Iterator[Callable[..., None]]:
    """Adds the time this process spends in the block (running trials of a stage) to the study's user attribute
    ``key``, so a stage's seconds sum over the sessions (run, resumes) that ran it. The callback it yields records
    the time so far (passed as a trial callback: a killed session keeps its time up to a trial that finished at
    least ``CLOCK_EVERY`` seconds after the last one recorded, so cheap trials add no write each)."""
    base, start = float(study.user_attrs.get(key) or 0.0), time.perf_counter()
    last = start

    def record(*_: Any, force: bool = True) -> None:
        nonlocal last
        now = time.perf_counter()
        if force or now - last >= CLOCK_EVERY:
            study.set_user_attr(key, base + now - start)
            last = now

    def each_trial(*_: Any) -> None:
        record(force=False)

    try:
        yield each_trial
    except BaseException:
        with contextlib.suppress(Exception):  # the error on its way up matters more than the timing
            record()
        raise
    record()


def _enqueue_retrains(study: Study, front: list, config: SearchConfig) -> list:
    """The retrain trials of the chosen front members (largest network first, for a shorter makespan): a source
    without one (after a crash between enqueues), whose latest one FAILED (its retries spent), or whose latest one
    completed without saving its network (:func:`unsaved_retrain`) gets a new one; the earlier ones are kept."""
    from ..experiment import TrialState

    chosen = choose_for_retraining(front, config.objectives, config.directions, config.retrain)
    study.sync()
    latest = {source_trial(t): t for t in study.trials if is_retrain(t)}  # in order: the last wins
    for trial in sorted(chosen, key=lambda t: (-t.metrics.get("params", 0.0), t.number)):
        last = latest.get(trial.number)
        if last is None or last.state == TrialState.FAILED or unsaved_retrain(last):
            latest[trial.number] = study.enqueue(trial.arch, user_attrs={STAGE_KEY: RETRAIN,
                                                                          "source_trial": trial.number})
    return [_last_attempt(study, latest[t.number]) for t in chosen]


class NoFeasibleTrial(NasforgeError):
    """Every complete search trial breaks the run's constraints: there is no front to retrain (a resume ends
    alike)."""


def feasible_front(study: Study) -> list[Trial]:
    """The Pareto front of the search trials that satisfy the study's constraints: empty when none does
    (``Study.pareto_front`` then holds the best of the least violating ones, but no run retrains). A job started
    before this rule (no :data:`FEASIBLE_ONLY` attribute) keeps the front it chose its retrains from: while none
    is feasible, every least violating trial."""
    from ..strategies.constraints import violation_of

    front = study.pareto_front()
    if study.user_attrs.get(FEASIBLE_ONLY):
        return [t for t in front if violation_of(study.told_score(t)) == 0]
    least = violation_of(study.told_score(front[0])) if front else 0.0
    return front if least == 0 else [t for t in study.ranked() if violation_of(study.told_score(t)) == least]


def _last_attempt(study: Study, trial: Trial) -> Trial:
    """The latest trial of ``trial``'s retry chain."""
    latest = trial
    for t in study.trials:
        if t.retry_of == latest.number:
            latest = t
    return latest


def choose_for_retraining(front: list, objectives: list[str], directions: list[str], k: int) -> list:
    """Up to ``k`` front trials spread evenly along the first objective, always including both ends.

    Trials tied on every objective count once (the earliest is kept)."""
    import numpy as np

    if k == 0:
        return []
    distinct: dict[tuple, Any] = {}
    for t in sorted(front, key=lambda t: t.number):
        distinct.setdefault(tuple(t.metrics[o] for o in objectives), t)
    sign = 1.0 if directions[0] == "maximize" else -1.0
    ordered = sorted(distinct.values(), key=lambda t: (sign * t.metrics[objectives[0]], -t.number), reverse=True)
    if len(ordered) <= k:
        return ordered
    picks = sorted(set(np.linspace(0, len(ordered) - 1, k).round().astype(int).tolist()))
    return [ordered[i] for i in picks]


# -- outputs -----------------------------------------------------------------------------------------
RUN_OUTPUTS: dict[str, tuple[Callable[[bytes], bool], str]] = {
    "trials.csv": (lambda start: start.startswith(b"number,state,arch"), "the trials.csv of a search"),
    "front.json": (lambda start: start.startswith((b'[\n  {\n    "trial": ', b"[]")), "the front.json of a search"),
    "summary.json": (lambda start: start.startswith(b'{\n  "name": ') and b'"n_search_trials": ' in start,
                     "the summary.json of a search"),
    "pareto.png": (lambda start: start.startswith(b"\x89PNG") and b"Matplotlib" in start, "a plot nasforge wrote")}
"""The files :func:`write_outputs` writes in a run folder, each with how the start of an earlier one is recognised
and what it is: anything else there (or a symbolic link) is the user's, never replaced."""


def check_outputs(out: Path, name: str = "out") -> None:
    """Refuse, before any work, a run folder whose output files (:data:`RUN_OUTPUTS`) are not earlier outputs of a
    search (e.g. the user's own ``trials.csv``) or are symbolic links (writing through one would replace a file
    outside the run folder); the UsageError names ``name`` (``--out`` on the command line)."""
    for file in RUN_OUTPUTS:
        _output_path(out, file, name)


def _output_path(out: Path, file: str, name: str = "out") -> Path:
    """``out/file``, checked as :func:`check_outputs` checks it."""
    is_ours, what = RUN_OUTPUTS[file]
    return check_target(out / file, name, lambda path: is_ours(head(path)), what, links=False)


def _write_output(out: Path, name: str, text: str) -> None:
    write_atomic(_output_path(out, name), text, "out", follow=False)


def _write_trials(study: Study, config: SearchConfig) -> None:
    frame = with_stages(study.trials_dataframe(), study.trials, is_staged(study))  # integer user attributes (source_trial) stay so
    _write_output(Path(config.out), "trials.csv", frame.to_csv(index=False))


def best_retrained(candidates: list[T], score: Callable[[T], float], search_trial: Callable[[T], int]) -> T:
    """The retrained network a run reports and exports by default: the highest :func:`selection_score`, ties to the
    lowest search trial (summary.json and ``nasforge export`` without ``--trial`` pick alike)."""
    return max(candidates, key=lambda c: (score(c), -search_trial(c)))


def selection_score(study: Study, source: Trial | None) -> float:
    """How a retrained network ranks when one is picked (the summary's best, ``nasforge export`` without
    ``--trial``): by the first objective of the search trial it retrains (``source``), higher is better. The test
    split never decides: picking by the retrains' test accuracy would report an optimistic one."""
    import math

    value = None if source is None else source.metrics.get(study.objectives[0])
    return study.signs[0] * float(value) if is_real(value) and math.isfinite(value) else -math.inf


def saved_networks(name: str | None, storage: str, root: str | Path | None = None,
                   any_stage: bool = False) -> list[dict[str, Any]]:
    """The networks saved by the retrains of a search study (``any_stage``: by any complete trial): trial, source
    (search) trial, whether it is a retrain, folder, test accuracy, stored metrics, architecture (its stored text),
    and ``missing``: the places looked in when the folder is in none of them (else None). ``name`` None: the only
    study in ``storage`` (a URL, opened read-only: a mistyped, empty or damaged database is refused, never changed).
    Only the stored trials are read: the space is not rebuilt (a model space's module is not imported) and the
    strategy is not replayed. Folders are looked up under ``root`` (default: the folder of a SQLite storage) where
    the run's recorded ``out`` held them (a copied run's own networks), else where they were written, else in
    ``root/models``."""
    from types import SimpleNamespace

    from ..experiment.storage import open_storage

    with open_storage(storage, readonly=True) as store:
        if name is None:
            name = only_study(store, "nasforge export")
        record = store.load_study(name)
        trials, texts = store.trials(record.id), store.arch_texts(record.id)
    if root is None and (database := sqlite_path(store.url)) is not None:
        root = Path(database).parent
    out = search_config(record.user_attrs).get("out")
    ranking = SimpleNamespace(objectives=list(record.objectives),  # what selection_score reads of a study
                              signs=[1.0 if d == "maximize" else -1.0 for d in record.directions])
    by_number = {t.number: t for t in trials}
    found = []
    for t in trials:
        folder = saved_model_dir(t)
        if folder is None or not ((any_stage or is_retrain(t)) and t.state.value == "COMPLETE"):
            continue
        places = _network_places(Path(folder), out, root)
        path = next((p for p in places if p.is_dir()), None)
        source = source_trial(t)
        found.append({"trial": t.number, "source_trial": source, "retrain": is_retrain(t),
                      "path": str(path or places[-1]), "missing": None if path else [str(p) for p in places],
                      "test_acc": t.metrics.get("test_acc"), "metrics": dict(t.metrics),
                      "arch": texts.get(t.arch) or json.dumps(t.arch.to_json()["genotype"]),
                      "score": selection_score(ranking, by_number.get(source))})  # type: ignore[arg-type]
    return found


def only_study(store: Storage, command: str) -> str:
    """The name of the one study in storage ``store`` (a run folder's ``study.db`` holds one); a UsageError when
    it holds none or several, saying how ``command`` (e.g. ``nasforge export``) names one."""
    names = [s.name for s in store.list_studies()]
    if not names:
        raise UsageError(f"{store.url} holds no study")
    if len(names) != 1:
        raise UsageError(f"{store.url} holds {len(names)} studies {names[:10]}; name one: {command} STUDY "
                         f"--storage {shlex.quote(store.url)}")
    return names[0]


def _network_folder(recorded: Path, out: str | None, root: str | Path | None) -> Path:
    """Where a saved network written to ``recorded`` is now: the first of :func:`_network_places` that is a
    folder, else the last of them."""
    places = _network_places(recorded, out, root)
    return next((path for path in places if path.is_dir()), places[-1])


def _network_places(recorded: Path, out: str | None, root: str | Path | None) -> list[Path]:
    """Where a saved network written to ``recorded`` may be now, in order: at its place under the run's recorded
    ``out``, taken under ``root`` (the run folder read: a copied or moved run reads its own networks, not the
    original's), at ``recorded``, in ``root/models/``."""
    if root is None:
        return [recorded]
    candidates = [recorded, Path(root) / "models" / recorded.name]
    if isinstance(out, str) and recorded.is_relative_to(out):
        candidates.insert(0, Path(root) / recorded.relative_to(out))
    return list(dict.fromkeys(candidates))


def write_outputs(study: Study, config: SearchConfig, console: Any = None,
                  retrain_evaluator: Any = None) -> dict[str, Any]:
    """``trials.csv``, ``front.json``, ``pareto.png`` and ``summary.json`` in the run folder, from the
    stored trials alone (so a resumed or finished study rewrites them identically); returns the summary.
    ``retrain_evaluator``: stage 2's, where built (:func:`retrain_training` reads its augmentation)."""
    import numpy as np

    from ..analysis.pareto import hypervolume, reference_point, to_maximization
    from ..experiment import TrialState
    from ..strategies.constraints import violation_of

    trained = (TrialState.COMPLETE, TrialState.PRUNED)
    out = Path(config.out)
    _write_trials(study, config)
    objectives, directions = study.objectives, study.directions
    front = feasible_front(study)
    x_name = objectives[1] if len(objectives) > 1 else "params"  # what pareto.png puts on x and front.json sorts by
    # a retrain that saved no network is no retrained network: the rows, the best and nasforge export agree
    retrained = {source_trial(t): t for t in study.trials
                 if is_retrain(t) and t.done and not unsaved_retrain(t)}  # in order: the last wins
    recorded_out = search_config(study.user_attrs).get("out")  # a copy's: the original's
    serial = (study.user_attrs or {}).get(SERIAL_LATENCY) or {}
    latencies, classes = serial.get("trials") or {}, serial.get("classes")
    rows = []
    for t in sorted(front, key=lambda t: (t.metrics.get(x_name, np.inf), t.number)):
        final = retrained.get(t.number)
        ok = final is not None and final.state.value == "COMPLETE"
        saved = saved_model_dir(final) if ok else None  # (a COMPLETE retrain in ``retrained`` saved its network)
        rows.append({"trial": t.number, "arch": study.space.format(t.arch),
                     "network": _network_text(study.space, t.arch), "search_val_acc": t.metrics.get("val_acc"),
                     "test_acc": final.metrics.get("test_acc") if ok else None,
                     "params": t.metrics.get("params"), "flops": t.metrics.get("flops"),
                     **_latency_fields(t, latencies.get(str(t.number))),
                     "chance_level": _at_chance(t.metrics.get("val_acc"), classes),
                     "trained_params": t.metrics.get("trained_params"),
                     "retrain_trial": final.number if final is not None else None,
                     "model_dir": str(_network_folder(Path(saved), recorded_out, out)) if saved else None,
                     "retrain_error": final.error if final is not None and not ok else None})
    _write_output(out, "front.json", json.dumps(rows, indent=2))

    done = study.completed(searched_only=True)
    ranked = study.ranked()  # the front's pool: a multi-fidelity search's highest budget
    points = to_maximization(np.array([[t.metrics[o] for o in objectives] for t in ranked]), directions)
    signs = to_maximization(np.ones((1, len(objectives))), directions)[0]
    # beyond the worst trial, feasible or not (maximization units); a job started before that rule keeps its own
    reference = (reference_point(points) if study.user_attrs.get(RANGE_REFERENCE)
                 else points.min(0) - 1e-9 * (np.abs(points.min(0)) + 1))
    # the volume of what the front is chosen from: the feasible trials (every trial for a job before that rule)
    feasible = np.array([not study.user_attrs.get(FEASIBLE_ONLY) or violation_of(study.told_score(t)) == 0
                         for t in ranked], dtype=bool)
    front_params = [r["params"] for r in rows if r["params"]]
    # a hypervolume measures a front of several objectives: with one it is the best trial's distance to the
    # reference, which says nothing the best value does not, so both are null
    several = len(objectives) > 1
    attrs = study.user_attrs
    summary: dict[str, Any] = {
        "name": study.name, "space": study.space.name, "data": config.data, "n_trials": len(study.trials),
        "n_search_trials": sum(not is_retrain(t) for t in study.trials), "n_complete": len(done),
        "constraints": config.constraints,
        "n_feasible": sum(violation_of(study.told_score(t)) == 0 for t in done),
        "n_retrained": sum(r["test_acc"] is not None for r in rows), "front_size": len(front),
        "front_param_range": max(front_params) / min(front_params) if front_params else None,
        "objectives": objectives, "directions": directions,
        "hypervolume": hypervolume(points[feasible], reference) if several else None,
        "hypervolume_reference": (reference * signs).tolist() if several else None, "workers": config.workers,
        "threads_per_worker": config.threads, "retrain": config.retrain, "search_seconds": attrs.get("search_seconds"),
        "retrain_seconds": attrs.get("retrain_seconds"), "resume_command": resume_command(study.name, config.storage),
        "search_training": search_training(config, study.space, [t.fidelity or {} for t in study.trials  # trained
                                                                  if not is_retrain(t) and t.state in trained]),
        "retrain_training": retrain_training(config, study.space, retrain_evaluator),
        "front": rows, **dict.fromkeys(("best_test_acc", "best_arch", "best_network", "best_trial", "best_selected_by",
                                        "best_model_dir", "retrained_param_range"))}  # null until a network retrains
    finals = [r for r in rows if r["test_acc"] is not None]
    if finals:  # picked by the search's first objective (selection_score), never by the test split
        sources = {t.number: t for t in front}
        best = best_retrained(finals, lambda r: selection_score(study, sources[r["trial"]]), lambda r: r["trial"])
        params = [r["params"] for r in finals]
        summary.update({"best_test_acc": best["test_acc"], "best_arch": best["arch"],
                        "best_network": best["network"], "best_trial": best["trial"],
                        "best_selected_by": f"search {objectives[0]}", "best_model_dir": best["model_dir"],
                        "retrained_param_range": max(params) / min(params)})
    _plot_pareto(_output_path(out, "pareto.png"), study, done, front, x_name, finals, config.constraints)
    from ..analysis import report as write_report

    with _one_budget_said():
        write_report(study, out / "report.html")  # the interactive HTML report (docs/report.md)
    _write_output(out, "summary.json", json.dumps(summary, indent=2))
    if console is not None:
        _print_front(console, study, rows, summary, out)
    return summary


def _network_text(space: SearchSpace, arch: Architecture) -> str | None:
    """The text of the network built and trained for ``arch`` where it is not ``arch``'s own (NB101: the pruned
    canonical cell, :meth:`~nasforge.spaces.SearchSpace.trained_form`), else None."""
    trained = space.trained_form(arch)
    return None if trained == arch else space.format(trained)


def _latency_fields(trial: Trial, serial: dict[str, Any] | None) -> dict[str, Any]:
    """A front row's latency: ``latency_ms`` the search trial's own (as in ``trials.csv``: what a ``latency_ms``
    objective chose and sorted the front by), ``latency_serial_ms`` the serial median (:func:`measure_front_latency`)
    and ``latency_serial_ms_range`` the min and max of its rounds (None where not measured)."""
    return {"latency_ms": trial.metrics.get("latency_ms"),
            "latency_serial_ms": None if serial is None else serial["median"],
            "latency_serial_ms_range": None if serial is None else [serial["min"], serial["max"]]}


CHANCE_FACTOR, CHANCE_POINTS = 1.2, 5.0
"""A front member is flagged at chance level when its search ``val_acc`` is at most chance (100 / classes %) times
``CHANCE_FACTOR`` and at most chance plus ``CHANCE_POINTS`` points: 12 % on 10 classes, 55 % on 2 (74 % on 2
classes is well above chance)."""


def _at_chance(val_acc: float | None, classes: int | None) -> bool | None:
    """Whether a search validation accuracy is at chance level (None: not known, e.g. no ``val_acc`` or a study
    stored before the number of classes was)."""
    if val_acc is None or not classes:
        return None
    chance = 100.0 / classes
    return val_acc <= min(CHANCE_FACTOR * chance, chance + CHANCE_POINTS)


TITLE_WIDTH = 54
"""Characters per line of ``pareto.png``'s title (longer lines are wrapped, so none is cut off at the edge)."""


def _plot_pareto(path: Path, study: Study, done: list, front: list, x_name: str, finals: list[dict],
                 constraints: list[str] | None = None) -> None:
    """``pareto.png``: the first objective over ``x_name`` (the second objective; ``params`` with one objective),
    retrained test accuracies as stars where the first objective is an accuracy (a percentage they compare with;
    on another axis they would be off the scale); beyond two objectives the title says the front is of all of
    them. With ``constraints`` the title names them, trials breaking one are marked and a bound on a drawn axis is
    a dashed line."""
    import textwrap

    import numpy as np

    from ..analysis.pareto import plot_front
    from ..strategies.constraints import parse_constraints, violation_of

    rules = parse_constraints(constraints)
    objectives, directions = study.objectives, study.directions
    x = np.array([t.metrics.get(x_name, np.nan) for t in done], dtype=float)
    y = np.array([t.metrics[objectives[0]] for t in done], dtype=float)
    front_numbers = {t.number for t in front}
    x_of = {t.number: t.metrics.get(x_name, np.nan) for t in front}
    extra = (np.array([x_of[r["trial"]] for r in finals]), np.array([r["test_acc"] for r in finals]),
             "retrained test acc") if finals and objectives[0] in ACCURACIES else None
    known = x[np.isfinite(x)]
    log_x = bool(known.size and known.min() > 0 and known.max() / known.min() > 100)
    xlabel = "parameters (full-size network)" if x_name == "params" else x_name
    if x_name in objectives:
        xlabel += f" ({directions[objectives.index(x_name)]})"
    title = f"{study.name}: {objectives[0]} ({directions[0]}) vs {x_name}"
    if len(objectives) > 2:
        title += f"\nPareto set of all {len(objectives)} objectives ({', '.join(objectives)}); first two drawn"
    if rules:
        title += f"\nconstraints: {', '.join(map(str, rules))}"
    title = "\n".join(textwrap.fill(line, TITLE_WIDTH) for line in title.split("\n"))
    infeasible = np.array([i for i, t in enumerate(done) if violation_of(study.told_score(t)) > 0], dtype=int)
    plot_front(str(path), x, y, np.array([i for i, t in enumerate(done) if t.number in front_numbers], dtype=int),
               xlabel, f"{objectives[0]} ({directions[0]})", title=title, extra=extra, log_x=log_x,
               directions=(directions[objectives.index(x_name)] if x_name in objectives else "minimize", directions[0]),
               infeasible=infeasible if rules else None,
               bounds=([c.bound for c in rules if c.metric == x_name],
                       [c.bound for c in rules if c.metric == objectives[0]]), names=(x_name, objectives[0]))


FRONT_COLUMNS = {"val_acc": ("search\nval %", ".2f", 1.0), "test_acc": ("search\ntest %", ".2f", 1.0),
                 "val_loss": ("val\nloss", ".3f", 1.0), "train_loss": ("train\nloss", ".3f", 1.0),
                 "train_seconds": ("train\ns", ".1f", 1.0), "params": ("params", ",.0f", 1.0),
                 "flops": ("MFLOPs", ",.1f", 1e-6), "latency_ms": ("latency\nms", ".2f", 1.0)}
"""Header (on two lines where that makes it narrower), format and scale of the console front table's column of
each metric a search trial reports."""
COSTS = ("params", "flops")
"""The full-size network's costs, shown in the front table whether or not they are objectives (its latency too:
the serial figure, :data:`SERIAL_COLUMN`)."""
SERIAL_COLUMN = "serial latency\nms"
"""Header of the front table's column of the serial latency (:func:`measure_front_latency`), shown beside a
``latency_ms`` objective's column (the search trial's figures, which the front was chosen by)."""


def _print_front(console: Any, study: Study, rows: list[dict], summary: dict[str, Any], out: Path) -> None:
    """The front as a table of figures (its objectives' search values, the retrained test accuracy and the
    full-size network's costs, its latency the serial one; fits 80 columns, but for a ``latency_ms`` objective with
    retraining, where the serial range takes a second line; without retraining, ``--retrain 0``, no test and
    retrain columns),
    a note on how latency was measured and on any member at chance level, then one architecture per line; without a
    front (the constraints rule out every trial) a line that says so."""
    from rich.table import Table

    retraining = summary.get("retrain") != 0  # a summary without the key (older callers): as before
    if not rows:
        console.print(f"[bold red]no Pareto front:[/] none of the {summary['n_complete']} search trials satisfies "
                      f"the constraints {', '.join(summary['constraints'])}; nothing retrained", highlight=False)
    else:
        feasible = f", {summary['n_feasible']} satisfying the constraints" if summary["constraints"] else ""
        test = "test: retrained at full size on train + val; " if summary["n_retrained"] else ""  # --retrain 0: none
        table = Table(title=f"Pareto front of {study.name}: {summary['front_size']} of {summary['n_complete']} "
                            f"search trials{feasible} ({_ranked_budget(study, rows)}{test}cost: full-size network)")
        objectives = list(study.objectives)
        costs = [c for c in COSTS if c not in objectives]
        columns = ("trial", *(FRONT_COLUMNS[m][0] for m in objectives), *(("test %",) if retraining else ()),
                   *(FRONT_COLUMNS[m][0] for m in costs), SERIAL_COLUMN, *(("retrain",) if retraining else ()))
        table.show_edge = len(columns) <= 8  # more (3+ objectives other than costs) fit 80 only without the frame
        for column in columns:
            table.add_column(column, justify="right")
        metrics = {t.number: t.metrics for t in study.trials}

        def cell(row: dict, metric: str) -> str:
            _, spec, scale = FRONT_COLUMNS[metric]
            value = metrics[row["trial"]].get(metric)
            return _fmt(None if value is None else value * scale, spec)

        for r in rows:
            table.add_row(f"{r['trial']}{'!' if r.get('chance_level') else ''}", *(cell(r, m) for m in objectives),
                          *((_fmt(r["test_acc"], ".2f"),) if retraining else ()), *(cell(r, m) for m in costs),
                          _serial_cell(r),
                          *((("-" if r["retrain_trial"] is None else str(r["retrain_trial"])),) if retraining else ()))
        console.print(table)
        _print_front_notes(console, rows, "latency_ms" in objectives, study.space.builds_only_reachable)
    for r in rows:
        shown = r["arch"] if not r.get("network") else f"{r['network']} (as trained; searched as {r['arch']})"
        console.print(f"  trial {r['trial']}: {shown}", soft_wrap=True, highlight=False)
    if summary["best_test_acc"] is not None:
        span = (f"retrained networks span {summary['retrained_param_range']:.1f}x in parameters; "
                if summary["n_retrained"] > 1 else "")  # one network spans nothing
        console.print(f"best retrained network (by {summary['best_selected_by']}): test accuracy "
                      f"{summary['best_test_acc']:.2f}% (trial {summary['best_trial']}); {span}saved in "
                      f"{Path(summary['best_model_dir']).parent}")
        _print_unretrained_better(console, study, rows, summary)
    search, retrain = (summary.get(key) for key in ("search_seconds", "retrain_seconds"))
    stage2 = (f"retraining {_fmt(retrain, '.0f')} s" if retraining else "no retraining (--retrain 0)")
    console.print(f"search {_fmt(search, '.0f')} s, {stage2}; wrote trials.csv, front.json, pareto.png, report.html, "
                  f"summary.json in {out}", highlight=False)


def _print_unretrained_better(console: Any, study: Study, rows: list[dict], summary: dict[str, Any]) -> None:
    """A note naming the front members sent to retrain whose retrain did not complete and whose search trial ranks
    above the reported best (:func:`selection_score`): the best line names the best of the networks retrained, not
    of the front."""
    from rich.markup import escape

    unfinished = [r for r in rows if r.get("retrain_trial") is not None and r.get("test_acc") is None]
    if not unfinished:
        return
    sources = {t.number: t for t in study.trials}
    best = selection_score(study, sources.get(summary["best_trial"]))
    for r in [r for r in unfinished if selection_score(study, sources.get(r["trial"])) > best]:
        console.print(f"[yellow]note:[/] trial {r['trial']}, better by {summary['best_selected_by']}, has no "
                      f"retrained network: its retrain (trial {r['retrain_trial']}) did not complete; "
                      f"{escape(summary['resume_command'])} retrains it", soft_wrap=True, highlight=False)


def _ranked_budget(study: Study, rows: list[dict]) -> str:
    """``ranked at epochs=4 of 12; ``: in a multi-fidelity search, the budget the front's trials were evaluated at
    (the highest any complete trial reached) and the full one; else ``""``."""
    key = getattr(study.strategy, "fidelity", None) if getattr(study.strategy, "multi_fidelity", False) else None
    if not isinstance(key, str):
        return ""
    fidelities = {t.number: t.fidelity or {} for t in study.trials}
    budgets = {fidelities[r["trial"]].get(key) for r in rows}
    if len(budgets) != 1 or not is_real(budget := budgets.pop()):
        return ""
    return f"ranked at {key}={float(budget):g} of {float(study.strategy.max_budget):g}; "


def _serial_cell(row: dict) -> str:
    """The front table's serial latency: the median and [min-max] of its rounds (the spread is seldom symmetric:
    one disturbed round stretches one side)."""
    spread = row.get("latency_serial_ms_range")
    value = _fmt(row.get("latency_serial_ms"), ".2f")
    return value if not spread else rf"{value} \[{spread[0]:.2f}-{spread[1]:.2f}]"  # \[: no rich markup


def _print_front_notes(console: Any, rows: list[dict], latency_objective: bool, only_reachable: bool) -> None:
    """Below the front table: how its latency was measured (and, with a ``latency_ms`` objective, that its column
    holds the search trials' figures the front was chosen by), and which members are at chance level (in a space
    whose networks build only the operations on a path from input to output, ``only_reachable``: that their params
    count only those)."""
    if any(r.get("latency_serial_ms") is not None for r in rows):
        objective = ("; latency ms (the objective): the search trial's own, measured beside other workers, which "
                     "the front was chosen and sorted by" if latency_objective else "")
        console.print(f"serial latency ms: median \\[min-max] of {LATENCY_ROUNDS} rounds of batch-1 passes (each the "
                      "median of its passes), one network at a time after the search; on a loaded machine it still "
                      f"varies{objective} (docs/training.md)", highlight=False, soft_wrap=True)
    chance = [str(r["trial"]) for r in rows if r.get("chance_level")]
    if chance:
        built = ("; its params count only the operations it builds, those on a path from its input to its output"
                 if only_reachable else "")
        console.print(f"! trial {', '.join(chance)}: search val % at chance level (its output barely depends on its "
                      f"input, or it barely trained){built} (docs/training.md)", highlight=False, soft_wrap=True)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)
