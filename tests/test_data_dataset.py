"""A corpus as the model's inputs: the feature cache."""

from __future__ import annotations

import re

import numpy as np
import pytest

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


def test_a_corpus_file_that_does_not_decode_is_named_by_each_use(tiny_corpus, tmp_path):
    import shutil

    from mer.data.compact import build_compact_features
    from mer.errors import DataError

    root = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, root)
    bad = load_corpus(root).paths[1]
    bad.write_bytes(b"not audio" * 100)
    with pytest.raises(DataError, match=rf"^Cannot summarise '{re.escape(str(bad))}': .*not .*audio"):
        build_compact_features(root, workers=1)
    with pytest.raises(DataError, match=rf"^Cannot use '{re.escape(str(bad))}' for training: "):
        segment_data(load_corpus(root), cache_dir=tmp_path / "cache", workers=1)
