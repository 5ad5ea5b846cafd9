"""Cutting a track into equal, contiguous segments (20 by default)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Segments", "segment_bounds"]


@dataclass(frozen=True)
class Segments:
    """Boundaries of a track's segments.

    Attributes
    ----------
    starts, ends : np.ndarray [shape=(n_segments,), dtype=int64]
        Sample indices; segment ``i`` is ``samples[starts[i]:ends[i]]``.
        ``starts[0] == 0``, ``ends[-1] == n_samples`` and ``starts[i+1] == ends[i]``.
    sample_rate : int
    """

    starts: np.ndarray
    ends: np.ndarray
    sample_rate: int

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def start_s(self) -> np.ndarray:
        return self.starts / self.sample_rate

    @property
    def end_s(self) -> np.ndarray:
        return self.ends / self.sample_rate

    @property
    def min_length(self) -> int:
        return int(np.min(self.ends - self.starts))

    def stack(self, samples: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
        """The segments (those of ``rows``) as rows of one array, each cut to the shortest segment's length.

        Segment lengths differ by at most one sample, so at most one sample is
        dropped from the end of a segment. Only the rows returned are copied.

        Returns
        -------
        np.ndarray [shape=(n_rows, min_length)]
        """
        return np.lib.stride_tricks.sliding_window_view(samples, self.min_length)[self.starts[rows]]


def segment_bounds(n_samples: int, *, n_segments: int, sample_rate: int) -> Segments:
    """Split ``n_samples`` into ``n_segments`` equal contiguous segments.

    Boundary ``i`` is ``round(i * n_samples / n_segments)``, so lengths differ by
    at most one sample, segments never overlap and together cover every sample.

    Parameters
    ----------
    n_samples : int >= n_segments
    n_segments : int > 0
    sample_rate : int > 0

    Raises
    ------
    ValueError
        If there are fewer samples than segments (audio validation rules this out
        for real tracks, so this is a programming error).
    """
    if n_segments <= 0:
        raise ValueError(f"n_segments must be positive, got {n_segments}")
    if n_samples < n_segments:
        raise ValueError(f"cannot cut {n_samples} samples into {n_segments} segments")
    edges = np.round(np.arange(n_segments + 1) * (n_samples / n_segments)).astype(np.int64)
    edges[-1] = n_samples
    return Segments(starts=edges[:-1], ends=edges[1:], sample_rate=sample_rate)
