"""A corpus as MusiCNN hears it: every track's segment embeddings, cached and never reused across front-ends, and
the bundled embeddings of Emotify that the default model trains on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mer.audio import embeddings, musicnn
from mer.data import embedded
from mer.errors import DataError
from mer.kernels import run_precision


def test_bundled_embeddings_from_another_front_end_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "emb.npz"
    embedded.save_embeddings(path, np.zeros((2, 20, 4)), np.zeros((2, 20, 50)), np.array([1, 2]))
    assert embedded.load_bundled_embeddings(path).vectors.dtype == np.float16
    monkeypatch.setattr(musicnn, "weights_hash", lambda path=None: "0123456789abcdef")
    with pytest.raises(DataError, match="another front-end.*bundle_embeddings.py"):
        embedded.load_bundled_embeddings(path)


def test_the_bundled_embeddings_are_emotifys_320_tracks_with_their_votes():
    data = embedded.bundled_track_data()
    assert data.X.shape == (320, 20, embeddings.EMBEDDING_DIM) and np.isfinite(data.X).all()
    assert np.bincount(data.genre).tolist() == [80, 80, 80, 80]
    np.testing.assert_allclose(data.shares.max(axis=1), data.shares[np.arange(320), data.labels])
    assert data.summary.shape == (320, 128) and np.isfinite(data.summary).all()
    size = embedded.BUNDLED_EMBEDDINGS.stat().st_size
    assert size <= 12e6, f"the bundled embeddings are {size / 1e6:.1f} MB"


def test_corpus_embeddings_are_cached_and_never_reused_across_front_ends(tmp_path, monkeypatch):
    from mer.data.demo import DemoConfig, generate_demo_corpus
    from mer.data.emotify import load_corpus

    corpus = load_corpus(generate_demo_corpus(tmp_path / "c", DemoConfig(tracks=4, seconds=10.5, seed=3)))
    monkeypatch.setenv("MER_PRECISION", "float32")
    seen = []
    first, tags = embedded.corpus_embeddings(corpus, n_segments=4, cache_dir=tmp_path / "cache",
                                             on_progress=lambda d, t, m: seen.append(m))
    again, _ = embedded.corpus_embeddings(corpus, n_segments=4, cache_dir=tmp_path / "cache",
                                          on_progress=lambda d, t, m: seen.append(m))
    assert first.shape == (4, 4, embeddings.EMBEDDING_DIM) and tags.shape == (4, 4, 50)
    np.testing.assert_array_equal(first, again)
    assert seen[-1] == "embeddings read from cache"
    # int8 is many times slower than float32 on a CPU without VNNI: its entry is computed by the float32 network
    # here (int8's own numbers are tested in test_musicnn.py); what matters is that it is an entry of its own
    loaded = []
    monkeypatch.setattr(musicnn, "load_musicnn", lambda precision="float32", kernel="direct": loaded.append(precision)
                        or musicnn._load_bundled("float32", kernel))
    for kwargs in ({"precision": "int8"}, {"block_inputs": True}):  # each its own cache entry
        seen.clear()
        other, _ = embedded.corpus_embeddings(corpus, n_segments=4, cache_dir=tmp_path / "cache",
                                              on_progress=lambda d, t, m: seen.append(m), **kwargs)
        assert "embeddings read from cache" not in seen, kwargs
        if "block_inputs" in kwargs:  # the embedding, then the block's inputs
            assert other.shape == (4, 4, embeddings.EMBEDDING_DIM + musicnn.LAST_BLOCK_INPUTS)
            np.testing.assert_array_equal(other[..., :embeddings.EMBEDDING_DIM], first)
        else:
            assert other.shape == first.shape and set(loaded) == {"int8"}
    monkeypatch.undo()
    monkeypatch.setenv("MER_PRECISION", "float32")
    monkeypatch.setattr(musicnn, "weights_hash", lambda path=None: "another-network")
    seen.clear()
    embedded.corpus_embeddings(corpus, n_segments=4, cache_dir=tmp_path / "cache",
                               on_progress=lambda d, t, m: seen.append(m))
    assert "embeddings read from cache" not in seen and len(list((tmp_path / "cache").glob("embeddings-*"))) == 4
    record = json.loads(json.dumps(embeddings.front_end_record()))
    assert record["weights_sha256"] == "another-network"


def test_training_data_from_audio_are_the_corpus_embeddings(tmp_path):
    """``train --root DIR`` with the MusiCNN front-end: the corpus is embedded (and cached), labelled from data.csv."""
    from mer.config import ModelConfig
    from mer.data.demo import DemoConfig, generate_demo_corpus
    from mer.data.emotify import load_corpus
    from mer.training.train import load_training_data

    root = generate_demo_corpus(tmp_path / "c", DemoConfig(tracks=4, seconds=10.5, seed=5))
    data, info = load_training_data(root, model_config=ModelConfig(), cache_dir=tmp_path / "cache")
    corpus = load_corpus(root)
    vectors, _ = embedded.corpus_embeddings(corpus, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(data.X, vectors)
    assert data.X.shape == (4, 20, embeddings.EMBEDDING_DIM) and list(data.labels) == list(corpus.labels)
    assert info.kind == "demo" and info.n_tracks == 4 and data.precision == run_precision()
