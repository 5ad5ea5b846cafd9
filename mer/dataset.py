"""From a corpus to segment-level training data: cached features and the two split protocols.

Each track is decoded, cut into 20 segments and turned into log-mel windows
(:mod:`mer.features`); every window is one sample labelled with its track's
dominant emotion, as in the study. Features are cached on disk, keyed by the
feature code's version, the audio and feature configs and every audio file's
path, size and mtime, so a second run reads them instead of recomputing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import load_audio
from .config import AudioConfig, FeatureConfig, data_dir, to_dict
from .emotify import Corpus, file_stamp
from .errors import DataError, MerError
from .features import FEATURES_VERSION, track_features
from .pool import default_workers, process_pool
from .progress import ProgressFn

__all__ = ["SegmentData", "Split", "segment_data", "split_data", "default_cache_dir"]


def default_cache_dir() -> Path:
    """Feature cache folder (git-ignored), beside the demo corpus."""
    return data_dir() / "cache"


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


@dataclass(frozen=True)
class Split:
    """Row indices into a :class:`SegmentData` for each fold."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    protocol: str


def _cache_key(corpus: Corpus, audio_config: AudioConfig, feature_config: FeatureConfig) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([FEATURES_VERSION, to_dict(audio_config), to_dict(feature_config)], sort_keys=True).encode())
    for path in corpus.tracks["path"]:
        h.update(f"{Path(path).resolve()}|{file_stamp(path)}\n".encode())
    return h.hexdigest()[:20]


def _extract(args: tuple[str, AudioConfig, FeatureConfig]) -> np.ndarray:
    path, audio_config, feature_config = args
    try:
        audio = load_audio(path, config=audio_config)
    except MerError as e:
        raise DataError(f"Cannot use '{path}' for training: {e}") from None
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
        Where cached features live (default :func:`default_cache_dir`); ``None`` uses the default.
    on_progress : callable(done, total, message), optional
    workers : int, optional
        Processes for extraction (default: cores, at most 4).

    Raises
    ------
    DataError
        A track's audio cannot be decoded (names the file and the reason).
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = _cache_key(corpus, audio_config, feature_config)
    cached = cache / f"features-{key}.npz"
    labels = corpus.labels
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as z:
            X, track, segment = z["X"], z["track"], z["segment"]
        if on_progress:
            on_progress(len(corpus), len(corpus), "features read from cache")
        return SegmentData(X=X, y=labels[track], track=track, segment=segment)

    jobs = [(p, audio_config, feature_config) for p in corpus.tracks["path"]]
    workers = workers or default_workers()
    per_track: list[np.ndarray] = []
    if workers > 1 and len(jobs) > 8:
        with process_pool(workers) as pool:
            for i, w in enumerate(pool.map(_extract, jobs, chunksize=4), 1):
                per_track.append(w)
                if on_progress:
                    on_progress(i, len(jobs), "extracting segment features")
    else:
        for i, job in enumerate(jobs, 1):
            per_track.append(_extract(job))
            if on_progress:
                on_progress(i, len(jobs), "extracting segment features")

    # windows: (n_segments, n_windows, n_mels, frames) per track → rows
    X = np.concatenate([w.reshape(-1, *w.shape[2:]) for w in per_track])
    track = np.concatenate([np.full(w.shape[0] * w.shape[1], t) for t, w in enumerate(per_track)])
    segment = np.concatenate([np.repeat(np.arange(w.shape[0]), w.shape[1]) for w in per_track])
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".features-", suffix=".npz", dir=cache)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, X=X, track=track, segment=segment)
        os.replace(tmp, cached)
    except OSError:
        Path(tmp).unlink(missing_ok=True)  # a read-only cache only costs time next run
    return SegmentData(X=X, y=labels[track], track=track, segment=segment)


def _stratified(ids: np.ndarray, labels: np.ndarray, fractions: tuple[float, float],
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``ids`` per class into (train, val, test) shares; train keeps at least one per class."""
    train, val, test = [], [], []
    for c in np.unique(labels):
        members = rng.permutation(ids[labels == c])
        n = len(members)
        n_test = int(round(fractions[1] * n))
        n_val = int(round(fractions[0] * n))
        while n_test + n_val > n - 1 and (n_test or n_val):  # keep one for training
            if n_val >= n_test and n_val:
                n_val -= 1
            else:
                n_test -= 1
        test.append(members[:n_test])
        val.append(members[n_test:n_test + n_val])
        train.append(members[n_test + n_val:])
    return tuple(np.sort(np.concatenate(part)).astype(np.int64) for part in (train, val, test))  # type: ignore[return-value]


def split_data(data: SegmentData, track_labels: np.ndarray, *, protocol: str, val_fraction: float,
               test_fraction: float, seed: int) -> Split:
    """Train / validation / test rows under one of the two protocols.

    ``protocol="track"``: tracks are split, stratified by dominant emotion, and
    every window of a track follows it, so no track is on two sides.
    ``protocol="segment"``: windows are shuffled and split independently
    (stratified), as the study's abstract describes; segments of one track
    then sit in training and test alike, which inflates test accuracy.
    """
    rng = np.random.default_rng(seed)
    fractions = (val_fraction, test_fraction)
    if protocol == "track":
        tr, va, te = _stratified(np.arange(len(track_labels)), track_labels, fractions, rng)
        side = np.full(len(track_labels), -1)
        side[tr], side[va], side[te] = 0, 1, 2
        rows = side[data.track]
        return Split(train=np.flatnonzero(rows == 0), val=np.flatnonzero(rows == 1),
                     test=np.flatnonzero(rows == 2), protocol=protocol)
    if protocol == "segment":
        tr, va, te = _stratified(np.arange(len(data)), data.y, fractions, rng)
        return Split(train=tr, val=va, test=te, protocol=protocol)
    raise ValueError(f"protocol must be 'track' or 'segment', got {protocol!r}")
