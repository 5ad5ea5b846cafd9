"""The folders the Library page may read and play (mer.batch.folders): the data folder, the library roots, the
folders the owner allowed; a track's bytes read from them, checked again at every read."""

from __future__ import annotations

import json
import os

import pytest

from mer.batch import folders
from mer.batch.folders import (
    folder_outside,
    library_roots,
    read_track_file,
    readable_folder,
    remember_folder,
    remembered_folders,
    unplayable_reason,
)
from mer.batch.library import batch_output
from mer.errors import BatchError


def _reads(fn, timeout: float = 10.0):
    """``fn()``'s result or exception, from a thread given ``timeout`` seconds: a read that blocks fails the test."""
    import threading

    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except Exception as e:  # noqa: BLE001  handed to the test
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "the read blocked"
    return box


def test_a_library_file_swapped_after_it_was_offered_is_checked_again_at_every_read(tmp_path, monkeypatch):

    music, private = tmp_path / "music", tmp_path / "private"
    music.mkdir()
    private.mkdir()
    monkeypatch.setenv("MER_LIBRARY_ROOTS", str(music))
    batch, track = tmp_path / "batch", music / "song.mp3"
    track.write_bytes(b"ID3 not much of a song")
    first = read_track_file(batch, track, limit=1024)
    assert first.data == b"ID3 not much of a song" and first.token.startswith(f"library:{track}:22:")
    (private / "diary.mp3").write_bytes(b"secret")
    swaps = {"a link to a private file elsewhere": (lambda: track.symlink_to(private / "diary.mp3"), "outside"),
             "a link to /dev/zero": (lambda: track.symlink_to("/dev/zero"), "not a regular file: a character device"),
             "a named pipe": (lambda: os.mkfifo(track), "is not a regular file: a named pipe"),
             "a folder": (lambda: track.mkdir(), "is not a regular file: a folder")}
    for what, (swap, words) in swaps.items():
        track.rmdir() if track.is_dir() and not track.is_symlink() else track.unlink()
        swap()
        box = _reads(lambda: read_track_file(batch, track, limit=1024))
        assert "value" not in box and words in str(box["error"]), what
        assert words in unplayable_reason(batch, str(track)), what
    track.rmdir()
    os.mkfifo(music / "pipe.mp3")  # a pipe under an allowed root opened after the look: no wait for a writer
    monkeypatch.setattr(folders, "unplayable_reason", lambda batch, path: None)
    box = _reads(lambda: read_track_file(batch, music / "pipe.mp3", limit=1024))
    assert "is not a regular file: a named pipe" in str(box["error"])
    zero = music / "zero.mp3"
    zero.symlink_to("/dev/zero")  # were the look fooled: what was opened is checked, a device is never read
    box = _reads(lambda: read_track_file(batch, zero, limit=1024))
    assert "not a regular file: a character device" in str(box["error"])


def test_only_folders_under_the_data_folder_and_the_library_roots_are_read(fresh_data, tmp_path, monkeypatch):
    music = fresh_data / "music"
    music.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (fresh_data / "escape").symlink_to(outside, target_is_directory=True)
    assert readable_folder(str(music)) == music.resolve()
    assert readable_folder("music") == music.resolve()  # relative to the data folder
    for text, words in (("", "Type the path"), ("/etc", "outside the folders this app may read"),
                        ("music/../..", "outside the folders"), (f"{music}/../../outside", "outside the folders"),
                        ("escape", "outside the folders"), ("nothere", "There is no folder"),
                        (str(outside / "x"), "There is no folder")):
        with pytest.raises(BatchError, match=words):
            readable_folder(text)
    with pytest.raises(BatchError, match="MER_LIBRARY_ROOTS"):
        readable_folder(str(outside))
    monkeypatch.setenv("MER_LIBRARY_ROOTS", f"{tmp_path / 'missing'}:{outside}")  # what the server's owner allows
    assert readable_folder(str(outside)) == outside.resolve() == readable_folder("escape")
    for name in ("../x", ".hidden", "a/b", "", "x" * 65):
        with pytest.raises(BatchError, match="cannot name a batch"):
            batch_output(name)


def test_the_owner_allows_a_folder_once_it_is_remembered_and_a_servers_list_still_rules(fresh_data, tmp_path,
                                                                                        monkeypatch):

    music = tmp_path / "My Music"
    music.mkdir()
    assert folder_outside(str(music)) == music.resolve() and folder_outside("/no/such/folder") is None
    assert folder_outside(str(fresh_data)) is None  # already readable: nothing to allow
    assert remember_folder(music) == music.resolve()
    assert json.loads((fresh_data / "library-folders.json").read_text()) == {"folders": [str(music.resolve())]}
    remember_folder(music)  # once is enough
    assert remembered_folders() == [music.resolve()] and music.resolve() in library_roots()
    assert readable_folder(str(music)) == music.resolve() and folder_outside(str(music)) is None
    monkeypatch.setenv("MER_LIBRARY_ROOTS", str(tmp_path / "srv"))  # a shared server: its list alone decides
    assert remembered_folders() == []
    with pytest.raises(BatchError, match="outside the folders this app may read"):
        readable_folder(str(music))
