"""Tracks like this one (mer.batch.similar), on a small synthetic batch. At catalogue scale and by sound:
test_library_scale.py; with the learned valence and arousal: test_batch_va.py."""

from __future__ import annotations

import numpy as np
import pytest

from mer.batch.similar import shared_emotions, shared_tags, similar
from mer.choices import SimilarBy
from mer.errors import BatchError
from mer.tags import TAGS

from .helpers import analysed_track, small_catalogue


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    return small_catalogue(tmp_path_factory.mktemp("similar") / "b")


def test_similar_tracks_are_the_nearest_others_nearest_first(cat):
    here = analysed_track(cat)
    near = similar(cat, here.path, top=5, by=SimilarBy.EMOTION)
    assert len(near) == 5 and here.path not in {n.track.path for n in near}
    assert [n.distance for n in near] == sorted(n.distance for n in near)
    assert similar(cat, here.path, top=5, by="emotion") == near  # the string on the command line: the same
    with pytest.raises(BatchError, match="Similar by 'colour'"):
        similar(cat, here.path, by="colour")


def test_the_emotions_and_tags_two_tracks_share_are_among_the_top_of_both_in_the_first_ones_order():
    a, b = np.eye(9)[0] * 0.5 + 0.05, np.eye(9)[0] * 0.4 + 0.06
    assert shared_emotions(a, b)[0] == "amazement"
    assert shared_emotions(np.eye(9)[8], np.eye(9)[7], top=1) == ()
    x, y = np.eye(50)[3] + 0.01 * np.eye(50)[7], np.eye(50)[7] + 0.01 * np.eye(50)[3]
    assert shared_tags(x, y, top=2) == (TAGS[3], TAGS[7])  # x's order: its top tag first
