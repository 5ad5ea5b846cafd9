"""A batch's tracks as pandas frames, for a small batch: the tables read whole, the page's filters, shares and
counts, and the Library page's table view and CSV download of some rows. The reading and filters are kept as the
reference the catalogue-scale queries of :mod:`mer.batch.catalogue` (what the page uses) are tested against.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..choices import TrackStatus
from ..emotions import EMOTIONS, emotion_label
from ..text import csv_text

__all__ = ["TABLE_COLUMNS", "load_tracks", "track_segments", "filter_tracks", "file_path", "tracks_csv",
           "table_columns", "table_view", "emotion_counts", "group_shares"]

#: Columns of the Library page's table, in order (valence and arousal only for a batch that has them).
TABLE_COLUMNS = ["file", "folder", "genre", "top_emotion", "top_probability", "valence", "arousal", *EMOTIONS,
                 "duration_s", "status", "error", "path"]


def load_tracks(path: Path) -> pd.DataFrame:
    """The tracks table of a batch folder."""
    return pq.read_table(Path(path) / "tracks.parquet").to_pandas()


def track_segments(path: Path, track_id: int) -> pd.DataFrame:
    """One track's segment rows, in order (read with a filter: the rest of the table stays on disk)."""
    t = pq.read_table(Path(path) / "segments.parquet", filters=[("track_id", "==", np.uint64(track_id))])
    return t.to_pandas().sort_values("segment", ignore_index=True)


def filter_tracks(tracks: pd.DataFrame, *, emotions: Sequence[str] | None = None, min_probability: float = 0.0,
                  status: str = TrackStatus.OK, text: str = "", sort_by: str = "top_probability",
                  valence_min: float | None = None, valence_max: float | None = None,
                  arousal_min: float | None = None, arousal_max: float | None = None) -> pd.DataFrame:
    """The rows the page's filters keep, sorted by ``sort_by`` (an emotion, ``top_probability``, ``valence`` or
    ``arousal``), highest first.

    ``emotions`` keeps tracks whose top emotion is one of them; ``min_probability`` applies to the top emotion's
    probability; ``status`` is ``"ok"``, ``"error"`` or ``"all"``; ``text`` must occur in the path (any case);
    ``valence_min`` ... ``arousal_max`` bound the learned valence and arousal (a track without them is left out).
    """
    keep = pd.Series(True, index=tracks.index)
    if status != "all":
        keep &= tracks["status"] == status
    if emotions is not None and status != TrackStatus.ERROR:
        keep &= tracks["top_emotion"].isin(list(emotions))
    if min_probability > 0:
        keep &= tracks["top_probability"].fillna(0) >= min_probability
    if text:
        keep &= tracks["path"].str.contains(text, case=False, regex=False)
    for column, low, high in (("valence", valence_min, valence_max), ("arousal", arousal_min, arousal_max)):
        if low is not None or high is not None:
            keep &= tracks[column].between(-1.0 if low is None else low, 1.0 if high is None else high)
    return tracks[keep].sort_values(sort_by, ascending=False, na_position="last", kind="stable")


def file_path(row: Any) -> str:
    """The file system's path of a track row (``path_bytes``, exact for a name that is not UTF-8), or its
    ``path`` in a table an older mer wrote without it."""
    raw = row.get("path_bytes") if hasattr(row, "get") else None
    return os.fsdecode(raw) if isinstance(raw, bytes) else str(row["path"])


def tracks_csv(tracks: pd.DataFrame) -> str:
    """The Library page's CSV download of some track rows: text cells neutralised for spreadsheets, each kept in
    its cell (:func:`mer.text.csv_text`), without ``path_bytes`` (``path`` shows it)."""
    return csv_text(tracks.drop(columns=["path_bytes"], errors="ignore"))


def table_columns(va: bool) -> list[str]:
    """:data:`TABLE_COLUMNS`, without valence and arousal for a batch that has none (``va`` False)."""
    return TABLE_COLUMNS if va else [c for c in TABLE_COLUMNS if c not in ("valence", "arousal")]


def table_view(tracks: pd.DataFrame, va: bool = True) -> pd.DataFrame:
    """The Library page's table of some track rows, as a reader sees it: :func:`table_columns` (``va``: whether
    the batch has valence and arousal), the top emotion by its readable label (``joyful activation``), every
    probability a fraction in [0, 1], and a missing text (no genre tag, no error) an empty cell rather than
    ``None``. The downloads keep the stored values."""
    view = tracks[table_columns(va)].copy()
    view["top_emotion"] = [emotion_label(e) if isinstance(e, str) else "" for e in view["top_emotion"]]
    for column in ("file", "folder", "genre", "status", "error", "path"):
        view[column] = [v if isinstance(v, str) else "" for v in view[column]]
    return view


def emotion_counts(tracks: pd.DataFrame) -> pd.Series:
    """Tracks per top emotion (analysed tracks only), in Emotify's order."""
    ok = tracks[tracks["status"] == TrackStatus.OK]
    return ok["top_emotion"].value_counts().reindex(list(EMOTIONS), fill_value=0)


def group_shares(tracks: pd.DataFrame, by: str) -> pd.DataFrame:
    """Share of each top emotion within each group (``folder`` or ``genre``); rows sum to 1, plus a count column."""
    ok = tracks[(tracks["status"] == TrackStatus.OK) & tracks[by].notna()]
    table = pd.crosstab(ok[by], ok["top_emotion"]).reindex(columns=list(EMOTIONS), fill_value=0)
    shares = table.div(table.sum(axis=1), axis=0)
    shares["tracks"] = table.sum(axis=1)
    return shares
