"""Journeys from one mood to another (mer.batch.journey), on a small synthetic batch. At catalogue scale:
test_library_scale.py; across the valence–arousal plane: test_batch_va.py."""

from __future__ import annotations

import numpy as np
import pytest

from mer.batch.journey import check_point, journey, journey_start, plane_journey
from mer.errors import BatchError

from .helpers import analysed_track, small_catalogue


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    return small_catalogue(tmp_path_factory.mktemp("journey") / "b")


def test_a_journey_starts_at_a_track_or_an_emotion_and_ends_at_the_target(cat):
    here = analysed_track(cat)
    trip = journey(cat, "calmness", from_track=here.path, steps=4)
    paths = [s.track.path for s in trip.steps]
    assert paths[0] == here.path and len(set(paths)) == 4 and trip.steps[-1].track.top_emotion == "calmness"
    by_emotion = journey(cat, "calmness", from_emotion=trip.start, steps=3)
    assert by_emotion.steps[0].track.top_emotion == trip.start


def test_a_journey_takes_exactly_one_start(cat):
    here = analysed_track(cat)
    for starts in ({}, {"from_track": here.path, "from_emotion": "sadness"}):
        with pytest.raises(BatchError, match="exactly one of from_track and from_emotion"):
            journey(cat, "calmness", **starts)


def test_a_start_typed_on_the_command_line_is_read_as_an_emotion_or_a_path(cat):
    here = analysed_track(cat)
    assert journey_start(cat, "Joyful activation") == {"from_emotion": "Joyful activation"}
    assert journey_start(cat, here.path) == {"from_track": here.path}
    with pytest.raises(BatchError, match="--from 'joy' is neither one of the nine emotions .* nor a track"):
        journey_start(cat, "joy")


def test_a_failed_track_cannot_start_a_journey(cat):
    failed = cat.track(int(np.flatnonzero(~cat.ok)[0]))
    with pytest.raises(BatchError, match="failed to analyse in this batch"):
        journey(cat, "calmness", **journey_start(cat, failed.path))


def test_a_point_is_a_valence_and_an_arousal_from_minus_one_to_one():
    assert check_point((0.5, -1.0)) == (0.5, -1.0)
    with pytest.raises(BatchError):
        check_point((2.0, 0.0))


def test_a_journey_across_the_plane_ends_at_the_track_nearest_the_target_and_waypoints_cut_the_line_evenly(cat):
    trip = plane_journey(cat, (-0.8, -0.8), (0.8, 0.6), steps=5)
    rows = np.flatnonzero(cat.va_usable)
    points = np.column_stack([cat.valence[rows], cat.arousal[rows]])
    nearest = cat.track(int(rows[np.argmin(((points - (0.8, 0.6)) ** 2).sum(axis=1))]))
    assert trip.steps[-1].track.path == nearest.path and len({s.track.path for s in trip.steps}) == 5
    waypoints = np.array([s.waypoint for s in trip.steps])
    assert waypoints == pytest.approx(np.array([(-0.8 + 0.4 * k, -0.8 + 0.35 * k) for k in range(5)]))
    assert trip.file_stem == "v-0.80a-0.80-to-v+0.80a+0.60" and trip.space == "valence_arousal"
    start = trip.steps[2].track.path  # a track's own point starts the journey there
    assert plane_journey(cat, start, (0.8, 0.6), steps=3).steps[0].track.path == start
