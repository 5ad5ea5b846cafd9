"""Tracks like this one, in a batch at catalogue scale (a :class:`~mer.batch.catalogue.Catalogue`): the nearest by
emotion profile (the nine probabilities, the timeline's shape, the learned valence and arousal) or by what MusiCNN
hears, with the emotions and tags they share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..choices import SimilarBy
from ..emotions import EMOTIONS
from ..errors import BatchError
from ..tags import TAGS
from .catalogue import Catalogue
from .navigate import analysed_row, check_count
from .query import Track

__all__ = ["Neighbour", "similar", "shared_emotions", "shared_tags", "SHAPE_WEIGHT", "VA_WEIGHT", "SIMILAR_BY"]

#: Weight of the timeline's shape (spread and trend per emotion) against the nine probabilities in a distance.
SHAPE_WEIGHT = 0.5
#: Weight of the learned valence and arousal (and of their shape, times :data:`SHAPE_WEIGHT`) in a distance by
#: emotion profile: a half, so that each counts as the probability it comes from (``2 P - 1`` halved is ``P - 1/2``).
VA_WEIGHT = 0.5
_SHARED_TOP = 3
_SHARED_TAGS = 5
#: What "similar" may measure: the emotion profile, or what MusiCNN hears (where the batch stores it).
SIMILAR_BY: tuple[str, ...] = tuple(SimilarBy)


@dataclass(frozen=True)
class Neighbour:
    """A track near another: its distance (by emotion profile, or by sound), the emotions both have among their
    top three, and, by sound, the MusiCNN tags both have among their top five."""

    track: Track
    distance: float
    shared: tuple[str, ...]
    shared_tags: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {**self.track.to_dict(), "distance": round(self.distance, 4), "shared_emotions": list(self.shared),
                **({"shared_tags": list(self.shared_tags)} if self.shared_tags else {})}


def shared_emotions(a: np.ndarray, b: np.ndarray, top: int = _SHARED_TOP) -> tuple[str, ...]:
    """Emotions among the ``top`` most probable of both ``a`` and ``b`` (each ``(9,)``), in ``a``'s order."""
    ta, tb = np.argsort(-a, kind="stable")[:top], set(np.argsort(-b, kind="stable")[:top].tolist())
    return tuple(EMOTIONS[i] for i in ta if i in tb)


def similar(cat: Catalogue, path: str, top: int = 10, by: SimilarBy | str = SimilarBy.EMOTION) -> list[Neighbour]:
    """The ``top`` analysed tracks nearest to the track at ``path`` (itself excluded), nearest first.

    ``by="emotion"``: Euclidean distance over the emotion profile, the nine track probabilities and the shape of
    the 20-segment timeline (each emotion's spread and trend, weighted :data:`SHAPE_WEIGHT`), with the learned
    valence and arousal and the shape of their path, weighted :data:`VA_WEIGHT`, where the batch has them (a track
    without them counts as undecided: 0). ``by="sound"``:
    cosine distance between what MusiCNN hears in the two tracks (their 50 tags' probabilities averaged over the
    segments), where the batch stores it.

    Tracks whose probabilities are not all finite numbers (a damaged table) are left out (``cat.notes`` counts
    them).

    Raises
    ------
    BatchError
        ``top`` below 1 or above :data:`MAX_TRACKS`; ``by`` neither; ``path`` not in the batch, a track that failed
        to analyse or one whose numbers are not finite; ``by="sound"`` on a batch that stores no sounds; a damaged
        ``profiles.parquet`` or ``sound`` column.
    """
    check_count("--top", top, 1)
    if by not in SIMILAR_BY:
        raise BatchError(f"Similar by '{by}'? Choose one of: {', '.join(SIMILAR_BY)}.")
    by = SimilarBy(by)
    row = analysed_row(cat, path)
    with np.errstate(invalid="ignore", over="ignore"):  # rows not finite are ruled out just below
        d = _sound_distances(cat, row) if by == SimilarBy.SOUND else _profile_distances(cat, row)
    d[~cat.usable] = np.inf
    d[row] = np.inf
    k = min(top, int(np.isfinite(d).sum()))
    near = np.argpartition(d, k - 1)[:k] if k else np.zeros(0, np.int64)
    near = near[np.lexsort((near, d[near]))]
    sounds = cat.sounds() if by == SimilarBy.SOUND else None
    return [Neighbour(track=cat.track(int(i)), distance=float(d[i]),
                      shared=shared_emotions(cat.probabilities[row], cat.probabilities[i]),
                      shared_tags=() if sounds is None else shared_tags(sounds[row], sounds[i])) for i in near]


def _profile_distances(cat: Catalogue, row: int) -> np.ndarray:
    """Euclidean distance over the emotion profile: the nine probabilities, then the timeline's spread and trend
    weighted by :data:`SHAPE_WEIGHT` (a shape that is not a finite number, none stored or a damaged one, counts
    as flat: 0), then the learned valence and arousal and their shape weighted by :data:`VA_WEIGHT` (none stored,
    or not finite: 0, undecided); inf where it is not a finite number. Summed part by part: no ``(n, 33)`` copy
    of the library."""
    clean = lambda x: np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)  # noqa: E731
    shape = clean(cat.shapes())
    dp, ds = cat.probabilities - cat.probabilities[row], shape - shape[row]
    sq = np.einsum("ij,ij->i", dp, dp) + SHAPE_WEIGHT ** 2 * np.einsum("ij,ij->i", ds, ds)
    if cat.has_va:
        for values in (cat.valence, cat.arousal):
            v = clean(values)
            sq += VA_WEIGHT ** 2 * (v - v[row]) ** 2
        va_shape = clean(cat.va_shapes())
        dv = va_shape - va_shape[row]
        sq += (VA_WEIGHT * SHAPE_WEIGHT) ** 2 * np.einsum("ij,ij->i", dv, dv)
    d = np.sqrt(sq)
    return np.where(np.isfinite(d), d, np.inf)


def _sound_distances(cat: Catalogue, row: int) -> np.ndarray:
    """1 − cosine similarity of every track's sound to ``row``'s (inf where a track has none)."""
    sounds = cat.sounds()
    if sounds is None:
        raise BatchError(f"The batch '{cat.path}' stores no sounds (a log-mel model's batch, or one written before "
                         "mer stored them): ask for similar by emotion, or analyse the library again into a new "
                         "folder with a MusiCNN model.")
    if not np.isfinite(sounds[row]).all():
        raise BatchError(f"'{cat.track(row).path}' has no sound stored in this batch: ask for similar by emotion.")
    norms = np.linalg.norm(sounds, axis=1) * np.linalg.norm(sounds[row])
    d = 1.0 - (sounds @ sounds[row]) / np.where(norms > 0, norms, np.nan)
    return np.where(np.isfinite(d), d, np.inf)


def shared_tags(a: np.ndarray, b: np.ndarray, top: int = _SHARED_TAGS) -> tuple[str, ...]:
    """MusiCNN tags among the ``top`` most probable of both sounds ``a`` and ``b`` (each ``(50,)``), in ``a``'s order."""
    ta, tb = np.argsort(-a, kind="stable")[:top], set(np.argsort(-b, kind="stable")[:top].tolist())
    return tuple(TAGS[i] for i in ta if i in tb)
