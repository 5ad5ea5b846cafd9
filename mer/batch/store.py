"""A batch's output folder: chunks written atomically as they complete, merged into two Parquet tables.

Layout of ``--out DIR``::

    tracks.parquet     one row per track (path, duration, model, status, error, top emotion, 9 probabilities,
                       valence and arousal)
    segments.parquet   one row per segment of every analysed track (20 per track), sorted by track_id and
                       segment, in row groups that end at a track's last segment (a track is one row group)
    profiles.parquet   one row per analysed track: the shape of its timeline (spread and trend per emotion, and of
                       valence and arousal), sorted by track_id; what ``python -m mer library similar`` compares
                       besides the probabilities
    batch.json         the last run's summary (inputs, model, counts, times)
    .parts/000000007/  a chunk of results not merged yet: tracks.parquet + segments.parquet, renamed into place
                       complete, so a killed run (kill -9 included) leaves whole chunks or nothing

A run reads which analyses are done (file path, size, mtime and model) from the tables and the chunks,
analyses the rest, and at the end merges everything into new tables (newest row of a path wins; paths the
inputs no longer name are dropped), replaces the old ones, then deletes the chunks.

The columns and rows: :mod:`mer.batch.rows`; the sorted layout of the segments and profiles:
:mod:`mer.batch.layout`; a batch written before the query layer is brought to it once by
:func:`mer.batch.upgrade.upgrade_batch`; the CSV export: :mod:`mer.batch.export`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..choices import TrackStatus
from ..errors import BatchError
from ..files import exclusive_lock, open_atomic
from ..text import display_text
from .inputs import FileRef, HashSet
from .layout import fsync_replace, sorted_segments
from .rows import PROFILES, TABLES, TRACK_SCHEMA, conform, segments_table, tracks_table
from .worker import TrackResult, error_result

__all__ = ["BATCH_MARKERS", "locked", "clean_partial", "write_part", "done_keys", "merge_parts"]

#: A folder holding one of these was written by a batch: the only non-empty folders a batch writes into.
BATCH_MARKERS = ("batch.json", ".parts")


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` for the run: two batches writing one folder would interleave their chunks."""
    busy = lambda: BatchError(f"Another batch is writing to '{out}'. Wait for it to finish or choose another --out.")  # noqa: E731
    with contextlib.ExitStack() as held:
        try:
            out.mkdir(parents=True, exist_ok=True)
            held.enter_context(exclusive_lock(out / ".lock", busy=busy))
        except OSError as e:
            raise BatchError(f"Cannot write to the output folder '{out}' ({e.strerror}). Choose a writable folder.") from None
        yield


def _write_durable(table: pa.Table, path: Path) -> None:
    with open_atomic(path) as f:
        pq.write_table(table, f, compression="zstd")


def _parts_dir(out: Path) -> Path:
    return out / ".parts"


def _parts(out: Path) -> list[Path]:
    """Complete chunks, oldest first (half-written ``.tmp-*`` folders of a killed run are not chunks)."""
    d = _parts_dir(out)
    return sorted(p for p in d.iterdir() if p.name.isdigit()) if d.is_dir() else []


def clean_partial(out: Path) -> None:
    """Remove what a killed run left half-written (temporary chunk folders and tables)."""
    d = _parts_dir(out)
    for p in (d.iterdir() if d.is_dir() else ()):
        if p.name.startswith(".tmp-"):
            shutil.rmtree(p, ignore_errors=True)
    for pattern in (".*-merging", ".*.tmp"):
        for p in out.glob(pattern):
            p.unlink(missing_ok=True)


def _tables(results: Sequence[TrackResult], model: tuple[str, str]) -> tuple[pa.Table, pa.Table]:
    """The tracks and segments tables of a chunk. A result that cannot be stored (a value no table column
    takes) becomes an error row naming its file, so one odd row never costs the chunk's other results."""
    try:
        return tracks_table(results, model), segments_table(results, model)
    except Exception:  # noqa: BLE001  (found row by row below)
        pass
    kept = []
    for r in results:
        try:
            tracks_table([r], model), segments_table([r], model)
            kept.append(r)
        except Exception as e:  # noqa: BLE001  an unforeseen value in one row must not cost the others
            ref = FileRef(path=r.path, track_id=r.track_id, size_bytes=r.size_bytes, mtime_ns=r.mtime_ns)
            kept.append(error_result(ref, f"The results of '{display_text(os.path.basename(r.path))}' could not be "
                                          f"stored ({type(e).__name__}: {e}). Run the batch with --retry-errors "
                                          "after fixing the file."))
    return tracks_table(kept, model), segments_table(kept, model)


def write_part(out: Path, results: Sequence[TrackResult], model: tuple[str, str]) -> Path:
    """Write one chunk atomically: both tables into a temporary folder, renamed into place when complete."""
    d = _parts_dir(out)
    d.mkdir(exist_ok=True)
    existing = _parts(out)
    seq = int(existing[-1].name) + 1 if existing else 1
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=d))
    try:
        tracks, segments = _tables(results, model)
        _write_durable(tracks, tmp / TABLES[0])
        _write_durable(segments, tmp / TABLES[1])
        dest = d / f"{seq:09d}"
        os.rename(tmp, dest)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BatchError(f"Cannot write results to '{out}' ({e.strerror}). Free some space; the chunks written "
                         "so far are kept and a new run resumes from them.") from None
    return dest


def _units(out: Path) -> list[Path]:
    """Folders holding a tracks/segments pair, oldest first: the merged tables, then the chunks."""
    base = [out] if all((out / t).is_file() for t in TABLES) else []
    return base + _parts(out)


def done_keys(out: Path, *, retry_errors: bool = False) -> HashSet:
    """The ``input_key`` of every analysis already stored (errors too, unless ``retry_errors``)."""
    keys = HashSet()
    for unit in _units(out):
        try:
            t = pq.read_table(unit / TABLES[0], columns=["input_key", "status"])
        except (pa.ArrowException, OSError, KeyError) as e:
            raise BatchError(f"'{unit / TABLES[0]}' is not a batch table mer can resume from ({e}). Choose a new "
                             "--out folder.") from None
        k = t.column("input_key").to_numpy()
        if retry_errors:
            k = k[np.asarray(t.column("status").to_pylist()) == TrackStatus.OK]
        keys.update(k)
    return keys


def _keep_masks(units: list[Path], wanted: HashSet) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per unit, which track rows to keep (the newest row of each wanted path) and their sorted ids."""
    taken = HashSet()
    masks: list[tuple[np.ndarray, np.ndarray]] = []
    for unit in reversed(units):
        ids = pq.read_table(unit / TABLES[0], columns=["track_id"]).column("track_id").to_numpy()
        last = np.zeros(len(ids), dtype=bool)  # within a unit, the last row of an id
        last[len(ids) - 1 - np.unique(ids[::-1], return_index=True)[1]] = True
        keep = last & wanted.isin(ids) & ~taken.isin(ids)
        taken.update(ids[keep])
        masks.append((keep, np.sort(ids[keep])))
    return masks[::-1]


def merge_parts(out: Path, wanted: HashSet) -> int:
    """Merge the tables and chunks into new tables of the ``wanted`` track ids; returns the number of tracks.

    Streams record batches (memory stays flat in the library's size: segments are sorted by track in ranges
    of :data:`mer.batch.layout._BUCKET_ROWS` rows); the new tables replace the old ones by rename, and the merged chunks are
    deleted only after that.
    """
    units = _units(out)
    parts = _parts(out)
    masks = _keep_masks(units, wanted)
    n = 0
    # the tables are written beside the old ones, then renamed together: not open_atomic, which renames each
    # file as soon as it is complete (a crash between would pair new tracks with old segments)
    names = (*TABLES, PROFILES)
    tmps = [out / f".{t}-merging" for t in names]
    with pq.ParquetWriter(tmps[0], TRACK_SCHEMA, compression="zstd") as writer:
        for unit, (keep, ids) in zip(units, masks):
            offset = 0
            for batch in pq.ParquetFile(unit / TABLES[0]).iter_batches(batch_size=65_536):
                m = keep[offset: offset + batch.num_rows]
                offset += batch.num_rows
                if m.any():
                    writer.write_batch(conform(batch.filter(pa.array(m)), TRACK_SCHEMA))
                    n += int(m.sum())
    sorted_segments(units, [ids for _, ids in masks], tmps[1], tmps[2])
    fsync_replace(tmps, names, out)
    for p in parts:
        shutil.rmtree(p, ignore_errors=True)
    return n
