"""A batch's tracks as pandas frames (mer.batch.frames): the filters, counts and shares, and the Library page's
table view and CSV of some rows. On a batch the tests run: test_batch_library.py, test_library_scale.py."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from mer.batch.frames import emotion_counts, filter_tracks, group_shares, table_columns, table_view, tracks_csv
from mer.emotions import EMOTIONS, emotion_label


def _tracks() -> pd.DataFrame:
    probs = np.full((4, 9), 0.05)
    tops = [0, 0, 3, None]
    for i, t in enumerate(tops):
        if t is not None:
            probs[i, t] = 0.5 + 0.1 * i
    rows = pd.DataFrame(probs, columns=list(EMOTIONS))
    return rows.assign(
        file=["a.wav", "b.wav", "=c.wav", "d.wav"], folder=["x", "x", "y", "y"], genre=["rock", None, "jazz", None],
        top_emotion=[None if t is None else EMOTIONS[t] for t in tops],
        top_probability=[None if t is None else probs[i, t] for i, t in enumerate(tops)],
        valence=[0.5, -0.5, 0.1, None], arousal=[0.2, 0.3, -0.9, None], duration_s=30.0,
        status=["ok", "ok", "ok", "error"], error=[None, None, None, "not audio"],
        path=["/m/x/a.wav", "/m/x/b.wav", "/m/y/=c.wav", "/m/y/d.wav"], path_bytes=[b"/m/x/a.wav"] * 4)


def test_the_filters_counts_and_shares_keep_what_they_should():
    tracks = _tracks()
    assert filter_tracks(tracks)["file"].tolist() == ["=c.wav", "b.wav", "a.wav"]  # highest top probability first
    assert filter_tracks(tracks, emotions=[EMOTIONS[0]], min_probability=0.55)["file"].tolist() == ["b.wav"]
    assert filter_tracks(tracks, status="error")["file"].tolist() == ["d.wav"]
    assert filter_tracks(tracks, text="/Y/", status="all")["file"].tolist() == ["=c.wav", "d.wav"]
    assert filter_tracks(tracks, valence_min=0.0)["file"].tolist() == ["=c.wav", "a.wav"]
    assert emotion_counts(tracks).tolist() == [2, 0, 0, 1, 0, 0, 0, 0, 0]
    shares = group_shares(tracks, "folder")
    assert shares.loc["x", EMOTIONS[0]] == 1.0 and shares["tracks"].tolist() == [2, 1]


def test_the_pages_table_shows_labels_and_empty_cells_and_its_csv_neutralises_formulas():
    tracks = _tracks()
    view = table_view(tracks, va=False)
    assert list(view.columns) == table_columns(False) and "valence" not in view.columns
    assert view["top_emotion"].tolist()[0] == emotion_label(EMOTIONS[0]) and view["top_emotion"].iloc[3] == ""
    assert view["genre"].tolist() == ["rock", "", "jazz", ""] and view["error"].iloc[3] == "not audio"
    back = pd.read_csv(io.StringIO(tracks_csv(tracks)), keep_default_na=False)
    assert "path_bytes" not in back.columns and back["file"].tolist()[2] == "'=c.wav"
