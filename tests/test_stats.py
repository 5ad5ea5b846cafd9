"""Dataset statistics of the bundled Emotify (annotations of 400 tracks, compact features of 320)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mer.cli import main
from mer.data.emotify import BUNDLED_DATA_CSV, load_annotations, load_corpus
from mer.data.stats import annotation_stats, dataset_stats, genre_emotion_table, tied_tracks
from mer.emotions import EMOTIONS
from mer.errors import DataError

from .helpers import emotify_root as make_root
from .helpers import votes as v

#: Dominant emotion per track over all 400 tracks of the official data.csv (ties to the earlier emotion),
#: as measured by the team (shared/EMOTIFY.md) and by `python -m mer data stats`.
EMOTIFY_COUNTS = {"calmness": 98, "joyful_activation": 93, "nostalgia": 53, "tension": 44, "power": 34,
                  "solemnity": 29, "tenderness": 27, "sadness": 19, "amazement": 3}
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "emotify"


def test_bundled_annotations_give_emotifys_counts_ties_and_agreement():
    stats = annotation_stats(load_annotations())
    assert stats.n_tracks == 400 and stats.n_responses == 8407
    assert stats.tracks_per_emotion == {e: EMOTIFY_COUNTS[e] for e in EMOTIONS}
    assert stats.imbalance_ratio == pytest.approx(98 / 3)
    assert len(stats.tied_track_ids) == 57 and stats.tied_track_ids[:3] == (11, 15, 43)
    assert stats.mean_agreement == pytest.approx(0.56, abs=0.005) == stats.agreement.mean()
    assert stats.median_margin == pytest.approx(0.125, abs=0.001)
    assert stats.responses_per_track == (11, 14.0, 59)
    table = stats.genre_table
    assert table.loc["classical", "calmness"] == 35 and table.loc["classical", "joyful_activation"] == 31
    assert table.loc["rock", "nostalgia"] == 24 and table.to_numpy().sum() == 400


def test_annotations_need_no_audio(tmp_path):
    shutil.copy(BUNDLED_DATA_CSV, tmp_path / "data.csv")  # a folder with data.csv and nothing else
    annotations = load_annotations(tmp_path)
    assert len(annotations) == 400 and "path" not in annotations.tracks.columns
    shares = annotations.shares_of(1)
    assert list(shares.index) == list(EMOTIONS) and shares.max() == pytest.approx(shares[annotations.tracks.loc[0, "dominant"]])
    with pytest.raises(DataError, match="No track 401"):
        annotations.shares_of(401)


def test_ties_are_reported_with_their_track_ids(tmp_path):
    rows = [(1, "classical", v("calmness")), (1, "classical", v("sadness")),  # calmness/sadness tie
            (2, "classical", v("calmness")), (2, "classical", v("calmness", "power")),
            (101, "rock", v("power", "tension")), (101, "rock", v("tension"))]
    annotations = load_annotations(make_root(tmp_path, rows, audio=False))
    assert tied_tracks(annotations) == (1,)
    assert list(annotations.tracks["dominant"]) == ["calmness", "calmness", "tension"]


def test_smote_on_the_bundled_features_balances_the_training_fold():
    stats = dataset_stats(with_pca=True)
    b = stats.balance
    assert b.n_tracks == 320 and b.n_segments == 6400 and sum(b.before.values()) == 20 * b.train_tracks
    majority = max(b.before.values())
    assert set(b.after.values()) == {majority} and b.imbalance_ratio_after == 1.0
    assert b.imbalance_ratio_before > 10  # amazement has 3 tracks
    assert (b.pca["kind"] == "synthetic").any() and (b.pca["kind"] == "real").any()
    made = b.pca_synthetic()  # what the Dataset page's emotion picker counts
    assert list(made) == [e for e in EMOTIONS if e in set(b.pca["emotion"])]
    assert sum(made.values()) == int((b.pca["kind"] == "synthetic").sum()) and made["amazement"] > 0


def test_data_stats_cli_describes_the_bundled_emotify(capsys):
    assert main(["data", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["tracks_per_emotion"] == {e: EMOTIFY_COUNTS[e] for e in EMOTIONS}
    assert stats["tracks"] == 400 and stats["ties"]["count"] == 57 and len(stats["ties"]["track_ids"]) == 57
    assert stats["imbalance_ratio"] == pytest.approx(32.6667)
    assert stats["genre_emotion"]["electronic"]["tension"] == 24
    after = stats["balance"]["segments_per_emotion_after"]
    assert len(set(after.values())) == 1
    assert main(["data", "stats"]) == 0
    out = capsys.readouterr().out
    assert "400 tracks, 8,407 responses" in out and "57 tracks" in out


def test_genre_emotion_table_counts_every_track(tiny_corpus):
    corpus = load_corpus(tiny_corpus)
    table = genre_emotion_table(corpus)
    assert list(table.columns) == list(EMOTIONS)
    assert table.to_numpy().sum() == 36 and set(table.index) == {"classical", "rock", "electronic", "pop"}


def test_stats_cli_balances_the_training_fold(tiny_corpus, capsys):
    from mer.cli import main

    assert main(["data", "stats", "--root", str(tiny_corpus), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["emotions"] == list(EMOTIONS) and stats["tracks"] == 36
    # the tiny corpus (seed 1): the same dominant-emotion counts as before the demo package was split
    assert list(stats["tracks_per_emotion"].values()) == [2, 3, 6, 4, 8, 2, 6, 2, 3]
    balance = stats["balance"]
    assert balance["sampler"] == "smote" and balance["segments"] == 720
    before, after = balance["segments_per_emotion_before"], balance["segments_per_emotion_after"]
    majority = max(before.values())
    assert all(after[e] == majority for e in EMOTIONS if before[e] > 0)
    assert balance["imbalance_ratio_before"] > 1 and balance["imbalance_ratio_after"] == 1.0
    assert sum(before.values()) == 20 * balance["train_tracks"]
