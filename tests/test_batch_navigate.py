"""Navigation by emotion (mer.batch.navigate): similar tracks, journeys and their playlists, on a small synthetic
batch. At catalogue scale, by sound and on the valence–arousal plane: test_library_scale.py, test_batch_va.py."""

from __future__ import annotations

import numpy as np
import pytest

from mer.batch.catalogue import Catalogue
from mer.batch.navigate import check_point, journey, journey_start, m3u_text, shared_emotions, similar
from mer.batch.synthetic import write_synthetic_batch
from mer.choices import SimilarBy
from mer.errors import BatchError


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    out = tmp_path_factory.mktemp("navigate") / "b"
    write_synthetic_batch(out, 80, seed=4, error_rate=0.1)
    return Catalogue(out)


def _analysed(cat, k: int = 0):
    return cat.track(int(np.flatnonzero(cat.usable)[k]))


def test_similar_tracks_are_the_nearest_others_nearest_first(cat):
    here = _analysed(cat)
    near = similar(cat, here.path, top=5, by=SimilarBy.EMOTION)
    assert len(near) == 5 and here.path not in {n.track.path for n in near}
    assert [n.distance for n in near] == sorted(n.distance for n in near)
    assert similar(cat, here.path, top=5, by="emotion") == near  # the string on the command line: the same
    with pytest.raises(BatchError, match="Similar by 'colour'"):
        similar(cat, here.path, by="colour")


def test_a_journey_starts_at_a_track_or_an_emotion_and_ends_at_the_target(cat):
    here = _analysed(cat)
    trip = journey(cat, "calmness", from_track=here.path, steps=4)
    paths = [s.track.path for s in trip.steps]
    assert paths[0] == here.path and len(set(paths)) == 4 and trip.steps[-1].track.top_emotion == "calmness"
    by_emotion = journey(cat, "calmness", from_emotion=trip.start, steps=3)
    assert by_emotion.steps[0].track.top_emotion == trip.start


def test_a_journey_takes_exactly_one_start(cat):
    here = _analysed(cat)
    for starts in ({}, {"from_track": here.path, "from_emotion": "sadness"}):
        with pytest.raises(BatchError, match="exactly one of from_track and from_emotion"):
            journey(cat, "calmness", **starts)


def test_a_start_typed_on_the_command_line_is_read_as_an_emotion_or_a_path(cat):
    here = _analysed(cat)
    assert journey_start(cat, "Joyful activation") == {"from_emotion": "Joyful activation"}
    assert journey_start(cat, here.path) == {"from_track": here.path}
    with pytest.raises(BatchError, match="--from 'joy' is neither one of the nine emotions .* nor a track"):
        journey_start(cat, "joy")


def test_a_failed_track_cannot_start_a_journey(cat):
    failed = cat.track(int(np.flatnonzero(~cat.ok)[0]))
    with pytest.raises(BatchError, match="failed to analyse in this batch"):
        journey(cat, "calmness", **journey_start(cat, failed.path))


def test_the_playlist_lists_each_track_with_its_title_and_duration(cat):
    tracks = [_analysed(cat, k) for k in range(2)]
    lines = m3u_text(tracks, relative_to="/music").splitlines()
    assert lines[0] == "#EXTM3U" and len(lines) == 5
    assert lines[1].startswith("#EXTINF:60,track-") and lines[2].startswith("./")


def test_shared_emotions_and_points():
    a, b = np.eye(9)[0] * 0.5 + 0.05, np.eye(9)[0] * 0.4 + 0.06
    assert shared_emotions(a, b)[0] == "amazement"
    assert check_point((0.5, -1.0)) == (0.5, -1.0)
    with pytest.raises(BatchError):
        check_point((2.0, 0.0))
