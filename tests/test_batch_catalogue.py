"""The Catalogue over a finished batch (mer.batch.catalogue), on a small synthetic batch checked against its own
tables. The same answers at catalogue scale, and the commands and the page over them, are in test_library_scale.py."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from mer.batch.catalogue import Catalogue
from mer.batch.query import TrackQuery
from mer.batch.synthetic import write_synthetic_batch
from mer.choices import TrackStatus
from mer.emotions import EMOTIONS
from mer.errors import BatchError


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("catalogue") / "b"
    write_synthetic_batch(out, 60, seed=2, error_rate=0.15)
    return out, pq.read_table(out / "tracks.parquet").to_pandas()


def test_the_summary_and_a_status_query_count_the_tables_rows(batch):
    out, df = batch
    cat = Catalogue(out)
    ok = df["status"] == "ok"
    s = cat.summary()
    assert (s.tracks, s.analysed, s.failed) == (60, ok.sum(), (~ok).sum()) and 0 < s.failed < 60
    assert s.counts.tolist() == [int((df.loc[ok, "top_emotion"] == e).sum()) for e in EMOTIONS]
    assert len(cat.select(TrackQuery(status="error"))) == (~ok).sum()
    assert len(cat.select(TrackQuery(status=TrackStatus.OK))) == ok.sum() and len(cat.select(TrackQuery(status="all"))) == 60


def test_an_emotion_and_probability_query_keeps_what_pandas_keeps(batch):
    out, df = batch
    cat = Catalogue(out)
    rows = cat.select(TrackQuery(emotions=("sadness", "tension"), min_probability=0.3))
    want = df[(df["status"] == "ok") & df["top_emotion"].isin(["sadness", "tension"]) & (df["top_probability"] >= 0.3)]
    assert sorted(cat.track(int(r)).path for r in rows) == sorted(want["path"])


def test_a_track_is_found_by_its_path_with_its_numbers(batch):
    out, df = batch
    cat = Catalogue(out)
    row = df[df["status"] == "ok"].iloc[3]
    t = cat.track(cat.find(row["path"]))
    assert t.status is TrackStatus.OK and t.top_emotion == row["top_emotion"]
    np.testing.assert_allclose(t.probabilities, row[list(EMOTIONS)].to_numpy(float), rtol=1e-6)
    with pytest.raises(BatchError, match="is not a track of the batch"):
        cat.find("/nowhere.wav")
