"""Background processes the app starts: one training run at a time, and a batch per output folder.

Both are a :class:`BackgroundJob`: a folder, a command line, an flock-held lock and a typed status. The app
starts ``python -m mer train --config FILE --progress-json`` (the run's configs written whole to its
``run-config.json``: one path from a form to a model, nothing mapped to flags by hand) or ``python -m mer
batch FOLDER --out batches/NAME --progress-json`` as a separate process, so the page stays responsive and
every user of the app sees the same run. A job's folder (``models/.jobs/`` for training,
``batches/.jobs/NAME/`` in the data folder for a batch) holds

* ``lock`` – flock-held by a start (or a dismissal) for as long as it looks at and changes these files: a start
  that finds it held, or finds ``job.json``'s process alive, is refused. The system drops an flock when its
  holder dies and nothing ever deletes the file, so there is no stale lock to guess about, no instant in
  which two starts both win, and a status poll (which never takes the lock) changes nothing;
* ``job.json`` – the current run: its folder's name, pid, start time and what its starter recorded;
* ``runs/ID/`` – one folder per run: ``progress.jsonl`` (its stdout, one JSON event per line), ``stderr.log``
  (its log; the last ``error:`` line explains a failure) and the files its command reads. A start removes
  the folders of earlier runs (it holds the lock: none is running).

A cancelled or failed training run never writes a model directory (training writes it atomically at the very
end), so the active model is untouched; a cancelled batch keeps what it analysed, and starting it again
resumes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from .choices import FitKind
from .config import Fit, ModelConfig, TrainConfig, VAConfig
from .settings import MODELS_DIR, batches_dir
from .run_config import write_run_config
from .serial import from_dict, to_dict
from .errors import MerError, TrainingBusyError, TrainingError
from .files import loads_json, read_json, write_json_atomic
from .frontend import front_end
from .progress import Epoch
from .registry import models_dir, new_model_name

__all__ = ["JobState", "RunStatus", "BackgroundJob", "JobStatus", "start_training", "job_status",
           "cancel_training", "clear_finished", "run_summary", "POLL_S", "BatchJobStatus", "start_batch", "batch_status", "batch_jobs",
           "cancel_batch", "clear_batch"]

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


@dataclass
class RunStatus:
    """A background job's current or last run, as its files tell it.

    Attributes
    ----------
    state : JobState
        ``DONE`` or ``CANCELLED`` by the run's last events; ``FAILED`` when the process is gone without either.
    pid : int
        The run's process (0: none).
    started : str or None
        When it started (local time, ISO 8601).
    info : dict
        What the start recorded in ``job.json`` beside those (settings, output folder…).
    events : list of dict
        The run's progress events, in order.
    run_dir : Path or None
        The run's own folder.
    message : str
        Why it failed (its log's last error), else "".
    """

    state: JobState
    pid: int = 0
    started: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    run_dir: Path | None = None
    message: str = ""

    def last(self, kind: str) -> dict[str, Any] | None:
        """The last event of ``kind`` ("epoch", "progress", "done"…), or None."""
        return next((e for e in reversed(self.events) if e.get("event") == kind), None)


@dataclass(frozen=True)
class BackgroundJob:
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
    kill_group : bool
        Cancelling signals the process's whole group (its workers too), not just the process.
    """

    folder: Path
    what: str
    busy: Callable[[str | None], MerError]
    kill_group: bool = False

    def start(self, argv: Callable[[Path], Sequence[str]], *, info: dict[str, Any],
              env: dict[str, str] | None = None) -> RunStatus:
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
                "run": run.name, "pid": proc.pid, **info, "started": datetime.now().isoformat(timespec="seconds")})
        return self.status()

    @contextlib.contextmanager
    def _claimed(self) -> Iterator[None]:
        """Hold ``lock`` (an exclusive flock, not waited for) while no run is running."""
        (self.folder / "runs").mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / "lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise self.busy(None) from None
            status = self.status()
            if status.state == JobState.RUNNING:
                raise self.busy(status.started)
            yield
        finally:
            os.close(fd)

    def _new_run(self) -> Path:
        """With the lock held and no run running: earlier runs' folders removed, a fresh one made."""
        for old in (self.folder / "runs").iterdir():
            shutil.rmtree(old, ignore_errors=True)
        for legacy in _LEGACY_FILES:
            (self.folder / legacy).unlink(missing_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"run-{datetime.now():%Y%m%d-%H%M%S}-", dir=self.folder / "runs"))

    def status(self) -> RunStatus:
        """The current or last run, read from the job's files (it never changes them)."""
        job = _read_job(self.folder / "job.json")
        run_id = str(job.pop("run", ""))
        if not _RUN_ID.fullmatch(run_id):
            return RunStatus(state=JobState.IDLE)
        pid, started, run = _pid(job.pop("pid", 0)), job.pop("started", None), self.folder / "runs" / run_id
        status = RunStatus(state=JobState.RUNNING, pid=pid, started=started, info=job,
                           events=_read_events(run / "progress.jsonl"), run_dir=run)
        kinds = {e.get("event") for e in status.events}
        if "done" in kinds:
            status.state = JobState.DONE
        elif "cancelled" in kinds:
            status.state = JobState.CANCELLED
        elif pid <= 0 or not _alive(pid):  # still "running" with its process gone: failed
            status.state = JobState.FAILED
            status.message = _last_error(run / "stderr.log") or f"the {self.what} process ended without a result"
        return status

    def cancel(self, timeout: float = 30.0) -> RunStatus:
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


def _read_events(path: Path) -> list[dict[str, Any]]:
    events = []
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return events
    for line in lines:
        try:
            event = loads_json(line, what="a progress line", max_bytes=_JOB_MAX_BYTES)
        except MerError:  # a line still being written, or not an event
            continue
        if isinstance(event, dict):
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


# --- training (the Train page) ------------------------------------------------------------------------------


@dataclass
class JobStatus:
    """What the Train page shows about the current or last run."""

    state: JobState
    settings: dict[str, Any] = field(default_factory=dict)
    epochs: list[Epoch] = field(default_factory=list)
    message: str = ""  # latest progress message, or why the run failed
    model_dir: str | None = None
    started: str | None = None
    plan: list[Fit] = field(default_factory=list)  # the fits the run makes, in order (TrainConfig.fits)
    progress: float = 0.0  # 0..1 over the fits of the plan
    run_dir: str | None = None  # the run's own folder (run-config.json, progress.jsonl, stderr.log)


#: Seconds between two looks at a running job from the Train page (its progress, then its learning curves).
POLL_S = 2.0


def run_summary(status: JobStatus) -> str:
    """One plain sentence on what a running job trains: the corpus, the fits, what is saved, the oversampling."""
    from .data.balance import SAMPLER_LABELS

    settings, kinds = status.settings, [f.kind for f in status.plan]
    root = settings.get("root", "?")
    corpus = "the bundled Emotify embeddings" if root == "bundled" else f"the corpus in '{Path(root).name}'"
    folds = kinds.count(FitKind.FOLD)
    fits = f"{folds} cross-validation folds" if folds else "no cross-validation"
    if FitKind.SEGMENT in kinds:
        fits += " and the leakage ladder's two fits"
    saved = "then one network trained on every track is saved" if FitKind.FINAL in kinds else \
        "the fold models are saved together, averaged"
    sampler = settings.get("sampler", "none")
    oversampling = "no oversampling" if sampler == "none" else \
        f"{SAMPLER_LABELS.get(sampler, sampler)} oversampling of the training tracks"
    return f"Training on {corpus}: {fits}; {saved}; {oversampling}. Started {status.started or 'just now'}."


_BUSY = ("A training run is starting or already in progress. Wait for it to finish or cancel it on the Train "
         "page; only one run at a time.")


def _training_busy(started: str | None) -> MerError:
    return TrainingBusyError(_BUSY + (f" (It started {started}.)" if started else ""))


def _training_job(models_root: Path | None = None) -> BackgroundJob:
    return BackgroundJob((models_root or models_dir()) / ".jobs", "training", _training_busy)


def _train_command(root: str | os.PathLike | None, out: Path, run_config: Path, device: str) -> list[str]:
    """The command line of a training run (a test points it at something quicker)."""
    return [sys.executable, "-m", "mer", "train", *(["--root", str(root)] if root is not None else []),
            "--out", str(out), "--progress-json", "--config", str(run_config), "--device", device]


def start_training(root: str | os.PathLike | None, config: TrainConfig, model_config: ModelConfig = ModelConfig(), *,
                   models_root: Path | None = None, name: str | None = None, device: str = "cpu",
                   va_config: VAConfig | None = VAConfig()) -> JobStatus:
    """Start a training run in the background, its epochs on ``device`` (see :mod:`mer.device`).

    ``root`` None trains on the bundled Emotify embeddings (the MusiCNN front-end only); ``va_config`` says how
    the valence–arousal head is trained beside the GEMS head (None: none).

    Raises
    ------
    TrainingBusyError
        Another run is starting or in progress (for any user of this models folder).
    TrainingError
        The models folder cannot be written.
    DeviceError
        ``device`` is not available here (said now, not by a run that fails later).
    """
    from .device import resolve_device

    refusal = front_end(model_config).bundled_refusal()
    if root is None and refusal:
        raise TrainingError(refusal)
    resolve_device(device)
    job, out = _training_job(models_root), (models_root or models_dir()) / (name or new_model_name())
    env = dict(os.environ) | ({MODELS_DIR: str(models_root)} if models_root is not None else {})

    def argv(run: Path) -> list[str]:
        write_run_config(run / "run-config.json", config, model_config, va_config)
        return _train_command(root, out, run / "run-config.json", device)

    settings = {**to_dict(config), "root": str(root) if root else "bundled"}
    try:
        job.start(argv, info={"settings": settings, "model_dir": str(out)}, env=env)
    except OSError as e:
        raise TrainingError(f"Cannot write to '{job.folder.parent}' ({e.strerror}); training needs a writable "
                            "models folder.") from None
    return job_status(models_root)


def job_status(models_root: Path | None = None) -> JobStatus:
    """State of the current or last run, read from the job files (it never changes them)."""
    run = _training_job(models_root).status()
    if run.state == JobState.IDLE:
        return JobStatus(state=JobState.IDLE)
    settings = run.info.get("settings", {})
    try:
        plan = from_dict(TrainConfig, {k: v for k, v in settings.items() if k != "root"}).fits()
    except (MerError, TypeError, AttributeError):
        plan = []
    epochs = [Epoch.from_dict(e) for e in run.events if e.get("event") == "epoch"]
    status = JobStatus(state=run.state, settings=settings, epochs=epochs, model_dir=run.info.get("model_dir"),
                       started=run.started, plan=plan, run_dir=str(run.run_dir))
    if epochs:
        last, labels = epochs[-1], [f.label for f in plan]
        # a fit counts as done when the next one begins or early stopping ends it; the current one by its epochs
        done = labels.index(last.stage) if last.stage in labels else 0
        within = 1.0 if last.early_stop else min(1.0, last.epoch / max(1, last.epochs))
        status.progress = min(1.0, (done + within) / max(1, len(plan)))
        status.message = f"{last.stage or 'training'}: epoch {last.epoch}/{last.epochs}"
        after = next(e for e in reversed(run.events) if e.get("event") in ("epoch", "progress"))
        if after.get("event") == "progress":  # a stage after the fits (the valence–arousal head): say it
            status.message = str(after.get("message", status.message))
    elif run.events:
        status.message = str(run.events[-1].get("message", ""))
    if run.state == JobState.DONE:
        status.progress, status.message = 1.0, "finished"
    elif run.state == JobState.CANCELLED:
        status.message = "cancelled; the active model is unchanged"
    elif run.state == JobState.FAILED:
        status.message = run.message
    return status


def cancel_training(models_root: Path | None = None, timeout: float = 30.0) -> JobStatus:
    """Ask the running process to stop (SIGTERM: it finishes its batch and exits without writing a model)."""
    _training_job(models_root).cancel(timeout)
    return job_status(models_root)


def clear_finished(models_root: Path | None = None) -> None:
    """Forget a finished run (its model directory, if any, stays). Nothing happens while a run is starting or
    running: the lock is taken first, so a start cannot interleave."""
    _training_job(models_root).dismiss()


# --- batch analysis of a library (the Library page) --------------------------------------------------------
#
# One background ``python -m mer batch`` per output folder (``batches/NAME`` in the data folder), several
# folders at a time, each its own job in ``batches/.jobs/NAME/``. Its progress events count files done, files/s
# and the ETA. Cancelling sends SIGTERM: the process writes what it has analysed and stops; starting the same
# batch again resumes it.


@dataclass
class BatchJobStatus:
    """What the Library page shows about a batch it started.

    Attributes
    ----------
    name : str
        The batch's name: its results are in ``batches/NAME`` of the data folder.
    state : JobState
        ``"idle"`` (never started, or dismissed), ``"running"``, ``"done"``, ``"failed"`` or ``"cancelled"``.
    folder : str
        The library folder analysed.
    done, total : int
        This run's files done (analysed or failed) and to do: files skipped as analysed before are in neither
        (the message counts them).
    files_per_s, eta_s : float or None
        The run's rate so far and the time it expects still to need.
    message : str
        The latest progress message, the summary when done, or why it failed.
    summary : dict
        The ``done`` event: analysed, skipped, failed, tracks, ok_tracks, seconds.
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
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def progress(self) -> float:
        """0..1: files done of the files named."""
        return 1.0 if self.state == "done" else min(1.0, self.done / self.total) if self.total else 0.0


def _batch_job(name: str) -> BackgroundJob:
    from .batch import BatchError
    def busy(started: str | None) -> MerError:
        since = f" (started {started})" if started else ""
        return BatchError(f"The batch '{name}' is starting or already running{since}. Wait for it, cancel it, or "
                          "give this one another name.")

    return BackgroundJob(batches_dir() / ".jobs" / name, "batch", busy, kill_group=True)


def _batch_command(folder: Path, out: Path, roots: Sequence[Path]) -> list[str]:
    """The command line of a batch (a test points it at something quicker)."""
    return [sys.executable, "-m", "mer", "batch", str(folder), "--out", str(out), "--progress-json",
            "--no-progress", *(f"--within={r}" for r in roots)]


def start_batch(folder: str, name: str) -> BatchJobStatus:
    """Start ``python -m mer batch`` on a library folder of this server, in the background, into ``batches/NAME``.

    The folder must be one the app may read (:func:`mer.batch.library.readable_folder`), and the batch reads
    only files whose real path lies under those folders (links out of them become error rows). Starting a
    batch that was cancelled or failed resumes it.

    Raises
    ------
    BatchError
        The folder may not be read or is not there; the name is not a plain name; this batch is already
        running; its output folder holds files mer did not write; the data folder cannot be written.
    """
    from .batch import BatchError
    from .batch.library import batch_output, library_roots, readable_folder
    from .batch.store import BATCH_MARKERS
    from .files import check_output_dir

    real = readable_folder(folder)
    out = batch_output(name)
    check_output_dir(out, markers=BATCH_MARKERS, what="batch results", ignore=(".lock",), error=BatchError)
    job, roots = _batch_job(name), library_roots()
    try:
        job.start(lambda run: _batch_command(real, out, roots), info={"folder": str(real), "out": str(out)})
    except OSError as e:
        raise BatchError(f"Cannot write to the data folder '{job.folder.parent.parent.parent}' ({e.strerror}); a "
                         "batch needs a writable data folder.") from None
    return batch_status(name)


def batch_status(name: str) -> BatchJobStatus:
    """State of the batch ``name`` the page started (``"idle"`` if none), read from its job files."""
    run = _batch_job(name).status()
    if run.state == JobState.IDLE:
        return BatchJobStatus(name=name, state=JobState.IDLE)
    status = BatchJobStatus(name=name, state=run.state, folder=str(run.info.get("folder", "")),
                            out=str(run.info.get("out", "")), started=run.started)
    if (last := run.last("progress")) is not None:
        status.done, status.total = int(last.get("done", 0)), int(last.get("total", 0))
        status.files_per_s, status.eta_s = last.get("files_per_s"), last.get("eta_s")
        status.message = str(last.get("message", ""))
    if run.state == JobState.DONE:
        end = run.last("done") or {}
        status.summary = end
        status.done = status.total = max(status.total, int(end.get("tracks", 0)))
        status.message = (f"{end.get('analysed', 0)} analysed, {end.get('skipped', 0)} skipped, "
                          f"{end.get('failed', 0)} failed in {end.get('seconds', 0):.1f} s")
    elif run.state == JobState.CANCELLED:
        status.message = str((run.last("cancelled") or {}).get("message", ""))
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
