"""The progress callback every long job takes: ``on_progress(done, total, message)``.

The CLI prints it as a line, the app draws it as a bar; the library only calls it.
"""

from __future__ import annotations

from typing import Callable

__all__ = ["ProgressFn"]

#: ``on_progress(done, total, message)``: ``done`` of ``total`` units finished, and what is being done.
ProgressFn = Callable[[int, int, str], None]
