"""The one-time upgrade of an older batch (mer.batch.upgrade): told from its tables' footers, the same rows written
sorted with their profiles, once. An interrupted upgrade and the Library's reading of it: test_library_scale.py."""

from __future__ import annotations

import pyarrow.parquet as pq

from mer.batch.inputs import HashSet, path_id
from mer.batch.store import locked, merge_parts, write_part
from mer.batch.upgrade import needs_upgrade, upgrade_batch

from .helpers import BATCH_MODEL, ok_result


def test_an_older_batch_is_upgraded_once_to_the_same_rows_sorted_with_their_profiles(tmp_path):
    assert not needs_upgrade(tmp_path)  # no tables: nothing to upgrade
    paths = [f"/m/{i}.wav" for i in range(5)]
    with locked(tmp_path):
        write_part(tmp_path, [ok_result(p, i) for i, p in enumerate(paths)], BATCH_MODEL)
        merge_parts(tmp_path, HashSet(path_id(p) for p in paths))
    assert not needs_upgrade(tmp_path)
    today = pq.read_table(tmp_path / "segments.parquet")
    profiles = pq.read_table(tmp_path / "profiles.parquet")
    # as an older mer left it: no profiles, the segments in the order the chunk came, in one row group
    (tmp_path / "profiles.parquet").unlink()
    assert needs_upgrade(tmp_path)
    pq.write_table(today.sort_by([("track_id", "descending")]), tmp_path / "segments.parquet", row_group_size=3)
    pq.write_table(profiles, tmp_path / "profiles.parquet")
    assert needs_upgrade(tmp_path)  # profiles there, but the segments not sorted

    assert upgrade_batch(tmp_path) is True
    assert not needs_upgrade(tmp_path) and upgrade_batch(tmp_path) is False  # once
    assert pq.read_table(tmp_path / "segments.parquet").equals(today)
    assert pq.read_table(tmp_path / "profiles.parquet").equals(profiles)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", ".parts", "profiles.parquet",
                                                           "segments.parquet", "tracks.parquet"]  # nothing temporary left
