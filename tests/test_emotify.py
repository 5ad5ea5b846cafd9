"""The Emotify loader (data.csv, votes to shares to dominant emotion, the audio pairing) and the demo corpus."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from mer.data.demo import DemoConfig, demo_votes, generate_demo_corpus, render_track
from mer.data.emotify import load_annotations, load_corpus, read_votes
from mer.emotions import EMOTIONS, GENRES
from mer.errors import DataError

from .helpers import HEADER, ROWS, official_csv
from .helpers import emotify_root as make_root
from .helpers import votes as v


def test_official_csv_with_leading_spaces_loads(tmp_path):
    corpus = load_corpus(make_root(tmp_path, ROWS))
    t = corpus.tracks
    assert list(t["track_id"]) == [1, 2, 101]
    assert list(t["n_responses"]) == [3, 2, 2]
    assert t.loc[0, "solemnity"] == pytest.approx(2 / 3) and t.loc[0, "sadness"] == pytest.approx(1 / 3)
    assert list(t["dominant"]) == ["solemnity", "tenderness", "power"]
    # ids map to files by rank within genre: track 101 is the first rock track
    assert t.loc[2, "rank"] == 1 and t.loc[2, "path"].endswith("emotifymusic/rock/1.mp3")
    assert list(corpus.labels) == [EMOTIONS.index("solemnity"), EMOTIONS.index("tenderness"), EMOTIONS.index("power")]


def test_missing_columns_are_named(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    df = pd.read_csv(io.StringIO(official_csv(ROWS)), skipinitialspace=True).drop(columns=["tension", "genre"])
    df.to_csv(root / "data.csv", index=False)
    with pytest.raises(DataError, match="'genre', 'tension'"):
        load_corpus(root)


def test_votes_other_than_0_1_are_refused(tmp_path):
    rows = ROWS + [(2, "classical", [0, 0, 2, 0, 0, 0, 0, 0, 0])]
    with pytest.raises(DataError, match="'tenderness'.*2"):
        load_corpus(make_root(tmp_path, rows))


def test_track_with_no_ticks_has_no_label(tmp_path):
    rows = ROWS + [(301, "pop", v()), (301, "pop", v())]
    with pytest.raises(DataError, match="Track 301 has 2 response"):
        load_corpus(make_root(tmp_path, rows))


def test_missing_audio_files_are_listed_with_counts_and_a_way_on(tmp_path):
    root = make_root(tmp_path, ROWS)
    (root / "emotifymusic" / "classical" / "2.mp3").unlink()
    with pytest.raises(DataError, match=r"1 audio file\(s\).*emotifymusic/classical/2.mp3") as e:
        load_corpus(root)
    msg = str(e.value)
    assert "classical: data.csv lists 2 tracks, emotifymusic/classical/ holds 1 audio files" in msg
    assert "allow_missing=True" in msg and "--allow-missing" in msg and "2 tracks present" in msg


def test_allow_missing_goes_on_with_the_tracks_present(tmp_path):
    root = make_root(tmp_path, ROWS)
    (root / "emotifymusic" / "classical" / "1.mp3").unlink()
    corpus = load_corpus(root, allow_missing=True)
    assert list(corpus.tracks["track_id"]) == [2, 101]
    assert [(m.track_id, m.genre, m.rank, m.expected) for m in corpus.missing] == [
        (1, "classical", 1, "emotifymusic/classical/1.mp3")]
    # ranks still count every track of data.csv: track 2 keeps file 2
    assert corpus.tracks.loc[0, "path"].endswith("emotifymusic/classical/2.mp3")
    assert list(corpus.labels) == [EMOTIONS.index("tenderness"), EMOTIONS.index("power")]
    (tmp_path / "full").mkdir()
    assert load_corpus(make_root(tmp_path / "full", ROWS)).missing == ()


def test_more_audio_files_than_tracks_is_refused_with_counts(tmp_path):
    root = make_root(tmp_path, ROWS)
    (root / "emotifymusic" / "classical" / "3.mp3").write_bytes((root / "emotifymusic" / "classical" / "1.mp3").read_bytes())
    for allow in (False, True):
        with pytest.raises(DataError, match=r"emotifymusic/classical/ holds 3 audio files but data.csv lists 2 "
                                            r"classical tracks.*wrong audio.*beyond rank 2 \(3\)"):
            load_corpus(root, allow_missing=allow)
    (root / "emotifymusic" / "classical" / "notes.txt").write_text("not audio")  # other files do not count
    (root / "emotifymusic" / "classical" / "3.mp3").unlink()
    assert len(load_corpus(root)) == 3


def test_stats_cli_names_missing_audio_and_goes_on_with_allow_missing(tmp_path, capsys):
    from mer.cli import main

    rows = [(t, g, v(e)) for t, g, e in [(1, "classical", "calmness"), (2, "classical", "sadness"),
                                         (3, "classical", "calmness"), (4, "classical", "sadness"),
                                         (5, "classical", "power"), (6, "classical", "power")]]
    root = make_root(tmp_path, rows)
    (root / "emotifymusic" / "classical" / "6.mp3").unlink()
    assert main(["data", "stats", "--root", str(root), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 1 audio file(s)") and "--allow-missing" in err and err.count("\n") == 1
    assert main(["data", "stats", "--root", str(root), "--json", "--allow-missing", "--sampler", "random"]) == 0
    captured = capsys.readouterr()
    stats = json.loads(captured.out)
    assert stats["tracks"] == 6 and stats["tracks_per_emotion"]["power"] == 2  # votes of all six tracks
    assert stats["balance"]["tracks"] == 5 and stats["missing_audio"][0]["track_id"] == 6
    assert "warning: no audio for track 6" in captured.err


def test_annotations_load_without_audio(tmp_path):
    annotations = load_annotations(make_root(tmp_path, ROWS, audio=False) / "data.csv")
    assert list(annotations.tracks["dominant"]) == ["solemnity", "tenderness", "power"]
    assert annotations.shares_of(101)["power"] == 1.0
    assert annotations.track_ids == [int(t) for t in annotations.tracks["track_id"]]
    votes = annotations.votes_of(101)
    row = annotations.tracks.set_index("track_id").loc[101]
    assert (votes.genre, votes.n_responses, votes.dominant) == (row["genre"], row["n_responses"], row["dominant"])
    assert votes.top_share == 1.0 and list(votes.shares) == list(EMOTIONS)
    with pytest.raises(DataError, match="missing under"):
        load_corpus(annotations.source.parent)


def test_empty_csv_and_missing_csv(tmp_path):
    (tmp_path / "data.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        read_votes(tmp_path / "data.csv")
    (tmp_path / "data.csv").write_text(HEADER + "\n")
    with pytest.raises(DataError, match="no responses"):
        read_votes(tmp_path / "data.csv")
    with pytest.raises(DataError, match="No data.csv"):
        load_corpus(tmp_path / "nowhere")


def test_demo_corpus_is_in_the_official_layout_and_deterministic(tmp_path):
    config = DemoConfig(tracks=12, seconds=10.5, seed=5)
    a = generate_demo_corpus(tmp_path / "a", config, workers=1)
    b = generate_demo_corpus(tmp_path / "b", config, workers=1)
    header = (a / "data.csv").read_text().splitlines()[0]
    assert header == HEADER
    assert (a / "data.csv").read_text() == (b / "data.csv").read_text()
    for genre in GENRES:
        files = sorted(p.name for p in (a / "emotifymusic" / genre).iterdir())
        assert files == ["1.flac", "2.flac", "3.flac"]
        assert (a / "emotifymusic" / genre / "1.flac").read_bytes() == (b / "emotifymusic" / genre / "1.flac").read_bytes()
    corpus = load_corpus(a)
    assert len(corpus) == 12 and corpus.tracks["n_responses"].min() >= 5
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary folder left


def test_default_demo_votes_are_imbalanced_and_not_one_hot():
    votes = demo_votes(DemoConfig())
    shares = votes.groupby("track id")[list(EMOTIONS)].mean()
    dominant = shares.to_numpy().argmax(axis=1)
    counts = np.bincount(dominant, minlength=9)
    assert counts.min() > 0 and counts.max() / counts.min() >= 4
    top = np.sort(shares.to_numpy(), axis=1)[:, ::-1]
    assert (top[:, 1] > 0).mean() > 0.8  # most tracks get votes for a second emotion
    assert ((top[:, 0] - top[:, 1]) < 0.15).mean() > 0.05  # some tracks are ambiguous
    assert set(votes[list(EMOTIONS)].sum(axis=1)) <= {1, 2, 3}  # up to three ticks per response


def test_archetypes_differ_in_loudness_and_brightness():
    from mer.audio.decode import Audio
    from mer.audio.features import track_features

    def describe(emotion: str) -> tuple[float, float]:
        y = render_track(11, emotion, "pop", 20.0)
        spec = track_features(Audio(y, 22_050, emotion, 22_050, 1, "WAV")).spectra
        return float(np.median(spec.rms_dbfs)), float(np.median(spec.centroid_hz))

    calm_rms, calm_centroid = describe("calmness")
    joy_rms, joy_centroid = describe("joyful_activation")
    assert joy_rms > calm_rms + 6
    assert joy_centroid > calm_centroid
