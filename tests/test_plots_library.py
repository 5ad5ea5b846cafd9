"""The Library page's figures (mer.plots.library): the map, the groups' legend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mer.emotions import EMOTIONS
from mer.plots.library import group_figure

from .helpers import legend_in_bottom_margin


def test_the_library_map_fits_its_tracks_ticks_its_colour_bar_and_keeps_journey_labels_apart():
    from mer.plots.library import _LABEL_OFFSET_PX, _MAP_SIDE_PX, _step_labels, count_ticks, map_figure

    edges = np.linspace(-1, 1, 81)
    counts = np.zeros((80, 80), dtype=int)
    counts[38:43, 37:42] = [[1, 3, 7, 12, 40]] * 5  # tracks near the centre, up to 40 in a cell
    anchors = np.stack([np.sin(np.arange(9) * 2 * np.pi / 9), np.cos(np.arange(9) * 2 * np.pi / 9)], axis=1)
    steps = np.array([[0.0, 0.0], [0.002, 0.001], [0.05, 0.02], [0.09, -0.03], [0.1, 0.1]])
    fig = map_figure(counts, edges, anchors, steps, [f"t{i}" for i in range(5)])
    xr, yr = fig.layout.xaxis.range, fig.layout.yaxis.range
    assert xr[1] - xr[0] < 0.6 and yr[1] - yr[0] < 0.6  # the view is the tracks' neighbourhood, not the whole map
    heat = fig.data[0]
    assert list(heat.colorbar.ticktext) == ["1", "2", "5", "10", "20"] and heat.zmax == pytest.approx(np.log10(40))
    assert count_ticks(12_000)[1][-3:] == ["2k", "5k", "10k"]
    names = fig.data[1]  # every emotion named inside the view, its text running inwards from an edge
    assert all(xr[0] <= x <= xr[1] and yr[0] <= y <= yr[1] for x, y in zip(names.x, names.y))
    left = [t for x, t in zip(names.x, names.textposition) if x < xr[0] + 0.2 * (xr[1] - xr[0])]
    assert left and all(t.endswith("right") for t in left)
    labels = [a.text for a in fig.layout.annotations]
    assert labels == ["1, 2", "3", "4", "5"]  # steps 1 and 2 lie on one spot: one label
    span = max(xr[1] - xr[0], yr[1] - yr[0])
    placed = [steps[g].mean(axis=0) * _MAP_SIDE_PX / span + [dx, dy] for g, dx, dy in _step_labels(steps, span)]
    gaps = [np.linalg.norm(a - b) for i, a in enumerate(placed) for b in placed[i + 1:]]
    assert min(gaps) >= _LABEL_OFFSET_PX * 0.75


def test_the_library_group_legend_lies_below_its_axis_title():
    shares = pd.DataFrame(np.random.default_rng(0).dirichlet(np.ones(9), 3), columns=list(EMOTIONS),
                          index=["classical", "rock", "pop"]).assign(tracks=3)
    fig = group_figure(shares, "folder")
    assert fig.layout.xaxis.title.text == "share of tracks" and len(fig.data) == 9
    legend_in_bottom_margin(fig, rows=5)  # nine entries, two to a row on a narrow chart
    assert fig.layout.legend.traceorder == "normal"

