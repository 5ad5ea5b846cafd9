"""Class-balance statistics of a corpus, before and after oversampling its training fold."""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from .balance import SAMPLER_LABELS, class_counts, imbalance_ratio, oversample
from .config import EMOTIONS, TrainConfig
from .dataset import segment_data, split_data
from .emotify import load_corpus

__all__ = ["corpus_stats", "balance_report"]


def corpus_stats(root: str | os.PathLike, *, sampler: str = "smote", k_neighbors: int = 5, seed: int = 0,
                 on_progress: Callable[[int, int, str], None] | None = None) -> dict[str, Any]:
    """Counts per emotion and imbalance ratios, as ``python -m mer data stats --json`` prints them.

    ``segments_per_class_before``/``_after`` describe the training fold of the
    default track-grouped split (the fold a model is trained on), before and
    after oversampling; ``tracks_per_class`` counts the whole corpus.
    """
    return _stats(root, sampler=sampler, k_neighbors=k_neighbors, seed=seed, on_progress=on_progress)[0]


def balance_report(root: str | os.PathLike, *, sampler: str = "smote", k_neighbors: int = 5, seed: int = 0,
                   on_progress: Callable[[int, int, str], None] | None = None) -> dict[str, Any]:
    """Everything the Dataset page shows: :func:`corpus_stats` plus the PCA view,
    the genre × emotion table and the listener-agreement distribution."""
    from .balance import agreement, genre_emotion_table, pca_projection

    stats, res, corpus = _stats(root, sampler=sampler, k_neighbors=k_neighbors, seed=seed, on_progress=on_progress)
    return {**stats, "pca": pca_projection(res, seed=seed), "genre_table": genre_emotion_table(corpus),
            "agreement": agreement(corpus)}


def _stats(root, *, sampler, k_neighbors, seed, on_progress):
    """Stats dict, the oversampling result and the corpus (shared by the two public functions)."""
    corpus = load_corpus(root)
    data = segment_data(corpus, on_progress=on_progress)
    tc = TrainConfig()
    split = split_data(data, corpus.labels, protocol="track", val_fraction=tc.val_fraction,
                       test_fraction=tc.test_fraction, seed=seed)
    y_train = data.y[split.train]
    res = oversample(data.X[split.train], y_train, sampler=sampler, k_neighbors=k_neighbors, seed=seed)
    before, after = class_counts(y_train), class_counts(res.y)
    return ({
        "emotions": list(EMOTIONS),
        "tracks": len(corpus),
        "segments": len(data),
        "tracks_per_class": class_counts(corpus.labels),
        "segments_per_class_all": class_counts(data.y),
        "segments_per_class_before": before,
        "segments_per_class_after": after,
        "imbalance_ratio_tracks": imbalance_ratio(class_counts(corpus.labels)),
        "imbalance_ratio_before": imbalance_ratio(before),
        "imbalance_ratio_after": imbalance_ratio(after),
        "sampler": sampler,
        "sampler_label": SAMPLER_LABELS[sampler],
        "k_neighbors": res.k_neighbors,
        "protocol": "track",
        "train_tracks": int(np.unique(data.track[split.train]).size),
        "notes": list(res.notes),
    }, res, corpus)
