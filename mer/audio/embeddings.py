"""What MusiCNN hears in each of a track's segments: one embedding and 50 tag probabilities per segment.

A segment is read through 3 s MusiCNN patches (187 frames of its 16 kHz
log-mel, :mod:`mer.audio.musicnn`):

* a segment of about 3 s (a 60 s Emotify excerpt cut in 20) is one patch;
* a longer one averages up to ``MAX_PATCHES`` patches spread evenly over it, so
  a 20-minute file costs a small multiple of a 60 s one;
* a shorter one takes the 3 s patch centred on it.

The embedding of a patch is MusiCNN's pooled front- and mid-end features
(:data:`LAYERS`); a segment's is the mean over its patches. Embeddings of a
corpus are cached per track, keyed by the front-end's weights hash and
:data:`EMBEDDINGS_VERSION`, so an embedding from other weights is never
reused; those of the 320 Emotify tracks the team holds ship with mer
(:data:`BUNDLED_EMBEDDINGS`, float16).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import musicnn
from .decode import Audio, load_audio, resample
from ..config import AudioConfig
from ..emotions import EMOTIONS, GENRES
from ..serial import to_dict
from ..errors import DataError, MerError
from ..files import loads_json, open_atomic
from ..kernels import run_kernel, run_precision
from ..pool import AUDIO_MODULES, map_with_progress
from ..progress import ProgressFn
from .segments import segment_bounds

if TYPE_CHECKING:  # an analysis needs none of the corpus code (pandas and pyarrow: 67 MB of a process's memory)
    from ..data.dataset import TrackData
    from ..data.emotify import Corpus

__all__ = ["LAYERS", "EMBEDDING_DIM", "EMBEDDINGS_VERSION", "MAX_PATCHES", "BUNDLED_PRECISION", "BUNDLED_EMBEDDINGS",
           "BUNDLED_LAYER_FILES",
           "SegmentEmbeddings", "patch_starts", "embed_samples", "embed_audio", "front_end_record", "record_precision",
           "BundledEmbeddings", "load_bundled_embeddings", "save_embeddings", "corpus_embeddings",
           "embedding_track_data", "bundled_track_data"]

#: MusiCNN layers concatenated into a segment's embedding (see benchmarks/emotify_cv.py for the choice).
LAYERS: tuple[str, ...] = ("mean_pool",)
EMBEDDING_DIM = 753
#: Bump when this module's output changes for the same audio and weights: cached embeddings are then ignored.
EMBEDDINGS_VERSION = 1
#: Patches a long segment averages at most.
MAX_PATCHES = 4
#: The precision the bundled Emotify embeddings were computed in (8-bit timbral convolutions, on a VNNI CPU).
#: Embeddings computed here run in the machine's precision (:func:`mer.kernels.run_precision`); the two agree
#: to about 1 % of the embedding's values (benchmarks/emotify_cv.py reports the cross-validated accuracy at both).
BUNDLED_PRECISION = "int8"
BUNDLED_EMBEDDINGS = Path(__file__).resolve().parent.parent / "resources" / "emotify" / "segment-embeddings.npz"
#: The bundled Emotify embeddings by MusiCNN layer: the GEMS head's (:data:`LAYERS`), and the valence–arousal head's.
BUNDLED_LAYER_FILES: dict[str, Path] = {"mean_pool": BUNDLED_EMBEDDINGS,
                                        "penultimate": BUNDLED_EMBEDDINGS.with_name("segment-penultimate.npz")}
_FRAMES_PER_S = musicnn.SAMPLE_RATE / musicnn.HOP


@dataclass(frozen=True)
class SegmentEmbeddings:
    """MusiCNN's view of one track, segment by segment.

    Attributes
    ----------
    vectors : np.ndarray [shape=(n_segments, EMBEDDING_DIM), dtype=float32]
    tags : np.ndarray [shape=(n_segments, 50)]
        Tag probabilities (:data:`mer.audio.musicnn.TAGS`), the mean over the segment's patches.
    patches : np.ndarray [shape=(n_segments,)]
        Patches averaged per segment.
    block_inputs : np.ndarray [shape=(n_segments, 64, 187)], optional
        For fine-tuning: what MusiCNN's last block (:class:`mer.audio.musicnn.LastBlock`) reads in each segment's
        patch (one patch a segment, see :func:`embed_samples`).
    extra : np.ndarray [shape=(n_segments, n_extra)], optional
        Further layers asked for (``extra_layers`` of :func:`embed_samples`: the valence–arousal head's), averaged
        over the same patches.
    """

    vectors: np.ndarray
    tags: np.ndarray
    patches: np.ndarray
    block_inputs: np.ndarray | None = None
    extra: np.ndarray | None = None

    def fine_tune_inputs(self) -> np.ndarray:
        """The inputs of a model that fine-tunes MusiCNN's last block: each segment's vector, then its
        patch's block input, flattened: (n_segments, EMBEDDING_DIM + LAST_BLOCK_INPUTS)."""
        if self.block_inputs is None:
            raise ValueError("these embeddings were computed without block_inputs=True")
        return np.concatenate([self.vectors, self.block_inputs.reshape(len(self.vectors), -1)], axis=1)


def patch_starts(n_frames: int, starts_s: np.ndarray, ends_s: np.ndarray, *,
                 max_patches: int = MAX_PATCHES) -> list[np.ndarray]:
    """First frame of every patch of each segment (segments given in seconds).

    A patch is :data:`mer.audio.musicnn.PATCH_FRAMES` frames; starts are clamped to the track, so a track shorter
    than one patch gets start 0 (its frames are then repeated, see :func:`mer.audio.musicnn.patches`).
    """
    size, last = musicnn.PATCH_FRAMES, max(0, n_frames - musicnn.PATCH_FRAMES)
    out = []
    for s, e in zip(starts_s, ends_s):
        a, b = int(round(s * _FRAMES_PER_S)), int(round(e * _FRAMES_PER_S))
        n = int(np.clip((b - a) // size, 1, max_patches))
        if b - a >= size:
            first = a + np.round(np.linspace(0, b - a - size, n)).astype(np.int64) if n > 1 else \
                np.array([a + (b - a - size) // 2])
        else:  # shorter than a patch: the patch centred on it
            first = np.array([int(round((a + b - size) / 2))])
        out.append(np.clip(first, 0, last))
    return out


def embed_samples(samples: np.ndarray, sample_rate: int, *, n_segments: int = 20, max_patches: int = MAX_PATCHES,
                  layers: tuple[str, ...] = LAYERS, precision: str | None = None, block_inputs: bool = False,
                  extra_layers: tuple[str, ...] = (), net: musicnn.MusiCNN | None = None,
                  on_progress: ProgressFn | None = None) -> SegmentEmbeddings:
    """:class:`SegmentEmbeddings` of mono ``samples`` cut into ``n_segments`` equal segments.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,)]
        Mono audio at ``sample_rate`` (resampled here to 16 kHz, MusiCNN's rate).
    layers : tuple of str
        MusiCNN layers (:class:`mer.audio.musicnn.MusiCNNOutput` fields) concatenated into a segment's vector.
    precision : {"float32", "int8"}, optional
        How the bundled MusiCNN computes (:data:`mer.audio.musicnn.PRECISIONS`); default: what this machine does
        fastest (:func:`mer.kernels.run_precision`).
    block_inputs : bool
        Also keep each segment's input to MusiCNN's last block (to fine-tune it). A segment is then read
        through one patch, its middle one (``max_patches`` is 1), so that the block's input and the other
        values of the embedding come from the same 3 s.
    net : MusiCNN, optional
        Default: the bundled MSD_musicnn at ``precision`` (:func:`mer.audio.musicnn.load_musicnn`).
    on_progress : ProgressFn, optional
        Told ``(0, n, "MusiCNN on n patches of 3 s")`` before the network runs on the ``n`` patches (in one
        batch), and ``(n, n, ...)`` after.
    """
    import torch

    net = net or musicnn.load_musicnn(precision=run_precision(precision), kernel=run_kernel())
    max_patches = 1 if block_inputs else max_patches
    y16 = samples if sample_rate == musicnn.SAMPLE_RATE else resample(samples, sample_rate, musicnn.SAMPLE_RATE)
    mel = musicnn.logmel(y16)
    seg = segment_bounds(len(samples), n_segments=n_segments, sample_rate=sample_rate)
    starts = patch_starts(len(mel), seg.start_s, seg.end_s, max_patches=max_patches)
    if len(mel) < musicnn.PATCH_FRAMES:
        mel = musicnn.patches(mel, 1)[0]
    flat = np.concatenate(starts)
    batch = np.stack([mel[i:i + musicnn.PATCH_FRAMES] for i in flat])
    del y16, mel  # a 20-minute track's 77 MB at 16 kHz and its spectrogram: not held while the network runs
    said = f"MusiCNN on {len(batch)} patches of 3 s"
    if on_progress is not None:
        on_progress(0, len(batch), said)
    with torch.inference_mode():
        out = net(torch.from_numpy(batch))
    if on_progress is not None:
        on_progress(len(batch), len(batch), said)
    owner = np.repeat(np.arange(n_segments), [len(s) for s in starts])
    counts = np.bincount(owner, minlength=n_segments)

    def per_segment(values: np.ndarray) -> np.ndarray:
        total = np.zeros((n_segments, values.shape[1]), dtype=np.float64)
        np.add.at(total, owner, values)
        return (total / counts[:, None]).astype(np.float32)

    def layer_values(names: tuple[str, ...]) -> np.ndarray:
        return torch.cat([getattr(out, name) for name in names], dim=1).numpy()

    return SegmentEmbeddings(vectors=per_segment(layer_values(layers)), tags=per_segment(out.tags.numpy()),
                             patches=counts,
                             block_inputs=out.last_block_input.numpy().copy() if block_inputs else None,
                             extra=per_segment(layer_values(extra_layers)) if extra_layers else None)


def embed_audio(audio: Audio, *, n_segments: int = 20, layers: tuple[str, ...] = LAYERS,
                precision: str | None = None, block_inputs: bool = False, extra_layers: tuple[str, ...] = (),
                net: musicnn.MusiCNN | None = None, on_progress: ProgressFn | None = None) -> SegmentEmbeddings:
    """:func:`embed_samples` of a decoded :class:`~mer.audio.decode.Audio`."""
    return embed_samples(audio.samples, audio.sample_rate, n_segments=n_segments, layers=layers,
                         precision=precision, block_inputs=block_inputs, extra_layers=extra_layers, net=net,
                         on_progress=on_progress)


def front_end_record(precision: str = BUNDLED_PRECISION, layers: tuple[str, ...] = LAYERS) -> dict[str, object]:
    """What a model trained on these embeddings records about its front-end, and checks when it loads."""
    return {"name": "MSD_musicnn", "weights_sha256": musicnn.weights_hash(), "layers": list(layers),
            "embeddings_version": EMBEDDINGS_VERSION, "max_patches": MAX_PATCHES, "precision": precision}


def record_precision(record: dict) -> str:
    """The precision a front-end record names (records written before there was a choice: float32)."""
    return str(record.get("precision", "float32"))


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


# --- corpora -----------------------------------------------------------------------------


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

    With ``block_inputs`` each segment's row is :meth:`SegmentEmbeddings.fine_tune_inputs` (EMBEDDING_DIM +
    LAST_BLOCK_INPUTS numbers). Cached in the feature cache, keyed by the corpus's files, the audio config and
    :func:`front_end_record` (so embeddings of other weights or another precision are never reused).
    """
    from ..data.dataset import default_cache_dir

    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
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
                             on_progress=on_progress, min_jobs=8, preload=("mer.audio.embeddings", *AUDIO_MODULES))
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
    from ..data.dataset import TrackData, corpus_responses

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

    from ..data.compact import BUNDLED_FEATURES, load_compact_features
    from ..data.dataset import TrackData
    from ..data.emotify import load_annotations

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
