"""How a batch is stored (mer.batch.store): chunks written atomically, merged once, what is done remembered, and a
timeline's shape. Upgrades of older batches and damaged tables: test_library_scale.py."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from mer.analyze import Reading
from mer.audio.segments import Segments
from mer.batch.inputs import FileRef, HashSet, input_key, path_id
from mer.batch.store import done_keys, locked, merge_parts, timeline_shape, write_part
from mer.batch.worker import TrackResult, error_result
from mer.choices import TrackStatus
from mer.emotions import EMOTIONS

MODEL = ("m", "v1")


def _ok(path: str, top: int) -> TrackResult:
    probs = np.full((3, 9), 0.05, dtype=np.float32)
    probs[:, top] = 0.6
    return TrackResult(path=path, track_id=path_id(path), size_bytes=1, mtime_ns=2, status=TrackStatus.OK, duration_s=9.0,
                       reading=Reading(Segments(np.arange(3) * 3, np.arange(1, 4) * 3, 1), probs, probs.mean(axis=0)))


def test_parts_merge_into_one_table_and_what_is_done_is_remembered(tmp_path):
    bad = error_result(FileRef(path="/m/bad.wav", track_id=path_id("/m/bad.wav"), size_bytes=1, mtime_ns=2), "no")
    with locked(tmp_path):
        write_part(tmp_path, [_ok("/m/a.wav", 0), bad], MODEL)
        write_part(tmp_path, [_ok("/m/b.wav", 4)], MODEL)
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


def test_a_timelines_shape_is_each_emotions_spread_and_trend():
    ids = np.array([7, 7, 7, 9, 9, 9], dtype=np.uint64)
    probs = np.zeros((6, 9), dtype=np.float32)
    probs[:3, 0] = [0.0, 0.5, 1.0]  # track 7 rises in amazement over its whole length
    probs[3:, 1] = 0.3  # track 9 flat
    shape = timeline_shape(ids, probs).to_pandas()
    assert shape["track_id"].tolist() == [7, 9]
    spread = [c for c in shape.columns if "amazement" in c and "spread" in c][0]
    trend = [c for c in shape.columns if "amazement" in c and "trend" in c][0]
    assert shape[spread].iloc[0] == pytest.approx(np.std([0, 0.5, 1]), rel=1e-3)
    assert shape[trend].iloc[0] == pytest.approx(1.0, rel=1e-3) and shape[trend].iloc[1] == 0
