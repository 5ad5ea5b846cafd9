"""What long work reports: ``on_progress(done, total, message)``, training's :class:`Epoch` records, and the
events a background run writes for the app that started it.

The CLI prints them as lines, the app draws a bar and learning curves; the library only calls them. A run started
with ``--progress-json`` writes one JSON object per line on stdout (its job's ``progress.jsonl``):
:func:`event_line` writes each and :func:`parse_event` reads it back, as one of the event records below.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Callable, ClassVar, TextIO

from .serial import Record

__all__ = ["ProgressFn", "Epoch", "EpochFn", "ProgressPrinter", "RateClock", "Unit", "RATE_KEYS", "ProgressEvent",
           "Cancelled", "TrainingDone", "BatchDone", "Event", "event_line", "emit", "parse_event"]

#: ``on_progress(done, total, message)``: ``done`` of ``total`` units finished, and what is being done.
ProgressFn = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Epoch(Record):
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

    KIND: ClassVar[str] = "epoch"  # its event's name in a run's progress lines (other keys of a line are ignored)

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
        Also print a :class:`ProgressEvent` (``{"event": "progress", "done", "total", "<unit>s_per_s", "eta_s",
        "message"}``) on stdout,
        at most every ``json_every_s`` seconds, and always for the last unit.
    unit : Unit or str
        What is counted (``"file"`` in a batch); it names the rate's key (:data:`RATE_KEYS`).
    """

    def __init__(self, *, style: str | None = "line", json_lines: bool = False, unit: str = "step",
                 stream: TextIO | None = None, json_every_s: float = 1.0) -> None:
        self._bar: Any = None
        self._style, self._json, self._unit = style, json_lines, Unit(unit)
        self._given = stream  # None: whatever sys.stderr is when a line is written (a test may swap it)
        self._every = json_every_s
        self._t0 = time.monotonic()
        self._last_json = 0.0
        self._last_line: tuple[str, int] | None = None

    @property
    def _out(self) -> TextIO:
        return self._given or sys.stderr

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
                emit(ProgressEvent(done, total, message, rate=round(rate, 3),
                                   eta_s=None if eta is None else round(eta, 1), unit=self._unit))

    def _line(self, done: int, total: int, message: str) -> None:
        pct = int(100 * done / total) if total else 100
        tty = self._out.isatty()
        step = (message, pct // 10)
        if not tty and step == self._last_line and done < total:
            return
        self._last_line = step
        end = "\r" if tty and done < total else "\n"
        clear = "\x1b[K" if tty else ""  # on a terminal, erase what a longer line before left to the right
        print(f"[{done}/{total} {pct:3d}%] {message}{clear}", end=end, file=self._out, flush=True)

    def _draw(self, done: int, total: int, message: str) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=self._unit, file=self._out, dynamic_ncols=True, smoothing=0.1,
                             mininterval=0.5, disable=None if not self._out.isatty() else False)
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


# --- a background run's events (``--progress-json``) -----------------------------------------------------------


class Unit(StrEnum):
    """What a progress event counts."""

    STEP = "step"
    FILE = "file"


#: The key of a progress event's rate for each unit, in its JSON line: the one place the key is named, for the
#: writer and the reader alike (a batch's Library page reads ``files_per_s`` through it).
RATE_KEYS: dict[Unit, str] = {Unit.STEP: "steps_per_s", Unit.FILE: "files_per_s"}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class ProgressEvent:
    """``done`` of ``total`` units finished, what is being done, and the pace so far.

    Its line: ``{"event": "progress", "done", "total", "<unit>s_per_s", "eta_s", "message"}``.
    """

    KIND: ClassVar[str] = "progress"

    done: int
    total: int
    message: str = ""
    rate: float | None = None  # units per second since the run began
    eta_s: float | None = None  # the seconds it expects still to need
    unit: Unit = Unit.STEP

    def to_dict(self) -> dict[str, Any]:
        return {"done": self.done, "total": self.total, RATE_KEYS[self.unit]: self.rate, "eta_s": self.eta_s,
                "message": self.message}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProgressEvent:
        """From a line's object; a line without a rate (a stage's note) has none."""
        unit = next((u for u, key in RATE_KEYS.items() if key in d), Unit.STEP)
        return cls(done=int(d.get("done", 0)), total=int(d.get("total", 0)), message=str(d.get("message", "")),
                   rate=_number(d.get(RATE_KEYS[unit])), eta_s=_number(d.get("eta_s")), unit=unit)


@dataclass(frozen=True)
class Cancelled(Record):
    """The run stopped when asked to (SIGTERM), and says what it kept."""

    KIND: ClassVar[str] = "cancelled"

    message: str = ""


@dataclass(frozen=True)
class TrainingDone(Record):
    """A training run finished: the model directory it wrote."""

    KIND: ClassVar[str] = "done"

    model: str = ""


@dataclass(frozen=True)
class BatchDone(Record):
    """A batch finished: this run's counts (files skipped as analysed before included), and its output folder."""

    KIND: ClassVar[str] = "done"

    analysed: int = 0
    skipped: int = 0
    failed: int = 0
    tracks: int = 0
    ok_tracks: int = 0
    seconds: float = 0.0
    out: str = ""


#: What a run's progress line holds.
Event = ProgressEvent | Epoch | Cancelled | TrainingDone | BatchDone


def event_line(event: Event) -> str:
    """The event's JSON line (without the newline): ``{"event": KIND, ...its fields}``."""
    return json.dumps({"event": event.KIND, **event.to_dict()})


def emit(event: Event) -> None:
    """Print the event's line on stdout, flushed: the starter reads it while the run goes on."""
    print(event_line(event), flush=True)


def parse_event(data: Any, done: type[TrainingDone] | type[BatchDone]) -> Event | None:
    """The event a line's JSON object holds (``done``: the kind of run's result), or None for anything else: not
    an object, an event this mer does not know, or one missing what it needs."""
    if not isinstance(data, dict):
        return None
    kinds: dict[Any, Any] = {ProgressEvent.KIND: ProgressEvent, Epoch.KIND: Epoch, Cancelled.KIND: Cancelled,
                             done.KIND: done}
    cls = kinds.get(data.get("event"))
    try:
        return None if cls is None else cls.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None
