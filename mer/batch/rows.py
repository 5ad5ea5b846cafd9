"""The rows of a batch's Parquet tables: the columns of ``tracks.parquet``, ``segments.parquet`` and
``profiles.parquet``, the results of a chunk turned into tracks and segment rows, and a timeline's shape (the
profiles' rows).

``valence`` and ``arousal`` (the model's learned head, :mod:`mer.valence`) are null for a model without the head.
A batch written before mer learned them has no such columns; nothing is rewritten to add them (they cannot be
computed without analysing the audio again): its rows read as null (:func:`conform`), and a merge writes them so.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import pyarrow as pa

from ..choices import TrackStatus
from ..emotions import EMOTIONS
from ..text import display_text
from .inputs import input_key
from .worker import TrackResult

__all__ = ["TRACK_SCHEMA", "SEGMENT_SCHEMA", "PROFILE_SCHEMA", "VA_COLUMNS", "VA_SHAPE_COLUMNS", "SOUND_SIZE", "TABLES",
           "PROFILES", "tracks_table", "segments_table", "conform", "timeline_shape"]

_PROBS = [pa.field(e, pa.float32()) for e in EMOTIONS]
#: Numbers in a track's ``sound`` (MusiCNN's tags; mer.audio.musicnn.TAGS).
SOUND_SIZE = 50
_MODEL = [pa.field("model_name", pa.string()), pa.field("model_version", pa.string())]
#: The learned valence and arousal (each in [-1, 1]; null for a model without the head, or a table written before).
VA_COLUMNS = ("valence", "arousal")
_VA = [pa.field(n, pa.float32()) for n in VA_COLUMNS]

TRACK_SCHEMA = pa.schema([
    pa.field("track_id", pa.uint64()), pa.field("path", pa.string()), pa.field("folder", pa.string()),
    pa.field("file", pa.string()), pa.field("size_bytes", pa.int64()), pa.field("mtime_ns", pa.int64()),
    pa.field("input_key", pa.uint64()), pa.field("duration_s", pa.float64()), *_MODEL,
    pa.field("status", pa.string()), pa.field("error", pa.string()), pa.field("top_emotion", pa.string()),
    pa.field("top_probability", pa.float32()), *_PROBS, pa.field("n_segments", pa.int16()),
    pa.field("genre", pa.string()), pa.field("notes", pa.string()),
    # the arithmetic MusiCNN ran in for this track (mer.kernels; null for a log-mel model or an error)
    pa.field("precision", pa.string()),
    # what MusiCNN hears in the track: its 50 tags' probabilities averaged over the segments (null without it)
    pa.field("sound", pa.list_(pa.float16(), SOUND_SIZE)),
    # the path exactly as the file system names it (os.fsencode): ``path``, ``folder`` and ``file`` are UTF-8
    # text for people and tables, where bytes that are not UTF-8 show as ``\xff`` (mer.text.display_text)
    pa.field("path_bytes", pa.binary()),
    *_VA,  # the track's, from the mean of its segments' logits (mer.valence.VAHead.path)
])
SEGMENT_SCHEMA = pa.schema([
    pa.field("track_id", pa.uint64()), pa.field("path", pa.string()), pa.field("segment", pa.int16()),
    pa.field("start_s", pa.float64()), pa.field("end_s", pa.float64()), pa.field("duration_s", pa.float64()),
    *_MODEL, pa.field("status", pa.string()), pa.field("top_emotion", pa.string()), *_PROBS, *_VA,
])
#: The shape of a track's timeline, per emotion: ``E_spread`` (standard deviation over the segments) and
#: ``E_trend`` (least-squares slope over the track, its time scaled to 0..1: end minus start, roughly); then the
#: same of valence and arousal (:data:`VA_SHAPE_COLUMNS`, null where the segments have none).
VA_SHAPE_COLUMNS = tuple(f"{n}_{k}" for k in ("spread", "trend") for n in VA_COLUMNS)
PROFILE_SCHEMA = pa.schema([pa.field("track_id", pa.uint64()),
                            *(pa.field(f"{e}_{k}", pa.float32()) for k in ("spread", "trend") for e in EMOTIONS),
                            *(pa.field(n, pa.float32()) for n in VA_SHAPE_COLUMNS)])
#: The two tables every batch folder holds (and every chunk), and the side table of the timelines' shapes.
TABLES = ("tracks.parquet", "segments.parquet")
PROFILES = "profiles.parquet"


def _text(value: str | None) -> str | None:
    return None if value is None else display_text(value)


def tracks_table(results: Sequence[TrackResult], model: tuple[str, str]) -> pa.Table:
    """The tracks rows of some results (``model`` is ``(name, version)``).

    Text columns hold valid UTF-8 (a file name that is not UTF-8 shows its odd bytes as ``\\xff``); the path
    itself is kept exactly in ``path_bytes``.
    """
    tp = [None if r.reading is None else r.reading.track_probabilities for r in results]
    probs = np.stack([p if p is not None else np.full(len(EMOTIONS), np.nan, np.float32) for p in tp]) \
        if results else np.zeros((0, len(EMOTIONS)), np.float32)
    shown = [display_text(r.path) for r in results]
    vas = [None if r.reading is None else r.reading.va for r in results]
    cols = {
        "track_id": [r.track_id for r in results], "path": shown,
        "folder": [os.path.basename(os.path.dirname(p)) for p in shown],
        "file": [os.path.basename(p) for p in shown],
        "size_bytes": [r.size_bytes for r in results], "mtime_ns": [r.mtime_ns for r in results],
        "input_key": [input_key(r.path, r.size_bytes, r.mtime_ns, ":".join(model)) for r in results],
        "duration_s": [r.duration_s for r in results],
        "model_name": [model[0]] * len(results), "model_version": [model[1]] * len(results),
        "status": [r.status for r in results], "error": [_text(r.error) for r in results],
        "top_emotion": [r.track_top for r in results],
        "top_probability": [None if p is None else float(p.max()) for p in tp],
        **{e: pa.array(probs[:, j], mask=np.array([p is None for p in tp], dtype=bool)) for j, e in enumerate(EMOTIONS)},
        "n_segments": [0 if r.reading is None else len(r.reading.probabilities) for r in results],
        "genre": [_text(r.genre) for r in results], "notes": [_text("; ".join(r.notes)) or None for r in results],
        "precision": [None if r.reading is None else r.reading.precision for r in results],
        "sound": pa.array([None if r.sound is None else r.sound.astype(np.float16) for r in results],
                          pa.list_(pa.float16(), SOUND_SIZE)),
        "path_bytes": [os.fsencode(r.path) for r in results],
        "valence": pa.array([None if va is None else va.track_valence for va in vas], pa.float32()),
        "arousal": pa.array([None if va is None else va.track_arousal for va in vas], pa.float32()),
    }
    return pa.table(cols, schema=TRACK_SCHEMA)


def _segment_va(ok: Sequence[TrackResult], n: list[int], name: str) -> pa.Array:
    """Every segment's ``valence`` or ``arousal`` of the analysed results, null for a track without them."""
    if not ok:
        return pa.array([], pa.float32())
    values = np.concatenate([np.full(k, np.nan) if r.reading.va is None else np.asarray(getattr(r.reading.va, name), np.float64)
                             for r, k in zip(ok, n)]).astype(np.float32)
    return pa.array(values, mask=np.repeat(np.array([r.reading.va is None for r in ok]), n))


def segments_table(results: Sequence[TrackResult], model: tuple[str, str]) -> pa.Table:
    """The segment rows of the analysed results (20 per track; none for an error)."""
    ok = [r for r in results if r.reading is not None]
    n = [len(r.reading.probabilities) for r in ok]
    probs = np.concatenate([r.reading.probabilities for r in ok]) if ok else np.zeros((0, len(EMOTIONS)), np.float32)
    rep = lambda values: np.repeat(np.asarray(values, dtype=object), n) if ok else []  # noqa: E731
    cols = {
        "track_id": np.repeat(np.array([r.track_id for r in ok], dtype=np.uint64), n),
        "path": rep([display_text(r.path) for r in ok]),
        "segment": np.concatenate([np.arange(1, k + 1, dtype=np.int16) for k in n]) if ok else [],
        "start_s": np.concatenate([r.reading.segments.start_s for r in ok]) if ok else [],
        "end_s": np.concatenate([r.reading.segments.end_s for r in ok]) if ok else [],
        "duration_s": np.repeat(np.array([r.duration_s for r in ok], dtype=np.float64), n),
        "model_name": [model[0]] * len(probs), "model_version": [model[1]] * len(probs),
        "status": [TrackStatus.OK.value] * len(probs), "top_emotion": [EMOTIONS[i] for i in probs.argmax(axis=1)] if ok else [],
        **{e: probs[:, j] for j, e in enumerate(EMOTIONS)},
        **{name: _segment_va(ok, n, name) for name in VA_COLUMNS},
    }
    return pa.table(cols, schema=SEGMENT_SCHEMA)


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` in ``schema``: a column that tables written by an older mer lack (``precision``, ``sound``,
    ``path_bytes``) is null."""
    if batch.schema.equals(schema):
        return batch
    columns = [batch.column(f.name) if f.name in batch.schema.names else pa.nulls(batch.num_rows, f.type)
               for f in schema]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def timeline_shape(track_ids: np.ndarray, probabilities: np.ndarray, va: np.ndarray | None = None) -> pa.Table:
    """The shape of each track's timeline, from its segment rows (sorted by track, then segment).

    Parameters
    ----------
    track_ids : np.ndarray [shape=(n,), dtype=uint64]
        The rows' track ids, each track's rows together and in segment order.
    probabilities : np.ndarray [shape=(n, 9)]
        The rows' emotion probabilities.
    va : np.ndarray [shape=(n, 2)], optional
        The rows' valence and arousal, NaN where a segment has none.

    Returns
    -------
    pa.Table
        One row per track in :data:`PROFILE_SCHEMA`: per emotion, and for valence and arousal, the spread
        (standard deviation over the segments) and the trend (least-squares slope against the time through the
        track, scaled to 0..1); valence's and arousal's null for a track with a segment without them.
    """
    n = len(track_ids)
    starts = np.flatnonzero(np.r_[True, track_ids[1:] != track_ids[:-1]]) if n else np.zeros(0, np.int64)
    counts = np.diff(np.r_[starts, n])
    t = (np.arange(n) - np.repeat(starts, counts)) / np.repeat(np.maximum(counts - 1, 1), counts)
    mean = lambda x: np.add.reduceat(x, starts, axis=0) / counts.reshape(-1, *([1] * (x.ndim - 1))) \
        if n else np.zeros((0, *x.shape[1:]))  # noqa: E731
    mt = mean(t)
    var_t = mean(t * t) - mt * mt

    def shape(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = values.astype(np.float64)
        mp = mean(p)
        spread = np.sqrt(np.maximum(mean(p * p) - mp * mp, 0.0))
        cov = mean(p * t[:, None]) - mp * mt[:, None]
        with np.errstate(invalid="ignore"):  # NaN stays NaN: a track without the values
            trend = np.divide(cov, var_t[:, None], out=np.where(np.isnan(cov), np.nan, 0.0),
                              where=var_t[:, None] > 1e-12)
        return spread, trend

    spread, trend = shape(probabilities)
    cols = {"track_id": track_ids[starts]}
    cols |= {f"{e}_spread": spread[:, j].astype(np.float32) for j, e in enumerate(EMOTIONS)}
    cols |= {f"{e}_trend": trend[:, j].astype(np.float32) for j, e in enumerate(EMOTIONS)}
    va = np.full((n, len(VA_COLUMNS)), np.nan) if va is None else va
    with np.errstate(invalid="ignore"):
        va_spread, va_trend = shape(va)
    for j, name in enumerate(VA_COLUMNS):
        for kind, values in (("spread", va_spread[:, j]), ("trend", va_trend[:, j])):
            cols[f"{name}_{kind}"] = pa.array(values.astype(np.float32), mask=~np.isfinite(values))
    return pa.table(cols, schema=PROFILE_SCHEMA)
