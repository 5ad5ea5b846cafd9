"""The Library page (AppTest) and the functions behind it, on a batch the test runs itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mer.batch import BatchCancelled, BatchError, run_batch
from mer.batch.frames import filter_tracks, group_shares, load_tracks
from mer.batch.job import batch_status, cancel_batch, clear_batch, start_batch
from mer.batch.library import list_batches
from mer.batch.sample import sample_dir
from mer.data.examples import list_examples
from mer.emotions import EMOTIONS, emotion_label
from mer.jobs import JobState

from .helpers import open_page
from .test_app import array, figure
from .test_batch import write_library

PAGE = "pages/library.py"


@pytest.fixture(autouse=True)
def _tiny_active_model(tiny_models, monkeypatch):
    """The page analyses the sample with the active model: the tiny one here."""
    monkeypatch.setenv("MER_MODELS_DIR", str(tiny_models))


@pytest.fixture(scope="module")
def batch_dir(tiny_models, tmp_path_factory, _isolated_data_dir) -> Path:
    lib = write_library(tmp_path_factory.mktemp("library"), 9, bad=("text.mp3",))
    out = _isolated_data_dir / "batches" / "my-library"
    run_batch([lib], out, model=tiny_models / "default", workers=1)
    return out


def test_the_data_folders_batches_are_offered(batch_dir, _isolated_data_dir):
    (_isolated_data_dir / "cache").mkdir(exist_ok=True)
    batches = list_batches()
    assert [b.name for b in batches] == ["batches/my-library"] and batches[0].tracks == 10


def test_filters_and_groups_count_what_they_should(batch_dir):
    tracks = load_tracks(batch_dir)
    top = tracks["top_emotion"].value_counts().index[0]
    view = filter_tracks(tracks, emotions=[top], min_probability=0.0)
    assert len(view) == (tracks["top_emotion"] == top).sum()
    assert view["top_probability"].is_monotonic_decreasing
    assert len(filter_tracks(tracks, status="error")) == 1 and len(filter_tracks(tracks, status="all")) == 10
    assert len(filter_tracks(tracks, text="/MID/")) == 3
    by_sadness = filter_tracks(tracks, sort_by="sadness")
    assert by_sadness["sadness"].iloc[0] == tracks["sadness"].max()
    shares = group_shares(tracks, "folder")
    assert list(shares["tracks"]) == [3, 3, 3]
    np.testing.assert_allclose(shares[list(EMOTIONS)].sum(axis=1), 1.0)


def test_the_library_page_shows_the_batch_filters_and_a_tracks_timeline(batch_dir):
    tracks = load_tracks(batch_dir)
    at = open_page(PAGE)
    assert not at.exception
    assert {m.label: m.value for m in at.metric} == {"Tracks": "10", "Analysed": "9", "Failed": "1",
                                                     "Model": "default"}
    bars = figure(at, "The library's emotions")["data"][0]
    expected = tracks["top_emotion"].value_counts()
    assert dict(zip(bars["x"], array(bars["y"]).tolist())) == {emotion_label(e): int(expected.get(e, 0))
                                                                for e in EMOTIONS}
    assert len(figure(at, "Emotion by folder")["data"]) == 9
    table = at.dataframe[0].value
    assert len(table) == 9 and list(table["file"]) == list(filter_tracks(tracks)["file"])
    assert set(table["top_emotion"]) <= {emotion_label(e) for e in EMOTIONS}  # "joyful activation", no underscore
    assert list(table["genre"]) == [""] * 9 and "None" not in table.astype(str).to_numpy()  # no genre: an empty cell
    config = json.loads(at.dataframe[0].proto.columns)
    probabilities = [config["top_probability"], *(config[e] for e in EMOTIONS)]
    assert all(c["type_config"]["format"] == "%.2f" for c in probabilities)  # all fractions, none a percentage
    assert config["top_probability"]["type_config"]["type"] == "progress"
    assert config["top_emotion"]["label"] == "top emotion"

    top = expected.index[0]
    at.multiselect[0].set_value([top]).run()
    assert len(at.dataframe[0].value) == expected[top]
    at.slider[0].set_value(1.0).run()
    assert len(at.dataframe[0].value) == (tracks["top_probability"] >= 1.0).sum()
    at.slider[0].set_value(0.0).run()

    choice = at.selectbox(key="track").options[-1]  # shown by file name; the value is the track's id
    track_id, path = tracks.loc[tracks["file"] == choice, ["track_id", "path"]].iloc[0]
    at.selectbox(key="track").set_value(int(track_id)).run()
    assert not at.exception
    z = array(figure(at, "Emotion timeline")["data"][0]["z"])
    seg = pd.read_parquet(batch_dir / "segments.parquet")
    seg = seg[seg["path"] == path].sort_values("segment")
    np.testing.assert_allclose(z, seg[list(EMOTIONS)].to_numpy().T, atol=1e-6)
    assert len(at.get("audio")) == 1
    assert [b.label for b in at.get("download_button")] == ["Filtered table (CSV)", "Filtered table (Parquet)",
                                                           "Journey playlist (M3U)"]
    assert at.radio(key="m3u_paths").value == "relative"  # portable by default, relative to the music folder
    assert Path(at.text_input(key="m3u_base").value) in Path(path).parents
    assert json.loads((batch_dir / "batch.json").read_text())["tracks"] == 10
    Path(path).unlink()  # the results stay when the audio is gone
    at.run()
    assert not at.get("audio") and any("no longer" in c.value for c in at.caption)


def test_the_page_plays_only_audio_under_the_batchs_library(batch_dir, tmp_path, monkeypatch):
    from mer.batch.folders import playable_path

    tracks = load_tracks(batch_dir)
    ok = tracks[tracks["status"] == "ok"]["path"].tolist()
    assert playable_path(batch_dir, ok[0]) == Path(ok[0]).resolve()
    link = Path(ok[1])  # a file of the library becomes a link to a secret
    secret = tmp_path / "secret.mp3"
    secret.write_bytes(b"password")
    link.unlink()
    link.symlink_to(secret)
    assert playable_path(batch_dir, str(link)) is None
    assert playable_path(batch_dir, "/etc/passwd") is None  # a path written into a table by hand
    monkeypatch.setenv("MER_LIBRARY_ROOTS", str(tmp_path))  # a folder the server's owner allows
    assert playable_path(batch_dir, str(link)) == secret.resolve()
    assert playable_path(batch_dir, "/etc/passwd") is None  # still not: not audio, not under the roots


def test_a_hand_written_table_and_linked_folders_are_not_served(batch_dir, _isolated_data_dir, tmp_path):
    from mer.batch.folders import playable_path

    fake = _isolated_data_dir / "batches" / "fake"
    fake.mkdir(parents=True, exist_ok=True)
    table = load_tracks(batch_dir).head(1).assign(path="/etc/passwd", status="ok")
    table.to_parquet(fake / "tracks.parquet")
    pd.read_parquet(batch_dir / "segments.parquet").head(20).to_parquet(fake / "segments.parquet")
    (fake / "batch.json").write_text(json.dumps({"roots": ["/etc"]}))  # even a batch.json naming /etc
    assert playable_path(fake, "/etc/passwd") is None
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(batch_dir, elsewhere / "b")
    (_isolated_data_dir / "batches" / "linked").symlink_to(elsewhere, target_is_directory=True)
    try:
        names = [b.name for b in list_batches()]
    finally:
        (_isolated_data_dir / "batches" / "linked").unlink()
        shutil.rmtree(fake)
    assert "batches/fake" in names and not any(n.startswith("batches/linked") for n in names)


# --- the sample, the folders the browser may read, batches started from the page --------------------------


def test_a_fresh_page_shows_the_bundled_examples_analysed_once_and_opens_one_in_analyze(fresh_data, tiny_models):
    at = open_page(PAGE)
    assert not at.exception
    n = len(list_examples())
    assert at.selectbox(key="batch").value == "sample"
    assert {m.label: m.value for m in at.metric} == {"Tracks": str(n), "Analysed": str(n), "Failed": "0",
                                                     "Model": "default"}
    tracks = load_tracks(sample_dir())
    bars = figure(at, "The library's emotions")["data"][0]
    assert sum(array(bars["y"]).tolist()) == n
    assert dict(zip(bars["x"], array(bars["y"]).tolist()))[emotion_label(tracks["top_emotion"].iloc[0])] >= 1
    assert len(at.dataframe[0].value) == n
    z = array(figure(at, "Emotion timeline")["data"][0]["z"])
    assert z.shape == (9, 20)
    assert len(at.get("audio")) == 1  # the examples are played: their folder is the sample's library
    written = (sample_dir() / "batch.json").stat().st_mtime_ns
    open_page(PAGE)  # a second visitor: read, not analysed again
    assert (sample_dir() / "batch.json").stat().st_mtime_ns == written
    assert not list_batches()  # the sample is not one of the user's batches

    path = tracks.set_index("track_id").loc[at.selectbox(key="track").value, "path"]  # opened on the Analyze page
    at.button(key="open_in_analyze").click().run()
    assert not at.exception and not at.error
    assert at.radio(key="source").value == "From the Library" and path in [c.value for c in at.code]
    metrics, stored = {m.label: m.value for m in at.metric}, tracks.set_index("path").loc[path]
    assert metrics["Duration"] == f"{stored['duration_s']:.1f} s"
    assert metrics["Overall emotion"] == emotion_label(stored["top_emotion"])  # the same model, the same answer
    assert metrics["Track probability"] == f"{stored['top_probability']:.2f}"
    assert array(figure(at, "Emotion timeline")["data"][0]["z"]).shape == (9, 20)


def test_a_library_file_that_is_gone_or_too_big_for_the_app_is_refused_with_the_way_on(tmp_path, monkeypatch):
    import ui
    from mer.errors import AudioError

    monkeypatch.setenv("MER_LIBRARY_ROOTS", str(tmp_path))
    batch = tmp_path / "batch"
    with pytest.raises(AudioError, match="no longer there. Pick the track again"):
        ui.library_bytes(tmp_path / "gone.wav", batch)
    big = tmp_path / "big.flac"
    big.write_bytes(b"\0" * (3 * 2**20))
    monkeypatch.setattr(ui.st, "get_option", lambda name: {"server.maxUploadSize": 2}[name])
    with pytest.raises(AudioError, match=r"'big.flac' is 3 MB, more than the 2 MB .* `python -m mer analyze FILE`"):
        ui.library_bytes(big, batch)
    monkeypatch.setattr(ui.st, "get_option", lambda name: {"server.maxUploadSize": 4}[name])
    data, token = ui.library_bytes(big, batch)
    assert len(data) == 3 * 2**20 and token.startswith(f"library:{big}:{3 * 2**20}:")


def test_the_page_refuses_a_folder_outside_the_roots_with_the_reason(fresh_data):
    at = open_page(PAGE)
    at.text_input(key="folder").input("/etc")
    at.button[0].click().run()
    assert not at.exception
    assert "outside the folders this app may read" in at.error[0].value
    assert not (fresh_data / "batches" / "etc").exists()


def test_on_its_own_machine_the_page_asks_once_then_analyses_a_folder_outside_the_data_folder(fresh_data, tmp_path,
                                                                                               monkeypatch):
    import sys

    import ui
    from mer.batch import job as jobs
    from mer.batch.folders import remembered_folders

    monkeypatch.setattr(ui, "visitor_on_this_machine", lambda: True)  # a browser on the server's own machine
    started = []
    monkeypatch.setattr(jobs, "_batch_command", lambda folder, out, roots: started.append((folder, roots)) or [
        sys.executable, "-S", "-c", "import json; print(json.dumps({'event': 'done', 'tracks': 0, 'analysed': 0}))"])
    music = tmp_path / "music"
    music.mkdir()
    at = open_page(PAGE)
    at.text_input(key="folder").input(str(music))
    at.button[0].click().run()  # Analyse: not yet, the owner is asked first
    assert not at.exception and not at.error and not started
    assert any("has not read" in w.value for w in at.warning)
    at.button(key="allow_folder").click().run()
    assert not at.exception and not at.error
    assert remembered_folders() == [music.resolve()] and started[0][0] == music.resolve()
    assert music.resolve() in started[0][1]  # the batch may read the folder it was started on
    _wait("music", lambda s: s.state != JobState.RUNNING)
    clear_batch("music")


def test_links_inside_a_library_to_files_elsewhere_are_not_read(fresh_data, tiny_models, tmp_path):
    lib = write_library(fresh_data / "music", 2, bad=())
    secret = tmp_path / "secret.wav"
    shutil.copyfile(next(lib.rglob("*.wav")), secret)
    (lib / "link.wav").symlink_to(secret)
    run_batch([lib], fresh_data / "out", model=tiny_models / "default", workers=1, within=[fresh_data])
    tracks = load_tracks(fresh_data / "out").set_index("file")
    assert tracks.loc["link.wav", "status"] == "error" and "outside the folders" in tracks.loc["link.wav", "error"]
    assert (tracks["status"] == "ok").sum() == 2


def test_a_cancelled_batch_keeps_its_results_and_resumes(tiny_models, tmp_path):
    lib = write_library(tmp_path / "lib", 7, bad=())
    done = [0]
    with pytest.raises(BatchCancelled, match="Cancelled after 3 analysed"):
        run_batch([lib], tmp_path / "out", model=tiny_models / "default", workers=1, chunk_size=100,
                  should_stop=lambda: done[0] >= 3, on_progress=lambda d, t, m: done.__setitem__(0, d))
    assert not (tmp_path / "out" / "tracks.parquet").exists()  # not merged; the three are in a chunk
    seen = []
    summary = run_batch([lib], tmp_path / "out", model=tiny_models / "default", workers=1,
                        on_progress=lambda d, t, m: seen.append((d, t, m)))
    assert (summary.skipped, summary.analysed, summary.tracks) == (3, 4, 7)
    # the resumed run's bar, rate and ETA count its own four files (the total drops as finished files are found
    # and skipped); the skipped ones are named in the message, never counted as done
    assert [t for _, t, _ in seen] == sorted(t for _, t, _ in seen)[::-1] and seen[-1][:2] == (4, 4)
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen) and any("3 skipped" in m for *_, m in seen)


def _wait(name: str, until, timeout: float = 90.0):
    import time

    deadline = time.monotonic() + timeout
    while not until(status := batch_status(name)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return status


@pytest.mark.slow  # starts processes or trains: left out of the quick inner loop
def test_a_batch_started_on_the_page_runs_in_the_background_and_its_results_are_shown(fresh_data):
    write_library(fresh_data / "music", 4, bad=("text.mp3",))
    at = open_page(PAGE)
    at.text_input(key="folder").input("music")
    at.button[0].click().run()  # the form's Analyse button
    assert not at.exception and not at.error
    with pytest.raises(BatchError, match="already running"):  # one batch at a time per output folder
        start_batch("music", "music")
    status = _wait("music", lambda s: s.state != JobState.RUNNING)
    assert status.state == JobState.DONE, status.message
    assert status.summary.analysed == 4 and status.summary.failed == 1 and status.progress == 1.0
    at.run()
    assert not at.exception
    assert at.selectbox(key="batch").value == "batches/music"
    assert any("is analysed: 4 analysed, 0 skipped, 1 failed" in s.value for s in at.success)
    assert {m.label: m.value for m in at.metric}["Tracks"] == "5"
    clear_batch("music")
    assert batch_status("music").state == "idle" and (fresh_data / "batches" / "music" / "tracks.parquet").is_file()


@pytest.mark.slow  # starts processes or trains: left out of the quick inner loop
def test_a_running_batch_is_cancelled_keeps_what_it_did_and_resumes(fresh_data):
    import soundfile as sf

    from .helpers import tone

    lib = fresh_data / "long"
    lib.mkdir()
    for i in range(8):  # four-minute files: about a second each, long enough to cancel halfway
        sf.write(lib / f"t{i:02d}.flac", tone(240.0, sr=8_000, freq=150.0 + 40 * i), 8_000)
    start_batch(str(lib), "long")
    running = _wait("long", lambda s: s.state != JobState.RUNNING or s.done >= 1)
    assert running.state == JobState.RUNNING and running.total == 8 and running.files_per_s > 0 and running.eta_s > 0
    status = cancel_batch("long")
    assert status.state == JobState.CANCELLED, status.message
    assert "The results are kept" in status.message
    done_before = int(status.message.split("after ")[1].split(" ")[0])
    assert 1 <= done_before < 8
    start_batch(str(lib), "long")  # resume
    status = _wait("long", lambda s: s.state != JobState.RUNNING, timeout=180)
    assert status.state == JobState.DONE and status.summary.skipped == done_before, status.summary
    assert status.summary.analysed == 8 - done_before and status.summary.tracks == 8


def test_the_samples_bar_says_how_far_how_fast_and_how_long_is_left():
    from mer.progress import RateClock

    clock = RateClock("files")
    clock._t0, clock._now = 0.0, lambda: 2.0  # two seconds in
    assert clock.line(0, 5) == "0 of 5 files"
    assert clock.line(2, 5) == "2 of 5 files · 1.0 files/s · about 3 s left"
    assert clock.line(5, 5).endswith("about 0 s left")
