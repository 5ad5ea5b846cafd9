"""What every navigation shares (mer.batch.navigate): the most tracks one answer holds, and which track may be
compared with the others, on a small synthetic batch. Similar tracks: test_batch_similar.py; journeys:
test_batch_journey.py."""

from __future__ import annotations

import numpy as np
import pytest

from mer.batch.navigate import MAX_TRACKS, analysed_row, check_count
from mer.errors import BatchError

from .helpers import analysed_track, small_catalogue


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    return small_catalogue(tmp_path_factory.mktemp("navigate") / "b")


def test_an_answer_holds_from_its_least_to_max_tracks_and_the_message_names_the_option():
    check_count("--top", 1, 1)
    check_count("--steps", MAX_TRACKS, 2)
    for value in (1, MAX_TRACKS + 1):
        with pytest.raises(BatchError, match=f"--steps must lie between 2 and 1,000, got {value:,}. .*--json"):
            check_count("--steps", value, 2)


def test_only_an_analysed_track_may_be_compared(cat):
    here = analysed_track(cat, 3)
    assert analysed_row(cat, here.path) == cat.find(here.path) and cat.usable[analysed_row(cat, here.path)]
    failed = cat.track(int(np.flatnonzero(~cat.ok)[0]))
    with pytest.raises(BatchError, match="failed to analyse in this batch, so it has no emotions to compare"):
        analysed_row(cat, failed.path)
    with pytest.raises(BatchError):
        analysed_row(cat, "/nowhere/not-in-the-batch.wav")
