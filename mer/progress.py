"""What long work reports: ``on_progress(done, total, message)``, and training's :class:`Epoch` records.

The CLI prints them as lines, the app draws a bar and learning curves; the library only calls them.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, TextIO

__all__ = ["ProgressFn", "Epoch", "EpochFn", "ProgressPrinter"]

#: ``on_progress(done, total, message)``: ``done`` of ``total`` units finished, and what is being done.
ProgressFn = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Epoch:
    """One epoch of one fit: what the progress line, the job's bar and the learning curves show."""

    stage: str  # which fit: its label (mer.config.Fit.label: "fold 2/5", "final model"), or the study recipe's
    epoch: int
    epochs: int  # the most this fit may run (early stopping ends it sooner)
    train_loss: float
    val_loss: float
    val_accuracy: float
    lr: float
    seconds: float
    best_epoch: int
    early_stop: bool  # this fit stops after this epoch

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Epoch:
        """From :meth:`to_dict` output (other keys, such as a progress event's ``"event"``, are ignored)."""
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls)})

    def line(self) -> str:
        """The progress line the command prints."""
        where = f"{self.stage}: " if self.stage else ""
        return (f"{where}epoch {self.epoch}/{self.epochs}: train loss {self.train_loss:.3f}, val loss "
                f"{self.val_loss:.3f}, val acc {self.val_accuracy:.3f}, lr {self.lr:.2g}, {self.seconds:.1f} s")


#: ``on_epoch(epoch)``: called after every epoch of every fit.
EpochFn = Callable[[Epoch], None]


class ProgressPrinter:
    """The command line's ``on_progress(done, total, message)``: a line or a bar for people, JSON for machines.

    Parameters
    ----------
    style : {"line", "bar", None}
        ``"line"``: one line ``[done/total pct%] message`` on ``stream``, rewritten in place on a terminal and
        every 10 % otherwise; ``"bar"``: a tqdm bar (done of total, rate, ETA, the message); None: nothing.
    json_lines : bool
        Also print ``{"event": "progress", "done", "total", "<unit>s_per_s", "eta_s", "message"}`` on stdout,
        at most every ``json_every_s`` seconds, and always for the last unit.
    unit : str
        What is counted (``"file"`` in a batch).
    """

    def __init__(self, *, style: str | None = "line", json_lines: bool = False, unit: str = "step",
                 stream: TextIO | None = None, json_every_s: float = 1.0) -> None:
        self._bar: Any = None
        self._style, self._json, self._unit = style, json_lines, unit
        self._stream = stream or sys.stderr
        self._every = json_every_s
        self._t0 = time.monotonic()
        self._last_json = 0.0
        self._last_line: tuple[str, int] | None = None

    def __call__(self, done: int, total: int, message: str) -> None:
        if self._style == "bar":
            self._draw(done, total, message)
        elif self._style == "line":
            self._line(done, total, message)
        if self._json:
            now = time.monotonic()
            if done >= total or now - self._last_json >= self._every:
                self._last_json = now
                rate = done / (now - self._t0) if now > self._t0 else 0.0
                eta = (total - done) / rate if rate > 0 else None
                print(json.dumps({"event": "progress", "done": done, "total": total,
                                  f"{self._unit}s_per_s": round(rate, 3),
                                  "eta_s": None if eta is None else round(eta, 1), "message": message}), flush=True)

    def _line(self, done: int, total: int, message: str) -> None:
        pct = int(100 * done / total) if total else 100
        tty = self._stream.isatty()
        step = (message, pct // 10)
        if not tty and step == self._last_line and done < total:
            return
        self._last_line = step
        end = "\r" if tty and done < total else "\n"
        clear = "\x1b[K" if tty else ""  # on a terminal, erase what a longer line before left to the right
        print(f"[{done}/{total} {pct:3d}%] {message}{clear}", end=end, file=self._stream, flush=True)

    def _draw(self, done: int, total: int, message: str) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=self._unit, file=self._stream, dynamic_ncols=True, smoothing=0.1,
                             mininterval=0.5, disable=None if not self._stream.isatty() else False)
        if self._bar.total != total:  # a resumed batch's total drops as finished files are skipped
            self._bar.total = total
        self._bar.set_postfix_str(message, refresh=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class RateClock:
    """Counts a piece of work's pace from its start: ``line(done, total)`` says how far, how fast, and how long is
    left, for a progress bar's text (``"3 of 5 files · 1.2 files/s · about 2 s left"``)."""

    def __init__(self, unit: str = "files") -> None:
        import time

        self.unit, self._now, self._t0 = unit, time.monotonic, time.monotonic()

    def line(self, done: int, total: int) -> str:
        """The sentence for ``done`` of ``total``; rate and time left once something is done."""
        elapsed = max(self._now() - self._t0, 1e-9)
        head = f"{done:,} of {total:,} {self.unit}"
        if done <= 0:
            return head
        rate = done / elapsed
        left = (total - done) / rate
        return f"{head} · {rate:.1f} {self.unit}/s · about {left:.0f} s left"
