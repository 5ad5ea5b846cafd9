"""Oversampling (SMOTE and friends), class weights, the imbalance ratio, the PCA of real and synthetic samples."""

from __future__ import annotations

import numpy as np
import pytest

from mer.data.balance import class_counts, class_weights, imbalance_ratio, oversample
from mer.data.stats import pca_projection
from mer.errors import DataError


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
