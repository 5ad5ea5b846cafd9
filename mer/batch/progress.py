"""Progress of a batch on the command line: a bar with files/s and ETA (tqdm), and JSON lines for machines."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

__all__ = ["BatchProgress"]


class BatchProgress:
    """An ``on_progress(done, total, message)`` callback that draws a bar on stderr and/or prints JSON lines.

    Parameters
    ----------
    bar : bool
        Draw a tqdm bar (files done of total, files/s, ETA, the counts) on ``stream``.
    json_lines : bool
        Print ``{"event": "progress", "done", "total", "files_per_s", "eta_s", "message"}`` on stdout,
        at most every ``json_every_s`` seconds and for the last file.
    """

    def __init__(self, *, bar: bool = True, json_lines: bool = False, stream: TextIO | None = None,
                 json_every_s: float = 1.0) -> None:
        self._bar: Any = None
        self._want_bar = bar
        self._json = json_lines
        self._stream = stream or sys.stderr
        self._every = json_every_s
        self._t0 = time.monotonic()
        self._last_json = 0.0

    def __call__(self, done: int, total: int, message: str) -> None:
        if self._want_bar:
            self._draw(done, total, message)
        if self._json:
            now = time.monotonic()
            if done >= total or now - self._last_json >= self._every:
                self._last_json = now
                rate = done / (now - self._t0) if now > self._t0 else 0.0
                eta = (total - done) / rate if rate > 0 else None
                print(json.dumps({"event": "progress", "done": done, "total": total, "files_per_s": round(rate, 3),
                                  "eta_s": None if eta is None else round(eta, 1), "message": message}), flush=True)

    def _draw(self, done: int, total: int, message: str) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="file", file=self._stream, dynamic_ncols=True, smoothing=0.1,
                             mininterval=0.5, disable=None if not self._stream.isatty() else False)
        self._bar.set_postfix_str(message, refresh=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
