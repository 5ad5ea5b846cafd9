"""From a corpus to segment-level training data: cached features and the two split protocols.

Each track is decoded, cut into 20 segments and turned into log-mel windows
(:mod:`mer.audio.features`); every window is one sample labelled with its track's
dominant emotion, as in the study. Features are cached on disk, keyed by the
feature code's version, the audio and feature configs and every audio file's
path, size and mtime, so a second run reads them instead of recomputing.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .. import settings
from ..audio.decode import Audio, load_audio
from ..audio.features import FEATURES_VERSION, track_features
from ..config import AudioConfig, FeatureConfig
from ..emotions import GENRES
from ..errors import DataError, MerError
from ..files import open_atomic
from ..pool import AUDIO_MODULES, map_with_progress
from ..progress import ProgressFn
from ..serial import to_dict
from .emotify import Corpus, file_stamp

__all__ = ["SegmentData", "TrackData", "segment_data", "track_data", "decode_and_summarise"]


@dataclass(frozen=True)
class SegmentData:
    """Model inputs of a whole corpus, one row per window.

    Attributes
    ----------
    X : np.ndarray [shape=(n, n_mels, window_frames), dtype=float16]
        Log-mel windows in dB (float16 halves the cache; the model casts to float32).
    y : np.ndarray [shape=(n,)]
        Dominant emotion index of the window's track.
    track : np.ndarray [shape=(n,)]
        Row of the track in ``corpus.tracks``.
    segment : np.ndarray [shape=(n,)]
        Segment index within the track (0-19).
    """

    X: np.ndarray
    y: np.ndarray
    track: np.ndarray
    segment: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


def _cache_key(corpus: Corpus, audio_config: AudioConfig, feature_config: FeatureConfig) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([FEATURES_VERSION, to_dict(audio_config), to_dict(feature_config)], sort_keys=True).encode())
    for path in corpus.tracks["path"]:
        h.update(f"{Path(path).resolve()}|{file_stamp(path)}\n".encode())
    return h.hexdigest()[:20]


def decode_and_summarise(args: tuple[str, AudioConfig, FeatureConfig, Callable[[Audio, FeatureConfig], np.ndarray], str]
                         ) -> np.ndarray:
    """A pool worker: one corpus file decoded and summarised (the corpus's features and its compact summaries).

    ``args`` is ``(path, audio_config, feature_config, summarise, doing)``: ``summarise(audio, feature_config)``
    (a module-level function, so that it pickles) gives the file's array; a file that does not decode is a
    :class:`DataError` ``"Cannot <doing>: <why>"``.
    """
    path, audio_config, feature_config, summarise, doing = args
    try:
        audio = load_audio(path, config=audio_config)
    except MerError as e:
        raise DataError(f"Cannot {doing}: {e}") from None
    return summarise(audio, feature_config)


def _windows(audio: Audio, feature_config: FeatureConfig) -> np.ndarray:
    return track_features(audio, feature_config).windows.astype(np.float16)


def segment_data(corpus: Corpus, *, audio_config: AudioConfig = AudioConfig(),
                 feature_config: FeatureConfig = FeatureConfig(), cache_dir: str | os.PathLike | None = None,
                 on_progress: ProgressFn | None = None, workers: int | None = None) -> SegmentData:
    """Features of every segment of every track, from the cache when it is fresh.

    Parameters
    ----------
    corpus : Corpus
    audio_config, feature_config : the configs the features depend on (part of the cache key)
    cache_dir : path, optional
        Where cached features live (default :func:`mer.settings.cache_dir`); ``None`` uses the default.
    on_progress : callable(done, total, message), optional
    workers : int, optional
        Processes for extraction (default: cores, at most 4).

    Raises
    ------
    DataError
        A track's audio cannot be decoded (names the file and the reason).
    """
    cache = Path(cache_dir) if cache_dir is not None else settings.cache_dir()
    key = _cache_key(corpus, audio_config, feature_config)
    cached = cache / f"features-{key}.npz"
    labels = corpus.labels
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as z:
            X, track, segment = z["X"], z["track"], z["segment"]
        if on_progress:
            on_progress(len(corpus), len(corpus), "features read from cache")
        return SegmentData(X=X, y=labels[track], track=track, segment=segment)

    jobs = [(p, audio_config, feature_config, _windows, f"use '{p}' for training") for p in corpus.tracks["path"]]
    per_track = map_with_progress(decode_and_summarise, jobs, message="extracting segment features", workers=workers,
                                  on_progress=on_progress, preload=("mer.data.dataset", *AUDIO_MODULES))

    # windows: (n_segments, n_windows, n_mels, frames) per track → rows
    X = np.concatenate([w.reshape(-1, *w.shape[2:]) for w in per_track])
    track = np.concatenate([np.full(w.shape[0] * w.shape[1], t) for t, w in enumerate(per_track)])
    segment = np.concatenate([np.repeat(np.arange(w.shape[0]), w.shape[1]) for w in per_track])
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with open_atomic(cached) as f:
            np.savez(f, X=X, track=track, segment=segment)
    except OSError:
        pass  # a read-only cache only costs time next run
    return SegmentData(X=X, y=labels[track], track=track, segment=segment)


@dataclass(frozen=True)
class TrackData:
    """Model inputs of a corpus, one row per track (the unit the CNN-LSTM reads).

    Attributes
    ----------
    X : np.ndarray [shape=(n_tracks, n_segments, n_mels, window_frames), dtype=float16]
        Each segment's log-mel window in dB (the first, for the rare segment longer than one window); or,
        for the MusiCNN front-end, [shape=(n_tracks, n_segments, EMBEDDING_DIM)]: each segment's embedding.
    labels : np.ndarray [shape=(n_tracks,)]
        Dominant emotion index.
    shares : np.ndarray [shape=(n_tracks, 9)]
        Share of the track's listeners who ticked each emotion.
    genre : np.ndarray [shape=(n_tracks,)]
        Index into :data:`~mer.emotions.GENRES` (-1 where unknown).
    track_id : np.ndarray [shape=(n_tracks,)]
    summary : np.ndarray [shape=(n_tracks, 2 * n_mels)], optional
        Where ``X`` holds embeddings, not log-mel images: each track's mean and standard deviation of its
        log-mel bands, for the linear baseline (:func:`mer.training.evaluate.pooled_logmel` computes it from ``X``
        otherwise).
    responses : np.ndarray [shape=(n_tracks,)], optional
        How many listeners voted on each track (``TrainConfig.track_weights``); None where unknown.
    precision : {"float32", "int8"}, optional
        For MusiCNN embeddings: the precision MusiCNN computed them in (the model records it).
    """

    X: np.ndarray
    labels: np.ndarray
    shares: np.ndarray
    genre: np.ndarray
    track_id: np.ndarray
    summary: np.ndarray | None = None
    responses: np.ndarray | None = None
    precision: str | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def targets(self) -> np.ndarray:
        """Vote shares normalised to sum to one: the distribution the track head is trained against."""
        return self.shares / np.maximum(self.shares.sum(axis=1, keepdims=True), 1e-12)

    @property
    def genre_names(self) -> np.ndarray:
        return np.array([GENRES[g] if g >= 0 else "" for g in self.genre])


def track_data(corpus: Corpus, data: SegmentData) -> TrackData:
    """Regroup segment windows into tracks of ``n_segments`` ordered segments.

    Raises
    ------
    DataError
        A track lacks a segment (the features do not belong to this corpus).
    """
    n_tracks, n_segments = len(corpus), int(data.segment.max()) + 1 if len(data) else 0
    first = np.full((n_tracks, n_segments), -1)
    rows = np.arange(len(data))[::-1]  # reversed, so the first window of a segment is written last and kept
    first[data.track[rows], data.segment[rows]] = rows
    if (first < 0).any():
        raise DataError("The cached features do not cover every segment of every track; delete the feature cache "
                        f"({settings.cache_dir()}) and run again.")
    genre = corpus.tracks["genre"].map({g: i for i, g in enumerate(GENRES)}).fillna(-1).to_numpy(dtype=np.int64)
    return TrackData(X=data.X[first], labels=corpus.labels, shares=corpus.shares, genre=genre,
                     track_id=corpus.tracks["track_id"].to_numpy(), responses=corpus_responses(corpus))


def corpus_responses(corpus: Corpus) -> np.ndarray | None:
    """Listeners per track (``n_responses`` of the corpus's table), or None where the table has no such count."""
    if "n_responses" not in corpus.tracks:
        return None
    return corpus.tracks["n_responses"].to_numpy(dtype=np.float64)
