"""Each track's side numbers for :class:`~mer.batch.catalogue.Catalogue`: the shape of its timeline (the spread
and trend of each emotion, and of valence and arousal) from ``profiles.parquet``, or computed from the segments
for an older batch; and what it sounds like to MusiCNN (its 50 tags' probabilities) from ``tracks.parquet``.
Both are read once, in the order of the catalogue's tracks; :mod:`mer.batch.similar` finds similar tracks by them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..emotions import EMOTIONS
from ..errors import BatchError
from .rows import PROFILE_SCHEMA, SOUND_SIZE, VA_COLUMNS, VA_SHAPE_COLUMNS, timeline_shape
from .tables import SEGMENT_COLUMNS, check_schema, floats, unreadable

__all__ = ["read_shapes", "read_sounds", "check_sounds"]

_PROFILES_REMEDY = ("Delete that file: the next time the batch is opened it is written again from the segments "
                    "(or run the batch again into a new folder).")


def _profile_table(folder: Path, names: list[str], segment_va: tuple[str, ...]) -> pa.Table:
    """The profiles table's ``track_id`` and ``names`` (and the valence–arousal shape columns it has), or the same
    computed from ``segments.parquet`` where the batch has no profiles table."""
    path = folder / "profiles.parquet"
    if path.is_file():
        pf = check_schema(path, {n: PROFILE_SCHEMA.field(n).type for n in ["track_id", *names]}, _PROFILES_REMEDY)
        stored = [n for n in VA_SHAPE_COLUMNS if n in pf.schema_arrow.names]  # none before valence
        check_schema(path, {n: PROFILE_SCHEMA.field(n).type for n in stored}, _PROFILES_REMEDY)
        return pf.read(columns=["track_id", *names, *stored])
    cols = [*SEGMENT_COLUMNS, *segment_va]
    seg = pq.read_table(folder / "segments.parquet", columns=cols)
    seg = seg.sort_by([("track_id", "ascending"), ("segment", "ascending")])
    probs, va = (np.column_stack([seg.column(c).to_numpy() for c in group]) if seg.num_rows and group
                 else np.full((seg.num_rows, len(full)), np.nan, np.float32)
                 for group, full in ((EMOTIONS, EMOTIONS), (segment_va, VA_COLUMNS)))
    return timeline_shape(seg.column("track_id").to_numpy(), probs, va)


def read_shapes(folder: Path, track_ids: np.ndarray, segment_va: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each track's timeline shape ``(n, 18)`` and the shape of its path on the valence–arousal plane ``(n, 4)``
    (:data:`~mer.batch.rows.VA_SHAPE_COLUMNS`), in the order of ``track_ids``; NaN where a track has none. Not
    thread-safe: the caller holds its lock.

    Raises
    ------
    BatchError
        The profiles (or segments) table cannot be read, or is not one of mer's.
    """
    names = [f.name for f in PROFILE_SCHEMA if f.name != "track_id" and f.name not in VA_SHAPE_COLUMNS]
    try:
        t = _profile_table(folder, names, segment_va)
    except (OSError, pa.ArrowException) as e:
        raise unreadable(folder / "profiles.parquet", e) from None
    names += VA_SHAPE_COLUMNS
    ids = t.column("track_id").to_numpy()
    values = np.column_stack([floats(t, n) if n in t.column_names else np.full(t.num_rows, np.nan, np.float32)
                              for n in names]) if t.num_rows else np.zeros((0, len(names)), np.float32)
    if not np.all(ids[1:] > ids[:-1]):  # written sorted by id: no copy to sort them
        order = np.argsort(ids)
        ids, values = ids[order], values[order]
    size = len(track_ids)
    mine = np.argsort(track_ids)  # looked up in id order: a merge, not a million random searches
    pos = np.clip(np.searchsorted(ids, track_ids[mine]), 0, max(len(ids) - 1, 0))
    found = (ids[pos] == track_ids[mine]) if len(ids) else np.zeros(size, dtype=bool)
    shape = np.full((size, len(names)), np.nan, dtype=np.float32)
    if len(ids):
        shape[mine[found]] = values[pos[found]]
    k = len(names) - len(VA_SHAPE_COLUMNS)
    return shape[:, :k], shape[:, k:]


def read_sounds(folder: Path, size: int) -> np.ndarray | None:
    """What each of the ``size`` tracks sounds like to MusiCNN ``(size, 50)``: its tags' probabilities averaged
    over its segments (NaN rows for tracks without one), from ``tracks.parquet``; None for a batch that stores
    none (a log-mel model's, or one written before mer stored them). Not thread-safe: the caller holds its lock.

    Raises
    ------
    BatchError
        The tracks table cannot be read, or holds sounds that are not :data:`~mer.batch.rows.SOUND_SIZE`
        numbers each.
    """
    path = folder / "tracks.parquet"
    try:
        if "sound" not in pq.ParquetFile(path).schema_arrow.names:
            return None
        column = pq.read_table(path, columns=["sound"]).column("sound")
    except (OSError, pa.ArrowException) as e:
        raise unreadable(path, e) from None
    values = np.full((size, SOUND_SIZE), np.nan, dtype=np.float32)
    valid = ~column.is_null().to_numpy(zero_copy_only=False)
    if not valid.any():
        return None
    lists = column.filter(pa.array(valid))
    check_sounds(path, lists)
    flat = pc.list_flatten(lists).to_numpy(zero_copy_only=False)
    values[valid] = flat.reshape(-1, SOUND_SIZE)
    return values


def check_sounds(path: Path, lists: pa.ChunkedArray) -> None:
    """Raise :class:`BatchError` unless every one of ``lists`` (no nulls) holds
    :data:`~mer.batch.rows.SOUND_SIZE` numbers."""
    kind = lists.type
    numbers = (pa.types.is_fixed_size_list(kind) or pa.types.is_list(kind) or pa.types.is_large_list(kind)) and \
        (pa.types.is_floating(kind.value_type) or pa.types.is_integer(kind.value_type))
    if numbers:
        lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
        numbers = bool(np.all(lengths == SOUND_SIZE))
    if not numbers:
        raise BatchError(f"'{path}' holds sounds that are not {SOUND_SIZE} numbers each ({kind}): the table is "
                         "damaged. Ask for similar tracks by emotion, or run the batch again into a new folder.")
