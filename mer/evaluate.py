"""Metrics: segment- and track-level accuracy, macro-F1, confusion matrices, baselines."""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import EMOTIONS

__all__ = ["classification_metrics", "track_probabilities", "majority_baseline", "logreg_baseline", "evaluate_model"]


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = len(EMOTIONS)) -> dict[str, Any]:
    """Accuracy, macro-F1, balanced accuracy, per-class precision/recall/F1 and the confusion matrix.

    Macro averages run over the classes present in ``y_true`` (a class with no
    test sample has no recall to average). ``confusion[i][j]`` counts true ``i``
    predicted ``j``.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros(n_classes), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(n_classes), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(n_classes), where=denom > 0)
    present = support > 0
    return {
        "accuracy": float(tp.sum() / max(1, len(y_true))),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "n": int(len(y_true)),
        "per_class": {
            e: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(support[i])}
            for i, e in enumerate(EMOTIONS[:n_classes])
        },
        "confusion": cm.tolist(),
    }


def track_probabilities(probs: np.ndarray, track: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean probability per track over its rows; returns (track ids in order, (n_tracks, n_classes))."""
    ids, inverse = np.unique(track, return_inverse=True)
    sums = np.zeros((len(ids), probs.shape[1]))
    np.add.at(sums, inverse, probs)
    counts = np.bincount(inverse, minlength=len(ids))[:, None]
    return ids, sums / counts


def majority_baseline(y_train: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """Always predict the most frequent training class."""
    majority = int(np.bincount(y_train, minlength=len(EMOTIONS)).argmax())
    return classification_metrics(y_test, np.full_like(y_test, majority))


def _mean_logmel(X: np.ndarray) -> np.ndarray:
    """Per-window summary for the non-neural baseline: mean and std of each mel band over time."""
    X = X.astype(np.float32)
    return np.concatenate([X.mean(axis=2), X.std(axis=2)], axis=1)


def logreg_baseline(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                    seed: int = 0) -> dict[str, Any]:
    """Logistic regression (balanced class weights) on mean and std of each mel band."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced",
                                                             random_state=seed))
    clf.fit(_mean_logmel(X_train), y_train)
    return classification_metrics(y_test, clf.predict(_mean_logmel(X_test)))


def evaluate_model(probs: np.ndarray, y: np.ndarray, track: np.ndarray, track_labels: np.ndarray) -> dict[str, Any]:
    """Segment-level and track-level metrics of predicted probabilities.

    Track-level: the mean of the track's segment probabilities, compared with the
    track's dominant emotion (``track_labels`` indexed by track row).
    """
    seg = classification_metrics(y, probs.argmax(axis=1))
    ids, tprobs = track_probabilities(probs, track)
    trk = classification_metrics(track_labels[ids], tprobs.argmax(axis=1))
    return {
        "segment_accuracy": seg["accuracy"],
        "track_accuracy": trk["accuracy"],
        "macro_f1": seg["macro_f1"],
        "track_macro_f1": trk["macro_f1"],
        "balanced_accuracy": seg["balanced_accuracy"],
        "n_segments": seg["n"],
        "n_tracks": trk["n"],
        "segment": seg,
        "track": trk,
        "confusion": seg["confusion"],
        "track_confusion": trk["confusion"],
    }


def evaluate_corpus(model, root, *, on_progress=None) -> dict[str, Any]:
    """Metrics of a loaded model on every segment of a corpus (one it never saw).

    Parameters
    ----------
    model : mer.registry.LoadedModel
    root : path of an Emotify-layout corpus
    """
    from .dataset import segment_data
    from .emotify import load_corpus
    from .model import predict_proba

    corpus = load_corpus(root)
    data = segment_data(corpus, audio_config=model.audio_config, feature_config=model.feature_config,
                        on_progress=on_progress)
    probs = predict_proba(model.net, data.X)
    # windows of one segment vote together, as in analysis
    key = data.track * 1000 + data.segment
    _, seg_probs = track_probabilities(probs, key)
    seg_ids = np.unique(key)
    result = evaluate_model(seg_probs, corpus.labels[seg_ids // 1000], seg_ids // 1000, corpus.labels)
    result.update(model=model.name, protocol=model.protocol, root=str(root))
    return result
