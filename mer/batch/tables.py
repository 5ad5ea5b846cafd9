"""Reading and checking a batch's Parquet tables for :class:`~mer.batch.catalogue.Catalogue`: that each holds
mer's columns with mer's types, the valence–arousal columns where a batch has them, string columns as integer
codes, one track's rows of ``segments.parquet``, and the one-time upgrade of a batch written before the query layer
(:func:`mer.batch.upgrade.upgrade_batch`) when it is opened.

Every table that cannot be read, or is not one of mer's, is a :class:`~mer.errors.BatchError` naming the file and
the remedy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..emotions import EMOTIONS
from ..errors import BatchError
from ..progress import ProgressFn
from .layout import segment_ranges
from .query import Timeline
from .rows import SEGMENT_SCHEMA, TRACK_SCHEMA, VA_COLUMNS
from .upgrade import needs_upgrade, upgrade_batch

__all__ = ["STRINGS", "DICTIONARY", "NUMBERS", "SEGMENT_COLUMNS", "NO_VA_OLDER", "BatchTables", "ValenceArousal",
           "open_tables", "unreadable", "check_schema", "va_columns", "string_codes", "floats", "read_va",
           "read_segments", "segment_timeline", "read_path_bytes"]

#: The tracks table's string columns a catalogue holds, those read as dictionaries, and its numeric columns.
STRINGS = ("path", "file", "folder", "genre", "status", "error", "top_emotion", "model_name")
DICTIONARY = ("folder", "genre", "status", "top_emotion", "model_name")
NUMBERS = ("track_id", "top_probability", *EMOTIONS, "duration_s")
#: The segments table's columns a timeline reads (with the valence–arousal columns where the batch has them).
SEGMENT_COLUMNS = ("track_id", "segment", "start_s", "end_s", *EMOTIONS)
#: Why a batch whose tables lack the ``valence`` and ``arousal`` columns has none.
NO_VA_OLDER = ("This batch has no valence or arousal: it was written before mer learned them (or by a model without "
               "the valence–arousal head). Analyse the library again, into a new folder, with a model that has the "
               "head (such as the default) to add them.")
_NO_VA_MODEL = ("This batch has no valence or arousal: the model that analysed it ({models}) has no valence–arousal "
                "head (it was trained before the head existed, or on the log-mel front-end). Analyse the library "
                "again, into a new folder, with a model that has the head (such as the default) to add them.")


def unreadable(path: Path, e: Exception) -> BatchError:
    """The error for a table at ``path`` that ``e`` stopped reading."""
    return BatchError(f"'{path}' is not a batch table mer can read ({type(e).__name__}: {str(e)[:200]}). Choose a "
                      "folder written by `python -m mer batch`, or run the batch again into a new folder.")


def check_schema(path: Path, required: dict[str, pa.DataType],
                 remedy: str = "Choose a folder written by `python -m mer batch`.") -> pq.ParquetFile:
    """The Parquet file at ``path`` if it holds the ``required`` columns with those types.

    Raises
    ------
    BatchError
        It cannot be read, or lacks a column (or holds it with another type); the message ends with ``remedy``.
    """
    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
    except (OSError, pa.ArrowException) as e:
        raise unreadable(path, e) from None
    wrong = [n for n, t in required.items() if schema.get_field_index(n) < 0 or not schema.field(n).type.equals(t)]
    if wrong:
        shown = ", ".join(wrong[:6]) + (f" and {len(wrong) - 6} more" if len(wrong) > 6 else "")
        raise BatchError(f"'{path}' is not a table of mer's batches: it lacks the columns {shown} (or holds them "
                         f"with other types). {remedy}")
    return pf


def va_columns(path: Path, schema: pa.Schema, reference: pa.Schema) -> tuple[str, ...]:
    """``("valence", "arousal")`` if the table at ``path`` holds them, ``()`` if it holds neither (written before mer
    learned them).

    Raises
    ------
    BatchError
        It holds one without the other, or holds them with another type than ``reference`` gives.
    """
    if not any(n in schema.names for n in VA_COLUMNS):
        return ()
    check_schema(path, {n: reference.field(n).type for n in VA_COLUMNS})
    return VA_COLUMNS


def string_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, tuple[str, ...]]:
    """A string column as integer codes (-1 for null) and the labels they stand for."""
    arr = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    values = pc.fill_null(arr.indices.cast(pa.int32()), -1).to_numpy(zero_copy_only=False)
    return values, tuple(arr.dictionary.to_pylist())


def floats(table: pa.Table, name: str, dtype: type = np.float32) -> np.ndarray:
    """A numeric column as numpy, nulls as NaN."""
    return table.column(name).to_numpy().astype(dtype, copy=False)


@dataclass(frozen=True)
class ValenceArousal:
    """A tracks table's learned valence and arousal.

    Attributes
    ----------
    valence, arousal : np.ndarray [shape=(n,), dtype=float32]
        NaN where a track has none (all NaN where the batch has none).
    finite : np.ndarray [shape=(n,), dtype=bool]
        Rows whose valence and arousal are both finite numbers.
    reason : str or None
        Why the batch has none (None: it has them).
    notes : tuple of str
        In a batch that has them, the analysed rows without them or whose values are not finite.
    """

    valence: np.ndarray
    arousal: np.ndarray
    finite: np.ndarray
    reason: str | None
    notes: tuple[str, ...] = ()


def read_va(table: pa.Table, ok: np.ndarray, models: tuple[np.ndarray, tuple[str, ...]]) -> ValenceArousal:
    """The learned valence and arousal of ``table`` (its :data:`~mer.batch.rows.VA_COLUMNS` where it holds them),
    why the batch has none, and notes on the rows without them in a batch that has them.

    Parameters
    ----------
    table : pa.Table
        The tracks table as :func:`open_tables` reads it.
    ok : np.ndarray [shape=(n,), dtype=bool]
        Rows analysed.
    models : tuple
        The ``model_name`` column as :func:`string_codes` gives it (named in the reason a batch has none).
    """
    size = table.num_rows
    stored = all(n in table.column_names for n in VA_COLUMNS)
    nan = np.full(size, np.nan, np.float32)
    valence, arousal = (floats(table, n) if stored else nan for n in VA_COLUMNS)
    null = np.logical_or.reduce([table.column(n).is_null().to_numpy(zero_copy_only=False)
                                 for n in VA_COLUMNS]) if stored else np.ones(size, dtype=bool)
    finite = np.isfinite(valence) & np.isfinite(arousal)
    reason = None
    if not ok.any():
        reason = "No track of this batch was analysed, so it has no valence or arousal."
    elif not stored:
        reason = NO_VA_OLDER
    elif not (ok & ~null).any():
        model_codes, labels = models
        named = ", ".join(f"'{labels[c]}'" for c in np.unique(model_codes[ok]) if c >= 0) or "unnamed"
        reason = _NO_VA_MODEL.format(models=named)
    if reason is not None:
        return ValenceArousal(valence, arousal, finite, reason)
    missing, damaged = int((ok & null).sum()), int((ok & ~null & ~finite).sum())
    rest = "left out of the valence–arousal filters, the map and journeys across the plane, and sorted last"
    notes = []
    if missing:
        notes.append(f"{missing:,} analysed track{'s' if missing > 1 else ''} of this batch have no valence "
                     f"or arousal (analysed by a model without the valence–arousal head, or before mer "
                     f"learned them): {rest}.")
    if damaged:
        notes.append(f"{damaged:,} analysed track{'s' if damaged > 1 else ''} of this batch hold valence or "
                     f"arousal that are not finite numbers (a damaged table): {rest}.")
    return ValenceArousal(valence, arousal, finite, None, tuple(notes))


@dataclass
class BatchTables:
    """A batch folder's tables, checked and opened.

    Attributes
    ----------
    tracks : pa.Table
        The tracks table's :data:`STRINGS` (:data:`DICTIONARY` ones as dictionaries), :data:`NUMBERS` and, where
        the batch has them, valence and arousal.
    segments : pq.ParquetFile
        ``segments.parquet``, open.
    segment_va : tuple of str
        The valence–arousal columns the segments table holds (``()``: none).
    index : tuple of np.ndarray or None
        Each row group's smallest and largest track id (:func:`~mer.batch.layout.segment_ranges`); None for a
        segments table not sorted by track.
    notes : list of str
        An upgrade that could not be done, and why.
    """

    tracks: pa.Table
    segments: pq.ParquetFile
    segment_va: tuple[str, ...]
    index: tuple[np.ndarray, np.ndarray] | None
    notes: list[str] = field(default_factory=list)


def open_tables(folder: Path, upgrade: bool = True, on_progress: ProgressFn | None = None) -> BatchTables:
    """Check a batch folder's two tables, upgrade an older batch once (where ``upgrade``), and read the tracks.

    Raises
    ------
    BatchError
        A table is missing, damaged, or not one of mer's (columns missing or of other types).
    """
    files = [folder / n for n in ("tracks.parquet", "segments.parquet")]
    for f in files:
        if not f.is_file():
            raise BatchError(f"'{folder}' holds no batch results ({f.name} is missing). Name a folder "
                             "written by `python -m mer batch ... --out FOLDER`.")
    tracks = check_schema(files[0], {n: TRACK_SCHEMA.field(n).type for n in (*STRINGS, *NUMBERS)})
    va = va_columns(files[0], tracks.schema_arrow, TRACK_SCHEMA)
    required = {n: SEGMENT_SCHEMA.field(n).type for n in SEGMENT_COLUMNS}
    check_schema(files[1], required)
    notes = _upgrade(folder, on_progress) if upgrade and needs_upgrade(folder) else []
    segments = check_schema(files[1], required)
    segment_va = va_columns(files[1], segments.schema_arrow, SEGMENT_SCHEMA)
    try:
        table = pq.read_table(files[0], columns=[*STRINGS, *NUMBERS, *va], read_dictionary=list(DICTIONARY))
        index = segment_ranges(segments)
    except (OSError, pa.ArrowException) as e:
        raise unreadable(files[0], e) from None
    return BatchTables(tracks=table, segments=segments, segment_va=segment_va, index=index, notes=notes)


def _upgrade(folder: Path, on_progress: ProgressFn | None) -> list[str]:
    """:func:`~mer.batch.upgrade.upgrade_batch`, its progress said as such; a note where it cannot be done."""
    report = None if on_progress is None else \
        (lambda done, total, what: on_progress(done, total, f"upgrading the batch to the current layout (once): "
                                                            f"{what}"))
    try:
        upgrade_batch(folder, report)
    except Exception as e:  # noqa: BLE001  the upgrade only speeds reading up: whatever stops it, the old
        # tables are untouched (upgrade_batch renames nothing until both new ones are complete) and read as they are
        why = str(e) if isinstance(e, BatchError) else f"the upgrade stopped ({type(e).__name__}: {str(e)[:200]})."
        return [f"This batch was written by an older mer and reads more slowly until it is upgraded "
                f"(done when it is next opened): {why}"]
    return []


def read_segments(folder: Path, tables: BatchTables, track_id: int) -> pa.Table:
    """One track's rows of ``segments.parquet`` (:data:`SEGMENT_COLUMNS` and the valence–arousal columns it has),
    in table order: one row group (its range of track ids), or a filtered scan of the table for a batch written
    before segments were sorted. Not thread-safe: the caller holds its lock."""
    tid = pa.scalar(int(track_id), pa.uint64())
    cols = [*SEGMENT_COLUMNS, *tables.segment_va]
    if tables.index is None:
        return pq.read_table(folder / "segments.parquet", columns=cols, filters=pc.field("track_id") == tid)
    lo, hi = tables.index
    g = int(np.searchsorted(lo, np.uint64(track_id), side="right")) - 1
    t = tables.segments.read_row_group(g, columns=cols) if g >= 0 and np.uint64(track_id) <= hi[g] \
        else tables.segments.schema_arrow.empty_table().select(cols)
    return t.filter(pc.equal(t.column("track_id"), tid))


def segment_timeline(t: pa.Table, segment_va: tuple[str, ...]) -> Timeline:
    """One track's rows of ``segments.parquet`` (:func:`read_segments`) as its timeline, in segment order; NaN
    valence and arousal where the table holds none (``segment_va`` empty)."""
    t = t.sort_by("segment")
    probs = np.column_stack([t.column(e).to_numpy() for e in EMOTIONS]) if t.num_rows else \
        np.zeros((0, len(EMOTIONS)), np.float32)
    va = [floats(t, n) if n in segment_va else np.full(t.num_rows, np.nan, np.float32) for n in VA_COLUMNS]
    return Timeline(probabilities=probs, start_s=t.column("start_s").to_numpy(), end_s=t.column("end_s").to_numpy(),
                    valence=va[0], arousal=va[1])


def read_path_bytes(folder: Path, track_id: int) -> str | None:
    """A track's ``path_bytes`` as the file system names it (exact for a name that is not UTF-8), read for this
    one track; None where the tracks table has none (written by an older mer) or the track holds none."""
    tracks = pq.ParquetFile(folder / "tracks.parquet")
    if "path_bytes" in tracks.schema_arrow.names:
        table = pq.read_table(folder / "tracks.parquet", columns=["path_bytes"],
                              filters=[("track_id", "==", np.uint64(track_id))])
        raw = table.column("path_bytes")[0].as_py() if table.num_rows else None
        if isinstance(raw, bytes):
            return os.fsdecode(raw)
    return None
