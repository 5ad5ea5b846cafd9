"""The rows of a batch's tables (mer.batch.rows): each result's reading in the tracks and segments rows, an
error row holding none, and a timeline's shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mer.batch.inputs import path_id
from mer.batch.rows import segments_table, timeline_shape, tracks_table
from mer.batch.worker import TrackResult, error_result
from mer.emotions import EMOTIONS

from .helpers import batch_ref, random_reading


def test_the_tables_hold_each_results_reading_and_an_error_row_holds_none():
    ref = batch_ref("/m/a.wav")
    full = TrackResult(ref.path, ref.track_id, 123, 456, "ok", duration_s=60.0, reading=random_reading(1), genre="rock")
    plain = TrackResult("/m/b.wav", path_id("/m/b.wav"), 1, 2, "ok", duration_s=60.0, reading=random_reading(2, tags=False, va=False))
    failed = error_result(batch_ref("/m/c.wav"), "The file is\n not audio.")
    tracks = tracks_table([full, plain, failed], ("m", "v1")).to_pandas()
    segments = segments_table([full, plain, failed], ("m", "v1")).to_pandas()

    a = full.reading
    np.testing.assert_array_equal(tracks.loc[0, list(EMOTIONS)].to_numpy(np.float32), a.track_probabilities)
    assert tracks.loc[0, "top_emotion"] == full.track_top == EMOTIONS[int(a.track_probabilities.argmax())]
    assert (tracks.loc[0, "n_segments"], tracks.loc[0, "precision"], tracks.loc[0, "genre"]) == (20, "int8", "rock")
    np.testing.assert_array_equal(tracks.loc[0, "sound"], a.tags.mean(axis=0).astype(np.float16))
    assert (tracks.loc[0, "valence"], tracks.loc[0, "arousal"]) == (0.25, -0.5)
    assert tracks.loc[1, "sound"] is None and pd.isna(tracks.loc[1, "valence"]) and pd.isna(tracks.loc[1, "precision"])
    assert list(tracks["status"]) == ["ok", "ok", "error"] and tracks.loc[2, "error"] == "The file is not audio."
    assert failed.reading is None and failed.track_top is None and failed.sound is None
    assert np.isnan(tracks.loc[2, list(EMOTIONS)].to_numpy(np.float64)).all() and tracks.loc[2, "n_segments"] == 0

    assert len(segments) == 40  # 20 per analysed track, none for the error
    first = segments[segments["track_id"] == full.track_id]
    np.testing.assert_array_equal(first[list(EMOTIONS)].to_numpy(np.float32), a.probabilities)
    np.testing.assert_array_equal(first["start_s"], np.arange(20) * 3.0)
    np.testing.assert_array_equal(first["end_s"], np.arange(1, 21) * 3.0)
    np.testing.assert_array_equal(first["valence"], a.va.valence.astype(np.float32))
    assert segments[segments["track_id"] == plain.track_id]["valence"].isna().all()


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

