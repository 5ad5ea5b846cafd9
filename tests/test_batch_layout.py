"""The sorted layout of a batch's segments (mer.batch.layout): rows from unsorted tables written sorted by track
and segment, a track never split across row groups, the profiles beside them, and the row groups' ranges read back."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from mer.batch import layout
from mer.batch.layout import segment_ranges, sorted_segments
from mer.batch.store import write_part

from .helpers import BATCH_MODEL, ok_result


def test_segments_from_unsorted_chunks_are_written_sorted_in_whole_track_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "SEGMENT_GROUP_TRACKS", 2)
    monkeypatch.setattr(layout, "_BUCKET_ROWS", 7)  # several ranges spilled and sorted one by one
    paths = [f"/m/{i}.wav" for i in range(7)]
    units = [write_part(tmp_path, [ok_result(p, i % 9) for i, p in enumerate(paths[:4])][::-1], BATCH_MODEL),
             write_part(tmp_path, [ok_result(p, i % 9) for i, p in enumerate(paths[4:])], BATCH_MODEL)]
    unsorted = tmp_path / "unsorted.parquet"  # a track a group, but the groups in descending order: no ranges
    rows = pq.read_table(units[0] / "segments.parquet").sort_by([("track_id", "descending")])
    pq.write_table(rows, unsorted, row_group_size=3)
    assert segment_ranges(pq.ParquetFile(unsorted)) is None
    dest, profiles = tmp_path / "segments.parquet", tmp_path / "profiles.parquet"
    keep = [None, np.array(sorted(ok_result(p, 0).track_id for p in paths[4:6]), dtype=np.uint64)]  # the second: 2 of 3
    sorted_segments(units, keep, dest, profiles)

    table = pq.read_table(dest).to_pandas()
    ids = table["track_id"].to_numpy()
    assert len(table) == 6 * 3 and np.all(np.diff(ids.astype(np.float64)) >= 0)  # 6 tracks of 3 segments, sorted
    assert all(list(g["segment"]) == [1, 2, 3] for _, g in table.groupby("track_id"))
    pf = pq.ParquetFile(dest)
    groups = [pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)]
    assert sum(groups) == 18 and all(g in (3, 6) for g in groups)  # whole tracks, at most 2 a group
    lo, hi = segment_ranges(pf)
    assert len(lo) == len(groups) and np.all(lo[1:] > hi[:-1])
    shapes = pq.read_table(profiles).to_pandas()
    assert shapes["track_id"].tolist() == sorted(set(ids.tolist()))
