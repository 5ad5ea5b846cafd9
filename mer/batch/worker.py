"""One file's analysis inside a worker (a local process or a Ray actor): the same code for every engine."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from .. import settings
from ..choices import TrackStatus
from ..emotions import EMOTIONS
from ..errors import MerError, MerWarning
from ..valence import VA_FILE
from .inputs import FileRef

if TYPE_CHECKING:
    from ..analyze import Reading

__all__ = ["TrackResult", "model_identity", "analyze_ref", "error_result", "init_worker", "analyze_in_worker",
           "single_thread", "one_thread"]


@dataclass(frozen=True)
class TrackResult:
    """What a batch keeps of one track: the file, and the network's :class:`~mer.analyze.Reading` of it (not the
    audio, the spectra or the features: a batch of millions must stay small).

    Attributes
    ----------
    path : str
        Absolute path of the file.
    track_id : int
        64-bit id of the path (joins the tracks and segments tables).
    size_bytes, mtime_ns : int
        The file as it was analysed (a change means it is analysed again).
    status : TrackStatus
        ``"ok"`` or ``"error"``.
    error : str or None
        The one-line message ``python -m mer analyze`` gives for this file, when ``status == "error"``.
    duration_s : float or None
    reading : Reading or None
        Each segment's and the track's emotion probabilities (float32), the segments' bounds, MusiCNN's tags and
        precision, and the learned valence and arousal; None for an error.
    notes : tuple of str
        Recoverable decoding problems (e.g. a truncated stream that was analysed in part).
    genre : str or None
        The file's genre tag, where it has one.
    """

    path: str
    track_id: int
    size_bytes: int
    mtime_ns: int
    status: TrackStatus
    error: str | None = None
    duration_s: float | None = None
    reading: Reading | None = None
    notes: tuple[str, ...] = ()
    genre: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == TrackStatus.OK

    @property
    def track_top(self) -> str | None:
        """The track's most likely emotion (None for an error)."""
        return None if self.reading is None else EMOTIONS[int(self.reading.track_probabilities.argmax())]

    @property
    def sound(self) -> np.ndarray | None:
        """What the track sounds like to MusiCNN [shape=(50,), dtype=float32]: its 50 tag probabilities averaged over
        the segments (genres, instruments, moods of Last.fm; :data:`mer.audio.musicnn.TAGS`), a compact fingerprint
        for "similar by sound". None with the log-mel front-end."""
        tags = None if self.reading is None else self.reading.tags
        return None if tags is None else tags.mean(axis=0).astype(np.float32)


def model_identity(model: Any) -> tuple[str, str]:
    """``(name, version)`` of a loaded model; the version is a short hash of its files (config, weights, and the
    valence–arousal head where it has one).

    Two models with the same name but different weights (or heads) have different versions, so a batch run with
    a retrained model analyses every track again.
    """
    h = hashlib.sha256()
    files = [Path(model.path) / f for f in ("config.json", "weights.pt")] if getattr(model, "path", None) else []
    if files and all(f.is_file() for f in files):
        head = files[0].parent / VA_FILE
        for f in files + ([head] if head.is_file() else []):
            h.update(f.read_bytes())
    else:
        record = getattr(model, "record", None)
        h.update(json.dumps(record.to_dict() if record is not None else {}, sort_keys=True, default=str).encode())
    return str(model.name), h.hexdigest()[:12]


def error_result(ref: FileRef, message: str) -> TrackResult:
    return TrackResult(path=ref.path, track_id=ref.track_id, size_bytes=ref.size_bytes, mtime_ns=ref.mtime_ns,
                       status=TrackStatus.ERROR, error=" ".join(message.split()))


def _genre_tag(path: str) -> str | None:
    import soundfile as sf

    try:
        with sf.SoundFile(os.fsencode(path)) as f:
            genre = f.copy_metadata().get("genre")
    except Exception:  # tags are a nicety; the analysis already succeeded
        return None
    if not isinstance(genre, str) or not genre.strip():
        return None
    return genre.strip()


def analyze_ref(ref: FileRef, model: Any) -> TrackResult:
    """Analyse one file; every failure becomes an error result, never an exception."""
    from ..analyze import read_audio
    from ..audio.decode import load_audio

    if ref.refused:
        return error_result(ref, ref.refused)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MerWarning)  # kept as the result's notes instead
            audio = load_audio(ref.path, config=model.audio_config)
            result = read_audio(audio, model)  # no spectra or log-mel images: nobody looks at them here
    except MerError as e:
        return error_result(ref, str(e))
    except Exception as e:  # an unforeseen failure on one file must not stop a library of thousands
        return error_result(ref, f"'{os.path.basename(ref.path)}' could not be analysed ({type(e).__name__}: {e}).")
    reading = replace(result, probabilities=np.asarray(result.probabilities, dtype=np.float32),
                      track_probabilities=np.asarray(result.track_probabilities, dtype=np.float32))
    return TrackResult(path=ref.path, track_id=ref.track_id, size_bytes=ref.size_bytes, mtime_ns=ref.mtime_ns,
                       status=TrackStatus.OK, duration_s=len(audio.samples) / audio.sample_rate, reading=reading,
                       notes=tuple(audio.notes), genre=_genre_tag(ref.path))


# --- the worker process ---------------------------------------------------------------------------------

_MODEL: Any = None


def single_thread() -> None:
    """One thread for torch, BLAS and OpenMP in this process.

    Workers must not fight over cores, and every engine must compute in the same order: a 2-thread BLAS sums
    in another order than a 1-thread one, and the probabilities would differ in their last bits.
    """
    os.environ["OMP_NUM_THREADS"] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import torch

    torch.set_num_threads(1)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """:func:`single_thread` for the duration of a block, in a process that goes on afterwards."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    try:
        with threadpool_limits(1):
            torch.set_num_threads(1)
            yield
    finally:
        torch.set_num_threads(before)


def init_worker(model_dir: str, arithmetic: tuple[str, str] | None = None) -> None:
    """Process-pool initializer: one thread (see :func:`single_thread`), the model loaded once (the pool's own
    watch ends the worker if the batch's process dies: :mod:`mer.pool`).

    ``arithmetic``: the parent's MusiCNN precision and float32 kernel (:mod:`mer.kernels`), so that every
    process of one batch on one machine computes alike instead of each probing for itself.
    """
    global _MODEL
    if arithmetic is not None:
        os.environ[settings.PRECISION], os.environ[settings.KERNEL] = arithmetic
    single_thread()
    from ..model_files import load_model

    _MODEL = load_model(model_dir)


def analyze_in_worker(ref: FileRef) -> TrackResult:
    return analyze_ref(ref, _MODEL)
