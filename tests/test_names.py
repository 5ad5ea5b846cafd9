"""Names, tags and paths are data (issue 29, defects 2 to 5): a file name that is not UTF-8 is stored and the
batch goes on; names never become Markdown, chart markup or spreadsheet formulas."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer.analyze import Reading
from mer.audio.segments import Segments
from mer.batch import TrackResult
from mer.batch.frames import file_path, load_tracks, tracks_csv
from mer.batch.store import write_part
from mer.cli import main
from mer.emotions import EMOTIONS
from mer.plots.dataset import genre_figure
from mer.plots.library import group_figure
from mer.plots.model import cv_figure, ladder_figure
from mer.results import Rung
from mer.text import display_text, escape_html, escape_markdown

from .helpers import open_page, tone
from .test_app import app_env, figure  # noqa: F401  (app_env: a fixture)
from .test_text import FORMULAS, IMAGE_FOLDER, LINK_TAG, ODD

PAGE = "pages/library.py"

# --- charts ------------------------------------------------------------------------------------------------


def _shares(groups: list[str]) -> pd.DataFrame:
    shares = pd.DataFrame(np.full((len(groups), len(EMOTIONS)), 1 / len(EMOTIONS)), index=groups,
                          columns=list(EMOTIONS))
    shares["tracks"] = 3
    return shares


def test_chart_labels_built_from_names_are_escaped():
    fig = group_figure(_shares([LINK_TAG, "R&B", "rock"]), "genre").to_plotly_json()
    for trace in fig["data"]:
        assert list(trace["y"]) == [escape_html(LINK_TAG), "R&amp;B", "rock"]
        assert "<a" not in "".join(trace["y"])
    table = pd.DataFrame([[1, 2], [3, 4]], index=[LINK_TAG, "pop"], columns=["calmness", "power"])
    assert list(genre_figure(table).to_plotly_json()["data"][0]["y"]) == [escape_html(LINK_TAG), "pop"]
    rung = Rung(protocol="track", unit="track", accuracy=0.5, n_test=10, description="tracks never heard")
    ladder = ladder_figure({f"this model ({LINK_TAG})": [rung]}).to_plotly_json()["data"][0]
    assert ladder["name"] == f"this model ({escape_html(LINK_TAG)})" and "<a" not in ladder["hovertext"][0]
    assert list(cv_figure([LINK_TAG], [0.5], [0.3]).to_plotly_json()["data"][0]["y"]) == [escape_html(LINK_TAG)]


# --- a batch of hostile and odd names ----------------------------------------------------------------------


def _wav(path: bytes | Path, genre: str | None, i: int) -> None:
    with sf.SoundFile(path, "w", 16_000, 1, format="WAV") as f:
        if genre is not None:
            f.genre = genre
        f.write(tone(10.5, sr=16_000, freq=220.0 * 2 ** (i / 12)))


@pytest.fixture(scope="module")
def hostile_library(tmp_path_factory) -> Path:
    """A folder with an image-link name, files named like formulas with formula genre tags, a link tag, and a
    file whose name is not UTF-8 with one sorted after it."""
    root = tmp_path_factory.mktemp("hostile")
    (root / IMAGE_FOLDER).mkdir()
    _wav(root / IMAGE_FOLDER / "t.wav", LINK_TAG, 0)
    (root / "f").mkdir()
    for i, payload in enumerate(FORMULAS[:4]):
        _wav(root / "f" / f"{payload.replace('/', ' ')}.wav", payload, i + 1)
    _wav(os.fsencode(root / "f") + b"/" + ODD, "-1", 6)
    _wav(root / "f" / "c.wav", None, 7)  # sorted after the odd name: it must be analysed too
    return root


@pytest.fixture(scope="module")
def hostile_batch(hostile_library, tiny_models, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile-data") / "batches" / "hostile"
    assert main(["batch", str(hostile_library), "--out", str(out), "--model", str(tiny_models / "default"),
                 "--csv", "--no-progress", "--workers", "1"]) == 0
    return out


def test_a_name_that_is_not_utf8_is_stored_exactly_and_the_batch_goes_on(hostile_library, hostile_batch, capsys,
                                                                        tiny_models):
    tracks = load_tracks(hostile_batch)
    assert len(tracks) == 7 and (tracks["status"] == "ok").all()  # c.wav, after the odd name, too
    odd = tracks[tracks["file"] == "b\\xff.wav"].iloc[0]
    raw = os.fsencode(hostile_library / "f") + b"/" + ODD
    assert odd["path_bytes"] == raw and odd["path"] == display_text(raw) and odd["genre"] == "-1"
    assert os.path.isfile(file_path(odd)) and file_path(odd) == os.fsdecode(raw)
    segments = pd.read_parquet(hostile_batch / "segments.parquet")
    assert (segments["track_id"] == odd["track_id"]).sum() == 20
    capsys.readouterr()
    assert main(["batch", str(hostile_library), "--out", str(hostile_batch), "--model",
                 str(tiny_models / "default"), "--no-progress", "--workers", "1"]) == 0
    assert "done: 0 analysed, 7 skipped, 0 failed" in capsys.readouterr().err  # resumes, nothing again


def test_a_result_no_table_takes_becomes_an_error_row_and_its_chunk_is_kept(tmp_path):
    def result(name: str, n_probs: int) -> TrackResult:
        p = np.full(n_probs, 1 / n_probs, np.float32)
        reading = Reading(Segments(np.arange(20), np.arange(1, 21), 1), np.tile(p, (20, 1)), p)
        return TrackResult(path=f"/m/{name}", track_id=hash(name) & 0xFFFF, size_bytes=1, mtime_ns=1, status="ok",
                           duration_s=10.0, reading=reading)

    part = write_part(tmp_path, [result("a.wav", 9), result("odd.wav", 8), result("c.wav", 9)], ("m", "v1"))
    tracks = pd.read_parquet(part / "tracks.parquet")
    assert list(tracks["file"]) == ["a.wav", "odd.wav", "c.wav"]
    assert list(tracks["status"]) == ["ok", "error", "ok"]
    assert "'odd.wav' could not be stored" in tracks["error"].iloc[1]
    assert len(pd.read_parquet(part / "segments.parquet")) == 40


def test_batch_csv_neutralises_formulas_in_names_and_tags(hostile_batch):
    with open(hostile_batch / "tracks.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert "path_bytes" not in rows[0] and len(rows) == 7
    files = {r["file"] for r in rows}
    genres = {r["genre"] for r in rows}
    for payload in FORMULAS[:4]:
        assert "'" + payload.replace("/", " ") + ".wav" in files
        assert "'" + payload in genres
    assert "'-1" in genres and "b\\xff.wav" in files and LINK_TAG in genres
    assert all(not r[c].startswith(("=", "+", "-", "@")) for r in rows for c in r)
    assert all(float(r["duration_s"]) == 10.5 and -1 < float(r["top_probability"]) <= 1 for r in rows)
    with open(hostile_batch / "segments.csv", newline="") as f:
        assert all(r["path"].startswith("/") for r in csv.DictReader(f))
    raw = (hostile_batch / "tracks.csv").read_bytes()
    assert raw.endswith(b"\r\n") and raw.count(b"\r\n") == 8  # the header and 7 rows, ended as csv_text ends them


def test_the_library_download_neutralises_formulas(hostile_batch):
    back = pd.read_csv(io.StringIO(tracks_csv(load_tracks(hostile_batch))), keep_default_na=False)
    assert "path_bytes" not in back.columns
    assert {"'" + p for p in FORMULAS[:4]} <= set(back["genre"])
    assert back["duration_s"].dtype == np.float64


def test_the_library_page_shows_names_as_text(hostile_batch, monkeypatch, tiny_models):
    monkeypatch.setenv("MER_DATA_DIR", str(hostile_batch.parent.parent))
    monkeypatch.setenv("MER_MODELS_DIR", str(tiny_models))
    at = open_page(PAGE)
    assert not at.exception and at.selectbox(key="batch").value == "batches/hostile"
    assert len(at.dataframe[0].value) == 7

    at.radio[0].set_value("genre").run()
    labels = figure(at, "Emotion by genre")["data"][0]["y"]
    assert escape_html(LINK_TAG) in labels and not any("<" in y for y in labels)

    tracks = load_tracks(hostile_batch)
    for file in ("t.wav", "b\\xff.wav"):
        track_id, path = tracks.loc[tracks["file"] == file, ["track_id", "path"]].iloc[0]
        at.selectbox(key="track").set_value(int(track_id)).run()
        assert not at.exception
        # the path in a code block (plain text, never Markdown), the caption beside it holds no name
        assert path in [c.value for c in at.code]
        caption = next(c.value for c in at.caption if "top emotion" in c.value)
        assert "![" not in caption and "](" not in caption and path not in caption
    assert len(at.get("audio")) == 1  # the odd name is found by its bytes and played


def test_an_error_quoting_a_typed_name_is_shown_as_text(hostile_batch, monkeypatch, tiny_models):
    monkeypatch.setenv("MER_DATA_DIR", str(hostile_batch.parent.parent))
    monkeypatch.setenv("MER_MODELS_DIR", str(tiny_models))
    at = open_page(PAGE)
    at.text_input(key="folder").input("![x](https://host/x.png)")
    at.button[0].click().run()
    assert not at.exception
    message = at.error[0].value
    assert escape_markdown("'![x](https://host/x.png)'") in message and "![" not in message


def test_a_list_of_paths_may_name_a_file_that_is_not_utf8(hostile_library, tmp_path):
    from mer.batch import iter_paths

    odd = os.fsencode(hostile_library / "f") + b"/" + ODD
    listing = tmp_path / "paths.txt"
    listing.write_bytes(b"# the odd one\n" + odd + b"\n")
    assert list(iter_paths([listing])) == [os.fsdecode(odd)] and os.path.isfile(os.fsdecode(odd))


@pytest.mark.usefixtures("app_env")
def test_an_uploads_name_is_shown_as_text_on_the_analyze_page():
    from .test_app import run_app

    at = run_app()
    at.radio[0].set_value("Upload a file").run()
    name = "![x](https:x.png) **b**.mp3"
    at.file_uploader[0].set_value((name, b"definitely not audio\n" * 50, "audio/mpeg")).run()
    assert not at.exception
    message = at.error[0].value
    assert "not an audio file" in message and escape_markdown(name) in message
    assert "![" not in message and "**" not in message
