"""The stored and dispatched choices (mer.choices): their strings are what batches, ladders and the command line
hold, so a renamed member must not change them."""

from __future__ import annotations

import json

import pyarrow as pa

from mer.choices import Engine, Family, Protocol, SimilarBy, TrackStatus


def test_the_strings_on_disk_and_on_the_command_line_are_unchanged():
    assert list(Engine) == ["local", "ray"] and list(TrackStatus) == ["ok", "error"]
    assert list(SimilarBy) == ["emotion", "sound"] and list(Family) == ["study", "mer"]
    assert list(Protocol) == ["study", "segment", "track"]  # most leaky first: the order the ladder is drawn in


def test_members_are_written_as_their_strings_and_read_back_as_members():
    assert json.dumps({Protocol.TRACK: Engine.RAY}) == '{"track": "ray"}' and f"{TrackStatus.OK}" == "ok"
    assert pa.array([TrackStatus.OK, TrackStatus.ERROR]).to_pylist() == ["ok", "error"]
    assert TrackStatus("error") is TrackStatus.ERROR and {"sound": 1}[SimilarBy.SOUND] == 1
