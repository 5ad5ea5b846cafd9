"""A batch's tracks at catalogue scale: filters, sorting, pages, counts and summaries computed over a few
columns held once in memory (Arrow strings, numpy numbers), never the whole table in pandas.

:class:`Catalogue` opens a batch folder to read it; the only thing it ever writes there is the one-time upgrade
of a batch written before this layer (:func:`mer.batch.store.upgrade_batch`). The Library page and
``python -m mer library ...`` ask it for one page of rows, a track's timeline (one row group of
``segments.parquet``), the emotion counts, the top groups by folder or genre with the rest as "other", and a
density map of the whole library; :mod:`mer.batch.navigate` finds similar tracks and journeys on it.

Tracks are filtered and sorted by their learned valence and arousal too, and the map lies on those axes, where the
batch has them; where it has none (written before mer learned them, or by a model without the head),
:attr:`Catalogue.va_reason` says why.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..choices import TrackStatus
from ..emotions import EMOTIONS
from ..errors import BatchError
from ..progress import ProgressFn
from .store import (
    PROFILE_SCHEMA,
    SEGMENT_SCHEMA,
    SOUND_SIZE,
    TRACK_SCHEMA,
    VA_COLUMNS,
    VA_SHAPE_COLUMNS,
    needs_upgrade,
    segment_ranges,
    timeline_shape,
    upgrade_batch,
)

__all__ = ["TrackQuery", "TrackPage", "Track", "Timeline", "GroupShares", "LibraryMap", "LibrarySummary", "Catalogue",
           "SORT_COLUMNS", "STATUSES", "MAP_ANCHORS", "MAP_AXES", "NO_VA_OLDER", "check_emotion"]

#: Columns a page of rows may be sorted by (numbers highest first by default, names A to Z).
SORT_COLUMNS = ("top_probability", *EMOTIONS, *VA_COLUMNS, "duration_s", "path", "file", "folder")
#: The ``status`` a query may keep: a :class:`TrackStatus`, or every track.
STATUSES = (*TrackStatus, "all")
_STRINGS = ("path", "file", "folder", "genre", "status", "error", "top_emotion", "model_name")
_DICTIONARY = ("folder", "genre", "status", "top_emotion", "model_name")
_NUMBERS = ("track_id", "top_probability", *EMOTIONS, "duration_s")
_SEGMENT_COLUMNS = ("track_id", "segment", "start_s", "end_s", *EMOTIONS)
#: Where each emotion sits on the library map: a nonagon with related emotions side by side (GEMS's
#: sublimity, vitality and unease); a track is drawn at the mean of the corners weighted by its probabilities.
_MAP_ORDER = ("amazement", "joyful_activation", "power", "tension", "sadness", "nostalgia", "solemnity",
              "calmness", "tenderness")
MAP_ANCHORS = np.array([[math.sin(2 * math.pi * _MAP_ORDER.index(e) / 9),
                         math.cos(2 * math.pi * _MAP_ORDER.index(e) / 9)] for e in EMOTIONS])
#: The library map's axes: the learned valence and arousal, or (a batch without them) the nine emotions' corners.
MAP_AXES = ("valence_arousal", "emotions")
#: Why a batch whose tables lack the ``valence`` and ``arousal`` columns has none.
NO_VA_OLDER = ("This batch has no valence or arousal: it was written before mer learned them (or by a model without "
               "the valence–arousal head). Analyse the library again, into a new folder, with a model that has the "
               "head (such as the default) to add them.")
_NO_VA_MODEL = ("This batch has no valence or arousal: the model that analysed it ({models}) has no valence–arousal "
                "head (it was trained before the head existed, or on the log-mel front-end). Analyse the library "
                "again, into a new folder, with a model that has the head (such as the default) to add them.")


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


def _unreadable(path: Path, e: Exception) -> BatchError:
    return BatchError(f"'{path}' is not a batch table mer can read ({type(e).__name__}: {str(e)[:200]}). Choose a "
                      "folder written by `python -m mer batch`, or run the batch again into a new folder.")


def _check_schema(path: Path, required: dict[str, pa.DataType],
                  remedy: str = "Choose a folder written by `python -m mer batch`.") -> pq.ParquetFile:
    """The Parquet file at ``path`` if it holds the ``required`` columns with those types."""
    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
    except (OSError, pa.ArrowException) as e:
        raise _unreadable(path, e) from None
    wrong = [n for n, t in required.items() if schema.get_field_index(n) < 0 or not schema.field(n).type.equals(t)]
    if wrong:
        shown = ", ".join(wrong[:6]) + (f" and {len(wrong) - 6} more" if len(wrong) > 6 else "")
        raise BatchError(f"'{path}' is not a table of mer's batches: it lacks the columns {shown} (or holds them "
                         f"with other types). {remedy}")
    return pf


def _va_columns(path: Path, schema: pa.Schema, reference: pa.Schema) -> tuple[str, ...]:
    """``("valence", "arousal")`` if the table at ``path`` holds them, ``()`` if it holds neither (written before mer
    learned them).

    Raises
    ------
    BatchError
        It holds one without the other, or holds them with another type than ``reference`` gives.
    """
    if not any(n in schema.names for n in VA_COLUMNS):
        return ()
    _check_schema(path, {n: reference.field(n).type for n in VA_COLUMNS})
    return VA_COLUMNS


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, tuple[str, ...]]:
    """A string column as integer codes (-1 for null) and the labels they stand for."""
    arr = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    codes = pc.fill_null(arr.indices.cast(pa.int32()), -1).to_numpy(zero_copy_only=False)
    return codes, tuple(arr.dictionary.to_pylist())


def _floats(table: pa.Table, name: str, dtype: type = np.float32) -> np.ndarray:
    """A numeric column as numpy, nulls as NaN."""
    return table.column(name).to_numpy().astype(dtype, copy=False)


class Catalogue:
    """A batch folder's tracks, read once into a few columns, queried in place.

    Parameters
    ----------
    folder : path-like
        Holds ``tracks.parquet`` and ``segments.parquet`` written by ``python -m mer batch``.
    upgrade : bool
        Bring a batch written before the query layer (no ``profiles.parquet``, unsorted segments) to today's
        layout first, once (:func:`mer.batch.store.upgrade_batch`). Where that cannot be done now (a run is
        writing the folder, it is read-only, the disk is full), the batch is read as it is, more slowly, and
        :attr:`notes` says why.
    on_progress : callable, optional
        ``on_progress(done, total, message)`` during an upgrade.

    Attributes
    ----------
    notes : list of str
        What a reader should know about this batch: an upgrade that could not be done; analysed tracks whose
        probabilities are not all finite numbers (a damaged table), left out of similar tracks and journeys;
        analysed tracks without valence and arousal, or whose values are not finite, in a batch that has them.
    va_reason : str or None
        Why the batch has no valence and arousal (None: it has them): written before mer learned them, or by a
        model without the head.

    Raises
    ------
    BatchError
        A table is missing, damaged, or not one of mer's (columns missing or of other types).
    """

    def __init__(self, folder: str | os.PathLike, *, upgrade: bool = True,
                 on_progress: ProgressFn | None = None) -> None:
        self.path = Path(folder)
        self.notes: list[str] = []
        files = [self.path / n for n in ("tracks.parquet", "segments.parquet")]
        for f in files:
            if not f.is_file():
                raise BatchError(f"'{self.path}' holds no batch results ({f.name} is missing). Name a folder "
                                 "written by `python -m mer batch ... --out FOLDER`.")
        tracks = _check_schema(files[0], {n: TRACK_SCHEMA.field(n).type for n in (*_STRINGS, *_NUMBERS)})
        va = _va_columns(files[0], tracks.schema_arrow, TRACK_SCHEMA)
        segments = {n: SEGMENT_SCHEMA.field(n).type for n in _SEGMENT_COLUMNS}
        _check_schema(files[1], segments)
        if upgrade and needs_upgrade(self.path):
            self._upgrade(on_progress)
        self._segments = _check_schema(files[1], segments)
        self._segment_va = _va_columns(files[1], self._segments.schema_arrow, SEGMENT_SCHEMA)
        try:
            table = pq.read_table(files[0], columns=[*_STRINGS, *_NUMBERS, *va], read_dictionary=list(_DICTIONARY))
            self._index = segment_ranges(self._segments)
        except (OSError, pa.ArrowException) as e:
            raise _unreadable(files[0], e) from None
        self._load(table)
        self._lock = threading.Lock()  # one reader of segments.parquet at a time (the page serves many visitors)
        self._shape: np.ndarray | None = None
        self._va_shape: np.ndarray | None = None
        self._sound: np.ndarray | bool | None = None  # False: the batch stores no sounds
        self._path_order: np.ndarray | None = None  # row numbers in path order (find), built on first use
        self._id_order: tuple[np.ndarray, np.ndarray] | None = None  # rows in track-id order, and the ids (row_of)

    def _upgrade(self, on_progress: ProgressFn | None) -> None:
        """:func:`~mer.batch.store.upgrade_batch`, its progress said as such; a note where it cannot be done."""
        report = None if on_progress is None else \
            (lambda done, total, what: on_progress(done, total, f"upgrading the batch to the current layout (once): "
                                                                f"{what}"))
        try:
            upgrade_batch(self.path, report)
        except Exception as e:  # noqa: BLE001  the upgrade only speeds reading up: whatever stops it, the old
            # tables are untouched (upgrade_batch renames nothing until both new ones are complete) and read as they are
            why = str(e) if isinstance(e, BatchError) else f"the upgrade stopped ({type(e).__name__}: {str(e)[:200]})."
            self.notes.append(f"This batch was written by an older mer and reads more slowly until it is upgraded "
                              f"(done when it is next opened): {why}")

    def _load(self, table: pa.Table) -> None:
        self.size = table.num_rows
        self._text = {n: table.column(n) for n in ("path", "file", "error")}
        self.track_ids = table.column("track_id").to_numpy()
        self.probabilities = np.column_stack([_floats(table, e) for e in EMOTIONS]) if self.size else \
            np.zeros((0, len(EMOTIONS)), np.float32)
        #: Rows whose nine probabilities are all finite numbers (not so only in a damaged or hand-made table).
        self.finite = np.isfinite(self.probabilities).all(axis=1)
        self.top_probability = _floats(table, "top_probability")
        self.duration_s = _floats(table, "duration_s", np.float64)
        codes, labels = _codes(table.column("top_emotion"))
        lut = np.array([EMOTIONS.index(x) if x in EMOTIONS else -1 for x in labels] + [-1], dtype=np.int8)
        self.top = lut[codes]  # index into EMOTIONS, -1 for none (code -1 picks the appended -1)
        codes, labels = _codes(table.column("status"))
        self.ok = codes == (labels.index(TrackStatus.OK) if TrackStatus.OK in labels else -2)
        self._groups = {by: _codes(table.column(by)) for by in ("folder", "genre")}
        self._labels = {n: _codes(table.column(n)) for n in ("status", "top_emotion", "model_name")}
        damaged = int((self.ok & ~self.finite).sum())
        if damaged:
            self.notes.append(f"{damaged:,} analysed track{'s' if damaged > 1 else ''} of this batch hold "
                              "probabilities that are not finite numbers (a damaged table): left out of similar "
                              "tracks and journeys.")
        self._load_va(table)

    def _load_va(self, table: pa.Table) -> None:
        """The learned valence and arousal (NaN where none), why the batch has none, and notes on the rows
        without them in a batch that has them."""
        stored = all(n in table.column_names for n in VA_COLUMNS)
        nan = np.full(self.size, np.nan, np.float32)
        self.valence, self.arousal = (_floats(table, n) if stored else nan for n in VA_COLUMNS)
        null = np.logical_or.reduce([table.column(n).is_null().to_numpy(zero_copy_only=False)
                                     for n in VA_COLUMNS]) if stored else np.ones(self.size, dtype=bool)
        #: Rows whose valence and arousal are both finite numbers.
        self.va_finite = np.isfinite(self.valence) & np.isfinite(self.arousal)
        self.va_reason: str | None = None
        if not self.ok.any():
            self.va_reason = "No track of this batch was analysed, so it has no valence or arousal."
        elif not stored:
            self.va_reason = NO_VA_OLDER
        elif not (self.ok & ~null).any():
            codes, labels = self._labels["model_name"]
            models = ", ".join(f"'{labels[c]}'" for c in np.unique(codes[self.ok]) if c >= 0) or "unnamed"
            self.va_reason = _NO_VA_MODEL.format(models=models)
        if self.va_reason is not None:
            return
        missing, damaged = int((self.ok & null).sum()), int((self.ok & ~null & ~self.va_finite).sum())
        rest = "left out of the valence–arousal filters, the map and journeys across the plane, and sorted last"
        if missing:
            self.notes.append(f"{missing:,} analysed track{'s' if missing > 1 else ''} of this batch have no valence "
                              f"or arousal (analysed by a model without the valence–arousal head, or before mer "
                              f"learned them): {rest}.")
        if damaged:
            self.notes.append(f"{damaged:,} analysed track{'s' if damaged > 1 else ''} of this batch hold valence or "
                              f"arousal that are not finite numbers (a damaged table): {rest}.")

    @property
    def has_va(self) -> bool:
        """Whether the batch has learned valence and arousal (see :attr:`va_reason` when not)."""
        return self.va_reason is None

    @property
    def va_usable(self) -> np.ndarray:
        """Rows journeys across the valence–arousal plane may use: :attr:`usable`, with finite valence and arousal."""
        return self.usable & self.va_finite

    def sort_columns(self) -> tuple[str, ...]:
        """The columns this batch's rows may be sorted by: :data:`SORT_COLUMNS`, less valence and arousal where
        the batch has none."""
        return SORT_COLUMNS if self.has_va else tuple(c for c in SORT_COLUMNS if c not in VA_COLUMNS)

    def require_va(self, what: str) -> None:
        """Raise :class:`BatchError` ("Cannot ``what``.", then :attr:`va_reason`) where the batch has no valence
        and arousal."""
        if not self.has_va:
            raise BatchError(f"Cannot {what}. {self.va_reason}")

    @property
    def usable(self) -> np.ndarray:
        """Rows similar tracks and journeys may use: analysed, with nine finite probabilities."""
        return self.ok & self.finite

    # --- filters, sorting, pages ------------------------------------------------------------------------

    def select(self, query: TrackQuery) -> np.ndarray:
        """Row numbers of the tracks ``query`` keeps, in table order."""
        keep = np.ones(self.size, dtype=bool)
        if query.status != "all":
            keep &= self.ok if query.status == TrackStatus.OK else ~self.ok
        if query.emotions is not None and query.status != TrackStatus.ERROR:
            keep &= np.isin(self.top, [EMOTIONS.index(e) for e in query.emotions])
        if query.min_probability > 0:
            tp = self.top_probability
            keep &= np.where(np.isfinite(tp), tp, 0.0) >= query.min_probability
        if query.text and keep.any():
            found = pc.match_substring(self._text["path"], query.text, ignore_case=True)
            keep &= pc.fill_null(found, False).to_numpy(zero_copy_only=False)
        for name, (lo, hi) in query.va_bounds.items():
            self.require_va(f"filter by {name}")
            values = getattr(self, name)
            keep &= (values >= lo) & (values <= hi)  # NaN (none stored) is neither
        return np.flatnonzero(keep)

    def _column(self, name: str) -> np.ndarray | pa.ChunkedArray:
        if name in EMOTIONS:
            return self.probabilities[:, EMOTIONS.index(name)]
        if name in ("top_probability", "duration_s", *VA_COLUMNS):
            return getattr(self, name)
        if name == "folder":
            codes, labels = self._groups["folder"]
            return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), pa.array(labels, pa.string()))
        return self._text[name]

    def order(self, rows: np.ndarray, sort_by: str = "top_probability", descending: bool | None = None) -> np.ndarray:
        """``rows`` sorted by ``sort_by`` (stable, empty values last); numbers highest first and names A to Z
        unless ``descending`` says otherwise.

        Raises
        ------
        BatchError
            ``sort_by`` is not one of :data:`SORT_COLUMNS`; valence or arousal in a batch without them.
        """
        if sort_by in EMOTIONS or sort_by.replace(" ", "_") in EMOTIONS:
            sort_by = check_emotion(sort_by)
        if sort_by not in SORT_COLUMNS:
            raise BatchError(f"Cannot sort by '{sort_by}'. Choose one of: {', '.join(SORT_COLUMNS)}.")
        if sort_by in VA_COLUMNS:
            self.require_va(f"sort by {sort_by}")
        column = self._column(sort_by)
        if isinstance(column, np.ndarray):
            key = column[rows].astype(np.float64)
            key = -key if descending is None or descending else key
            return rows[np.argsort(np.where(np.isfinite(key), key, np.inf), kind="stable")]  # not finite: empty
        values = column.take(pa.array(rows)) if len(rows) else column.slice(0, 0)
        if pa.types.is_dictionary(values.type):
            values = values.cast(pa.string())
        how = "descending" if descending else "ascending"
        return rows[pc.array_sort_indices(values, order=how, null_placement="at_end").to_numpy()] if len(rows) else rows

    def file_path(self, track_id: int) -> str:
        """A track's path as the file system names it: its ``path_bytes`` (exact for a name that is not UTF-8),
        read for this one track, or its ``path`` in a table an older mer wrote without them.

        Raises
        ------
        BatchError
            The track is not in this batch.
        """
        row = self.row_of(track_id)
        tracks = pq.ParquetFile(self.path / "tracks.parquet")
        if "path_bytes" in tracks.schema_arrow.names:
            table = pq.read_table(self.path / "tracks.parquet", columns=["path_bytes"],
                                  filters=[("track_id", "==", np.uint64(track_id))])
            raw = table.column("path_bytes")[0].as_py() if table.num_rows else None
            if isinstance(raw, bytes):
                return os.fsdecode(raw)
        return str(self._text["path"][row].as_py())

    def rows(self, rows: np.ndarray) -> pd.DataFrame:
        """The table's columns of these rows, in this order (a page: a few hundred rows, not the library)."""
        take = pa.array(np.asarray(rows, dtype=np.int64))
        cols: dict[str, object] = {"track_id": self.track_ids[rows]}
        for n in ("file", "path", "error"):
            cols[n] = self._text[n].take(take).to_pylist()
        for n, (codes, labels) in {**self._groups, **self._labels}.items():
            lut = np.array([*labels, None], dtype=object)
            cols[n] = lut[codes[rows]]
        cols["top_probability"] = self.top_probability[rows]
        cols |= {e: self.probabilities[rows, j] for j, e in enumerate(EMOTIONS)}
        cols |= {n: getattr(self, n)[rows] for n in VA_COLUMNS}
        cols["duration_s"] = self.duration_s[rows]
        return pd.DataFrame(cols)

    def page(self, query: TrackQuery, *, sort_by: str = "top_probability", descending: bool | None = None,
             offset: int = 0, limit: int = 100) -> TrackPage:
        """One page of the tracks ``query`` keeps, sorted by ``sort_by`` (see :meth:`order`).

        Raises
        ------
        BatchError
            ``limit`` below 1 or ``offset`` below 0; a column that cannot sort.
        """
        if limit < 1 or offset < 0:
            raise BatchError(f"A page needs a limit of at least 1 and an offset of at least 0 (got {limit}, {offset}).")
        ordered = self.order(self.select(query), sort_by, descending)
        return TrackPage(total=len(ordered), offset=offset, rows=self.rows(ordered[offset: offset + limit]))

    # --- one track ----------------------------------------------------------------------------------------

    def find(self, path: str) -> int:
        """The row of the track at ``path`` (as stored, or made absolute): a binary search of the paths sorted
        once (the last row where two share a path).

        Raises
        ------
        BatchError
            No track of the batch has that path.
        """
        if self._path_order is None:  # once per catalogue: n row numbers, no copy of the strings
            self._path_order = pc.array_sort_indices(self._text["path"], null_placement="at_end").to_numpy()
        paths, order = self._text["path"], self._path_order
        named = len(order) - paths.null_count
        for candidate in dict.fromkeys((path, os.path.abspath(path))):
            end = bisect.bisect_right(range(named), candidate, key=lambda i: paths[int(order[i])].as_py())
            if end and paths[int(order[end - 1])].as_py() == candidate:
                return int(order[end - 1])  # a stable sort: the last of equal paths is the last row
        raise BatchError(f"'{path}' is not a track of the batch in '{self.path}'. Give the path as the batch stored "
                         "it (`python -m mer library query BATCH --text NAME` finds it).")

    def row_of(self, track_id: int) -> int:
        """The row of the track ``track_id``: a binary search of the ids sorted once.

        Raises
        ------
        BatchError
            The track is not in this batch.
        """
        if self._id_order is None:
            order = np.argsort(self.track_ids, kind="stable")
            self._id_order = (order, self.track_ids[order])
        order, ids = self._id_order
        at = int(np.searchsorted(ids, np.uint64(track_id)))  # the first row of that id
        if at == len(ids) or ids[at] != np.uint64(track_id):
            raise BatchError(f"Track {track_id} is not in the batch '{self.path}'. Pick a track the page or "
                             "`python -m mer library query BATCH` lists.")
        return int(order[at])

    def track(self, row: int) -> Track:
        """The track at ``row``."""
        top = int(self.top[row])
        p = float(self.top_probability[row])
        va = self.va_finite[row]
        return Track(path=self._text["path"][row].as_py(), top_emotion=EMOTIONS[top] if top >= 0 else None,
                     top_probability=None if math.isnan(p) else p,
                     probabilities=tuple(float(x) for x in self.probabilities[row]),
                     duration_s=None if math.isnan(self.duration_s[row]) else float(self.duration_s[row]),
                     status=TrackStatus.OK if self.ok[row] else TrackStatus.ERROR,
                     valence=float(self.valence[row]) if va else None, arousal=float(self.arousal[row]) if va else None)

    def timeline(self, track_id: int) -> Timeline:
        """A track's segments in order: one row group of ``segments.parquet`` (its range of track ids), or a
        filtered scan of the table for a batch written before segments were sorted."""
        tid = pa.scalar(int(track_id), pa.uint64())
        cols = [*_SEGMENT_COLUMNS, *self._segment_va]
        with self._lock:
            if self._index is None:
                t = pq.read_table(self.path / "segments.parquet", columns=cols, filters=pc.field("track_id") == tid)
            else:
                lo, hi = self._index
                g = int(np.searchsorted(lo, np.uint64(track_id), side="right")) - 1
                t = self._segments.read_row_group(g, columns=cols) if g >= 0 and np.uint64(track_id) <= hi[g] \
                    else self._segments.schema_arrow.empty_table().select(cols)
                t = t.filter(pc.equal(t.column("track_id"), tid))
        t = t.sort_by("segment")
        probs = np.column_stack([t.column(e).to_numpy() for e in EMOTIONS]) if t.num_rows else \
            np.zeros((0, len(EMOTIONS)), np.float32)
        va = [_floats(t, n) if n in self._segment_va else np.full(t.num_rows, np.nan, np.float32) for n in VA_COLUMNS]
        return Timeline(probabilities=probs, start_s=t.column("start_s").to_numpy(), end_s=t.column("end_s").to_numpy(),
                        valence=va[0], arousal=va[1])

    # --- the whole library ------------------------------------------------------------------------------

    def summary(self) -> LibrarySummary:
        """Tracks, analysed, failed, the models that analysed them, and tracks per top emotion."""
        analysed = int(self.ok.sum())
        codes, labels = self._labels["model_name"]
        models = tuple(sorted(labels[c] for c in np.unique(codes) if c >= 0))
        counts = np.bincount(self.top[self.ok & (self.top >= 0)], minlength=len(EMOTIONS)).astype(np.int64)
        return LibrarySummary(tracks=self.size, analysed=analysed, failed=self.size - analysed, models=models,
                              counts=counts)

    def has_groups(self, by: str) -> bool:
        """Whether any analysed track has a ``by`` (``folder`` or ``genre``)."""
        return bool(np.any(self._groups[by][0][self.ok] >= 0))

    def group_shares(self, by: str, top: int | None = 12) -> GroupShares:
        """Each ``by`` group's share of analysed tracks per top emotion: the ``top`` largest groups (ties by
        name), then the rest summed as ``"other (N folders)"``; ``top=None`` keeps every group.

        Raises
        ------
        BatchError
            ``by`` is not ``folder`` or ``genre``.
        """
        if by not in self._groups:
            raise BatchError(f"Cannot group by '{by}'. Choose folder or genre.")
        codes, labels = self._groups[by]
        keep = self.ok & (codes >= 0) & (self.top >= 0)
        table = np.bincount(codes[keep].astype(np.int64) * len(EMOTIONS) + self.top[keep],
                            minlength=len(labels) * len(EMOTIONS)).reshape(len(labels), len(EMOTIONS))
        tracks = table.sum(axis=1)
        present = [g for g in sorted(range(len(labels)), key=lambda g: (-tracks[g], labels[g])) if tracks[g] > 0]
        shown, rest = (present, []) if top is None else (present[:top], present[top:])
        names = [labels[g] for g in shown]
        rows = [table[g] for g in shown]
        if rest:
            names.append(f"other ({len(rest):,} {by}s)")
            rows.append(table[rest].sum(axis=0))
        counts = np.array(rows, dtype=np.int64).reshape(-1, len(EMOTIONS))
        totals = counts.sum(axis=1)
        return GroupShares(by=by, groups=tuple(names), tracks=totals, shares=counts / np.maximum(totals, 1)[:, None])

    def library_map(self, bins: int = 80) -> LibraryMap:
        """Every analysed track on the map, counted in ``bins`` × ``bins`` cells: at its learned valence and
        arousal where the batch has them, else between the nine emotions' corners (:data:`MAP_ANCHORS`).
        Tracks without a place (no valence and arousal, or numbers that are not finite) are counted as left out."""
        if self.has_va:
            keep = self.ok & self.va_finite
            xy = np.column_stack([self.valence[keep], self.arousal[keep]])
        else:
            keep = self.usable
            xy = LibraryMap.project(self.probabilities[keep])
        edges = np.linspace(-1.0, 1.0, bins + 1)
        counts, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=[edges, edges])
        return LibraryMap(counts=counts.astype(np.int64), edges=edges, axes=MAP_AXES[0 if self.has_va else 1],
                          left_out=int((self.ok & ~keep).sum()))

    def shapes(self) -> np.ndarray:
        """Each track's timeline shape ``(n, 18)``: the spread then the trend of each emotion (NaN where a track
        has no segments), from ``profiles.parquet``, or computed from the segments for an older batch."""
        if self._shape is None:
            self._read_profiles()
        return self._shape

    def va_shapes(self) -> np.ndarray:
        """The shape of each track's path on the valence–arousal plane ``(n, 4)``: the spread of valence and of
        arousal, then their trends (:data:`~mer.batch.store.VA_SHAPE_COLUMNS`; NaN where a track has none), read
        with :meth:`shapes`."""
        if self._va_shape is None:
            self._read_profiles()
        return self._va_shape

    def _read_profiles(self) -> None:
        """:meth:`shapes` and :meth:`va_shapes`, once, in the order of the tracks table."""
        names = [f.name for f in PROFILE_SCHEMA if f.name != "track_id" and f.name not in VA_SHAPE_COLUMNS]
        path = self.path / "profiles.parquet"
        try:
            with self._lock:
                if path.is_file():
                    pf = _check_schema(path, {n: PROFILE_SCHEMA.field(n).type for n in ["track_id", *names]},
                                       _PROFILES_REMEDY)
                    stored = [n for n in VA_SHAPE_COLUMNS if n in pf.schema_arrow.names]  # none before valence
                    _check_schema(path, {n: PROFILE_SCHEMA.field(n).type for n in stored}, _PROFILES_REMEDY)
                    t = pf.read(columns=["track_id", *names, *stored])
                else:
                    cols = [*_SEGMENT_COLUMNS, *self._segment_va]
                    seg = pq.read_table(self.path / "segments.parquet", columns=cols)
                    seg = seg.sort_by([("track_id", "ascending"), ("segment", "ascending")])
                    probs, va = (np.column_stack([seg.column(c).to_numpy() for c in group]) if seg.num_rows and group
                                 else np.full((seg.num_rows, len(full)), np.nan, np.float32)
                                 for group, full in ((EMOTIONS, EMOTIONS), (self._segment_va, VA_COLUMNS)))
                    t = timeline_shape(seg.column("track_id").to_numpy(), probs, va)
        except (OSError, pa.ArrowException) as e:
            raise _unreadable(path, e) from None
        names += VA_SHAPE_COLUMNS
        ids = t.column("track_id").to_numpy()
        values = np.column_stack([_floats(t, n) if n in t.column_names else np.full(t.num_rows, np.nan, np.float32)
                                  for n in names]) if t.num_rows else np.zeros((0, len(names)), np.float32)
        if not np.all(ids[1:] > ids[:-1]):  # written sorted by id: no copy to sort them
            order = np.argsort(ids)
            ids, values = ids[order], values[order]
        mine = np.argsort(self.track_ids)  # looked up in id order: a merge, not a million random searches
        pos = np.clip(np.searchsorted(ids, self.track_ids[mine]), 0, max(len(ids) - 1, 0))
        found = (ids[pos] == self.track_ids[mine]) if len(ids) else np.zeros(self.size, dtype=bool)
        shape = np.full((self.size, len(names)), np.nan, dtype=np.float32)
        if len(ids):
            shape[mine[found]] = values[pos[found]]
        k = len(names) - len(VA_SHAPE_COLUMNS)
        self._shape, self._va_shape = shape[:, :k], shape[:, k:]

    def sounds(self) -> np.ndarray | None:
        """What each track sounds like to MusiCNN ``(n, 50)``: its tags' probabilities averaged over its segments
        (NaN rows for tracks without one), read once from ``tracks.parquet``; None for a batch that stores none
        (a log-mel model's, or one written before mer stored them)."""
        if self._sound is None:
            path = self.path / "tracks.parquet"
            try:
                with self._lock:
                    if "sound" not in pq.ParquetFile(path).schema_arrow.names:
                        self._sound = False
                        return None
                    column = pq.read_table(path, columns=["sound"]).column("sound")
            except (OSError, pa.ArrowException) as e:
                raise _unreadable(path, e) from None
            values = np.full((self.size, SOUND_SIZE), np.nan, dtype=np.float32)
            valid = ~column.is_null().to_numpy(zero_copy_only=False)
            if valid.any():
                lists = column.filter(pa.array(valid))
                _check_sounds(path, lists)
                flat = pc.list_flatten(lists).to_numpy(zero_copy_only=False)
                values[valid] = flat.reshape(-1, SOUND_SIZE)
            self._sound = values if valid.any() else False
        return None if self._sound is False else self._sound


_PROFILES_REMEDY = ("Delete that file: the next time the batch is opened it is written again from the segments "
                    "(or run the batch again into a new folder).")


def _check_sounds(path: Path, lists: pa.ChunkedArray) -> None:
    """Raise unless every one of ``lists`` (no nulls) holds :data:`SOUND_SIZE` numbers."""
    kind = lists.type
    numbers = (pa.types.is_fixed_size_list(kind) or pa.types.is_list(kind) or pa.types.is_large_list(kind)) and \
        (pa.types.is_floating(kind.value_type) or pa.types.is_integer(kind.value_type))
    if numbers:
        lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
        numbers = bool(np.all(lengths == SOUND_SIZE))
    if not numbers:
        raise BatchError(f"'{path}' holds sounds that are not {SOUND_SIZE} numbers each ({kind}): the table is "
                         "damaged. Ask for similar tracks by emotion, or run the batch again into a new folder.")
