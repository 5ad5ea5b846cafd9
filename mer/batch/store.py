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

A batch written before the query layer (no ``profiles.parquet``, segments in the order the chunks came) is
brought to this layout once by :func:`upgrade_batch`, under the run's lock: the same rows, sorted, and their
profiles, renamed into place only when complete.

``valence`` and ``arousal`` (the model's learned head, :mod:`mer.valence`) are null for a model without the head.
A batch written before mer learned them has no such columns; nothing is rewritten to add them (they cannot be
computed without analysing the audio again): its rows read as null, and a merge writes them so.
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
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from ..choices import TrackStatus
from ..emotions import EMOTIONS
from ..errors import BatchError
from ..files import exclusive_lock, open_atomic
from ..progress import ProgressFn
from ..text import display_text, write_csv_batches
from .inputs import FileRef, HashSet, input_key
from .worker import TrackResult, error_result

__all__ = ["TRACK_SCHEMA", "SEGMENT_SCHEMA", "PROFILE_SCHEMA", "VA_COLUMNS", "VA_SHAPE_COLUMNS", "SEGMENT_GROUP_TRACKS", "timeline_shape", "locked", "clean_partial", "write_part", "done_keys", "merge_parts", "write_csv",
           "tracks_table", "segments_table", "segment_ranges", "needs_upgrade", "upgrade_batch"]

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
#: Tracks per row group of segments.parquet: a track's segments are read as one row group of ~40,000 rows.
SEGMENT_GROUP_TRACKS = 2048
_BUCKET_ROWS = 2_000_000  # segment rows sorted in memory at once when a batch is merged
# the ranges are spilled as Arrow IPC with LZ4: about as small as Parquet, written 10x and read 2x faster
_SPILL = ipc.IpcWriteOptions(compression="lz4")
# dictionaries only for text (a path repeats 20 times, a model name on every row): tried on the probabilities,
# a dictionary fills up and is dropped, at twice the time of writing them plainly and a third more bytes
_SEGMENT_WRITE = {"compression": "zstd",
                  "use_dictionary": [f.name for f in SEGMENT_SCHEMA if pa.types.is_string(f.type)]}
_TABLES = ("tracks.parquet", "segments.parquet")
_PROFILES = "profiles.parquet"
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
        _write_durable(tracks, tmp / _TABLES[0])
        _write_durable(segments, tmp / _TABLES[1])
        dest = d / f"{seq:09d}"
        os.rename(tmp, dest)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BatchError(f"Cannot write results to '{out}' ({e.strerror}). Free some space; the chunks written "
                         "so far are kept and a new run resumes from them.") from None
    return dest


def _units(out: Path) -> list[Path]:
    """Folders holding a tracks/segments pair, oldest first: the merged tables, then the chunks."""
    base = [out] if all((out / t).is_file() for t in _TABLES) else []
    return base + _parts(out)


def done_keys(out: Path, *, retry_errors: bool = False) -> HashSet:
    """The ``input_key`` of every analysis already stored (errors too, unless ``retry_errors``)."""
    keys = HashSet()
    for unit in _units(out):
        try:
            t = pq.read_table(unit / _TABLES[0], columns=["input_key", "status"])
        except (pa.ArrowException, OSError, KeyError) as e:
            raise BatchError(f"'{unit / _TABLES[0]}' is not a batch table mer can resume from ({e}). Choose a new "
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
        ids = pq.read_table(unit / _TABLES[0], columns=["track_id"]).column("track_id").to_numpy()
        last = np.zeros(len(ids), dtype=bool)  # within a unit, the last row of an id
        last[len(ids) - 1 - np.unique(ids[::-1], return_index=True)[1]] = True
        keep = last & wanted.isin(ids) & ~taken.isin(ids)
        taken.update(ids[keep])
        masks.append((keep, np.sort(ids[keep])))
    return masks[::-1]


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
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


def _bucket_of(ids: np.ndarray, buckets: int) -> np.ndarray:
    """Which of ``buckets`` equal ranges of the 64-bit id space each id falls in (ids are hashes: uniform)."""
    return ((ids >> np.uint64(32)) * np.uint64(buckets)) >> np.uint64(32)


def _write_aligned(writer: pq.ParquetWriter, table: pa.Table) -> None:
    """Write segment rows sorted by track in row groups of :data:`SEGMENT_GROUP_TRACKS` whole tracks."""
    ids = table.column("track_id").to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, np.int64)
    edges = np.r_[starts[::SEGMENT_GROUP_TRACKS], len(ids)]
    for a, b in zip(edges[:-1], edges[1:]):
        writer.write_table(table.slice(a, b - a), row_group_size=int(b - a))


def _sorted_segments(units: list[Path], keep_ids: list[np.ndarray | None], dest: Path, profiles: Path,
                     on_progress: ProgressFn | None = None) -> None:
    """Write the segment rows of ``units`` whose track is in ``keep_ids`` (per unit; None keeps every row) to
    ``dest`` sorted by track id and segment, and their timeline shapes to ``profiles``, in memory bounded by
    :data:`_BUCKET_ROWS` rows.

    Rows are first spread over temporary files by ranges of the id (``.segments-K.tmp``), then each range is
    sorted and appended: the ranges are in order, so the whole table is. ``on_progress`` hears of every
    row read, then of every row written (``2 * rows`` in all).
    """
    total = sum(pq.ParquetFile(u / _TABLES[1]).metadata.num_rows for u in units)
    k = max(1, -(-total // _BUCKET_ROWS))
    tmp = [dest.parent / f".segments-{i:05d}.tmp" for i in range(k)]
    spill: dict[int, ipc.RecordBatchFileWriter] = {}
    done = 0
    report = on_progress or (lambda done, total, message: None)
    try:
        for unit, ids in zip(units, keep_ids):
            for batch in pq.ParquetFile(unit / _TABLES[1]).iter_batches(batch_size=262_144):
                done += batch.num_rows
                batch = _conform(batch, SEGMENT_SCHEMA)
                if ids is not None:
                    batch = batch.filter(pa.array(np.isin(batch.column("track_id").to_numpy(), ids)))
                bucket = _bucket_of(batch.column("track_id").to_numpy(), k)
                if k > 1:  # the rows grouped by range once, then each range's run written
                    order = np.argsort(bucket, kind="stable")
                    batch, bucket = batch.take(pa.array(order)), bucket[order]
                edges = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]]) if len(bucket) else np.zeros(0, int)
                for a, b in zip(edges, np.r_[edges[1:], len(bucket)]):
                    i = int(bucket[a])
                    if i not in spill:
                        spill[i] = ipc.new_file(tmp[i], SEGMENT_SCHEMA, options=_SPILL)
                    spill[i].write_batch(batch.slice(a, b - a))
                report(done, 2 * total, "reading the segments")
        for w in spill.values():
            w.close()
        with pq.ParquetWriter(dest, SEGMENT_SCHEMA, **_SEGMENT_WRITE) as out, \
                pq.ParquetWriter(profiles, PROFILE_SCHEMA, compression="zstd", use_dictionary=False) as shapes:
            for i in sorted(spill):
                with ipc.open_file(tmp[i]) as f:
                    rows = f.read_all()
                rows = rows.sort_by([("track_id", "ascending"), ("segment", "ascending")])
                tmp[i].unlink()
                _write_aligned(out, rows)
                probs, va = (np.column_stack([rows.column(c).to_numpy() for c in names])
                             if rows.num_rows else np.zeros((0, len(names)), np.float32)
                             for names in (EMOTIONS, VA_COLUMNS))
                shapes.write_table(timeline_shape(rows.column("track_id").to_numpy(), probs, va))
                done += rows.num_rows
                report(done, 2 * total, "writing them sorted, with the profiles")
    finally:
        for w in spill.values():
            w.close()
        for p in tmp:
            p.unlink(missing_ok=True)


def _fsync_replace(tmps: Sequence[Path], names: Sequence[str], out: Path) -> None:
    """Flush each complete temporary table to disk, then rename it over its table."""
    for tmp in tmps:
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
    for tmp, name in zip(tmps, names):
        os.replace(tmp, out / name)


def merge_parts(out: Path, wanted: HashSet) -> int:
    """Merge the tables and chunks into new tables of the ``wanted`` track ids; returns the number of tracks.

    Streams record batches (memory stays flat in the library's size: segments are sorted by track in ranges
    of :data:`_BUCKET_ROWS` rows); the new tables replace the old ones by rename, and the merged chunks are
    deleted only after that.
    """
    units = _units(out)
    parts = _parts(out)
    masks = _keep_masks(units, wanted)
    n = 0
    # the tables are written beside the old ones, then renamed together: not open_atomic, which renames each
    # file as soon as it is complete (a crash between would pair new tracks with old segments)
    names = (*_TABLES, _PROFILES)
    tmps = [out / f".{t}-merging" for t in names]
    with pq.ParquetWriter(tmps[0], TRACK_SCHEMA, compression="zstd") as writer:
        for unit, (keep, ids) in zip(units, masks):
            offset = 0
            for batch in pq.ParquetFile(unit / _TABLES[0]).iter_batches(batch_size=65_536):
                m = keep[offset: offset + batch.num_rows]
                offset += batch.num_rows
                if m.any():
                    writer.write_batch(_conform(batch.filter(pa.array(m)), TRACK_SCHEMA))
                    n += int(m.sum())
    _sorted_segments(units, [ids for _, ids in masks], tmps[1], tmps[2])
    _fsync_replace(tmps, names, out)
    for p in parts:
        shutil.rmtree(p, ignore_errors=True)
    return n


def segment_ranges(pf: pq.ParquetFile) -> tuple[np.ndarray, np.ndarray] | None:
    """Per row group of a segments table, the smallest and largest track id, if the row groups hold disjoint
    ranges in order (a table written sorted by track, no track across two row groups); else None (an older
    batch's table, in the order its chunks came: a track is found by a scan of the whole table)."""
    md, col = pf.metadata, pf.schema_arrow.get_field_index("track_id")
    lo, hi = [], []
    for i in range(md.num_row_groups):
        stats = md.row_group(i).column(col).statistics
        if stats is None or not stats.has_min_max:
            return None
        lo.append(stats.min)
        hi.append(stats.max)
    lo_a, hi_a = np.array(lo, dtype=np.uint64), np.array(hi, dtype=np.uint64)
    return (lo_a, hi_a) if bool(np.all(lo_a[1:] > hi_a[:-1])) else None


def needs_upgrade(out: Path) -> bool:
    """Whether the merged tables in ``out`` are in the layout written before the query layer: no
    ``profiles.parquet``, or a ``segments.parquet`` not sorted by track (see :func:`upgrade_batch`).

    Reads the segments table's footer only. False for a folder without merged tables, or one whose
    segments table cannot be read (opening it reports that).
    """
    segments = out / _TABLES[1]
    if not (out / _TABLES[0]).is_file() or not segments.is_file():
        return False
    if not (out / _PROFILES).is_file():
        return True
    try:
        pf = pq.ParquetFile(segments)
        return pf.schema_arrow.get_field_index("track_id") < 0 or segment_ranges(pf) is None
    except (OSError, pa.ArrowException):
        return False


def upgrade_batch(out: Path, on_progress: ProgressFn | None = None) -> bool:
    """Bring a batch written before the query layer to today's layout, once: ``segments.parquet`` sorted by
    track and segment in row groups of :data:`SEGMENT_GROUP_TRACKS` whole tracks, and ``profiles.parquet``.

    Runs under the batch's lock (:func:`locked`), so never beside a run writing the folder or another upgrade.
    The same rows are written to temporary files beside the tables (memory bounded as in a merge), flushed to
    disk, and renamed over the old tables only when both are complete: interrupted at any point (an error,
    a full disk, kill -9), the old tables stay as they were and the next open starts again.

    Parameters
    ----------
    out : Path
        A batch folder.
    on_progress : callable, optional
        ``on_progress(done, total, message)`` while the segments are read and written.

    Returns
    -------
    bool
        True if the tables were upgraded; False if they needed nothing (another process may just have done it).

    Raises
    ------
    BatchError
        Another run holds the folder's lock; the folder cannot be written; the disk filled up.
    """
    with locked(out):
        if not needs_upgrade(out):
            return False
        clean_partial(out)
        tmps = [out / f".{name}-merging" for name in (_TABLES[1], _PROFILES)]
        try:
            _sorted_segments([out], [None], tmps[0], tmps[1], on_progress)
            _fsync_replace(tmps, (_TABLES[1], _PROFILES), out)
        except OSError as e:
            raise BatchError(f"Cannot upgrade the batch in '{out}' to the current layout ({e.strerror or e}). Its "
                             "tables are as they were and still read, more slowly; free some space (the upgrade "
                             "needs about twice segments.parquet's size) and open it again.") from None
        finally:
            for tmp in tmps:
                tmp.unlink(missing_ok=True)
    return True


#: Columns a spreadsheet gets no use of: the exact path's bytes (``path`` shows it) and the sound's 50 numbers.
_NOT_IN_CSV = ("path_bytes", "sound")


def write_csv(out: Path) -> list[Path]:
    """``tracks.csv`` and ``segments.csv`` beside the Parquet tables, streamed, each written atomically.

    Text cells that a spreadsheet would read as a formula (a file or genre tag starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return) start with ``'`` (:func:`mer.text.neutralise_cell`); rows end in CRLF
    (:func:`mer.text.write_csv_batches`).
    """
    written = []
    for name in _TABLES:
        src, dest = out / name, out / name.replace(".parquet", ".csv")
        pf = pq.ParquetFile(src)
        names = [n for n in pf.schema_arrow.names if n not in _NOT_IN_CSV]
        with open_atomic(dest) as f:
            write_csv_batches(f, pa.schema([pf.schema_arrow.field(n) for n in names]),
                              (batch.select(names) for batch in pf.iter_batches(batch_size=65_536)))
        written.append(dest)
    return written
