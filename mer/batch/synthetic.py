"""A synthetic batch in mer's own format, without audio: tracks and segments made up from a seed, written by the
store's functions (chunks, then the merge), so the tables are exactly what ``python -m mer batch`` writes.

For the scale benchmark (``benchmarks/library_scale.py``) and tests of the Library at catalogue scale; with
``layout="older"``, a batch as mer wrote it before the query layer (segments in the chunks' order, no
profiles), which :func:`mer.batch.upgrade.upgrade_batch` brings up to date.

Each track's valence and arousal are made up as the learned head would give them (:meth:`mer.valence.VAHead.path`):
per segment, logits that lean where its emotions sit on Russell's plane (:func:`mer.circumplex.project`), plus
the track's own lean and some noise; the track's values from the mean of its segments' logits.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow.parquet as pq

from ..analyze import Reading
from ..audio.segments import Segments
from ..choices import TrackStatus
from ..circumplex import project
from ..emotions import EMOTIONS, GENRES
from ..errors import BatchError
from ..files import write_json_atomic
from ..valence import VAPath, to_unit
from .inputs import HashSet, path_id
from .rows import SEGMENT_SCHEMA, SOUND_SIZE, TRACK_SCHEMA
from .store import locked, merge_parts, write_part
from .worker import TrackResult

__all__ = ["write_synthetic_batch", "LAYOUTS"]

#: How the tables are laid out: as ``python -m mer batch`` writes them today, or as it did before the query layer.
LAYOUTS = ("current", "older")

_SEGMENTS = 20
_SECONDS = 60.0
_MODEL = ("synthetic", "0")


def _va(seg: np.ndarray, rng: np.random.Generator) -> list[VAPath]:
    """Made-up valence and arousal of tracks whose segments have the probabilities ``seg`` ``(n, 20, 9)``."""
    logits = 4.0 * project(seg) + rng.normal(0.0, 1.0, size=(len(seg), 1, 2)) + rng.normal(0.0, 0.5, size=seg.shape[:2] + (2,))
    unit, track = to_unit(logits), to_unit(logits.mean(axis=1))
    return [VAPath(valence=unit[j, :, 0], arousal=unit[j, :, 1], track_valence=float(track[j, 0]),
                   track_arousal=float(track[j, 1])) for j in range(len(seg))]


def _results(start: int, n: int, rng: np.random.Generator, root: str, error_rate: float,
             va_rng: np.random.Generator) -> Iterator[TrackResult]:
    """``n`` made-up analyses: each track leans to one emotion, drifts towards another over its 20 segments; its
    valence and arousal follow (:func:`_va`, drawn from ``va_rng``)."""
    k = len(EMOTIONS)
    lean = rng.integers(0, k, size=n)
    drift = rng.integers(0, k, size=n)
    base = rng.dirichlet(np.full(k, 0.6), size=n) * 0.6 + np.eye(k)[lean] * 0.4
    bounds = np.rint(np.linspace(0.0, _SECONDS, _SEGMENTS + 1) * 1000).astype(np.int64)  # milliseconds, exact
    segments = Segments(bounds[:-1], bounds[1:], 1000)
    t = np.linspace(0.0, 1.0, _SEGMENTS)[None, :, None]
    seg = base[:, None, :] * (1 - 0.3 * t) + np.eye(k)[drift][:, None, :] * 0.3 * t
    seg = seg * rng.uniform(0.85, 1.15, size=seg.shape)
    seg = (seg / seg.sum(axis=2, keepdims=True)).astype(np.float32)
    failed = rng.random(n) < error_rate
    # a made-up sound: each genre's own tag profile, blurred per track (what MusiCNN's 50 tags would give)
    genre_tags = np.random.default_rng(7).beta(0.4, 4.0, size=(len(GENRES), SOUND_SIZE))
    sound = np.clip(genre_tags[(start + np.arange(n)) % len(GENRES)] * rng.uniform(0.6, 1.4, size=(n, SOUND_SIZE)),
                    0, 1).astype(np.float32)
    va = _va(seg, va_rng)
    for j in range(n):
        i = start + j
        genre = GENRES[i % len(GENRES)]
        path = f"{root}/{genre}/artist-{i // 12:06d}/track-{i:07d}.mp3"
        if failed[j]:
            yield TrackResult(path=path, track_id=path_id(path), size_bytes=1000 + i, mtime_ns=i, status=TrackStatus.ERROR,
                              error="The file is not an audio file mer can read (synthetic).")
            continue
        # the tags of every segment are the track's sound (the mean of 20 equal float64 copies gives it back exactly)
        reading = Reading(segments, seg[j], seg[j].mean(axis=0), tags=np.tile(sound[j].astype(np.float64), (_SEGMENTS, 1)),
                          va=va[j])
        yield TrackResult(path=path, track_id=path_id(path), size_bytes=1000 + i, mtime_ns=i, status=TrackStatus.OK,
                          duration_s=_SECONDS, reading=reading, genre=genre if i % 5 else None)


def _merge_older(out: Path) -> None:
    """Merge the chunks as mer did before the query layer: every row in the chunks' order, segments in row groups
    of at most 262,144 rows (a track's id says nothing of where its rows are), no ``profiles.parquet``."""
    parts = sorted(p for p in (out / ".parts").iterdir() if p.name.isdigit())
    for name, schema, rows in (("tracks.parquet", TRACK_SCHEMA, 65_536), ("segments.parquet", SEGMENT_SCHEMA, 262_144)):
        tmp = out / f".{name}-merging"
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for part in parts:
                for batch in pq.ParquetFile(part / name).iter_batches(batch_size=rows):
                    writer.write_batch(batch)
        os.replace(tmp, out / name)
    (out / "profiles.parquet").unlink(missing_ok=True)
    for part in parts:
        shutil.rmtree(part)


def write_synthetic_batch(out: str | os.PathLike, tracks: int, *, seed: int = 0, chunk: int = 20_000,
                          error_rate: float = 0.01, root: str = "/music", layout: str = "current",
                          on_progress: Callable[[int, int, str], None] | None = None) -> Path:
    """Write a batch of ``tracks`` made-up tracks (20 segments each, one in 100 failed) to ``out``.

    Parameters
    ----------
    out : path-like
        A new or empty folder (or an earlier synthetic batch, which is replaced).
    tracks : int > 0
    seed : int
        The same seed gives the same tables.
    root : str
        The made-up library's folder in the paths (``ROOT/GENRE/artist-N/track-N.mp3``, 12 tracks a folder).
    layout : {"current", "older"}
        The tables as ``python -m mer batch`` writes them, or as it wrote them before the query layer (the
        same rows; segments unsorted, no ``profiles.parquet``).

    Raises
    ------
    BatchError
        ``tracks`` below 1, an unknown ``layout``, or ``out`` cannot be written.
    """
    if tracks < 1:
        raise BatchError(f"A synthetic batch needs at least 1 track, got {tracks}.")
    if layout not in LAYOUTS:
        raise BatchError(f"Unknown layout '{layout}'. Choose one of: {', '.join(LAYOUTS)}.")
    out = Path(out)
    rng = np.random.default_rng(seed)
    va_rng = np.random.default_rng([seed, 1])  # apart: the probabilities stay those of a seed before valence
    wanted = HashSet()
    with locked(out):
        for start in range(0, tracks, chunk):
            results = list(_results(start, min(chunk, tracks - start), rng, root, error_rate, va_rng))
            write_part(out, results, _MODEL)
            wanted.update(np.array([r.track_id for r in results], dtype=np.uint64))
            if on_progress:
                on_progress(min(start + chunk, tracks), tracks, "writing chunks")
        if layout == "current":
            merge_parts(out, wanted)
        else:
            _merge_older(out)
    write_json_atomic(out / "batch.json", {"tracks": tracks, "synthetic": True, "seed": seed, "roots": [root]})
    return out
