"""What MusiCNN hears in each of a track's segments: one embedding and 50 tag probabilities per segment.

A segment is read through 3 s MusiCNN patches (187 frames of its 16 kHz
log-mel, :mod:`mer.audio.musicnn`):

* a segment of about 3 s (a 60 s Emotify excerpt cut in 20) is one patch;
* a longer one averages up to ``MAX_PATCHES`` patches spread evenly over it, so
  a 20-minute file costs a small multiple of a 60 s one;
* a shorter one takes the 3 s patch centred on it.

The embedding of a patch is MusiCNN's pooled front- and mid-end features
(:data:`LAYERS`); a segment's is the mean over its patches. :func:`front_end_record`
names the weights (by hash) and :data:`EMBEDDINGS_VERSION`: what a model or a
cache of embeddings records, so that an embedding from other weights is never
reused. Whole corpora, cached, and the bundled embeddings of the 320 Emotify
tracks are :mod:`mer.data.embedded`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels import run_kernel, run_precision
from ..progress import ProgressFn
from . import musicnn
from .decode import Audio, resample
from .segments import Segments, segment_bounds

__all__ = ["LAYERS", "EMBEDDING_DIM", "EMBEDDINGS_VERSION", "MAX_PATCHES", "BUNDLED_PRECISION",
           "SegmentEmbeddings", "patch_starts", "embed_samples", "embed_audio", "front_end_record", "record_precision"]

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
    segments : Segments
        The segments, in the samples embedded (those given to :func:`embed_samples`, or cut there).
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
    segments: Segments
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


def _patches(samples: np.ndarray, sample_rate: int, segments: Segments,
             max_patches: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Each segment's patch starts (:func:`patch_starts`) and the patches themselves, one batch of log-mel
    patches (n_patches, PATCH_FRAMES, 96) of the audio at MusiCNN's 16 kHz."""
    # from the analysis rate, not the source's: the bundled embeddings and models were computed so, and decoding
    # straight to 16 kHz saves little (benchmarks/resample.py)
    y16 = samples if sample_rate == musicnn.SAMPLE_RATE else resample(samples, sample_rate, musicnn.SAMPLE_RATE)
    mel = musicnn.logmel(y16)
    del y16  # a 20-minute track's 77 MB at 16 kHz: not held while the network runs
    starts = patch_starts(len(mel), segments.start_s, segments.end_s, max_patches=max_patches)
    if len(mel) < musicnn.PATCH_FRAMES:
        mel = musicnn.patches(mel, 1)[0]
    return starts, np.stack([mel[i:i + musicnn.PATCH_FRAMES] for i in np.concatenate(starts)])


def embed_samples(samples: np.ndarray, sample_rate: int, *, n_segments: int = 20, segments: Segments | None = None,
                  max_patches: int = MAX_PATCHES, layers: tuple[str, ...] = LAYERS, precision: str | None = None,
                  block_inputs: bool = False, extra_layers: tuple[str, ...] = (), net: musicnn.MusiCNN | None = None,
                  on_progress: ProgressFn | None = None) -> SegmentEmbeddings:
    """:class:`SegmentEmbeddings` of mono ``samples`` cut into ``n_segments`` equal segments.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,)]
        Mono audio at ``sample_rate`` (resampled here to 16 kHz, MusiCNN's rate).
    segments : Segments, optional
        The track's segments where the caller has cut them already (:func:`mer.audio.segments.segment_bounds` of
        these samples; ``n_segments`` is then theirs); default: cut here.
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
    seg = segments if segments is not None else \
        segment_bounds(len(samples), n_segments=n_segments, sample_rate=sample_rate)
    n_segments = len(seg)
    starts, batch = _patches(samples, sample_rate, seg, max_patches=1 if block_inputs else max_patches)
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
                             patches=counts, segments=seg,
                             block_inputs=out.last_block_input.numpy().copy() if block_inputs else None,
                             extra=per_segment(layer_values(extra_layers)) if extra_layers else None)


def embed_audio(audio: Audio, *, n_segments: int = 20, segments: Segments | None = None,
                layers: tuple[str, ...] = LAYERS, precision: str | None = None, block_inputs: bool = False,
                extra_layers: tuple[str, ...] = (), net: musicnn.MusiCNN | None = None,
                on_progress: ProgressFn | None = None) -> SegmentEmbeddings:
    """:func:`embed_samples` of a decoded :class:`~mer.audio.decode.Audio`."""
    return embed_samples(audio.samples, audio.sample_rate, n_segments=n_segments, segments=segments, layers=layers,
                         precision=precision, block_inputs=block_inputs, extra_layers=extra_layers, net=net,
                         on_progress=on_progress)


def front_end_record(precision: str = BUNDLED_PRECISION, layers: tuple[str, ...] = LAYERS) -> dict[str, object]:
    """What a model trained on these embeddings records about its front-end, and checks when it loads."""
    return {"name": "MSD_musicnn", "weights_sha256": musicnn.weights_hash(), "layers": list(layers),
            "embeddings_version": EMBEDDINGS_VERSION, "max_patches": MAX_PATCHES, "precision": precision}


def record_precision(record: dict) -> str:
    """The precision a front-end record names (records written before there was a choice: float32)."""
    return str(record.get("precision", "float32"))
