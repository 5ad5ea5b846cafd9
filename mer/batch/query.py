"""What a query of a batch asks and what it answers: :class:`TrackQuery` (the Library page's filters and
``library query``'s options), and the records :class:`~mer.batch.catalogue.Catalogue` returns — a page of rows, one
track, its timeline, the shares per folder or genre, the library map and the summary — with the columns a page may
be sorted by and the emotions' corners on the map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..choices import TrackStatus
from ..emotions import EMOTIONS
from ..errors import BatchError
from .rows import VA_COLUMNS

__all__ = ["TrackQuery", "TrackPage", "Track", "Timeline", "GroupShares", "LibraryMap", "LibrarySummary",
           "SORT_COLUMNS", "STATUSES", "MAP_ANCHORS", "MAP_AXES", "check_emotion"]

#: Columns a page of rows may be sorted by (numbers highest first by default, names A to Z).
SORT_COLUMNS = ("top_probability", *EMOTIONS, *VA_COLUMNS, "duration_s", "path", "file", "folder")
#: The ``status`` a query may keep: a :class:`TrackStatus`, or every track.
STATUSES = (*TrackStatus, "all")
#: Where each emotion sits on the library map: a nonagon with related emotions side by side (GEMS's
#: sublimity, vitality and unease); a track is drawn at the mean of the corners weighted by its probabilities.
_MAP_ORDER = ("amazement", "joyful_activation", "power", "tension", "sadness", "nostalgia", "solemnity",
              "calmness", "tenderness")
MAP_ANCHORS = np.array([[math.sin(2 * math.pi * _MAP_ORDER.index(e) / 9),
                         math.cos(2 * math.pi * _MAP_ORDER.index(e) / 9)] for e in EMOTIONS])
#: The library map's axes: the learned valence and arousal, or (a batch without them) the nine emotions' corners.
MAP_AXES = ("valence_arousal", "emotions")


def check_emotion(name: str) -> str:
    """``name`` if it is one of the nine emotions (``joyful activation`` is read as ``joyful_activation``).

    Raises
    ------
    BatchError
        Any other name; the message lists the nine.
    """
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    if key not in EMOTIONS:
        raise BatchError(f"Unknown emotion '{name}'. Choose one of: {', '.join(EMOTIONS)}.")
    return key


@dataclass(frozen=True)
class TrackQuery:
    """Which tracks to keep: the Library page's filters and ``library query``'s options.

    Attributes
    ----------
    emotions : tuple of str or None
        Keep tracks whose top emotion is one of these (None: any). Ignored for ``status="error"`` rows.
    min_probability : float in [0, 1]
        The top emotion's probability at least this.
    status : {"ok", "error", "all"}
    text : str
        Must occur in the path, any case.
    valence_min, valence_max, arousal_min, arousal_max : float in [-1, 1] or None
        The track's learned valence (arousal) at least, at most this (None: no bound). Tracks without one are
        left out by any bound.
    """

    emotions: tuple[str, ...] | None = None
    min_probability: float = 0.0
    status: str = TrackStatus.OK
    text: str = ""
    valence_min: float | None = None
    valence_max: float | None = None
    arousal_min: float | None = None
    arousal_max: float | None = None

    @property
    def va_bounds(self) -> dict[str, tuple[float, float]]:
        """The bounds set, by column: ``{"valence": (low, high), ...}`` (an unset end is -1 or 1)."""
        return {n: (-1.0 if lo is None else lo, 1.0 if hi is None else hi)
                for n, lo, hi in (("valence", self.valence_min, self.valence_max),
                                  ("arousal", self.arousal_min, self.arousal_max)) if lo is not None or hi is not None}

    def __post_init__(self) -> None:
        if self.emotions is not None:
            object.__setattr__(self, "emotions", tuple(check_emotion(e) for e in self.emotions))
        if not 0.0 <= self.min_probability <= 1.0:
            raise BatchError(f"The minimum probability must lie between 0 and 1, got {self.min_probability}.")
        if self.status not in STATUSES:
            raise BatchError(f"Unknown status '{self.status}'. Choose one of: {', '.join(STATUSES)}.")
        for name in ("valence_min", "valence_max", "arousal_min", "arousal_max"):
            value = getattr(self, name)
            if value is not None and not -1.0 <= value <= 1.0:
                raise BatchError(f"--{name.replace('_', '-')} must lie between -1 and 1, got {value}.")
        for name, (lo, hi) in self.va_bounds.items():
            if lo > hi:
                raise BatchError(f"--{name}-min ({lo}) is above --{name}-max ({hi}): no track can lie between them.")


@dataclass(frozen=True)
class TrackPage:
    """One page of the tracks a query keeps, sorted.

    Attributes
    ----------
    total : int
        Tracks the query keeps (all pages).
    offset : int
        Position of the first row in the sorted result.
    rows : pd.DataFrame
        At most the page's size of rows: ``track_id``, the page's table columns, the nine probabilities.
    """

    total: int
    offset: int
    rows: pd.DataFrame


@dataclass(frozen=True)
class Track:
    """One track as the commands print it."""

    path: str
    top_emotion: str | None
    top_probability: float | None
    probabilities: tuple[float, ...]  # in the order of EMOTIONS (NaN for a track that failed)
    duration_s: float | None
    status: TrackStatus
    valence: float | None = None  # learned (mer.valence); None where the batch has none
    arousal: float | None = None

    @property
    def point(self) -> tuple[float, float] | None:
        """``(valence, arousal)``, or None for a track without them."""
        return None if self.valence is None or self.arousal is None else (self.valence, self.arousal)

    def to_dict(self) -> dict:
        """JSON-ready: ``path``, ``top_emotion``, ``top_probability``, one key per emotion, valence, arousal,
        duration, status."""
        probs = {e: None if math.isnan(p) else round(p, 4) for e, p in zip(EMOTIONS, self.probabilities)}
        va = {n: None if v is None or not math.isfinite(v) else round(v, 4)
              for n, v in zip(VA_COLUMNS, (self.valence, self.arousal))}
        return {"path": self.path, "top_emotion": self.top_emotion,
                "top_probability": None if self.top_probability is None else round(self.top_probability, 4),
                **probs, **va, "duration_s": self.duration_s, "status": self.status}


@dataclass(frozen=True)
class Timeline:
    """One track's segments, in order: probabilities ``(n, 9)``, bounds ``(n,)`` in seconds, and the learned
    valence and arousal ``(n,)`` (NaN where the batch has none)."""

    probabilities: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    valence: np.ndarray | None = None
    arousal: np.ndarray | None = None


@dataclass(frozen=True)
class GroupShares:
    """Each group's share of tracks per top emotion: the largest groups, then the rest summed as "other".

    Attributes
    ----------
    by : {"folder", "genre"}
    groups : tuple of str
        Largest first (ties by name); ``"other"`` last when groups were left out.
    tracks : np.ndarray [shape=(groups,), dtype=int64]
    shares : np.ndarray [shape=(groups, 9)]
        Rows sum to 1.
    """

    by: str
    groups: tuple[str, ...]
    tracks: np.ndarray
    shares: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """The shares as :func:`mer.plots.library.group_figure` draws them: a row per group, a column per emotion
        and ``tracks``."""
        frame = pd.DataFrame(self.shares, index=pd.Index(self.groups, name=self.by), columns=list(EMOTIONS))
        return frame.assign(tracks=self.tracks)


@dataclass(frozen=True)
class LibraryMap:
    """The analysed tracks on two axes, counted on a grid: their learned valence (x) and arousal (y) where the
    batch has them, else the nine probabilities projected between fixed corners (:data:`MAP_ANCHORS`).

    Attributes
    ----------
    counts : np.ndarray [shape=(bins, bins), dtype=int64]
        Tracks per cell, ``counts[i, j]`` for x-bin ``i`` and y-bin ``j``.
    edges : np.ndarray [shape=(bins + 1,)]
        The cells' edges, the same on both axes.
    axes : {"valence_arousal", "emotions"}
        Which map this is (:data:`MAP_AXES`).
    left_out : int
        Analysed tracks not on the map: without valence and arousal (on the learned axes), or whose numbers are
        not finite.
    """

    counts: np.ndarray
    edges: np.ndarray
    axes: str = "emotions"
    left_out: int = 0

    def place(self, tracks: list[Track]) -> np.ndarray:
        """Where ``tracks`` lie on this map ``(k, 2)``: their valence and arousal, or their projected
        probabilities; NaN rows for a track that has no place on it."""
        if self.axes == "emotions":
            return self.project(np.array([t.probabilities for t in tracks])) if tracks else np.zeros((0, 2))
        return np.array([t.point or (np.nan, np.nan) for t in tracks], dtype=np.float64).reshape(-1, 2)

    @staticmethod
    def project(probabilities: np.ndarray) -> np.ndarray:
        """Map coordinates ``(n, 2)`` of probabilities ``(n, 9)``: the corners weighted by the probabilities."""
        p = np.asarray(probabilities, dtype=np.float64).reshape(-1, len(EMOTIONS))
        return (p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)) @ MAP_ANCHORS


@dataclass(frozen=True)
class LibrarySummary:
    """The whole batch in numbers: tracks, analysed, failed, the models, tracks per top emotion."""

    tracks: int
    analysed: int
    failed: int
    models: tuple[str, ...]
    counts: np.ndarray  # [shape=(9,)] analysed tracks per top emotion, in the order of EMOTIONS

    def counts_series(self) -> pd.Series:
        """The counts as :func:`mer.plots.library.library_figure` draws them."""
        return pd.Series(self.counts, index=list(EMOTIONS), name="tracks")
