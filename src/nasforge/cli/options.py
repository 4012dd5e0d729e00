"""Command-line options shared by several commands, and the checks that turn them into objects.

Every error here is a :class:`UsageError` whose message names the option and the bad value.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import reprlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..exceptions import UsageError
from ..jsonfiles import JSONLimitError, loads
from ..settings import bind_error, keyword_names
from ..writes import check_folder


# -- search spaces -------------------------------------------------------------------------------
def add_space_arguments(p: argparse.ArgumentParser, default: str | None = "nb201",
                        default_help: str | None = None, table: bool = False,
                        names: str = "nb201, nb101, darts, chain, proxylessnas") -> None:
    """Add ``--space NAME``, ``--space-config FILE`` and ``--space-module FILE.py:NAME`` to ``p``.

    Read them back with :func:`load_space`. ``default`` is the ``--space`` default; ``default_help`` says
    in ``--help`` what a ``None`` default means; ``table``: the command has ``--table`` (a chain space's layers
    are inferred from it); ``names``: the built-in spaces the command takes, as ``--help`` lists them.
    """
    space_help = f"search space: {names}, or one registered by --space-module"
    p.add_argument("--space", default=default, metavar="NAME", action=_SpaceGiven,
                   help=space_help if default_help is None else f"{space_help} (default: {default_help})")
    p.add_argument("--space-config", metavar="FILE",
                   help="JSON or YAML options of the space; for chain: a list of layers (each a list of choice "
                        'names) or {"layers": [...], "name": ..., "stages": [...]} (default: none: the '
                        "space's own options" + ("; a chain space's layers inferred from --table)" if table else ")"))
    p.add_argument("--space-module", metavar="FILE.py:NAME",
                   help="build the space with NAME (a SearchSpace class or factory) from a Python file; for "
                        "search also an nn.Module class with LayerChoice/ValueChoice/... (a model space), "
                        "or package.module:NAME (default: none)")


RECORD_ONLY_SPACES = ("model_space",)
"""Registered spaces that only rebuild a stored record (a model space's module reference): not a ``--space``."""


class _SpaceGiven(argparse.Action):
    """Store ``--space`` and note that it was given (its default does not conflict with --space-module)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        namespace.space_given = True


def parse_json(text: str, option: str) -> Any:
    """``text`` (an option's value) parsed as JSON; a usage error naming ``option`` when it is not."""
    try:
        return loads(text)
    except JSONLimitError as exc:
        raise UsageError(f"{option} {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{option} is not valid JSON: {exc}") from None


def json_object(text: str, option: str) -> dict[str, Any]:
    """``text`` parsed as a JSON object (keyword arguments given on the command line)."""
    value = parse_json(text, option)
    if not isinstance(value, dict):
        raise UsageError(f"{option} must be a JSON object, got {text!r}")
    return value


MAX_CONFIG_DEPTH = 100
"""The deepest nesting of lists and mappings a config file may have (real ones have a handful of levels)."""


def read_config_file(path: str | Path, option: str = "--space-config") -> Any:
    """Parsed JSON (``.json``) or YAML (``.yaml``/``.yml``, safe loader, no aliases) of ``path``."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{option}: file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{option}: cannot read {path} as text ({exc.__class__.__name__})") from None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            depth = 0
            for event in yaml.parse(text, Loader=yaml.SafeLoader):  # events only: an alias repeats a subtree, and
                if isinstance(event, yaml.AliasEvent):  # a few of them nest into gigabytes
                    raise UsageError(f"{option}: {path} uses a YAML alias (*{event.anchor}) at line "
                                     f"{event.start_mark.line + 1}; write the value out instead")
                depth += isinstance(event, yaml.CollectionStartEvent) - isinstance(event, yaml.CollectionEndEvent)
                if depth > MAX_CONFIG_DEPTH:  # PyYAML's scanner slows quadratically with depth: stop early
                    raise RecursionError
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UsageError(f"{option}: {path} is not valid YAML ({str(exc).splitlines()[0]})") from None
        except RecursionError:
            raise UsageError(f"{option}: {path} nests too deeply (over {MAX_CONFIG_DEPTH} levels)") from None
    if suffix == ".json":
        try:
            return loads(text, MAX_CONFIG_DEPTH)
        except JSONLimitError as exc:
            raise UsageError(f"{option}: {path} {exc}") from None
        except json.JSONDecodeError as exc:
            raise UsageError(f"{option}: {path} is not valid JSON ({exc})") from None
    raise UsageError(f"{option}: {path} must end in .json, .yaml or .yml")


def load_space(args: argparse.Namespace, table_archs: Iterable[str] | None = None, announce: bool = True):
    """The search space named by the :func:`add_space_arguments` options of ``args``.

    - ``--space-module FILE.py:NAME`` calls ``NAME`` from that file (with the ``--space-config``
      mapping as keyword arguments, if given).
    - ``--space chain --space-config FILE`` builds a ``ChainSpace`` from the layers in FILE.
    - ``--space chain`` without a config infers the layers from ``table_archs`` (the arch strings
      of a table: each position's set of choices), prints the inferred space to stderr and how to
      pin it (unless ``announce`` is false); without ``table_archs`` it is an error.
    - any other ``--space NAME`` is ``get_space(NAME, **config)``.

    Raises :class:`UsageError` naming the option and the bad value. The signature is stable: the
    bench, predictors, surrogate and search commands all use it.
    """
    from ..spaces import ChainSpace, available_spaces, get_space, space_hint

    config = read_config_file(args.space_config) if getattr(args, "space_config", None) else None
    module = getattr(args, "space_module", None)
    if module and getattr(args, "space_given", False):
        raise UsageError(f"--space {args.space} and --space-module {module} both name the search space; give one")
    if module:
        from ..spaces.model_space import space_for_module  # an nn.Module class with choices -> a ModelSpace

        try:
            space = space_for_module(module, config, args)
        except UsageError as exc:
            if str(exc).startswith("--space-module"):
                raise
            raise UsageError(f"--space-module {module}: {exc}") from None
        return space if space is not None else _space_from_module(module, config)
    name = args.space or "nb201"
    if name in RECORD_ONLY_SPACES:
        hint = ("build a model space from an nn.Module class with --space-module FILE.py:NAME" if hasattr(args, "data")
                else "a model space (an nn.Module class) runs only with nasforge search or nasforge oneshot train "
                     "(--space-module FILE.py:NAME)")  # a command with --data: the one place it can be trained
        raise UsageError(f"--space {name}: rebuilds a stored study's space and cannot be named here; {hint}")
    if name not in available_spaces():
        named = [n for n in available_spaces() if n not in RECORD_ONLY_SPACES]
        raise UsageError(f"--space: unknown search space {name!r}{space_hint(name, named)}; choose from {named} "
                         "or load one with --space-module FILE.py:NAME")
    if name == "chain":
        if config is not None:
            try:
                return ChainSpace.from_config(config)
            except ValueError as exc:
                raise UsageError(f"--space-config {args.space_config}: {exc}") from None
        if table_archs is None:
            raise UsageError("--space chain needs --space-config FILE.json|.yaml listing the layers, e.g. "
                             '[["conv3", "conv5"], ["conv3", "skip"]]')
        return infer_chain_space(table_archs, announce=announce)
    if config is None:
        return get_space(name)
    if isinstance(config, list) or (isinstance(config, dict) and "layers" in config):
        raise UsageError(f"--space-config {args.space_config}: lists the layers of a chain space, but --space is "
                         f"{name}, which takes a mapping of its options; use --space chain")
    if not isinstance(config, dict):
        raise UsageError(f"--space-config {args.space_config}: space {name!r} takes a mapping of options, "
                         f"got {type(config).__name__}")
    return _call_factory(lambda **kw: get_space(name, **kw), config, f"--space-config {args.space_config}",
                         _factory_params(name), f"space {name!r}")


def infer_chain_space(archs: Iterable[str], announce: bool = True):
    """A ``ChainSpace`` whose layer ``i`` offers every choice seen at position ``i`` of ``archs``
    (``"a|b|c"`` strings); prints it to stderr with how to pin it when ``announce``."""
    from ..benchmarks.tabular import ROW_NUMBERS, data_rows
    from ..spaces import ChainSpace

    layers: list[dict[str, None]] = []
    first_len = None
    for row, text in enumerate(archs):
        tokens = [t.strip() for t in str(text).strip().split("|")]
        if "" in tokens:
            raise UsageError(f"--space chain: {data_rows([row], explain=False)} of --table has arch "
                             f"{str(text)[:80]!r}, which is no chain architecture ('|'-separated choices such as "
                             f"'conv3|skip'): empty choice at position {tokens.index('')} ({ROW_NUMBERS}); is the "
                             "table of another space? (see --space)")
        if first_len is None:
            first_len = len(tokens)
            layers = [{} for _ in tokens]
        elif len(tokens) != first_len:
            this, first = data_rows([row], explain=False), data_rows([0], explain=False)
            raise UsageError(f"--space chain: cannot infer the layers: {this} of --table has {len(tokens)} "
                             f"'|'-separated choices, {first} has {first_len} ({str(text)[:80]!r}; {ROW_NUMBERS}); "
                             "give them with --space-config")
        for layer, token in zip(layers, tokens):
            layer[token] = None
    if first_len is None:
        raise UsageError("--space chain: cannot infer the layers from an empty --table; give --space-config")
    try:
        space = ChainSpace([sorted(layer) for layer in layers])
    except ValueError as exc:
        raise UsageError(f"--space chain: the layers inferred from --table are not a valid chain space: {exc}; "
                         "give them with --space-config") from None
    if announce:
        announce_inferred(space)
    return space


def announce_inferred(space) -> None:
    """Tell (on stderr) which chain space was inferred from a table and how to pin it."""
    config = {"layers": [list(layer) for layer in space.layers]}
    print(f"nasforge: inferred a chain space from the table: {len(space.layers)} layers, "
          f"{space.size:,} architectures (only choices that occur in the table)\n"
          f"  {json.dumps(config)}\n"
          "  to pin it (or add choices), save that JSON to layers.json and pass "
          "--space chain --space-config layers.json", file=sys.stderr)


def note_inferred(args: argparse.Namespace, space) -> None:
    """Announce ``space`` (:func:`announce_inferred`) where the space options left it to be inferred from --table
    (``--space chain`` alone); called once nothing refuses the run, as :func:`note_skipped`, so that a refusal is
    one line."""
    if args.space == "chain" and not getattr(args, "space_config", None) and not getattr(args, "space_module", None):
        announce_inferred(space)


def _factory_params(name: str) -> list[str] | None:
    from ..spaces import SPACES

    return keyword_names(SPACES.get(name))


def refuse_repeated(values: list, option: str, what: str) -> None:
    """A UsageError naming ``option`` and the first of its ``values`` given twice (each is run once)."""
    twice = next((v for i, v in enumerate(values) if v in values[:i]), None)
    if twice is not None:
        raise UsageError(f"{option} names {twice} twice; name each {what} once")


def _what_it_is(value: Any) -> str:
    """``int 5``: the type and a short repr (one that raises is reprlib's placeholder, not an error)."""
    return f"{type(value).__name__} {reprlib.repr(value)}"


def _call_factory(factory, config: dict, where: str, accepted: list[str] | None, subject: str):
    """``factory(**config)``; a UsageError starting with ``where`` for options ``subject`` (what ``factory``
    builds, e.g. "space 'darts'") does not take (``accepted``: the keywords it takes; None: any)."""
    unknown = sorted(set(config) - set(accepted)) if accepted is not None else []
    if unknown and not accepted:
        raise UsageError(f"{where}: {subject} takes no options (got {unknown}); remove --space-config")
    if unknown:
        raise UsageError(f"{where}: unknown option(s) {unknown}; accepted: {accepted}")
    if (error := bind_error(factory, **config)) is not None:  # e.g. a required argument the options lack
        raise UsageError(f"{where}: cannot be called with the options {sorted(config)} ({error}); give its "
                         "arguments with --space-config FILE")
    try:
        return factory(**config)
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from None


def _space_from_module(spec: str, config: Any):
    from ..spaces import SearchSpace
    from ..spaces.model_space.reference import load_reference

    path_text, sep, attr = spec.rpartition(":")
    if not sep or not path_text or not attr:
        raise UsageError(f"--space-module must be FILE.py:NAME, got {spec!r}")
    if not path_text.endswith(".py"):  # package.module:NAME, no model space (space_for_module said so)
        found = load_reference(spec)
        raise UsageError(f"--space-module {spec}: {attr!r} is {_what_it_is(found)}, not an nn.Module class with "
                         "choices (a package reference names a model space; give a SearchSpace class or factory as "
                         "FILE.py:NAME)")
    path = Path(path_text)
    if not path.is_file():
        raise UsageError(f"--space-module: file not found: {path}")
    factory = load_reference(spec)  # the module space_for_module loaded (a file runs once)
    if not callable(factory):
        raise UsageError(f"--space-module: {attr!r} in {path} is {_what_it_is(factory)}, not a class or function (a "
                         "model space's nn.Module class or a SearchSpace class or factory)")
    if inspect.isabstract(factory):
        missing = sorted(getattr(factory, "__abstractmethods__", ()))
        raise UsageError(f"--space-module {spec}: class {attr} is abstract: it does not define {', '.join(missing)} "
                         "(a SearchSpace subclass must define every abstract method of SearchSpace)")
    if config is not None and not isinstance(config, dict):
        raise UsageError(f"--space-config: options for {attr} must be a mapping, got {type(config).__name__}")
    space = _call_factory(factory, config or {}, f"--space-module {spec}", keyword_names(factory), attr)
    if not isinstance(space, SearchSpace):
        raise UsageError(f"--space-module: {attr} is not an nn.Module class or a function returning one (a model "
                         f"space), nor a SearchSpace class or factory: calling it gave {type(space).__name__}")
    return space


# -- --help --------------------------------------------------------------------------------------
GRAMMAR_METAVARS = {"--trials": "N", "--seeds": "N", "--seed": "N", "--workers": "N", "--timeout": "SECONDS",
                    "--storage": "URL", "--out": "PATH"}  # docs/cli.md's option table: --trials N, --out PATH, ...


def grammar_metavars(p: argparse.ArgumentParser) -> None:
    """Show ``p``'s options that docs/cli.md's option table names with the value it writes there (``--trials N``,
    not ``--trials TRIALS``), unless an option has its own metavar; call it once its options are added."""
    for action in p._actions:
        flag = next((f for f in action.option_strings if f in GRAMMAR_METAVARS), None)
        if flag is not None and action.metavar is None and action.nargs != 0:
            action.metavar = GRAMMAR_METAVARS[flag]


# -- pruners -------------------------------------------------------------------------------------
PRUNER_METAVAR = "{median,asha,curve,none}|JSON"


def parse_pruner(text: str, option: str = "--pruner", strategy_option: str | None = None,
                 first_step: int = 0) -> str | dict[str, Any] | None:
    """A ``--pruner`` value as search and bench take it (resume's forms): None for ``none``, a JSON object (a pruner
    spec: its ``name`` and settings) or a registered name; checked by building the pruner now, before any work (one
    whose own settings can never stop a trial whose reports start at step ``first_step`` is refused)."""
    from ..experiment.pruners import PRUNERS, get_pruner, never_stops, pruner_hint

    if text.strip().lower() == "none":
        return None
    spec = json_object(text, option) if text.lstrip().startswith("{") else text.strip()
    name = pruner_name(spec)
    if not isinstance(name, str) or name not in PRUNERS:
        what = f"pruner {name!r}{pruner_hint(name, strategy_option)}" if name is not None else (
            "pruner: the JSON object has no 'name'")
        raise UsageError(f"{option}: unknown {what}; give one of {', '.join(PRUNERS.names())}, none, or a JSON "
                         "object naming one of them with its settings, e.g. '{\"name\": \"asha\", "
                         "\"max_resource\": 27}'")
    try:
        pruner = get_pruner(spec)
    except UsageError as exc:
        raise UsageError(f"{option}: {exc}") from None
    if (reason := never_stops(pruner, first_step)) is not None:  # type: ignore[arg-type]  # a spec builds one
        raise UsageError(f"{option}: pruner {name!r} {reason}")
    return spec


def pruner_name(spec: str | dict[str, Any] | None) -> Any:
    """The name a :func:`parse_pruner` value (or a stored ``pruner`` field) gives."""
    return spec.get("name") if isinstance(spec, dict) else spec


# -- supernet scoring ----------------------------------------------------------------------------
def add_score_arguments(p: argparse.ArgumentParser, training: str = "") -> None:
    """``--bn-mode``, ``--recal-batches`` and ``--finetune-steps``: how a supernet scores (read by
    :func:`score_settings`; ``oneshot search`` and ``search --evaluator supernet``); ``training`` ends the help of
    ``--bn-mode`` with what it means where trials are trained (``search``, where the other two are the
    supernet's only)."""
    from ..oneshot.checks import BN_MODES, SEARCH_BN_MODE

    supernet_only = "with --evaluator supernet: " if training else ""
    p.add_argument("--bn-mode", choices=BN_MODES,
                   help=f"{supernet_only}BatchNorm statistics used when scoring "
                        f"(default: {SEARCH_BN_MODE}: re-estimated for each "
                        f"architecture, which ranks far better than the supernet's inherited statistics){training}")
    p.add_argument("--recal-batches", type=non_negative_int, metavar="N",
                   help=f"{supernet_only}with --bn-mode recalibrate: training batches re-estimating BN statistics "
                        "(default: 8; 0: one pass over the whole training split)")
    p.add_argument("--finetune-steps", type=non_negative_int, metavar="N",
                   help=f"{supernet_only}fine-tuning steps before scoring (default: 0)")


def score_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The ``ScoreConfig`` fields the options of :func:`add_score_arguments` give (none given: empty; the
    evaluator fills in the search default)."""
    from ..oneshot.checks import SEARCH_BN_MODE

    bn_mode = args.bn_mode or SEARCH_BN_MODE
    if args.recal_batches is not None and bn_mode != "recalibrate":
        raise UsageError(f"--recal-batches applies only with --bn-mode recalibrate, not {bn_mode}")
    given = {"bn_mode": args.bn_mode, "recal_batches": args.recal_batches, "finetune_steps": args.finetune_steps}
    return {k: v for k, v in given.items() if v is not None}


# -- tables --------------------------------------------------------------------------------------
DEFAULT_DATASET = "cifar10"
DATASETS = ("cifar10", "cifar100", "imagenet")  # NB201_DATASETS, without importing the benchmarks for --help


def add_table_arguments(p: argparse.ArgumentParser, space_default: str | None = "nb201",
                        space_default_help: str | None = None, dataset_default_help: str = DEFAULT_DATASET) -> None:
    """Options that pick a tabular benchmark (bench, predictors, surrogate): the space options and
    ``--table``, ``--arch-column``, ``--dataset``; ``space_default_help`` says what a ``None``
    ``space_default`` means, ``dataset_default_help`` what a left-out ``--dataset`` means."""
    p.add_argument("--table", metavar="FILE",
                   help="CSV/CSV.gz/TSV/Parquet/JSON table (default: the NAS-Bench-201 table, looked for in "
                        "$NASFORGE_DATA, then ../shared/data from the working directory, then ../shared/data beside "
                        "a source checkout)")
    add_space_arguments(p, default=space_default, default_help=space_default_help, table=True)
    p.add_argument("--arch-column", default=None, metavar="COLUMN",
                   help="column of --table holding architecture strings (default: arch)")
    p.add_argument("--dataset", default=None, choices=DATASETS,
                   help="NAS-Bench-201 data set whose accuracies val_acc/test_acc mean (default: "
                        f"{dataset_default_help}; with --table: its DATASET-val/-test columns, refused where the "
                        "table has none; for cifar10 two training runs: val_acc the cifar10-valid run on 25k "
                        "images, test_acc the cifar10 run on train+valid, scored on the test set)")


def table_dataset(args: argparse.Namespace) -> str:
    """The NAS-Bench-201 data set ``--dataset`` names (default cifar10)."""
    return args.dataset or DEFAULT_DATASET


def check_dataset(args: argparse.Namespace, frame: Any, other_space: str | None = None) -> None:
    """A UsageError when ``--dataset`` is given beside a ``--table`` (``frame``) it cannot pick columns of: one
    without that data set's ``DATASET-val``/``-test`` columns, or one read as space ``other_space``, not
    NAS-Bench-201."""
    if args.dataset is None:
        return
    if other_space is not None:
        raise UsageError(f"--dataset {args.dataset}: --table {args.table} is read as space {other_space!r}, not "
                         "NAS-Bench-201 (whose DATASET-val/-test columns --dataset picks); leave --dataset out")
    if not any(str(c).startswith(f"{args.dataset}-") for c in frame.columns):
        raise UsageError(f"--dataset {args.dataset}: --table {args.table} has no {args.dataset}-val/-test column "
                         "(NAS-Bench-201's, which --dataset picks as val_acc/test_acc); leave --dataset out")


def metric_dataset(args: argparse.Namespace, metric: str, option: str, frame: Any) -> str | None:
    """--dataset, else the NAS-Bench-201 data set a ``metric`` ``<set>-val``/``-test`` (named by ``option``) of an
    NB201 table names (the run, its name and val_acc/test_acc then follow it); ``frame``: the read ``--table`` (None
    without), whose data set is followed only where it holds ``metric``. A --dataset that is not the metric's is
    refused."""
    dataset, _, split = metric.rpartition("-")
    nb201 = (args.space or "nb201") == "nb201" and not getattr(args, "space_module", None)
    if dataset not in DATASETS or split not in ("val", "test") or not nb201:
        return args.dataset
    if args.dataset not in (None, dataset):
        raise UsageError(f"--dataset {args.dataset}: {option} {metric} is a {dataset} column; give "
                         f"--dataset {dataset} or leave --dataset out")
    return dataset if frame is None or holds_metric(args, frame, metric) else args.dataset


def holds_metric(args: argparse.Namespace, frame: Any, metric: str) -> bool:
    """Whether ``frame`` has a numeric column of ``metric``: itself, its seed columns, or for ``test_acc`` the data
    set's test column."""
    import pandas as pd

    from ..benchmarks.tabular import _SEED_COLUMN

    names = {metric, f"{table_dataset(args)}-test"} if metric == "test_acc" else {metric}
    return any(pd.api.types.is_numeric_dtype(frame[c]) and (str(c) in names or bool(
        (seed := _SEED_COLUMN.match(str(c))) and seed.group("metric") in names)) for c in frame.columns)


def direction_note(metric: str, direction: str | None, option: str,
                   to_minimize: str = "pass --direction minimize if smaller is better") -> str:
    """The one-line note of a run whose ``metric`` (named by ``option``) takes its direction from its name
    (``direction`` not given): minimized, a name with a part loss or error
    (:func:`~nasforge.benchmarks.tabular.minimized_word`), or maximized although ``nasforge search`` minimizes it
    (:data:`SEARCH_MINIMIZED`), the note then ending in ``to_minimize`` (how to minimize it instead); else ''."""
    from ..benchmarks.tabular import minimized_word

    if direction is not None:
        return ""
    word = minimized_word(metric)
    if word:
        return (f"note: {option} {metric} is minimized (its name has the part {word!r}); pass --direction maximize "
                "if larger is better")
    if metric in SEARCH_MINIMIZED:  # maximized here, by the name rule, but minimized by nasforge search
        return (f"note: {option} {metric} is maximized (only a name with a part loss or error is minimized here, "
                f"while nasforge search --objectives minimizes {metric}); {to_minimize}")
    return ""


SEARCH_MINIMIZED = ("params", "flops", "latency_ms", "train_seconds")
"""The metrics of ``nasforge search`` that it minimizes by default and whose name has no part loss or error (its
``pipelines.search.METRICS`` but the accuracies and the losses): a table column of one of these names is maximized by
``bench``, ``predictors eval`` and ``surrogate eval`` unless ``--direction`` says otherwise, so they say so."""


def arch_column(args: argparse.Namespace) -> str:
    """The table column of architecture strings: ``--arch-column`` or ``arch``; an empty (or blank) one, usually an
    unset shell variable, is a UsageError, not the default."""
    if args.arch_column is None:
        return "arch"
    if not args.arch_column.strip():
        raise UsageError(f"--arch-column must name a column of --table, got {args.arch_column!r} (an unset shell "
                         "variable?)")
    return args.arch_column


def built_predictor(name: str, space: Any, params: dict[str, Any]) -> Any:
    """``get_predictor(name, space, **params)`` now, before any work: a bad constructor argument is a UsageError
    naming --params; a missing package (MissingDependencyError) keeps its own message naming the extra."""
    from ..exceptions import MissingDependencyError
    from ..predictors import get_predictor

    try:
        return get_predictor(name, space, **params)
    except MissingDependencyError:
        raise
    except ValueError as exc:
        raise UsageError(f"--params: {exc}") from None


class Default(str):
    """An option's default value, told apart from the same value given on the command line."""


def installed_defaults(names: list[str], build: Callable[[str], Any]) -> tuple[list[str], dict[str, str]]:
    """The ``names`` of a default list whose ``build(name)`` needs no missing optional package, and each other one
    -> why (the message naming the extra that installs it); :func:`note_skipped` notes them once the run starts, after
    every refusal (a name the user gave is refused instead, naming it)."""
    from ..exceptions import MissingDependencyError

    kept, skipped = [], {}
    for name in names:
        try:
            build(name)
        except MissingDependencyError as exc:
            skipped[name] = str(exc)
            continue
        kept.append(name)
    return kept, skipped


def note_skipped(skipped: dict[str, str], command: str, kind: str) -> None:
    """A note on stderr for each default ``kind`` (strategy, predictor) of ``skipped`` (:func:`installed_defaults`)."""
    for name, why in skipped.items():
        print(f"nasforge {command}: note: skipping default {kind} {name}: {why}", file=sys.stderr)


def unread_gaps_dropped(args: argparse.Namespace, frame: Any, reads: Iterable[str]) -> Any:
    """``frame`` without the numeric columns the run does not read that hold a gap (NaN/inf), which the table's
    checks would refuse. A column is read when ``reads`` (metric names) names it exactly or it is a seed column
    (``<metric>_seed<k>``) of one; ``val_acc``/``test_acc`` read the columns of the data set (--dataset)."""
    import numpy as np
    import pandas as pd

    from ..benchmarks.tabular import _SEED_COLUMN

    used = set(reads) - {None, ""}
    used |= {f"{table_dataset(args)}-{split}" for alias, split in (("val_acc", "val"), ("test_acc", "test"))
             if alias in used}

    def read(column: str) -> bool:
        seed = _SEED_COLUMN.match(column)
        return column in used or column == arch_column(args) or bool(seed and seed.group("metric") in used)

    unused = [c for c in frame.columns if not read(str(c)) and pd.api.types.is_numeric_dtype(frame[c])
              and not np.isfinite(frame[c].to_numpy(float)).all()]
    return frame.drop(columns=unused)


def load_table(args: argparse.Namespace, frame: Any = None, space: Any = None, reads: Iterable[str] | None = None):
    """The ``TabularBenchmark`` named by ``add_table_arguments`` options (``frame``: the already
    read ``--table``; ``space``: use this space instead of the space options). A NAS-Bench-201
    space (the default) reads the table with ``load_nb201`` (``val_acc``/``test_acc`` aliases). ``reads``: the
    metrics the run reads; a gap in another numeric column of ``--table`` is then ignored
    (:func:`unread_gaps_dropped`)."""
    from ..benchmarks import TabularBenchmark, load_nb201, read_table
    from ..spaces import NASBench201Space
    from ..spaces.base import foreign_form_space

    chosen = space is None  # the space options pick the space (else the caller's fixes it)
    own_space = space is None and (args.space not in (None, "nb201") or getattr(args, "space_config", None)
                                   or getattr(args, "space_module", None))
    if own_space and args.table is None:
        space = load_space(args)  # the space options' own errors first
    nb201 = {"canonical_rule": space.canonical_rule} if isinstance(space, NASBench201Space) else {}
    if args.table is None:
        if args.arch_column is not None:
            raise UsageError("--arch-column names a column of --table: pass --table too")
        if space is not None and not nb201:
            raise UsageError(f"--table is required for --space {space.name}")
        return load_nb201(dataset=table_dataset(args), **nb201)
    column = arch_column(args)
    frame = read_table(args.table, text_columns=(column,)) if frame is None else frame
    if len(frame) == 0:
        raise UsageError(f"--table {args.table} has a header but no rows")
    if column not in frame.columns:
        raise UsageError(f"--arch-column: column {column!r} is not in --table {args.table}; "
                         f"columns: {list(map(str, frame.columns))[:20]}")
    if reads is not None:
        frame = unread_gaps_dropped(args, frame, reads)
    if own_space:  # an inferred chain space is announced by the command (note_inferred), once nothing refuses it
        space = load_space(args, table_archs=frame[column].astype(str), announce=False)
        nb201 = {"canonical_rule": space.canonical_rule} if isinstance(space, NASBench201Space) else {}
    name = Path(args.table).name
    try:
        if space is None or nb201:
            check_dataset(args, frame)
            if args.dataset not in (None, DEFAULT_DATASET):  # a table fitted or scored on tells its data sets apart
                name = f"{name} ({args.dataset})"
            return load_nb201(frame, dataset=table_dataset(args), name=name, arch_column=column, **nb201)
        check_dataset(args, frame, space.name)
        table = TabularBenchmark(frame, space, arch_column=column, name=name)
    except UsageError as exc:  # cells of another space: where the options pick the space, name the option
        if not chosen or (form := foreign_form_space(str(exc))) is None:
            raise
        raise UsageError(f"{str(exc)[:-1]} (--space {form})?") from None
    return table


def not_a_file(path: str, option: str = "--out") -> Path:
    """``path`` as a Path for a folder to write into, checked before any work: a UsageError naming ``option`` when
    it, or the nearest existing path above it, is a file, when it (or a folder above it) is a symbolic link to
    nothing (as :func:`~nasforge.writes.check_folder` refuses it), or when the file system refuses the name."""
    from ..writes import refuse_dangling_link

    folder = Path(path)
    refuse_dangling_link(folder, f"{option} {path}")
    try:
        existing = next(p for p in (folder, *folder.parents) if p.exists())
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise UsageError(f"{option} {path!r}: {exc.strerror or exc}") from None
    if not existing.is_dir():
        where = "" if existing == folder else f": {existing} is a file, not a folder"
        raise UsageError(f"{option} {path} is a file, not a folder" if not where else f"{option} {path}{where}")
    return folder


def out_dir(path: str, option: str = "--out") -> Path:
    """Create the output folder now, before any work, and probe that it is writable; or raise a UsageError
    naming it."""
    return check_folder(not_a_file(path, option), f"{option} {path}")


# -- values --------------------------------------------------------------------------------------
def registered_names(text: str, option: str, kind: str, kinds: str, choices: list[str]) -> list[str]:
    """The names of the comma list ``text`` (``option``'s value); a UsageError when it names no ``kind`` or names one
    that is not in ``choices`` (``kinds``: the plural)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError(f"{option} names no {kind}: {text!r}; choose from {choices}")
    if unknown := [n for n in names if n not in choices]:
        from ..registry import did_you_mean

        raise UsageError(f"{option}: unknown {kinds} {unknown}{did_you_mean(unknown[0], choices)}; "
                         f"choose from {choices}")
    return names


def int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{option} must be comma-separated integers, got {text!r}") from None
    if not values:
        raise UsageError(f"{option} is empty")
    return values


def number_type(kind: Callable[[str], Any], rule: str, ok: Callable[[Any], bool]) -> Callable[[str], Any]:
    """An argparse ``type=`` parsing ``kind`` and accepting values for which ``ok`` holds; argparse names
    the option in the one-line error, e.g. ``argument --seed: must be a non-negative integer, got -1``."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    parse.__name__ = rule  # argparse shows a type's name when it cannot call it
    return parse


positive_int = number_type(int, "a positive integer", lambda v: v >= 1)
non_negative_int = number_type(int, "a non-negative integer", lambda v: v >= 0)
non_negative_float = number_type(float, "a finite non-negative number", lambda v: 0 <= v < math.inf)
positive_float = number_type(float, "a positive number", lambda v: 0 < v < math.inf)
positive_seconds = number_type(float, "a positive number of seconds", lambda v: 0 < v < math.inf)
fraction = number_type(float, "in [0, 1)", lambda v: 0 <= v < 1)
tcp_port = number_type(int, "a port number 0-65535", lambda v: 0 <= v <= 65535)
_rate = number_type(float, "a number in [0, 1] or none", lambda v: 0 <= v <= 1)


def failure_rate(text: str) -> float | str:
    """An argparse ``type=`` for ``--max-failure-rate``: a fraction in [0, 1], or ``"none"`` (any case: no bound)."""
    return "none" if text.strip().lower() == "none" else _rate(text)


failure_rate.__name__ = "a number in [0, 1] or none"  # argparse shows a type's name when it cannot call it


MANIFEST_FIELDS = {"space", "metrics", "training_data"}  # a surrogate manifest's, which no table of results has


def read_table_arg(args: argparse.Namespace, does: str, instead: Callable[[Path], str]) -> Any:
    """The --table frame (None without --table; its --arch-column read as text, leading zeros kept), or a
    UsageError where --table is a surrogate artifact (its folder, or its manifest.json): the command ``does``
    (e.g. "bench compares strategies on a table"), and ``instead(artifact)`` says what to run."""
    if args.table is None:
        return None
    from ..benchmarks import read_table
    from ..benchmarks.surrogate import MANIFEST_FILE

    given = Path(args.table)
    artifact = given.parent if given.name == MANIFEST_FILE else given
    folder = (artifact / MANIFEST_FILE).is_file() and given != artifact / MANIFEST_FILE  # the artifact's folder
    # a JSON table may be named manifest.json: read it once
    frame = None if folder else read_table(args.table, text_columns=(arch_column(args),))
    if folder or given.name == MANIFEST_FILE and MANIFEST_FIELDS <= {str(c) for c in frame.columns}:
        raise UsageError(f"--table {args.table}: {does}, and this is a surrogate artifact ({artifact}); "
                         f"{instead(artifact)}")
    return frame
