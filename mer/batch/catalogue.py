"""A batch's tracks at catalogue scale: filters, sorting, pages, counts and summaries computed over a few
columns held once in memory (Arrow strings, numpy numbers), never the whole table in pandas.

:class:`Catalogue` opens a batch folder to read it (:mod:`mer.batch.tables` checks and reads the tables); the only
thing it ever writes there is the one-time upgrade of a batch written before this layer
(:func:`mer.batch.upgrade.upgrade_batch`). The Library page and ``python -m mer library ...`` ask it for one page of
rows (:class:`~mer.batch.query.TrackQuery` says which), a track's timeline (one row group of ``segments.parquet``),
the emotion counts, the top groups by folder or genre with the rest as "other", and a density map of the whole
library; :mod:`mer.batch.similar` and :mod:`mer.batch.journey` find similar tracks and journeys on it, by the side numbers
:mod:`mer.batch.profiles` reads.

Tracks are filtered and sorted by their learned valence and arousal too, and the map lies on those axes, where the
batch has them; where it has none (written before mer learned them, or by a model without the head),
:attr:`Catalogue.va_reason` says why.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..choices import TrackStatus
from ..emotions import EMOTIONS
from ..errors import BatchError
from ..progress import ProgressFn
from .profiles import read_shapes, read_sounds
from .query import (
    MAP_AXES,
    SORT_COLUMNS,
    GroupShares,
    LibraryMap,
    LibrarySummary,
    Timeline,
    Track,
    TrackPage,
    TrackQuery,
    check_emotion,
)
from .rows import VA_COLUMNS
from .tables import floats, open_tables, read_path_bytes, read_segments, read_va, segment_timeline, string_codes

__all__ = ["Catalogue"]



class Catalogue:
    """A batch folder's tracks, read once into a few columns, queried in place.

    Parameters
    ----------
    folder : path-like
        Holds ``tracks.parquet`` and ``segments.parquet`` written by ``python -m mer batch``.
    upgrade : bool
        Bring a batch written before the query layer (no ``profiles.parquet``, unsorted segments) to today's
        layout first, once (:func:`mer.batch.upgrade.upgrade_batch`). Where that cannot be done now (a run is
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
        self._tables = open_tables(self.path, upgrade, on_progress)
        self.notes: list[str] = list(self._tables.notes)
        self._load(self._tables.tracks)
        self._lock = threading.Lock()  # one reader of segments.parquet at a time (the page serves many visitors)
        self._shape: np.ndarray | None = None
        self._va_shape: np.ndarray | None = None
        self._sound: np.ndarray | bool | None = None  # False: the batch stores no sounds
        self._path_order: np.ndarray | None = None  # row numbers in path order (find), built on first use
        self._id_order: tuple[np.ndarray, np.ndarray] | None = None  # rows in track-id order, and the ids (row_of)

    def _load(self, table: pa.Table) -> None:
        self.size = table.num_rows
        self._text = {n: table.column(n) for n in ("path", "file", "error")}
        self.track_ids = table.column("track_id").to_numpy()
        self.probabilities = np.column_stack([floats(table, e) for e in EMOTIONS]) if self.size else \
            np.zeros((0, len(EMOTIONS)), np.float32)
        #: Rows whose nine probabilities are all finite numbers (not so only in a damaged or hand-made table).
        self.finite = np.isfinite(self.probabilities).all(axis=1)
        self.top_probability = floats(table, "top_probability")
        self.duration_s = floats(table, "duration_s", np.float64)
        codes, labels = string_codes(table.column("top_emotion"))
        lut = np.array([EMOTIONS.index(x) if x in EMOTIONS else -1 for x in labels] + [-1], dtype=np.int8)
        self.top = lut[codes]  # index into EMOTIONS, -1 for none (code -1 picks the appended -1)
        codes, labels = string_codes(table.column("status"))
        self.ok = codes == (labels.index(TrackStatus.OK) if TrackStatus.OK in labels else -2)
        self._groups = {by: string_codes(table.column(by)) for by in ("folder", "genre")}
        self._labels = {n: string_codes(table.column(n)) for n in ("status", "top_emotion", "model_name")}
        damaged = int((self.ok & ~self.finite).sum())
        if damaged:
            self.notes.append(f"{damaged:,} analysed track{'s' if damaged > 1 else ''} of this batch hold "
                              "probabilities that are not finite numbers (a damaged table): left out of similar "
                              "tracks and journeys.")
        va = read_va(table, self.ok, self._labels["model_name"])
        self.valence, self.arousal = va.valence, va.arousal
        #: Rows whose valence and arousal are both finite numbers.
        self.va_finite = va.finite
        self.va_reason: str | None = va.reason
        self.notes.extend(va.notes)

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
        raw = read_path_bytes(self.path, track_id)
        return raw if raw is not None else str(self._text["path"][row].as_py())

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
        with self._lock:
            t = read_segments(self.path, self._tables, track_id)
        return segment_timeline(t, self._tables.segment_va)

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
        arousal, then their trends (:data:`~mer.batch.rows.VA_SHAPE_COLUMNS`; NaN where a track has none), read
        with :meth:`shapes`."""
        if self._va_shape is None:
            self._read_profiles()
        return self._va_shape

    def _read_profiles(self) -> None:
        """:meth:`shapes` and :meth:`va_shapes`, once, in the order of the tracks table."""
        with self._lock:
            self._shape, self._va_shape = read_shapes(self.path, self.track_ids, self._tables.segment_va)

    def sounds(self) -> np.ndarray | None:
        """What each track sounds like to MusiCNN ``(n, 50)``: its tags' probabilities averaged over its segments
        (NaN rows for tracks without one), read once from ``tracks.parquet``; None for a batch that stores none
        (a log-mel model's, or one written before mer stored them)."""
        if self._sound is None:
            with self._lock:
                values = read_sounds(self.path, self.size)
            self._sound = False if values is None else values
        return None if self._sound is False else self._sound
