"""Playlists (mer.batch.playlist): the M3U text of a batch's tracks. Where mer may write one, through the
commands: test_library_scale.py."""

from __future__ import annotations

import pytest

from mer.batch.playlist import m3u_text
from mer.batch.query import Track
from mer.errors import BatchError

from .helpers import analysed_track, small_catalogue


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    return small_catalogue(tmp_path_factory.mktemp("playlist") / "b")


def test_the_playlist_lists_each_track_with_its_title_and_duration(cat):
    tracks = [analysed_track(cat, k) for k in range(2)]
    lines = m3u_text(tracks, relative_to="/music").splitlines()
    assert lines[0] == "#EXTM3U" and len(lines) == 5
    assert lines[1].startswith("#EXTINF:60,track-") and lines[2].startswith("./")


def test_a_journey_playlist_offers_paths_relative_to_a_folder():
    paths = ("/home/me/Music/a/x.mp3", "/home/me/Music/#b/y.flac", "/srv/z.ogg", "/home/me/Music/new\nline.mp3")
    tracks = [Track(path=p, top_emotion="calmness", top_probability=0.5, probabilities=(0.1,) * 9, duration_s=60.0,
                    status="ok") for p in paths]
    lines = m3u_text(tracks, relative_to="/home/me/Music").splitlines()
    assert lines[2::2] == ["./a/x.mp3", "./#b/y.flac", "../../../srv/z.ogg",  # never a line starting with '#'
                           "file:///home/me/Music/new%0Aline.mp3"]  # a line break: the absolute URI, as before
    assert m3u_text(tracks[:3]).splitlines()[2::2] == list(paths[:3])  # absolute, as before


@pytest.mark.parametrize("brk", ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_a_path_with_any_unicode_line_break_is_one_uri_of_the_playlist(brk):
    odd = Track(path=f"/music/a{brk}b.mp3", top_emotion="power", top_probability=0.5, probabilities=(0.1,) * 9,
                duration_s=61.4, status="ok")
    plain = Track(path="/music/c d.mp3", top_emotion=None, top_probability=None, probabilities=(0.1,) * 9,
                  duration_s=None, status="ok")
    lines = m3u_text([odd, plain]).splitlines()  # as a reader honouring every Unicode line break reads it
    assert lines == ["#EXTM3U", "#EXTINF:61,a b — power", "file:///music/a" + "%{:02X}".format(ord(brk)) + "b.mp3"
                     if ord(brk) < 128 else lines[2], "#EXTINF:-1,c d — not analysed", "/music/c d.mp3"]
    assert lines[2].startswith("file:///music/a%") and lines[2].endswith("b.mp3") and lines[2].isascii()


@pytest.mark.parametrize("stored", ["http://evil.example/x.mp3", "#EXTINF:1,injected", "music/relative.mp3", ""])
def test_a_stored_path_that_is_not_absolute_is_refused_as_a_playlist_entry(stored):
    bad = Track(path=stored, top_emotion="power", top_probability=0.5, probabilities=(0.1,) * 9, duration_s=3.0,
                status="ok")
    with pytest.raises(BatchError, match="not absolute, so it cannot be a playlist entry"):
        m3u_text([bad])
