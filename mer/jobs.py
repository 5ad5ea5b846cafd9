"""One background training process at a time: start, follow, cancel.

The app starts ``python -m mer train --config FILE --progress-json`` as a separate
process, the run's configs written whole to ``run-config.json`` (one path from a
form to a model: nothing is mapped to flags by hand),
so the page stays responsive and every user of the app sees the same run.
State lives in files under ``models/.jobs/``:

* ``lock`` – created exclusively while a run is active (holds its pid);
* ``run-config.json`` – the run's TrainConfig and ModelConfig, read by the process;
* ``job.json`` – the run's settings, pid, output directory and start time;
* ``progress.jsonl`` – the process's stdout, one JSON event per line;
* ``stderr.log`` – its human-readable log (the last ``error:`` line explains a failure).

A cancelled or failed run never writes a model directory (training writes it
atomically at the very end), so the active model is untouched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .config import ModelConfig, TrainConfig, from_dict, to_dict, write_run_config
from .errors import TrainingBusyError, TrainingError
from .progress import Epoch
from .registry import models_dir, new_model_name

__all__ = ["JobStatus", "start_training", "job_status", "cancel_training", "clear_finished"]


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


def start_training(root: str | os.PathLike | None, config: TrainConfig, model_config: ModelConfig = ModelConfig(), *,
                   models_root: Path | None = None, name: str | None = None, device: str = "cpu") -> JobStatus:
    """Start a training run in the background, its epochs on ``device`` (see :mod:`mer.device`).

    ``root`` None trains on the bundled Emotify embeddings (the MusiCNN front-end only).

    Raises
    ------
    TrainingBusyError
        Another run is in progress (for any user of this models folder).
    TrainingError
        The models folder cannot be written.
    DeviceError
        ``device`` is not available here (said now, not by a run that fails later).
    """
    from .device import resolve_device

    if root is None and model_config.front_end != "musicnn":
        raise TrainingError("The bundled Emotify is shipped as MusiCNN embeddings: train it with the MusiCNN "
                            "front-end, or choose a corpus with audio for the log-mel front-end.")
    resolve_device(device)
    jobs = _jobs_dir(models_root)
    try:
        jobs.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TrainingError(f"Cannot write to '{jobs.parent}' ({e.strerror}); training needs a writable models folder.") from None
    lock = jobs / "lock"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        status = job_status(models_root)
        if status.state == "running":
            raise TrainingBusyError(
                f"A training run is already in progress (started {status.started}). Wait for it to finish or "
                "cancel it on the Train page; only one run at a time."
            ) from None
        lock.unlink(missing_ok=True)  # stale lock of a run that died
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    name = name or new_model_name()
    out = (models_root or models_dir()) / name
    write_run_config(jobs / "run-config.json", config, model_config)
    cmd = [sys.executable, "-m", "mer", "train", *(["--root", str(root)] if root is not None else []),
           "--out", str(out), "--progress-json", "--config", str(jobs / "run-config.json"), "--device", device]
    env = dict(os.environ)
    if models_root is not None:
        env["MER_MODELS_DIR"] = str(models_root)
    with open(jobs / "progress.jsonl", "w") as out_f, open(jobs / "stderr.log", "w") as err_f:
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, stdin=subprocess.DEVNULL, env=env,
                                cwd=Path(__file__).resolve().parent.parent, start_new_session=True)
    os.write(fd, str(proc.pid).encode())
    os.close(fd)
    job = {"pid": proc.pid, "settings": {**to_dict(config), "root": str(root) if root else "bundled"},
           "model_dir": str(out),
           "started": datetime.now().isoformat(timespec="seconds")}
    (jobs / "job.json").write_text(json.dumps(job))
    return job_status(models_root)


def _read_events(path: Path) -> list[dict[str, Any]]:
    events = []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return events
    for line in lines:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:  # a line still being written
            pass
    return events


def _last_error(path: Path) -> str:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return ""
    errors = [ln[len("error: "):] for ln in lines if ln.startswith("error: ")]
    if errors:
        return errors[-1]
    tail = [ln for ln in lines if ln.strip()][-3:]
    return " ".join(tail)[-400:]


def job_status(models_root: Path | None = None) -> JobStatus:
    """State of the current or last run, read from the job files."""
    jobs = _jobs_dir(models_root)
    try:
        job = json.loads((jobs / "job.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return JobStatus(state="idle")
    events = _read_events(jobs / "progress.jsonl")
    epochs = [Epoch.from_dict(e) for e in events if e.get("event") == "epoch"]
    settings = job.get("settings", {})
    status = JobStatus(state="running", settings=settings, epochs=epochs, model_dir=job.get("model_dir"),
                       started=job.get("started"), plan=from_dict(TrainConfig, settings).fits())
    if epochs:
        last = epochs[-1]
        # a fit counts as done when the next one begins or early stopping ends it; the current one by its epochs
        done = status.plan.index(last.stage) if last.stage in status.plan else 0
        within = 1.0 if last.early_stop else min(1.0, last.epoch / max(1, last.epochs))
        status.progress = min(1.0, (done + within) / max(1, len(status.plan)))
        status.message = f"{last.stage or 'training'}: epoch {last.epoch}/{last.epochs}"
    elif events:
        status.message = events[-1].get("message", "")
    kinds = {e.get("event") for e in events}
    if "done" in kinds:
        status.state, status.progress, status.message = "done", 1.0, "finished"
    elif "cancelled" in kinds:
        status.state, status.message = "cancelled", "cancelled; the active model is unchanged"
    elif not _alive(int(job.get("pid", 0)) or -1):
        status.state = "failed"
        status.message = _last_error(jobs / "stderr.log") or "the training process ended without a result"
    if status.state != "running":
        (jobs / "lock").unlink(missing_ok=True)
    return status


def cancel_training(models_root: Path | None = None, timeout: float = 30.0) -> JobStatus:
    """Ask the running process to stop (SIGTERM: it finishes its batch and exits without writing a model)."""
    status = job_status(models_root)
    if status.state != "running":
        return status
    jobs = _jobs_dir(models_root)
    pid = int(json.loads((jobs / "job.json").read_text())["pid"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    return job_status(models_root)


def clear_finished(models_root: Path | None = None) -> None:
    """Forget a finished run (its model directory, if any, stays)."""
    if job_status(models_root).state == "running":
        return
    jobs = _jobs_dir(models_root)
    for f in ("job.json", "run-config.json", "progress.jsonl", "stderr.log", "lock"):
        (jobs / f).unlink(missing_ok=True)
