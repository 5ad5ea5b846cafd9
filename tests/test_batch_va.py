"""The learned valence and arousal in a batch and the Library: the columns a batch writes (equal to `mer analyze`'s),
null for a model without the head and absent from an older batch (which still opens and says why), filters and
sorting by them, the map on their axes, and journeys across the plane."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from mer.batch import BatchError, run_batch, store, upgrade
from mer.batch.catalogue import Catalogue
from mer.batch.frames import filter_tracks
from mer.batch.inputs import HashSet
from mer.batch.journey import plane_journey
from mer.batch.query import TrackQuery
from mer.batch.similar import similar
from mer.batch.synthetic import write_synthetic_batch
from mer.batch.tables import NO_VA_OLDER
from mer.batch.worker import one_thread
from mer.cli import main
from mer.model_files import load_model

from .helpers import small_row_groups_batch, tone

VA = ["valence", "arousal"]
VA_SHAPES = ["valence_spread", "arousal_spread", "valence_trend", "arousal_trend"]


def _library(root: Path) -> Path:
    """Two short files: a low loud tone then a high quiet one (a path that moves), and a steady tone."""
    root.mkdir()
    sf.write(root / "moves.wav", np.concatenate([tone(6.0, freq=110.0), tone(6.0, freq=1760.0, amp=0.1)]), 16_000)
    sf.write(root / "steady.wav", tone(10.5, freq=440.0), 16_000)
    return root


def test_a_batch_stores_the_learned_values_of_each_track_and_segment_as_analyze_gives_them(va_model, tmp_path, capsys,
                                                                                           monkeypatch):
    monkeypatch.setenv("MER_THREADS", "1")  # `analyze` in the batch's arithmetic: threads sum in another order
    lib = _library(tmp_path / "lib")
    out = tmp_path / "out"
    run_batch([lib], out, model=load_model(va_model), workers=1)
    tracks, segments = pd.read_parquet(out / "tracks.parquet"), pd.read_parquet(out / "segments.parquet")
    profiles = pd.read_parquet(out / "profiles.parquet").set_index("track_id")
    for column in VA:
        assert pq.read_schema(out / "tracks.parquet").field(column).type == pa.float32()
        assert pq.read_schema(out / "segments.parquet").field(column).type == pa.float32()
    cat = Catalogue(out)
    assert cat.has_va and cat.va_reason is None and not cat.notes
    for name in ("moves.wav", "steady.wav"):
        with one_thread():  # BLAS and OpenMP too, as in the batch
            assert main(["analyze", str(lib / name), "--model", str(va_model), "--json"]) == 0
        want = json.loads(capsys.readouterr().out)
        track = tracks[tracks["file"] == name].iloc[0]
        seg = segments[segments["track_id"] == track["track_id"]].sort_values("segment")
        # to the last digit `analyze --json` prints (6 decimals, so half a unit), stored as float32 (3e-8)
        for column in VA:
            assert abs(track[column] - want["track"][column]) <= 5.3e-7, (name, column)
            np.testing.assert_allclose(seg[column], [s[column] for s in want["segments"]], rtol=0, atol=5.3e-7)
        got = cat.track(cat.find(str(lib / name)))
        assert got.point == pytest.approx((want["track"]["valence"], want["track"]["arousal"]), abs=5.3e-7)
        line = cat.timeline(int(track["track_id"]))
        np.testing.assert_allclose(line.valence, seg["valence"], rtol=0, atol=0)
        shape = profiles.loc[track["track_id"]]  # the path's spread over the segments and its trend through the track
        for column in VA:
            values = np.array([s[column] for s in want["segments"]])
            assert shape[f"{column}_spread"] == pytest.approx(values.std(), abs=1e-5)
            assert shape[f"{column}_trend"] == pytest.approx(np.polyfit(np.linspace(0, 1, 20), values, 1)[0], abs=1e-5)
    moves = segments[segments["path"].str.endswith("moves.wav")]
    assert moves["valence"].std() > 0 or moves["arousal"].std() > 0  # each segment its own, not the track's


def test_a_batch_of_a_model_without_the_head_has_null_values_and_says_why(tiny_models, tmp_path, capsys):
    lib = _library(tmp_path / "lib")
    out = tmp_path / "out"
    run_batch([lib], out, model=load_model(tiny_models / "default"), workers=1)
    for name in ("tracks", "segments"):
        table = pq.read_table(out / f"{name}.parquet")
        assert all(table.column(c).null_count == table.num_rows > 0 for c in VA), name
    profiles = pq.read_table(out / "profiles.parquet")
    assert all(profiles.column(c).null_count == profiles.num_rows == 2 for c in VA_SHAPES)
    cat = Catalogue(out)
    assert not cat.has_va and "the model that analysed it ('default') has no valence–arousal head" in cat.va_reason
    assert cat.library_map().axes == "emotions" and cat.track(0).point is None
    assert "valence" not in cat.sort_columns() and cat.track(0).to_dict()["valence"] is None
    assert main(["library", "query", str(out), "--valence-min", "0.2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: Cannot filter by valence. This batch has no valence or arousal: the model")
    assert main(["library", "query", str(out), "--json"]) == 0
    out_, err = capsys.readouterr()
    assert all(r["valence"] is None for r in json.loads(out_)["rows"]) and "note: This batch has no valence" in err


def _older(batch: Path) -> Path:
    """``batch`` as mer wrote it before it learned valence and arousal: no such columns in any table."""
    for name, columns in (("tracks", VA), ("segments", VA), ("profiles", VA_SHAPES)):
        table = pq.read_table(batch / f"{name}.parquet")
        pq.write_table(table.drop_columns(columns), batch / f"{name}.parquet")
    return batch


@pytest.fixture(scope="module")
def plane(tmp_path_factory) -> Path:
    """200 made-up tracks with valence and arousal (2 % failed), segments in row groups of 16 tracks."""
    return small_row_groups_batch(tmp_path_factory.mktemp("va") / "b200", 200, seed=8)


def test_a_synthetic_library_spreads_over_the_whole_plane(plane):
    tracks = pd.read_parquet(plane / "tracks.parquet")
    ok = tracks[tracks["status"] == "ok"]
    assert ok[VA].notna().all().all() and tracks.loc[tracks["status"] == "error", VA].isna().all().all()
    assert ok[VA].abs().max().max() <= 1
    quadrants = (ok["valence"] >= 0).astype(int) * 2 + (ok["arousal"] >= 0).astype(int)
    assert quadrants.value_counts().min() >= 10  # every quarter of the plane has tracks for a journey to reach
    sad, joy = (ok.loc[ok["top_emotion"] == e, VA].mean() for e in ("sadness", "joyful_activation"))
    assert sad["valence"] < joy["valence"] and sad["arousal"] < joy["arousal"]


@pytest.mark.parametrize("case", [dict(valence_min=0.3), dict(valence_max=-0.2, arousal_min=0.0),
                                  dict(arousal_min=-0.5, arousal_max=0.5, emotions=("calmness", "tenderness")),
                                  dict(valence_min=-0.1, valence_max=0.1, status="all")])
def test_valence_and_arousal_filter_and_sort_as_pandas_does(plane, case):
    tracks = pd.read_parquet(plane / "tracks.parquet")
    cat = Catalogue(plane)
    for sort_by in ("valence", "arousal", "top_probability"):
        want = filter_tracks(tracks, **case, sort_by=sort_by)
        page = cat.page(TrackQuery(**case), sort_by=sort_by, limit=500)
        assert 0 < page.total == len(want) and page.rows["path"].tolist() == want["path"].tolist(), (case, sort_by)
        kept = page.rows
        for name in ("valence", "arousal"):
            low, high = case.get(f"{name}_min", -1), case.get(f"{name}_max", 1)
            assert kept[name].between(low, high).all()
    low_first = cat.rows(cat.order(cat.select(TrackQuery(**case)), "valence", descending=False))["valence"]
    assert low_first.is_monotonic_increasing


def test_the_query_command_filters_and_sorts_by_valence_and_arousal(plane, capsys):
    tracks = pd.read_parquet(plane / "tracks.parquet")
    assert main(["library", "query", str(plane), "--valence-max", "-0.2", "--arousal-min", "0.1", "--sort", "valence",
                 "--ascending", "--limit", "1000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = filter_tracks(tracks, valence_max=-0.2, arousal_min=0.1, sort_by="valence").iloc[::-1]
    assert out["total"] == len(want) > 0 and [r["path"] for r in out["rows"]] == want["path"].tolist()
    assert [r["valence"] for r in out["rows"]] == pytest.approx(want["valence"].tolist(), abs=1e-4)
    assert main(["library", "query", str(plane), "--arousal-min", "0.9", "--sort", "arousal", "--limit", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "valen" in lines[0] and "arous" in lines[0] and all(float(x.split()[-2]) >= 0.9 for x in lines[1:])


@pytest.mark.parametrize("args, words", [
    (["query", "{b}", "--valence-min", "1.5"], "--valence-min must lie between -1 and 1, got 1.5"),
    (["query", "{b}", "--arousal-min", "0.5", "--arousal-max", "0.1"], "--arousal-min (0.5) is above --arousal-max"),
    (["query", "{b}", "--valence-max", "nan"], "--valence-max must lie between -1 and 1"),
    (["journey", "{b}", "--from-point", "0", "1.2", "--to-point", "0", "0"], "--from-point must be a valence"),
    (["journey", "{b}", "--from-point", "0", "0", "--to-point", "inf", "0"], "--to-point must be a valence"),
    (["journey", "{b}", "--from", "sadness", "--to-point", "0.5", "0.5"], "not at an emotion ('sadness')"),
    (["journey", "{b}", "--from-point", "0", "0", "--to", "calmness"], "ends at a point too"),
    (["journey", "{b}", "--to-point", "0", "0"], "Say where the journey starts"),
    (["journey", "{b}", "--from-point", "0", "0", "--to-point", "1", "1", "--steps", "1001"],
     "--steps must lie between 2 and 1,000, got 1,001"),
    (["journey", "{b}", "--from-point", "0", "0", "--to-point", "1", "1", "--steps", "400"],
     "--steps must lie between 2 and the"),
])
def test_bad_valence_arousal_input_is_one_error_line(plane, args, words, capsys):
    assert main(["library", *[a.format(b=plane) for a in args]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0]


def test_a_journey_between_two_points_follows_the_line_with_the_nearest_unused_tracks(plane, tmp_path, capsys,
                                                                                     monkeypatch):
    cat = Catalogue(plane)
    start, target = (-0.7, -0.6), (0.8, 0.7)
    trip = plane_journey(cat, start, target, steps=9)
    paths = [s.track.path for s in trip.steps]
    assert len(set(paths)) == 9 and all(s.track.status == "ok" for s in trip.steps)
    rows = np.flatnonzero(cat.va_usable)
    points = np.column_stack([cat.valence[rows], cat.arousal[rows]]).astype(np.float64)
    where = {cat.track(int(r)).path: i for i, r in enumerate(rows)}
    used = {paths[0], paths[-1]}
    # the ends first (the start's nearest, then the target's), then each waypoint the nearest track not used yet
    for k, step in [(0, trip.steps[0]), (8, trip.steps[-1]), *enumerate(trip.steps[1:-1], 1)]:
        w = np.array(start) + (np.array(target) - np.array(start)) * k / 8
        assert step.waypoint == pytest.approx(tuple(w))
        free = [i for i in range(len(rows)) if cat.track(int(rows[i])).path not in used - {step.track.path}]
        if 0 < k < 8:
            free = [i for i in free if cat.track(int(rows[i])).path not in paths[1:k]]
        best = min(free, key=lambda i: ((points[i] - w) ** 2).sum())
        assert cat.track(int(rows[best])).path == step.track.path, k
        assert step.distance == pytest.approx(np.linalg.norm(points[where[step.track.path]] - w), abs=1e-6)
    valence = [s.track.valence for s in trip.steps]
    assert valence[0] < -0.4 and valence[-1] > 0.5 and trip.steps[0].change == 0
    assert trip.file_stem == "v-0.70a-0.60-to-v+0.80a+0.70"
    me = trip.steps[4].track  # from a track: it is the first step
    again = plane_journey(cat, me.path, (0.9, -0.9), steps=3)
    assert again.steps[0].track.path == me.path and again.points[0] == pytest.approx(me.point)
    monkeypatch.chdir(tmp_path)
    assert main(["library", "journey", str(plane), "--from-point", "-0.7", "-0.6", "--to-point", "0.8", "0.7",
                 "--steps", "9", "--m3u", "trip.m3u", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["path"] for s in out["steps"]] == paths and out["space"] == "valence_arousal"
    assert out["from_point"] == [-0.7, -0.6] and out["to_point"] == [0.8, 0.7]
    assert (tmp_path / "trip.m3u").read_text().splitlines()[2::2] == paths


def test_tracks_whose_values_are_not_finite_are_left_out_with_a_note_and_null_in_json(plane, tmp_path, capsys):
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for name in ("tracks.parquet", "segments.parquet", "profiles.parquet"):
        (damaged / name).write_bytes((plane / name).read_bytes())
    cat = Catalogue(plane)
    near = plane_journey(cat, (-1.0, 1.0), (1.0, -1.0), steps=2).steps[0].track.path  # the nearest to (-1, 1)
    table = pq.read_table(damaged / "tracks.parquet")
    valence = table.column("valence").to_numpy(zero_copy_only=False).copy()
    valence[cat.find(near)] = np.nan
    i = table.schema.get_field_index("valence")
    pq.write_table(table.set_column(i, table.schema.field(i), pa.array(valence, pa.float32())),
                   damaged / "tracks.parquet")
    assert main(["library", "journey", str(damaged), "--from-point", "-1", "1", "--to-point", "1", "-1", "--steps",
                 "3", "--json"]) == 0
    out, err = capsys.readouterr()
    steps = json.loads(out, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))["steps"]
    assert near not in [s["path"] for s in steps]
    assert "note: 1 analysed track of this batch hold valence or arousal that are not finite numbers" in err
    assert main(["library", "query", str(damaged), "--text", Path(near).name, "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["valence"] is None and row["arousal"] is None
    assert Catalogue(damaged).library_map().left_out == 1


def test_similar_by_emotion_counts_the_learned_values_where_the_batch_has_them(plane, tmp_path):
    older = _older(write_synthetic_batch(tmp_path / "older", 200, seed=8, chunk=70, error_rate=0.02))
    new, old = Catalogue(plane), Catalogue(older)
    me = new.track(int(np.flatnonzero(new.ok)[5])).path
    by_new, by_old = similar(new, me, top=5), similar(old, me, top=5)
    assert [n.track.path for n in by_new] != [n.track.path for n in by_old]
    row = new.find(me)
    base = np.hstack([old.probabilities, 0.5 * old.shapes()])  # the batch without: as before valence and arousal
    d = np.sqrt(((base - base[row]) ** 2).sum(axis=1))
    d[~old.ok] = np.inf
    d[row] = np.inf
    assert [n.distance for n in by_old] == pytest.approx(np.sort(d)[:5], abs=1e-5)


def test_an_older_batch_without_the_columns_opens_and_says_why(plane, tmp_path, capsys):
    older = _older(write_synthetic_batch(tmp_path / "older", 200, seed=8, chunk=70, error_rate=0.02))
    assert not upgrade.needs_upgrade(older)  # nothing to rewrite: the values cannot be computed without the audio
    cat = Catalogue(older)
    assert cat.va_reason == NO_VA_OLDER and "written before mer learned them" in NO_VA_OLDER
    assert "analyse the library again" in NO_VA_OLDER.lower() and not cat.notes
    assert np.isnan(cat.valence).all() and np.isnan(cat.va_shapes()).all() and cat.shapes().shape == (200, 18)
    np.testing.assert_allclose(cat.shapes(), Catalogue(plane).shapes())  # the rest reads as before
    assert cat.library_map().axes == "emotions" and cat.library_map().counts.sum() == int(cat.ok.sum())
    tid = int(cat.track_ids[np.flatnonzero(cat.ok)[0]])
    assert np.isnan(cat.timeline(tid).valence).all() and cat.timeline(tid).probabilities.shape == (20, 9)
    with pytest.raises(BatchError, match="Cannot sort by arousal. This batch has no valence or arousal: it was"):
        cat.order(np.arange(5), "arousal")
    assert main(["library", "journey", str(older), "--from-point", "0", "0", "--to-point", "1", "1"]) == 2
    assert "written before mer learned them" in capsys.readouterr().err
    assert main(["library", "query", str(older), "--limit", "2"]) == 0
    out, err = capsys.readouterr()
    assert "valen" not in out and f"note: {NO_VA_OLDER}" in err


def test_new_results_merged_into_an_older_batch_are_the_only_ones_with_values(tmp_path):
    older = _older(write_synthetic_batch(tmp_path / "older", 60, seed=2, error_rate=0.0))
    fresh = write_synthetic_batch(tmp_path / "fresh", 10, seed=3, error_rate=0.0, root="/more")
    # a run of today's mer adds ten tracks to the older batch: its chunk, then the merge
    (older / ".parts" / "000000001").mkdir(parents=True)
    for name in ("tracks.parquet", "segments.parquet"):
        (older / ".parts" / "000000001" / name).write_bytes((fresh / name).read_bytes())
    ids = HashSet()
    ids.update(np.concatenate([pq.read_table(b / "tracks.parquet").column("track_id").to_numpy()
                               for b in (older, fresh)]))
    assert store.merge_parts(older, ids) == 70
    cat = Catalogue(older)
    assert cat.has_va and int(cat.va_finite.sum()) == 10 and not np.isfinite(cat.valence[~cat.va_finite]).any()
    assert len(cat.notes) == 1 and cat.notes[0].startswith("60 analysed tracks of this batch have no valence or arousal")
    assert int(np.isfinite(cat.va_shapes()).all(axis=1).sum()) == 10
    trip = plane_journey(cat, (-1, -1), (1, 1), steps=10)
    assert all(s.track.path.startswith("/more/") for s in trip.steps)
    assert cat.library_map().counts.sum() == 10 and cat.library_map().left_out == 60


def test_the_page_filters_by_valence_draws_the_learned_map_and_a_journey_across_the_plane(tmp_path, monkeypatch):
    from .helpers import synthetic_library_page
    from .test_app import array, figure

    at, out, tracks = synthetic_library_page(tmp_path, monkeypatch, "plane", 150, seed=6)
    ok = tracks[tracks["status"] == "ok"]
    assert not at.exception
    lib_map = figure(at, "The library map: where the tracks lie on the valence")
    assert np.nansum(array(lib_map["data"][0]["customdata"])) == len(ok)
    assert any("learned from listeners" in c.value for c in at.caption)
    at.slider(key="valence_range").set_value((-1.0, -0.2)).run()
    at.selectbox[2].set_value("arousal").run()
    want = filter_tracks(tracks, valence_max=-0.2, sort_by="arousal")
    table = at.dataframe(key="table").value
    assert table["path"].tolist() == want["path"].head(100).tolist() and (table["valence"] <= -0.2).all()
    at.radio(key="journey_space").set_value("plane").run()
    at.radio(key="plane_from").set_value("a point").run()
    assert not at.exception
    steps = at.dataframe[2].value
    trip = plane_journey(Catalogue(out), (-0.6, -0.6), (0.6, 0.6), steps=8)
    assert steps["path"].tolist() == [s.track.path for s in trip.steps]
    drawn = figure(at, "The library map")["data"][-1]
    assert array(drawn["x"]).tolist() == pytest.approx([s.track.valence for s in trip.steps])
    assert all("<b>" not in str(c) for c in drawn["customdata"])  # names escaped for Plotly
    assert [b.label for b in at.get("download_button")][-1] == "Journey playlist (M3U)"


def test_the_page_says_why_an_older_batch_has_no_values_and_maps_it_between_the_emotions(tmp_path, monkeypatch):
    from .helpers import open_page
    from .test_app import figure

    data = tmp_path / "data"
    monkeypatch.setenv("MER_DATA_DIR", str(data))
    monkeypatch.delenv("MER_LIBRARY_ROOTS", raising=False)
    _older(write_synthetic_batch(data / "batches" / "older", 80, seed=6))
    at = open_page("pages/library.py", timeout=60)
    assert not at.exception
    captions = [c.value.replace("\\", "") for c in at.caption]
    assert sum("written before mer learned them" in c for c in captions) == 2  # by the filters and by the map
    assert any("between the nine emotions" in c for c in captions)
    assert figure(at, "The library map: where the tracks lie between the nine emotions")
    assert not [s for s in at.slider if s.key in ("valence_range", "arousal_range")]
    assert not [r for r in at.radio if r.key == "journey_space"]
    assert "valence" not in at.selectbox[2].options and "valence" not in at.dataframe(key="table").value.columns
