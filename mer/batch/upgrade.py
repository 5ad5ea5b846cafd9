"""The one-time upgrade of a batch written before the query layer (no ``profiles.parquet``, segments in the order
the chunks came) to the layout a batch is written in today (:mod:`mer.batch.layout`): the same rows, sorted, and
their profiles, under the run's lock, renamed into place only when complete.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import BatchError
from ..progress import ProgressFn
from .layout import fsync_replace, segment_ranges, sorted_segments
from .rows import PROFILES, TABLES
from .store import clean_partial, locked

__all__ = ["needs_upgrade", "upgrade_batch"]


def needs_upgrade(out: Path) -> bool:
    """Whether the merged tables in ``out`` are in the layout written before the query layer: no
    ``profiles.parquet``, or a ``segments.parquet`` not sorted by track (see :func:`upgrade_batch`).

    Reads the segments table's footer only. False for a folder without merged tables, or one whose
    segments table cannot be read (opening it reports that).
    """
    segments = out / TABLES[1]
    if not (out / TABLES[0]).is_file() or not segments.is_file():
        return False
    if not (out / PROFILES).is_file():
        return True
    try:
        pf = pq.ParquetFile(segments)
        return pf.schema_arrow.get_field_index("track_id") < 0 or segment_ranges(pf) is None
    except (OSError, pa.ArrowException):
        return False


def upgrade_batch(out: Path, on_progress: ProgressFn | None = None) -> bool:
    """Bring a batch written before the query layer to today's layout, once: ``segments.parquet`` sorted by
    track and segment in row groups of :data:`~mer.batch.layout.SEGMENT_GROUP_TRACKS` whole tracks, and ``profiles.parquet``.

    Runs under the batch's lock (:func:`~mer.batch.store.locked`), so never beside a run writing the folder or
    another upgrade.
    The same rows are written to temporary files beside the tables (memory bounded as in a merge), flushed to
    disk, and renamed over the old tables only when both are complete: interrupted at any point (an error,
    a full disk, kill -9), the old tables stay as they were and the next open starts again.

    Parameters
    ----------
    out : Path
        A batch folder.
    on_progress : callable, optional
        ``on_progress(done, total, message)`` while the segments are read and written.

    Returns
    -------
    bool
        True if the tables were upgraded; False if they needed nothing (another process may just have done it).

    Raises
    ------
    BatchError
        Another run holds the folder's lock; the folder cannot be written; the disk filled up.
    """
    with locked(out):
        if not needs_upgrade(out):
            return False
        clean_partial(out)
        tmps = [out / f".{name}-merging" for name in (TABLES[1], PROFILES)]
        try:
            sorted_segments([out], [None], tmps[0], tmps[1], on_progress)
            fsync_replace(tmps, (TABLES[1], PROFILES), out)
        except OSError as e:
            raise BatchError(f"Cannot upgrade the batch in '{out}' to the current layout ({e.strerror or e}). Its "
                             "tables are as they were and still read, more slowly; free some space (the upgrade "
                             "needs about twice segments.parquet's size) and open it again.") from None
        finally:
            for tmp in tmps:
                tmp.unlink(missing_ok=True)
    return True
