"""Detecting a script without an ``if __name__ == "__main__":`` guard, re-imported by a spawned worker.

With the "spawn" start method each worker process imports the main script again. An unguarded
script then starts its study once more inside the worker; instead of recursing (or leaving the
driver waiting), the worker stops at once with :data:`UNGUARDED_EXIT`, which the process executor
turns into a :class:`~nasforge.exceptions.UsageError` carrying :data:`UNGUARDED_MESSAGE`.
"""

from __future__ import annotations

import os
import sys

UNGUARDED_EXIT = 87
"""Exit status of a worker whose start re-ran a script that has no ``__main__`` guard."""
UNGUARDED_MESSAGE = ("executor='process' starts workers that import the main script again, and this script "
                     "has no guard: put the code that runs the study under if __name__ == \"__main__\": "
                     "(see docs/engine.md, Process executor)")


def exit_if_unguarded_child(reading: bool = False) -> None:
    """Stop this process if it is a worker still importing the main script, and stop a user's model file loaded to
    rebuild its space where its top-level code makes or runs a study (:func:`stop_model_file`; cheap otherwise).
    ``reading``: a study only opened (``Study.load``, or a stored study joined with ``load_if_exists=True``), which
    runs and stores nothing by itself (e.g. a file narrowing its space to an earlier study's results, or keeping a
    study handle): not stopped; its asks, tells and runs are."""
    if not reading:
        stop_model_file()
    mp = sys.modules.get("multiprocessing")  # a spawned worker always has it; others need not load it
    if mp is not None and getattr(mp.current_process(), "_inheriting", False):
        sys.stderr.write(f"nasforge worker: {UNGUARDED_MESSAGE}\n")
        sys.stderr.flush()
        os._exit(UNGUARDED_EXIT)


def stop_model_file() -> None:
    """Stop a user's model file (or package module) loaded to rebuild its space
    (:func:`nasforge.spaces.model_space.reference.stop_study_at_import`) where its top-level code makes a study or
    asks, tells, enqueues or runs one: script code that would add trials again in every process rebuilding the
    space (cheap otherwise)."""
    reference = sys.modules.get("nasforge.spaces.model_space.reference")  # loaded before any model file is
    if reference is not None:
        reference.stop_study_at_import()
