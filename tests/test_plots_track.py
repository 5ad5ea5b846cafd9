"""One track's figures (mer.plots.track): the timeline's clickable cells and what a click reads."""

from __future__ import annotations

import numpy as np
import pytest

from mer.emotions import EMOTIONS
from mer.plots.track import CLICK_LAYER, segment_from_selection, timeline_figure


def test_every_timeline_cell_is_clickable_and_names_its_segment():
    p = np.random.default_rng(1).dirichlet(np.ones(9), size=20)
    fig = timeline_figure(p, np.arange(20) * 1.5, np.arange(1, 21) * 1.5)
    layer = next(t for t in fig.data if t.name == CLICK_LAYER)
    assert len(layer.x) == 9 * 20 and list(layer.customdata) == [j + 1 for _ in EMOTIONS for j in range(20)]
    assert all(x == (seg - 0.5) * 1.5 for seg, x in zip(layer.customdata, layer.x))  # a cell: its segment's middle
    assert fig.data[0].hoverinfo == "skip" and "segment 7 (9.0–10.5 s)" in layer.text[6]  # hover moved to the layer
    marks = next(t for t in fig.data if t.name == "top emotion")
    assert list(marks.customdata) == list(range(1, 21))  # a click on a mark names its segment too


@pytest.mark.parametrize("points,segment", [
    ([{"curve_number": 2, "point_index": 26, "x": "7", "y": "solemnity", "customdata": 7}], 7),  # a cell
    ([{"curve_number": 2, "point_index": 26, "x": "7", "customdata": [7]}], 7),  # customdata as a list
    ([{"curve_number": 1, "point_index": 11, "x": "12", "y": "calmness"}], 12),  # a top-emotion mark
    ([], None),
    ([{"curve_number": 0}], None),  # nothing to read
])
def test_a_click_is_read_as_its_segment(points, segment):
    assert segment_from_selection(points) == segment

