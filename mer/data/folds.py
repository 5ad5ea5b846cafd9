"""Which tracks or segments train, validate and test, under each protocol.

* ``track`` (the honest headline): k-fold cross-validation over **tracks**,
  stratified by dominant emotion; each fold's training tracks give up a
  stratified inner validation split for early stopping and learning-rate
  decisions, so nothing about a test track reaches training.
* ``segment``: one random split of **segments**, stratified; segments of one
  track then sit in training and test alike.
* ``study``: the same split as ``segment``, but the study's code oversampled all
  segments *before* splitting; :mod:`mer.training.train` reproduces that order.

Indices returned here are rows of whatever the caller split: track rows for
``track_folds``, segment rows for ``segment_split``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Fold", "track_folds", "inner_split", "segment_split", "folds_problem"]


@dataclass(frozen=True)
class Fold:
    """Row indices of one fold: fit (training proper), validation (early stopping) and test."""

    fit: np.ndarray
    val: np.ndarray
    test: np.ndarray

    @property
    def train(self) -> np.ndarray:
        """Everything the model may learn from: fit and validation rows together."""
        return np.sort(np.concatenate([self.fit, self.val]))


def _stratified_take(ids: np.ndarray, labels: np.ndarray, fraction: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split ``ids`` into (kept, taken) with about ``fraction`` of each class taken; a class keeps at least one."""
    kept, taken = [], []
    for c in np.unique(labels):
        members = rng.permutation(ids[labels == c])
        k = min(int(round(fraction * len(members))), len(members) - 1)
        taken.append(members[:k])
        kept.append(members[k:])
    return np.sort(np.concatenate(kept)).astype(np.int64), np.sort(np.concatenate(taken)).astype(np.int64)


def inner_split(ids: np.ndarray, labels: np.ndarray, *, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (fit, validation) split of training rows ``ids``; ``labels`` are those rows' labels."""
    return _stratified_take(np.asarray(ids), np.asarray(labels), val_fraction, np.random.default_rng(seed))


def track_folds(labels: np.ndarray, *, n_folds: int = 5, val_fraction: float = 0.15, seed: int = 0) -> list[Fold]:
    """Stratified k-fold over tracks, each with a stratified inner validation split.

    A class with fewer tracks than folds (Emotify has three amazement tracks)
    lands in as many folds as it has tracks. Every track is tested exactly once.

    Parameters
    ----------
    labels : np.ndarray [shape=(n_tracks,)]
        Dominant emotion per track.
    n_folds : int >= 2
    val_fraction : float in (0, 0.5)
        Share of each fold's training tracks held out for early stopping.
    seed : int
    """
    labels = np.asarray(labels)
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    if n_folds > len(labels):
        raise ValueError(f"{len(labels)} tracks are too few for {n_folds} folds")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        # deal the class round-robin, continuing where the previous class stopped, so folds stay even in size
        fold_of[members] = (offset + np.arange(len(members))) % n_folds
        offset += len(members)
    folds = []
    for k in range(n_folds):
        test = np.flatnonzero(fold_of == k)
        train = np.flatnonzero(fold_of != k)
        fit, val = inner_split(train, labels[train], val_fraction=val_fraction, seed=seed * 1000 + k)
        folds.append(Fold(fit=fit, val=val, test=test))
    return folds


def segment_split(labels: np.ndarray, *, test_fraction: float, val_fraction: float, seed: int) -> Fold:
    """One stratified random split of segments (rows), ignoring which track they come from.

    Parameters
    ----------
    labels : np.ndarray [shape=(n_segments,)]
        Each segment's label (its track's dominant emotion).
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, test = _stratified_take(np.arange(len(labels)), labels, test_fraction, rng)
    fit, val = _stratified_take(train, labels[train], val_fraction / (1 - test_fraction), rng)
    return Fold(fit=fit, val=val, test=test)


def folds_problem(labels: np.ndarray, *, n_folds: int, val_fraction: float, seed: int) -> str | None:
    """Why these tracks cannot fill the folds (a fold with no test or no validation track), or None.

    With ``n_folds`` 0 (no cross-validation) only the final fit's validation split is checked. The answer
    names settings that would work on these tracks, when there are any.
    """
    def problem(k: int, frac: float) -> str | None:
        labels_ = np.asarray(labels)
        if k > len(labels_):
            return f"{len(labels_)} tracks are too few for {k} folds"
        folds = track_folds(labels_, n_folds=k, val_fraction=frac, seed=seed) if k else []
        if k == 0:
            folds = [Fold(*inner_split(np.arange(len(labels_)), labels_, val_fraction=frac, seed=seed),
                          test=np.arange(len(labels_)))]
        for i, f in enumerate(folds, 1):
            if len(f.val) == 0:
                return (f"{'fold ' + str(i) if k else 'the final fit'} gets no validation track "
                        f"(val_fraction {frac:g} of {len(f.train)} training tracks, taken per emotion, rounds to 0)")
            if len(f.test) == 0:
                return f"fold {i} gets no test track"
        return None

    why = problem(n_folds, val_fraction)
    if why is None:
        return None
    options = [f"--val-fraction {v:g}" for v in (0.2, 0.3, 0.4) if v > val_fraction and not problem(n_folds, v)]
    options += [f"--cv-folds {k}" for k in range(n_folds - 1, 1, -1) if not problem(k, val_fraction)][:1]
    hint = ("; what works on these tracks: " + " or ".join(options[:2])) if options else \
        "; use a corpus with more tracks of each emotion"
    return why + hint
