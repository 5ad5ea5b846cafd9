"""Background processes the app starts: one training run at a time; a batch per output folder (below).

The app starts ``python -m mer train --config FILE --progress-json`` as a separate
process, the run's configs written whole to its ``run-config.json`` (one path from a
form to a model: nothing is mapped to flags by hand),
so the page stays responsive and every user of the app sees the same run.
State lives in files under ``models/.jobs/``:

* ``lock`` – flock-held by a start (or a dismissal) for as long as it looks at and changes these files: a start
  that finds it held, or finds ``job.json``'s process alive, is refused. The system drops an flock when its
  holder dies and nothing ever deletes the file, so there is no stale lock to guess about and no instant in
  which two starts both win;
* ``job.json`` – the current run: its folder, settings, pid, output directory and start time;
* ``runs/ID/`` – one folder per run: ``run-config.json`` (the TrainConfig and ModelConfig the process reads),
  ``progress.jsonl`` (its stdout, one JSON event per line) and ``stderr.log`` (its log; the last ``error:``
  line explains a failure). A start removes the folders of earlier runs (it holds the lock: none is running).

A cancelled or failed run never writes a model directory (training writes it
atomically at the very end), so the active model is untouched.
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
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from .config import ModelConfig, TrainConfig, from_dict, to_dict, write_run_config
from .errors import MerError, TrainingBusyError, TrainingError
from .files import loads_json, read_json, write_json_atomic
from .frontend import front_end
from .progress import Epoch
from .registry import models_dir, new_model_name

__all__ = ["JobStatus", "start_training", "job_status", "cancel_training", "clear_finished",
           "BatchJobStatus", "start_batch", "batch_status", "batch_jobs", "cancel_batch", "clear_batch"]

_RUN_ID = re.compile(r"run-[A-Za-z0-9_-]{1,80}")
#: The most a job file mer writes may hold; a progress line is one JSON event.
_JOB_MAX_BYTES = 1 << 20


def _jobs_dir(root: Path | None = None) -> Path:
    return (root or models_dir()) / ".jobs"


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


@dataclass
class JobStatus:
    """What the Train page shows about the current or last run."""

    state: str  # "idle", "running", "done", "failed", "cancelled"
    settings: dict[str, Any] = field(default_factory=dict)
    epochs: list[Epoch] = field(default_factory=list)
    message: str = ""  # latest progress message, or why the run failed
    model_dir: str | None = None
    started: str | None = None
    plan: list[str] = field(default_factory=list)  # the fits the run makes, in order (TrainConfig.fits)
    progress: float = 0.0  # 0..1 over the fits of the plan
    run_dir: str | None = None  # the run's own folder (run-config.json, progress.jsonl, stderr.log)


_BUSY = ("A training run is starting or already in progress. Wait for it to finish or cancel it on the Train "
         "page; only one run at a time.")


@contextlib.contextmanager
def _run_lock(models_root: Path | None) -> Iterator[None]:
    """Hold ``.jobs/lock`` (an exclusive flock, not waited for) while no run is running.

    Raises
    ------
    TrainingBusyError
        Another start or dismissal holds the lock, or the current run's process is alive.
    """
    jobs = _jobs_dir(models_root)
    fd = os.open(jobs / "lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TrainingBusyError(_BUSY) from None
        status = job_status(models_root)
        if status.state == "running":
            raise TrainingBusyError(_BUSY + f" (It started {status.started}.)")
        yield
    finally:
        os.close(fd)


def _train_command(root: str | os.PathLike | None, out: Path, run_config: Path, device: str) -> list[str]:
    """The command line of a training run (a test points it at something quicker)."""
    return [sys.executable, "-m", "mer", "train", *(["--root", str(root)] if root is not None else []),
            "--out", str(out), "--progress-json", "--config", str(run_config), "--device", device]


def start_training(root: str | os.PathLike | None, config: TrainConfig, model_config: ModelConfig = ModelConfig(), *,
                   models_root: Path | None = None, name: str | None = None, device: str = "cpu") -> JobStatus:
    """Start a training run in the background, its epochs on ``device`` (see :mod:`mer.device`).

    ``root`` None trains on the bundled Emotify embeddings (the MusiCNN front-end only).

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
    jobs = _jobs_dir(models_root)
    try:
        (jobs / "runs").mkdir(parents=True, exist_ok=True)
        with _run_lock(models_root):
            return _launch(jobs, root, config, model_config, models_root=models_root, name=name, device=device)
    except OSError as e:
        raise TrainingError(f"Cannot write to '{jobs.parent}' ({e.strerror}); training needs a writable models "
                            "folder.") from None


def _launch(jobs: Path, root: str | os.PathLike | None, config: TrainConfig, model_config: ModelConfig, *,
            models_root: Path | None, name: str | None, device: str) -> JobStatus:
    """With the lock held and no run running: a fresh run folder, the process, then ``job.json`` naming both."""
    for old in (jobs / "runs").iterdir():  # no run is active while the lock is ours: earlier runs' folders go
        shutil.rmtree(old, ignore_errors=True)
    for legacy in ("run-config.json", "progress.jsonl", "stderr.log"):  # the shared files of mer before runs/
        (jobs / legacy).unlink(missing_ok=True)
    run = Path(tempfile.mkdtemp(prefix=f"run-{datetime.now():%Y%m%d-%H%M%S}-", dir=jobs / "runs"))
    out = (models_root or models_dir()) / (name or new_model_name())
    write_run_config(run / "run-config.json", config, model_config)
    env = dict(os.environ)
    if models_root is not None:
        env["MER_MODELS_DIR"] = str(models_root)
    with open(run / "progress.jsonl", "w") as out_f, open(run / "stderr.log", "w") as err_f:
        proc = subprocess.Popen(_train_command(root, out, run / "run-config.json", device), stdout=out_f,
                                stderr=err_f, stdin=subprocess.DEVNULL, env=env,
                                cwd=Path(__file__).resolve().parent.parent, start_new_session=True)
    job = {"run": run.name, "pid": proc.pid, "settings": {**to_dict(config), "root": str(root) if root else "bundled"},
           "model_dir": str(out), "started": datetime.now().isoformat(timespec="seconds")}
    write_json_atomic(jobs / "job.json", job)
    return job_status(models_root)


def _current_job(jobs: Path) -> dict[str, Any]:
    """``job.json`` of the current or last run; empty when there is none or it is not one mer wrote."""
    try:
        job = read_json(jobs / "job.json", max_bytes=_JOB_MAX_BYTES)
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


def job_status(models_root: Path | None = None) -> JobStatus:
    """State of the current or last run, read from the job files (it never changes them)."""
    jobs = _jobs_dir(models_root)
    job = _current_job(jobs)
    run_id = str(job.get("run", ""))
    if not _RUN_ID.fullmatch(run_id):
        return JobStatus(state="idle")
    run = jobs / "runs" / run_id
    events = _read_events(run / "progress.jsonl")
    epochs = [Epoch.from_dict(e) for e in events if e.get("event") == "epoch"]
    settings = job.get("settings", {})
    try:
        plan = from_dict(TrainConfig, {k: v for k, v in settings.items() if k != "root"}).fits()
    except (MerError, TypeError, AttributeError):
        plan = []
    status = JobStatus(state="running", settings=settings, epochs=epochs, model_dir=job.get("model_dir"),
                       started=job.get("started"), plan=plan, run_dir=str(run))
    if epochs:
        last = epochs[-1]
        # a fit counts as done when the next one begins or early stopping ends it; the current one by its epochs
        done = status.plan.index(last.stage) if last.stage in status.plan else 0
        within = 1.0 if last.early_stop else min(1.0, last.epoch / max(1, last.epochs))
        status.progress = min(1.0, (done + within) / max(1, len(status.plan)))
        status.message = f"{last.stage or 'training'}: epoch {last.epoch}/{last.epochs}"
    elif events:
        status.message = str(events[-1].get("message", ""))
    kinds = {e.get("event") for e in events}
    if "done" in kinds:
        status.state, status.progress, status.message = "done", 1.0, "finished"
    elif "cancelled" in kinds:
        status.state, status.message = "cancelled", "cancelled; the active model is unchanged"
    _settle(status, run / "stderr.log", _pid(job), "training")
    return status


def _pid(job: dict[str, Any]) -> int:
    try:
        return int(job.get("pid", 0))
    except (TypeError, ValueError):
        return 0


def _settle(status: JobStatus | BatchJobStatus, log: Path, pid: int, what: str) -> None:
    """A job still "running" whose process is gone has failed (its log's last error says why)."""
    if status.state == "running" and (pid <= 0 or not _alive(pid)):  # no pid: nothing can be running
        status.state = "failed"
        status.message = _last_error(log) or f"the {what} process ended without a result"


def cancel_training(models_root: Path | None = None, timeout: float = 30.0) -> JobStatus:
    """Ask the running process to stop (SIGTERM: it finishes its batch and exits without writing a model)."""
    status = job_status(models_root)
    if status.state != "running":
        return status
    _terminate(_pid(_current_job(_jobs_dir(models_root))), timeout)
    return job_status(models_root)


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


def clear_finished(models_root: Path | None = None) -> None:
    """Forget a finished run (its model directory, if any, stays). Nothing happens while a run is starting or
    running: the lock is taken first, so a start cannot interleave."""
    jobs = _jobs_dir(models_root)
    if not jobs.is_dir():
        return
    try:
        with _run_lock(models_root):
            run_id = str(_current_job(jobs).get("run", ""))
            (jobs / "job.json").unlink(missing_ok=True)
            if _RUN_ID.fullmatch(run_id):
                shutil.rmtree(jobs / "runs" / run_id, ignore_errors=True)
    except TrainingBusyError:
        return


# --- batch analysis of a library (the Library page) --------------------------------------------------------
#
# One background ``python -m mer batch`` per output folder (``batches/NAME`` in the data folder), several
# folders at a time. State lives in ``batches/.jobs/NAME/`` beside the results: ``lock`` (the pid, created
# exclusively), ``job.json`` (folder, output, start time, pid), ``progress.jsonl`` (the process's JSON lines:
# files done, files/s, ETA) and ``stderr.log``. Cancelling sends SIGTERM: the process writes what it has
# analysed and stops; starting the same batch again resumes it.


@dataclass
class BatchJobStatus:
    """What the Library page shows about a batch it started.

    Attributes
    ----------
    name : str
        The batch's name: its results are in ``batches/NAME`` of the data folder.
    state : str
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
    state: str
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


def _batch_jobs_dir(name: str) -> Path:
    from .batch.library import batches_dir

    return batches_dir() / ".jobs" / name


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
    jobs = _batch_jobs_dir(name)
    try:
        jobs.mkdir(parents=True, exist_ok=True)
        fd = _claim(jobs / "lock")
    except OSError as e:
        raise BatchError(f"Cannot write to the data folder '{jobs.parent.parent.parent}' ({e.strerror}); a batch "
                         "needs a writable data folder.") from None
    if fd is None:
        status = batch_status(name)
        since = f" (started {status.started})" if status.state == "running" and status.started else ""
        raise BatchError(f"The batch '{name}' is starting or already running{since}. Wait for it, cancel it, or "
                         "give this one another name.")
    cmd = [sys.executable, "-m", "mer", "batch", str(real), "--out", str(out), "--progress-json", "--no-progress",
           *(f"--within={r}" for r in library_roots())]
    with open(jobs / "progress.jsonl", "w") as out_f, open(jobs / "stderr.log", "w") as err_f:
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, stdin=subprocess.DEVNULL,
                                cwd=Path(__file__).resolve().parent.parent, start_new_session=True)
    os.write(fd, str(proc.pid).encode())
    os.close(fd)
    job = {"pid": proc.pid, "folder": str(real), "out": str(out),
           "started": datetime.now().isoformat(timespec="seconds")}
    write_json_atomic(jobs / "job.json", job)
    return batch_status(name)


def _claim(lock: Path) -> int | None:
    """The lock file created exclusively (its fd), or None while a live process holds it; a stale one is taken.

    Claims are one at a time (an flock on ``.claim`` beside it, never deleted): two starts that both find a dead
    run's lock cannot both remove it and each create their own.
    """
    guard = os.open(lock.parent / ".claim", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # another start is claiming it right now
        return _claim_held(lock)
    finally:
        os.close(guard)


def _claim_held(lock: Path) -> int | None:
    """:func:`_claim`, its guard held."""
    for _ in range(2):
        try:
            return os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text() or 0)
            except (OSError, ValueError):
                pid = 0
            try:
                young = time.time() - lock.stat().st_mtime < 5
            except FileNotFoundError:  # its owner just removed it: try again
                continue
            if pid == 0 and young:  # being written by a start right now
                return None
            if pid and _alive(pid):
                return None
            lock.unlink(missing_ok=True)  # the lock of a run that died
    return None


def batch_status(name: str) -> BatchJobStatus:
    """State of the batch ``name`` the page started (``"idle"`` if none), read from its job files."""
    jobs = _batch_jobs_dir(name)
    job = _current_job(jobs)
    if not job:
        return BatchJobStatus(name=name, state="idle")
    status = BatchJobStatus(name=name, state="running", folder=job.get("folder", ""), out=job.get("out", ""),
                            started=job.get("started"))
    events = _read_events(jobs / "progress.jsonl")
    progress = [e for e in events if e.get("event") == "progress"]
    if progress:
        last = progress[-1]
        status.done, status.total = int(last.get("done", 0)), int(last.get("total", 0))
        status.files_per_s, status.eta_s = last.get("files_per_s"), last.get("eta_s")
        status.message = str(last.get("message", ""))
    ends = {e.get("event"): e for e in events if e.get("event") in ("done", "cancelled")}
    if "done" in ends:
        status.state, status.summary = "done", ends["done"]
        status.done = status.total = max(status.total, int(ends["done"].get("tracks", 0)))
        status.message = (f"{ends['done'].get('analysed', 0)} analysed, {ends['done'].get('skipped', 0)} skipped, "
                          f"{ends['done'].get('failed', 0)} failed in {ends['done'].get('seconds', 0):.1f} s")
    elif "cancelled" in ends:
        status.state, status.message = "cancelled", str(ends["cancelled"].get("message", ""))
    _settle(status, jobs / "stderr.log", _pid(job), "batch")
    if status.state != "running":
        _release_own_lock(jobs / "lock", _pid(job))
    return status


def _release_own_lock(lock: Path, pid: int) -> None:
    """Remove a finished batch's lock, only when it holds that batch's pid: a lock a new start has just created
    (empty, or another pid) is not this job's to remove."""
    try:
        owner = int(lock.read_text() or 0)
    except (OSError, ValueError):
        return
    if pid > 0 and owner == pid:
        lock.unlink(missing_ok=True)


def batch_jobs() -> list[BatchJobStatus]:
    """Every batch the page started and did not dismiss, the newest first."""
    from .batch.library import batches_dir

    root = batches_dir() / ".jobs"
    names = [p.name for p in root.iterdir() if (p / "job.json").is_file()] if root.is_dir() else []
    return sorted((batch_status(n) for n in names), key=lambda s: s.started or "", reverse=True)


def cancel_batch(name: str, timeout: float = 30.0) -> BatchJobStatus:
    """Ask the batch ``name`` to stop (SIGTERM: it writes what it has analysed and exits; start it to resume)."""
    status = batch_status(name)
    if status.state != "running":
        return status
    # its own session: a kill reaches the process and its workers
    _terminate(_pid(_current_job(_batch_jobs_dir(name))), timeout, group=True)
    return batch_status(name)


def clear_batch(name: str) -> None:
    """Forget a finished, cancelled or failed batch job (its results, if any, stay)."""
    if batch_status(name).state == "running":
        return
    jobs = _batch_jobs_dir(name)
    for f in ("job.json", "progress.jsonl", "stderr.log", "lock"):  # not .claim: a start may hold it now
        (jobs / f).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        jobs.rmdir()
