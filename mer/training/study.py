"""The study's recipe: its 28 features per segment, its Conv1D-LSTM and its training loop.

Yakovyna and Korniienko (2023) report 94.7 % on Emotify. The public code most
likely behind that figure (ValentynKorniienko/MusicAnalysisML, Apache-2.0; see
``../shared/EMOTIFY.md``) describes each of a track's 20 segments by 28 librosa
means (chroma, RMS, spectral centroid, bandwidth, roll-off, zero-crossing rate,
the harmonic component, tempo and 20 MFCCs), labels every segment with its
track's dominant emotion, min-max scales and oversamples **all** segments with
SMOTE, then splits the segments at random: a test segment has about 19 siblings
of its own track in training. Its network reads the 28 numbers as a sequence:
three blocks of two Conv1D (128, 256, 512 filters, kernel 4), two LSTM(128), a
dense layer, RMSprop, up to 300 epochs with early stopping and learning-rate
halving on plateaus.

This module rebuilds that recipe in mer's terms (a frozen config, dataclass
results, a progress callback) so that :func:`study_ladder` can run it under the
same three protocols as mer's own network (:mod:`mer.training.ladder`). The features of
the 320 Emotify tracks mer holds ship in ``mer/resources/emotify/study-features.npz``
(``benchmarks/bundle_study_features.py`` rebuilds them).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..audio.decode import load_audio
from ..config import AudioConfig, _check
from ..data.balance import oversample
from ..data.emotify import BUNDLED_DATA_CSV, Corpus
from ..data.folds import segment_split, track_folds
from ..emotions import EMOTIONS
from ..errors import ConfigError, DataError, MerError
from ..files import open_atomic
from ..pool import AUDIO_MODULES, default_workers, map_with_progress
from ..progress import Epoch, EpochFn, ProgressFn
from ..results import PROTOCOL_LABELS, FitSummary, Rung
from .loop import Schedule, StopFn, run_epochs, train_pass

__all__ = ["FEATURE_NAMES", "N_FEATURES", "STUDY_FEATURES_VERSION", "BUNDLED_STUDY_FEATURES", "StudyFeatures",
           "segment_features", "corpus_study_features", "save_study_features", "load_study_features", "StudyConfig",
           "StudyNet", "fit_study", "study_ladder"]

#: The 28 numbers per segment, in the study's column order.
FEATURE_NAMES: tuple[str, ...] = ("chroma_stft", "rms", "spectral_centroid", "spectral_bandwidth", "rolloff",
                                  "zero_crossing_rate", "harmonic", "tempo", *(f"mfcc_{i}" for i in range(1, 21)))
N_FEATURES = len(FEATURE_NAMES)
#: Bumped whenever :func:`segment_features` changes what it computes; cached and bundled features carry it.
STUDY_FEATURES_VERSION = 1
#: librosa.load's default rate, which the study's code used (mer decodes and resamples as librosa does).
STUDY_SAMPLE_RATE = 22_050
BUNDLED_STUDY_FEATURES = BUNDLED_DATA_CSV.parent / "study-features.npz"


# --- features ----------------------------------------------------------------------------


def segment_features(samples: np.ndarray, sample_rate: int = STUDY_SAMPLE_RATE, *, n_segments: int = 20) -> np.ndarray:
    """The study's 28 numbers for each of ``n_segments`` equal segments of a track.

    Segments are ``len(samples) // n_segments`` samples long (the remainder at
    the end is dropped, as in the study's code). Each is described by the means
    over time of librosa's chroma (all 12 bins together), RMS, spectral
    centroid, bandwidth and roll-off, zero-crossing rate, the mean of its
    harmonic component (HPSS), the tempo ``librosa.beat.beat_track`` returns and
    its 20 MFCCs, each with librosa's defaults.

    Returns
    -------
    np.ndarray [shape=(n_segments, 28), dtype=float32]
    """
    import librosa

    length = len(samples) // n_segments
    if length < 2_048:
        raise DataError(f"The audio is too short for {n_segments} segments of the study's features "
                        f"({len(samples) / sample_rate:.2f} s): each segment needs at least 2,048 samples.")
    y = np.asarray(samples, dtype=np.float32)
    out = np.empty((n_segments, N_FEATURES), dtype=np.float32)
    for s in range(n_segments):
        seg = y[s * length:(s + 1) * length]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # librosa warns about short or silent segments; the means stand
            # beat_track's tempo is this estimate (its dynamic-programming tracker only places the beats): the
            # same number without the tracker's numba compilation (seconds in every new process)
            onsets = librosa.onset.onset_strength(y=seg, sr=sample_rate, aggregate=np.median)
            tempo = librosa.feature.tempo(onset_envelope=onsets, sr=sample_rate) if onsets.any() else 0.0
            out[s, :8] = (np.mean(librosa.feature.chroma_stft(y=seg, sr=sample_rate)),
                          np.mean(librosa.feature.rms(y=seg)),
                          np.mean(librosa.feature.spectral_centroid(y=seg, sr=sample_rate)),
                          np.mean(librosa.feature.spectral_bandwidth(y=seg, sr=sample_rate)),
                          np.mean(librosa.feature.spectral_rolloff(y=seg, sr=sample_rate)),
                          np.mean(librosa.feature.zero_crossing_rate(seg)),
                          np.mean(librosa.effects.harmonic(seg)),
                          float(np.atleast_1d(tempo)[0]))
            out[s, 8:] = librosa.feature.mfcc(y=seg, sr=sample_rate).mean(axis=1)
    return out


@dataclass(frozen=True)
class StudyFeatures:
    """The study's features of a set of tracks.

    Attributes
    ----------
    X : np.ndarray [shape=(n_tracks, n_segments, 28), dtype=float32]
    track_id : np.ndarray [shape=(n_tracks,)]
        Emotify's official track ids.
    version : int
        :data:`STUDY_FEATURES_VERSION` of the code that computed them.
    """

    X: np.ndarray
    track_id: np.ndarray
    version: int = STUDY_FEATURES_VERSION


def _features_of_file(args: tuple[str, int]) -> np.ndarray:
    path, n_segments = args
    try:
        audio = load_audio(path, config=AudioConfig(sample_rate=STUDY_SAMPLE_RATE))
    except MerError as e:
        raise DataError(f"Cannot compute the study's features of '{path}': {e}") from None
    return segment_features(audio.samples, audio.sample_rate, n_segments=n_segments)


def corpus_study_features(corpus: Corpus, *, n_segments: int = 20, cache_dir: str | os.PathLike | None = None,
                          workers: int | None = None, on_progress: ProgressFn | None = None) -> np.ndarray:
    """The study's features of every track of a corpus, (n_tracks, n_segments, 28), cached on disk.

    The cache is keyed by the corpus's files (path, size, mtime), ``n_segments`` and
    :data:`STUDY_FEATURES_VERSION`. About 3.5 s of one core per 60 s track (librosa's HPSS and beat
    tracker take most of it).
    """
    from .. import settings

    cache = Path(cache_dir) if cache_dir is not None else settings.cache_dir()
    key = hashlib.sha256(json.dumps([corpus.fingerprint(), n_segments, STUDY_FEATURES_VERSION,
                                     STUDY_SAMPLE_RATE]).encode()).hexdigest()[:16]
    cached = cache / f"study-features-{key}.npy"
    if cached.is_file():
        if on_progress:
            on_progress(len(corpus), len(corpus), "study features read from cache")
        return np.load(cached, allow_pickle=False)
    jobs = [(str(p), n_segments) for p in corpus.tracks["path"]]
    X = np.stack(map_with_progress(_features_of_file, jobs, message="the study's features", workers=workers,
                                   on_progress=on_progress, min_jobs=4, chunksize=1,
                                   preload=("mer.training.study", "librosa", *AUDIO_MODULES)))
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with open_atomic(cached) as f:
            np.save(f, X)
    except OSError:
        pass  # a read-only cache only costs time next run
    return X


def save_study_features(path: str | os.PathLike, features: StudyFeatures) -> Path:
    """Write features as the bundled file is written (float32, compressed, with their version)."""
    with open_atomic(path) as f:
        np.savez_compressed(f, X=features.X.astype(np.float32), track_id=np.asarray(features.track_id, np.int32),
                            version=np.int32(features.version), names=np.array(FEATURE_NAMES))
    return Path(path)


def load_study_features(path: str | os.PathLike = BUNDLED_STUDY_FEATURES) -> StudyFeatures:
    """Read bundled study features, checked against this code's version and feature list.

    Raises
    ------
    DataError
        The file is missing or damaged, or holds features of another version.
    """
    remedy = "Rebuild it with `python benchmarks/bundle_study_features.py --root ../shared/emotify`."
    try:
        with np.load(path, allow_pickle=False) as f:
            X, track_id, version, names = f["X"], f["track_id"], int(f["version"]), tuple(f["names"])
    except (OSError, KeyError, ValueError) as e:
        raise DataError(f"The study's features '{path}' cannot be read ({e}). {remedy}") from None
    if version != STUDY_FEATURES_VERSION or names != FEATURE_NAMES or X.ndim != 3 or X.shape[2] != N_FEATURES:
        raise DataError(f"The study's features '{path}' were computed by another version of mer.training.study "
                        f"(version {version}, {X.shape[-1]} features; this mer expects version "
                        f"{STUDY_FEATURES_VERSION}, {N_FEATURES}). {remedy}")
    if len(track_id) != len(X):
        raise DataError(f"The study's features '{path}' hold {len(X)} tracks but {len(track_id)} track ids. {remedy}")
    return StudyFeatures(X=X.astype(np.float32), track_id=track_id, version=version)


# --- the recipe ------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyConfig:
    """The study's network and training loop, as its public code sets them.

    Keras defaults are kept where the code relies on them: RMSprop's learning
    rate 1e-3 and rho 0.9, batch-norm momentum 0.99 (``norm_momentum`` 0.01 in
    torch's terms) and epsilon 1e-3. The inputs are min-max scaled to [0, 1] on
    the rows the network trains on.
    """

    conv_channels: tuple[int, ...] = (128, 256, 512)  # one block of two Conv1D per entry, then max-pool by 2
    kernel_size: int = 4
    lstm_hidden: int = 128  # two stacked LSTM layers
    dense: int = 64
    dropout: float = 0.4
    epochs: int = 300
    batch_size: int = 32
    lr: float = 1e-3
    patience: int = 10  # early stopping on the validation loss, best weights restored
    lr_patience: int = 5  # halve the learning rate after this many epochs without a better validation loss
    lr_factor: float = 0.5
    k_neighbors: int = 5  # SMOTE
    # Keras's BatchNormalization momentum 0.99: the running statistics move 1 % a step (torch's default is 10 %)
    norm_momentum: float = 0.01

    def __post_init__(self) -> None:
        _check(self, {"conv_channels": (1, 2_048), "kernel_size": (1, 28), "lstm_hidden": (1, 2_048),
                      "dense": (1, 4_096), "dropout": (0, 0.9), "epochs": (1, 10_000), "batch_size": (2, 4_096),
                      "lr": (1e-7, 0.99), "patience": (1, 10_000), "lr_patience": (0, 10_000),
                      "lr_factor": (0.01, 0.99), "k_neighbors": (1, 100), "norm_momentum": (0.001, 1)},
               ["conv_channels needs 1 to 4 blocks (each halves the 28 features)"]
               * (isinstance(self.conv_channels, tuple) and not 1 <= len(self.conv_channels) <= 4))


class _SamePad(nn.Module):
    """TensorFlow's "same" padding of a stride-1 convolution: the extra sample of an even kernel goes right."""

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.left, self.right = (kernel_size - 1) // 2, kernel_size - 1 - (kernel_size - 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (self.left, self.right))


class _LastAxisNorm(nn.BatchNorm1d):
    """Keras's BatchNormalization of a (batch, time, features) tensor: statistics per feature."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2) if x.ndim == 3 else super().forward(x)


class StudyNet(nn.Module):
    """The study's Conv1D-LSTM over the 28 features of one segment, read as a sequence of 28 steps.

    Blocks of two "same" convolutions (ReLU), batch norm, max-pool by 2 and
    dropout; two stacked LSTMs, each followed by batch norm and dropout (the
    second keeps its last step); dense with ReLU, dropout, batch norm; logits.
    """

    def __init__(self, config: StudyConfig = StudyConfig(), n_classes: int = 9, n_features: int = N_FEATURES) -> None:
        super().__init__()
        if n_features >> len(config.conv_channels) < 1:
            raise ConfigError(f"{len(config.conv_channels)} pooling blocks leave nothing of {n_features} features.")
        k, eps, momentum = config.kernel_size, 1e-3, config.norm_momentum
        blocks: list[nn.Module] = []
        c_in = 1
        for c in config.conv_channels:
            blocks += [_SamePad(k), nn.Conv1d(c_in, c, k), nn.ReLU(), _SamePad(k), nn.Conv1d(c, c, k), nn.ReLU(),
                       nn.BatchNorm1d(c, eps=eps, momentum=momentum), nn.MaxPool1d(2), nn.Dropout(config.dropout)]
            c_in = c
        self.conv = nn.Sequential(*blocks)
        h = config.lstm_hidden
        self.lstm1, self.lstm2 = nn.LSTM(c_in, h, batch_first=True), nn.LSTM(h, h, batch_first=True)
        self.norm1 = _LastAxisNorm(h, eps=eps, momentum=momentum)
        self.norm2 = _LastAxisNorm(h, eps=eps, momentum=momentum)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Sequential(nn.Linear(h, config.dense), nn.ReLU(), nn.Dropout(config.dropout),
                                  _LastAxisNorm(config.dense, eps=eps, momentum=momentum),
                                  nn.Linear(config.dense, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, 28) scaled features → (batch, n_classes) logits."""
        h = self.conv(x[:, None, :]).transpose(1, 2)  # (batch, steps, channels)
        h = self.drop(self.norm1(self.lstm1(h)[0]))
        h = self.drop(self.norm2(self.lstm2(h)[0][:, -1]))
        return self.head(h)


@dataclass(frozen=True)
class Scaler:
    """Min-max scaling to [0, 1] (scikit-learn's MinMaxScaler), fitted on some rows."""

    low: np.ndarray
    span: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Scaler:
        low, high = X.min(axis=0), X.max(axis=0)
        span = high - low
        return cls(low=low, span=np.where(span > 0, span, 1.0))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.low) / self.span).astype(np.float32)


@dataclass(frozen=True)
class StudyFit:
    """One trained network of the study's recipe and how its training went."""

    net: Any
    history: list[Epoch]
    best_epoch: int

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities of scaled segment features, (n, 28) → (n, n_classes)."""
        self.net.eval()
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
            return torch.cat([torch.softmax(self.net(x[lo:lo + 1024]), dim=1)
                              for lo in range(0, len(x), 1024)]).numpy()


def fit_study(X_fit: np.ndarray, y_fit: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, *,
              config: StudyConfig = StudyConfig(), seed: int = 0, on_epoch: EpochFn | None = None,
              should_stop: StopFn | None = None, stage: str = "") -> StudyFit:
    """Train the study's network on scaled segment features; stop early on the validation rows' loss.

    RMSprop on the cross-entropy against each row's label, shuffled batches, the
    learning rate halved on plateaus of the validation loss, training stopped
    after ``config.patience`` epochs without a better one, and the best epoch's
    weights returned, as the study's Keras callbacks do.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = StudyNet(config, n_classes=len(EMOTIONS), n_features=X_fit.shape[1])
    opt = torch.optim.RMSprop(net.parameters(), lr=config.lr, alpha=0.9, eps=1e-7)
    x, y = torch.from_numpy(np.asarray(X_fit, np.float32)), torch.from_numpy(np.asarray(y_fit, np.int64))
    xv, yv = torch.from_numpy(np.asarray(X_val, np.float32)), torch.from_numpy(np.asarray(y_val, np.int64))

    def evaluate() -> tuple[float, float]:
        net.eval()
        with torch.no_grad():
            logits = torch.cat([net(xv[lo:lo + 1024]) for lo in range(0, len(xv), 1024)])
        return float(F.cross_entropy(logits, yv)), float((logits.argmax(1) == yv).float().mean())

    step = lambda: train_pass(net, opt, lambda b: F.cross_entropy(net(x[b]), y[b]), len(y), config.batch_size,  # noqa: E731
                              gen, should_stop, "The ladder was cancelled; nothing was written.")
    schedule = Schedule(config.epochs, config.patience, config.lr_factor, config.lr_patience)  # Keras: any improvement counts
    best = run_epochs(net, opt, step, evaluate, schedule, stage=stage, on_epoch=on_epoch)
    return StudyFit(net=net.eval(), history=best.history, best_epoch=best.epoch)


# --- the three protocols -----------------------------------------------------------------


@dataclass(frozen=True)
class FitJob:
    """One fit of a protocol: scaled, oversampled training rows, validation rows, the rows it is tested on."""

    protocol: str  # "study", "segment" or "track"
    stage: str  # "study recipe: fold 2/5"
    fit_X: np.ndarray
    fit_y: np.ndarray
    val_X: np.ndarray
    val_y: np.ndarray
    test_X: np.ndarray
    seed: int
    config: StudyConfig


@dataclass(frozen=True)
class FitOutcome:
    """What a fit says about its test rows, and how it trained."""

    probs: np.ndarray  # (n_test, n_classes)
    summary: FitSummary


def _smote(X: np.ndarray, y: np.ndarray, config: StudyConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    res = oversample(X, y, sampler="smote", k_neighbors=config.k_neighbors, seed=seed)
    return res.X.astype(np.float32), res.y


def study_jobs(X: np.ndarray, labels: np.ndarray, *, config: StudyConfig, seed: int, test_fraction: float,
               val_fraction: float) -> tuple[FitJob, np.ndarray]:
    """The study's own protocol: scale and oversample all segments, then split the segments at random.

    Returns the fit and its test rows' labels.
    """
    rows, y = X.reshape(-1, X.shape[-1]), np.repeat(labels, X.shape[1])
    leaked_X, leaked_y = _smote(Scaler.fit(rows)(rows), y, config, seed)
    split = segment_split(leaked_y, test_fraction=test_fraction, val_fraction=val_fraction, seed=seed)
    return FitJob("study", "study recipe: study protocol", leaked_X[split.fit], leaked_y[split.fit],
                  leaked_X[split.val], leaked_y[split.val], leaked_X[split.test], seed, config), leaked_y[split.test]


def segment_jobs(X: np.ndarray, labels: np.ndarray, *, config: StudyConfig, seed: int, test_fraction: float,
                 val_fraction: float) -> tuple[FitJob, np.ndarray]:
    """Segments split at random; scaling and SMOTE fitted on the training segments only."""
    rows, y = X.reshape(-1, X.shape[-1]), np.repeat(labels, X.shape[1])
    split = segment_split(y, test_fraction=test_fraction, val_fraction=val_fraction, seed=seed)
    scale = Scaler.fit(rows[split.fit])
    fit_X, fit_y = _smote(scale(rows[split.fit]), y[split.fit], config, seed)
    return FitJob("segment", "study recipe: segment protocol", fit_X, fit_y, scale(rows[split.val]), y[split.val],
                  scale(rows[split.test]), seed, config), y[split.test]


def track_jobs(X: np.ndarray, labels: np.ndarray, *, config: StudyConfig, seed: int, n_folds: int,
               val_fraction: float) -> list[tuple[FitJob, np.ndarray]]:
    """Track-grouped k-fold cross-validation (mer's folds): a track's segments never straddle a split.

    Each fold scales and oversamples its training tracks' segments only and stops
    early on its validation tracks' segments. Returns each fold's fit and its test tracks' rows.
    """
    n, s, d = X.shape
    out = []
    for k, fold in enumerate(track_folds(labels, n_folds=n_folds, val_fraction=val_fraction, seed=seed)):
        scale = Scaler.fit(X[fold.fit].reshape(-1, d))
        fit_X, fit_y = _smote(scale(X[fold.fit].reshape(-1, d)), np.repeat(labels[fold.fit], s), config, seed + k)
        out.append((FitJob("track", f"study recipe: fold {k + 1}/{n_folds}", fit_X, fit_y,
                           scale(X[fold.val].reshape(-1, d)), np.repeat(labels[fold.val], s),
                           scale(X[fold.test].reshape(-1, d)), seed + k, config), fold.test))
    return out


def run_fit(job: FitJob, on_epoch: EpochFn | None = None, should_stop: StopFn | None = None) -> FitOutcome:
    """Train one fit of a protocol on one thread and predict its test rows.

    One thread, wherever it runs, so that a fit's numbers do not depend on how many run side by side (a
    kernel's sums differ in their last bits with its thread count, and training amplifies that).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t0 = time.perf_counter()
        fit = fit_study(job.fit_X, job.fit_y, job.val_X, job.val_y, config=job.config, seed=job.seed,
                        on_epoch=on_epoch, should_stop=should_stop, stage=job.stage)
        return FitOutcome(probs=fit.predict(job.test_X),
                          summary=FitSummary(job.stage, len(fit.history), fit.best_epoch, time.perf_counter() - t0))
    finally:
        torch.set_num_threads(threads)


def study_ladder(X: np.ndarray, labels: np.ndarray, *, config: StudyConfig = StudyConfig(), seed: int = 0,
                 test_fraction: float = 0.2, val_fraction: float = 0.15, n_folds: int = 5,
                 workers: int | None = None, on_progress: ProgressFn | None = None,
                 on_epoch: EpochFn | None = None,
                 should_stop: StopFn | None = None) -> tuple[dict[str, Rung], list[FitSummary]]:
    """The study's recipe under the study's, the segment and the track protocol.

    Parameters
    ----------
    X : np.ndarray [shape=(n_tracks, n_segments, 28)]
        Raw features (:func:`segment_features` of each track).
    labels : np.ndarray [shape=(n_tracks,)]
        Each track's dominant emotion; every segment gets its track's.
    workers : int, optional
        Fits run side by side on a process pool, one thread each (default: one per core); 1 runs them here,
        reporting every epoch to ``on_epoch`` and checking ``should_stop``.

    Returns
    -------
    rungs : dict
        ``"study"`` and ``"segment"``: accuracy of test segments; ``"track"``: accuracy of tracks, each named by
        the mean of its segments' probabilities under the fold model that never saw it.
    fits : list of FitSummary
        Each fit's epochs and seconds, in the order above (study, segment, folds).
    """
    split = dict(config=config, seed=seed, test_fraction=test_fraction, val_fraction=val_fraction)
    pairs = [study_jobs(X, labels, **split), segment_jobs(X, labels, **split),
             *track_jobs(X, labels, config=config, seed=seed, n_folds=n_folds, val_fraction=val_fraction)]
    jobs = [job for job, _ in pairs]
    if (workers or default_workers()) > 1:
        outcomes = map_with_progress(run_fit, jobs, message="the study's recipe: fits", workers=workers,
                                     on_progress=on_progress, min_jobs=2, chunksize=1,
                                     preload=("torch", "mer.training.study"))
    else:
        outcomes = []
        for i, job in enumerate(jobs):
            if on_progress:
                on_progress(i, len(jobs), f"the study's recipe: {job.stage}")
            outcomes.append(run_fit(job, on_epoch=on_epoch, should_stop=should_stop))
    (_, study_y), (_, segment_y) = pairs[0], pairs[1]
    probs = np.zeros((len(labels), len(EMOTIONS)))
    for (job, test), outcome in zip(pairs[2:], outcomes[2:]):
        probs[test] = outcome.probs.reshape(len(test), X.shape[1], -1).mean(axis=1)
    rungs = {"study": Rung("study", "segment", _accuracy(outcomes[0].probs, study_y), len(study_y),
                           PROTOCOL_LABELS["study"]),
             "segment": Rung("segment", "segment", _accuracy(outcomes[1].probs, segment_y), len(segment_y),
                             PROTOCOL_LABELS["segment"]),
             "track": Rung("track", "track", _accuracy(probs, labels), len(labels), PROTOCOL_LABELS["track"])}
    return rungs, [o.summary for o in outcomes]


def _accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float((probs.argmax(axis=1) == y).mean())
