"""The study's recipe (mer.training.study): what each protocol leaks, and its bundled features. Its features
from audio and its determinism across threads (slow) are in test_ladder.py."""

from __future__ import annotations

import numpy as np

from mer.training.study import FEATURE_NAMES, StudyConfig

from .test_ladder import _tracks


def test_each_protocol_leaks_exactly_what_it_says():
    from mer.training.study import segment_jobs, study_jobs, track_jobs

    X, labels = _tracks(30)
    labels[:3] = 0  # 12, 9 and 9 tracks: SMOTE has something to add
    config, split = StudyConfig(), dict(seed=0, test_fraction=0.2, val_fraction=0.15)
    study, _ = study_jobs(X, labels, config=config, **split)
    everything = np.concatenate([study.fit_X, study.val_X, study.test_X])
    assert len(everything) == 3 * 12 * 20  # SMOTE on all 600 segments first: every emotion up to 240
    assert everything.min() == 0 and everything.max() == 1  # scaled on every segment, test ones included
    assert len(study.test_X) == 144 and len(study.fit_y) + len(study.val_y) == 576

    segment, test_y = segment_jobs(X, labels, config=config, **split)
    assert len(test_y) == 120 and len(segment.fit_y) == 3 * np.bincount(segment.fit_y).max()  # SMOTE: fit rows only
    assert segment.fit_X.min() == 0 and segment.fit_X.max() == 1  # scaled on the training segments only
    test_rows = {r.tobytes() for r in segment.test_X}
    assert not test_rows & {r.tobytes() for r in segment.fit_X}  # no test segment, nor a copy, in training

    for k, (job, test_tracks) in enumerate(track_jobs(X, labels, config=config, seed=0, n_folds=3,
                                                      val_fraction=0.15)):
        assert len(job.test_X) == 20 * len(test_tracks) == 200  # whole tracks
        fit_tracks = {t for t in range(30) if t not in test_tracks}
        heard = X[sorted(fit_tracks)].reshape(-1, 28)
        assert job.fit_X.min() == 0 and job.fit_X.max() == 1
        assert np.isclose(job.fit_X[:len(heard)].max(axis=0), 1).all()  # scaled on this fold's training tracks
        assert not set(test_tracks) & fit_tracks


def test_bundled_study_features_cover_the_tracks_of_the_bundled_embeddings():
    from mer.data.embedded import load_bundled_embeddings
    from mer.training.study import load_study_features

    feats, emb = load_study_features(), load_bundled_embeddings()
    assert feats.X.shape == (320, 20, 28) and np.isfinite(feats.X).all()
    assert sorted(feats.track_id.tolist()) == sorted(emb.track_id.tolist())
    tempo = feats.X[..., FEATURE_NAMES.index("tempo")]
    assert 40 <= np.median(tempo) <= 200
    centroid = feats.X[..., FEATURE_NAMES.index("spectral_centroid")]
    assert 300 < np.median(centroid) < 5000
