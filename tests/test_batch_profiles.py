"""Each track's side numbers (mer.batch.profiles): timeline shapes from profiles.parquet or, for an older batch,
from the segments, in the order asked; and the MusiCNN sounds of tracks.parquet, checked."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mer.batch import profiles
from mer.batch.synthetic import write_synthetic_batch
from mer.errors import BatchError


def test_shapes_from_the_profiles_table_match_those_computed_from_the_segments_in_the_order_asked(tmp_path):
    new = write_synthetic_batch(tmp_path / "new", 24, seed=3, error_rate=0.1)
    old = write_synthetic_batch(tmp_path / "old", 24, seed=3, error_rate=0.1, layout="older")
    assert (new / "profiles.parquet").is_file() and not (old / "profiles.parquet").is_file()
    ids = pq.read_table(new / "tracks.parquet", columns=["track_id"]).column("track_id").to_numpy()
    asked = np.concatenate([ids[::-1], np.array([7], dtype=np.uint64)])  # reversed, then a track of no batch
    shape, va_shape = profiles.read_shapes(new, asked, ("valence", "arousal"))
    old_shape, old_va = profiles.read_shapes(old, asked, ("valence", "arousal"))
    assert shape.shape == (25, 18) and va_shape.shape == (25, 4)
    np.testing.assert_allclose(shape, old_shape, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(va_shape, old_va, rtol=1e-6, atol=1e-7)
    assert np.isnan(shape[-1]).all() and np.isfinite(shape[:-1]).any(axis=1).sum() >= 20
    first, _ = profiles.read_shapes(new, ids[:1], ("valence", "arousal"))
    np.testing.assert_array_equal(first[0], shape[-2])  # the first track, asked last of the batch's


def test_sounds_are_read_per_track_and_a_damaged_or_missing_column_is_told(tmp_path):
    out = write_synthetic_batch(tmp_path / "b", 12, seed=1, error_rate=0.0)
    sounds = profiles.read_sounds(out, 12)
    assert sounds.shape == (12, 50) and np.isfinite(sounds).all() and (sounds >= 0).all()
    pq.write_table(pa.table({"track_id": pa.array([1], pa.uint64())}), tmp_path / "tracks.parquet")
    assert profiles.read_sounds(tmp_path, 1) is None  # a batch that stores none
    with pytest.raises(BatchError, match=r"holds sounds that are not 50 numbers each"):
        profiles.check_sounds(tmp_path / "t.parquet", pa.chunked_array([[[0.1, 0.2, 0.3]]]))
