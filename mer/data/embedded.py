"""Corpora as MusiCNN hears them: each track's segment embeddings, computed and cached, or as mer ships them.

:func:`corpus_embeddings` embeds every track of a corpus (:func:`mer.audio.embeddings.embed_audio`, one process per
core) and caches the result in the feature cache, keyed by the corpus's files, the audio config and the
front-end's record (:func:`mer.audio.embeddings.front_end_record`: weights hash, layers, version, precision), so an
embedding from other weights is never reused. Those of the 320 Emotify tracks the team holds ship with mer
(:data:`BUNDLED_EMBEDDINGS`, float16), checked against the front-end this mer runs when they load.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..audio.decode import load_audio
from ..audio.embeddings import BUNDLED_PRECISION, LAYERS, embed_audio, front_end_record, record_precision
from ..config import AudioConfig
from ..emotions import EMOTIONS, GENRES
from ..errors import DataError, MerError
from ..files import loads_json, open_atomic
from ..kernels import run_precision
from ..pool import AUDIO_MODULES, map_with_progress
from ..progress import ProgressFn
from ..serial import to_dict

if TYPE_CHECKING:  # a worker that embeds files needs none of the corpus code (pandas and pyarrow: 67 MB)
    from .dataset import TrackData
    from .emotify import Corpus

__all__ = ["BUNDLED_EMBEDDINGS", "BUNDLED_LAYER_FILES", "BundledEmbeddings", "load_bundled_embeddings",
           "save_embeddings", "corpus_embeddings", "embedding_track_data", "bundled_track_data"]

BUNDLED_EMBEDDINGS = Path(__file__).resolve().parent.parent / "resources" / "emotify" / "segment-embeddings.npz"
#: The bundled Emotify embeddings by MusiCNN layer: the GEMS head's (:data:`~mer.audio.embeddings.LAYERS`), and the
#: valence–arousal head's.
BUNDLED_LAYER_FILES: dict[str, Path] = {"mean_pool": BUNDLED_EMBEDDINGS,
                                        "penultimate": BUNDLED_EMBEDDINGS.with_name("segment-penultimate.npz")}


@dataclass(frozen=True)
class BundledEmbeddings:
    """Per-segment embeddings and tags of a set of Emotify tracks, as shipped."""

    vectors: np.ndarray  # (n_tracks, n_segments, EMBEDDING_DIM), float16
    tags: np.ndarray  # (n_tracks, n_segments, 50), float16
    track_id: np.ndarray
    front_end: dict


def save_embeddings(path: str | os.PathLike, vectors: np.ndarray, tags: np.ndarray, track_id: np.ndarray, *,
                    layers: tuple[str, ...] = LAYERS) -> Path:
    """Write embeddings as the bundled file is written: float16, compressed, with their front-end record
    (``layers``: the MusiCNN layers ``vectors`` concatenates)."""
    with open_atomic(path) as f:
        np.savez_compressed(f, vectors=vectors.astype(np.float16), tags=tags.astype(np.float16),
                            track_id=np.asarray(track_id, dtype=np.int32),
                            front_end=np.array(json.dumps(front_end_record(layers=layers))))
    return Path(path)


def load_bundled_embeddings(path: str | os.PathLike = BUNDLED_EMBEDDINGS, *,
                            layers: tuple[str, ...] = LAYERS) -> BundledEmbeddings:
    """The shipped embeddings of MusiCNN's ``layers``, checked against the front-end this mer runs.

    Raises
    ------
    DataError
        The file is missing or damaged, or was computed by other weights or another version of this module.
    """
    remedy = ("Rebuild it with `python benchmarks/bundle_embeddings.py --root ../shared/emotify` (Emotify) or "
              "`python benchmarks/bundle_4q.py --root ../shared/4q` (4Q).")
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in ("vectors", "tags", "track_id", "front_end")}
        record = loads_json(str(data["front_end"]), what="its front-end record", error=DataError)
    except (OSError, KeyError, ValueError) as e:
        raise DataError(f"The bundled embeddings '{path}' cannot be read ({e}). {remedy}") from None
    if record != front_end_record(layers=layers):
        raise DataError(f"The bundled embeddings '{path}' were computed by another front-end ({record.get('name')}, "
                        f"weights {record.get('weights_sha256')}, version {record.get('embeddings_version')}, "
                        f"{record_precision(record)}; this mer computes {BUNDLED_PRECISION}). {remedy}")
    return BundledEmbeddings(vectors=data["vectors"], tags=data["tags"], track_id=data["track_id"], front_end=record)


def _embed_file(args: tuple[str, AudioConfig, int, str, bool]) -> tuple[np.ndarray, np.ndarray]:
    path, audio_config, n_segments, precision, block_inputs = args
    import torch

    torch.set_num_threads(1)  # one pool worker per core
    try:
        audio = load_audio(path, config=audio_config)
    except MerError as e:
        raise DataError(f"Cannot embed '{path}': {e}") from None
    emb = embed_audio(audio, n_segments=n_segments, precision=precision, block_inputs=block_inputs)
    return (emb.fine_tune_inputs() if block_inputs else emb.vectors), emb.tags


def corpus_embeddings(corpus: Corpus, *, audio_config: AudioConfig = AudioConfig(), n_segments: int = 20,
                      precision: str | None = None, block_inputs: bool = False,
                      cache_dir: str | os.PathLike | None = None, workers: int | None = None,
                      on_progress: ProgressFn | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings and tags of every track of a corpus: (n_tracks, n_segments, EMBEDDING_DIM) and (…, 50).

    With ``block_inputs`` each segment's row is
    :meth:`~mer.audio.embeddings.SegmentEmbeddings.fine_tune_inputs` (EMBEDDING_DIM + LAST_BLOCK_INPUTS numbers).
    Cached in the feature cache, keyed by the corpus's files, the audio config and
    :func:`~mer.audio.embeddings.front_end_record` (so embeddings of other weights or another precision are never
    reused).
    """
    from .. import settings

    cache = Path(cache_dir) if cache_dir is not None else settings.cache_dir()
    precision = run_precision(precision)
    record = front_end_record(precision)
    key = hashlib.sha256(json.dumps([corpus.fingerprint(), to_dict(audio_config), n_segments, record, block_inputs],
                                    sort_keys=True).encode()).hexdigest()[:16]
    cached = cache / f"embeddings-{key}.npz"
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as z:
            if on_progress:
                on_progress(len(corpus), len(corpus), "embeddings read from cache")
            return z["vectors"].astype(np.float32), z["tags"].astype(np.float32)
    jobs = [(p, audio_config, n_segments, precision, block_inputs) for p in corpus.tracks["path"]]
    rows = map_with_progress(_embed_file, jobs, message="MusiCNN: embedding segments", workers=workers,
                             on_progress=on_progress, min_jobs=8, preload=("mer.data.embedded", *AUDIO_MODULES))
    vectors, tags = np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with open_atomic(cached) as f:
            np.savez(f, vectors=vectors.astype(np.float16), tags=tags.astype(np.float16))
    except OSError:
        pass  # a read-only cache only costs time next run
    return vectors.astype(np.float16).astype(np.float32), tags


def embedding_track_data(corpus: Corpus, precision: str | None = None, **kwargs) -> TrackData:
    """:class:`~mer.data.dataset.TrackData` whose inputs are the corpus's segment embeddings (see
    :func:`corpus_embeddings`), computed in ``precision`` (default: this machine's), which the data records."""
    from .dataset import TrackData, corpus_responses

    precision = run_precision(precision)
    vectors, _ = corpus_embeddings(corpus, precision=precision, **kwargs)
    genre = corpus.tracks["genre"].map({g: i for i, g in enumerate(GENRES)}).fillna(-1).to_numpy(dtype=np.int64)
    return TrackData(X=vectors, labels=corpus.labels, shares=corpus.shares, genre=genre,
                     track_id=corpus.tracks["track_id"].to_numpy(), responses=corpus_responses(corpus),
                     precision=precision)


def bundled_track_data() -> TrackData:
    """The 320 Emotify tracks mer ships embeddings of, labelled from the bundled annotations, with their
    pooled log-mel summaries (from the bundled compact features) for the linear baseline."""
    import pandas as pd

    from .compact import BUNDLED_FEATURES, load_compact_features
    from .dataset import TrackData
    from .emotify import load_annotations

    emb = load_bundled_embeddings()
    tracks = load_annotations().tracks.set_index("track_id").loc[emb.track_id]
    shares = tracks[list(EMOTIONS)].to_numpy(dtype=np.float64)
    compact = load_compact_features(BUNDLED_FEATURES)
    order = pd.Index(compact.track_id).get_indexer(emb.track_id)
    if (order < 0).any():
        raise DataError("The bundled embeddings and compact features name different tracks; rebuild both.")
    seg = compact.X[order].astype(np.float64)  # (n, S, 2 n_mels): per segment mean, std of each band
    n_mels = seg.shape[2] // 2
    mean = seg[..., :n_mels].mean(axis=1)
    var = (seg[..., n_mels:] ** 2 + seg[..., :n_mels] ** 2).mean(axis=1) - mean ** 2  # law of total variance
    genre = tracks["genre"].map({g: i for i, g in enumerate(GENRES)}).fillna(-1).to_numpy(dtype=np.int64)
    return TrackData(X=emb.vectors.astype(np.float32), labels=shares.argmax(axis=1), shares=shares, genre=genre,
                     track_id=emb.track_id, summary=np.concatenate([mean, np.sqrt(np.maximum(var, 0))], axis=1),
                     responses=tracks["n_responses"].to_numpy(dtype=np.float64), precision=record_precision(emb.front_end))
