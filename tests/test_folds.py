"""Which tracks train, validate and test: grouped folds, the leaky segment split, folds a small corpus cannot fill."""

from __future__ import annotations

import numpy as np

from mer.data.emotify import load_corpus
from mer.data.folds import folds_problem, segment_split, track_folds


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


def test_folds_a_small_corpus_cannot_fill_are_refused_with_what_works():
    labels = np.repeat(np.arange(9), [2, 2, 3, 3, 3, 3, 3, 3, 2])  # 24 tracks, two or three per emotion
    why = folds_problem(labels, n_folds=3, val_fraction=0.15, seed=0)
    assert "no validation track" in why and "--val-fraction 0.3" in why
    assert folds_problem(labels, n_folds=3, val_fraction=0.3, seed=0) is None  # what it suggests works
    assert folds_problem(np.arange(9) % 9, n_folds=12, val_fraction=0.15, seed=0).startswith("9 tracks are too few")
    assert folds_problem(np.repeat(np.arange(9), 40), n_folds=5, val_fraction=0.15, seed=0) is None
