"""Oversampling on the training fold, splits, the feature cache and `data stats` on an audio corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mer.balance import class_counts, class_weights, imbalance_ratio, oversample
from mer.config import EMOTIONS
from mer.dataset import segment_data
from mer.folds import segment_split, track_folds
from mer.emotify import load_corpus
from mer.errors import DataError
from mer.stats import genre_emotion_table, pca_projection


def blobs(counts: list[int], dim: int = 6, seed: int = 0, spacing: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(c * spacing, 1, size=(n, dim)) for c, n in enumerate(counts)]).astype(np.float32)
    y = np.concatenate([np.full(n, c) for c, n in enumerate(counts)])
    return X, y


@pytest.mark.parametrize("sampler", ["smote", "borderline_smote", "random"])
def test_oversampling_brings_every_class_to_the_majority_count(sampler):
    X, y = blobs([40, 12, 25, 8, 30, 40, 10, 22, 9])
    res = oversample(X.reshape(-1, 2, 3), y, sampler=sampler, k_neighbors=5, seed=0)
    counts = class_counts(res.y)
    if sampler == "borderline_smote":  # only borderline samples seed new ones; counts still reach the majority
        assert max(counts.values()) == 40
    else:
        assert set(counts.values()) == {40}
        assert imbalance_ratio(counts) == 1.0
    assert res.X.shape[1:] == (2, 3)
    np.testing.assert_array_equal(res.X[: len(y)].reshape(len(y), -1), X)  # originals first, unchanged
    assert res.is_synthetic.sum() == len(res.y) - len(y)


def test_adasyn_roughly_balances_overlapping_classes():
    X, y = blobs([60, 15, 20], spacing=0.5)
    res = oversample(X, y, sampler="adasyn", k_neighbors=5, seed=0)
    counts = np.bincount(res.y)
    assert counts.min() > 45


def test_adasyn_on_separable_classes_is_a_clear_error_not_a_crash():
    X, y = blobs([60, 15, 20], spacing=10.0)
    with pytest.raises(DataError, match="ADASYN could not balance.*Try SMOTE"):
        oversample(X, y, sampler="adasyn")


def test_small_class_lowers_k_and_says_so():
    X, y = blobs([30, 3, 20])
    res = oversample(X, y, sampler="smote", k_neighbors=5)
    assert res.k_neighbors == 2
    assert "lowered from 5 to 2" in res.notes[0] and "solemnity" in res.notes[0]
    assert np.bincount(res.y).tolist() == [30, 30, 30]


def test_single_sample_class_is_a_clear_error():
    X, y = blobs([30, 1, 20])
    with pytest.raises(DataError, match="'solemnity' has a single sample.*random oversampling"):
        oversample(X, y, sampler="smote")
    assert np.bincount(oversample(X, y, sampler="random").y).tolist() == [30, 30, 30]


def test_none_keeps_data_and_class_weights_balance_the_loss():
    X, y = blobs([30, 10, 20])
    res = oversample(X, y, sampler="none")
    assert res.X is X and len(res.y) == 60
    w = class_weights(y, 3)
    np.testing.assert_allclose(w * np.bincount(y), [20, 20, 20])
    rare = np.array([0] * 100 + [1] * 2)  # a class of two tracks would weigh 25.5; the cap holds it at 5
    np.testing.assert_allclose(class_weights(rare, 3, cap=5.0), [0.51, 5.0, 0.0])


def test_imbalance_ratio_ignores_absent_classes():
    assert imbalance_ratio({"a": 40, "b": 10, "c": 0}) == 4.0


def test_pca_projection_marks_synthetic_points():
    X, y = blobs([50, 10, 20], dim=20)
    res = oversample(X, y, sampler="smote")
    df = pca_projection(res, max_points=1000)
    assert len(df) == 150
    assert (df["kind"] == "synthetic").sum() == 70
    assert set(df["emotion"]) == {"amazement", "solemnity", "tenderness"}
    assert len(df.attrs["explained"]) == 2


def test_track_folds_never_put_a_track_on_two_sides_and_test_each_once(tiny_corpus):
    corpus = load_corpus(tiny_corpus)
    folds = track_folds(corpus.labels, n_folds=5, val_fraction=0.15, seed=0)
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested) == list(range(len(corpus)))  # every track tested exactly once
    for f in folds:
        assert not (set(f.fit) & set(f.val)) and not (set(f.train) & set(f.test))
        assert len(f.fit) + len(f.val) + len(f.test) == len(corpus)
    sizes = [len(f.test) for f in folds]
    assert max(sizes) - min(sizes) <= 1  # classes are dealt round-robin, so folds stay even
    for c in np.unique(corpus.labels):  # stratified: a class's tracks spread over the folds
        per_fold = [int((corpus.labels[f.test] == c).sum()) for f in folds]
        assert max(per_fold) - min(per_fold) <= 1


def test_segment_split_leaks_tracks_across_the_split(tiny_corpus):
    corpus = load_corpus(tiny_corpus)
    labels = np.repeat(corpus.labels, 20)
    track = np.repeat(np.arange(len(corpus)), 20)
    seg = segment_split(labels, test_fraction=0.2, val_fraction=0.15, seed=0)
    assert len(seg.fit) + len(seg.val) + len(seg.test) == len(labels)
    shared = set(track[seg.train]) & set(track[seg.test])
    assert len(shared) >= len(set(track[seg.test])) * 0.8  # segment shuffling puts test tracks in training


def test_features_come_from_the_cache_the_second_time(tiny_corpus, tmp_path):
    corpus = load_corpus(tiny_corpus)
    first_msgs, second_msgs = [], []
    a = segment_data(corpus, cache_dir=tmp_path, on_progress=lambda d, t, m: first_msgs.append(m))
    b = segment_data(corpus, cache_dir=tmp_path, on_progress=lambda d, t, m: second_msgs.append(m))
    assert "extracting segment features" in first_msgs and second_msgs == ["features read from cache"]
    np.testing.assert_array_equal(a.X, b.X)
    assert a.X.shape == (36 * 20, 64, 126)
    assert len(list(tmp_path.glob("features-*.npz"))) == 1


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
