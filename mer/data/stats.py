"""What a corpus looks like: counts per emotion, genre × emotion, ties, listener agreement, and the
class balance of its training fold before and after oversampling, with a PCA of real vs synthetic samples.

Two sources:

* the **bundled Emotify** (``root=None``): the official annotations of all 400 tracks
  (:data:`mer.data.emotify.BUNDLED_DATA_CSV`) and, for oversampling and PCA, the compact
  per-segment features of the 320 tracks the team holds (:mod:`mer.data.compact`);
* an **Emotify-layout folder** (a real download, the demo corpus): its ``data.csv``, and
  for oversampling the model's own log-mel windows of its audio (:mod:`mer.data.dataset`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import TrainConfig
from ..emotions import EMOTIONS
from ..errors import DataError
from ..progress import ProgressFn
from .balance import SAMPLER_LABELS, Resampled, class_counts, imbalance_ratio, oversample
from .compact import BUNDLED_FEATURES, load_compact_features
from .dataset import SegmentData, segment_data
from .emotify import Annotations, Corpus, MissingAudio, load_annotations, load_corpus
from .folds import track_folds

__all__ = [
    "AnnotationStats",
    "BalanceStats",
    "DatasetStats",
    "annotation_stats",
    "balance_stats",
    "dataset_stats",
    "genre_emotion_table",
    "agreement",
    "tied_tracks",
    "pca_projection",
    "BUNDLED_SAMPLES",
]

_TIE_TOLERANCE = 1e-9  # shares are k/n of one n per track: equal shares are equal to rounding


def genre_emotion_table(table: Annotations | Corpus) -> pd.DataFrame:
    """Tracks per genre (rows) and dominant emotion (columns, Emotify order)."""
    t = pd.crosstab(table.tracks["genre"], table.tracks["dominant"])
    return t.reindex(columns=list(EMOTIONS), fill_value=0)


def agreement(table: Annotations | Corpus) -> pd.Series:
    """Per track, the share of listeners who ticked its dominant emotion (1.0 = everyone agreed)."""
    return pd.Series(table.shares.max(axis=1), index=table.tracks["track_id"].to_numpy(), name="agreement")


def tied_tracks(table: Annotations | Corpus) -> tuple[int, ...]:
    """Ids of the tracks whose largest vote share is shared by two or more emotions.

    Their dominant emotion is the earlier one in Emotify's order, a convention rather than the listeners' choice.
    """
    top2 = np.sort(table.shares, axis=1)[:, -2:]
    tied = top2[:, 1] - top2[:, 0] < _TIE_TOLERANCE
    return tuple(int(t) for t in table.tracks["track_id"].to_numpy()[tied])


@dataclass(frozen=True)
class AnnotationStats:
    """What the listeners' votes of a corpus say, from ``data.csv`` alone.

    Attributes
    ----------
    source : str
        The ``data.csv`` described.
    n_tracks, n_responses : int
    tracks_per_emotion : dict[str, int]
        Tracks per dominant emotion, all nine in Emotify order.
    imbalance_ratio : float
        Largest over smallest non-zero count of ``tracks_per_emotion``.
    genre_table : pd.DataFrame
        Tracks per genre (rows) × dominant emotion (columns).
    tied_track_ids : tuple of int
        Tracks whose top vote share is shared (see :func:`tied_tracks`).
    agreement : pd.Series
        Per track id, the share of listeners who ticked its dominant emotion.
    median_margin : float
        Median gap between a track's two largest vote shares.
    responses_per_track : tuple of (int, float, int)
        Minimum, median and maximum responses per track.
    """

    source: str
    n_tracks: int
    n_responses: int
    tracks_per_emotion: dict[str, int]
    imbalance_ratio: float
    genre_table: pd.DataFrame
    tied_track_ids: tuple[int, ...]
    agreement: pd.Series
    median_margin: float
    responses_per_track: tuple[int, float, int]

    @property
    def mean_agreement(self) -> float:
        """The mean over tracks of the share of listeners who ticked the track's dominant emotion."""
        return float(self.agreement.mean())

    def to_dict(self) -> dict[str, Any]:
        lo, med, hi = self.responses_per_track
        return {
            "source": self.source,
            "tracks": self.n_tracks,
            "responses": self.n_responses,
            "tracks_per_emotion": self.tracks_per_emotion,
            "imbalance_ratio": round(self.imbalance_ratio, 4),
            "ties": {"count": len(self.tied_track_ids), "track_ids": list(self.tied_track_ids)},
            "genre_emotion": {g: {e: int(n) for e, n in row.items()} for g, row in self.genre_table.iterrows()},
            "agreement": {"mean": round(self.mean_agreement, 4),
                          "median_margin": round(self.median_margin, 4)},
            "responses_per_track": {"min": lo, "median": med, "max": hi},
        }


def annotation_stats(table: Annotations | Corpus) -> AnnotationStats:
    """Counts, ties and agreement of a per-track table (no audio needed)."""
    counts = class_counts(table.labels)
    top2 = np.sort(table.shares, axis=1)[:, -2:]
    n = table.tracks["n_responses"]
    source = str(getattr(table, "source", None) or Path(table.root) / "data.csv")  # type: ignore[union-attr]
    return AnnotationStats(
        source=source, n_tracks=len(table), n_responses=int(n.sum()), tracks_per_emotion=counts,
        imbalance_ratio=imbalance_ratio(counts), genre_table=genre_emotion_table(table),
        tied_track_ids=tied_tracks(table), agreement=agreement(table),
        median_margin=float(np.median(top2[:, 1] - top2[:, 0])),
        responses_per_track=(int(n.min()), float(n.median()), int(n.max())),
    )


@dataclass(frozen=True)
class BalanceStats:
    """The training fold of the default track split, before and after oversampling.

    Attributes
    ----------
    features : str
        What one sample is (a log-mel window, or a compact per-segment summary).
    n_tracks, n_segments, train_tracks : int
        Tracks and samples with features; tracks in the training fold.
    segments_per_emotion, before, after : dict[str, int]
        Samples per emotion: all, training fold, training fold after oversampling.
    imbalance_ratio_before, imbalance_ratio_after : float
    sampler, sampler_label : str
    k_neighbors : int or None
    notes : tuple of str
        What the sampler had to change (k lowered, ...).
    pca : pd.DataFrame or None
        :func:`pca_projection` of the oversampled fold (``None`` unless asked for).
    """

    features: str
    n_tracks: int
    n_segments: int
    train_tracks: int
    segments_per_emotion: dict[str, int]
    before: dict[str, int]
    after: dict[str, int]
    imbalance_ratio_before: float
    imbalance_ratio_after: float
    sampler: str
    sampler_label: str
    k_neighbors: int | None
    notes: tuple[str, ...] = field(default=())
    pca: pd.DataFrame | None = None

    def pca_synthetic(self) -> dict[str, int]:
        """Synthetic points per emotion in :attr:`pca`, for each emotion it shows (Emotify order; empty without
        a PCA)."""
        if self.pca is None:
            return {}
        shown = self.pca.groupby("emotion")["kind"].agg(lambda kinds: int((kinds == "synthetic").sum()))
        return {e: int(shown[e]) for e in EMOTIONS if e in shown.index}

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": self.features, "tracks": self.n_tracks, "segments": self.n_segments,
            "protocol": "track", "train_tracks": self.train_tracks,
            "segments_per_emotion": self.segments_per_emotion,
            "segments_per_emotion_before": self.before, "segments_per_emotion_after": self.after,
            "imbalance_ratio_before": round(self.imbalance_ratio_before, 4),
            "imbalance_ratio_after": round(self.imbalance_ratio_after, 4),
            "sampler": self.sampler, "sampler_label": self.sampler_label, "k_neighbors": self.k_neighbors,
            "notes": list(self.notes),
        }


def balance_stats(data: SegmentData, track_labels: np.ndarray, *, features: str, sampler: str = "smote",
                  k_neighbors: int = 5, seed: int = 0, with_pca: bool = False) -> BalanceStats:
    """Oversample the training tracks of the first cross-validation fold of ``data``; count before and after."""
    tc = TrainConfig()
    fold = track_folds(track_labels, n_folds=tc.cv_folds, val_fraction=tc.val_fraction, seed=seed)[0]
    train_rows = np.flatnonzero(np.isin(data.track, fold.train))
    y_train = data.y[train_rows]
    res = oversample(data.X[train_rows], y_train, sampler=sampler, k_neighbors=k_neighbors, seed=seed)
    before, after = class_counts(y_train), class_counts(res.y)
    return BalanceStats(
        features=features, n_tracks=len(track_labels), n_segments=len(data),
        train_tracks=len(fold.train), segments_per_emotion=class_counts(data.y),
        before=before, after=after, imbalance_ratio_before=imbalance_ratio(before),
        imbalance_ratio_after=imbalance_ratio(after), sampler=sampler, sampler_label=SAMPLER_LABELS[sampler],
        k_neighbors=res.k_neighbors, notes=res.notes,
        pca=pca_projection(res, seed=seed) if with_pca and sampler != "none" else None,
    )


@dataclass(frozen=True)
class DatasetStats:
    """Everything ``python -m mer data stats`` prints and the Dataset page shows.

    Attributes
    ----------
    name : str
        What was described ("Emotify (bundled)" or the folder).
    annotations : AnnotationStats
        Of every track of ``data.csv``.
    balance : BalanceStats
        Of the tracks with features (audio, or the bundled compact features).
    missing : tuple of MissingAudio
        Tracks of ``data.csv`` without audio, left out of ``balance`` (``allow_missing``).
    """

    name: str
    annotations: AnnotationStats
    balance: BalanceStats
    missing: tuple[MissingAudio, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the annotation statistics at the top level, ``balance`` and ``missing_audio`` beside them."""
        return {"corpus": self.name, "emotions": list(EMOTIONS), **self.annotations.to_dict(),
                "balance": self.balance.to_dict(),
                "missing_audio": [{"track_id": m.track_id, "genre": m.genre, "expected": m.expected}
                                  for m in self.missing]}


#: What a segment of the bundled Emotify is, for oversampling and the PCA: name → description.
BUNDLED_SAMPLES = {"logmel": "compact: mean and std of 64 log-mel bands per segment",
                   "musicnn": "MusiCNN embeddings: 753 per segment, what the default model reads"}


def _bundled_segments(annotations: Annotations, samples: str = "logmel") -> tuple[SegmentData, np.ndarray]:
    """The bundled compact features (or MusiCNN embeddings) as segment rows, labelled from the bundled annotations."""
    if samples == "musicnn":
        from .embedded import load_bundled_embeddings

        emb = load_bundled_embeddings()
        X, ids = emb.vectors, emb.track_id
    else:
        feats = load_compact_features(BUNDLED_FEATURES)
        X, ids = feats.X, feats.track_id
    labels_by_id = pd.Series(annotations.labels, index=annotations.tracks["track_id"].to_numpy())
    unknown = np.setdiff1d(ids, labels_by_id.index)
    if unknown.size:
        raise DataError(f"The bundled features name track(s) {unknown[:5].tolist()} that the bundled data.csv lacks. "
                        "Rebuild them with benchmarks/bundle_features.py or bundle_embeddings.py.")
    track_labels = labels_by_id.loc[ids].to_numpy()
    n_tracks, n_seg, dim = X.shape
    track = np.repeat(np.arange(n_tracks), n_seg)
    data = SegmentData(X=X.reshape(-1, dim), y=track_labels[track], track=track,
                       segment=np.tile(np.arange(n_seg), n_tracks))
    return data, track_labels


def dataset_stats(root: str | os.PathLike | None = None, *, sampler: str = "smote", k_neighbors: int = 5,
                  seed: int = 0, with_pca: bool = False, allow_missing: bool = False, samples: str = "logmel",
                  on_progress: ProgressFn | None = None) -> DatasetStats:
    """Describe a corpus: its annotations, and its training fold before and after oversampling.

    Parameters
    ----------
    root : path, optional
        An Emotify-layout folder (its audio is decoded, or read from the feature cache).
        ``None``: the bundled Emotify — annotations of all 400 tracks, compact features of 320.
    sampler, k_neighbors, seed :
        Oversampling of the training fold (see :func:`mer.data.balance.oversample`); ``seed`` also splits.
    with_pca : bool
        Also project real and synthetic samples with PCA (the Dataset page's scatter).
    allow_missing : bool
        Describe a folder whose ``data.csv`` names tracks with no audio: the annotations of all
        of them, the balance of those present; the others are listed in ``missing``.
    samples : {"logmel", "musicnn"}
        For the bundled Emotify, what one segment is (:data:`BUNDLED_SAMPLES`).
    on_progress : callable(done, total, message), optional

    Raises
    ------
    DataError
        Bad ``data.csv``, missing audio (unless ``allow_missing``), a genre folder whose file count
        does not match ``data.csv``, or a training fold the sampler cannot balance.
    """
    if root is None:
        annotations = load_annotations()
        if samples not in BUNDLED_SAMPLES:
            raise DataError(f"samples must be one of {', '.join(BUNDLED_SAMPLES)} (got {samples!r}).")
        data, track_labels = _bundled_segments(annotations, samples)
        balance = balance_stats(data, track_labels, sampler=sampler, k_neighbors=k_neighbors, seed=seed,
                                with_pca=with_pca, features=BUNDLED_SAMPLES[samples])
        return DatasetStats(name="Emotify (bundled)", annotations=annotation_stats(annotations), balance=balance)
    corpus = load_corpus(root, allow_missing=allow_missing)
    annotations = load_annotations(root) if corpus.missing else corpus
    data = segment_data(corpus, on_progress=on_progress)
    balance = balance_stats(data, corpus.labels, sampler=sampler, k_neighbors=k_neighbors, seed=seed,
                            with_pca=with_pca, features="log-mel windows of the audio (the model's inputs)")
    return DatasetStats(name=str(root), annotations=annotation_stats(annotations), balance=balance,
                        missing=corpus.missing)


def pca_projection(resampled: Resampled, *, max_points: int = 3000, seed: int = 0) -> pd.DataFrame:
    """2-D PCA of real and synthetic samples, fitted on the real ones.

    Returns a frame with ``pc1, pc2, emotion, kind`` (``"real"``/``"synthetic"``),
    subsampled to at most ``max_points`` rows, and the explained variance ratios
    in ``df.attrs["explained"]``.
    """
    from sklearn.decomposition import PCA

    flat = resampled.X.reshape(len(resampled.X), -1).astype(np.float32)
    real = flat[: resampled.n_original]
    pca = PCA(n_components=2, svd_solver="randomized", random_state=seed).fit(real)
    rng = np.random.default_rng(seed)
    keep = np.arange(len(flat))
    if len(keep) > max_points:
        keep = np.sort(rng.choice(len(flat), max_points, replace=False))
    xy = pca.transform(flat[keep])
    df = pd.DataFrame({
        "pc1": xy[:, 0], "pc2": xy[:, 1],
        "emotion": [EMOTIONS[int(c)] for c in resampled.y[keep]],
        "kind": np.where(resampled.is_synthetic[keep], "synthetic", "real"),
    })
    df.attrs["explained"] = pca.explained_variance_ratio_.tolist()
    return df
