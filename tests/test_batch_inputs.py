"""What a batch reads (mer.batch.inputs): folders, files, globs and lists of paths, each file once, with ids that
never change for a path."""

from __future__ import annotations

import numpy as np
import pytest

from mer.batch.inputs import HashSet, count_paths, input_key, input_roots, iter_file_refs, iter_paths, path_id
from mer.errors import BatchError


@pytest.fixture
def music(tmp_path):
    for name in ("a/one.wav", "a/two.MP3", "a/notes.txt", "b/deep/three.flac"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x" * len(name))
    return tmp_path


def test_a_folder_a_glob_and_a_list_name_the_audio_files_and_each_is_read_once(music):
    listed = music / "list.txt"
    listed.write_text(f"{music / 'a' / 'one.wav'}\n{music / 'gone.ogg'}\n")
    assert sorted(p.rsplit("/", 1)[1] for p in iter_paths([music / "a"])) == ["one.wav", "two.MP3"]
    assert [p.rsplit("/", 1)[1] for p in iter_paths([str(music / "b" / "**" / "*.flac")])] == ["three.flac"]
    assert count_paths([music]) == 3
    refs = list(iter_file_refs([music / "a", listed]))  # one.wav twice: once
    assert sorted(r.path.rsplit("/", 1)[1] for r in refs) == ["gone.ogg", "one.wav", "two.MP3"]
    gone = next(r for r in refs if r.path.endswith("gone.ogg"))
    assert (gone.size_bytes, gone.mtime_ns) == (-1, -1)  # listed but missing: the worker says so
    one = next(r for r in refs if r.path.endswith("one.wav"))
    assert one.size_bytes == len("a/one.wav") and one.track_id == path_id(one.path)


def test_an_input_that_is_none_of_these_is_refused(music):
    with pytest.raises(BatchError):
        list(iter_paths([music / "nothing-here"]))


def test_a_file_outside_the_folders_allowed_is_not_read(music):
    refs = list(iter_file_refs([music], within=[music / "a"]))
    outside = [r for r in refs if r.refused]
    assert [r.path.rsplit("/", 1)[1] for r in outside] == ["three.flac"] and "lies outside the folders" in outside[0].refused


def test_roots_are_the_folders_the_inputs_name(music):
    assert input_roots([music / "a", str(music / "b" / "*.flac")]) == sorted([str(music / "a"), str(music / "b")])


def test_ids_are_stable_and_any_change_of_the_file_or_model_is_a_new_key():
    assert path_id("/m/a.wav") == path_id("/m/a.wav") != path_id("/m/b.wav")
    assert 0 <= path_id("/m/a.wav") < 2**64 and path_id("/m/é\udcff.wav") != path_id("/m/é.wav")  # any name
    key = input_key("/m/a.wav", 10, 5, "m:1")
    assert len({key, input_key("/m/a.wav", 11, 5, "m:1"), input_key("/m/a.wav", 10, 6, "m:1"),
                input_key("/m/a.wav", 10, 5, "m:2")}) == 4


def test_the_hash_set_holds_64_bit_ids():
    s = HashSet([5, 2**64 - 1])
    s.add(7)
    s.update(np.array([9, 5], dtype=np.uint64))
    assert len(s) == 4 and 2**64 - 1 in s and 7 in s and 8 not in s
    assert s.isin(np.array([9, 8, 5], dtype=np.uint64)).tolist() == [True, False, True]
