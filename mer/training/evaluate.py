"""How well a model names the emotion listeners felt: metrics, cross-validation reports, baselines.

Emotify is multi-label (each listener ticks up to three emotions), so beside
accuracy against the dominant emotion every track-level score also reports
**listener agreement**: the mean share of a track's listeners who ticked the
predicted emotion. The oracle that always names the dominant emotion scores
about 0.56 on Emotify, always answering "calmness" about 0.30.

The records these functions return live in :mod:`mer.results`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from ..emotions import EMOTIONS, GENRES
from ..progress import ProgressFn
from ..results import ClassScore, Metrics

if TYPE_CHECKING:
    from ..model_files import LoadedModel

__all__ = [
    "score",
    "listener_agreement",
    "majority_baseline",
    "genre_prior_baseline",
    "logreg_baseline",
    "pooled_logmel",
    "evaluate_corpus",
]

def listener_agreement(shares: np.ndarray, predicted: np.ndarray) -> float:
    """Mean share of each track's listeners who ticked its predicted emotion.

    Parameters
    ----------
    shares : np.ndarray [shape=(n, 9)]
        Share of a track's listeners who ticked each emotion.
    predicted : np.ndarray [shape=(n,)]
        Predicted emotion index per track.
    """
    if len(predicted) == 0:
        return 0.0
    return float(np.asarray(shares)[np.arange(len(predicted)), np.asarray(predicted)].mean())


def score(y_true: np.ndarray, *, probs: np.ndarray | None = None, y_pred: np.ndarray | None = None,
          shares: np.ndarray | None = None) -> Metrics:
    """Metrics of probabilities (or hard predictions) against dominant-emotion labels.

    Parameters
    ----------
    y_true : np.ndarray [shape=(n,)]
    probs : np.ndarray [shape=(n, 9)], optional
        Predicted probabilities; the prediction is their argmax and top-3 is scored.
    y_pred : np.ndarray [shape=(n,)], optional
        Hard predictions, when there are no probabilities.
    shares : np.ndarray [shape=(n, 9)], optional
        Listeners' vote shares, for listener agreement.
    """
    if (probs is None) == (y_pred is None):
        raise ValueError("pass exactly one of probs and y_pred")
    n_classes = len(EMOTIONS)
    y_true = np.asarray(y_true, dtype=np.int64)
    pred = np.asarray(probs).argmax(axis=1) if probs is not None else np.asarray(y_pred, dtype=np.int64)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, pred), 1)
    tp = np.diag(cm).astype(np.float64)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros(n_classes), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(n_classes), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(n_classes), where=denom > 0)
    present = support > 0
    top3 = None
    if probs is not None and len(y_true):
        top = np.argsort(-np.asarray(probs), axis=1, kind="stable")[:, :3]
        top3 = float((top == y_true[:, None]).any(axis=1).mean())
    return Metrics(
        accuracy=float(tp.sum() / max(1, len(y_true))),
        macro_f1=float(f1[present].mean()) if present.any() else 0.0,
        balanced_accuracy=float(recall[present].mean()) if present.any() else 0.0,
        top3=top3,
        agreement=listener_agreement(shares, pred) if shares is not None else None,
        n=int(len(y_true)),
        per_class={e: ClassScore(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
                   for i, e in enumerate(EMOTIONS)},
        confusion=cm.tolist(),
    )


# --- baselines -----------------------------------------------------------------------


def pooled_logmel(X: np.ndarray) -> np.ndarray:
    """Per-track summary for the linear baseline: mean and std of each mel band over all frames.

    Parameters
    ----------
    X : np.ndarray [shape=(n_tracks, n_segments, n_mels, frames)]
    """
    X = np.asarray(X, dtype=np.float32)
    return np.concatenate([X.mean(axis=(1, 3)), X.std(axis=(1, 3))], axis=1)


def majority_baseline(y_train: np.ndarray, n_test: int) -> np.ndarray:
    """Probabilities that always name the most frequent training class."""
    probs = np.zeros((n_test, len(EMOTIONS)))
    probs[:, np.bincount(y_train, minlength=len(EMOTIONS)).argmax()] = 1.0
    return probs


def genre_prior_baseline(y_train: np.ndarray, genre_train: np.ndarray, genre_test: np.ndarray) -> np.ndarray:
    """Probabilities of each genre's emotion frequencies in the training fold (genre is known here only)."""
    probs = np.zeros((len(genre_test), len(EMOTIONS)))
    overall = np.bincount(y_train, minlength=len(EMOTIONS)) + 1e-9
    for g in GENRES:
        counts = np.bincount(y_train[genre_train == g], minlength=len(EMOTIONS)) + overall * 1e-6
        probs[genre_test == g] = counts / counts.sum()
    return probs


def logreg_baseline(F_train: np.ndarray, y_train: np.ndarray, F_test: np.ndarray, seed: int = 0,
                    C: float = 0.1) -> np.ndarray:
    """Probabilities of a standardised logistic regression on per-track summaries (pooled log-mel, embeddings)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000, random_state=seed))
    clf.fit(F_train, y_train)
    probs = np.zeros((len(F_test), len(EMOTIONS)))
    probs[:, clf.classes_] = clf.predict_proba(F_test)
    return probs


def evaluate_corpus(model: LoadedModel, root: str | os.PathLike, *, on_progress: ProgressFn | None = None) -> Metrics:
    """Track-level metrics of a loaded model on a corpus it was not trained on.

    Parameters
    ----------
    model : mer.model_files.LoadedModel
    root : path of an Emotify-layout corpus
    on_progress : callable(done, total, message), optional
    """
    from ..data.emotify import load_corpus
    from ..model import predict_tracks

    data = model.front_end.corpus_data(load_corpus(root), audio_config=model.audio_config,
                                       feature_config=model.feature_config, on_progress=on_progress,
                                       precision=model.run_precision)
    return score(data.labels, probs=predict_tracks(model.net, data.X)[0], shares=data.shares)
