"""Which batches exist: the batch result folders under the data folder, each with its summary, and the output
folder of a batch the Library page starts.

No streamlit here; the page lays these out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from .. import settings
from ..errors import BatchError, MerError
from ..files import read_json

__all__ = ["BatchInfo", "list_batches", "batch_summary", "batch_output"]

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
    root = root or settings.data_dir()
    out = []
    for d in _batch_dirs(root) if root.is_dir() and not root.is_symlink() else ():
        if any((d / t).is_symlink() for t in ("tracks.parquet", "segments.parquet")):
            continue
        try:
            n = pq.ParquetFile(d / "tracks.parquet").metadata.num_rows
        except Exception:  # a damaged table is not offered  # noqa: BLE001
            continue
        finished = str(batch_summary(d).get("finished", ""))
        out.append(BatchInfo(name=str(d.relative_to(root)), path=d, tracks=n, finished=finished))
    return out


def batch_summary(batch: Path) -> dict[str, Any]:
    """A batch folder's ``batch.json`` (size- and depth-limited); empty when missing, unreadable or not an object."""
    try:
        summary = read_json(batch / "batch.json")
    except (OSError, MerError):
        return {}
    return summary if isinstance(summary, dict) else {}


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def batch_output(name: str) -> Path:
    """The output folder of a batch the Library page starts, ``batches/NAME`` in the data folder.

    Raises
    ------
    BatchError
        ``name`` is not 1–64 letters, digits, ``.``, ``_`` or ``-`` starting with a letter or digit.
    """
    if not _NAME.fullmatch(name or ""):
        raise BatchError(f"'{name}' cannot name a batch: use 1 to 64 letters, digits, '.', '_' or '-', starting "
                         "with a letter or a digit.")
    return settings.batches_dir() / name
