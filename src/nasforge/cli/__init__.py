"""The ``nasforge`` command line. Each sub-module registers its own sub-commands.

Bad input (a ``UsageError``, ``ValueError``, ``KeyError`` or missing file) prints one clear line
and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules under nasforge.cli that define ``register(subparsers)``; each sub-command sets ``func``.
COMMAND_MODULES: tuple[str, ...] = ("bench", "search", "engine", "predictors", "surrogate", "report", "dashboard")


class UsageError(Exception):
    """Raised by commands for bad user input."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nasforge", description="Neural Architecture Search toolkit.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{module}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UsageError, ValueError, KeyError, FileNotFoundError, TypeError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"nasforge {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nasforge {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
