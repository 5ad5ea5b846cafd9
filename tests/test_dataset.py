"""A corpus as the model's inputs: the feature cache."""

from __future__ import annotations

import numpy as np

from mer.data.dataset import segment_data
from mer.data.emotify import load_corpus


def test_features_come_from_the_cache_the_second_time(tiny_corpus, tmp_path):
    corpus = load_corpus(tiny_corpus)
    first_msgs, second_msgs = [], []
    a = segment_data(corpus, cache_dir=tmp_path, on_progress=lambda d, t, m: first_msgs.append(m))
    b = segment_data(corpus, cache_dir=tmp_path, on_progress=lambda d, t, m: second_msgs.append(m))
    assert "extracting segment features" in first_msgs and second_msgs == ["features read from cache"]
    np.testing.assert_array_equal(a.X, b.X)
    assert a.X.shape == (36 * 20, 64, 126)
    assert len(list(tmp_path.glob("features-*.npz"))) == 1
