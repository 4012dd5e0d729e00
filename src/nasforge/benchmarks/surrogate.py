"""Surrogate benchmarks: a predictor fitted on measured results stands in for the table.

``SurrogateBenchmark.fit(space, data, model="lgb")`` trains one predictor per metric on a tabular
benchmark, a table file, or a study's trials, keeps part of the data aside to report held-out
metrics, and (optionally) learns a noise model so that queries can mimic a single training run.
``save(folder)`` writes a versioned artifact: ``manifest.json`` (space, version name such as
``nb201-lgb-v1.0``, held-out metrics, training-data hash, library versions), one sub-folder per
metric with the predictor in a safe format, and ``holdout.json`` (the held-out architectures).
The manifest records the SHA-256 of every model file; ``load(folder)`` checks the manifest, keeps
every path inside the artifact folder and verifies each checksum before any byte reaches a native
library (LightGBM, XGBoost, safetensors), and says what is wrong.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
import shlex
import shutil
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ..checks import check_int, check_path, check_real, is_number, is_real
from ..exceptions import MissingFileError, UnsafeFileError, UsageError, user_stacklevel
from ..jsonfiles import JSONLimitError, loads
from ..predictors.base import PREDICTOR_FILE, enclosing_artifact, finite_predictions, target_values
from ..predictors.checksums import check_files, file_checksums, file_names, inside, sha256_of
from ..spaces import Architecture, SearchSpace, as_space, available_spaces, get_space, space_record, stored_space
from ..spaces.base import as_rng, foreign_form_retold
from ..writes import DEAD_TEMPORARY_AGE, new_folders_removed_on_failure, unchanged_for
from .tabular import TabularBenchmark, UnknownMetricError, read_table

ARTIFACT_FORMAT = "nasforge-surrogate"
FORMAT_VERSION = 4  # 2: SHA-256 of every model file ("files"), chain layers ("space_config"); 3: every space's
# options in "space_config" (NB201's canonical_rule); 4: models fitted on encoding revision 2 (canonical inputs on
# NB101, DARTS and chain: older ones load with a warning to refit, see encoding_note)
MANIFEST_FILE = "manifest.json"
HOLDOUT_FILE = "holdout.json"
_STAGING_PREFIX = ".nasforge-staging."  # a save's staging folder: this, its PID and 8 hex digits
_CLAIM_FILE = ".nasforge-staging.claim"  # the save filling an empty folder in place, while it moves its files in
_LIBRARIES = ("nasforge", "numpy", "scikit-learn", "xgboost", "xgboost-cpu", "lightgbm", "torch", "safetensors",
              "ngboost")


class NewerFormatError(UsageError):
    """A surrogate artifact of a newer format version than this nasforge reads."""


# -- noise ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NoiseModel:
    """Standard deviation of one training run around the mean, piecewise constant in the mean.

    ``edges`` are the interior bin edges of the (predicted) mean and ``stds`` one value per bin;
    a constant noise level is one bin.
    """

    edges: tuple[float, ...]
    stds: tuple[float, ...]
    source: str = "given"

    def __post_init__(self) -> None:
        if len(self.stds) != len(self.edges) + 1:
            raise UsageError(f"noise model needs len(edges) + 1 stds, got {len(self.edges)} edges, "
                             f"{len(self.stds)} stds")
        if any(not np.isfinite(s) or s < 0 for s in self.stds):
            raise UsageError(f"noise stds must be finite and non-negative, got {list(self.stds)}")

    @classmethod
    def constant(cls, std: float) -> NoiseModel:
        return cls((), (float(std),), "given")

    @classmethod
    def from_seeds(cls, per_seed: np.ndarray, bins: int = 10) -> NoiseModel:
        """Learn from a rows x seeds matrix (NaN where missing): the pooled per-row spread of the
        seeds, in ``bins`` quantile bins of the seed mean."""
        per_seed = np.asarray(per_seed, dtype=np.float64)
        counts = np.sum(~np.isnan(per_seed), axis=1)
        usable = counts >= 2
        if per_seed.ndim != 2 or not usable.any():
            raise UsageError("learning a noise model needs rows measured with at least 2 seeds")
        runs = per_seed[usable]
        mean = np.nanmean(runs, axis=1)
        variance = np.nanvar(runs, axis=1, ddof=1)
        edges = np.unique(np.quantile(mean, np.linspace(0, 1, bins + 1)[1:-1]))
        which = np.searchsorted(edges, mean, side="right")
        pooled = float(np.sqrt(variance.mean()))
        stds = [float(np.sqrt(variance[which == b].mean())) if np.any(which == b) else pooled
                for b in range(len(edges) + 1)]
        return cls(tuple(float(e) for e in edges), tuple(stds), "seeds")

    def std(self, mean: np.ndarray | float) -> np.ndarray:
        return np.asarray(self.stds)[np.searchsorted(np.asarray(self.edges), np.asarray(mean), side="right")]

    def to_json(self) -> dict[str, Any]:
        return {"edges": list(self.edges), "stds": list(self.stds), "source": self.source}

    @classmethod
    def from_json(cls, data: Any) -> NoiseModel:
        """The model ``to_json`` wrote; a ValueError saying what is wrong with anything else."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a noise model must be an object, got {type(data).__name__}")
        edges, stds, source = data.get("edges"), data.get("stds"), data.get("source", "given")
        for key, values in (("edges", edges), ("stds", stds)):
            if not isinstance(values, list) or not all(is_real(v) for v in values):
                raise ValueError(f"field {key!r} must be a list of numbers, got {values!r:.60}")
        if edges != sorted(edges) or not isinstance(source, str):
            raise ValueError("field 'edges' must be ascending and 'source' a string")
        return cls(tuple(float(e) for e in edges), tuple(float(v) for v in stds), source)


def _noise_model(spec: Any, metric: str, per_seed: np.ndarray | None) -> NoiseModel | None:
    if spec is None or isinstance(spec, NoiseModel):
        return spec
    if spec == "seeds":
        if per_seed is None:
            raise UsageError(f"noise model 'seeds' needs per-seed columns for {metric!r} (e.g. {metric}_seed0, "
                             f"{metric}_seed1); give a noise level (a standard deviation, e.g. 0.3) instead")
        return NoiseModel.from_seeds(per_seed)
    if is_number(spec):
        if not (np.isfinite(float(spec)) and float(spec) >= 0):
            raise UsageError(f"noise_model for metric {metric!r} must be a finite, non-negative standard deviation, "
                             f"got {spec!r}")
        return NoiseModel.constant(float(spec))
    raise UsageError(f"noise_model must be None, 'seeds', a standard deviation or a NoiseModel, got {spec!r}")


# -- training data -------------------------------------------------------------------------------
@dataclass
class _Data:
    archs: list[Architecture]
    values: dict[str, np.ndarray]
    per_seed: dict[str, np.ndarray]
    source: str
    aliases: dict[str, str]  # a metric -> the column it names (load_nb201's val_acc -> cifar100-val)
    selected: str | None = None  # which of a study's trials were used, when some were left out


def _collect(space: SearchSpace, data: Any, metrics: Sequence[str], arch_column: str,
             source: str | None = None) -> _Data:
    """Architectures and metric values from a table, a study or its trials, a DataFrame or a file (named
    ``source``, by default its own name, the file name or "table")."""
    if isinstance(data, TabularBenchmark):
        table = data
    else:
        source = source or getattr(data, "name", str(data) if isinstance(data, (str, Path)) else "table")
        frame = read_table(data.trials_dataframe() if hasattr(data, "trials_dataframe") else data)
        if "state" in frame.columns:  # a study's trials: complete ones of the search, one fidelity, repeats allowed
            trials, selected = search_trials(frame[frame["state"] == "COMPLETE"])
            collected = _from_trials(space, trials, metrics, arch_column, f"study {source}")
            collected.selected = selected
            return collected
        table = TabularBenchmark(frame, space, arch_column=arch_column, name=str(source))
    if table.space.name != space.name:
        raise UsageError(f"table {table.name!r} holds space {table.space.name!r}, not {space.name!r}")
    missing = [m for m in metrics if m not in table.metrics]
    if missing:
        from ..registry import did_you_mean

        raise UsageError(f"metric(s) {missing} not in table {table.name!r}{did_you_mean(missing[0], table.metrics)}; "
                         f"available: {table.metrics}")
    values = {m: np.asarray(table.values(m), dtype=np.float64) for m in metrics}
    per_seed = {m: table.seed_values(m) for m in metrics if m in table.seed_metrics}
    return _Data(list(table.archs), values, per_seed, source or table.name, dict(table.aliases))


def search_trials(frame: Any) -> tuple[Any, str | None]:
    """The rows of a study's trials (a ``trials_dataframe``/``nasforge trials`` frame) that one surrogate may pool:
    the search-stage ones (a stage-2 retrain measures a network trained otherwise), at the highest fidelity when
    they were measured at several (a trial without one counts as at the full budget, as ``Study.ranked`` does);
    and a sentence saying what was left out (None when nothing was). Fidelities that have no order (other keys,
    values that are no numbers) are a UsageError naming them."""
    from ..experiment._export import ATTR_PREFIX
    from ..experiment.stages import SEARCH, STAGE_KEY

    said = []
    column = next((c for c in (ATTR_PREFIX + STAGE_KEY, STAGE_KEY) if c in frame.columns), None)  # user attr first
    if column is not None:
        stage = frame[column].astype(object).where(frame[column].notna(), SEARCH).astype(str).replace("", SEARCH)
        others = stage[stage != SEARCH].value_counts()
        if len(others):
            frame = frame[stage == SEARCH]
            said.append(f"used the {len(frame)} search-stage trials, left out {int(others.sum())} of other stages "
                        f"({', '.join(f'{n} {name}' for name, n in others.items())})")
    if "fidelity" in frame.columns:
        texts = frame["fidelity"].astype(object).where(frame["fidelity"].notna(), None)
        fidelities, full = sorted({str(t) for t in texts if t is not None}), bool(texts.isna().any())
        if len(fidelities) + full > 1:
            budgets = _budgets(fidelities, full)
            top = max(budgets.values())
            keep = texts.map(lambda t: budgets[None if t is None else str(t)] == top).astype(bool)
            shown = next(k for k, v in budgets.items() if v == top) or "none (the full budget)"
            said.append(f"used the {int(keep.sum())} trials at the highest fidelity, {shown}, left out "
                        f"{int((~keep).sum())} measured at the {len(budgets) - 1} lower one(s) (a surrogate mixes "
                        "no fidelities)")
            frame = frame[keep]
    return frame, "; ".join(said) or None


def _budgets(fidelities: list[str], full: bool) -> dict[str | None, float]:
    """Each fidelity (JSON text such as ``{"epochs": 4}``; None, when ``full``, for trials without one) -> its
    budget, when they are ordered: every one an object of the same single key with a number."""
    budgets: dict[str | None, float] = {None: float("inf")} if full else {}
    keys = set()
    for text in fidelities:
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict) and len(value) == 1 and is_real(next(iter(value.values()))):
            keys.add(next(iter(value)))
            budgets[text] = float(next(iter(value.values())))
    if len(budgets) < len(fidelities) + full or len(keys) > 1:
        listed = ", ".join(fidelities[:5]) + (", ..." if len(fidelities) > 5 else "") + (", none" if full else "")
        raise UsageError(f"the trials were measured at {len(fidelities) + full} fidelities that have no order "
                         f"({listed}); a surrogate mixes no fidelities: keep the trials of one (the 'fidelity' "
                         "column) and fit on those")
    return budgets


def _from_trials(space: SearchSpace, frame: Any, metrics: Sequence[str], arch_column: str, source: str) -> _Data:
    missing = [m for m in [arch_column, *metrics] if m not in frame.columns]
    if missing:
        raise UsageError(f"the trials have no column(s) {missing}; columns: {list(frame.columns)}")
    check_metric_columns(frame, metrics, "the trials")
    frame = frame.dropna(subset=list(metrics))
    if frame.empty:
        raise UsageError(f"no complete trial has a value of every metric {list(metrics)}")
    try:
        archs = [space.parse(text) for text in frame[arch_column].astype(str)]
    except ValueError as exc:
        raise UsageError(f"the trials' column {arch_column!r}: {exc}") from None
    return _Data(archs, {m: frame[m].to_numpy(dtype=np.float64) for m in metrics}, {}, source, {})


def _split(archs: Sequence[Architecture], holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (held out, training) for a seeded ``holdout`` fraction of the architectures: the rows of one
    architecture (a study's repeated trials) are held out together, so no held-out architecture is also trained
    on. Without repeats, this is a seeded permutation of the rows. Distinct cells of one network (NB201
    isomorphs) are distinct architectures here, as they are distinct rows of the table they come from."""
    groups: dict[Architecture, list[int]] = {}
    for i, arch in enumerate(archs):
        groups.setdefault(arch, []).append(i)
    members = list(groups.values())
    order = np.random.default_rng(seed).permutation(len(members))
    n_held = int(round(holdout * len(members)))
    held = [i for g in order[:n_held] for i in members[g]]
    train = [i for g in order[n_held:] for i in members[g]]
    return np.array(held, dtype=np.int64), np.array(train, dtype=np.int64)


def check_metric_columns(frame: Any, metrics: Sequence[str], where: str) -> None:
    """Each metric column of a study's complete trials must be numeric and hold a value (UsageError naming it)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    for metric in metrics:
        column = frame[metric]
        if is_bool_dtype(column) or not is_numeric_dtype(column):
            example = next((v for v in column if isinstance(v, str)), None)
            raise UsageError(f"{where}: metric column {metric!r} is not numeric (dtype {column.dtype}"
                             f"{f', e.g. {example!r:.40}' if example is not None else ''}); choose a numeric column")
        if column.isna().all():
            raise UsageError(f"{where}: metric column {metric!r} has no values (all {len(column)} complete trials "
                             "lack it)")


def data_hash(space: SearchSpace, archs: Sequence[Architecture], values: Mapping[str, np.ndarray]) -> str:
    """SHA-256 of the training rows (architecture text and metric values), independent of row order."""
    rows = sorted(json.dumps([space.format(a), *(round(float(values[m][i]), 10) for m in sorted(values))])
                  for i, a in enumerate(archs))
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def library_versions(names: tuple[str, ...] = _LIBRARIES) -> dict[str, str]:
    """Installed versions of the libraries ``names`` (those not installed are left out): what a fit's figures depend
    on, recorded beside them."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


# -- the benchmark -------------------------------------------------------------------------------
class SurrogateBenchmark:
    """Predicted metrics for any architecture of a space, with an optional noisy draw per query."""

    def __init__(self, space: SearchSpace, models: Mapping[str, Any], noise: Mapping[str, NoiseModel | None],
                 manifest: Mapping[str, Any], holdout: Sequence[Architecture] = ()) -> None:
        self.space = space
        self.models = dict(models)
        self.noise = dict(noise)
        self.manifest = dict(manifest)
        self.holdout = list(holdout)

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def metrics(self) -> list[str]:
        return list(self.models)

    def __contains__(self, arch: object) -> bool:
        """A surrogate answers for every valid architecture of its space."""
        if not isinstance(arch, Architecture) or arch.space != self.space.name:
            return False
        try:
            self.space.validate(arch)
        except ValueError:
            return False
        return True

    # -- fitting -------------------------------------------------------------------------------
    @classmethod
    def fit(cls, space: SearchSpace | str, data: Any, metrics: str | Sequence[str] = "val_acc", model: str = "lgb",
            model_params: Mapping[str, Any] | None = None, noise_model: Any = None, holdout: float = 0.1,
            seed: int = 0, version: str = "1.0", name: str | None = None,
            arch_column: str = "arch", source: str | None = None, dataset: str | None = None) -> SurrogateBenchmark:
        """Fit one ``model`` predictor per metric on ``data``, architectures of ``space`` (or its name).

        ``data``: a ``TabularBenchmark``, a study (anything with ``trials_dataframe()``), a
        DataFrame or a table file; a frame with a ``state`` column is read as a study's trials
        (complete ones are used, repeated architectures allowed). A seeded ``holdout`` fraction of the
        architectures (all rows of each) is kept aside to measure the
        fitted models. ``noise_model``: None (queries return the mean),
        ``"seeds"`` (learned from the table's per-seed columns), a standard deviation, a
        ``NoiseModel``, or a dict giving one of these per metric. ``source`` names the training data in the
        manifest (default: the table's or study's name, or the file name; a DataFrame is "table").

        ``name`` defaults to ``<space>-<model>-v<version>``; ``dataset`` (the data set the values were measured
        on, e.g. ``"cifar100"``) other than cifar10 goes into it, ``<space>-<dataset>-<model>-v<version>``, so
        surrogates of one table's data sets can be told apart. Left out, it is the NAS-Bench-201 data set the
        metrics name (``cifar100-val``, or ``val_acc`` of ``load_nb201(dataset="cifar100")``); one that is not theirs
        is refused. ``version`` and ``dataset`` are plain words
        (letters, digits and . _ + -, starting with a letter or digit), ``name`` a non-empty text.
        """
        from ..predictors import get_predictor, score_all
        from ..predictors.registry import refuse_seed

        refuse_seed(model_params or {}, "model_params", "pass seed=... to SurrogateBenchmark.fit (it seeds the "
                    "hold-out split and the models)")
        space = as_space(space)
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        if not metrics:
            raise UsageError("name at least one metric to model")
        twice = next((m for i, m in enumerate(metrics) if m in metrics[:i]), None)
        if twice is not None:
            raise UsageError(f"metrics names {twice!r} twice; name each metric once")
        check_real("holdout", holdout, lambda v: 0 <= v < 1, "a fraction in [0, 1)")
        check_int("seed", seed)
        check_word("version", version)
        if dataset is not None:
            check_word("dataset", dataset)
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise UsageError(f"name must be a non-empty text naming the surrogate (or None for the default), "
                             f"got {name!r}")
        if source is not None and (not isinstance(source, str) or not source):
            raise UsageError(f"source must be a non-empty text naming the training data, got {source!r}")
        collected = _collect(space, data, metrics, arch_column, source)
        dataset = _measured_on(dataset, metrics, collected.aliases)
        n = len(collected.archs)
        held, train = _split(collected.archs, holdout, seed)
        if len(train) < 2:
            raise UsageError(f"only {len(train)} training rows after holding out {len(held)} of {n}")
        train_archs = [collected.archs[i] for i in train]
        held_archs = [collected.archs[i] for i in held]
        if isinstance(noise_model, Mapping):
            unknown = sorted(set(noise_model) - set(metrics))
            if unknown:
                raise UsageError(f"noise_model names metric(s) {unknown} that are not modelled ({metrics})")
        noisy = [m for m in metrics if (noise_model.get(m) if isinstance(noise_model, Mapping) else noise_model)
                 is not None]
        clash = [m for m in noisy if f"{m}_std" in metrics]
        if clash:
            raise UsageError(f"metric {clash[0] + '_std'!r} collides with the noise level that query() reports as "
                             f"'{clash[0]}_std' for metric {clash[0]!r}; rename that column, or fit {clash[0]!r} "
                             "without a noise model")
        noise = {}  # every noise spec is checked before any model is fitted
        for metric in metrics:
            spec = noise_model.get(metric) if isinstance(noise_model, Mapping) else noise_model
            per_seed = collected.per_seed.get(metric)  # the noise is learned from the training rows only
            noise[metric] = _noise_model(spec, metric, None if per_seed is None else per_seed[train])
        models, entries, folders = {}, {}, model_folders(metrics)
        for metric in metrics:
            y = collected.values[metric]
            if not np.all(np.isfinite(y)):
                raise UsageError(f"metric {metric!r} has {int(np.sum(~np.isfinite(y)))} missing/NaN values")
            target_values(y, y.size, name=f"metric {metric!r}")  # not too large to scale
            predictor = get_predictor(model, space, seed=seed, **dict(model_params or {}))
            models[metric] = predictor.fit(train_archs, y[train])
            if len(held) >= 2:
                predicted = finite_predictions(predictor.predict(held_archs), f"model {model!r} of metric {metric!r} "
                                               f"({len(train)} training rows, seed {seed})")
                scores = score_all(y[held], predicted)
            else:
                scores = {}
            scores = {k: v if np.isfinite(v) else None for k, v in scores.items()}  # NaN (constant input): null
            entries[metric] = {"predictor": model, "folder": folders[metric], "holdout": scores,
                               "noise": noise[metric].to_json() if noise[metric] else None}
        manifest = {
            "format": ARTIFACT_FORMAT, "format_version": FORMAT_VERSION,
            "name": name or default_name(space.name, model, version, dataset), "version": version,
            "space": space.name,
            "space_config": _record_in_memory(space),
            "metrics": entries,
            "training_data": {"source": collected.source, "rows": n, "train_rows": len(train),
                              "holdout_rows": len(held), "seed": seed,
                              "sha256": data_hash(space, collected.archs, collected.values),
                              **({"selected": collected.selected} if collected.selected else {})},
            "libraries": library_versions(),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        return cls(space, models, noise, manifest, held_archs)

    # -- queries -------------------------------------------------------------------------------
    def predict(self, archs: Sequence[Architecture], metric: str | None = None) -> np.ndarray:
        """Predicted mean of ``metric`` (default: the first) for a list of architectures."""
        return self._model(metric).predict(archs)

    def query(self, arch: Architecture | str, rng: np.random.Generator | int | None = None) -> dict[str, float]:
        """Every metric's predicted mean for ``arch`` (an Architecture or its text form, as a table takes); with
        ``rng`` (a Generator, or an int seed as for spaces), metrics with a noise model are a noisy draw
        (``<metric>_std`` reports the noise level; ``fit`` refuses a metric of that name), like one training run
        of ``arch``."""
        if isinstance(arch, str):
            try:
                arch = self.space.parse(arch)
            except ValueError as exc:
                told = foreign_form_retold(str(exc), f"surrogate {self.name!r} models space {self.space.name!r}")
                raise UsageError(f"{arch!r} is not an architecture of space {self.space.name!r}: {told}") from None
        self.space.check(arch)
        rng = None if rng is None else as_rng(rng)
        out: dict[str, float] = {}
        for metric, model in self.models.items():
            mean = float(model.predict([arch])[0])
            noise = self.noise.get(metric)
            out[metric] = mean
            if noise is not None:
                std = float(noise.std(mean))
                out[f"{metric}_std"] = std
                if rng is not None:
                    out[metric] = float(mean + std * rng.standard_normal())
        return out

    def _model(self, metric: str | None) -> Any:
        metric = metric or self.metrics[0]
        if metric not in self.models:
            raise UnknownMetricError(f"metric {metric!r} not in surrogate {self.name!r}; available: {self.metrics}")
        return self.models[metric]

    def fitted_on(self, table: TabularBenchmark) -> bool | None:
        """Whether ``table`` holds the data this surrogate was fitted on: the same rows and values of its metrics
        (the manifest's ``training_data.sha256``), whatever the file is called. None where that cannot be told:
        a surrogate fitted on a study's trials (any table of its space may score it) or a manifest without it."""
        data = self.manifest["training_data"]
        source, recorded = data.get("source"), data.get("sha256")
        if not isinstance(recorded, str) or (isinstance(source, str) and source.startswith("study ")):
            return None
        if table.space.name != self.space.name or not set(self.metrics) <= set(table.metrics):
            return False
        values = {m: np.asarray(table.values(m), dtype=np.float64) for m in self.metrics}
        return data_hash(self.space, table.archs, values) == recorded

    # -- files ---------------------------------------------------------------------------------
    def save(self, folder: str | Path, overwrite: bool = False) -> Path:
        """Write the artifact folder (one model folder per metric, held-out archs, then the manifest
        with the SHA-256 of every model file); ``folder`` must be new or empty, or with ``overwrite`` hold a
        surrogate and nothing else, which is replaced once the new one is written (a failed save keeps it).

        The files go into a private staging folder (see :func:`staging_place`), moved into place at the end: an
        empty ``folder`` is filled in place (it keeps its permissions, owner and mount), a new one or a replaced
        surrogate is renamed into place whole. A save that finds ``folder`` filled meanwhile (another run saved
        there) is refused and keeps what is there; a failed save removes only its staging folder (and folders
        above it that it created)."""
        if self.manifest["space_config"] is None and self.space.name == "model_space":
            space_record(self.space)  # a model space that cannot be rebuilt by name: its UsageError says why
        shown = Path(folder)
        replacing = overwrite and (shown / MANIFEST_FILE).exists()
        check_replaceable(shown) if replacing else check_new_folder(shown)
        out = Path(os.path.realpath(shown))  # a link's target is filled or replaced, the link kept; "." gets a name
        place = staging_place(out, replacing)
        _remove_dead_stagings(place, DEAD_TEMPORARY_AGE)  # beside out: those of killed saves of any folder there
        with new_folders_removed_on_failure(place):
            place.mkdir(parents=True, exist_ok=True)
            staging = place / f"{_STAGING_PREFIX}{os.getpid()}.{uuid.uuid4().hex[:8]}"  # short: any --out name fits
            try:
                try:
                    self._write(staging)
                except UsageError:
                    if place == out and (out / MANIFEST_FILE).exists():
                        _refuse_filled(shown)  # another run saved there meanwhile: its artifact now encloses ours
                    raise
                if place == out:
                    _fill_in_place(staging, out, shown)
                else:
                    _move_into_place(staging, out, shown, overwrite)
            finally:
                shutil.rmtree(staging, ignore_errors=True)  # gone already when it was moved into place
        return shown

    def _write(self, out: Path) -> None:
        out.mkdir()  # a new folder of this save's own
        for metric, model in self.models.items():
            entry = self.manifest["metrics"][metric]
            folder = inside(out, entry["folder"], f"the model folder of metric {metric!r}")
            model.save(folder)
            entry["files"] = file_checksums(folder)
        (out / HOLDOUT_FILE).write_text(json.dumps([self.space.format(a) for a in self.holdout]))
        self.manifest["holdout_sha256"] = sha256_of(out / HOLDOUT_FILE)
        (out / MANIFEST_FILE).write_text(json.dumps(self.manifest, indent=1, allow_nan=False))

    @classmethod
    def load(cls, folder: str | Path, space: SearchSpace | str | None = None,
             verify: bool = True) -> SurrogateBenchmark:
        """Read an artifact written by ``save``; ``space`` (optional, a space or its name) must be the artifact's.

        Every model file's SHA-256 is checked against the manifest before it is parsed
        (:class:`UnsafeFileError` if one differs). ``verify=False`` loads an artifact of format 1,
        which has no checksums, trusting its files. One fitted on inputs encoded otherwise now (see
        :func:`encoding_note`) loads with an ``EncodingChangedWarning`` saying to refit it.
        """
        from ..predictors import load_predictor
        from ..predictors.encodings import EncodingChangedWarning

        check_path("folder", folder, "a surrogate's folder")
        root = Path(folder)
        given = None if space is None else as_space(space)
        manifest, stored, holdout = check_artifact(root, verify, given)
        space = stored if given is None else given
        # a manifest without the options (older NB201 ones) fits any options of its space
        recorded = manifest.get("space_config") is not None
        ours = (manifest["space_config"] if stored is given else space_record(stored)) if recorded else {}
        ours, theirs = (ours or {}, space_record(space) or {}) if recorded else ({}, {})
        if space.name != manifest["space"] or ours != theirs:
            differ = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
            what = (f"not {space.name!r}" if space.name != manifest["space"] else
                    f"not one with other {', '.join(differ)} (as given)")
            raise UsageError(f"surrogate {manifest['name']!r} was fitted on space {manifest['space']!r}, {what}: "
                             "load it without a space, or with the one it was fitted on")
        models, noise = {}, {}
        for metric, entry in manifest["metrics"].items():
            models[metric] = load_predictor(root / entry["folder"], space, warn=False)  # one warning, below
            noise[metric] = NoiseModel.from_json(entry["noise"]) if entry.get("noise") is not None else None
        note = encoding_note(root, manifest, space)
        if note:
            warnings.warn(note, EncodingChangedWarning, stacklevel=user_stacklevel())
        return cls(space, models, noise, manifest, holdout)

    def __repr__(self) -> str:
        return f"SurrogateBenchmark({self.name!r}, space={self.space.name!r}, metrics={self.metrics})"


def check_new_folder(folder: str | Path, flag: str = "overwrite=True") -> None:
    """Refuse (``UsageError``) a folder that already holds a surrogate or anything else: a save mixes
    nothing into it and overwrites nothing. A folder that does not exist yet, or is empty, is fine.
    ``flag`` is how the refusal names the way to replace a surrogate (``--overwrite`` on the command line)."""
    out = Path(folder)
    _refuse_inside_artifact(out)
    if (out / MANIFEST_FILE).exists():
        raise UsageError(f"{out} already holds a surrogate; choose a new folder for a new version, "
                         f"or pass {flag} to replace it")
    if out.exists() and not out.is_dir():
        raise UsageError(f"cannot save a surrogate into {out}: it is a file, not a folder")
    _remove_dead_stagings(out, 0.0)  # inside out: this folder's own saves, however fresh (a rerun after a kill)
    entries = sorted(e.name for e in out.iterdir()) if out.exists() else []
    if _CLAIM_FILE in entries and not _claim_alive(out / _CLAIM_FILE):
        raise UsageError(f"cannot save a surrogate into {out}: a save into it was stopped while it moved its files in "
                         f"(it left {_CLAIM_FILE}); remove what the folder holds to save there, or choose a new "
                         "folder")
    live = [e for e in entries if e.startswith(_STAGING_PREFIX)]
    if live:
        raise UsageError(f"cannot save a surrogate into {out}: another save into it is running ({live[0]}); choose "
                         "a new folder")
    if entries:
        raise UsageError(f"cannot save a surrogate into {out}: the folder is not empty (it holds "
                         f"{', '.join(entries[:5])}{', ...' if len(entries) > 5 else ''}); choose a new folder")


def _remove_dead_stagings(folder: Path, min_age: float) -> None:
    """Remove the staging folders in ``folder`` of saves whose process is gone (killed while they wrote their files,
    or while they removed the surrogate they replaced, moved aside as ``STAGING.old``), as their own save would
    have, once unchanged for ``min_age`` seconds (a fresh one beside others may be another machine's save). A
    surrogate moved aside stays while the staging folder that was to take its place is there too (killed between the
    two renames): it is then the only copy of the surrogate replaced, and that staging folder stays beside it."""
    from ..experiment.identity import pid_gone

    try:
        names = [name for name in os.listdir(folder) if name.startswith(_STAGING_PREFIX)]
    except OSError:  # none yet, or not readable: nothing to remove
        return
    for name in names:
        pid = name[len(_STAGING_PREFIX):].split(".")[0]
        staging = name.removesuffix(".old")
        if not (pid.isdigit() and 0 < int(pid) < 2 ** 31) or {staging, f"{staging}.old"} <= set(names):
            continue
        entry = folder / name
        with contextlib.suppress(OSError):  # (gone meanwhile)
            if entry.is_dir() and not entry.is_symlink() and pid_gone(int(pid)) \
                    and (not min_age or unchanged_for(entry) >= min_age):
                shutil.rmtree(entry, ignore_errors=True)


def _claim_alive(claim: Path) -> bool:
    """Whether the process that wrote the claim file ``claim`` still runs (an unreadable claim: it does not)."""
    try:
        pid = claim.read_text().strip()
    except OSError:
        return False
    from ..experiment.identity import pid_gone

    return pid.isdigit() and not pid_gone(int(pid))


def staging_place(out: Path, replacing: bool) -> Path:
    """The folder a save of ``out`` (a real path) stages its files in, which must be writable: ``out`` itself
    where it is an existing folder to fill (not ``replacing`` a surrogate), else the folder that holds it."""
    return out if out.is_dir() and not replacing else out.parent


def _fill_in_place(staging: Path, out: Path, shown: Path) -> None:
    """Move the entries of the saved artifact ``staging`` (a folder inside the empty folder ``out``) into ``out``,
    the manifest last. ``out`` is claimed first by creating its claim file exclusively (holding this PID; removed
    once the manifest is in): a ``UsageError`` when that fails or ``out`` holds anything but staging folders
    (another run saved there); what is there is kept. A failure while moving puts the moved entries back."""
    claim = out / _CLAIM_FILE
    try:
        fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        _refuse_filled(shown)
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    moved: list[str] = []
    try:
        if any(e.name != _CLAIM_FILE and not e.name.startswith(_STAGING_PREFIX) for e in out.iterdir()):
            _refuse_filled(shown)
        for entry in sorted(e.name for e in staging.iterdir() if e.name != MANIFEST_FILE):
            os.rename(staging / entry, out / entry)
            moved.append(entry)
        os.replace(staging / MANIFEST_FILE, out / MANIFEST_FILE)  # the artifact is complete from here on
    except BaseException:
        for entry in moved:
            with contextlib.suppress(OSError):
                os.rename(out / entry, staging / entry)
        claim.unlink(missing_ok=True)
        raise
    claim.unlink(missing_ok=True)


def _refuse_filled(shown: Path) -> NoReturn:
    """The UsageError of a save whose folder another run filled meanwhile."""
    raise UsageError(f"cannot save a surrogate into {shown}: it was filled while the surrogate was fitted "
                     "(another run saved there?); it was left as it is: choose a new folder")


def _move_into_place(staging: Path, out: Path, shown: Path, overwrite: bool) -> None:
    """Move the saved artifact ``staging`` (beside ``out``) to ``out`` (``shown``: as the caller named it) in one
    rename: onto a missing folder, or, with ``overwrite``, in place of the surrogate there once it is checked again
    (the old one is removed only after the new one took its place). A ``UsageError`` when ``out`` was filled or
    changed while the surrogate was fitted; what is there is kept."""
    if overwrite and (out / MANIFEST_FILE).exists():
        check_replaceable(shown)  # still a surrogate and nothing else, now that the new one is ready
        old = staging.with_name(f"{staging.name}.old")
        out.rename(old)
        try:
            staging.rename(out)
        except OSError:
            old.rename(out)  # the old artifact back in place
            raise
        shutil.rmtree(old)
        return
    try:
        staging.rename(out)  # fails unless out is missing or an empty folder
    except OSError as exc:
        if not out.is_dir() or any(out.iterdir()):
            _refuse_filled(shown)
        raise UsageError(f"cannot save a surrogate into {shown}: {exc.strerror or exc}") from None


def check_replaceable(folder: str | Path) -> None:
    """Refuse (``UsageError``) to replace ``folder`` unless it holds a surrogate whose files are all as its manifest
    lists them (as ``check_artifact`` checks them for ``load``) and nothing else: ``--overwrite`` replaces an
    artifact, never files a user put beside it or into its model folders, nor one damaged."""
    out = Path(folder)
    _refuse_inside_artifact(out)
    try:
        manifest = read_manifest(out)
        _check_models(out, manifest, verify=True)
        _check_holdout_checksum(out, manifest)
    except (UnsafeFileError, MissingFileError, NewerFormatError) as exc:  # a surrogate's, unreadable here
        reason = re.sub(r"; (refit or restore the surrogate|refit the surrogate, or load it .*)$", "", str(exc))
        raise type(exc)(f"cannot replace the surrogate in {out}: {reason}; replacing needs a surrogate this nasforge "
                        "reads: remove the folder yourself (keeping what you need of it) to fit a new one there, or "
                        "choose another folder") from None
    folders = [Path(entry["folder"]) for entry in manifest["metrics"].values()]
    tops = {folder.parts[0] for folder in folders}  # "a/b" (older fits) is in a
    listed = {(folder / rel).as_posix() for folder, entry in zip(folders, manifest["metrics"].values())
              for rel in entry["files"]}
    others = sorted(e.name for e in out.iterdir() if e.name not in {MANIFEST_FILE, HOLDOUT_FILE, *tops})
    others += [rel for rel in file_names(out, sorted(tops)) if rel not in listed]  # e.g. a/notes.txt beside a/b
    if others:
        raise UsageError(f"cannot replace the surrogate in {out}: the folder also holds "
                         f"{', '.join(others[:5])}{', ...' if len(others) > 5 else ''}; nothing was overwritten")


def _refuse_inside_artifact(out: Path) -> None:
    """A UsageError when ``out`` lies inside another artifact (a surrogate's model folder, a saved predictor or
    network), whose files a save there would change or break."""
    found = enclosing_artifact(out)
    if found is not None:
        raise UsageError(f"cannot save a surrogate into {out}: it lies inside {found[0]} {found[1]}, whose files a "
                         "save there would change or break; choose a folder outside it")


def check_artifact(folder: str | Path, verify: bool = True,
                   given: SearchSpace | None = None) -> tuple[dict[str, Any], SearchSpace, list[Architecture]]:
    """Everything ``SurrogateBenchmark.load`` checks short of parsing the model files (``surrogate info`` uses it,
    so the two refuse the same artifacts): the manifest, each model file's checksum (with ``verify``), that each
    model folder holds the predictor and space the manifest names, and ``holdout.json``. Returns the manifest,
    its space and the held-out architectures; the space is ``given`` where it has the manifest's space name and no
    space of that name is registered here (a user's own space, e.g. from ``--space-module``)."""
    root = Path(folder)
    manifest = read_manifest(root)
    _check_models(root, manifest, verify)
    if _rebuilt_here(manifest):
        space = _space_of(manifest, root / MANIFEST_FILE)
    elif given is not None and given.name == manifest["space"]:
        recorded, options = manifest.get("space_config"), space_record(given) or {}
        if recorded is not None and recorded != options:
            raise UsageError(f"surrogate {root} was fitted on space {manifest['space']!r} with options {recorded}, "
                             f"not {options} (as given)")
        space = given
    else:
        raise UsageError(f"surrogate {root} was fitted on space {manifest['space']!r}, which is no space registered "
                         "here (a space of your own?): load it with that space (SurrogateBenchmark.load(folder, "
                         "space); nasforge surrogate eval --space-module FILE.py:NAME), or register it with "
                         "register_space")
    return manifest, space, _read_holdout(root, space, manifest, verify)


def encoding_note(folder: str | Path, manifest: Mapping[str, Any], space: SearchSpace) -> str | None:
    """Why a surrogate (its checked ``manifest`` and ``space``, as ``check_artifact`` returns them) predicts
    otherwise than when it was fitted, with the command that refits it: one of format 3 or older (encoding
    revision 1) whose models take graph encodings of a space whose canonical form can differ from a genotype
    (NAS-Bench-101, DARTS, a chain with stages); else None."""
    from ..predictors.registry import fitted_on_old_inputs

    root = Path(folder)
    if manifest["format_version"] >= 4:
        return None
    records = [json.loads((root / entry["folder"] / PREDICTOR_FILE).read_text(encoding="utf-8"))
               for entry in manifest["metrics"].values()]
    if not any(fitted_on_old_inputs(record, space) for record in records):
        return None
    return (f"surrogate {manifest['name']!r} in {root} was fitted with encoding revision 1 (artifact format "
            f"{manifest['format_version']}), before the canonical graph encodings: the graph encodings of space "
            f"{space.name!r} then described each architecture as written; they now describe its canonical form, so "
            "its predictions differ from when it was fitted and the held-out scores in its manifest no longer "
            f"describe it: refit it, e.g. {refit_command(root, manifest, space)}")


def refit_command(root: Path, manifest: Mapping[str, Any], space: SearchSpace) -> str:
    """A shell command that fits the surrogate of ``manifest`` in ``root`` again, in its place: same table, space
    (its recorded options written to ``<root>.space.json`` first where the space needs them), metrics, model,
    seed and name, then what the manifest does not record and must be added by hand."""
    from ..spaces import ChainSpace
    from .nb201 import NB201_DATASETS

    data, entries = manifest["training_data"], list(manifest["metrics"].values())
    model, version, source = entries[0]["predictor"], str(manifest["version"]), str(data["source"])
    table = source if Path(source).is_file() else "TABLE"
    config, prefix = manifest.get("space_config"), ""
    registered = manifest["space"] in available_spaces()
    if registered and _default_options(manifest["space"]) == config:
        space_args = f"--space {manifest['space']}"
    elif config and (registered or isinstance(space, ChainSpace)):
        file = f"{root}.space.json"
        prefix = f"printf '%s\\n' {shlex.quote(json.dumps(config))} > {shlex.quote(file)} && "
        space_args = f"--space {'chain' if isinstance(space, ChainSpace) else manifest['space']} " \
                     f"--space-config {shlex.quote(file)}"
    else:
        space_args = "--space-module FILE.py:NAME"
    metrics = list(manifest["metrics"])
    named = next((d for d in NB201_DATASETS if any(m.startswith(f"{d}-") for m in metrics)), None)  # as fit names
    dataset = next((d for d in NB201_DATASETS if manifest["space"] == "nb201" and d != named
                    and manifest["name"] == default_name(manifest["space"], model, version, d)), None)
    command = (f"{prefix}nasforge surrogate fit {space_args} --table {shlex.quote(table)} --metrics "
               f"{shlex.quote(','.join(metrics))} --model {shlex.quote(model)} --seed {data['seed']} "
               f"--artifact-version {shlex.quote(version)}{f' --dataset {dataset}' if dataset else ''} "
               f"--out {shlex.quote(str(root))} --overwrite")
    notes = ["with the --params, --noise and --holdout it was fitted with, and --arch-column where its table's "
             "architectures are not in column 'arch'"]
    if table == "TABLE":
        notes.append(f"TABLE: its training data, {source!r}")
    if space_args.startswith("--space-module"):
        notes.append(f"FILE.py:NAME: the factory of its space {manifest['space']!r}")
    if dataset is None and manifest["name"] != default_name(manifest["space"], model, version, named):
        notes.append(f"this command names it {default_name(manifest['space'], model, version, named)!r}, not "
                     f"{manifest['name']!r}, which SurrogateBenchmark.fit(..., name=... or dataset=...) gave it")
    return f"{command} ({'; '.join(notes)})"


def _default_options(name: str) -> Any:
    """The options ``space_record`` records for registered space ``name`` built without any (a marker object
    where it needs some, e.g. ``chain``'s layers)."""
    try:
        return space_record(get_space(name))
    except (UsageError, TypeError, ValueError):
        return object()


def _check_models(root: Path, manifest: Mapping[str, Any], verify: bool) -> None:
    """Each model folder of the artifact ``root`` holds the files its ``manifest`` lists, with their checksums
    (with ``verify``), and nothing else, and the predictor and space the manifest names."""
    for metric, entry in manifest["metrics"].items():
        if verify:
            verify_checksums(root / entry["folder"], entry.get("files"), f"model of metric {metric!r}")
        _check_model_record(root, manifest, metric)


def _check_model_record(root: Path, manifest: Mapping[str, Any], metric: str) -> None:
    """The model folder of ``metric`` must hold the predictor and space the manifest names (``load_predictor``
    checks the rest of its record)."""
    entry = manifest["metrics"][metric]
    path = root / entry["folder"] / PREDICTOR_FILE
    if not path.is_file():
        raise MissingFileError(f"surrogate {root} lacks {path.relative_to(root)}, the record of the model of metric "
                               f"{metric!r}")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnsafeFileError(f"{path} is not a saved predictor record ({exc})") from None
    if not isinstance(record, dict):
        raise UnsafeFileError(f"{path} is not a saved predictor record (not a JSON object)")
    where = root / MANIFEST_FILE
    if isinstance(record.get("predictor"), str) and record["predictor"] != entry["predictor"]:
        raise UnsafeFileError(f"{where}: field metrics.{metric}.predictor is {entry['predictor']!r}, but the model "
                              f"folder holds a {record['predictor']!r} predictor")
    space_differs = isinstance(record.get("space"), str) and record["space"] != manifest["space"]
    # a model records a chain's layers, not NB201's rule (its predictions do not depend on it)
    config_differs = record.get("space_config") is not None and "space_config" in manifest and (
        record["space_config"] != manifest["space_config"])
    if space_differs or config_differs:
        raise UnsafeFileError(f"{where}: field 'space'/'space_config' ({manifest['space']!r}) is not the space the "
                              f"model of metric {metric!r} was fitted on ({record.get('space')!r})")


def _check_training_data(data: dict[str, Any], path: Path) -> None:
    """``UnsafeFileError`` naming the first damaged field of a manifest's ``training_data``."""
    if not isinstance(data.get("source"), str) or not data["source"]:
        raise UnsafeFileError(f"{path}: field training_data.source is missing or not a text")
    for key in ("rows", "train_rows", "holdout_rows", "seed"):
        value = data.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or (value < 0 and key != "seed"):
            raise UnsafeFileError(f"{path}: field training_data.{key} is missing or not a whole number")
    if data["rows"] != data["train_rows"] + data["holdout_rows"]:
        raise UnsafeFileError(f"{path}: field training_data.rows ({data['rows']}) is not train_rows + holdout_rows "
                              f"({data['train_rows']} + {data['holdout_rows']})")
    sha = data.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise UnsafeFileError(f"{path}: field training_data.sha256 is missing or not a SHA-256 hex digest")


_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
DEFAULT_DATASET = "cifar10"  # the data set a default artifact name leaves out


def check_word(what: str, value: Any) -> str:
    """``value`` must be a word that keeps an artifact name one plain word (no path, never empty)."""
    if isinstance(value, int) and not isinstance(value, bool):  # version=2, as before the check
        value = str(value)
    if not isinstance(value, str) or not _WORD.fullmatch(value):
        raise UsageError(f"{what} must be letters, digits and . _ + - starting with a letter or digit, e.g. 1.0 "
                         f"or 2.1rc1, got {value!r}")
    return value


def _measured_on(dataset: str | None, metrics: Sequence[str], aliases: Mapping[str, str]) -> str | None:
    """``dataset``, else the one NAS-Bench-201 data set the metrics' columns name (``cifar100-val``, or an alias of
    it such as load_nb201's ``val_acc``), None where they name none or several; a ``dataset`` none of them names is
    a UsageError (metrics of two data sets take the one ``dataset`` names)."""
    from .nb201 import NB201_DATASETS

    named = {}
    for metric in metrics:
        column = aliases.get(metric, metric)
        measured, _, split = column.rpartition("-")
        if measured in NB201_DATASETS and split in ("val", "test"):
            named[metric] = measured
    found = set(named.values())
    if dataset is not None and found and dataset not in found:
        columns = ", ".join(f"{m} is {aliases[m]}" if m in aliases else m for m in named)
        raise UsageError(f"dataset {dataset!r}: the metrics are columns of another data set ({columns}); name "
                         f"{' or '.join(sorted(found))}, or leave dataset out")
    return dataset if dataset is not None else found.pop() if len(found) == 1 else None


def model_folders(metrics: Sequence[str]) -> dict[str, str]:
    """Each metric's model folder in an artifact: a plain word (letters, digits and . _ + -, starting with a letter
    or digit; at most 100 characters) that names no other file there. That is the metric itself where it is one;
    another metric name (a column of the user's table: ``val/acc``, ``../x``, ``.``, a whole path) gets one made
    of it, other characters as ``_`` (``val_acc``), a number added where two would clash (``val_acc-2``)."""
    taken = {MANIFEST_FILE.casefold(), HOLDOUT_FILE.casefold()}  # casefolded: a file system may ignore case
    folders: dict[str, str] = {}
    for metric in metrics:
        if _WORD.fullmatch(metric) and len(metric) <= 100 and metric.casefold() not in taken:
            folders[metric] = metric
            taken.add(metric.casefold())
    for metric in (m for m in metrics if m not in folders):
        word = re.sub(r"[^A-Za-z0-9._+-]+", "_", metric)[:100].lstrip("._+-") or "metric"
        folder, n = word, 1
        while folder.casefold() in taken:
            n += 1
            folder = f"{word}-{n}"
        taken.add(folder.casefold())
        folders[metric] = folder
    return {m: folders[m] for m in metrics}


def default_name(space: str, model: str, version: str, dataset: str | None = None) -> str:
    """A surrogate's default name: ``<space>-<model>-v<version>``, with a data set other than cifar10 after the
    space (``nb201-cifar100-lgb-v1.0``)."""
    middle = f"{dataset}-" if dataset not in (None, DEFAULT_DATASET) else ""
    return f"{space}-{middle}{model}-v{version}"


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The validated manifest of a surrogate artifact folder (every model folder inside it)."""
    root = Path(folder)
    path = root / MANIFEST_FILE
    if root.is_file() and root.name == MANIFEST_FILE:
        raise UsageError(f"{root} is a surrogate's {MANIFEST_FILE}: pass its folder, {root.parent}")
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} is a file, not a surrogate folder")
    if not root.is_dir():
        looked = "" if root.is_absolute() else f" (looked for {root.absolute()})"
        raise MissingFileError(f"surrogate folder not found: {root}{looked}")
    if not path.is_file():
        if (root / PREDICTOR_FILE).is_file():
            raise UsageError(f"{root} is not a surrogate artifact: it holds a saved predictor ({PREDICTOR_FILE}, "
                             "written by Predictor.save); load it with nasforge.predictors.load_predictor")
        raise UsageError(f"{root} is not a surrogate artifact: {MANIFEST_FILE} is missing")
    try:
        manifest = loads(path.read_text(encoding="utf-8"))
    except JSONLimitError as exc:
        raise UnsafeFileError(f"{path} {exc}") from None
    except ValueError as exc:  # not UTF-8, or not JSON
        raise UnsafeFileError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != ARTIFACT_FORMAT:
        raise UsageError(f"{path} is not a nasforge surrogate manifest (format {manifest.get('format')!r})"
                         if isinstance(manifest, dict) else f"{path} is not a nasforge surrogate manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:  # formats start at 1
        raise UnsafeFileError(f"{path}: field format_version is missing or not a version number ({version!r})")
    if version > FORMAT_VERSION:
        raise NewerFormatError(f"surrogate {root} has artifact format version {version}; this nasforge reads "
                               f"versions up to {FORMAT_VERSION} (upgrade nasforge or refit the surrogate)")
    missing = [k for k in ("name", "space", "metrics", "training_data") if k not in manifest]
    if missing:
        raise UnsafeFileError(f"{path} lacks the field(s) {missing}")
    if not isinstance(manifest["metrics"], dict) or not manifest["metrics"]:
        raise UnsafeFileError(f"{path}: field 'metrics' lists no metric models")
    if not isinstance(manifest["training_data"], dict):
        raise UnsafeFileError(f"{path}: field 'training_data' must be an object")
    if not isinstance(manifest["name"], str) or not isinstance(manifest["space"], str) or not manifest["name"]:
        raise UnsafeFileError(f"{path}: fields 'name' and 'space' must be strings (a name not empty)")
    _check_training_data(manifest["training_data"], path)
    if _rebuilt_here(manifest):  # a user's own space is checked where it is given (check_artifact)
        _space_of(manifest, path)
    libraries = manifest.get("libraries", {})
    if not isinstance(libraries, dict) or not all(isinstance(v, str) for v in libraries.values()):
        raise UnsafeFileError(f"{path}: field 'libraries' must map library names to version strings")
    for metric, entry in manifest["metrics"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("folder"), str):
            raise UnsafeFileError(f"{path}: field metrics.{metric}.folder is missing or not a string")
        if not isinstance(entry.get("predictor"), str):
            raise UnsafeFileError(f"{path}: field metrics.{metric}.predictor is missing or not a string")
        _check_scores(entry.get("holdout") or {}, f"{path}: field metrics.{metric}.holdout")
        if entry.get("noise") is not None:
            try:
                NoiseModel.from_json(entry["noise"])
            except ValueError as exc:
                raise UnsafeFileError(f"{path}: field metrics.{metric}.noise is damaged ({exc})") from None
        model_dir = inside(root, entry["folder"], f"{path}: field metrics.{metric}.folder")
        if not model_dir.is_dir():
            raise UnsafeFileError(f"surrogate {root} lacks the model folder {entry['folder']!r} of metric {metric!r}")
    return manifest


# The range of each held-out score (a little float slack): rank correlations, R2 at most 1, errors not negative.
_SCORE_RANGES = {"kendall_tau": (-1.0, 1.0), "sparse_kendall_tau": (-1.0, 1.0), "spearman": (-1.0, 1.0),
                 "r2": (-np.inf, 1.0), "mae": (0.0, np.inf), "rmse": (0.0, np.inf), "precision_top1pct": (0.0, 1.0)}


def _check_scores(scores: Any, where: str) -> None:
    """``UnsafeFileError`` unless ``scores`` maps names to numbers (or null), each known one in its range."""
    if not isinstance(scores, dict) or not all(v is None or is_real(v) for v in scores.values()):
        raise UnsafeFileError(f"{where} must map score names to numbers")
    for name, value in scores.items():
        low, high = _SCORE_RANGES.get(name, (-np.inf, np.inf))
        if value is not None and not low - 1e-9 <= value <= high + 1e-9:
            raise UnsafeFileError(f"{where}: {name} is {value}, outside its range [{low}, {high}]")


# -- integrity -----------------------------------------------------------------------------------
def _check_holdout_checksum(root: Path, manifest: Mapping[str, Any]) -> None:
    """``holdout.json`` in ``root``, where there, must have the SHA-256 the manifest records (if it records one)."""
    path, expected = root / HOLDOUT_FILE, manifest.get("holdout_sha256")
    if expected is not None and path.is_file() and sha256_of(path) != expected:
        raise UnsafeFileError(f"{path} does not match its SHA-256 in the manifest")


def verify_checksums(folder: Path, files: Any, what: str) -> None:
    """Check that every file of ``files`` (relative path -> SHA-256) is inside ``folder`` and has
    that checksum, that ``predictor.json`` is among them and that ``folder`` holds no file they do not list
    (the loader could read it unverified); UnsafeFileError naming the file if not."""
    if not isinstance(files, dict) or not files:
        raise UnsafeFileError(f"{folder}: the manifest lists no checksums for the {what} (an artifact of format 1?); "
                              "refit the surrogate, or load it with SurrogateBenchmark.load(..., verify=False) if "
                              "you trust its files")
    if PREDICTOR_FILE not in files:
        raise UnsafeFileError(f"{folder}: the manifest has no checksum of {PREDICTOR_FILE}")
    check_files(folder, files, file_names(folder), what, "the manifest", "refit or restore the surrogate")


def _record_in_memory(space: SearchSpace) -> dict[str, Any] | None:
    """``space_record(space)``, or None for a model space that cannot be rebuilt by name: a surrogate of it still
    fits and queries in memory; :meth:`SurrogateBenchmark.save` refuses it, naming why."""
    try:
        return space_record(space)
    except UsageError:
        if space.name != "model_space":
            raise
        return None


def _rebuilt_here(manifest: Mapping[str, Any]) -> bool:
    """Whether the manifest's space can be rebuilt from it alone: a registered space, or a chain (its layers
    recorded, whatever its name); else it is a user's own space, given by the caller."""
    config = manifest.get("space_config")
    return manifest["space"] in available_spaces() or (isinstance(config, dict) and "layers" in config)


def _space_of(manifest: Mapping[str, Any], path: Path) -> SearchSpace:
    """The search space recorded in the manifest at ``path``: chain layers or constructor options from
    ``space_config`` (older manifests record only a chain's: other spaces get their defaults)."""
    try:
        return stored_space(manifest["space"], manifest.get("space_config") or None)
    except (ValueError, TypeError) as exc:
        raise UnsafeFileError(f"{path}: field 'space'/'space_config' is damaged: {exc}") from None


def _read_holdout(root: Path, space: SearchSpace, manifest: Mapping[str, Any], verify: bool) -> list[Architecture]:
    """The held-out architectures of ``holdout.json`` (checked against the manifest's SHA-256 with ``verify``);
    missing, it is refused where the manifest records held-out rows (their scores would go unchecked)."""
    path = root / HOLDOUT_FILE
    held = manifest["training_data"].get("holdout_rows")
    if not path.is_file():
        if "holdout_sha256" in manifest or (isinstance(held, int) and held > 0):
            raise MissingFileError(f"surrogate {root} lacks {HOLDOUT_FILE}, which its manifest records (the "
                                   "architectures its held-out scores were measured on); restore it, or refit the "
                                   "surrogate")
        return []
    if verify:
        _check_holdout_checksum(root, manifest)
    try:
        archs = [space.parse(t) for t in json.loads(path.read_text(encoding="utf-8"))]
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise UnsafeFileError(f"{path} is damaged: {exc}") from None
    if len(archs) != held:
        raise UnsafeFileError(f"{path} holds {len(archs)} architectures, but the manifest's field "
                              f"training_data.holdout_rows says {held}")
    return archs
