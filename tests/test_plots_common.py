"""What every page's figures share (mer.plots.common): round time ticks at any length."""

from __future__ import annotations

import numpy as np
import pytest

from mer.plots.track import timeline_figure


@pytest.mark.parametrize("seconds,labels", [
    (20.0, ["0:00", "0:05", "0:10", "0:15", "0:20"]),
    (70.0, ["0:00", "0:15", "0:30", "0:45", "1:00"]),
    (136.0, ["0:00", "0:30", "1:00", "1:30", "2:00"]),
    (600.0, ["0:00", "2:00", "4:00", "6:00", "8:00", "10:00"]),
    (4000.0, ["0:00", "15:00", "30:00", "45:00", "1:00:00"]),
])
def test_time_axes_have_a_few_round_ticks_at_any_length(seconds, labels):
    from mer.plots.common import time_ticks

    assert time_ticks(seconds)[1] == labels
    n = 20
    start = np.arange(n) * seconds / n
    axis = timeline_figure(np.full((n, 9), 1 / 9), start, start + seconds / n).layout.xaxis
    assert list(axis.ticktext) == labels and list(axis.range) == pytest.approx([0, seconds])

