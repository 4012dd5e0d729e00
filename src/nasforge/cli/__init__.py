"""The ``nasforge`` command line. Each module in ``COMMAND_MODULES`` registers its own sub-commands.

Exit status and messages:

- bad input (a :class:`~nasforge.exceptions.UsageError` or an argparse error): status 2 and one line
  naming the bad option, file or value (an empty ``--out`` of any command, too); an unknown option also names a
  renamed one's new name (``RENAMED``) or a known option it nearly matches ("did you mean --seeds?"), and a known
  option given after ``--`` says so; a missing (sub-)command (a bare ``nasforge`` or
  ``nasforge oneshot``) names the commands to choose from;
- any other :class:`~nasforge.exceptions.NasforgeError` (a runtime failure): status 1 and one line;
- Ctrl-C: status 130; SIGTERM (``kill``, ``docker stop``, pre-emption) stops the same clean way, status 143;
- warnings print as one ``nasforge COMMAND: warning: ...`` line;
- a missing optional package (a ``ModuleNotFoundError`` of one listed in :data:`nasforge.extras.EXTRAS`, also
  from a worker process): status 2 and one line naming the extra that installs it;
- anything else is a bug and keeps its traceback;
- ``--debug`` (anywhere on the line) prints the traceback of every error;
- a stdout whose reader stopped (``| head -1``) is no error: the rest of the output is dropped, the command
  runs to its end, saves its outputs and exits with its own status;
- a character that the encoding of stdout or stderr cannot show is written as a backslash escape, and a study name
  holding one in a printed command as a ``$'\\u00e9'`` shell word (:func:`~nasforge.cli.output.shown_on`).

Options are never abbreviated (``--seed`` is not ``--seeds``): an unknown one is refused.

Command modules import their heavy dependencies inside their functions, so that ``nasforge
--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import importlib
import os
import re
import signal
import sys
import traceback
import urllib.parse
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

from ..exceptions import NasforgeError, UsageError
from .options import grammar_metavars
from .output import closed_output_dropped, shown_on, unencodable_escaped

# Modules under nasforge.cli that define ``register(subparsers)``; each sub-command sets ``func``.
COMMAND_MODULES: tuple[str, ...] = ("bench", "search", "engine", "predictors", "surrogate", "report", "dashboard",
                                    "export", "oneshot")

__all__ = ["COMMAND_MODULES", "RENAMED", "UsageError", "build_parser", "given_options", "main"]

# Options renamed since earlier versions (the table "Renamed options" of docs/cli.md): command -> old -> new.
# An old name ending in "*" is a prefix; the rest of the option is kept (--fewshot-epochs -> --few-shot-epochs).
RENAMED: dict[str, dict[str, str]] = {
    "bench": {"--budget": "--trials"},
    "surrogate eval": {"--budget": "--trials", "--runs": "--seeds"},
    "surrogate fit": {"--trials": "--table", "--version": "--artifact-version"},
    "surrogate info": {"--json": "--format json"},
    "search": {"--budget": "--timeout"},
    "resume": {"--n-workers": "--workers"},
    "trials": {"--output": "--out", "-o": "--out", "--csv": "--format csv", "--json": "--format json"},
    "oneshot study": {"--fewshot-*": "--few-shot-*", "--split-on": "--few-shot-split"},
}


_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<value>[^']*)' \(choose from (?P<choices>.*)\)$")
"""argparse's refusal of a value not in an option's (or a command group's) choices."""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``ArgumentDefaultsHelpFormatter`` that leaves out empty defaults (None, and False: a flag) and help
    texts that already state theirs, and shows an empty text as ``none``. A default of 0 is shown (``0 ==
    False``, but it is a value)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or action.default is False or "default" in text.lower():
            return text
        if action.default == "":
            return f"{text} (default: none)"
        return super()._get_help_string(action)


class _ArgumentParser(argparse.ArgumentParser):
    """Shows defaults in ``--help``, accepts ``--debug`` on every (sub-)command, takes no abbreviated option
    (``--seed 7`` is no ``--seeds 7``) and reports a bad argument in one line (exit 2) instead of the usage block."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                          help="print the traceback of any error")

    def error(self, message: str) -> NoReturn:
        for action in self._actions:  # a bare command group (a required sub-command): name its commands
            if isinstance(action, argparse._SubParsersAction) and message == \
                    f"the following arguments are required: {action.metavar}":
                message = missing_command(action)
        renamed = getattr(self, _RENAMED_SEEN, None)
        if message.startswith("the following arguments are required: "):
            message += _dash_argument(self)
            # a renamed flag (trials --csv) is no option argparse knows: named as renamed, not as an argument
            renamed = renamed or [w for w in _ARGV if _renamed(self.prog.partition(" ")[2], [w])]
        elif message.startswith("argument ") and message.endswith(": expected one argument"):
            message += _dash_value(self, message[len("argument "):-len(": expected one argument")].split("/"))
        elif (choice := _INVALID_CHOICE.search(message)) is not None:  # argparse's own lacks a guess before 3.14
            from ..registry import did_you_mean

            hint = did_you_mean(choice.group("value"), re.findall(r"'([^']*)'", choice.group("choices")))
            cut = message.rindex(" (choose from ")
            message = message[:cut] + hint + message[cut:]
        if renamed:  # the renamed option first: likely the cause of what followed
            message = f"{_unrecognized(self, renamed)}; also: {message}"
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


_ARGV: list[str] = []  # the command line being parsed (for hints on where an argument was read)


def _dash_argument(parser: argparse.ArgumentParser) -> str:
    """For a missing argument: a hint when the command line holds a word that ``parser`` read as an option none of
    its options is (``status -x``: a study name read as an option), "" otherwise."""
    command = parser.prog.partition(" ")[2]
    words = [w for w in _ARGV if _read_as_unknown_option(parser, w) and not _renamed(command, [w])]
    if not words or "--" in _ARGV:
        return ""
    return (f"; {words[0]!r} was read as an option: an argument starting with '-' goes after '--' "
            f"({parser.prog} [OPTIONS] -- {words[0]})")


def _dash_value(parser: argparse.ArgumentParser, options: Sequence[str]) -> str:
    """For an option given no value (one of ``options``): a hint when the word after it on the command line starts
    with one '-' and is no option of ``parser`` (``--data-dir -x.npz``: a value read as an option), "" otherwise."""
    for option, word in zip(_ARGV, _ARGV[1:]):
        if option in options and not word.startswith("--") and _read_as_unknown_option(parser, word):
            return (f"; {word!r} was read as an option: a value starting with '-' is joined to its option "
                    f"({option}={word})")
    return ""


def _read_as_unknown_option(parser: argparse.ArgumentParser, word: str) -> bool:
    """Whether argparse reads ``word`` as an option that is none of ``parser``'s. As argparse does, '-', a negative
    number and a word with a space are arguments (so they can be an option's value: ``trials --out -``,
    ``report --optimum -1``), and an option may carry its value (``--out=-x``, ``-n5``)."""
    known = parser._option_string_actions
    if not word.startswith("-") or word in ("-", "--") or " " in word or word.partition("=")[0] in known:
        return False
    if not word.startswith("--") and word[:2] in known:
        return False
    return not (parser._negative_number_matcher.match(word) and not parser._has_negative_number_optionals)


def missing_command(action: argparse._SubParsersAction) -> str:
    """The error of a command line that names none of the (sub-)commands of ``action``: one line naming them."""
    return f"missing {action.metavar}: one of {', '.join(action.choices)}"


_RENAMED_SEEN = "_renamed_options"  # where _Renamed notes the renamed options it took, as typed


class _Renamed(argparse.Action):
    """A renamed option that takes a value (see RENAMED), added for parsing only: it takes its value, so that the
    rest of the line is read as meant (``trials -o x s``: ``s`` is the study), and is noted, to be refused in one
    line with any other unrecognized argument."""

    def __init__(self, option_strings: Sequence[str], dest: str, new: str, **kwargs: object) -> None:
        self.new = new
        super().__init__(option_strings, dest, nargs="?", default=argparse.SUPPRESS, help=argparse.SUPPRESS,
                         **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        taken = [*getattr(namespace, _RENAMED_SEEN, []), str(option_string), *([values] if isinstance(values, str)
                                                                                else [])]
        setattr(namespace, _RENAMED_SEEN, taken)
        setattr(parser, _RENAMED_SEEN, taken)  # for an error met before parsing ends (a missing argument)


def build_parser() -> argparse.ArgumentParser:
    """The ``nasforge`` argument parser with every command's subparser (what ``main`` parses with)."""
    from .. import __version__

    parser = _ArgumentParser(prog="nasforge", description="Neural Architecture Search toolkit.")
    parser.add_argument("--version", action="version", version=f"nasforge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{module}").register(sub)
    _each_parser(parser, grammar_metavars)
    return parser


def _each_parser(parser: argparse.ArgumentParser, do: Callable[[argparse.ArgumentParser], None]) -> None:
    """``do`` on ``parser`` and every (sub-)command parser below it."""
    do(parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command_parser in action.choices.values():
                _each_parser(command_parser, do)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command of ``argv`` (default: the program's arguments); returns its exit status."""
    with unencodable_escaped(), closed_output_dropped():  # --help too
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    _add_renamed(parser)
    _ARGV[:] = sys.argv[1:] if argv is None else argv
    try:
        args, extras = parser.parse_known_args(argv)
        extras = [*getattr(args, _RENAMED_SEEN, []), *extras]
        if extras:  # reported by the command's own parser, so the message names the command and its --help
            command_parser = _command_parser(parser, args)
            setattr(command_parser, _RENAMED_SEEN, None)
            command_parser.error(_unrecognized(command_parser, extras))
        if not getattr(args, "func", None):  # a bare nasforge (an unknown option first: reported above)
            parser.error(missing_command(_commands(parser)))
        _check_paths_given(_command_parser(parser, args), args)
    except SystemExit as exc:  # --help, --version, or a bad argument already reported in one line
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    debug = getattr(args, "debug", False)
    command = " ".join(p for p in (args.command, *_subcommands(args)) if p)
    with _warnings_as_lines(command), _sigterm_as_interrupt(), _running(_command_parser(parser, args), args):
        return _run(args, command, argv, debug)


_RUNNING: list[tuple[argparse.ArgumentParser, argparse.Namespace]] = []
"""The parser and parsed arguments of the (sub-)command being run, for :func:`given_options`."""


@contextmanager
def _running(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Iterator[None]:
    """While a command runs, :func:`given_options` reads its options from ``parser`` and ``args`` as parsed (a
    copy: commands fill in some, such as trials' --format)."""
    _RUNNING[:] = [(parser, argparse.Namespace(**vars(args)))]
    try:
        yield
    finally:
        _RUNNING.clear()


def given_options(prog: str, leave_out: Sequence[str] = ()) -> list[str] | None:
    """The options given to the command being run, when it is ``prog`` (``nasforge export``), as the words of a
    command line (unquoted), with their values as parsed; options left at their default, ``--debug`` and
    ``leave_out`` are left out. For an error that gives the command to run instead (with another STUDY and a
    --storage): it keeps what the user asked for. None when no such command runs (a call from Python)."""
    if not _RUNNING or _RUNNING[0][0].prog != prog:
        return None
    parser, args = _RUNNING[0]
    words: list[str] = []
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        option = max(action.option_strings, key=len)
        value = getattr(args, action.dest, None)
        if option in (*leave_out, "--debug") or value is None or value is False or value == action.default:
            continue
        if action.nargs == 0:  # a flag
            words.append(option)
            continue
        values = [str(v) for v in (value if isinstance(value, list) else [value])]
        if action.nargs in ("+", "*"):  # one option, its values after it
            words += [option, *values]
        else:  # a value starting with '-' is joined to its option, or it would be read as an option
            for v in values:
                words += [f"{option}={v}"] if v.startswith("-") and v != "-" else [option, v]
    return words


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``docker stop``, a scheduler's pre-emption) raised as a clean interrupt, like Ctrl-C.
    ``received`` tells it also where a library re-raised it as a plain KeyboardInterrupt (Ray's ``ray.wait``)."""

    received = False


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM raises :class:`Terminated` in the main thread: the run stops as at Ctrl-C
    (running trials back to WAITING, the resume line printed, the run lock removed), exit status 143."""
    def terminated(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM does not cut the clean stop short
        Terminated.received = True
        raise Terminated()

    Terminated.received = False
    try:
        previous = signal.signal(signal.SIGTERM, terminated)
    except ValueError:  # not the main thread: signals are not this thread's to handle
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _warnings_as_lines(command: str) -> Iterator[None]:
    """Warnings print as one ``nasforge COMMAND: warning: ...`` line, without nasforge's source file and line."""
    def one_line(message: Warning | str, *_: object, **__: object) -> str:
        return f"nasforge {command}: warning: {' '.join(str(message).split())}\n"

    previous, warnings.formatwarning = warnings.formatwarning, one_line
    try:
        yield
    finally:
        warnings.formatwarning = previous


def _run(args: argparse.Namespace, command: str, argv: Sequence[str] | None, debug: bool) -> int:
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        return _fail(command, exc, 2, debug)
    except NasforgeError as exc:
        return _fail(command, exc, 1, debug)
    except KeyboardInterrupt as exc:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C now prints no traceback
        terminated = isinstance(exc, Terminated) or Terminated.received
        print(f"nasforge {command}: {'terminated (SIGTERM)' if terminated else 'interrupted'}", file=sys.stderr)
        _print_notes(command, exc)
        if argv is not None:  # called as a function: the caller's handler is back; the program keeps ignoring
            signal.signal(signal.SIGINT, previous)  # SIGINT through its exit (atexit handlers, e.g. torch's)
        return 143 if terminated else 130
    except Exception as exc:  # a missing optional package that no check named first; else a bug
        from ..extras import missing_dependency

        missing = missing_dependency(exc)
        if missing is None:
            raise
        missing.__cause__ = exc  # --debug prints where it was needed
        return _fail(command, missing, 2, debug)


_OUT_FILE = {"nasforge report": "a file", "nasforge trials": "a file (or '-': standard output)"}
"""What ``--out`` names in the commands that refuse a folder there (the others take a file or a folder)."""


_PATH_METAVARS = {"PATH": "a file or folder", "FOLDER": "a folder", "FILE": "a file", "ARTIFACT": "a folder",
                  "FILE.py:NAME": "a Python file and a name in it",
                  "STUDY": "a study (its name in --storage) or a 'nasforge search' run folder"}
"""What the options and arguments that take a path or a study (by their metavar) must name (export's
RUN_DIR_OR_STUDY says it with its --storage in mind)."""


_NAMES = ("STUDY",)
"""Path metavars that may also be a study's name: taken as typed (a name may start with '~', and be long)."""


def _check_paths_given(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Check every path of the command line (``--out``, the options and arguments of :data:`_PATH_METAVARS`, a
    SQLite ``--storage``) before any work, in one line naming the option: refuse an empty (or blank) one, usually
    an unset shell variable (``--out "$DIR"``), which would otherwise write into or read the working directory (or
    standard output), or, for an optional file such as ``--space-config``, leave it out without a word; expand a
    leading ``~`` (as a shell would have, where it did not: ``--out=~/x``, a quoted path); refuse a name longer
    than the file system allows."""
    for action in parser._actions:
        out, storage = "--out" in action.option_strings, "--storage" in action.option_strings
        if not (out or storage) and action.metavar not in _PATH_METAVARS:
            continue
        typed = getattr(args, f"{action.dest}_option", None)  # an alias the user typed (oneshot's _Typed)
        name = typed or (action.option_strings[0] if action.option_strings else action.metavar)
        value = getattr(args, action.dest, None)
        for given in value if isinstance(value, list) else [value]:  # a list: nargs="+", e.g. report's STUDY...
            if isinstance(given, str) and not given.strip() and not storage:
                what = _OUT_FILE.get(parser.prog, "a file or folder") if out else _PATH_METAVARS[action.metavar]
                parser.error(f"{name} must name {what}, got {given!r} (an unset shell variable?)")
        if action.metavar in _NAMES or not (isinstance(value, str) or storage and isinstance(value, list)):
            continue
        expanded = [_home_expanded(given, storage) if isinstance(given, str) else given
                    for given in (value if isinstance(value, list) else [value])]  # a list: report's --storage
        setattr(args, action.dest, expanded if isinstance(value, list) else expanded[0])
        for given in expanded:
            if isinstance(given, str):
                _refuse_too_long(parser, name, given, _file_of(given, storage, action.metavar))


def _home_expanded(given: str, storage: bool) -> str:
    """A path option's value with a leading ``~`` or ``~user`` expanded; for a ``--storage`` (``storage``), that of
    a plain path or of a SQLite URL's file (``sqlite:///~/runs/s.db``), other URLs as given."""
    if not storage or "://" not in given:
        return os.path.expanduser(given)
    from ..experiment.storage.urls import SQLITE_PREFIXES, sqlite_url

    prefix = next((f"{p}/" for p in SQLITE_PREFIXES if given.startswith(f"{p}/~")), None)
    if prefix is None:
        return given
    home = re.match(r"~[^/?]*", given[len(prefix):]).group()  # type: ignore[union-attr]  (it starts with '~')
    expanded = os.path.expanduser(urllib.parse.unquote(home))
    if expanded.startswith("~"):  # an unknown user: as given
        return given
    return prefix + sqlite_url(expanded).removeprefix("sqlite:///") + given[len(prefix) + len(home):]


def _file_of(value: str, storage: bool, metavar: str | None) -> str | None:
    """The file or folder a path option's ``value`` names (a SQLite ``--storage``'s file, ``--space-module``'s
    FILE.py); None for a storage that is no SQLite file."""
    if storage:
        from ..experiment.storage.urls import sqlite_path

        return sqlite_path(value)
    return (value.rpartition(":")[0] or value) if metavar == "FILE.py:NAME" else value


def _refuse_too_long(parser: argparse.ArgumentParser, name: str, given: str, path: str | None) -> None:
    """Refuse (one line, as a command's own UsageError, exit 2) a path whose name, or that of a folder in it, is
    longer than the file system allows: checks would otherwise fail with a traceback (``Path.is_file()`` raises
    ENAMETOOLONG, not False)."""
    try:
        if path:
            os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            print(f"{parser.prog}: error: {name} {given!r}: {exc.strerror}", file=sys.stderr)
            sys.exit(2)
    except ValueError:  # a NUL byte (main() called from Python): left to the command's own checks
        pass


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the (sub-)command that ``args`` selected, e.g. that of ``nasforge surrogate fit``."""
    while True:
        chosen = [action.choices[getattr(args, action.dest)] for action in parser._actions
                  if isinstance(action, argparse._SubParsersAction) and getattr(args, action.dest, None)]
        if not chosen:
            return parser
        parser = chosen[0]


def _add_renamed(parser: argparse.ArgumentParser) -> None:
    """Each renamed option of RENAMED that takes a value (neither a prefix nor a flag such as ``--csv``, whose new
    form has a space) as a hidden :class:`_Renamed` option of its command, for parsing (not in ``--help``)."""
    for command, names in RENAMED.items():
        command_parser = parser
        for word in command.split():
            command_parser = _commands(command_parser).choices[word]
        for old, new in names.items():
            if not old.endswith("*") and " " not in new and old not in command_parser._option_string_actions:
                command_parser.add_argument(old, action=_Renamed, new=new)


def _commands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    """The sub-commands of ``parser`` (that of ``nasforge`` or of a command group such as ``nasforge oneshot``)."""
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def _unrecognized(parser: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """The error for arguments ``parser`` does not know, with a hint for each renamed option or near miss."""
    command = parser.prog.partition(" ")[2]
    unknown = [text for text in extras if not _renamed(command, [text])]  # renamed: hinted as such
    hints = "".join(f"; {hint}" for hint in [*_renamed(command, extras), *_near_misses(parser, unknown)])
    return f"unrecognized arguments: {' '.join(extras)}{hints}"


def _near_misses(parser: argparse.ArgumentParser, extras: Sequence[str]) -> list[str]:
    """``"did you mean --seeds?"`` for each option in ``extras`` close to one of ``parser`` (``_`` read as ``-``:
    ``--search_epochs``; singular and plural: ``--seed``, ``--strategy``); renamed options left out. An option
    ``parser`` has (given after ``--``, or before the command name) is said to be out of place instead, also when an
    argument took it (``status -- --storage URL``: ``--storage`` read as the study, only ``URL`` left over)."""
    known = [o for o, action in parser._option_string_actions.items()
             if o.startswith("--") and action.help != argparse.SUPPRESS]
    after = _ARGV[_ARGV.index("--") + 1:] if "--" in _ARGV else []
    moved = [text for text in after if text.partition("=")[0] in known]
    hints: list[str] = []
    for option in (text.partition("=")[0] for text in [*moved, *extras] if text.startswith("--")):
        close = difflib.get_close_matches(option.replace("_", "-"), known, n=1, cutoff=0.8)
        hint = f"{option}: did you mean {close[0]}?" if close else ""
        if option in known:  # the command has it: given where options are not read
            hint = (f"{option}: an option after '--' is read as an argument; put it before '--'" if "--" in _ARGV
                    else f"{option}: an option of {parser.prog}; give it after the command name")
        if hint and hint not in hints:
            hints.append(hint)
    return hints


def _renamed(command: str, extras: Sequence[str]) -> list[str]:
    """``"--budget is now --trials"`` for each option in ``extras`` that ``command`` once had (see RENAMED)."""
    hints: list[str] = []
    for option in (text.partition("=")[0] for text in extras if text.startswith("-")):
        for old, new in RENAMED.get(command, {}).items():
            if old.endswith("*") and option.startswith(old[:-1]):
                hint = f"{option} is now {new[:-1]}{option[len(old) - 1:]}"
            elif option == old:
                hint = f"{option} is now {new}"
            else:
                continue
            if hint not in hints:
                hints.append(hint)
    return hints


def _subcommands(args: argparse.Namespace) -> list[str]:
    return [str(v) for k, v in vars(args).items() if k.endswith("_command") and isinstance(v, str)]


def _fail(command: str, exc: BaseException, code: int, debug: bool) -> int:
    from ..experiment.storage.display import mask_passwords

    if debug:  # the traceback, with any password in the messages it quotes masked like the error line
        print(mask_passwords("".join(traceback.format_exception(exc))), end="", file=sys.stderr)
    message = mask_passwords(" ".join(str(exc).split())) or type(exc).__name__
    print(shown_on(f"nasforge {command}: error: {message}", sys.stderr), file=sys.stderr)
    _print_notes(command, exc)
    return code


def _print_notes(command: str, exc: BaseException) -> None:
    """The notes added to ``exc`` on its way up (e.g. the command that finishes an interrupted run), a line each."""
    for note in getattr(exc, "__notes__", ()):
        print(shown_on(f"nasforge {command}: {' '.join(str(note).split())}", sys.stderr), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
