"""The Train page's background run: one ``python -m mer train`` at a time per models folder, its job in
``models/.jobs/`` (a :class:`~mer.jobs.BackgroundJob`; see :mod:`mer.jobs` for the files).

The run's configs are written whole to its ``run-config.json`` (one path from a form to a model, nothing mapped to
flags by hand); its epochs and stages come back as :mod:`mer.progress` events, read into a :class:`JobStatus`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..choices import FitKind, Sampler
from ..config import Fit, ModelConfig, TrainConfig, VAConfig
from ..errors import MerError, TrainingBusyError, TrainingError
from ..frontend import front_end
from ..jobs import BackgroundJob, JobState, RunStatus
from ..progress import Cancelled, Epoch, Event, ProgressEvent, TrainingDone
from ..registry import models_dir, new_model_name
from ..run_config import write_run_config
from ..serial import from_dict, to_dict
from ..settings import MODELS_DIR

__all__ = ["TrainingRequest", "JobStatus", "POLL_S", "run_summary", "start_training", "job_status",
           "cancel_training", "clear_finished"]


@dataclass(frozen=True)
class TrainingRequest:
    """What a training start records in ``job.json``: ``{"settings": {...TrainConfig, "root"}, "model_dir"}``.

    Attributes
    ----------
    config : TrainConfig or None
        The run's training settings (None: settings this mer cannot read).
    root : str
        The corpus folder, or ``"bundled"`` (the bundled Emotify embeddings).
    model_dir : str or None
        The model directory the run writes.
    """

    config: TrainConfig | None
    root: str = "bundled"
    model_dir: str | None = None

    def to_dict(self) -> dict[str, Any]:
        settings = to_dict(self.config) if self.config is not None else {}
        return {"settings": {**settings, "root": self.root}, "model_dir": self.model_dir}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingRequest:
        """From ``job.json``'s keys; what cannot be read is left out (a config that does not check is None)."""
        settings = data.get("settings")
        settings = settings if isinstance(settings, dict) else {}
        try:
            config = from_dict(TrainConfig, {k: v for k, v in settings.items() if k != "root"})
        except (MerError, TypeError, AttributeError, ValueError):
            config = None
        model_dir = data.get("model_dir")
        return cls(config=config, root=str(settings.get("root", "?")),
                   model_dir=None if model_dir is None else str(model_dir))


@dataclass
class JobStatus:
    """What the Train page shows about the current or last run."""

    state: JobState
    config: TrainConfig | None = None  # the run's settings (None: none, or unreadable)
    root: str = ""  # the corpus folder, or "bundled"
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
    from ..data.balance import SAMPLER_LABELS

    kinds = [f.kind for f in status.plan]
    root = status.root or "?"
    corpus = "the bundled Emotify embeddings" if root == "bundled" else f"the corpus in '{Path(root).name}'"
    folds = kinds.count(FitKind.FOLD)
    fits = f"{folds} cross-validation folds" if folds else "no cross-validation"
    if FitKind.SEGMENT in kinds:
        fits += " and the leakage ladder's two fits"
    saved = "then one network trained on every track is saved" if FitKind.FINAL in kinds else \
        "the fold models are saved together, averaged"
    sampler = status.config.sampler if status.config is not None else Sampler.NONE
    oversampling = "no oversampling" if sampler == Sampler.NONE else \
        f"{SAMPLER_LABELS.get(sampler, sampler)} oversampling of the training tracks"
    return f"Training on {corpus}: {fits}; {saved}; {oversampling}. Started {status.started or 'just now'}."


_BUSY = ("A training run is starting or already in progress. Wait for it to finish or cancel it on the Train "
         "page; only one run at a time.")


def _training_busy(started: str | None) -> MerError:
    return TrainingBusyError(_BUSY + (f" (It started {started}.)" if started else ""))


def _training_job(models_root: Path | None = None) -> BackgroundJob[TrainingRequest]:
    return BackgroundJob((models_root or models_dir()) / ".jobs", "training", _training_busy, TrainingRequest,
                         TrainingDone)


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
    from ..device import resolve_device

    refusal = front_end(model_config).bundled_refusal()
    if root is None and refusal:
        raise TrainingError(refusal)
    resolve_device(device)
    job, out = _training_job(models_root), (models_root or models_dir()) / (name or new_model_name())
    env = dict(os.environ) | ({MODELS_DIR: str(models_root)} if models_root is not None else {})

    def argv(run: Path) -> list[str]:
        write_run_config(run / "run-config.json", config, model_config, va_config)
        return _train_command(root, out, run / "run-config.json", device)

    request = TrainingRequest(config=config, root=str(root) if root else "bundled", model_dir=str(out))
    try:
        job.start(argv, request=request, env=env)
    except OSError as e:
        raise TrainingError(f"Cannot write to '{job.folder.parent}' ({e.strerror}); training needs a writable "
                            "models folder.") from None
    return job_status(models_root)


def job_status(models_root: Path | None = None) -> JobStatus:
    """State of the current or last run, read from the job files (it never changes them)."""
    run = _training_job(models_root).status()
    if run.state == JobState.IDLE or run.request is None:
        return JobStatus(state=JobState.IDLE)
    request = run.request
    plan = request.config.fits() if request.config is not None else []
    status = JobStatus(state=run.state, config=request.config, root=request.root,
                       epochs=[e for e in run.events if isinstance(e, Epoch)], model_dir=request.model_dir,
                       started=run.started, plan=plan, run_dir=str(run.run_dir))
    _follow(status, run)
    if run.state == JobState.DONE:
        status.progress, status.message = 1.0, "finished"
    elif run.state == JobState.CANCELLED:
        status.message = "cancelled; the active model is unchanged"
    elif run.state == JobState.FAILED:
        status.message = run.message
    return status


def _follow(status: JobStatus, run: RunStatus[TrainingRequest]) -> None:
    """The bar and the message of a run by its events: the fits of the plan done, and what it does now."""
    if not status.epochs:
        status.message = _said(run.events[-1]) if run.events else ""
        return
    last, labels = status.epochs[-1], [f.label for f in status.plan]
    # a fit counts as done when the next one begins or early stopping ends it; the current one by its epochs
    done = labels.index(last.stage) if last.stage in labels else 0
    within = 1.0 if last.early_stop else min(1.0, last.epoch / max(1, last.epochs))
    status.progress = min(1.0, (done + within) / max(1, len(status.plan)))
    status.message = f"{last.stage or 'training'}: epoch {last.epoch}/{last.epochs}"
    after = next(e for e in reversed(run.events) if isinstance(e, (Epoch, ProgressEvent)))
    if isinstance(after, ProgressEvent):  # a stage after the fits (the valence–arousal head): say it
        status.message = after.message


def _said(event: Event) -> str:
    """What an event says in words ("" for one that says nothing)."""
    return event.message if isinstance(event, (ProgressEvent, Cancelled)) else ""


def cancel_training(models_root: Path | None = None, timeout: float = 30.0) -> JobStatus:
    """Ask the running process to stop (SIGTERM: it finishes its batch and exits without writing a model)."""
    _training_job(models_root).cancel(timeout)
    return job_status(models_root)


def clear_finished(models_root: Path | None = None) -> None:
    """Forget a finished run (its model directory, if any, stays). Nothing happens while a run is starting or
    running: the lock is taken first, so a start cannot interleave."""
    _training_job(models_root).dismiss()
