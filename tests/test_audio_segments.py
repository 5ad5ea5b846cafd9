"""A track's 20 segments (mer.audio.segments): contiguous, covering every sample, lengths within one sample."""

from __future__ import annotations

import numpy as np
import pytest

from mer.audio.segments import segment_bounds

SR = 22_050


@pytest.mark.parametrize("n", [20, 21, 39, 441_001])
def test_segments_cover_every_sample_once_and_differ_by_at_most_one(n):
    seg = segment_bounds(n, n_segments=20, sample_rate=100)
    lengths = seg.ends - seg.starts
    assert len(seg) == 20 and seg.starts[0] == 0 and seg.ends[-1] == n
    assert (seg.starts[1:] == seg.ends[:-1]).all() and lengths.max() - lengths.min() <= 1
    assert seg.min_length == lengths.min()


def test_times_and_the_stacked_rows_are_the_segments_own():
    seg = segment_bounds(10, n_segments=3, sample_rate=2)  # edges 0, 3, 7, 10
    assert seg.starts.tolist() == [0, 3, 7] and seg.end_s.tolist() == [1.5, 3.5, 5.0]
    rows = seg.stack(np.arange(10.0))
    assert rows.tolist() == [[0, 1, 2], [3, 4, 5], [7, 8, 9]]  # each cut to the shortest (3 samples)
    assert seg.stack(np.arange(10.0), slice(1, 2)).tolist() == [[3, 4, 5]]


def test_fewer_samples_than_segments_is_a_programming_error():
    with pytest.raises(ValueError, match="cannot cut 19 samples into 20 segments"):
        segment_bounds(19, n_segments=20, sample_rate=1)
    with pytest.raises(ValueError, match="n_segments must be positive"):
        segment_bounds(19, n_segments=0, sample_rate=1)


@pytest.mark.parametrize("seconds", [10.0, 61.3, 600.0])
def test_twenty_equal_contiguous_segments_cover_the_track(seconds):
    n = int(round(seconds * SR))
    seg = segment_bounds(n, n_segments=20, sample_rate=SR)
    assert len(seg) == 20
    assert seg.starts[0] == 0 and seg.ends[-1] == n
    np.testing.assert_array_equal(seg.starts[1:], seg.ends[:-1])  # no gap, no overlap
    lengths = seg.ends - seg.starts
    assert lengths.max() - lengths.min() <= 1
    assert seg.end_s[-1] == pytest.approx(seconds, abs=1 / SR)
