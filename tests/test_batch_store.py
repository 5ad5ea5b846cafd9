"""How a batch is stored (mer.batch.store): chunks written atomically, merged once, what is done remembered.
The sorted layout: test_batch_layout.py; upgrades of older batches: test_batch_upgrade.py and test_library_scale.py."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from mer.batch.inputs import FileRef, HashSet, input_key, path_id
from mer.batch.store import done_keys, locked, merge_parts, write_part
from mer.batch.worker import error_result
from mer.emotions import EMOTIONS

from .helpers import BATCH_MODEL, ok_result


def test_parts_merge_into_one_table_and_what_is_done_is_remembered(tmp_path):
    bad = error_result(FileRef(path="/m/bad.wav", track_id=path_id("/m/bad.wav"), size_bytes=1, mtime_ns=2), "no")
    with locked(tmp_path):
        write_part(tmp_path, [ok_result("/m/a.wav", 0), bad], BATCH_MODEL)
        write_part(tmp_path, [ok_result("/m/b.wav", 4)], BATCH_MODEL)
        keys = done_keys(tmp_path)
        assert len(keys) == 3 and len(done_keys(tmp_path, retry_errors=True)) == 2
        assert input_key("/m/a.wav", 1, 2, "m:v1") in keys
        assert merge_parts(tmp_path, HashSet(path_id(p) for p in ("/m/a.wav", "/m/b.wav", "/m/bad.wav"))) == 3
    tracks = pq.read_table(tmp_path / "tracks.parquet").to_pandas().set_index("path")
    assert tracks.loc["/m/b.wav", "top_emotion"] == EMOTIONS[4] and tracks.loc["/m/bad.wav", "status"] == "error"
    segments = pq.read_table(tmp_path / "segments.parquet")
    assert segments.num_rows == 6 and len(done_keys(tmp_path)) == 3  # the merged tables remember too


def test_a_folder_in_use_is_refused(tmp_path):
    from mer.errors import BatchError

    with locked(tmp_path):
        with pytest.raises(BatchError):
            with locked(tmp_path):
                pass


