"""mer.batch.view: what the Library page shows, from one selection per rerun, on a synthetic batch (no audio)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from mer.batch import BatchError, view
from mer.batch.catalogue import Catalogue
from mer.batch.frames import filter_tracks, table_columns
from mer.batch.journey import journey
from mer.batch.query import TrackQuery
from mer.batch.similar import similar
from mer.batch.synthetic import write_synthetic_batch
from mer.emotions import EMOTIONS


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = write_synthetic_batch(tmp_path_factory.mktemp("view") / "b", 257, seed=3, error_rate=0.05)
    return Catalogue(out), pd.read_parquet(out / "tracks.parquet")


def test_the_count_the_pages_and_each_pages_rows_come_from_one_sorted_selection(batch):
    cat, tracks = batch
    want = filter_tracks(tracks, sort_by="sadness")
    sel = view.select_tracks(cat, TrackQuery(), sort_by="sadness", page_size=40)
    assert sel.total == len(want) and sel.pages == -(-len(want) // 40) > 5
    pages = [sel.page(n) for n in range(1, sel.pages + 1)]
    assert [len(p.table) for p in pages] == [40] * (sel.pages - 1) + [len(want) - 40 * (sel.pages - 1)]
    assert [i for p in pages for i in p.ids] == want["track_id"].tolist()  # every row once, in order
    third = pages[2]
    assert third.number == 3 and third.offset == 80 and third.table["path"].tolist() == want["path"][80:120].tolist()
    assert third.names[third.ids[0]] == want["file"].iloc[80] == third.name(third.ids[0])
    assert sel.page(0).number == 1 and sel.page(999).ids == pages[-1].ids  # past either end: the first, the last


def test_a_page_offers_only_its_analysed_tracks_in_its_order(batch):
    cat, tracks = batch
    sel = view.select_tracks(cat, TrackQuery(status="all"), sort_by="path", descending=False, page_size=50)
    page = sel.page(1)
    want = tracks.sort_values("path").head(50)
    assert page.ids == tuple(want["track_id"]) and "error" in set(want["status"])  # the failed ones are listed
    assert page.analysed == tuple(want.loc[want["status"] == "ok", "track_id"])  # and never offered in detail


def test_an_empty_selection_has_one_empty_page(batch):
    cat, _ = batch
    sel = view.select_tracks(cat, TrackQuery(text="no such name"))
    assert (sel.total, sel.pages) == (0, 1)
    page = sel.page(1)
    assert len(page.table) == 0 and page.ids == () and page.analysed == ()
    assert sel.downloadable and len(sel.table()) == 0


def test_the_download_holds_the_whole_selection_in_the_pages_order(batch):
    cat, tracks = batch
    query = TrackQuery(emotions=("sadness", "calmness", "tension"), min_probability=0.2)
    sel = view.select_tracks(cat, query, sort_by="duration_s", page_size=7)
    want = filter_tracks(tracks, emotions=["sadness", "calmness", "tension"], min_probability=0.2,
                         sort_by="duration_s")
    assert 7 < sel.total == len(want)
    back = pd.read_csv(io.StringIO(sel.csv()))
    assert list(back.columns) == table_columns(cat.has_va) and back["path"].tolist() == want["path"].tolist()
    parquet = pd.read_parquet(io.BytesIO(sel.parquet()))
    assert parquet["file"].tolist() == want["file"].tolist()
    np.testing.assert_allclose(parquet["sadness"], want["sadness"], rtol=1e-6)
    assert [p for n in range(1, sel.pages + 1) for p in sel.page(n).table["path"]] == back["path"].tolist()


def test_a_selection_too_large_to_download_says_so(batch):
    cat, _ = batch
    sel = view.select_tracks(cat, TrackQuery(status="all"), download_rows=100)
    assert sel.total == 257 and not sel.downloadable
    with pytest.raises(BatchError, match="more than the 100 a download may hold"):
        sel.csv()
    with pytest.raises(BatchError, match="at least one row"):
        view.select_tracks(cat, TrackQuery(), page_size=0)


def test_a_track_is_found_by_its_id_and_by_its_path(batch):
    cat, tracks = batch
    for i in (0, 1, 128, 256):
        row = tracks.iloc[i]
        assert cat.row_of(int(row["track_id"])) == i and cat.find(row["path"]) == i
    with pytest.raises(BatchError, match="Track 12345 is not in the batch"):
        cat.row_of(12345)
    with pytest.raises(BatchError, match="is not a track of the batch"):
        cat.find("/music/none.mp3")


def test_the_picked_track_has_its_row_its_timeline_and_its_file(batch):
    cat, tracks = batch
    row = tracks[tracks["status"] == "ok"].iloc[5]
    shown = view.picked(cat, int(row["track_id"]))
    assert shown.track.path == row["path"] == shown.file_path
    assert shown.track.probabilities == pytest.approx(tuple(row[list(EMOTIONS)]), rel=1e-6)
    seg = pd.read_parquet(cat.path / "segments.parquet")
    seg = seg[seg["track_id"] == row["track_id"]].sort_values("segment")
    np.testing.assert_allclose(shown.timeline.probabilities, seg[list(EMOTIONS)].to_numpy(), rtol=1e-6)


def test_map_points_steps_and_tables(batch):
    cat, tracks = batch
    ok = tracks[tracks["status"] == "ok"]
    me = view.picked(cat, int(ok["track_id"].iloc[0])).track
    lmap = cat.library_map()
    drawn = view.map_points(lmap, [me])
    assert drawn.labels == [ok["file"].iloc[0]] and drawn.points.shape == (1, 2)
    np.testing.assert_allclose(drawn.points[0], lmap.place([me])[0])
    assert (view.step_range(cat).most, view.step_range(cat).default) == (view.MOST_STEPS, 8)
    near = similar(cat, me.path, top=4)
    rows = view.similar_rows(near, by_sound=False)
    assert [r["path"] for r in rows] == [n.track.path for n in near] and "shared tags" not in rows[0]
    trip = journey(cat, "calmness", from_track=me.path, steps=5)
    steps = view.journey_rows(trip, va=cat.has_va)
    assert [r["step"] for r in steps] == [1, 2, 3, 4, 5] and steps[0]["path"] == me.path
    assert view.common_folder([s.track for s in trip.steps]) == "/music"


def test_a_journey_over_few_tracks_offers_no_more_steps_than_there_are_tracks(tmp_path):
    cat = Catalogue(write_synthetic_batch(tmp_path / "few", 5, seed=1, error_rate=0.0))
    assert (view.step_range(cat).most, view.step_range(cat).default) == (5, 5)
    one = Catalogue(write_synthetic_batch(tmp_path / "one", 1, seed=1, error_rate=0.0))
    assert (view.step_range(one).most, view.step_range(one).default) == (2, 2)  # two at least: the input's floor
