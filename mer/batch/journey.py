"""Journeys from one mood to another over a batch (the iso principle of music therapy: start where the listener
is, change a little at each step), between two emotions or between two points of the learned valence–arousal
plane: distinct analysed tracks, each the nearest unused one to its waypoint on a straight line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..emotions import EMOTIONS
from ..errors import BatchError
from .catalogue import Catalogue
from .navigate import analysed_row, check_count
from .query import Track, check_emotion

__all__ = ["JourneyStep", "Journey", "journey", "journey_start", "plane_journey", "check_point"]

@dataclass(frozen=True)
class JourneyStep:
    """One track of a journey: the waypoint it stands for, how far from it, and the change from the step before
    (in the nine probabilities, or on the valence–arousal plane for a journey across it)."""

    track: Track
    waypoint: tuple[float, ...]
    distance: float
    change: float

    def to_dict(self) -> dict:
        return {**self.track.to_dict(), "waypoint": [round(x, 4) for x in self.waypoint],
                "distance_to_waypoint": round(self.distance, 4), "change": round(self.change, 4)}


@dataclass(frozen=True)
class Journey:
    """A playlist moving from one mood to another, one small change at a time.

    Attributes
    ----------
    start, target : str
        Between emotions: the first track's top emotion and the target emotion. Across the plane: the two
        points as ``"valence +0.50, arousal -0.30"``.
    steps : tuple of JourneyStep
    space : {"emotions", "valence_arousal"}
        What the waypoints, distances and changes are measured in.
    points : tuple of two (valence, arousal), or None
        Across the plane, where it starts and ends.
    """

    start: str
    target: str
    steps: tuple[JourneyStep, ...]
    space: str = "emotions"
    points: tuple[tuple[float, float], tuple[float, float]] | None = None

    @property
    def file_stem(self) -> str:
        """A file name for its playlist: ``sadness-to-calmness``, or ``v+0.50a-0.30-to-v-0.80a+0.20``."""
        if self.points is None:
            return f"{self.start}-to-{self.target}"
        return "-to-".join(f"v{v:+.2f}a{a:+.2f}" for v, a in self.points)

    def to_dict(self) -> dict:
        plane = {} if self.points is None else {"from_point": list(self.points[0]), "to_point": list(self.points[1])}
        return {"from": self.start, "to": self.target, "space": self.space, **plane,
                "steps": [s.to_dict() for s in self.steps]}


def _typical(cat: Catalogue, emotion: str, exclude: int = -1) -> int:
    """The analysed track whose top emotion is ``emotion`` with the highest probability of it."""
    j = EMOTIONS.index(emotion)
    p = np.where(cat.usable & (cat.top == j), cat.probabilities[:, j], -np.inf)
    if exclude >= 0:
        p[exclude] = -np.inf
    best = int(np.argmax(p)) if len(p) else -1
    if best < 0 or not np.isfinite(p[best]):
        raise BatchError(f"No analysed track of this batch has '{emotion}' as its top emotion (besides the start), "
                         "so no journey can end (or start) there. Choose another emotion.")
    return best


def _is_emotion(name: str) -> bool:
    try:
        check_emotion(name)
    except BatchError:
        return False
    return True


def journey_start(cat: Catalogue, name: str) -> dict[str, str]:
    """The start :func:`journey` takes for ``name`` (``--from EMOTION|PATH``): ``{"from_emotion": name}`` if it
    is one of the nine emotions, else ``{"from_track": name}`` if the batch holds a track at that path.

    Raises
    ------
    BatchError
        Neither an emotion nor a track of the batch.
    """
    if _is_emotion(name):
        return {"from_emotion": name}
    try:
        cat.find(name)
    except BatchError:
        raise BatchError(f"--from '{name}' is neither one of the nine emotions ({', '.join(EMOTIONS)}) nor a track "
                         f"of the batch in '{cat.path}'. Give an emotion or a path as the batch stored it.") from None
    return {"from_track": name}


def _start_row(cat: Catalogue, from_track: str | None, from_emotion: str | None) -> int:
    """The first track of a journey: the track at a path, or the most typical track of an emotion."""
    if (from_track is None) == (from_emotion is None):
        raise BatchError("A journey starts at a track or at an emotion: give exactly one of from_track and "
                         "from_emotion.")
    return analysed_row(cat, from_track) if from_track is not None else _typical(cat, check_emotion(from_emotion))


def _waypoints(a: np.ndarray, b: np.ndarray, steps: int) -> list[np.ndarray]:
    """The ``steps - 2`` points between ``a`` and ``b`` that cut the straight line into equal steps."""
    return [a + (b - a) * k / (steps - 1) for k in range(1, steps - 1)]


def _take_nearest(values: np.ndarray, free: np.ndarray, w: np.ndarray) -> int:
    """The index of the free row of ``values`` nearest to ``w`` (the first on a tie), marked no longer free."""
    d = np.where(free, ((values - w) ** 2).sum(axis=1), np.inf)
    i = int(np.argmin(d))
    free[i] = False
    return i


def _steps(cat: Catalogue, rows: Sequence[int], values: Sequence[np.ndarray],
           marks: Sequence[np.ndarray]) -> tuple[JourneyStep, ...]:
    """A journey's steps: each track (its row and its ``values``, the point it stands at) with its waypoint, how
    far from it, and the change from the step before."""
    out, before = [], values[0]
    for r, p, w in zip(rows, values, marks):
        out.append(JourneyStep(track=cat.track(r), waypoint=tuple(float(x) for x in w),
                               distance=float(np.linalg.norm(p - w)), change=float(np.linalg.norm(p - before))))
        before = p
    return tuple(out)


def journey(cat: Catalogue, target: str, *, from_track: str | None = None, from_emotion: str | None = None,
            steps: int = 8) -> Journey:
    """``steps`` distinct analysed tracks from a start (``from_track``, a track's path, or ``from_emotion``:
    exactly one) to ``target`` (an emotion).

    The first track is ``from_track`` itself, or the track whose top emotion is ``from_emotion`` with the highest
    probability of it; the last is the track most typical of ``target`` the same way. Between them, the
    straight line in probability space is cut into equal steps, and each waypoint takes the nearest track not
    used yet: every step a small change. :func:`journey_start` reads a start that may be either.

    Tracks whose probabilities are not all finite numbers (a damaged table) are left out (``cat.notes`` counts
    them).

    Raises
    ------
    BatchError
        Both starts or neither; an unknown emotion; a path not in the batch, or a track there that failed to
        analyse; ``steps`` below 2, above :data:`~mer.batch.navigate.MAX_TRACKS` or above the analysed tracks; no
        track with ``target`` (or ``from_emotion``) as its top emotion.
    """
    target = check_emotion(target)
    check_count("--steps", steps, 2)
    available = int(cat.usable.sum())
    if steps > available:
        raise BatchError(f"--steps must lie between 2 and the {available:,} analysed tracks of the batch, got {steps}.")
    first = _start_row(cat, from_track, from_emotion)
    last = _typical(cat, target, exclude=first)
    rows = np.flatnonzero(cat.usable)
    probs = cat.probabilities[rows].astype(np.float32)
    free = np.ones(len(rows), dtype=bool)
    free[np.searchsorted(rows, [first, last])] = False
    a, b = cat.probabilities[first].astype(np.float64), cat.probabilities[last].astype(np.float64)
    middle = _waypoints(a, b, steps)
    path = [first, *(int(rows[_take_nearest(probs, free, w.astype(np.float32))]) for w in middle), last]
    out = _steps(cat, path, [cat.probabilities[r] for r in path], [a, *middle, b])
    return Journey(start=EMOTIONS[int(cat.top[first])], target=target, steps=out)


def check_point(point: Sequence[float], name: str = "a point") -> tuple[float, float]:
    """``point`` as ``(valence, arousal)`` if it is two finite numbers in [-1, 1].

    Raises
    ------
    BatchError
        Anything else; the message names ``name`` (``--to-point``) and gives an example.
    """
    try:
        v, a = (float(x) for x in point)
    except (TypeError, ValueError):
        raise BatchError(f"{name} takes two numbers, valence then arousal, each from -1 to 1 (e.g. 0.5 -0.3); got "
                         f"{point!r}.") from None
    if not (math.isfinite(v) and math.isfinite(a) and -1.0 <= v <= 1.0 and -1.0 <= a <= 1.0):
        raise BatchError(f"{name} must be a valence and an arousal from -1 to 1 (e.g. 0.5 -0.3); got {v:g} {a:g}.")
    return v, a


def _point_words(point: tuple[float, float]) -> str:
    return f"valence {point[0]:+.2f}, arousal {point[1]:+.2f}"


def _plane_start(cat: Catalogue, start: str | Sequence[float], rows: np.ndarray, points: np.ndarray,
                 free: np.ndarray) -> tuple[int, np.ndarray]:
    """Where a journey across the plane starts: the index among ``rows`` of its first track, taken (no longer
    ``free``), and its first waypoint: the track's own point where ``start`` is a path, else the point ``start``."""
    if isinstance(start, str):
        if _is_emotion(start):
            raise BatchError(f"A journey across the valence–arousal plane starts at a point (--from-point V A) or at a "
                             f"track's path, not at an emotion ('{start}'). For a journey between emotions, end it at "
                             "one with --to EMOTION.")
        row = analysed_row(cat, start)
        if not cat.va_finite[row]:
            raise BatchError(f"'{start}' has no valence or arousal in this batch, so a journey across the plane cannot "
                             "start there. Start at a point (--from-point), or choose another track.")
        first = int(np.searchsorted(rows, row))
        free[first] = False
        return first, points[first]
    a = np.array(check_point(start, "--from-point"))
    return _take_nearest(points, free, a), a


def plane_journey(cat: Catalogue, start: str | Sequence[float], target: Sequence[float], steps: int = 8) -> Journey:
    """``steps`` distinct analysed tracks across the learned valence–arousal plane, from ``start`` (a point
    ``(valence, arousal)``, or a track's path: its own point) to the point ``target``.

    The straight line between the two points is cut into equal steps; the first waypoint is the start (the track
    itself where ``start`` is a path), the last is ``target``, and each takes the track nearest to it on the plane
    (Euclidean, by the tracks' learned valence and arousal) not used yet: the last is chosen before the ones
    between, so the journey always ends where it was asked to. Ties go to the track first in the table.

    Tracks without valence and arousal, or whose numbers are not finite, are left out (``cat.notes`` counts
    them).

    Raises
    ------
    BatchError
        The batch has no valence and arousal (the message says why); a point outside [-1, 1] or not a number; a
        path not in the batch, failed, or without valence and arousal; ``steps`` below 2, above
        :data:`~mer.batch.navigate.MAX_TRACKS` or above the tracks on the plane.
    """
    cat.require_va("make a journey across the valence–arousal plane")
    b = np.array(check_point(target, "--to-point"))
    check_count("--steps", steps, 2)
    rows = np.flatnonzero(cat.va_usable)
    if steps > len(rows):
        raise BatchError(f"--steps must lie between 2 and the {len(rows):,} analysed tracks of the batch with valence "
                         f"and arousal, got {steps}.")
    points = np.column_stack([cat.valence[rows], cat.arousal[rows]]).astype(np.float64)
    free = np.ones(len(rows), dtype=bool)
    first, a = _plane_start(cat, start, rows, points, free)
    last = _take_nearest(points, free, b)  # before the ones between: the journey ends where it was asked to
    middle = _waypoints(a, b, steps)
    chosen = [first, *(_take_nearest(points, free, w) for w in middle), last]
    out = _steps(cat, [int(rows[i]) for i in chosen], [points[i] for i in chosen], [a, *middle, b])
    ends = ((float(a[0]), float(a[1])), (float(b[0]), float(b[1])))
    return Journey(start=_point_words(ends[0]), target=_point_words(ends[1]), steps=out, space="valence_arousal",
                   points=ends)
