"""--help of the commands in bench, search, predictors, surrogate, report and oneshot speaks one grammar (fix43_help):
no argparse automatic metavar (``--retrain RETRAIN``, ``--top TOP``; the grammar writes ``N``, ``PATH``, ``NAME``,
...), defaults written "(default: X)", a description paragraph for every command and ``STUDY`` for a study."""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Iterator

import pytest

from nasforge.cli import _ArgumentParser, _each_parser
from nasforge.cli.options import grammar_metavars

MODULES = ("bench", "search", "predictors", "surrogate", "report", "oneshot", "engine", "export", "dashboard")
DEFAULT_WITHOUT_COLON = re.compile(r"[(;]\s*default\b(?!:)")


def _commands(module: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Each (sub-)command parser ``module`` registers, as ``nasforge`` builds it, with its command line."""
    root = _ArgumentParser(prog="nasforge")
    importlib.import_module(f"nasforge.cli.{module}").register(root.add_subparsers(dest="command"))
    _each_parser(root, grammar_metavars)
    todo = [root]
    while todo:
        parser = todo.pop()
        groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        todo += [c for g in groups for c in g.choices.values()]
        if parser is not root:
            yield parser.prog, parser


def _leaf_commands(module: str) -> list[tuple[str, argparse.ArgumentParser]]:
    return [(prog, p) for prog, p in _commands(module)
            if not any(isinstance(a, argparse._SubParsersAction) for a in p._actions)]


def _valued(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The arguments that take a value (not a flag, not --help)."""
    return [a for a in parser._actions if a.nargs != 0 and not isinstance(a, argparse._SubParsersAction)]


@pytest.mark.parametrize("module", MODULES)
def test_no_automatic_metavar(module: str) -> None:
    automatic = [f"{prog} {'/'.join(a.option_strings) or a.dest}" for prog, p in _commands(module)
                 for a in _valued(p) if a.metavar is None and a.choices is None]
    assert automatic == []  # e.g. 'nasforge search --retrain' showed RETRAIN where the grammar writes N


@pytest.mark.parametrize("module", MODULES)
def test_defaults_are_written_with_a_colon(module: str) -> None:
    for prog, parser in _commands(module):
        text = " ".join(parser.format_help().split())
        assert DEFAULT_WITHOUT_COLON.findall(text) == [], f"{prog}: {text}"


@pytest.mark.parametrize("module", MODULES)
def test_every_command_has_a_description(module: str) -> None:
    assert [prog for prog, parser in _leaf_commands(module) if not parser.description] == []


def test_a_study_is_STUDY_and_positionals_are_upper_case() -> None:
    positionals = {(prog, a.dest): a.metavar for module in MODULES for prog, p in _commands(module)
                   for a in _valued(p) if not a.option_strings}
    assert positionals[("nasforge report", "study")] == "STUDY"
    assert all(isinstance(m, str) and m.isupper() for m in positionals.values()), positionals


def test_the_new_metavars_change_no_parsing() -> None:
    """Metavars are help only: a command line parses to the same values as before."""
    parser = dict(_commands("search"))["nasforge search"]
    args = parser.parse_args(["--retrain", "2", "--search-epochs", "3", "--threads", "1", "--name", "x"])
    assert (args.retrain, args.search_epochs, args.threads, args.name) == (2, 3, 1, "x")
    study = dict(_commands("oneshot"))["nasforge oneshot study"]
    args = study.parse_args(["--noise", "0.25", "--C", "4", "--tricks", "ghost_bn", "--check-epochs", "2,3"])
    assert (args.noise, args.C, args.tricks, args.check_epochs) == (0.25, 4, "ghost_bn", "2,3")
