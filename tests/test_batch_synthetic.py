"""The made-up batch of the scale benchmark and the Library's tests (mer.batch.synthetic): written by the store's
own functions, the same for a seed, in either layout."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from mer.batch.synthetic import write_synthetic_batch
from mer.errors import BatchError


def test_a_seed_gives_the_same_tables_and_the_older_layout_the_same_rows(tmp_path):
    write_synthetic_batch(tmp_path / "a", 30, seed=5, error_rate=0.2)
    write_synthetic_batch(tmp_path / "b", 30, seed=5, error_rate=0.2)
    write_synthetic_batch(tmp_path / "old", 30, seed=5, error_rate=0.2, layout="older")
    a, b = (pq.read_table(tmp_path / n / "tracks.parquet") for n in ("a", "b"))
    assert a.num_rows == 30 and a.equals(b)
    assert 0 < a.column("status").to_pylist().count("error") < 30
    old = pq.read_table(tmp_path / "old" / "tracks.parquet")
    assert sorted(old.column("path").to_pylist()) == sorted(a.column("path").to_pylist())
    assert (tmp_path / "a" / "profiles.parquet").exists() and not (tmp_path / "old" / "profiles.parquet").exists()


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(BatchError, match="at least 1 track"):
        write_synthetic_batch(tmp_path / "a", 0)
    with pytest.raises(BatchError):
        write_synthetic_batch(tmp_path / "a", 3, layout="sideways")
