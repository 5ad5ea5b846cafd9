"""The sorted layout of a batch's segments: ``segments.parquet`` sorted by track_id and segment, in row groups
that end at a track's last segment (:data:`SEGMENT_GROUP_TRACKS` whole tracks a group), and ``profiles.parquet``
beside it, one row per track; written from any number of unsorted tables in bounded memory, and recognised by its
row groups' statistics.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from ..emotions import EMOTIONS
from ..progress import ProgressFn
from .rows import PROFILE_SCHEMA, SEGMENT_SCHEMA, TABLES, VA_COLUMNS, conform, timeline_shape

__all__ = ["SEGMENT_GROUP_TRACKS", "sorted_segments", "fsync_replace", "segment_ranges"]

#: Tracks per row group of segments.parquet: a track's segments are read as one row group of ~40,000 rows.
SEGMENT_GROUP_TRACKS = 2048
_BUCKET_ROWS = 2_000_000  # segment rows sorted in memory at once when a batch is merged
# the ranges are spilled as Arrow IPC with LZ4: about as small as Parquet, written 10x and read 2x faster
_SPILL = ipc.IpcWriteOptions(compression="lz4")
# dictionaries only for text (a path repeats 20 times, a model name on every row): tried on the probabilities,
# a dictionary fills up and is dropped, at twice the time of writing them plainly and a third more bytes
_SEGMENT_WRITE = {"compression": "zstd",
                  "use_dictionary": [f.name for f in SEGMENT_SCHEMA if pa.types.is_string(f.type)]}


def _bucket_of(ids: np.ndarray, buckets: int) -> np.ndarray:
    """Which of ``buckets`` equal ranges of the 64-bit id space each id falls in (ids are hashes: uniform)."""
    return ((ids >> np.uint64(32)) * np.uint64(buckets)) >> np.uint64(32)


def _write_aligned(writer: pq.ParquetWriter, table: pa.Table) -> None:
    """Write segment rows sorted by track in row groups of :data:`SEGMENT_GROUP_TRACKS` whole tracks."""
    ids = table.column("track_id").to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, np.int64)
    edges = np.r_[starts[::SEGMENT_GROUP_TRACKS], len(ids)]
    for a, b in zip(edges[:-1], edges[1:]):
        writer.write_table(table.slice(a, b - a), row_group_size=int(b - a))


def sorted_segments(units: list[Path], keep_ids: list[np.ndarray | None], dest: Path, profiles: Path,
                    on_progress: ProgressFn | None = None) -> None:
    """Write the segment rows of ``units`` whose track is in ``keep_ids`` (per unit; None keeps every row) to
    ``dest`` sorted by track id and segment, and their timeline shapes to ``profiles``, in memory bounded by
    :data:`_BUCKET_ROWS` rows.

    Rows are first spread over temporary files by ranges of the id (``.segments-K.tmp``), then each range is
    sorted and appended: the ranges are in order, so the whole table is. ``on_progress`` hears of every
    row read, then of every row written (``2 * rows`` in all).
    """
    total = sum(pq.ParquetFile(u / TABLES[1]).metadata.num_rows for u in units)
    k = max(1, -(-total // _BUCKET_ROWS))
    tmp = [dest.parent / f".segments-{i:05d}.tmp" for i in range(k)]
    spill: dict[int, ipc.RecordBatchFileWriter] = {}
    done = 0
    report = on_progress or (lambda done, total, message: None)
    try:
        for unit, ids in zip(units, keep_ids):
            for batch in pq.ParquetFile(unit / TABLES[1]).iter_batches(batch_size=262_144):
                done += batch.num_rows
                batch = conform(batch, SEGMENT_SCHEMA)
                if ids is not None:
                    batch = batch.filter(pa.array(np.isin(batch.column("track_id").to_numpy(), ids)))
                bucket = _bucket_of(batch.column("track_id").to_numpy(), k)
                if k > 1:  # the rows grouped by range once, then each range's run written
                    order = np.argsort(bucket, kind="stable")
                    batch, bucket = batch.take(pa.array(order)), bucket[order]
                edges = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]]) if len(bucket) else np.zeros(0, int)
                for a, b in zip(edges, np.r_[edges[1:], len(bucket)]):
                    i = int(bucket[a])
                    if i not in spill:
                        spill[i] = ipc.new_file(tmp[i], SEGMENT_SCHEMA, options=_SPILL)
                    spill[i].write_batch(batch.slice(a, b - a))
                report(done, 2 * total, "reading the segments")
        for w in spill.values():
            w.close()
        with pq.ParquetWriter(dest, SEGMENT_SCHEMA, **_SEGMENT_WRITE) as out, \
                pq.ParquetWriter(profiles, PROFILE_SCHEMA, compression="zstd", use_dictionary=False) as shapes:
            for i in sorted(spill):
                with ipc.open_file(tmp[i]) as f:
                    rows = f.read_all()
                rows = rows.sort_by([("track_id", "ascending"), ("segment", "ascending")])
                tmp[i].unlink()
                _write_aligned(out, rows)
                probs, va = (np.column_stack([rows.column(c).to_numpy() for c in names])
                             if rows.num_rows else np.zeros((0, len(names)), np.float32)
                             for names in (EMOTIONS, VA_COLUMNS))
                shapes.write_table(timeline_shape(rows.column("track_id").to_numpy(), probs, va))
                done += rows.num_rows
                report(done, 2 * total, "writing them sorted, with the profiles")
    finally:
        for w in spill.values():
            w.close()
        for p in tmp:
            p.unlink(missing_ok=True)

def fsync_replace(tmps: Sequence[Path], names: Sequence[str], out: Path) -> None:
    """Flush each complete temporary table to disk, then rename it over its table."""
    for tmp in tmps:
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
    for tmp, name in zip(tmps, names):
        os.replace(tmp, out / name)


def segment_ranges(pf: pq.ParquetFile) -> tuple[np.ndarray, np.ndarray] | None:
    """Per row group of a segments table, the smallest and largest track id, if the row groups hold disjoint
    ranges in order (a table written sorted by track, no track across two row groups); else None (an older
    batch's table, in the order its chunks came: a track is found by a scan of the whole table)."""
    md, col = pf.metadata, pf.schema_arrow.get_field_index("track_id")
    lo, hi = [], []
    for i in range(md.num_row_groups):
        stats = md.row_group(i).column(col).statistics
        if stats is None or not stats.has_min_max:
            return None
        lo.append(stats.min)
        hi.append(stats.max)
    lo_a, hi_a = np.array(lo, dtype=np.uint64), np.array(hi, dtype=np.uint64)
    return (lo_a, hi_a) if bool(np.all(lo_a[1:] > hi_a[:-1])) else None
