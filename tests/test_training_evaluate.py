"""The scores every accuracy on the pages, the card and the README comes from (mer.training.evaluate), checked on
predictions small enough to score by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mer.emotions import EMOTIONS, GENRES
from mer.training.evaluate import (
    genre_prior_baseline,
    listener_agreement,
    logreg_baseline,
    majority_baseline,
    pooled_logmel,
    score,
)


def test_scores_of_hard_predictions_equal_the_hand_counts():
    # truth 0 0 0 1 1 2; predicted 0 0 1 1 2 2: 4 of 6 right
    m = score(np.array([0, 0, 0, 1, 1, 2]), y_pred=np.array([0, 0, 1, 1, 2, 2]))
    assert m.accuracy == pytest.approx(4 / 6) and m.n == 6 and m.top3 is None and m.agreement is None
    # recall 2/3, 1/2, 1; precision 1, 1/2, 1/2; F1 0.8, 0.5, 2/3 (the six emotions never present are left out)
    assert m.balanced_accuracy == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert m.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m.per_class[EMOTIONS[0]].precision == 1.0 and m.per_class[EMOTIONS[2]].precision == 0.5
    assert m.per_class[EMOTIONS[1]].support == 2 and m.per_class[EMOTIONS[8]].support == 0
    assert m.confusion[0][:3] == [2, 1, 0] and m.confusion[1][:3] == [0, 1, 1] and sum(map(sum, m.confusion)) == 6


def test_top3_and_listener_agreement_from_probabilities():
    probs = np.zeros((3, 9))
    probs[0, [4, 1, 2]] = [0.5, 0.3, 0.2]  # truth 1: second, in the top three
    probs[1, [0, 5, 6, 7]] = [0.4, 0.3, 0.2, 0.1]  # truth 7: fourth, outside
    probs[2, 3] = 1.0  # truth 3: first
    shares = np.full((3, 9), 0.1)
    shares[0, 4], shares[1, 0], shares[2, 3] = 0.5, 0.0, 0.3
    m = score(np.array([1, 7, 3]), probs=probs, shares=shares)
    assert m.accuracy == pytest.approx(1 / 3) and m.top3 == pytest.approx(2 / 3)
    assert m.agreement == pytest.approx((0.5 + 0.0 + 0.3) / 3)
    assert listener_agreement(shares, np.array([], dtype=int)) == 0.0


def test_a_score_needs_exactly_one_kind_of_prediction():
    with pytest.raises(ValueError, match="exactly one"):
        score(np.array([0]))
    with pytest.raises(ValueError, match="exactly one"):
        score(np.array([0]), probs=np.eye(9)[:1], y_pred=np.array([0]))


def test_an_empty_test_set_scores_zero_without_dividing_by_it():
    m = score(np.array([], dtype=int), probs=np.zeros((0, 9)))
    assert (m.accuracy, m.macro_f1, m.balanced_accuracy, m.top3, m.n) == (0.0, 0.0, 0.0, None, 0)


def test_the_majority_and_genre_baselines_answer_from_the_training_fold_only():
    y_train = np.array([3, 3, 5, 5, 5, 0])
    assert majority_baseline(y_train, 2).argmax(axis=1).tolist() == [5, 5]
    genre_train = np.array([GENRES[0], GENRES[0], GENRES[1], GENRES[1], GENRES[1], GENRES[2]])
    probs = genre_prior_baseline(y_train, genre_train, np.array([GENRES[0], GENRES[1], GENRES[2]]))
    assert probs.argmax(axis=1).tolist() == [3, 5, 0]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probs[0, 3] == pytest.approx(1.0, abs=1e-5)


def test_the_linear_baseline_learns_a_separable_fold():
    rng = np.random.default_rng(0)
    y = np.repeat([2, 6], 20)
    F = rng.normal(size=(40, 3)) + np.where(y[:, None] == 2, -3.0, 3.0)
    probs = logreg_baseline(F[::2], y[::2], F[1::2])
    assert probs.shape == (20, 9) and (probs.argmax(axis=1) == y[1::2]).all()
    assert probs[:, [0, 1, 3, 4, 5, 7, 8]].max() == 0.0  # classes never trained on get nothing


def test_pooled_logmel_is_each_bands_mean_and_spread_over_every_frame():
    X = np.zeros((2, 3, 4, 5), dtype=np.float32)  # tracks, segments, mel bands, frames
    X[0, :, 1, :] = 2.0
    X[1, 0, 3, :] = 6.0  # one segment of three loud in band 3
    F = pooled_logmel(X)
    assert F.shape == (2, 8)
    np.testing.assert_allclose(F[0], [0, 2, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(F[1, :4], [0, 0, 0, 2]) and np.testing.assert_allclose(F[1, 7], np.sqrt(8.0), rtol=1e-6)
