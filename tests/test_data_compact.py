"""The compact features of Emotify (mer.data.compact): the bundled ones, and the same rebuilt from audio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mer.audio.features import FEATURES_VERSION
from mer.data.compact import (
    BUNDLED_FEATURES,
    build_compact_features,
    compact_segment_features,
    load_compact_features,
    save_compact_features,
)
from mer.data.emotify import load_annotations, load_corpus
from mer.errors import DataError

from .test_stats import SHARED


def test_bundled_features_are_compact_and_join_the_annotations():
    assert BUNDLED_FEATURES.stat().st_size < 5_000_000
    feats = load_compact_features()
    assert feats.X.shape == (320, 20, 128) and feats.X.dtype == np.float16
    assert feats.features_version == FEATURES_VERSION and feats.feature_config["n_mels"] == 64
    assert np.isfinite(feats.X.astype(np.float32)).all()
    assert set(feats.track_id) <= set(load_annotations().tracks["track_id"])
    assert np.all(feats.X[:, :, 64:].astype(np.float32) >= 0)  # standard deviations


def test_compact_features_are_rebuilt_from_a_corpus_and_round_trip(tiny_corpus, tmp_path):
    from mer.audio.decode import load_audio

    feats = build_compact_features(tiny_corpus, workers=1)
    assert feats.X.shape == (36, 20, 128) and list(feats.track_id) == list(range(1, 37))
    first = load_corpus(tiny_corpus).paths[0]
    audio = load_audio(first)
    np.testing.assert_allclose(feats.X[0].astype(np.float32), compact_segment_features(audio.samples, 22_050),
                               rtol=2e-3, atol=0.05)
    back = load_compact_features(save_compact_features(feats, tmp_path / "f.npz"))
    np.testing.assert_array_equal(back.X, feats.X)
    assert back.features_version == FEATURES_VERSION
    with pytest.raises(DataError, match="Rebuild it with"):
        load_compact_features(tmp_path / "none.npz")


@pytest.mark.skipif(not (SHARED / "original_ids.csv").is_file(), reason="the team's Emotify folder is not beside")
def test_bundled_features_match_the_feature_code_on_the_teams_audio():
    from mer.audio.decode import load_audio

    feats = load_compact_features()
    ids = pd.read_csv(SHARED / "original_ids.csv")
    row = ids[ids["genre"] == "rock"].iloc[0]
    audio = load_audio(SHARED / "emotifymusic" / "rock" / f"{row['file']}.ogg")
    i = int(np.flatnonzero(feats.track_id == row["original_track_id"])[0])
    np.testing.assert_allclose(feats.X[i].astype(np.float32), compact_segment_features(audio.samples, 22_050),
                               rtol=2e-3, atol=0.05)
