"""Oversampling (SMOTE and friends, from imbalanced-learn) and class weights.

Oversampling is only ever fitted on a training fold: the caller passes the
training rows and nothing else, so no synthetic sample is built from a
validation or test segment.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..choices import SAMPLERS, Sampler
from ..emotions import EMOTIONS
from ..errors import DataError

__all__ = [
    "SAMPLER_LABELS",
    "SAMPLER_NOTE",
    "Resampled",
    "class_counts",
    "imbalance_ratio",
    "oversample",
    "class_weights",
]

SAMPLER_LABELS: dict[str, str] = {
    "smote": "SMOTE",
    "borderline_smote": "Borderline-SMOTE",
    "adasyn": "ADASYN",
    "random": "Random oversampling",
    "none": "None (no oversampling)",
}

#: Why oversampling is off by default, from docs/model.md's table of variants.
SAMPLER_NOTE = ("Oversampling is off by default. It was measured on the log-mel recipe, the previous default (not the "
                "MusiCNN model the Model page scores): under track-grouped cross-validation, SMOTE on whole training "
                "tracks gave that recipe 0.203 track accuracy against 0.347 without it.")


def class_counts(labels: np.ndarray) -> dict[str, int]:
    """Samples per emotion, all nine in Emotify order (zero where absent)."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(EMOTIONS))
    return {e: int(c) for e, c in zip(EMOTIONS, counts)}


def imbalance_ratio(counts: dict[str, int]) -> float:
    """Majority count over minority count, among the classes that occur."""
    present = [c for c in counts.values() if c > 0]
    if not present:
        raise DataError("No samples: the imbalance ratio is undefined.")
    return max(present) / min(present)


@dataclass(frozen=True)
class Resampled:
    """Result of :func:`oversample`.

    ``X[:n_original]`` are the input rows in their order; rows after that are
    synthetic (interpolated, or duplicated for random oversampling).
    """

    X: np.ndarray
    y: np.ndarray
    n_original: int
    sampler: Sampler
    k_neighbors: int | None
    notes: tuple[str, ...] = field(default=())

    @property
    def is_synthetic(self) -> np.ndarray:
        flags = np.zeros(len(self.y), dtype=bool)
        flags[self.n_original:] = True
        return flags


def _make(sampler: Sampler, k: int, seed: int):
    """The imbalanced-learn oversampler of ``sampler`` (never :attr:`Sampler.NONE`, which adds nothing)."""
    from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler

    match sampler:
        case Sampler.SMOTE:
            return SMOTE(k_neighbors=k, random_state=seed)
        case Sampler.BORDERLINE_SMOTE:
            return BorderlineSMOTE(k_neighbors=k, m_neighbors=max(k, 2) * 2, random_state=seed)
        case Sampler.ADASYN:
            return ADASYN(n_neighbors=k, random_state=seed)
        case Sampler.RANDOM:
            return RandomOverSampler(random_state=seed)
    raise AssertionError(f"no oversampler for {sampler!r}")


def _neighbours(sampler: Sampler, k_neighbors: int, present: np.ndarray, counts: np.ndarray) -> tuple[int, list[str]]:
    """The k a SMOTE-style sampler can use on these class counts, and a note when it had to be lowered."""
    if sampler == Sampler.RANDOM:
        return k_neighbors, []
    smallest = int(counts.min())
    name = EMOTIONS[int(present[counts.argmin()])]
    if smallest < 2:
        raise DataError(
            f"'{name}' has a single sample in the training fold, and {SAMPLER_LABELS[sampler]} needs two "
            "to interpolate. Use random oversampling, or add data for that emotion."
        )
    if smallest > k_neighbors:
        return k_neighbors, []
    k = smallest - 1
    return k, [f"k_neighbors lowered from {k_neighbors} to {k}: the smallest class ({name}) has only {smallest} samples."]


def oversample(X: np.ndarray, y: np.ndarray, *, sampler: Sampler | str = Sampler.SMOTE, k_neighbors: int = 5,
               seed: int = 0) -> Resampled:
    """Oversample the minority classes of a training fold up to the majority count.

    Parameters
    ----------
    X : np.ndarray [shape=(n, ...)]
        Training samples (any trailing shape; flattened for the sampler and restored).
    y : np.ndarray [shape=(n,)]
        Class indices.
    sampler : one of ``"smote", "borderline_smote", "adasyn", "random", "none"``
        ``"none"`` returns the data unchanged (use :func:`class_weights` in the loss).
    k_neighbors : int > 0
        Neighbours for SMOTE-style samplers. If the smallest class has ``k_neighbors``
        samples or fewer, k is lowered to fit and a note says so.
    seed : int

    Returns
    -------
    Resampled

    Raises
    ------
    DataError
        Fewer than two classes, or a class with a single sample (nothing to interpolate).
    """
    if sampler not in SAMPLERS:
        raise DataError(f"Unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}.")
    sampler = Sampler(sampler)
    if k_neighbors < 1:
        raise DataError(f"k_neighbors must be at least 1, got {k_neighbors}.")
    y = np.asarray(y)
    if sampler == Sampler.NONE:
        return Resampled(X=X, y=y, n_original=len(y), sampler=sampler, k_neighbors=None)
    present, counts = np.unique(y, return_counts=True)
    if len(present) < 2:
        raise DataError("The training fold holds a single emotion; there is nothing to balance.")
    k, notes = _neighbours(sampler, k_neighbors, present, counts)
    if len(present) == len(counts) and counts.min() == counts.max():
        return Resampled(X=X, y=y, n_original=len(y), sampler=sampler, k_neighbors=k,
                         notes=(*notes, "already balanced: nothing to add"))
    shape = X.shape[1:]
    flat = X.reshape(len(X), -1)
    dtype = X.dtype
    if dtype == np.float16:  # neighbours and interpolation in float32
        flat = flat.astype(np.float32)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            X_res, y_res = _make(sampler, k, seed).fit_resample(flat, y)
    except (ValueError, RuntimeError) as e:
        raise DataError(f"{SAMPLER_LABELS[sampler]} could not balance this fold ({e}). Try SMOTE or random "
                        "oversampling.") from None
    return Resampled(X=X_res.astype(dtype, copy=False).reshape(-1, *shape), y=np.asarray(y_res),
                     n_original=len(y), sampler=sampler, k_neighbors=k, notes=tuple(notes))


def class_weights(y: np.ndarray, n_classes: int = len(EMOTIONS), cap: float | None = None) -> np.ndarray:
    """Inverse-frequency weights ``n / (n_present_classes * count)``; 0 for absent classes.

    ``cap`` bounds the weight of a rare class (Emotify's two or three amazement tracks of a training fold
    would otherwise weigh 17 times a typical track).
    """
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = counts > 0
    w = np.zeros(n_classes)
    w[present] = counts.sum() / (present.sum() * counts[present])
    return w if cap is None else np.minimum(w, cap)
