"""Analysis of one file: audio → 20 segments → spectra and log-mel → CNN-LSTM → emotion timeline.

With the MusiCNN front-end the CNN is the pretrained tagger: each segment's
embedding feeds the LSTM, and its 50 tags come along (what the CNN hears).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, replace
from typing import Any, Iterator

import numpy as np

from . import settings
from .audio.decode import Audio, AudioSource, load_audio
from .audio.features import TrackFeatures, track_features
from .audio.segments import Segments
from .emotions import EMOTIONS
from .model_files import LoadedModel
from .progress import ProgressFn
from .registry import load_active
from .threads import analysis_threads, rebalance
from .valence import NO_HEAD, VAPath
from .valence import SOURCE as VA_SOURCE

__all__ = ["Analysis", "Envelope", "Reading", "analyze", "analyze_audio", "read_audio", "envelope", "analysis_slot", "analysis_slots_free"]

_SLOTS: dict[int, threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Envelope:
    """Min/max envelope of a waveform, enough to draw it without the samples.

    Attributes
    ----------
    times_s, low, high : np.ndarray [shape=(points,)]
        Centre time, minimum and maximum of each block of samples.
    duration_s : float
    """

    times_s: np.ndarray
    low: np.ndarray
    high: np.ndarray
    duration_s: float


def envelope(samples: np.ndarray, sample_rate: int, points: int = 2000) -> Envelope:
    """The min/max envelope of ``samples`` in at most ``points`` blocks."""
    n = len(samples)
    hop = max(1, n // points)
    blocks = samples[: (n // hop) * hop].reshape(-1, hop)
    times = (np.arange(len(blocks)) * hop + hop / 2) / sample_rate
    return Envelope(times_s=times, low=blocks.min(axis=1), high=blocks.max(axis=1), duration_s=n / sample_rate)


@dataclass(frozen=True)
class Analysis:
    """The result of analysing a track.

    Attributes
    ----------
    audio : Audio
    features : TrackFeatures
        Segments, FFT spectra, log-mel images and model windows.
    probabilities : np.ndarray [shape=(n_segments, 9)]
        Each segment's emotion probabilities from the segment head, read in the
        context of its neighbours by the LSTM; rows sum to 1.
    track_probabilities : np.ndarray [shape=(9,)]
        The track head's probabilities (attention-pooled over the segments).
    model_name, model_trained_on : str
    waveform : Envelope
    tags : np.ndarray [shape=(n_segments, 50)] or None
        With the MusiCNN front-end, each segment's tag probabilities from the pretrained tagger
        (:data:`mer.audio.musicnn.TAGS`: genres, instruments, moods of Last.fm): what the CNN hears, not emotions.
        What the waveform chart draws; it outlives the samples (see :meth:`without_samples`).
    precision : {"float32", "int8"} or None
        The arithmetic MusiCNN ran in for this analysis (:func:`mer.kernels.run_precision`); None without MusiCNN.
    kernel : {"direct", "dft"} or None
        How float32 computed MusiCNN's timbral convolutions (:func:`mer.kernels.run_kernel`); None in int8.
    va : VAPath or None
        Each segment's and the track's valence and arousal from the model's learned head (:mod:`mer.valence`);
        None for a model without one.
    """

    audio: Audio
    features: TrackFeatures
    probabilities: np.ndarray
    track_probabilities: np.ndarray
    model_name: str
    model_trained_on: str
    waveform: Envelope
    tags: np.ndarray | None = None  # [shape=(n_segments, 50)]: MusiCNN's tag probabilities (the tagger's, not emotions)
    precision: str | None = None
    kernel: str | None = None
    va: VAPath | None = None

    @property
    def duration_s(self) -> float:
        return self.waveform.duration_s

    def without_samples(self) -> Analysis:
        """A copy without the decoded samples (20 minutes are 106 MB), for caches; charts and reports still work."""
        return replace(self, audio=replace(self.audio, samples=np.zeros(0, dtype=np.float32)))

    @property
    def segment_top(self) -> list[str]:
        return [EMOTIONS[i] for i in self.probabilities.argmax(axis=1)]

    @property
    def track_top(self) -> str:
        return EMOTIONS[int(self.track_probabilities.argmax())]

    @property
    def va_path(self) -> VAPath | None:
        """Each segment's and the track's position on the valence–arousal plane, from the learned head (None: the
        model has none, see :data:`mer.valence.NO_HEAD`)."""
        return self.va

    def to_dict(self, file: str | None = None) -> dict[str, Any]:
        """The JSON form printed by ``python -m mer analyze --json``."""
        seg = self.features.segments
        va = self.va_path

        def value(x: float | np.floating) -> float | None:
            return None if va is None else round(float(x), 6)

        return {
            "file": file if file is not None else self.audio.name,
            "duration_s": round(self.duration_s, 4),
            "emotions": list(EMOTIONS),
            "segments": [
                {"index": i, "start_s": round(float(seg.start_s[i]), 4), "end_s": round(float(seg.end_s[i]), 4),
                 "probabilities": [round(float(p), 6) for p in self.probabilities[i]], "top": self.segment_top[i],
                 "valence": value(va.valence[i]) if va else None, "arousal": value(va.arousal[i]) if va else None}
                for i in range(len(seg))
            ],
            "track": {"probabilities": [round(float(p), 6) for p in self.track_probabilities], "top": self.track_top,
                      "valence": value(va.track_valence) if va else None,
                      "arousal": value(va.track_arousal) if va else None},
            "valence_arousal": {"source": VA_SOURCE if va else NO_HEAD,
                                **({"words": va.track_words} if va else {})},
            "model": {"name": self.model_name, "trained_on": self.model_trained_on,
                      **({"precision": self.precision} if self.precision else {}),
                      **({"kernel": self.kernel} if self.kernel else {})},
            **({"tagger": self.tagger_dict()} if self.tags is not None else {}),
        }

    @property
    def track_tags(self) -> np.ndarray | None:
        """The tagger's probabilities for the whole track: the mean over segments (None without MusiCNN)."""
        return None if self.tags is None else self.tags.mean(axis=0)

    def top_tags(self, n: int = 5) -> list[tuple[str, float]]:
        """The tagger's ``n`` most probable tags for the whole track, with their probabilities."""
        from .audio.musicnn import TAGS

        tags = self.track_tags
        return [] if tags is None else [(TAGS[i], float(tags[i])) for i in np.argsort(tags)[::-1][:n]]

    def tagger_dict(self, top: int = 5) -> dict[str, Any]:
        """The tagger's output as exported: its names, the track's and every segment's probabilities."""
        from .audio.musicnn import TAGS

        return {"source": "MusiCNN (MSD_musicnn, Pons and Serra 2019): Last.fm tags from the pretrained tagger, "
                          "not emotions",
                "tags": list(TAGS), "top": [tag for tag, _ in self.top_tags(top)],
                "track": [round(float(p), 6) for p in self.track_tags],
                "segments": [[round(float(p), 6) for p in row] for row in self.tags]}


@dataclass(frozen=True)
class Reading:
    """The network's reading of a track, without the views only the Analyze page shows (spectra, log-mel images):
    what a batch keeps.

    Attributes
    ----------
    segments : Segments
    probabilities : np.ndarray [shape=(n_segments, 9)]
    track_probabilities : np.ndarray [shape=(9,)]
    tags : np.ndarray [shape=(n_segments, 50)] or None
        MusiCNN's tag probabilities (None with the log-mel front-end).
    precision : {"float32", "int8"} or None
        The arithmetic MusiCNN ran in (None with the log-mel front-end).
    kernel : {"direct", "dft"} or None
        How float32 computed MusiCNN's timbral convolutions (None in int8 and with the log-mel front-end).
    va : VAPath or None
        The learned valence and arousal (None: the model has no head).
    """

    segments: Segments
    probabilities: np.ndarray
    track_probabilities: np.ndarray
    tags: np.ndarray | None = None
    precision: str | None = None
    kernel: str | None = None
    va: VAPath | None = None


def _quiet(done: int, total: int, message: str) -> None:
    """The ``on_progress`` of a caller who asked for none."""


def _shifted(on_progress: ProgressFn, first: int) -> ProgressFn:
    """``on_progress`` for a later part of the work: ``first`` stages are done before it starts."""
    return lambda done, total, message: on_progress(first + done, first + total, message)


def read_audio(audio: Audio, model: LoadedModel, features: TrackFeatures | None = None, *,
               on_progress: ProgressFn | None = None) -> Reading:
    """The model's reading of a decoded track.

    ``features``: already computed, reused where the front-end reads them (a MusiCNN model needs only the
    segments' bounds and the audio; a log-mel model computes them here when not given).

    Parameters
    ----------
    on_progress : ProgressFn, optional
        Told each stage as it starts, counted in stages: with MusiCNN ``(0, 2, "MusiCNN on N patches of 3 s")``,
        then ``(1, 2, "The network reads the 20 segments")``; with the log-mel front-end only the network's
        ``(0, 1, ...)``; and ``(total, total, "Done")`` at the end.
    """
    report = on_progress or _quiet
    fe, stages = model.front_end, model.front_end.reading_stages
    head = model.va_head
    rebalance()  # within an analysis: its share of the cores now, before the network's stages
    inputs = fe.track_inputs(audio, model.feature_config, features,
                             on_progress=lambda done, total, message: report(0, stages, message) if done < total else None,
                             extra_layers=head.layers if head is not None else ())
    report(stages - 1, stages, f"The network reads the {model.feature_config.n_segments} segments")
    rebalance()
    track, segments = fe.predict(model.net, inputs.X)
    va = head.path(inputs.extra) if head is not None and inputs.extra is not None else None
    report(stages, stages, "Done")
    return Reading(inputs.segments, segments, track, tags=inputs.tags, precision=inputs.precision,
                   kernel=inputs.kernel, va=va)


def analyze_audio(audio: Audio, model: LoadedModel, *, on_progress: ProgressFn | None = None) -> Analysis:
    """Run an already decoded track through the model's feature pipeline and network, with every view.

    Parameters
    ----------
    on_progress : ProgressFn, optional
        Told each stage as it starts, counted in stages: ``(0, n, "Spectra and log-mel images of the 20
        segments")``, then :func:`read_audio`'s stages, ending with ``(n, n, "Done")``.
    """
    report = on_progress or _quiet
    stages = 1 + model.front_end.reading_stages
    report(0, stages, f"Spectra and log-mel images of the {model.feature_config.n_segments} segments")
    feats = track_features(audio, model.feature_config)
    reading = read_audio(audio, model, feats, on_progress=_shifted(report, 1))
    return Analysis(audio=audio, features=feats, probabilities=reading.probabilities,
                    track_probabilities=reading.track_probabilities, model_name=model.name,
                    model_trained_on=model.trained_on, waveform=envelope(audio.samples, audio.sample_rate),
                    tags=reading.tags, precision=reading.precision, kernel=reading.kernel, va=reading.va)


def _slots() -> threading.BoundedSemaphore:
    n = settings.max_analyses()
    with _SLOTS_LOCK:
        return _SLOTS.setdefault(n, threading.BoundedSemaphore(n))


def analysis_slots_free() -> bool:
    """Whether an analysis started now would begin at once (a slot is free), for a page to say when it will wait."""
    slots = _slots()
    if slots.acquire(blocking=False):
        slots.release()
        return True
    return False


@contextlib.contextmanager
def analysis_slot() -> Iterator[None]:
    """Hold one of the process's :func:`mer.settings.max_analyses` slots for the block, waiting for one when all are taken."""
    slots = _slots()
    slots.acquire()
    try:
        yield
    finally:
        slots.release()


def analyze(source: AudioSource, *, name: str | None = None, model: LoadedModel | None = None,
            on_progress: ProgressFn | None = None) -> Analysis:
    """Analyse a file or uploaded bytes with ``model`` (default: the active model).

    At most :func:`mer.settings.max_analyses` run at once in a process (the app's visitors share one); the others wait. Each
    takes its share of the cores free for it in torch's threads (:func:`mer.threads.analysis_threads`).

    Parameters
    ----------
    on_progress : ProgressFn, optional
        Told each stage as it starts, counted in stages: ``(0, n, "Decoding …")``, then
        :func:`analyze_audio`'s (spectra, MusiCNN on N patches where the model reads MusiCNN, the network), and
        ``(n, n, "Done")`` at the end: 4 stages with a MusiCNN model, 3 with a log-mel one.

    Raises
    ------
    AudioError
        For any input :func:`mer.audio.decode.load_audio` refuses.
    ModelError
        When no model can be loaded.
    ConfigError
        ``$MER_MAX_ANALYSES`` is not a number of analyses, or ``$MER_THREADS`` not a number of threads.
    """
    model = model or load_active()
    report = on_progress or _quiet
    stages = 2 + model.front_end.reading_stages
    with analysis_slot(), analysis_threads():
        report(0, stages, "Decoding the audio")
        audio = load_audio(source, name=name, config=model.audio_config)
        return analyze_audio(audio, model, on_progress=_shifted(report, 1))
