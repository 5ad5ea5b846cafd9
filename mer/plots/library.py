"""The Library page's figures: the library's emotions, emotion by folder or genre, a journey step by step, and
the library map (on the valence–arousal plane, or between the nine emotions)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..emotions import EMOTIONS, emotion_label
from ..text import escape_html
from .common import EMOTION_COLORS, LABELS, LAYOUT, figure, legend_below

__all__ = ["plane_map_figure", "library_figure", "group_figure", "journey_figure", "MAP_COLORSCALE", "count_ticks",
           "map_figure"]


def plane_map_figure(counts: np.ndarray, edges: np.ndarray, points: np.ndarray | None = None,
                     names: list[str] | None = None) -> go.Figure:
    """The library map on the learned valence–arousal plane: tracks per cell as a density (log scale, its colour
    bar ticked 1, 2, 5, 10 …), the quadrants named at the corners, and ``points`` ``(k, 2)`` (valence, arousal) on
    top, joined in order and numbered (a journey, or one selected track; NaN rows left as gaps; ``names`` escaped
    here). The whole plane stays in view: its quarters are what it says."""
    from ..valence import CLEAR, QUADRANTS

    mid = (edges[:-1] + edges[1:]) / 2
    fig = figure(title="The library map: where the tracks lie on the valence–arousal plane", height=560,
                xaxis=dict(title="valence (unpleasant ← → pleasant)", range=[-1.1, 1.1], zeroline=True,
                           zerolinecolor="#b0bec5", constrain="domain"),
                yaxis=dict(title="arousal (calm ← → energetic)", range=[-1.1, 1.1], zeroline=True,
                           zerolinecolor="#b0bec5", scaleanchor="x", scaleratio=1), showlegend=False)
    fig.update_layout(shapes=[dict(type="rect", xref="x", yref="y", x0=-CLEAR, y0=-CLEAR, x1=CLEAR, y1=CLEAR,
                                   line=dict(color="#90a4ae", dash="dot"), layer="above")])
    fig.add_trace(_density(counts, mid, "valence %{x:+.2f}, arousal %{y:+.2f}: %{customdata} tracks<extra></extra>"))
    corners = list(QUADRANTS.items())
    fig.add_trace(go.Scatter(x=[1.05 if right else -1.05 for (right, _), _ in corners],
                             y=[1.05 if up else -1.05 for (_, up), _ in corners], mode="text",
                             text=[name for _, name in corners], hoverinfo="skip",
                             textposition=["middle left" if right else "middle right" for (right, _), _ in corners],
                             textfont=dict(color="#78909c", size=13)))
    if points is not None and len(points):
        _journey(fig, np.asarray(points, dtype=float).reshape(-1, 2), names, 2.2,
                 "%{customdata}: valence %{x:+.2f}, arousal %{y:+.2f}<extra></extra>")
    return fig


def library_figure(counts: pd.Series) -> go.Figure:
    """How many tracks have each emotion as their top one."""
    fig = go.Figure(go.Bar(x=[emotion_label(e) for e in counts.index], y=counts.to_numpy(),
                           marker_color=[EMOTION_COLORS[e] for e in counts.index], text=counts.to_numpy(),
                           textposition="outside"))
    fig.update_layout(**{**LAYOUT, "title": "The library's emotions (top emotion per track)", "height": 360,
                         "yaxis_title": "tracks", "showlegend": False})
    return fig


def group_figure(shares: pd.DataFrame, by: str) -> go.Figure:
    """Stacked bars: each group's share of tracks per top emotion.

    The groups are folder names or genre tags, so their labels are escaped (:func:`mer.text.escape_html`): a tag
    ``<a href=...>`` is shown as written, never made a link.
    """
    fig = go.Figure()
    groups = [escape_html(g) for g in shares.index.astype(str)]
    for e, label in zip(EMOTIONS, LABELS):
        fig.add_trace(go.Bar(y=groups, x=shares[e].to_numpy(), name=label, orientation="h",
                             marker_color=EMOTION_COLORS[e],
                             customdata=shares["tracks"].to_numpy(),
                             hovertemplate=f"%{{y}}: {label} %{{x:.0%}} of %{{customdata}} tracks<extra></extra>"))
    below = legend_below(len(fig.data), per_row=3, plot_height=max(210, 10 + 28 * len(shares)))
    below["legend"]["traceorder"] = "normal"  # Emotify's order, as everywhere else (a stacked chart reverses it)
    fig.update_layout(**{**LAYOUT, **below, "title": f"Emotion by {escape_html(by)}", "barmode": "stack",
                         "xaxis": dict(title="share of tracks", range=[0, 1])})
    return fig


def journey_figure(probabilities: Sequence[Sequence[float]] | np.ndarray, names: list[str]) -> go.Figure:
    """A journey's steps as a path over the emotions: a steps × 9 heatmap of each track's probabilities, its top
    emotion marked and joined step to step (``names``: the tracks' file names, escaped here for the hover)."""
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1, len(EMOTIONS))
    n = len(probabilities)
    x = [f"{i + 1}" for i in range(n)]
    top = probabilities.argmax(axis=1)
    hover = [[f"step {j + 1}: {escape_html(names[j])}<br>{LABELS[i]}: {probabilities[j, i]:.2f}" for j in range(n)]
             for i in range(len(EMOTIONS))]
    fig = figure(title="The journey, step by step (each track's emotion probabilities)", height=390,
                xaxis=dict(title="step", type="category"), yaxis=dict(autorange="reversed"))
    fig.add_trace(go.Heatmap(z=probabilities.T, x=x, y=LABELS, colorscale="Blues", zmin=0,
                             zmax=max(0.3, float(probabilities.max())), text=hover, hoverinfo="text",
                             colorbar=dict(title="p", thickness=12)))
    fig.add_trace(go.Scatter(x=x, y=[LABELS[i] for i in top], mode="lines+markers", name="top emotion",
                             line=dict(color="#37474f", width=2),
                             marker=dict(size=12, color=[EMOTION_COLORS[EMOTIONS[i]] for i in top]),
                             hoverinfo="skip", showlegend=False))
    return fig


#: The library map's cells: light where one track lies (white would hide it), dark where the most do.
MAP_COLORSCALE = [[0.0, "#c6dbef"], [0.5, "#4292c6"], [1.0, "#08306b"]]
#: The map's journey labels: how far from its point a label stands, and the plot's side assumed when keeping
#: labels apart (pixels; the chart is at least this wide on a page).
_LABEL_OFFSET_PX, _MAP_SIDE_PX = 20, 420


def count_ticks(most: int) -> tuple[list[float], list[str]]:
    """The colour bar of a log-scaled count: 1, 2, 5, 10, 20, 50 … up to ``most``, at their log10."""
    values = [m * 10 ** e for e in range(int(np.log10(max(most, 1))) + 1) for m in (1, 2, 5) if m * 10 ** e <= most]
    return [float(np.log10(v)) for v in values], [f"{v // 1000}k" if v >= 1000 else str(v) for v in values]


def _view(counts: np.ndarray, edges: np.ndarray, points: np.ndarray | None) -> tuple[list[float], list[float]]:
    """The x and y ranges that hold every occupied cell and every drawn point, with a margin (at least 0.4 wide)."""
    xs, ys = np.nonzero(counts)
    lo = [[edges[xs].min(), edges[ys].min()]] if len(xs) else []
    hi = [[edges[xs + 1].max(), edges[ys + 1].max()]] if len(xs) else []
    if points is not None and len(points):
        lo.append(points.min(axis=0))
        hi.append(points.max(axis=0))
    if not lo:
        return [-1.1, 1.1], [-1.1, 1.1]
    low, high = np.min(lo, axis=0), np.max(hi, axis=0)
    centre, half = (low + high) / 2, np.maximum((high - low) / 2 * 1.2, 0.2)
    return [float(centre[0] - half[0]), float(centre[0] + half[0])], [float(centre[1] - half[1]), float(centre[1] + half[1])]


def _step_labels(points: np.ndarray, span: float) -> list[tuple[list[int], float, float]]:
    """Where the numbers of a journey's steps go: steps closer than a label's size share one label ("1, 2"), and
    each label stands off its point in the direction farthest from the other points and labels placed so far.

    Returns (steps, dx, dy) per label, the steps 0-based and the offset in pixels (y up).
    """
    scale = _MAP_SIDE_PX / max(span, 1e-9)  # pixels per map unit
    px = points * scale
    groups: list[list[int]] = []
    for i, p in enumerate(px):
        near = next((g for g in groups if np.linalg.norm(px[g[0]] - p) < _LABEL_OFFSET_PX), None)
        near.append(i) if near is not None else groups.append([i])
    placed: list[np.ndarray] = []
    out = []
    angles = np.deg2rad(np.arange(0, 360, 30) + 90)  # straight up first
    for g in groups:
        at = px[g].mean(axis=0)
        others = [q for q in (*px, *placed)]
        best = max(angles, key=lambda a: min(np.linalg.norm(at + _LABEL_OFFSET_PX * np.array([np.cos(a), np.sin(a)]) - q)
                                            for q in others))
        offset = _LABEL_OFFSET_PX * np.array([np.cos(best), np.sin(best)])
        placed.append(at + offset)
        out.append((g, float(offset[0]), float(offset[1])))
    return out


def map_figure(counts: np.ndarray, edges: np.ndarray, anchors: np.ndarray, points: np.ndarray | None = None,
               names: list[str] | None = None) -> go.Figure:
    """The library map: tracks per cell as a density (log scale, its colour bar ticked 1, 2, 5, 10 …), the view
    fitted to where the tracks lie, each emotion named where its corner is (at the edge of the view, towards
    it, when the corner lies outside), and ``points`` ``(k, 2)`` on top, joined in order and numbered (a journey,
    or one selected track; ``names`` escaped here)."""
    points = None if points is None or not len(points) else np.asarray(points, dtype=float).reshape(-1, 2)
    xr, yr = _view(counts, edges, points)
    mid = (edges[:-1] + edges[1:]) / 2
    fig = figure(title="The library map: where the tracks lie between the nine emotions", height=520,
                xaxis=dict(visible=False, range=xr), yaxis=dict(visible=False, range=yr, scaleanchor="x"),
                showlegend=False)
    fig.add_trace(_density(counts, mid, "%{customdata} tracks<extra></extra>"))
    centre = np.array([sum(xr) / 2, sum(yr) / 2])
    half = np.array([(xr[1] - xr[0]) / 2, (yr[1] - yr[0]) / 2]) * 0.9
    spots = []
    for a in anchors * 1.08:  # a corner inside the view is named there; one outside, at the edge on its way
        d = a - centre
        reach = np.max(np.abs(d) / half)
        spots.append(a if reach <= 1 else centre + d / reach)
    spots = np.array(spots)
    # each name extends from its spot towards the middle of the view, so that one at an edge is never cut
    side = [("bottom" if dy > 0.5 else "top" if dy < -0.5 else "middle") + " "
            + ("left" if dx > 0.5 else "right" if dx < -0.5 else "center")
            for dx, dy in (spots - centre) / half]
    fig.add_trace(go.Scatter(x=spots[:, 0], y=spots[:, 1], mode="text", text=LABELS, textposition=side,
                             textfont=dict(color=[EMOTION_COLORS[e] for e in EMOTIONS], size=14), hoverinfo="skip"))
    if points is not None:
        _journey(fig, points, names, max(xr[1] - xr[0], yr[1] - yr[0]), "%{customdata}<extra></extra>")
    return fig


def _density(counts: np.ndarray, mid: np.ndarray, hover: str) -> go.Heatmap:
    """A map's tracks per cell on a log scale: one track already visible, the colour bar ticked 1, 2, 5, 10 …"""
    most = int(counts.max()) if counts.size else 0
    z = np.where(counts.T > 0, np.log10(np.maximum(counts.T, 1)), np.nan)
    values, labels = count_ticks(max(most, 2))  # the bar reaches 2 even where every cell holds one track
    return go.Heatmap(z=z, x=mid, y=mid, colorscale=MAP_COLORSCALE, zmin=0, zmax=max(np.log10(max(most, 1)), np.log10(2)),
                      customdata=counts.T, hovertemplate=hover,
                      colorbar=dict(title="tracks", thickness=12, tickvals=values, ticktext=labels))


def _journey(fig: go.Figure, points: np.ndarray, names: list[str] | None, span: float, hover: str) -> None:
    """A journey (or one track) on a map: its points joined in order (a NaN row a gap), each step numbered where
    the numbers stay apart (:func:`_step_labels`)."""
    fig.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="lines+markers",
                             customdata=[escape_html(n) for n in (names or [""] * len(points))],
                             hovertemplate=hover, line=dict(color="#d81b60", width=2),
                             marker=dict(size=11, color="#d81b60", line=dict(width=1, color="white"))))
    finite = np.flatnonzero(np.isfinite(points).all(axis=1))
    if len(points) > 1 and len(finite):
        fig.update_layout(annotations=[
            dict(x=float(points[finite[g]].mean(axis=0)[0]), y=float(points[finite[g]].mean(axis=0)[1]), ax=dx,
                 ay=-dy, text=", ".join(str(finite[i] + 1) for i in g), showarrow=True, arrowhead=0, arrowwidth=1,
                 arrowcolor="#d81b60", font=dict(color="#880e4f", size=13), bgcolor="rgba(255,255,255,0.8)")
            for g, dx, dy in _step_labels(points[finite], span)])
