"""The Library page's background batches: one ``python -m mer batch`` per output folder (``batches/NAME`` in the
data folder), several folders at a time, each its own :class:`~mer.jobs.BackgroundJob` in ``batches/.jobs/NAME/``
(see :mod:`mer.jobs` for the files).

Its progress events count files done, files/s and the ETA. Cancelling sends SIGTERM to the process group: the
process writes what it has analysed and stops; starting the same batch again resumes it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BatchError, MerError
from ..files import check_output_dir
from ..jobs import BackgroundJob, JobState
from ..progress import BatchDone, Cancelled, ProgressEvent
from ..settings import batches_dir
from .folders import library_roots, readable_folder
from .library import batch_output
from .store import BATCH_MARKERS

__all__ = ["BatchRequest", "BatchJobStatus", "start_batch", "batch_status", "batch_jobs", "cancel_batch",
           "clear_batch"]


@dataclass(frozen=True)
class BatchRequest:
    """What a batch's start records in ``job.json``: the library folder it reads and its output folder."""

    folder: str = ""
    out: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "out": self.out}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchRequest:
        return cls(folder=str(data.get("folder", "")), out=str(data.get("out", "")))


@dataclass
class BatchJobStatus:
    """What the Library page shows about a batch it started.

    Attributes
    ----------
    name : str
        The batch's name: its results are in ``batches/NAME`` of the data folder.
    state : JobState
        ``IDLE`` (never started, or dismissed), ``RUNNING``, ``DONE``, ``FAILED`` or ``CANCELLED``.
    folder : str
        The library folder analysed.
    done, total : int
        This run's files done (analysed or failed) and to do: files skipped as analysed before are in neither
        (the message counts them).
    files_per_s, eta_s : float or None
        The run's rate so far and the time it expects still to need.
    message : str
        The latest progress message, the summary when done, or why it failed.
    summary : BatchDone or None
        The run's result, once it is done: analysed, skipped, failed, tracks, ok_tracks, seconds.
    """

    name: str
    state: JobState
    folder: str = ""
    out: str = ""
    started: str | None = None
    done: int = 0
    total: int = 0
    files_per_s: float | None = None
    eta_s: float | None = None
    message: str = ""
    summary: BatchDone | None = None

    @property
    def progress(self) -> float:
        """0..1: files done of the files named."""
        return 1.0 if self.state == JobState.DONE else min(1.0, self.done / self.total) if self.total else 0.0


def _batch_job(name: str) -> BackgroundJob[BatchRequest]:
    def busy(started: str | None) -> MerError:
        since = f" (started {started})" if started else ""
        return BatchError(f"The batch '{name}' is starting or already running{since}. Wait for it, cancel it, or "
                          "give this one another name.")

    return BackgroundJob(batches_dir() / ".jobs" / name, "batch", busy, BatchRequest, BatchDone, kill_group=True)


def _batch_command(folder: Path, out: Path, roots: Sequence[Path]) -> list[str]:
    """The command line of a batch (a test points it at something quicker)."""
    return [sys.executable, "-m", "mer", "batch", str(folder), "--out", str(out), "--progress-json",
            "--no-progress", *(f"--within={r}" for r in roots)]


def start_batch(folder: str, name: str) -> BatchJobStatus:
    """Start ``python -m mer batch`` on a library folder of this server, in the background, into ``batches/NAME``.

    The folder must be one the app may read (:func:`mer.batch.folders.readable_folder`), and the batch reads
    only files whose real path lies under those folders (links out of them become error rows). Starting a
    batch that was cancelled or failed resumes it.

    Raises
    ------
    BatchError
        The folder may not be read or is not there; the name is not a plain name; this batch is already
        running; its output folder holds files mer did not write; the data folder cannot be written.
    """
    real = readable_folder(folder)
    out = batch_output(name)
    check_output_dir(out, markers=BATCH_MARKERS, what="batch results", ignore=(".lock",), error=BatchError)
    job, roots = _batch_job(name), library_roots()
    try:
        job.start(lambda run: _batch_command(real, out, roots), request=BatchRequest(str(real), str(out)))
    except OSError as e:
        raise BatchError(f"Cannot write to the data folder '{job.folder.parent.parent.parent}' ({e.strerror}); a "
                         "batch needs a writable data folder.") from None
    return batch_status(name)


def batch_status(name: str) -> BatchJobStatus:
    """State of the batch ``name`` the page started (``IDLE`` if none), read from its job files."""
    run = _batch_job(name).status()
    if run.state == JobState.IDLE or run.request is None:
        return BatchJobStatus(name=name, state=JobState.IDLE)
    status = BatchJobStatus(name=name, state=run.state, folder=run.request.folder, out=run.request.out,
                            started=run.started)
    if (last := run.last(ProgressEvent)) is not None:
        status.done, status.total = last.done, last.total
        status.files_per_s, status.eta_s, status.message = last.rate, last.eta_s, last.message
    if run.state == JobState.DONE:
        end = run.last(BatchDone) or BatchDone()
        status.summary = end
        status.done = status.total = max(status.total, end.tracks)
        status.message = f"{end.analysed} analysed, {end.skipped} skipped, {end.failed} failed in {end.seconds:.1f} s"
    elif run.state == JobState.CANCELLED:
        status.message = (run.last(Cancelled) or Cancelled()).message
    elif run.state == JobState.FAILED:
        status.message = run.message
    return status


def batch_jobs() -> list[BatchJobStatus]:
    """Every batch the page started and did not dismiss, the newest first."""
    root = batches_dir() / ".jobs"
    names = [p.name for p in root.iterdir() if (p / "job.json").is_file()] if root.is_dir() else []
    jobs = [s for s in map(batch_status, names) if s.state != JobState.IDLE]
    return sorted(jobs, key=lambda s: s.started or "", reverse=True)


def cancel_batch(name: str, timeout: float = 30.0) -> BatchJobStatus:
    """Ask the batch ``name`` to stop (SIGTERM to its process group, its workers too: it writes what it has
    analysed and exits; start it to resume)."""
    _batch_job(name).cancel(timeout)
    return batch_status(name)


def clear_batch(name: str) -> None:
    """Forget a finished, cancelled or failed batch job (its results, if any, stay)."""
    _batch_job(name).dismiss()
