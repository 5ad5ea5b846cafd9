"""A finished batch as the Library page shows it: which batches exist, the tracks, filters, summaries (the
figures are :func:`mer.plots.library_figure` and :func:`mer.plots.group_figure`).

No streamlit here; the page lays these out.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..audio import SUPPORTED_EXTENSIONS
from ..config import EMOTIONS, data_dir
from ..files import is_under

__all__ = ["BatchInfo", "list_batches", "allowed_roots", "playable_path", "load_tracks", "track_segments", "filter_tracks", "group_shares",
           "emotion_counts", "TABLE_COLUMNS"]

#: Columns of the Library page's table, in order.
TABLE_COLUMNS = ["file", "folder", "genre", "top_emotion", "top_probability", *EMOTIONS, "duration_s", "status",
                 "error", "path"]
_MAX_DEPTH = 3


@dataclass(frozen=True)
class BatchInfo:
    """A batch result folder under the data folder."""

    name: str  # path relative to the data folder
    path: Path
    tracks: int
    finished: str

    def __str__(self) -> str:
        when = f", {self.finished.replace('T', ' ')[:16]}" if self.finished else ""
        return f"{self.name} ({self.tracks} tracks{when})"


def _batch_dirs(root: Path, depth: int = 0):
    if (root / "tracks.parquet").is_file() and (root / "segments.parquet").is_file():
        yield root
        return
    if depth >= _MAX_DEPTH:
        return
    try:  # links are not followed: a link in the data folder must not list (or serve) what lies elsewhere
        children = sorted(p for p in root.iterdir()
                          if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    except OSError:
        return
    for child in children:
        yield from _batch_dirs(child, depth + 1)


def list_batches(root: Path | None = None) -> list[BatchInfo]:
    """Batch result folders (holding tracks.parquet and segments.parquet) up to 3 levels under ``root``.

    ``root`` defaults to the data folder (``$MER_DATA_DIR`` or ``data/``); the app never takes a typed path.
    """
    root = root or data_dir()
    out = []
    for d in _batch_dirs(root) if root.is_dir() and not root.is_symlink() else ():
        if any((d / t).is_symlink() for t in ("tracks.parquet", "segments.parquet")):
            continue
        try:
            n = pq.ParquetFile(d / "tracks.parquet").metadata.num_rows
        except Exception:  # a damaged table is not offered  # noqa: BLE001
            continue
        try:
            finished = str(json.loads((d / "batch.json").read_text()).get("finished", ""))
        except (OSError, ValueError):
            finished = ""
        out.append(BatchInfo(name=str(d.relative_to(root)), path=d, tracks=n, finished=finished))
    return out


def allowed_roots(batch: Path) -> list[Path]:
    """Folders whose audio the page may play for a batch: the data folder, the library folders the batch
    recorded (``roots`` in its ``batch.json``) and those in ``$MER_LIBRARY_ROOTS`` (separated by ``os.pathsep``)."""
    roots = [data_dir()]
    try:
        recorded = json.loads((Path(batch) / "batch.json").read_text()).get("roots", [])
        roots += [Path(r) for r in recorded if isinstance(r, str) and Path(r).is_absolute()]
    except (OSError, ValueError, AttributeError):
        pass
    roots += [Path(r) for r in os.environ.get("MER_LIBRARY_ROOTS", "").split(os.pathsep) if r]
    return roots


def playable_path(batch: Path, path: str) -> Path | None:
    """The audio file at ``path``, symlinks resolved, if the page may serve it: an audio file that lies under
    :func:`allowed_roots` of the batch. None for anything else (a link re-pointed at ``/etc/passwd``, a path
    written into a table by hand, a file that is gone)."""
    try:
        real = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):  # gone, or a loop of links
        return None
    audio = str(path).lower().endswith(SUPPORTED_EXTENSIONS) and real.suffix.lower() in SUPPORTED_EXTENSIONS
    return real if audio and real.is_file() and is_under(real, allowed_roots(batch)) else None


def load_tracks(path: Path) -> pd.DataFrame:
    """The tracks table of a batch folder."""
    return pq.read_table(Path(path) / "tracks.parquet").to_pandas()


def track_segments(path: Path, track_id: int) -> pd.DataFrame:
    """One track's segment rows, in order (read with a filter: the rest of the table stays on disk)."""
    t = pq.read_table(Path(path) / "segments.parquet", filters=[("track_id", "==", np.uint64(track_id))])
    return t.to_pandas().sort_values("segment", ignore_index=True)


def filter_tracks(tracks: pd.DataFrame, *, emotions: Sequence[str] | None = None, min_probability: float = 0.0,
                  status: str = "ok", text: str = "", sort_by: str = "top_probability") -> pd.DataFrame:
    """The rows the page's filters keep, sorted by ``sort_by`` (an emotion or ``top_probability``), highest first.

    ``emotions`` keeps tracks whose top emotion is one of them; ``min_probability`` applies to the top emotion's
    probability; ``status`` is ``"ok"``, ``"error"`` or ``"all"``; ``text`` must occur in the path (any case).
    """
    keep = pd.Series(True, index=tracks.index)
    if status != "all":
        keep &= tracks["status"] == status
    if emotions is not None and status != "error":
        keep &= tracks["top_emotion"].isin(list(emotions))
    if min_probability > 0:
        keep &= tracks["top_probability"].fillna(0) >= min_probability
    if text:
        keep &= tracks["path"].str.contains(text, case=False, regex=False)
    return tracks[keep].sort_values(sort_by, ascending=False, na_position="last", kind="stable")


def emotion_counts(tracks: pd.DataFrame) -> pd.Series:
    """Tracks per top emotion (analysed tracks only), in Emotify's order."""
    ok = tracks[tracks["status"] == "ok"]
    return ok["top_emotion"].value_counts().reindex(list(EMOTIONS), fill_value=0)


def group_shares(tracks: pd.DataFrame, by: str) -> pd.DataFrame:
    """Share of each top emotion within each group (``folder`` or ``genre``); rows sum to 1, plus a count column."""
    ok = tracks[(tracks["status"] == "ok") & tracks[by].notna()]
    table = pd.crosstab(ok[by], ok["top_emotion"]).reindex(columns=list(EMOTIONS), fill_value=0)
    shares = table.div(table.sum(axis=1), axis=0)
    shares["tracks"] = table.sum(axis=1)
    return shares
