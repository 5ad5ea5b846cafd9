"""The Library at catalogue scale: the query layer against pandas on small synthetic batches, the sorted segments
table, similar tracks, journeys, M3U playlists, and the `python -m mer library` commands' bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mer.batch import BatchError, layout, store, upgrade
from mer.batch.catalogue import Catalogue
from mer.batch.frames import filter_tracks, group_shares
from mer.batch.journey import journey
from mer.batch.playlist import m3u_text, write_m3u
from mer.batch.query import LibraryMap, TrackQuery
from mer.batch.similar import similar
from mer.batch.synthetic import write_synthetic_batch
from mer.cli import main
from mer.emotions import EMOTIONS

from .helpers import small_row_groups_batch


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """300 made-up tracks (3 failed or so), segments in row groups of 16 tracks, sorted in ranges of 1,000 rows."""
    return small_row_groups_batch(tmp_path_factory.mktemp("scale") / "b300", 300, seed=3, bucket_rows=1_000)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_segments_are_sorted_by_track_and_each_track_is_one_row_group(small):
    pf = pq.ParquetFile(small / "segments.parquet")
    assert pf.metadata.num_row_groups > 5
    ids = pf.read(columns=["track_id"]).column("track_id").to_numpy()
    assert np.all(np.diff(ids.astype(np.float64)) >= 0)
    for g in range(pf.metadata.num_row_groups):  # no track crosses a row group's edge
        here = set(pf.read_row_group(g, columns=["track_id"]).column("track_id").to_numpy().tolist())
        rest = set(ids.tolist()) - here
        assert not here & rest
    tracks = pd.read_parquet(small / "tracks.parquet")
    ok = tracks[tracks["status"] == "ok"]
    assert len(ids) == 20 * len(ok) and set(ids.tolist()) == set(ok["track_id"].tolist())


def test_queries_equal_the_pandas_answers(small):
    tracks = pd.read_parquet(small / "tracks.parquet")
    cat = Catalogue(small)
    cases = [dict(), dict(emotions=("sadness", "calmness")), dict(min_probability=0.45), dict(status="error"),
             dict(status="all"), dict(text="ROCK/artist-00001"), dict(emotions=("power",), text="pop")]
    for case in cases:
        for sort_by in ("top_probability", "sadness", "duration_s"):
            want = filter_tracks(tracks, **case, sort_by=sort_by)
            page = cat.page(TrackQuery(**case), sort_by=sort_by, offset=3, limit=40)
            assert page.total == len(want), (case, sort_by)
            assert page.rows["path"].tolist() == want["path"].iloc[3:43].tolist(), (case, sort_by)
    page = cat.page(TrackQuery(status="all"), sort_by="path", limit=500)
    assert page.rows["path"].tolist() == sorted(tracks["path"])
    row = page.rows.set_index("path").loc[tracks["path"].iloc[7]]
    want = tracks.set_index("path").loc[tracks["path"].iloc[7]]
    for col in ("file", "folder", "genre", "status", "top_emotion", "top_probability", *EMOTIONS):
        assert (pd.isna(row[col]) and pd.isna(want[col])) or row[col] == want[col], col


def test_counts_and_groups_equal_the_pandas_answers_with_the_rest_as_other(small):
    tracks = pd.read_parquet(small / "tracks.parquet")
    cat = Catalogue(small)
    s = cat.summary()
    ok = tracks[tracks["status"] == "ok"]
    assert (s.tracks, s.analysed, s.failed, s.models) == (300, len(ok), 300 - len(ok), ("synthetic",))
    assert s.counts.tolist() == ok["top_emotion"].value_counts().reindex(list(EMOTIONS), fill_value=0).tolist()
    for by in ("folder", "genre"):
        want = group_shares(tracks, by)
        got = cat.group_shares(by, top=None).to_frame()
        pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), check_names=False, check_dtype=False)
    top = cat.group_shares("folder", top=5)
    assert len(top.groups) == 6 and top.groups[-1] == f"other ({len(group_shares(tracks, 'folder')) - 5} folders)"
    assert top.tracks.sum() == len(ok) and top.tracks[:5].tolist() == sorted(top.tracks[:5].tolist(), reverse=True)
    np.testing.assert_allclose(top.shares.sum(axis=1), 1.0)
    m = cat.library_map(bins=20)
    assert m.counts.shape == (20, 20) and m.counts.sum() == len(ok)
    corner = LibraryMap.project(np.eye(9)[[EMOTIONS.index("sadness")]])
    assert np.hypot(*corner[0]) == pytest.approx(1.0)


def test_a_tracks_timeline_and_shape_equal_the_segments_rows(small):
    seg = pd.read_parquet(small / "segments.parquet")
    cat = Catalogue(small)
    shapes = cat.shapes()
    for row in (0, 57, 299):
        if not cat.ok[row]:
            continue
        tid = int(cat.track_ids[row])
        want = seg[seg["track_id"] == tid].sort_values("segment")
        tl = cat.timeline(tid)
        np.testing.assert_array_equal(tl.probabilities, want[list(EMOTIONS)].to_numpy())
        np.testing.assert_array_equal(tl.start_s, want["start_s"].to_numpy())
        p = want[list(EMOTIONS)].to_numpy(dtype=np.float64)
        t = np.linspace(0, 1, len(p))
        np.testing.assert_allclose(shapes[row, :9], p.std(axis=0), atol=1e-6)
        np.testing.assert_allclose(shapes[row, 9:], np.polyfit(t, p, 1)[0], atol=1e-5)
    assert cat.timeline(12345).probabilities.shape == (0, 9)


def test_an_older_batch_with_unsorted_segments_and_no_profiles_reads_the_same_without_upgrading(small, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "tracks.parquet").write_bytes((small / "tracks.parquet").read_bytes())
    seg = pq.read_table(small / "segments.parquet")
    pq.write_table(seg.take(np.random.default_rng(0).permutation(seg.num_rows)), old / "segments.parquet",
                   row_group_size=500)
    new, before = Catalogue(small), Catalogue(old, upgrade=False)  # read as it is, where it cannot be upgraded
    assert before._tables.index is None and new._tables.index is not None
    tid = int(new.track_ids[np.flatnonzero(new.ok)[4]])
    np.testing.assert_array_equal(before.timeline(tid).probabilities, new.timeline(tid).probabilities)
    np.testing.assert_allclose(before.shapes(), new.shapes(), atol=1e-6)


def test_similar_excludes_the_track_and_ranks_by_profile(small):
    cat = Catalogue(small)
    row = int(np.flatnonzero(cat.ok)[10])
    me = cat.track(row)
    near = similar(cat, me.path, top=7)
    assert len(near) == 7 and me.path not in [n.track.path for n in near]
    d = [n.distance for n in near]
    assert d == sorted(d) and all(n.track.status == "ok" for n in near)
    va = np.column_stack([cat.valence, cat.arousal])  # learned: weighted a half, as P - 1/2 of 2 P - 1
    prof = np.hstack([cat.probabilities, 0.5 * cat.shapes(), 0.5 * va, 0.25 * cat.va_shapes()])
    assert np.isfinite(prof[cat.ok]).all() and cat.va_shapes().shape == (cat.size, 4)
    ok = np.flatnonzero(cat.ok)
    brute = np.sqrt(((prof[ok] - prof[row]) ** 2).sum(axis=1))
    assert d == pytest.approx(sorted(brute[ok != row])[:7], abs=1e-5)
    for n in near:
        top3 = lambda p: set(np.argsort(-np.asarray(p))[:3].tolist())  # noqa: E731
        assert set(n.shared) == {EMOTIONS[i] for i in top3(me.probabilities) & top3(n.track.probabilities)}


def test_a_journey_moves_from_the_start_to_the_target_in_distinct_small_steps(small):
    cat = Catalogue(small)
    trip = journey(cat, "joyful_activation", from_emotion="sadness", steps=7)
    paths = [s.track.path for s in trip.steps]
    assert len(set(paths)) == 7
    assert trip.steps[0].track.top_emotion == "sadness" and trip.steps[-1].track.top_emotion == "joyful_activation"
    direct = np.linalg.norm(np.subtract(trip.steps[-1].track.probabilities, trip.steps[0].track.probabilities))
    assert max(s.change for s in trip.steps) < direct
    start = cat.track(int(np.flatnonzero(cat.ok)[3]))
    again = journey(cat, "calmness", from_track=start.path, steps=3)
    assert again.steps[0].track.path == start.path and again.start == start.top_emotion
    text = m3u_text([s.track for s in trip.steps])
    assert text.startswith("#EXTM3U\n#EXTINF:60,") and text.splitlines()[2::2] == paths


@pytest.mark.parametrize("args, words", [
    (["query", "{b}", "--emotion", "glee"], "Unknown emotion 'glee'"),
    (["query", "{b}", "--sort", "colour"], "Cannot sort by 'colour'"),
    (["query", "{b}", "--min-probability", "1.5"], "between 0 and 1"),
    (["similar", "{b}", "/music/none.mp3"], "is not a track of the batch"),
    (["journey", "{b}", "--from", "sadness", "--to", "calmness", "--steps", "1"], "--steps must lie between 2"),
    (["journey", "{b}", "--from", "sadness", "--to", "calmness", "--steps", "100000"], "--steps must lie between 2"),
    (["journey", "{b}", "--from", "sadness", "--to", "glee"], "Unknown emotion 'glee'"),
    (["journey", "{b}", "--from", "sadness", "--to", "power", "--m3u", "/etc/mer-test.m3u"], "outside the folders"),
    (["journey", "{b}", "--from", "sadness", "--to", "power", "--m3u", "{b}/in-batch.m3u"], "inside the batch folder"),
    (["journey", "{b}", "--from", "sadness", "--to", "power", "--m3u", "list.txt"], "end it in .m3u"),
    (["similar", "{b}", "{me}", "--top", "1001"], "--top must lie between 1 and 1,000, got 1,001"),
    (["similar", "{b}", "{me}", "--top", "0"], "--top must lie between 1 and 1,000"),
    (["journey", "{b}", "--from", "sadness", "--to", "calmness", "--steps", "2000000"],
     "--steps must lie between 2 and 1,000, got 2,000,000"),
])
def test_bad_input_is_one_error_line_exit_2_and_nothing_written(small, args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = snapshot(small)
    me = Catalogue(small).track(int(np.flatnonzero(Catalogue(small).ok)[0])).path
    assert main(["library", *[a.format(b=small, me=me) for a in args]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0]
    assert snapshot(small) == before and not list(tmp_path.iterdir()) and not Path("/etc/mer-test.m3u").exists()


def test_damaged_or_foreign_tables_are_refused(small, tmp_path, capsys):
    for name, content in (("damaged", b"PAR1 not really"), ("foreign", None)):
        d = tmp_path / name
        d.mkdir()
        (d / "segments.parquet").write_bytes((small / "segments.parquet").read_bytes())
        if content is None:
            pd.DataFrame({"x": [1, 2]}).to_parquet(d / "tracks.parquet")
        else:
            (d / "tracks.parquet").write_bytes(content)
        assert main(["library", "query", str(d)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and ("not a batch table" in err[0] or "not a table of mer's batches" in err[0])
    with pytest.raises(BatchError, match="holds no batch results"):
        Catalogue(tmp_path)


def test_the_commands_print_what_the_query_layer_answers_and_write_no_batch_file(small, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = snapshot(small)
    tracks = pd.read_parquet(small / "tracks.parquet")
    assert main(["library", "query", str(small), "--emotion", "tension", "--emotion", "power", "--sort", "tension",
                 "--limit", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = filter_tracks(tracks, emotions=["tension", "power"], sort_by="tension")
    assert out["total"] == len(want) and [r["path"] for r in out["rows"]] == want["path"].head(5).tolist()
    assert set(out["rows"][0]) >= {"path", "top_emotion", "top_probability", *EMOTIONS}
    me = out["rows"][0]["path"]
    assert main(["library", "similar", str(small), me, "--top", "4", "--json"]) == 0
    near = json.loads(capsys.readouterr().out)["similar"]
    assert len(near) == 4 and me not in [n["path"] for n in near] and all("shared_emotions" in n for n in near)
    assert main(["library", "journey", str(small), "--from", me, "--to", "calmness", "--steps", "5", "--m3u",
                 "trip.m3u"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()[1:]
    lines = (tmp_path / "trip.m3u").read_text().splitlines()
    assert len(printed) == 5 and lines[0] == "#EXTM3U" and lines[2] == me and len(lines) == 11
    assert [p.endswith(x) for p, x in zip(printed, lines[2::2])] == [True] * 5
    assert snapshot(small) == before


def test_a_path_with_a_line_break_stays_one_entry_of_the_playlist(small, tmp_path, monkeypatch):
    from mer.batch.query import Track

    monkeypatch.chdir(tmp_path)
    odd = Track(path="/music/a\nb.mp3", top_emotion="power", top_probability=0.5, probabilities=(0.1,) * 9,
                duration_s=None, status="ok")
    written = write_m3u([odd], "odd.m3u8", small)
    assert written.read_text().splitlines() == ["#EXTM3U", "#EXTINF:-1,a b — power", "file:///music/a%0Ab.mp3"]
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_the_page_pages_sorts_finds_similar_tracks_and_builds_a_journey_on_the_server(tmp_path, monkeypatch):
    from .helpers import synthetic_library_page
    from .test_app import array, figure

    at, _, tracks = synthetic_library_page(tmp_path, monkeypatch, "catalogue", 450, seed=5)
    assert not at.exception
    ok = tracks[tracks["status"] == "ok"]
    assert {m.label: m.value for m in at.metric}["Analysed"] == f"{len(ok):,}"
    table = at.dataframe(key="table").value
    want = filter_tracks(tracks)
    assert len(table) == 100 and table["path"].tolist() == want["path"].head(100).tolist()
    at.number_input(key="page_no").set_value(3).run()
    assert at.dataframe(key="table").value["path"].tolist() == want["path"].iloc[200:300].tolist()
    at.selectbox[2].set_value("sadness").run()  # sort by sadness, on the server, over every page
    assert at.dataframe(key="table").value["path"].tolist() == filter_tracks(tracks, sort_by="sadness")["path"].iloc[200:300].tolist()
    me = tracks.set_index("track_id").loc[at.selectbox(key="track").value, "path"]  # the track picked, by its id
    near = at.dataframe[1].value
    assert len(near) == 10 and me not in near["path"].tolist()
    steps = at.dataframe[2].value
    assert len(steps) == 8 and steps["path"].iloc[0] == me and steps["path"].nunique() == 8
    heat = array(figure(at, "The journey, step by step")["data"][0]["z"])
    assert heat.shape == (9, 8)
    lib_map = figure(at, "The library map")
    assert np.nansum(array(lib_map["data"][0]["customdata"])) == len(ok)
    assert all("<b>" not in str(t.get("customdata", "")) for t in lib_map["data"][2:])  # names escaped for Plotly
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Filtered table (CSV)", "Filtered table (Parquet)", "Journey playlist (M3U)"]


@pytest.mark.slow  # starts processes or trains: left out of the quick inner loop
def test_the_scale_benchmark_runs_small_and_its_answers_equal_pandas(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, str(root / "benchmarks" / "library_scale.py"), "--tracks", "2000", "--check",
                           "--json", "--out", str(tmp_path / "b")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["differences"] == [] and report["tracks"] == 2000
    # every figure docs/batch.md quotes is there, a positive number (how large is for the benchmark to print)
    figures = {k: v for k, v in {**report, **report["mb"]}.items() if k.endswith(("_s", "_mb", ".parquet"))}
    quoted = {f"cli_{c}_{u}" for c in ("query", "similar", "similar_sound", "journey") for u in ("s", "rss_mb")}
    assert quoted | {"timeline_s", "load_tracks_peak_rss_mb", "open_s", "tracks.parquet", "segments.parquet"} <= set(figures)
    assert all(isinstance(v, (int, float)) and 0 < v < float("inf") for v in figures.values()), figures


def test_similar_by_sound_is_the_cosine_of_what_musicnn_hears(tmp_path):
    from mer.batch.catalogue import Catalogue
    from mer.batch.similar import similar
    from mer.batch.synthetic import write_synthetic_batch
    from mer.tags import TAGS

    batch = write_synthetic_batch(tmp_path / "b", 300, seed=3)
    cat = Catalogue(batch)
    sounds = cat.sounds()
    assert sounds.shape == (300, 50) and np.isnan(sounds[~cat.ok]).all() and np.isfinite(sounds[cat.ok]).all()
    row = int(np.flatnonzero(cat.ok)[0])
    near = similar(cat, cat.track(row).path, top=5, by="sound")
    expected = 1 - (sounds @ sounds[row]) / (np.linalg.norm(sounds, axis=1) * np.linalg.norm(sounds[row]))
    expected[~cat.ok] = np.inf
    expected[row] = np.inf
    assert [n.distance for n in near] == pytest.approx(np.sort(expected)[:5], abs=1e-5)
    assert all(set(n.shared_tags) <= set(TAGS) for n in near) and near[0].shared_tags
    genre = cat.rows(np.array([row]))["genre"].iloc[0]  # each synthetic genre has its own sound
    assert all(n.track.path.split("/")[2] == cat.track(row).path.split("/")[2] for n in near), genre
    by_emotion = similar(cat, cat.track(row).path, top=5)
    assert [n.track.path for n in by_emotion] != [n.track.path for n in near] and not by_emotion[0].shared_tags


def test_similar_by_sound_needs_a_batch_that_stores_it(tmp_path, capsys):
    import pyarrow.parquet as pq

    from mer.batch.catalogue import Catalogue
    from mer.batch.similar import similar
    from mer.batch.synthetic import write_synthetic_batch
    from mer.cli import main
    from mer.errors import BatchError

    batch = write_synthetic_batch(tmp_path / "b", 50, seed=1)
    table = pq.read_table(batch / "tracks.parquet")
    pq.write_table(table.drop_columns(["sound"]), batch / "tracks.parquet")  # as a batch of an older mer
    cat = Catalogue(batch)
    path = cat.track(int(np.flatnonzero(cat.ok)[0])).path
    assert cat.sounds() is None
    with pytest.raises(BatchError, match="stores no sounds.*similar by emotion"):
        similar(cat, path, by="sound")
    assert main(["library", "similar", str(batch), path, "--by", "sound"]) == 2
    assert capsys.readouterr().err.startswith("error: ") and len(similar(cat, path, top=3)) == 3


# --- a batch written before the query layer, upgraded once ------------------------------------------------------


def _answers(batch: Path) -> tuple:
    """What the commands answer on a batch: similar tracks (both kinds), a journey, a timeline, the shapes."""
    cat = Catalogue(batch, upgrade=False)
    me = cat.track(int(np.flatnonzero(cat.ok)[7])).path
    near = [(n.track.path, round(n.distance, 5)) for n in similar(cat, me, top=8)]
    sound = [n.track.path for n in similar(cat, me, top=5, by="sound")]
    trip = [s.track.path for s in journey(cat, "calmness", from_emotion="tension", steps=6).steps]
    tid = int(cat.track_ids[np.flatnonzero(cat.ok)[3]])
    return near, sound, trip, cat.timeline(tid).probabilities.tolist(), np.round(cat.shapes(), 5).tolist()


@pytest.fixture
def older(tmp_path, monkeypatch) -> Path:
    """120 made-up tracks as mer wrote them before the query layer: segments in the chunks' order (row groups of
    600 rows, overlapping id ranges), no profiles.parquet."""
    monkeypatch.setattr(layout, "SEGMENT_GROUP_TRACKS", 16)
    monkeypatch.setattr(layout, "_BUCKET_ROWS", 700)
    out = write_synthetic_batch(tmp_path / "older", 120, seed=4, chunk=40, layout="older")
    pq.write_table(pq.read_table(out / "segments.parquet"), out / "segments.parquet", row_group_size=600)
    return out


def test_an_older_batch_is_upgraded_once_on_first_open_to_the_tables_a_batch_writes_today(older, tmp_path, capsys):
    today = write_synthetic_batch(tmp_path / "today", 120, seed=4, chunk=40)
    assert upgrade.needs_upgrade(older) and not upgrade.needs_upgrade(today)
    assert not (older / "profiles.parquet").exists() and Catalogue(older, upgrade=False)._tables.index is None
    before = _answers(older)
    heard = []
    cat = Catalogue(older, on_progress=lambda done, total, what: heard.append((done, total, what)))
    assert cat._tables.index is not None and not cat.notes and not upgrade.needs_upgrade(older)
    assert heard[-1][0] == heard[-1][1] == 2 * 20 * int(cat.ok.sum()) and "upgrading" in heard[-1][2]
    for name in ("tracks.parquet", "segments.parquet", "profiles.parquet"):  # exactly what a batch writes today
        assert pq.read_table(older / name).equals(pq.read_table(today / name)), name
    assert _answers(older) == before == _answers(today)
    assert not [p.name for p in older.iterdir() if p.name.endswith((".tmp", "-merging"))]
    stamps = snapshot(older)
    assert upgrade.upgrade_batch(older) is False and Catalogue(older).notes == [] and snapshot(older) == stamps  # once


def test_the_commands_upgrade_an_older_batch_with_a_progress_line_and_answer_as_before(older, capsys, tmp_path,
                                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    cat = Catalogue(older, upgrade=False)
    me = cat.track(int(np.flatnonzero(cat.ok)[2])).path
    want = [n.to_dict() for n in similar(cat, me, top=5)]
    assert main(["library", "similar", str(older), me, "--top", "5", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["similar"] == want and "upgrading the batch to the current layout (once)" in err
    assert not upgrade.needs_upgrade(older)
    assert main(["library", "similar", str(older), me, "--top", "5", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["similar"] == want and "upgrading" not in err


def test_an_interrupted_upgrade_leaves_the_old_tables_in_place_and_usable(older, monkeypatch):
    before, stamps = _answers(older), snapshot(older)
    calls = {"n": 0}
    real = layout._write_aligned

    def fails_midway(writer, table):  # every upgrade stops with the sorted table half written
        calls["n"] += 1
        if calls["n"] % 2 == 0:
            raise RuntimeError("the machine went away")
        real(writer, table)

    monkeypatch.setattr(layout, "_write_aligned", fails_midway)
    with pytest.raises(RuntimeError):
        upgrade.upgrade_batch(older)
    assert snapshot(older) == stamps  # nothing renamed, nothing left behind
    cat = Catalogue(older)  # opened all the same, read as it is, and says why
    assert calls["n"] == 4 and cat._tables.index is None and len(cat.notes) == 1
    assert "reads more slowly until it is upgraded" in cat.notes[0] and "the machine went away" in cat.notes[0]
    assert snapshot(older) == stamps and _answers(older) == before

    def disk_full(writer, table):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(layout, "_write_aligned", disk_full)
    with pytest.raises(BatchError, match="No space left on device.*tables are as they were"):
        upgrade.upgrade_batch(older)
    assert snapshot(older) == stamps
    monkeypatch.setattr(layout, "_write_aligned", real)
    assert Catalogue(older)._tables.index is not None and _answers(older) == before  # the next open upgrades it


def test_a_batch_being_written_is_read_as_it_is_and_upgraded_when_the_writer_is_done(older):
    with store.locked(older):  # a run writing the folder holds its lock
        cat = Catalogue(older)
        assert upgrade.needs_upgrade(older) and cat._tables.index is None
        assert "Another batch is writing" in cat.notes[0]
    assert Catalogue(older)._tables.index is not None and not upgrade.needs_upgrade(older)


# --- the third probe's defects ------------------------------------------------------------------------------------


def _copy(small: Path, dest: Path) -> Path:
    dest.mkdir()
    for name in ("tracks.parquet", "segments.parquet", "profiles.parquet", "batch.json"):
        (dest / name).write_bytes((small / name).read_bytes())
    return dest


def _set(batch: Path, changes: dict[str, dict[int, float]]) -> None:
    """Write numbers into tracks.parquet by hand: ``{column: {row: value}}``."""
    table = pq.read_table(batch / "tracks.parquet")
    for column, rows in changes.items():
        values = table.column(column).to_numpy(zero_copy_only=False).copy()
        for row, value in rows.items():
            values[row] = value
        i = table.schema.get_field_index(column)
        table = table.set_column(i, table.schema.field(i), pa.array(values, table.schema.field(i).type))
    pq.write_table(table, batch / "tracks.parquet")


def _strict_json(text: str) -> dict:
    def refuse(constant: str):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_playlists_are_never_written_into_the_root_or_the_home_folder(small, tmp_path, monkeypatch, capsys):
    home, data = tmp_path / "home", tmp_path / "data"
    (home / "music").mkdir(parents=True)
    data.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MER_DATA_DIR", str(data))
    monkeypatch.delenv("MER_LIBRARY_ROOTS", raising=False)
    (tmp_path / "cron.d").mkdir()
    trip = ["library", "journey", str(small), "--from", "sadness", "--to", "power", "--m3u"]
    cases = [("/", tmp_path / "cron.d" / "x.m3u", "outside the folders"),  # a service's working folder: not a root
             (home, home / "x.m3u", "the home folder"),
             (home, home / "music" / "x.m3u", "outside the folders"),  # the home folder lends no subfolder either
             (tmp_path, tmp_path / "x.m3u", "a folder holding the home folder")]
    for cwd, dest, words in cases:
        monkeypatch.chdir(cwd)
        assert main([*trip, str(dest)]) == 2, dest
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and words in err[0] and not dest.exists()
    monkeypatch.setenv("MER_LIBRARY_ROOTS", os.pathsep.join(["/", str(home)]))  # named roots: the same rule
    assert main([*trip, str(home / "x.m3u")]) == 2 and main([*trip, str(tmp_path / "cron.d" / "x.m3u")]) == 2
    monkeypatch.chdir(home / "music")  # a folder of its own is fine
    assert main([*trip, "x.m3u"]) == 0 and (home / "music" / "x.m3u").read_text().startswith("#EXTM3U\n")


def test_damaged_tables_give_one_error_line_or_a_sound_answer(small, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cat = Catalogue(small)
    ok = np.flatnonzero(cat.ok)
    me = cat.track(int(ok[0])).path

    infinite = _copy(small, tmp_path / "inf")  # a duration of inf: the playlist says "unknown" (-1)
    _set(infinite, {"duration_s": {int(r): np.inf for r in ok}})
    assert main(["library", "journey", str(infinite), "--from", me, "--to", "calmness", "--steps", "3", "--m3u",
                 "t.m3u"]) == 0
    assert (tmp_path / "t.m3u").read_text().splitlines()[1].startswith("#EXTINF:-1,")
    capsys.readouterr()

    table = pq.read_table(small / "tracks.parquet")
    short = pc_list_slice(table.column("sound"), 49)
    for kind, sounds in (("fixed", short), ("variable", short.cast(pa.list_(pa.float16())))):
        wrong = _copy(small, tmp_path / f"sound-{kind}")  # 49 numbers a sound, not 50
        i = table.schema.get_field_index("sound")
        pq.write_table(table.set_column(i, pa.field("sound", sounds.type), sounds), wrong / "tracks.parquet")
        assert main(["library", "similar", str(wrong), me, "--by", "sound"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and "sounds that are not 50 numbers" in err[0]

    texts = _copy(small, tmp_path / "profiles")  # profiles.parquet with string columns
    prof = pq.read_table(small / "profiles.parquet")
    pq.write_table(pa.table({n: prof.column(n).cast(pa.string()) for n in prof.column_names}),
                   texts / "profiles.parquet")
    assert main(["library", "similar", str(texts), me]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "profiles.parquet" in err[0] and "Delete that file" in err[0]


def pc_list_slice(column: pa.ChunkedArray, n: int) -> pa.ChunkedArray:
    """Each fixed-size list of ``column`` cut to its first ``n`` values (a sound of the wrong length)."""
    values = np.stack([np.asarray(v[:n], np.float16) if v is not None else np.full(n, np.nan, np.float16)
                       for v in column.to_pylist()])
    return pa.chunked_array([pa.FixedSizeListArray.from_arrays(pa.array(values.ravel(), pa.float16()), n)])


def test_json_is_valid_and_tracks_that_are_not_finite_are_left_out_with_a_note(small, tmp_path, capsys, monkeypatch):
    import warnings

    monkeypatch.chdir(tmp_path)
    cat = Catalogue(small)
    calm = EMOTIONS.index("calmness")
    calm_rows = np.flatnonzero(cat.ok & (cat.top == calm))
    best = calm_rows[np.argsort(-cat.probabilities[calm_rows, calm])]  # the calmest first
    other = int(np.flatnonzero(cat.ok & (cat.top != calm))[0])
    damaged = _copy(small, tmp_path / "damaged")
    _set(damaged, {"calmness": {int(best[0]): np.nan}, "top_probability": {other: np.inf},
                   "duration_s": {other: -np.inf}, "sadness": {other: -np.inf}})

    assert main(["library", "query", str(damaged), "--status", "all", "--limit", "1000", "--json"]) == 0
    out = _strict_json(capsys.readouterr().out)
    rows = {r["path"]: r for r in out["rows"]}
    hurt = rows[cat.track(other).path]
    assert out["total"] == 300 and hurt["top_probability"] is None and hurt["duration_s"] is None
    assert hurt["sadness"] is None and rows[cat.track(int(best[0])).path]["calmness"] is None

    assert main(["library", "journey", str(damaged), "--from", "calmness", "--to", "sadness", "--steps", "4",
                 "--json"]) == 0
    out, err = capsys.readouterr()
    steps = [s["path"] for s in _strict_json(out)["steps"]]
    assert steps[0] == cat.track(int(best[1])).path  # the calmest track that is whole: the NaN one is left out
    assert cat.track(int(best[0])).path not in steps and cat.track(other).path not in steps
    assert "note: 2 analysed tracks of this batch hold probabilities that are not finite numbers" in err

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning on the way
        assert main(["library", "similar", str(damaged), cat.track(other).path]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("error: ") and "not finite numbers" in err[-1] and "Choose another track" in err[-1]
        assert main(["library", "similar", str(damaged), cat.track(int(best[1])).path, "--top", "1000", "--json"]) == 0
    near = [n["path"] for n in _strict_json(capsys.readouterr().out)["similar"]]
    assert len(near) == int(cat.ok.sum()) - 3 and cat.track(other).path not in near


def test_the_page_reads_a_damaged_batch_with_readable_messages(tmp_path, monkeypatch):
    from .helpers import open_page

    data = tmp_path / "data"
    monkeypatch.setenv("MER_DATA_DIR", str(data))
    monkeypatch.delenv("MER_LIBRARY_ROOTS", raising=False)
    out = write_synthetic_batch(data / "batches" / "damaged", 60, seed=2, error_rate=0.0)
    table = pq.read_table(out / "tracks.parquet")
    _set(out, {"duration_s": {r: np.inf for r in range(60)}})
    table = pq.read_table(out / "tracks.parquet")
    sounds = pc_list_slice(table.column("sound"), 49)
    pq.write_table(table.set_column(table.schema.get_field_index("sound"), pa.field("sound", sounds.type), sounds),
                   out / "tracks.parquet")
    prof = pq.read_table(out / "profiles.parquet")
    pq.write_table(pa.table({n: prof.column(n).cast(pa.string()) for n in prof.column_names}), out / "profiles.parquet")
    at = open_page("pages/library.py", timeout=60)
    assert not at.exception
    errors = [e.value.replace("\\", "") for e in at.error]  # shown literally: Markdown escaped
    assert any("sounds that are not 50 numbers" in e for e in errors)
    assert any("profiles.parquet" in e and "Delete that file" in e for e in errors)
    assert [b.label for b in at.get("download_button")][-1] == "Journey playlist (M3U)"  # -1 seconds, not a crash


def test_the_page_upgrades_an_older_batch_once_and_names_a_named_pipe_for_what_it_is(tmp_path, monkeypatch):
    from .helpers import open_page

    data, music = tmp_path / "data", tmp_path / "music"
    monkeypatch.setenv("MER_DATA_DIR", str(data))
    monkeypatch.delenv("MER_LIBRARY_ROOTS", raising=False)
    out = write_synthetic_batch(data / "batches" / "older", 60, seed=2, error_rate=0.0, root=str(music),
                                layout="older")
    assert upgrade.needs_upgrade(out)
    at = open_page("pages/library.py", timeout=60)
    assert not at.exception and not upgrade.needs_upgrade(out) and (out / "profiles.parquet").is_file()
    path = Path(pd.read_parquet(out / "tracks.parquet").set_index("track_id").loc[at.selectbox(key="track").value,
                                                                                 "path"])
    path.parent.mkdir(parents=True)
    os.mkfifo(path)  # a file of the library swapped for a named pipe
    at.run()
    assert not at.exception and not at.get("audio")
    captions = [c.value for c in at.caption]
    assert any("not a regular file: a named pipe" in c for c in captions)
    assert not any("no longer" in c for c in captions)
