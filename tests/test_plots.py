"""Charts the Analyze page reads back or that must look right: the timeline's clickable cells, the log-mel scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from plotly.colors import unlabel_rgb

from mer.emotions import EMOTIONS, emotion_label
from mer.plots.analyze import LOGMEL_COLORSCALE, logmel_figure
from mer.plots.common import LEGEND_ROW_PX, XAXIS_ROOM_PX
from mer.plots.dataset import pca_figure
from mer.plots.library import group_figure
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


def test_the_frequency_axis_reads_in_hertz_and_kilohertz():
    from mer.plots.analyze import spectrum_figure

    freqs = np.linspace(0, 11_025, 1025)
    axis = spectrum_figure(freqs, np.zeros((2, 1025)), 0, None, np.zeros(2), np.ones(2)).layout.xaxis
    assert list(axis.ticktext) == ["20", "50", "100", "200", "500", "1k", "2k", "5k", "10k"]
    assert axis.type == "log" and list(axis.tickvals)[5] == 1000 and axis.title.text == "frequency (Hz)"


def test_the_ladders_figures_sit_inside_their_bars_and_the_majority_line_is_named_in_the_legend():
    from mer.plots.model import ladder_figure
    from mer.results import Rung

    rungs = [Rung("study", "segment", 0.854, 2700, "s"), Rung("track", "track", 0.184, 320, "t")]
    fig = ladder_figure({"study": rungs}, baseline=0.234, published=0.947)
    assert fig.data[0].textposition == "inside" and list(fig.data[0].text) == ["85.4%", "18.4%"]
    assert not [a for a in fig.layout.annotations if "majority" in a.text]  # no label on the line itself
    assert fig.data[-1].name == "always the most common emotion (majority baseline): 23.4%"


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


@pytest.mark.parametrize("points,segment", [
    ([{"curve_number": 2, "point_index": 26, "x": "7", "y": "solemnity", "customdata": 7}], 7),  # a cell
    ([{"curve_number": 2, "point_index": 26, "x": "7", "customdata": [7]}], 7),  # customdata as a list
    ([{"curve_number": 1, "point_index": 11, "x": "12", "y": "calmness"}], 12),  # a top-emotion mark
    ([], None),
    ([{"curve_number": 0}], None),  # nothing to read
])
def test_a_click_is_read_as_its_segment(points, segment):
    assert segment_from_selection(points) == segment


def test_the_log_mel_floor_is_the_darkest_colour_so_silence_looks_quiet():
    stops = [c for _, c in LOGMEL_COLORSCALE]
    assert all(c.startswith("rgb(") for c in stops)  # no "#000004": the browser drew it light pink
    luminance = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in map(unlabel_rgb, stops)]
    assert luminance[0] < 1 and luminance == sorted(luminance)  # black at the floor, brighter all the way up
    heat = logmel_figure(np.full((64, 10), -80.0), 22_050, 512, 0).data[0]
    assert heat.zmin == -80 and heat.colorscale[0][1] == "rgb(0, 0, 4)"


def _legend_in_bottom_margin(fig, rows: int) -> None:
    """The legend hangs in the bottom margin below the x axis's title, with room for ``rows`` rows of entries."""
    layout = fig.layout
    legend, bottom = layout.legend, layout.margin.b
    assert legend.orientation == "h" and legend.yref == "container" and legend.yanchor == "top"
    assert legend.y * layout.height <= bottom - XAXIS_ROOM_PX + 1  # its top lies under the axis title's room
    assert bottom >= XAXIS_ROOM_PX + rows * LEGEND_ROW_PX  # and every row fits above the figure's foot
    assert layout.height - layout.margin.t - bottom >= 200  # the plot itself keeps its height


def test_the_library_group_legend_lies_below_its_axis_title():
    shares = pd.DataFrame(np.random.default_rng(0).dirichlet(np.ones(9), 3), columns=list(EMOTIONS),
                          index=["classical", "rock", "pop"]).assign(tracks=3)
    fig = group_figure(shares, "folder")
    assert fig.layout.xaxis.title.text == "share of tracks" and len(fig.data) == 9
    _legend_in_bottom_margin(fig, rows=5)  # nine entries, two to a row on a narrow chart
    assert fig.layout.legend.traceorder == "normal"


def test_the_pca_shows_one_emotion_over_the_others_with_a_legend_of_three_below_the_plot():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"pc1": rng.normal(size=180), "pc2": rng.normal(size=180),
                       "emotion": np.repeat(list(EMOTIONS), 20), "kind": np.tile(["real", "synthetic"], 90)})
    fig = pca_figure(df, "sadness")
    assert [t.name for t in fig.data] == ["the other emotions", "sadness (real, 10)", "sadness (synthetic, 10)"]
    assert len(fig.data[0].x) == 160  # every sample of the other eight emotions, in grey
    _legend_in_bottom_margin(fig, rows=3)  # three entries, a row each: the longest name fits a narrow chart


def test_per_class_f1_markers_stand_beside_the_recall_bars_and_their_labels():
    from mer.plots.model import PER_CLASS_BAR_WIDTH, per_class_figure

    score = type("Score", (), {"recall": 0.5, "f1": 0.52, "support": 4})  # F1 just above recall: the old overlap
    fig = per_class_figure({e: score for e in EMOTIONS})
    bars, f1 = fig.data
    assert list(fig.layout.xaxis.ticktext) == [emotion_label(e) for e in EMOTIONS]
    gaps = np.asarray(f1.x) - np.asarray(bars.x)
    assert np.all(gaps > PER_CLASS_BAR_WIDTH / 2) and np.all(gaps < 0.5)  # right of its bar, before the next one
    assert list(bars.text) == ["0.50"] * 9 and bars.textposition == "outside"


def test_learning_curve_axes_read_as_round_numbers():
    from mer.plots.model import history_figure
    from mer.progress import Epoch

    history = [Epoch(stage="fold 1/5", epoch=i, epochs=3, train_loss=2.1 - i / 10, val_loss=1.9 - i / 10,
                     val_accuracy=0.242, lr=1e-3, seconds=1.0, best_epoch=i, early_stop=False) for i in range(1, 4)]

    fig = history_figure(history)
    assert fig.layout.yaxis2.tickformat == ".0%" and fig.layout.yaxis2.dtick == 0.2  # 20 %, 40 %…, never 0.242
    assert fig.layout.yaxis.tickformat == ".2f"
