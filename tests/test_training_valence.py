"""The valence–arousal head's training (mer.training.valence): scikit-learn's fit, artist-grouped
cross-validation, anchors and cancelling. The head itself is in test_valence.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mer.config import VAConfig
from mer.data.fourq import FourQ, load_fourq
from mer.training import valence as training
from mer.valence import to_unit

from .test_valence import _head

SHARED_4Q = Path(__file__).resolve().parent.parent.parent / "shared" / "4q"


def test_the_fit_is_scikit_learns_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    Z = rng.standard_normal((600, 12))
    y = (Z[:, 0] - 0.5 * Z[:, 3] + rng.standard_normal(600) > 0).astype(float)
    for c in (0.003, 0.1, 10.0):
        theta = training._logistic(Z, y, c)
        ref = LogisticRegression(C=c, tol=1e-12, max_iter=10_000).fit(Z, y)
        np.testing.assert_allclose(theta[:-1], ref.coef_[0], atol=1e-4)
        assert theta[-1] == pytest.approx(ref.intercept_[0], abs=1e-4)
    warm = training._fit_path(Z[:, None, :], y, (0.003, 0.1))  # each C from the last one's answer: the same fits
    np.testing.assert_allclose(warm[1][2], training._fit(Z[:, None, :], y, 0.1)[2], atol=1e-4)


def _synthetic(n_artists: int = 40, per: int = 3, seed: int = 0) -> FourQ:
    """Clips whose first input carries valence and second arousal (noisy), by artists who keep one quadrant."""
    rng = np.random.default_rng(seed)
    quadrant = np.repeat(rng.integers(1, 5, n_artists), per)
    v, a = np.isin(quadrant, (1, 4)) * 2 - 1, np.isin(quadrant, (1, 2)) * 2 - 1
    X = rng.standard_normal((len(quadrant), 6, 200))
    X[..., 0] += 1.5 * v[:, None]
    X[..., 1] += 1.5 * a[:, None]
    artist = np.repeat([f"artist {i}" for i in range(n_artists)], per)
    return FourQ(song=np.arange(len(quadrant)), artist=artist, quadrant=quadrant, confidence=np.ones(len(quadrant)),
                 X=X, layers=("penultimate",))


def test_grouped_cross_validation_keeps_artists_apart_and_scores_out_of_fold():
    data = _synthetic()
    folds = training.grouped_folds(data.quadrant, data.artist, 5, seed=0)
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(len(data)))
    for tr, te in folds:
        assert not set(data.artist[tr]) & set(data.artist[te])
    config = VAConfig(arousal_input="penultimate", c_min=0.01, c_max=1.0, c_steps=2, inner_folds=2, cv_folds=5)
    report = training.evaluate_head(data, config, pooled=data.X.mean(axis=1))
    assert report.head.valence_accuracy > 0.9 and report.head.arousal_accuracy > 0.9
    assert report.head.quadrant_accuracy > 0.8 and len(report.fold_quadrant) == 5
    assert report.baselines["pooled_logistic"].valence_auc > 0.75
    assert 0.0 <= report.brier[0] < 0.1 and 0.5 < report.segments[0] < report.head.valence_accuracy
    assert "grouped by artist" in report.protocol


def test_labels_that_carry_nothing_score_at_chance():
    data = _synthetic()
    shuffled = FourQ(song=data.song, artist=data.artist, quadrant=np.random.default_rng(1).permutation(data.quadrant),
                     confidence=data.confidence, X=np.random.default_rng(2).standard_normal(data.X.shape),
                     layers=("penultimate",))
    report = training.evaluate_head(shuffled, VAConfig(arousal_input="penultimate", c_steps=1, cv_folds=4,
                                                       inner_folds=2))
    assert 0.3 < report.head.valence_accuracy < 0.7 and report.head.quadrant_accuracy < 0.45


def test_anchors_place_each_emotion_at_the_mean_of_its_tracks():
    X = np.zeros((3, 4, 200))
    X[0, :, 0], X[1, :, 0], X[2, :, 1] = 1.0, 3.0, 1.0
    anchors = training.emotion_anchors(_head(), X, np.array([6, 6, 8]))  # joyful activation twice, sadness once
    assert set(anchors) == {"joyful_activation", "sadness"} and anchors["joyful_activation"][2] == 2
    assert anchors["joyful_activation"][0] == pytest.approx((to_unit(2.0) + to_unit(6.0)) / 2)
    assert anchors["sadness"][1] == pytest.approx(to_unit(-3.0))


def test_each_side_reads_only_its_own_layers():
    data = load_fourq(("penultimate", "mean_pool"))
    head, _ = training.fit_head(data, VAConfig(c_steps=1, c_min=0.01, c_max=0.01), np.arange(0, 449, 3))
    assert head.layers == ("penultimate", "mean_pool") and head.n_inputs == 953
    assert np.count_nonzero(head.coef[0, 200:]) == 0 and np.count_nonzero(head.coef[0, :200]) == 200  # valence
    assert np.count_nonzero(head.coef[1, :200]) == 200 and np.count_nonzero(head.coef[1, 200:]) > 100  # both
    assert np.all(head.coef[1, 200:][head.scale[200:] == 1.0] == 0)  # only mean_pool's constant units are unread


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_4Q / "annotations.csv").is_file(),
                    reason="needs the team's 4Q audio beside the project (../shared/4q)")
def test_a_splice_of_two_opposite_clips_switches_sides_at_the_join():
    """Two 30 s clips from opposite quadrants, by artists the head never saw, played one after the other: each
    segment's valence and arousal come from its own audio (valence with one neighbour each side), so the timeline
    follows the music across the join. 16 splices of one fold's artists; benchmarks/valence_cv.py --splices 40
    measures all folds (valence 0.769, arousal 0.868)."""
    from mer.audio.decode import load_audio
    from mer.audio.embeddings import embed_samples

    config = VAConfig(c_min=0.0095, c_max=0.0095, c_steps=1)
    data = load_fourq(config.layers)
    train, test = training.grouped_folds(data.quadrant, data.artist, 5, seed=0)[0]
    head, _ = training.fit_head(data, config, train)
    rng = np.random.default_rng(0)
    right = {"valence": [], "arousal": []}
    for first, second in [(1, 3), (3, 1), (2, 4), (4, 2)] * 4:
        a, b = (rng.choice(test[data.quadrant[test] == q]) for q in (first, second))
        clips = [load_audio(next(SHARED_4Q.glob(f"Q{data.quadrant[i]}/MT{data.song[i]:010d}.*"))) for i in (a, b)]
        y = np.concatenate([c.samples[:30 * c.sample_rate] for c in clips])
        path = head.path(embed_samples(y, clips[0].sample_rate, extra_layers=head.layers).extra)
        own = np.repeat([a, b], 10)
        right["valence"].append((path.valence >= 0) == data.valence[own].astype(bool))
        right["arousal"].append((path.arousal >= 0) == data.arousal[own].astype(bool))
    valence, arousal = np.mean(right["valence"]), np.mean(right["arousal"])
    assert valence >= 0.75 and arousal >= 0.85, (valence, arousal)


def test_a_cancel_stops_the_head_between_folds_and_writes_nothing():
    from mer.errors import TrainingCancelled

    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 1  # after the first fold

    with pytest.raises(TrainingCancelled, match="cancelled"):
        training.evaluate_head(_synthetic(), VAConfig(arousal_input="penultimate", c_steps=1, cv_folds=3,
                                                      inner_folds=2), should_stop=stop)
    assert len(asked) == 2
