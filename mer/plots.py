"""Plotly figures shared by the app's pages and the HTML report (no streamlit here).

Every chart colours an emotion the same way (:data:`EMOTION_COLORS`) and names
it in readable form ("joyful activation").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .emotions import EMOTIONS, emotion_label
from .text import escape_html

__all__ = [
    "EMOTION_COLORS",
    "LABELS",
    "waveform_figure",
    "timeline_figure",
    "segment_from_selection",
    "clock",
    "time_ticks",
    "CLICK_LAYER",
    "LOGMEL_COLORSCALE",
    "taggram_figure",
    "library_figure",
    "group_figure",
    "journey_figure",
    "map_figure",
    "count_ticks",
    "hertz",
    "FREQUENCY_TICKS",
    "plane_map_figure",
    "distribution_figure",
    "circumplex_figure",
    "paired_bars_figure",
    "circumplex_pair_figure",
    "PAIR_COLORS",
    "spectrum_figure",
    "logmel_figure",
    "balance_figure", "taggram_figure",
    "pca_figure",
    "genre_figure",
    "agreement_figure",
    "confusion_figure",
    "per_class_figure",
    "history_figure",
    "ladder_figure",
    "cv_figure",
]

#: One colour per emotion, used by every chart.
EMOTION_COLORS: dict[str, str] = {
    "amazement": "#f2b701",
    "solemnity": "#5d4e8c",
    "tenderness": "#f497b6",
    "nostalgia": "#c08552",
    "calmness": "#5ab4ac",
    "power": "#d7301f",
    "joyful_activation": "#f57f17",
    "tension": "#7b1fa2",
    "sadness": "#3b6fb6",
}
LABELS = [emotion_label(e) for e in EMOTIONS]

_LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=40, b=10), font=dict(size=13))


#: A legend below a chart gets its own rows in the bottom margin, just under the x axis's tick labels and title
#: (``_XAXIS_ROOM_PX``), one ``_LEGEND_ROW_PX`` per row of entries: it never covers the axis title, and never
#: scrolls an entry out of view as a tall legend beside the plot does.
_XAXIS_ROOM_PX = 60
_LEGEND_ROW_PX = 24


def _legend_below(entries: int, per_row: int, plot_height: int, lines: int = 1) -> dict[str, Any]:
    """Layout of a figure whose horizontal legend lies in its bottom margin, under the x axis's title.

    Entries take a fixed share of the plot's width, ``per_row`` to a row; an entry is a legend group of
    ``lines`` lines. The margin holds the rows of a narrow chart too, where a long name pushes an entry to the
    next row (one fewer to a row): the legend hangs from the top of the margin, so the spare room is at the
    figure's foot, never over the axis title. Gives ``height``, ``margin`` (its ``b``) and ``legend``.
    """
    rows = max(1, -(-entries // max(per_row - 1, 1))) * lines
    bottom = _XAXIS_ROOM_PX + rows * _LEGEND_ROW_PX + 10
    height = plot_height + _LAYOUT["margin"]["t"] + bottom
    legend = dict(orientation="h", yref="container", y=round((bottom - _XAXIS_ROOM_PX) / height, 4), yanchor="top",
                  x=0, xanchor="left", entrywidthmode="fraction", entrywidth=round(0.8 / per_row, 3),
                  font=dict(size=12))
    return {"height": height, "margin": {**_LAYOUT["margin"], "b": bottom}, "legend": legend}


def _fig(**layout: Any) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(**{**_LAYOUT, **layout})
    return fig


#: Steps between two time ticks, in seconds: round to a listener (5 s, 15 s, 30 s, 1, 2, 5 minutes…).
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)


def clock(seconds: float) -> str:
    """A time as a listener reads it: ``0:05``, ``1:30``, ``1:02:00``."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def time_ticks(duration_s: float, most: int = 6) -> tuple[list[float], list[str]]:
    """At most ``most`` ticks from 0:00 at the smallest round step that fits ``duration_s``, and their labels.

    A few round times read at any width; a tick per segment ran together on a long track.
    """
    step = next((s for s in _TIME_STEPS if duration_s / s < most), None)
    if step is None:
        step = _TIME_STEPS[-1] * int(np.ceil(duration_s / _TIME_STEPS[-1] / (most - 1)))
    values = [float(t) for t in np.arange(0, duration_s + 1e-9, step)]
    return values, [clock(t) for t in values]


def _time_axis(duration_s: float, title: str = "time (minutes:seconds)") -> dict[str, Any]:
    values, labels = time_ticks(duration_s)
    return dict(title=title, tickmode="array", tickvals=values, ticktext=labels, range=[0, duration_s],
                showgrid=False, zeroline=False)


def waveform_figure(waveform: Any, boundaries_s: np.ndarray, top: list[str] | None = None) -> go.Figure:
    """A waveform's min/max envelope (:class:`mer.analyze.Envelope`) with the segment boundaries as lines.

    Segments are shaded in the colour of their top emotion when ``top`` is given.
    """
    t = waveform.times_s
    fig = _fig(title="Waveform and the 20 segments", height=230, showlegend=False,
               xaxis=_time_axis(waveform.duration_s), yaxis=dict(range=[-1, 1], title="amplitude"))
    fig.add_trace(go.Scatter(x=np.concatenate([t, t[::-1]]), y=np.concatenate([waveform.high, waveform.low[::-1]]),
                             fill="toself", line=dict(width=0.5, color="#37474f"), hoverinfo="skip"))
    edges = np.append(boundaries_s, waveform.duration_s)
    # shapes set in one go: add_vrect/add_vline re-validate every earlier shape (40 of them took ~0.4 s)
    span = dict(xref="x", yref="y domain", y0=0, y1=1)
    shapes = [] if top is None else [
        dict(type="rect", x0=edges[i], x1=edges[i + 1], fillcolor=EMOTION_COLORS[top[i]], opacity=0.18,
             line_width=0, layer="below", **span) for i in range(len(boundaries_s))]
    shapes += [dict(type="line", x0=x, x1=x, line=dict(width=1, color="#90a4ae", dash="dot"), **span)
               for x in edges[:-1]]
    fig.update_layout(shapes=shapes)
    return fig


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
    fig = _fig(title=title, height=390, xaxis=_time_axis(float(end_s[-1])), yaxis=dict(autorange="reversed"))
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


def taggram_figure(tags: np.ndarray, names: list[str], start_s: np.ndarray, end_s: np.ndarray,
                   top: int = 12) -> go.Figure:
    """What the pretrained tagger hears per segment: its ``top`` tags (by mean over the track) × segments."""
    n = len(tags)
    keep = np.argsort(tags.mean(axis=0))[::-1][:top]
    x = (np.asarray(start_s, dtype=float) + np.asarray(end_s, dtype=float)) / 2
    hover = [[f"segment {j + 1} ({start_s[j]:.1f}–{end_s[j]:.1f} s)<br>{escape_html(names[k])}: {tags[j, k]:.2f}"
              for j in range(n)] for k in keep]
    fig = _fig(title="What the CNN hears: MusiCNN's tags per segment (the tagger's output, not emotions)",
               height=360, xaxis=_time_axis(float(end_s[-1])), yaxis=dict(autorange="reversed"))
    fig.add_trace(go.Heatmap(z=tags[:, keep].T, x=x, y=[escape_html(names[k]) for k in keep], colorscale="Greens", zmin=0,
                             zmax=max(0.5, float(tags[:, keep].max())), text=hover, hoverinfo="text",
                             colorbar=dict(title="p", thickness=12)))
    return fig


def distribution_figure(track_probabilities: np.ndarray) -> go.Figure:
    """The track's overall emotion distribution (mean of the segments), sorted."""
    order = np.argsort(track_probabilities)
    fig = _fig(title="Whole track", height=390, xaxis=dict(title="track probability", range=[0, 1]), showlegend=False)
    fig.add_trace(go.Bar(x=track_probabilities[order], y=[LABELS[i] for i in order], orientation="h",
                         marker_color=[EMOTION_COLORS[EMOTIONS[i]] for i in order],
                         text=[f"{p:.2f}" for p in track_probabilities[order]], textposition="outside"))
    return fig


def _label_sides(xy: np.ndarray, near: float = 0.15) -> list[str]:
    """Above each point, except below where an earlier point sits within ``near`` and is labelled above: two
    emotions the head puts close together keep readable names."""
    sides: list[str] = []
    for i, p in enumerate(xy):
        crowded = any(np.hypot(*(p - xy[j])) < near and sides[j] == "top center" for j in range(i))
        sides.append("bottom center" if crowded else "top center")
    return sides


def circumplex_figure(path: Any, start_s: np.ndarray, *, segment: int | None = None,
                      anchors: dict[str, tuple[float, float, int]] | None = None) -> go.Figure:
    """A track's path through Russell's valence–arousal plane over its segments (:class:`mer.valence.VAPath`).

    The values are the learned head's, 2 P - 1 on each axis. The quadrants are named at the corners; the square
    around the centre where neither value leans clearly (:data:`mer.valence.CLEAR`) is shaded "no clear mood".
    ``anchors`` (emotion → valence, arousal, tracks) draws each emotion where the head puts the Emotify tracks
    whose listeners chose it, a measurement, never a fixed place. The segments are joined in time order (shaded
    light to dark), the track's own point is a star, and ``segment`` (0-based), when given, is ringed.
    """
    from .valence import CLEAR, QUADRANTS

    n = len(path.valence)
    fig = _fig(title="Valence and arousal, segment by segment",
               height=520, showlegend=True, legend=dict(orientation="h", y=-0.12),
               xaxis=dict(title="valence (unpleasant ← → pleasant)", range=[-1.1, 1.1], zeroline=True,
                          zerolinecolor="#b0bec5", constrain="domain"),
               yaxis=dict(title="arousal (calm ← → energetic)", range=[-1.1, 1.1], zeroline=True,
                          zerolinecolor="#b0bec5", scaleanchor="x", scaleratio=1))
    fig.update_layout(shapes=[dict(type="rect", xref="x", yref="y", x0=-CLEAR, y0=-CLEAR, x1=CLEAR, y1=CLEAR,
                                   line=dict(color="#cfd8dc", dash="dot"), fillcolor="#eceff1", layer="below")],
                      annotations=[dict(x=1.05 if right else -1.05, y=1.05 if up else -1.05, text=name,
                                        showarrow=False, xanchor="right" if right else "left",
                                        font=dict(color="#78909c", size=13))
                                   for (right, up), name in QUADRANTS.items()]
                      + [dict(x=0, y=-CLEAR, yanchor="top", text="no clear mood", showarrow=False,
                              font=dict(color="#90a4ae", size=11))])
    if anchors:
        names = [e for e in EMOTIONS if e in anchors]
        xy = np.array([anchors[e][:2] for e in names])
        fig.add_trace(go.Scatter(
            x=xy[:, 0], y=xy[:, 1], mode="markers+text", name="Emotify's emotions, placed by the head",
            text=[emotion_label(e) for e in names], textposition=_label_sides(xy), textfont=dict(size=11),
            customdata=[anchors[e][2] for e in names],
            marker=dict(size=10, color=[EMOTION_COLORS[e] for e in names], symbol="diamond", opacity=0.8),
            hovertemplate="%{text}: the mean of the %{customdata} Emotify tracks whose listeners chose it most "
                          "(valence %{x:+.2f}, arousal %{y:+.2f})<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=path.valence, y=path.arousal, mode="lines+markers", name="segments, in time order",
        line=dict(color="#90a4ae", width=1.5),
        marker=dict(size=9, color=np.arange(1, n + 1), colorscale="Blues", cmin=-n / 3, cmax=n, showscale=False,
                    line=dict(width=1, color="#37474f")),
        customdata=np.stack([np.arange(1, n + 1), start_s], axis=1),
        hovertemplate="segment %{customdata[0]:.0f} (from %{customdata[1]:.1f} s): valence %{x:+.2f}, "
                      "arousal %{y:+.2f}<extra></extra>"))
    if segment is not None:
        fig.add_trace(go.Scatter(x=[path.valence[segment]], y=[path.arousal[segment]], mode="markers",
                                 name=f"segment {segment + 1}", hoverinfo="skip",
                                 marker=dict(size=20, symbol="circle-open", color="#ef6c00", line=dict(width=3))))
    fig.add_trace(go.Scatter(x=[path.track_valence], y=[path.track_arousal], mode="markers", name="whole track",
                             marker=dict(size=18, symbol="star", color="#212121"),
                             hovertemplate="whole track: valence %{x:+.2f}, arousal %{y:+.2f}<extra></extra>"))
    return fig


#: The colours of two compared tracks, A then B.
PAIR_COLORS = ("#1565c0", "#ef6c00")


def paired_bars_figure(names: tuple[str, str], track_probabilities: tuple[np.ndarray, np.ndarray]) -> go.Figure:
    """The nine track probabilities of two tracks as paired horizontal bars, each value at its bar's end, where
    two close values never run together (names escaped: they are data)."""
    top = max(float(np.max(p)) for p in track_probabilities)
    fig = _fig(title="The nine emotions, track by track", height=470, barmode="group",
               xaxis=dict(title="track probability", range=[0, top * 1.2]), yaxis=dict(autorange="reversed"),
               legend=dict(orientation="h", y=-0.15))
    for name, p, color in zip(names, track_probabilities, PAIR_COLORS):
        fig.add_trace(go.Bar(y=LABELS, x=p, name=escape_html(name), marker_color=color, orientation="h",
                             text=[f"{v:.2f}" for v in p], textposition="outside"))
    return fig


def circumplex_pair_figure(names: tuple[str, str], paths: tuple[Any, Any]) -> go.Figure:
    """Two tracks' paths through the valence–arousal plane (:func:`circumplex_figure`'s plane), one colour each."""
    fig = circumplex_figure(paths[0], np.zeros(len(paths[0].valence)))
    fig.data = ()  # the plane alone; the two paths are drawn below
    fig.update_layout(title="Valence and arousal: both tracks, segment by segment")
    for name, path, color in zip(names, paths, PAIR_COLORS):
        label = escape_html(name)
        fig.add_trace(go.Scatter(x=path.valence, y=path.arousal, mode="lines+markers", name=f"{label}: segments",
                                 line=dict(color=color, width=1.5), marker=dict(size=7, color=color),
                                 hovertemplate=f"{label}<br>valence %{{x:+.2f}}, arousal %{{y:+.2f}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[path.track_valence], y=[path.track_arousal], mode="markers",
                                 name=f"{label}: whole track", marker=dict(size=18, symbol="star", color=color,
                                                                          line=dict(width=1, color="#212121"))))
    return fig


#: The frequency axis's ticks: a 1-2-5 series, each labelled in full (never "2" meaning 200 Hz).
FREQUENCY_TICKS = (20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000)


def hertz(f: float) -> str:
    """A frequency tick on an axis titled in Hz: ``50``, ``500``, ``2k`` (short enough for a half-width chart)."""
    return f"{f / 1000:g}k" if f >= 1000 else f"{f:g}"


def spectrum_figure(freqs_hz: np.ndarray, magnitude_db: np.ndarray, segment: int, compare: int | None,
                    start_s: np.ndarray, end_s: np.ndarray) -> go.Figure:
    """FFT magnitude spectrum of one segment (dB, log-frequency axis in Hz ticked 20, 50, 100 … 1k, 2k … 10k),
    optionally with a second overlaid."""
    keep = freqs_hz > 0
    low, high = max(20.0, float(freqs_hz[keep].min())), float(freqs_hz.max())
    ticks = [t for t in FREQUENCY_TICKS if low <= t <= high]
    fig = _fig(title="FFT spectrum", height=360, yaxis_title="magnitude (dB re full scale)",
               xaxis=dict(title="frequency (Hz)", type="log", range=[np.log10(low), np.log10(high)], tickmode="array",
                          tickvals=ticks, ticktext=[hertz(t) for t in ticks]),
               legend=dict(orientation="h", y=-0.25))
    keep = freqs_hz > 0
    for idx, colour in ((segment, "#1565c0"), (compare, "#ef6c00")):
        if idx is None:
            continue
        fig.add_trace(go.Scatter(x=freqs_hz[keep], y=magnitude_db[idx][keep], mode="lines",
                                 line=dict(width=1.4, color=colour),
                                 name=f"segment {idx + 1} ({start_s[idx]:.1f}–{end_s[idx]:.1f} s)"))
    return fig


def _rgb_scale(hex_colors: list[str]) -> list[list[Any]]:
    """An evenly spaced colour scale in ``rgb(r, g, b)`` strings.

    Written out because the browser's Plotly drew Magma's ``"#000004"`` floor as a light pink (on Streamlit's
    theme; light purple without it), so that silence, at the floor, looked loud; ``rgb(0, 0, 4)`` is drawn black.
    """
    from plotly.colors import hex_to_rgb

    return [[i / (len(hex_colors) - 1), "rgb({}, {}, {})".format(*hex_to_rgb(c))] for i, c in enumerate(hex_colors)]


#: Magma, darkest at the floor: the log-mel images' scale (silence black, loud parts light yellow).
LOGMEL_COLORSCALE = _rgb_scale(["#000004", "#180f3d", "#440f76", "#721f81", "#9e2f7f", "#cd4071", "#f1605d",
                                "#fd9668", "#feca8d", "#fcfdbf"])


def logmel_figure(logmel: np.ndarray, sample_rate: int, hop_length: int, segment: int) -> go.Figure:
    """Log-mel image of one segment (what the CNN-LSTM sees)."""
    t = np.arange(logmel.shape[1]) * hop_length / sample_rate
    fig = _fig(title=f"Log-mel, segment {segment + 1}", height=360, xaxis_title="time in segment (s)",
               yaxis_title="mel band")
    fig.add_trace(go.Heatmap(z=logmel, x=t, colorscale=LOGMEL_COLORSCALE, zmin=-80, zmax=0,
                             colorbar=dict(title="dB", thickness=12)))
    return fig


def balance_figure(before: dict[str, int], after: dict[str, int], sampler_label: str, title: str) -> go.Figure:
    """Segments per emotion before and after oversampling, side by side."""
    fig = _fig(title=title, height=380, barmode="group", yaxis_title="segments",
               legend=dict(orientation="h", x=1, xanchor="right", y=1.0, yanchor="bottom"))
    fig.add_trace(go.Bar(x=LABELS, y=[before[e] for e in EMOTIONS], name="before",
                         marker_color=[EMOTION_COLORS[e] for e in EMOTIONS], opacity=0.45))
    fig.add_trace(go.Bar(x=LABELS, y=[after[e] for e in EMOTIONS], name=f"after {sampler_label}",
                         marker_color=[EMOTION_COLORS[e] for e in EMOTIONS]))
    return fig


def tracks_figure(tracks: dict[str, int]) -> go.Figure:
    fig = _fig(title="Tracks per dominant emotion (whole corpus)", height=380, yaxis_title="tracks", showlegend=False)
    fig.add_trace(go.Bar(x=LABELS, y=[tracks[e] for e in EMOTIONS], marker_color=[EMOTION_COLORS[e] for e in EMOTIONS],
                         text=[tracks[e] for e in EMOTIONS], textposition="outside"))
    return fig


def pca_figure(df: pd.DataFrame, emotion: str) -> go.Figure:
    """PCA of the training fold: one emotion's real (dots) and synthetic (crosses) samples over every other
    sample (grey), so that where the synthetic ones fall reads at a glance; three legend entries."""
    ev = df.attrs.get("explained", [0, 0])
    label = emotion_label(emotion)
    fig = _fig(title=f"Real and synthetic samples of {label} (PCA of the training fold)",
               xaxis_title=f"PC1 ({ev[0]:.0%} of variance)", yaxis_title=f"PC2 ({ev[1]:.0%})")
    rest = df[df["emotion"] != emotion]
    fig.add_trace(go.Scattergl(x=rest["pc1"], y=rest["pc2"], mode="markers", name="the other emotions",
                               marker=dict(color="#b0bec5", size=4, opacity=0.5)))
    for kind, symbol, opacity in (("real", "circle", 0.8), ("synthetic", "x", 0.6)):
        part = df[(df["emotion"] == emotion) & (df["kind"] == kind)]
        fig.add_trace(go.Scattergl(x=part["pc1"], y=part["pc2"], mode="markers", name=f"{label} ({kind}, {len(part):,})",
                                   marker=dict(color=EMOTION_COLORS[emotion], symbol=symbol, size=6,
                                               opacity=opacity)))
    fig.update_layout(**_legend_below(len(fig.data), per_row=1, plot_height=430))  # a row each: long names fit
    return fig


def genre_figure(table: pd.DataFrame) -> go.Figure:
    fig = _fig(title="Genre × dominant emotion (tracks)", height=300)
    fig.add_trace(go.Heatmap(z=table.to_numpy(), x=[emotion_label(c) for c in table.columns],
                             y=[escape_html(g) for g in table.index],
                             colorscale="Blues", text=table.to_numpy(), texttemplate="%{text}", showscale=False))
    return fig


def agreement_figure(agreement: pd.Series) -> go.Figure:
    fig = _fig(title="Listener agreement: share who ticked the dominant emotion", height=300,
               xaxis=dict(title="share of listeners", range=[0, 1]), yaxis_title="tracks", showlegend=False)
    fig.add_trace(go.Histogram(x=agreement.to_numpy(), xbins=dict(start=0, end=1, size=0.05), marker_color="#546e7a"))
    return fig


def confusion_figure(confusion: list[list[int]], title: str) -> go.Figure:
    cm = np.asarray(confusion, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig = _fig(title=title, height=460, xaxis=dict(title="predicted"), yaxis=dict(title="true", autorange="reversed"))
    fig.add_trace(go.Heatmap(z=share, x=LABELS, y=LABELS, colorscale="Blues", zmin=0, zmax=1,
                             text=cm.astype(int), texttemplate="%{text}", colorbar=dict(title="row share", thickness=12)))
    return fig


#: On the per-class chart: each recall bar's width, and how far right of its centre the F1 marker sits (both in
#: category widths), so the marker stands beside the bar and its label instead of on top of them.
PER_CLASS_BAR_WIDTH, F1_OFFSET = 0.55, 0.4


def per_class_figure(per_class: dict[str, Any], title: str = "Recall and F1 per emotion (tracks)") -> go.Figure:
    """Recall (bars, labelled) and F1 (markers beside each bar) per emotion from
    :class:`mer.training.evaluate.ClassScore` values; support on hover."""
    at = np.arange(len(EMOTIONS), dtype=float)
    fig = _fig(title=title, height=340, yaxis=dict(range=[0, 1.05], title="score"), legend=dict(orientation="h", y=-0.3),
               xaxis=dict(tickvals=at, ticktext=LABELS, range=[-0.5, len(EMOTIONS) - 0.5]))
    recall = [per_class[e].recall for e in EMOTIONS]
    fig.add_trace(go.Bar(x=at, y=recall, name="recall", marker_color=[EMOTION_COLORS[e] for e in EMOTIONS],
                         width=PER_CLASS_BAR_WIDTH, text=[f"{r:.2f}" for r in recall], textposition="outside",
                         customdata=[[label, per_class[e].support] for label, e in zip(LABELS, EMOTIONS)],
                         hovertemplate="%{customdata[0]}: recall %{y:.2f} of %{customdata[1]} tracks<extra></extra>"))
    fig.add_trace(go.Scatter(x=at + F1_OFFSET, y=[per_class[e].f1 for e in EMOTIONS], name="F1", mode="markers",
                             marker=dict(color="#212121", size=8, symbol="diamond"), customdata=LABELS,
                             hovertemplate="%{customdata}: F1 %{y:.2f}<extra></extra>"))
    return fig


def ladder_figure(groups: dict[str, list[Any]], *, baseline: float | None = None,
                  published: float | None = None) -> go.Figure:
    """The leakage ladder: per protocol (most leaky first), one bar per family.

    ``groups`` maps a family's label to its :class:`mer.training.evaluate.Rung` list, in protocol order.
    ``published``: the study's reported accuracy, drawn as a reference line.
    """
    colors = ["#b71c1c", "#1565c0", "#2e7d32", "#6a1b9a"]
    title = f"{'Two networks' if len(groups) > 1 else 'One network'}, one dataset, three protocols"
    fig = _fig(title=title, height=420, barmode="group", showlegend=True,
               yaxis=dict(range=[0, 1.08], title="test accuracy", tickformat=".0%"),
               legend=dict(orientation="h", y=-0.2))
    for (label, rungs), color in zip(groups.items(), colors):
        # each figure inside its bar's top, so that no line drawn across the chart runs through it
        fig.add_trace(go.Bar(x=[f"{escape_html(r.protocol)}<br>({escape_html(r.unit)}s)" for r in rungs],
                             y=[r.accuracy for r in rungs], name=escape_html(label), marker_color=color,
                             text=[f"{r.accuracy:.1%}" for r in rungs], textposition="inside",
                             insidetextanchor="end", textfont=dict(color="white"),
                             hovertext=[escape_html(f"{label}: {r.description}") for r in rungs],
                             hoverinfo="text"))
    if published is not None:
        fig.add_hline(y=published, line_dash="dash", line_color="#212121", layer="below",
                      annotation_text=f"the study's published {published:.1%}", annotation_position="top right")
    if baseline is not None:  # named in the legend: a label on the line sat on the bars' figures
        fig.add_hline(y=baseline, line_dash="dot", line_color="#616161", layer="below")
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(dash="dot", color="#616161"),
                                 name=f"always the most common emotion (majority baseline): {baseline:.1%}"))
    return fig


def cv_figure(names: list[str], accuracy: list[float], agreement: list[float],
              ceiling: float | None = None) -> go.Figure:
    """Cross-validated track accuracy and listener agreement of the model beside its baselines.

    ``ceiling``: the best track accuracy the labels allow (Emotify's is about 0.69), drawn as a line.
    """
    names = [escape_html(n) for n in names]
    # horizontal bars: the models' names read across at any width (upright, never rotated or cut)
    fig = _fig(title="Cross-validated, grouped by track", height=120 + 52 * len(names), barmode="group",
               xaxis=dict(range=[0, 1], title="score", tickformat=".0%"), yaxis=dict(autorange="reversed"),
               legend=dict(orientation="h", y=-0.25), margin=dict(l=10, r=30, t=40, b=10))
    fig.add_trace(go.Bar(y=names, x=accuracy, name="track accuracy", marker_color="#1565c0", orientation="h",
                         text=[f"{a:.1%}" for a in accuracy], textposition="outside"))
    fig.add_trace(go.Bar(y=names, x=agreement, name="listener agreement", marker_color="#90a4ae", orientation="h",
                         text=[f"{a:.2f}" for a in agreement], textposition="outside"))
    if ceiling is not None:
        fig.add_vline(x=ceiling, line_dash="dot", line_color="#2e7d32",
                      annotation_text=f"ceiling ≈ {ceiling:.0%} (noisy labels)", annotation_position="top")
    return fig


def history_figure(history: list[Any], title: str = "Learning curves") -> go.Figure:
    """Train and validation loss (left axis) and validation accuracy (right axis) per epoch."""
    ep = [h.epoch for h in history]
    fig = _fig(title=escape_html(title), height=340, xaxis_title="epoch", yaxis=dict(title="loss", tickformat=".2f"),
               yaxis2=dict(title="validation accuracy", overlaying="y", side="right", range=[0, 1], tickformat=".0%",
                           dtick=0.2),
               legend=dict(orientation="h", y=-0.3))
    fig.add_trace(go.Scatter(x=ep, y=[h.train_loss for h in history], name="train loss", line=dict(color="#1565c0")))
    fig.add_trace(go.Scatter(x=ep, y=[h.val_loss for h in history], name="validation loss", line=dict(color="#ef6c00")))
    fig.add_trace(go.Scatter(x=ep, y=[h.val_accuracy for h in history], name="validation accuracy (tracks)",
                             yaxis="y2", line=dict(color="#2e7d32", dash="dot")))
    return fig


def plane_map_figure(counts: np.ndarray, edges: np.ndarray, points: np.ndarray | None = None,
                     names: list[str] | None = None) -> go.Figure:
    """The library map on the learned valence–arousal plane: tracks per cell as a density (log scale, its colour
    bar ticked 1, 2, 5, 10 …), the quadrants named at the corners, and ``points`` ``(k, 2)`` (valence, arousal) on
    top, joined in order and numbered (a journey, or one selected track; NaN rows left as gaps; ``names`` escaped
    here). The whole plane stays in view: its quarters are what it says."""
    from .valence import CLEAR, QUADRANTS

    mid = (edges[:-1] + edges[1:]) / 2
    fig = _fig(title="The library map: where the tracks lie on the valence–arousal plane", height=560,
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
    fig.update_layout(**{**_LAYOUT, "title": "The library's emotions (top emotion per track)", "height": 360,
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
    below = _legend_below(len(fig.data), per_row=3, plot_height=max(210, 10 + 28 * len(shares)))
    below["legend"]["traceorder"] = "normal"  # Emotify's order, as everywhere else (a stacked chart reverses it)
    fig.update_layout(**{**_LAYOUT, **below, "title": f"Emotion by {escape_html(by)}", "barmode": "stack",
                         "xaxis": dict(title="share of tracks", range=[0, 1])})
    return fig


def journey_figure(probabilities: np.ndarray, names: list[str]) -> go.Figure:
    """A journey's steps as a path over the emotions: a steps × 9 heatmap of each track's probabilities, its top
    emotion marked and joined step to step (``names``: the tracks' file names, escaped here for the hover)."""
    n = len(probabilities)
    x = [f"{i + 1}" for i in range(n)]
    top = probabilities.argmax(axis=1)
    hover = [[f"step {j + 1}: {escape_html(names[j])}<br>{LABELS[i]}: {probabilities[j, i]:.2f}" for j in range(n)]
             for i in range(len(EMOTIONS))]
    fig = _fig(title="The journey, step by step (each track's emotion probabilities)", height=390,
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
    fig = _fig(title="The library map: where the tracks lie between the nine emotions", height=520,
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
