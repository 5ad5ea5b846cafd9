"""The Library page's sample batch: the bundled example excerpts, analysed once with the active model and again
only when the model changes or an example is added."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import settings
from ..files import exclusive_lock
from .library import BatchInfo, batch_summary

__all__ = ["sample_dir", "ensure_sample"]


def sample_dir() -> Path:
    """The sample batch (the bundled example excerpts); hidden, so no user's batch name can meet it."""
    return settings.batches_dir() / ".sample"


def ensure_sample(model: Any, on_progress: Any = None) -> BatchInfo:
    """The Library page's sample: the bundled example excerpts analysed with ``model``, once.

    Kept in :func:`sample_dir` (written by :func:`mer.batch.run_batch`, so atomically) and analysed again
    only when the model changes (another name, config or weights) or an example is added.

    Raises
    ------
    BatchError
        The data folder cannot be written.
    """
    from ..data.examples import EXAMPLES_DIR, list_examples
    from .run import run_batch
    from .worker import model_identity

    out = sample_dir()
    settings.batches_dir().mkdir(parents=True, exist_ok=True)
    with exclusive_lock(settings.batches_dir() / ".sample.lock", wait=True):  # a second visitor waits for the first one's analysis
        summary = batch_summary(out)
        current = (summary.get("model_name"), summary.get("model_version")) == model_identity(model) \
            and summary.get("tracks") == len(list_examples()) and (out / "tracks.parquet").is_file()
        if not current:
            run_batch([EXAMPLES_DIR], out, model=model, workers=1, on_progress=on_progress)
    return BatchInfo(name="sample", path=out, tracks=len(list_examples()),
                     finished=str(batch_summary(out).get("finished", "")))
