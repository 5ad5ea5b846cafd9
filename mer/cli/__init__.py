"""``python -m mer``: the command line, as thin as the app's pages.

The parser and :func:`main` live here; each command group's handlers in a module of its own (:mod:`.analyze`:
spectra, analyze; :mod:`.data`; :mod:`.model`: train, evaluate, card, ladder, models; :mod:`.batch`: batch,
library; :mod:`.settings`). Every :class:`~mer.errors.MerError` ends the program with exit status 2 and one line on stderr that
begins with ``error:``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Callable, Sequence

from ..errors import MerError, MerWarning
from .analyze import add_analyze_command, add_spectra_command
from .batch import add_batch_command, add_library_commands
from .data import add_data_commands
from .model import add_model_commands, add_models_command
from .settings import add_settings_command

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mer", description="Music emotion recognition (CNN-LSTM, GEMS-9).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_spectra_command(sub)
    add_data_commands(sub)
    add_analyze_command(sub)
    add_model_commands(sub)
    add_library_commands(sub)
    add_models_command(sub)
    add_batch_command(sub)
    add_settings_command(sub)
    return parser


def _silence_c_stderr() -> None:
    """Send what C libraries write to fd 2 (libmpg123's resync notes) to /dev/null.

    Python's own ``sys.stderr`` keeps writing to the real stderr, so the user
    sees our progress, warnings and the one ``error:`` line, and nothing else.
    """
    try:
        real = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        sys.stderr = os.fdopen(real, "w", buffering=1)
    except OSError:  # no fd 2 (e.g. some service managers): nothing to silence
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if argv is None:  # a real process, not a test calling main()
        _silence_c_stderr()
    func: Callable[[argparse.Namespace], int] = args.func
    warnings.simplefilter("default", MerWarning)
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"  # type: ignore[assignment]
    try:
        return func(args)
    except MerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m mer analyze FILE | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
