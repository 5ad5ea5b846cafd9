"""The Library page (AppTest) and the functions behind it, on a batch the test runs itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mer.batch import run_batch
from mer.batch.library import filter_tracks, group_shares, list_batches, load_tracks
from mer.config import EMOTIONS, emotion_label

from .test_app import array, figure
from .test_batch import write_library

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "library.py")


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
    at = AppTest.from_file(PAGE, default_timeout=120).run()
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

    top = expected.index[0]
    at.multiselect[0].set_value([top]).run()
    assert len(at.dataframe[0].value) == expected[top]
    at.slider[0].set_value(1.0).run()
    assert len(at.dataframe[0].value) == (tracks["top_probability"] >= 1.0).sum()
    at.slider[0].set_value(0.0).run()

    choice = at.selectbox(key="track").options[-1]  # shown by file name; the value is the path
    path = tracks.loc[tracks["file"] == choice, "path"].iloc[0]
    at.selectbox(key="track").set_value(path).run()
    assert not at.exception
    z = array(figure(at, "Emotion timeline")["data"][0]["z"])
    seg = pd.read_parquet(batch_dir / "segments.parquet")
    seg = seg[seg["path"] == path].sort_values("segment")
    np.testing.assert_allclose(z, seg[list(EMOTIONS)].to_numpy().T, atol=1e-6)
    assert len(at.get("audio")) == 1
    assert [b.label for b in at.get("download_button")] == ["Filtered table (CSV)", "Filtered table (Parquet)"]
    assert json.loads((batch_dir / "batch.json").read_text())["tracks"] == 10
    Path(path).unlink()  # the results stay when the audio is gone
    at.run()
    assert not at.get("audio") and any("no longer" in c.value for c in at.caption)


def test_the_page_plays_only_audio_under_the_batchs_library(batch_dir, tmp_path, monkeypatch):
    from mer.batch.library import playable_path

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
    from mer.batch.library import playable_path

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
