"""Reading and checking a batch's tables (mer.batch.tables): mer's columns and types, the valence–arousal columns,
string codes, one track's segments in either layout, and why a batch has no valence or arousal."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mer.batch import tables
from mer.batch.rows import TRACK_SCHEMA
from mer.batch.synthetic import write_synthetic_batch
from mer.errors import BatchError


def test_a_table_without_mers_columns_or_types_is_refused_naming_them(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"path": ["a"], "track_id": pa.array([1], pa.int32())}), path)
    want = {"path": pa.string(), "track_id": pa.uint64(), "file": pa.string()}
    with pytest.raises(BatchError, match=r"lacks the columns track_id, file \(or holds them with other types\)"):
        tables.check_schema(path, want)
    assert tables.check_schema(path, {"path": pa.string()}).metadata.num_rows == 1
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(BatchError, match="is not a batch table mer can read"):
        tables.check_schema(tmp_path / "bad.parquet", want)


def test_valence_without_arousal_is_refused_and_neither_is_an_older_batch(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"valence": pa.array([0.5], pa.float32())}), path)
    with pytest.raises(BatchError, match="lacks the columns arousal"):
        tables.va_columns(path, pq.ParquetFile(path).schema_arrow, TRACK_SCHEMA)
    assert tables.va_columns(path, pa.schema([pa.field("path", pa.string())]), TRACK_SCHEMA) == ()


def test_string_codes_number_the_labels_and_give_nulls_minus_one():
    codes, labels = tables.string_codes(pa.chunked_array([["rock", None], ["jazz", "rock"]]))
    assert codes.tolist() == [0, -1, 1, 0] and labels == ("rock", "jazz")


def test_why_a_batch_has_no_valence_or_arousal_and_notes_on_rows_without(tmp_path):
    va = {n: pa.array([None, None], pa.float32()) for n in ("valence", "arousal")}
    models = (np.array([0, 0], dtype=np.int32), ("old-model",))
    out = tables.read_va(pa.table(va), np.array([True, False]), models)
    assert "('old-model') has no valence–arousal head" in out.reason and np.isnan(out.valence).all()
    assert tables.read_va(pa.table({"x": [1, 2]}), np.array([True, True]), models).reason == tables.NO_VA_OLDER
    mixed = {"valence": pa.array([0.5, None, np.nan], pa.float32()), "arousal": pa.array([-0.25, 0.1, 0.2], pa.float32())}
    out = tables.read_va(pa.table(mixed), np.array([True, True, True]), models)
    assert out.reason is None and out.finite.tolist() == [True, False, False]
    assert [n.split(" analysed")[0] for n in out.notes] == ["1", "1"] and "have no valence" in out.notes[0]


def test_a_tracks_segments_read_alike_from_either_layout_and_a_missing_table_is_named(tmp_path):
    new = write_synthetic_batch(tmp_path / "new", 30, seed=4, error_rate=0.0, chunk=10)
    old = write_synthetic_batch(tmp_path / "old", 30, seed=4, error_rate=0.0, layout="older", chunk=10)
    a, b = tables.open_tables(new), tables.open_tables(old, upgrade=False)
    assert a.index is not None and b.index is None and not b.notes  # not upgraded: read by a filtered scan
    tid = int(a.tracks.column("track_id")[17].as_py())
    ta, tb = (tables.segment_timeline(tables.read_segments(f, t, tid), t.segment_va) for f, t in ((new, a), (old, b)))
    assert len(ta.start_s) == 20 and np.all(np.diff(ta.start_s) > 0)
    np.testing.assert_array_equal(ta.probabilities, tb.probabilities)
    np.testing.assert_array_equal(ta.valence, tb.valence)
    assert tables.read_segments(new, a, 12345).num_rows == tables.read_segments(old, b, 12345).num_rows == 0
    (old / "segments.parquet").unlink()
    with pytest.raises(BatchError, match=r"holds no batch results \(segments.parquet is missing\)"):
        tables.open_tables(old)
