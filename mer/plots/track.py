"""The figures of one analysed track, shown by the Analyze and Library pages: its 20-segment emotion timeline
(and which segment a click on it picked) and its whole-track distribution."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from ..emotions import EMOTIONS
from .common import EMOTION_COLORS, LABELS, figure, time_axis

__all__ = ["timeline_figure", "CLICK_LAYER", "segment_from_selection", "distribution_figure"]


def timeline_figure(probabilities: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, *,
                    relative: bool = False, zmax: float | None = None, title: str | None = None) -> go.Figure:
    """The 20-segment emotion timeline: a 9 × 20 heatmap of probabilities, top emotion marked.

    With ``relative``, each cell is the segment's probability minus that emotion's mean over the track
    (red above, blue below, on a scale symmetric about zero): where the music moves towards or away from an
    emotion, which the absolute scale shows only faintly when the probabilities change by a few points.
    ``zmax`` fixes the top of the probability scale (two tracks on one scale); ``title`` replaces the title.
    """
    n = len(probabilities)
    x = (np.asarray(start_s, dtype=float) + np.asarray(end_s, dtype=float)) / 2  # each segment's middle
    top = probabilities.argmax(axis=1)
    change = probabilities - probabilities.mean(axis=0)
    hover = [[f"segment {j + 1} ({start_s[j]:.1f}–{end_s[j]:.1f} s)<br>{LABELS[i]}: {probabilities[j, i]:.2f} "
              f"({change[j, i]:+.3f} against the track's mean)" for j in range(n)] for i in range(len(EMOTIONS))]
    default_title = ("Emotion timeline: change from the track's mean (CNN-LSTM, per segment)" if relative else
                     "Emotion timeline (CNN-LSTM, per segment)")
    title = title if title is not None else default_title
    fig = figure(title=title, height=390, xaxis=time_axis(float(end_s[-1])), yaxis=dict(autorange="reversed"))
    if relative:
        span = max(0.01, float(np.abs(change).max()))
        heat = go.Heatmap(z=change.T, x=x, y=LABELS, colorscale="RdBu", reversescale=True, zmin=-span, zmax=span,
                          hoverinfo="skip", colorbar=dict(title="Δp", thickness=12))
    else:
        # the colour scale ends at the largest probability (rounded up, at least 0.3), so that a timeline of
        # probabilities between 0.05 and 0.35 is not a pale band; the colour bar states the scale
        top_p = zmax if zmax is not None else max(0.3, float(np.ceil(probabilities.max() * 10) / 10))
        heat = go.Heatmap(z=probabilities.T, x=x, y=LABELS, colorscale="Blues", zmin=0, zmax=top_p,
                          hoverinfo="skip", colorbar=dict(title="p", thickness=12))
    fig.add_trace(heat)
    fig.add_trace(go.Scatter(x=x, y=[LABELS[i] for i in top], mode="markers", name="top emotion",
                             customdata=list(range(1, n + 1)),
                             # small enough that 20 rings stay apart in a 200 px plot (a 1000 px window's column)
                             marker=dict(symbol="circle-open", size=9, color=[EMOTION_COLORS[EMOTIONS[i]] for i in top],
                                         line=dict(width=2)), hoverinfo="skip", showlegend=False,
                             unselected=dict(marker=dict(opacity=1))))
    # Streamlit's selections carry no points for a heatmap: a click is caught by this layer of invisible
    # markers, one per cell, each holding its segment's number (read back by segment_from_selection) and
    # the cell's hover text (the heatmap's own hover is off)
    cells_x = [x[j] for i in range(len(EMOTIONS)) for j in range(n)]
    cells_y = [LABELS[i] for i in range(len(EMOTIONS)) for _ in range(n)]
    fig.add_trace(go.Scatter(x=cells_x, y=cells_y, mode="markers", name=CLICK_LAYER, showlegend=False,
                             customdata=[j + 1 for _ in range(len(EMOTIONS)) for j in range(n)],
                             text=[t for row in hover for t in row], hoverinfo="text",
                             marker=dict(symbol="square", size=22, color="#ef6c00", opacity=0),
                             selected=dict(marker=dict(opacity=0.35)), unselected=dict(marker=dict(opacity=0))))
    return fig


#: The name of the timeline's layer of clickable cells.
CLICK_LAYER = "click a column to pick its segment"


def segment_from_selection(points: list[dict[str, Any]]) -> int | None:
    """The segment (1-based) a click on the timeline picked, from Streamlit's selection points; None if none.

    A point of the click layer or of the top-emotion marks holds its segment in ``customdata``; a point without
    one is read by its ``x`` when that is the segment's number as text (a category axis).
    """
    for point in points:
        data = point.get("customdata")
        if isinstance(data, (list, tuple)):
            data = data[0] if data else None
        for value in (data, point.get("x") if isinstance(point.get("x"), str) else None):
            try:
                return int(value)
            except (TypeError, ValueError):
                continue
    return None


def distribution_figure(track_probabilities: Sequence[float] | np.ndarray) -> go.Figure:
    """The track's overall emotion distribution (mean of the segments), sorted."""
    track_probabilities = np.asarray(track_probabilities, dtype=np.float64)
    order = np.argsort(track_probabilities)
    fig = figure(title="Whole track", height=390, xaxis=dict(title="track probability", range=[0, 1]), showlegend=False)
    fig.add_trace(go.Bar(x=track_probabilities[order], y=[LABELS[i] for i in order], orientation="h",
                         marker_color=[EMOTION_COLORS[EMOTIONS[i]] for i in order],
                         text=[f"{p:.2f}" for p in track_probabilities[order]], textposition="outside"))
    return fig
