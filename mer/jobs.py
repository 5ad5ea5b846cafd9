"""Background processes the app starts: one training run at a time (:mod:`mer.training.job`), and a batch per
output folder (:mod:`mer.batch.job`).

Both are a :class:`BackgroundJob`: a folder, a command line, a lock and a typed status. The app
starts ``python -m mer train --config FILE --progress-json`` (the run's configs written whole to its
``run-config.json``: one path from a form to a model, nothing mapped to flags by hand) or ``python -m mer
batch FOLDER --out batches/NAME --progress-json`` as a separate process, so the page stays responsive and
every user of the app sees the same run. A job's folder (``models/.jobs/`` for training,
``batches/.jobs/NAME/`` in the data folder for a batch) holds

* ``lock`` – held (:func:`mer.files.hold_lock`, an flock) by a start (or a dismissal) for as long as it looks at
  and changes these files: a start that finds it held, or finds ``job.json``'s process alive, is refused. The
  system drops an flock when its holder dies and nothing ever deletes the file, so there is no stale lock to
  guess about, no instant in which two starts both win, and a status poll (which never takes the lock) changes
  nothing;
* ``job.json`` – the current run: its folder's name, pid, start time and what its starter recorded (the job's
  :class:`JobRequest`);
* ``runs/ID/`` – one folder per run: ``progress.jsonl`` (its stdout, one JSON event per line: the event records
  of :mod:`mer.progress`), ``stderr.log`` (its log; the last ``error:`` line explains a failure) and the files
  its command reads. A start removes the folders of earlier runs (it holds the lock: none is running).

A cancelled or failed training run never writes a model directory (training writes it atomically at the very
end), so the active model is untouched; a cancelled batch keeps what it analysed, and starting it again
resumes it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, Protocol, Self, TypeVar

from .errors import MerError
from .files import hold_lock, loads_json, read_json, write_json_atomic
from .progress import BatchDone, Cancelled, Event, TrainingDone, parse_event

__all__ = ["JobState", "JobRequest", "RunStatus", "BackgroundJob"]

_RUN_ID = re.compile(r"run-[A-Za-z0-9_-]{1,80}")
#: The most a job file mer writes may hold; a progress line is one JSON event.
_JOB_MAX_BYTES = 1 << 20
#: The files a job folder held before each run had its own folder (and a batch its claim lock): removed by the
#: next start.
_LEGACY_FILES = ("run-config.json", "progress.jsonl", "stderr.log", ".claim")


class JobState(StrEnum):
    """Where a background job is."""

    IDLE = "idle"  # never started, or dismissed
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobRequest(Protocol):
    """What a job's start records in ``job.json`` beside the run, its pid and start time (the training's settings,
    a batch's folders): its keys there, and the record read back from them (never raising: a file of another mer
    reads as what it can)."""

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self: ...


R = TypeVar("R", bound=JobRequest)
E = TypeVar("E")


@dataclass
class RunStatus(Generic[R]):
    """A background job's current or last run, as its files tell it.

    Attributes
    ----------
    state : JobState
        ``DONE`` or ``CANCELLED`` by the run's last events; ``FAILED`` when the process is gone without either.
    pid : int
        The run's process (0: none).
    started : str or None
        When it started (local time, ISO 8601).
    request : JobRequest or None
        What the start recorded in ``job.json`` beside those (None: no run).
    events : list of Event
        The run's progress events, in order (lines mer does not know are left out).
    run_dir : Path or None
        The run's own folder.
    message : str
        Why it failed (its log's last error), else "".
    """

    state: JobState
    pid: int = 0
    started: str | None = None
    request: R | None = None
    events: list[Event] = field(default_factory=list)
    run_dir: Path | None = None
    message: str = ""

    def last(self, kind: type[E]) -> E | None:
        """The last event of type ``kind`` (:class:`~mer.progress.ProgressEvent`, …), or None."""
        return next((e for e in reversed(self.events) if isinstance(e, kind)), None)


@dataclass(frozen=True)
class BackgroundJob(Generic[R]):
    """One background process at a time in ``folder`` (see the module's notes for the files).

    Attributes
    ----------
    folder : Path
        The job's folder.
    what : str
        What runs, in messages: "training", "batch".
    busy : callable
        The error a refused start raises, given when the running run started (None: another start holds the
        lock right now).
    request : type
        The record of what a start records (:class:`JobRequest`).
    done : type
        The event that ends a run that finished (:class:`~mer.progress.TrainingDone`, ``BatchDone``).
    kill_group : bool
        Cancelling signals the process's whole group (its workers too), not just the process.
    """

    folder: Path
    what: str
    busy: Callable[[str | None], MerError]
    request: type[R]
    done: type[TrainingDone] | type[BatchDone]
    kill_group: bool = False

    def start(self, argv: Callable[[Path], Sequence[str]], *, request: R,
              env: dict[str, str] | None = None) -> RunStatus[R]:
        """Launch ``argv(run_dir)`` in a fresh run folder (``argv`` may write the files it names there).

        Raises
        ------
        MerError
            ``busy``'s: another start holds the lock, or the current run's process is alive.
        OSError
            The job's folder cannot be written.
        """
        with self._claimed():
            run = self._new_run()
            with open(run / "progress.jsonl", "w") as out_f, open(run / "stderr.log", "w") as err_f:
                proc = subprocess.Popen(list(argv(run)), stdout=out_f, stderr=err_f, stdin=subprocess.DEVNULL,
                                        env=env, cwd=Path(__file__).resolve().parent.parent, start_new_session=True)
            # the starter (the app's server) reaps its child when it ends: a finished run is read from its files,
            # so nothing else waits for it, and it would stay a <defunct> process until the server stops
            threading.Thread(target=proc.wait, name=f"reap {self.what} {proc.pid}", daemon=True).start()
            write_json_atomic(self.folder / "job.json", {
                "run": run.name, "pid": proc.pid, **request.to_dict(),
                "started": datetime.now().isoformat(timespec="seconds")})
        return self.status()

    @contextlib.contextmanager
    def _claimed(self) -> Iterator[None]:
        """Hold ``lock`` (exclusive, not waited for) while no run is running."""
        (self.folder / "runs").mkdir(parents=True, exist_ok=True)
        with hold_lock(self.folder / "lock", busy=lambda: self.busy(None)):
            status = self.status()
            if status.state == JobState.RUNNING:
                raise self.busy(status.started)
            yield

    def _new_run(self) -> Path:
        """With the lock held and no run running: earlier runs' folders removed, a fresh one made."""
        for old in (self.folder / "runs").iterdir():
            shutil.rmtree(old, ignore_errors=True)
        for legacy in _LEGACY_FILES:
            (self.folder / legacy).unlink(missing_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"run-{datetime.now():%Y%m%d-%H%M%S}-", dir=self.folder / "runs"))

    def status(self) -> RunStatus[R]:
        """The current or last run, read from the job's files (it never changes them)."""
        job = _read_job(self.folder / "job.json")
        run_id = str(job.pop("run", ""))
        if not _RUN_ID.fullmatch(run_id):
            return RunStatus(state=JobState.IDLE)
        pid, started, run = _pid(job.pop("pid", 0)), job.pop("started", None), self.folder / "runs" / run_id
        status = RunStatus(state=JobState.RUNNING, pid=pid, started=started, request=self.request.from_dict(job),
                           events=_read_events(run / "progress.jsonl", self.done), run_dir=run)
        if any(isinstance(e, self.done) for e in status.events):
            status.state = JobState.DONE
        elif any(isinstance(e, Cancelled) for e in status.events):
            status.state = JobState.CANCELLED
        elif pid <= 0 or not _alive(pid):  # still "running" with its process gone: failed
            status.state = JobState.FAILED
            status.message = _last_error(run / "stderr.log") or f"the {self.what} process ended without a result"
        return status

    def cancel(self, timeout: float = 30.0) -> RunStatus[R]:
        """Ask the running process to stop (SIGTERM; SIGKILL after ``timeout`` seconds)."""
        status = self.status()
        if status.state == JobState.RUNNING:
            _terminate(status.pid, timeout, group=self.kill_group)
        return self.status()

    def dismiss(self) -> None:
        """Forget a finished run (what it wrote elsewhere stays). Nothing happens while a start holds the lock
        or a run is running: the lock is taken first, so a start cannot interleave."""
        if not self.folder.is_dir():
            return
        try:
            with self._claimed():
                run_id = str(_read_job(self.folder / "job.json").get("run", ""))
                (self.folder / "job.json").unlink(missing_ok=True)
                if _RUN_ID.fullmatch(run_id):
                    shutil.rmtree(self.folder / "runs" / run_id, ignore_errors=True)
        except MerError:  # busy
            return


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of this process is finished, not alive
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def _pid(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _read_job(path: Path) -> dict[str, Any]:
    """``job.json`` of the current or last run; empty when there is none or it is not one mer wrote."""
    try:
        job = read_json(path, max_bytes=_JOB_MAX_BYTES)
    except (OSError, MerError):
        return {}
    return job if isinstance(job, dict) else {}


def _read_events(path: Path, done: type[TrainingDone] | type[BatchDone]) -> list[Event]:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []
    events = []
    for line in lines:
        try:
            data = loads_json(line, what="a progress line", max_bytes=_JOB_MAX_BYTES)
        except MerError:  # a line still being written, or not an event
            continue
        if (event := parse_event(data, done)) is not None:
            events.append(event)
    return events


def _last_error(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    errors = [ln[len("error: "):] for ln in lines if ln.startswith("error: ")]
    if errors:
        return errors[-1]
    tail = [ln for ln in lines if ln.strip()][-3:]
    return " ".join(tail)[-400:]


def _terminate(pid: int, timeout: float, *, group: bool = False) -> None:
    """SIGTERM, up to ``timeout`` seconds to exit cleanly, then SIGKILL (to the whole process group with ``group``)."""
    if pid <= 0:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
