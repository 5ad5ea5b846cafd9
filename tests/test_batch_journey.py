"""Journeys from one mood to another (mer.batch.journey), on a small synthetic batch. At catalogue scale:
test_library_scale.py; across the valence–arousal plane: test_batch_va.py."""

from __future__ import annotations

import numpy as np
import pytest

from mer.batch.journey import check_point, journey, journey_start
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
