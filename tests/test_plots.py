"""Charts the Analyze page reads back or that must look right: the timeline's clickable cells, the log-mel scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from plotly.colors import unlabel_rgb

from mer.config import EMOTIONS, emotion_label
from mer.plots import (_LEGEND_ROW_PX, _XAXIS_ROOM_PX, CLICK_LAYER, LOGMEL_COLORSCALE, group_figure, logmel_figure,
                       pca_figure, segment_from_selection, timeline_figure)


def test_every_timeline_cell_is_clickable_and_names_its_segment():
    p = np.random.default_rng(1).dirichlet(np.ones(9), size=20)
    fig = timeline_figure(p, np.arange(20) * 1.5, np.arange(1, 21) * 1.5)
    layer = next(t for t in fig.data if t.name == CLICK_LAYER)
    assert len(layer.x) == 9 * 20 and list(layer.customdata) == [j + 1 for _ in EMOTIONS for j in range(20)]
    assert all(str(seg) == x for seg, x in zip(layer.customdata, layer.x))  # a cell's segment is its column
    assert fig.data[0].hoverinfo == "skip" and "segment 7 (9.0–10.5 s)" in layer.text[6]  # hover moved to the layer


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
    assert legend.y * layout.height <= bottom - _XAXIS_ROOM_PX + 1  # its top lies under the axis title's room
    assert bottom >= _XAXIS_ROOM_PX + rows * _LEGEND_ROW_PX  # and every row fits above the figure's foot
    assert layout.height - layout.margin.t - bottom >= 200  # the plot itself keeps its height


def test_the_library_group_legend_lies_below_its_axis_title():
    shares = pd.DataFrame(np.random.default_rng(0).dirichlet(np.ones(9), 3), columns=list(EMOTIONS),
                          index=["classical", "rock", "pop"]).assign(tracks=3)
    fig = group_figure(shares, "folder")
    assert fig.layout.xaxis.title.text == "share of tracks" and len(fig.data) == 9
    _legend_in_bottom_margin(fig, rows=5)  # nine entries, two to a row on a narrow chart
    assert fig.layout.legend.traceorder == "normal"


def test_every_pca_legend_entry_is_visible_below_the_plot():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"pc1": rng.normal(size=180), "pc2": rng.normal(size=180),
                       "emotion": np.repeat(list(EMOTIONS), 20), "kind": np.tile(["real", "synthetic"], 90)})
    fig = pca_figure(df)
    assert len(fig.data) == 18 and fig.data[-1].name == "sadness (synthetic)"
    _legend_in_bottom_margin(fig, rows=10)  # nine emotions of two lines each, two emotions to a row when narrow


def test_per_class_f1_markers_stand_beside_the_recall_bars_and_their_labels():
    from mer.plots import PER_CLASS_BAR_WIDTH, per_class_figure

    score = type("Score", (), {"recall": 0.5, "f1": 0.52, "support": 4})  # F1 just above recall: the old overlap
    fig = per_class_figure({e: score for e in EMOTIONS})
    bars, f1 = fig.data
    assert list(fig.layout.xaxis.ticktext) == [emotion_label(e) for e in EMOTIONS]
    gaps = np.asarray(f1.x) - np.asarray(bars.x)
    assert np.all(gaps > PER_CLASS_BAR_WIDTH / 2) and np.all(gaps < 0.5)  # right of its bar, before the next one
    assert list(bars.text) == ["0.50"] * 9 and bars.textposition == "outside"


def test_learning_curve_axes_read_as_round_numbers():
    from mer.plots import history_figure
    from mer.progress import Epoch

    history = [Epoch(stage="fold 1/5", epoch=i, epochs=3, train_loss=2.1 - i / 10, val_loss=1.9 - i / 10,
                     val_accuracy=0.242, lr=1e-3, seconds=1.0, best_epoch=i, early_stop=False) for i in range(1, 4)]

    fig = history_figure(history)
    assert fig.layout.yaxis2.tickformat == ".0%" and fig.layout.yaxis2.dtick == 0.2  # 20 %, 40 %…, never 0.242
    assert fig.layout.yaxis.tickformat == ".2f"
