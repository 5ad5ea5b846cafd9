"""The one progress-callback type every long job takes: ``on_progress(done, total, message)``.

The CLI prints it as a line, the app draws it as a bar, from the same code.
"""

from __future__ import annotations

from typing import Callable

__all__ = ["ProgressFn"]

ProgressFn = Callable[[int, int, str], None]
