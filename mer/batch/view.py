"""What the Library page shows of a batch, answered by mer so that the page only lays it out.

One :func:`select_tracks` per rerun filters and sorts the catalogue once; its :class:`Selection` gives the count,
the number of pages, each page's rows and the download, all from that one selection. Rows are addressed by their
track id (:meth:`~mer.batch.catalogue.Catalogue.row_of`, a binary search), never found again by their path.
:func:`picked` is the track the page shows in detail, :func:`map_points` where tracks lie on the library map,
:func:`similar_rows` and :func:`journey_rows` the rows of the tables of similar tracks and of a journey.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..emotions import emotion_label
from ..errors import BatchError
from .catalogue import Catalogue
from .frames import table_columns, table_view, tracks_csv
from .journey import Journey
from .query import LibraryMap, Timeline, Track, TrackQuery
from .similar import Neighbour

__all__ = ["PAGE_ROWS", "DOWNLOAD_ROWS", "MOST_STEPS", "TablePage", "Selection", "select_tracks", "Picked",
           "picked", "MapPoints", "map_points", "StepRange", "step_range", "similar_rows", "journey_rows", "file_name",
           "common_folder"]

#: Rows sent to the browser at a time.
PAGE_ROWS = 100
#: The filtered table is offered as a download up to this many rows.
DOWNLOAD_ROWS = 50_000
#: The most steps a journey on the page may have.
MOST_STEPS = 30


def file_name(path: str) -> str:
    """The last part of a stored path (``/music/a/b.mp3`` → ``b.mp3``)."""
    return path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class TablePage:
    """One page of the table, as the page shows it.

    Attributes
    ----------
    number : int
        1-based, within ``1..pages`` of its selection.
    offset : int
        Position of the first row in the sorted selection.
    table : pd.DataFrame
        The rows as a reader sees them (:func:`~mer.batch.frames.table_view`), in order.
    ids : tuple of int
        The track id of each row of ``table``.
    analysed : tuple of int
        The ids of the page's analysed tracks, in order: the tracks the page may show in detail.
    names : dict of int to str
        Each row's file name, by track id.
    """

    number: int
    offset: int
    table: pd.DataFrame
    ids: tuple[int, ...]
    analysed: tuple[int, ...]
    names: dict[int, str]

    def name(self, track_id: int) -> str:
        """The file name of the page's track ``track_id``."""
        return self.names[track_id]


@dataclass(frozen=True)
class Selection:
    """The tracks a query keeps, filtered and sorted once: the count, the pages and the download all read it.

    Attributes
    ----------
    catalogue : Catalogue
    rows : np.ndarray [dtype=int64]
        The catalogue's rows the query keeps, in the chosen order.
    page_size : int
    download_rows : int
        The most rows offered as a download.
    """

    catalogue: Catalogue
    rows: np.ndarray
    page_size: int = PAGE_ROWS
    download_rows: int = DOWNLOAD_ROWS

    @property
    def total(self) -> int:
        """Tracks the query keeps (every page)."""
        return len(self.rows)

    @property
    def pages(self) -> int:
        """Pages of :attr:`page_size` rows: at least one (an empty selection has one empty page)."""
        return max(1, -(-self.total // self.page_size))

    @property
    def downloadable(self) -> bool:
        """Whether the selection is small enough to be offered as a download (:attr:`download_rows`)."""
        return self.total <= self.download_rows

    def page(self, number: int) -> TablePage:
        """Page ``number`` (1-based; a number past either end gives the first or the last page)."""
        number = min(max(int(number), 1), self.pages)
        offset = (number - 1) * self.page_size
        rows = self.catalogue.rows(self.rows[offset: offset + self.page_size])
        ids = tuple(int(i) for i in rows["track_id"])
        names = dict(zip(ids, (str(f) for f in rows["file"])))
        analysed = tuple(i for i, status in zip(ids, rows["status"]) if status == "ok")
        return TablePage(number=number, offset=offset, table=table_view(rows, va=self.catalogue.has_va), ids=ids,
                         analysed=analysed, names=names)

    def table(self) -> pd.DataFrame:
        """The whole selection with the download's columns (stored values, not the page's labels).

        Raises
        ------
        BatchError
            The selection holds more than :attr:`download_rows` rows.
        """
        if not self.downloadable:
            raise BatchError(f"The selection holds {self.total:,} tracks, more than the {self.download_rows:,} a "
                             "download may hold. Narrow the filters, or use `python -m mer library query BATCH`.")
        return self.catalogue.rows(self.rows)[table_columns(self.catalogue.has_va)]

    def csv(self) -> str:
        """:meth:`table` as CSV (:func:`~mer.batch.frames.tracks_csv`: formulas neutralised)."""
        return tracks_csv(self.table())

    def parquet(self) -> bytes:
        """:meth:`table` as a Parquet file's bytes."""
        return self.table().to_parquet(index=False)


def select_tracks(cat: Catalogue, query: TrackQuery, *, sort_by: str = "top_probability",
                  descending: bool | None = None, page_size: int = PAGE_ROWS,
                  download_rows: int = DOWNLOAD_ROWS) -> Selection:
    """The tracks ``query`` keeps, sorted by ``sort_by`` (:meth:`~mer.batch.catalogue.Catalogue.order`), once.

    Raises
    ------
    BatchError
        ``page_size`` below 1; a column that cannot sort; a valence or arousal bound in a batch without them.
    """
    if page_size < 1:
        raise BatchError(f"A page needs at least one row (got {page_size}).")
    return Selection(catalogue=cat, rows=cat.order(cat.select(query), sort_by, descending), page_size=page_size,
                     download_rows=download_rows)


@dataclass(frozen=True)
class Picked:
    """The track the page shows in detail: its row, its segments, and its path as the file system names it."""

    track_id: int
    track: Track
    timeline: Timeline
    file_path: str


def picked(cat: Catalogue, track_id: int) -> Picked:
    """The track ``track_id`` of ``cat`` with its timeline and its file's path.

    Raises
    ------
    BatchError
        The track is not in the batch.
    """
    return Picked(track_id=int(track_id), track=cat.track(cat.row_of(track_id)), timeline=cat.timeline(track_id),
                  file_path=cat.file_path(track_id))


@dataclass(frozen=True)
class MapPoints:
    """Where some tracks lie on a library map ``(k, 2)`` (NaN rows for one without a place), and their file
    names."""

    points: np.ndarray
    labels: list[str]


def map_points(lmap: LibraryMap, tracks: Sequence[Track]) -> MapPoints:
    """Where ``tracks`` (a journey's, or the one track shown) lie on ``lmap``."""
    return MapPoints(points=lmap.place(list(tracks)), labels=[file_name(t.path) for t in tracks])


@dataclass(frozen=True)
class StepRange:
    """How many steps a journey may take (``most``) and the number offered first (``default``); two at least."""

    most: int
    default: int


def step_range(cat: Catalogue, plane: bool = False, default: int = 8) -> StepRange:
    """The steps a journey may take: at most :data:`MOST_STEPS`, never more than the tracks it may use (the
    analysed tracks, or across the plane those with valence and arousal), two at least."""
    tracks = int((cat.va_usable if plane else cat.ok).sum())
    return StepRange(most=max(2, min(MOST_STEPS, tracks)), default=min(default, max(2, tracks)))


def similar_rows(near: Sequence[Neighbour], by_sound: bool) -> list[dict]:
    """The table of similar tracks: file, distance, the emotions (and, by sound, the tags) they share, the top
    emotion and the path."""
    return [{"file": file_name(n.track.path), "distance": round(n.distance, 3),
             "shared emotions": ", ".join(emotion_label(e) for e in n.shared),
             **({"shared tags": ", ".join(n.shared_tags)} if by_sound else {}),
             "top emotion": emotion_label(n.track.top_emotion or ""), "path": n.track.path} for n in near]


def journey_rows(trip: Journey, va: bool) -> list[dict]:
    """The table of a journey: each step's number, file, top emotion, (``va``) learned valence and arousal,
    change from the step before, and path."""
    return [{"step": i + 1, "file": file_name(s.track.path), "top emotion": emotion_label(s.track.top_emotion or ""),
             **({"valence": s.track.valence, "arousal": s.track.arousal} if va else {}),
             "change": round(s.change, 3), "path": s.track.path} for i, s in enumerate(trip.steps)]


def common_folder(tracks: Sequence[Track]) -> str:
    """The folder every track lies under, where all their paths are absolute; "" otherwise (a playlist's paths
    are made relative to it by default)."""
    paths = [t.path for t in tracks]
    return os.path.commonpath(paths) if paths and all(os.path.isabs(p) for p in paths) else ""
