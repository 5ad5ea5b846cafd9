"""The Analyze page's figures: the waveform and its segments, what MusiCNN hears, the valence–arousal path,
two tracks side by side, a segment's spectrum and its log-mel image."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..emotions import EMOTIONS, emotion_label
from ..text import escape_html
from .common import EMOTION_COLORS, LABELS, figure, time_axis

__all__ = ["waveform_figure", "taggram_figure", "circumplex_figure", "PAIR_COLORS", "paired_bars_figure",
           "circumplex_pair_figure", "FREQUENCY_TICKS", "hertz", "spectrum_figure", "LOGMEL_COLORSCALE",
           "logmel_figure"]


def waveform_figure(waveform: Any, boundaries_s: np.ndarray, top: list[str] | None = None) -> go.Figure:
    """A waveform's min/max envelope (:class:`mer.analyze.Envelope`) with the segment boundaries as lines.

    Segments are shaded in the colour of their top emotion when ``top`` is given.
    """
    t = waveform.times_s
    fig = figure(title="Waveform and the 20 segments", height=230, showlegend=False,
                xaxis=time_axis(waveform.duration_s), yaxis=dict(range=[-1, 1], title="amplitude"))
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


def taggram_figure(tags: np.ndarray, names: list[str], start_s: np.ndarray, end_s: np.ndarray,
                   top: int = 12) -> go.Figure:
    """What the pretrained tagger hears per segment: its ``top`` tags (by mean over the track) × segments."""
    n = len(tags)
    keep = np.argsort(tags.mean(axis=0))[::-1][:top]
    x = (np.asarray(start_s, dtype=float) + np.asarray(end_s, dtype=float)) / 2
    hover = [[f"segment {j + 1} ({start_s[j]:.1f}–{end_s[j]:.1f} s)<br>{escape_html(names[k])}: {tags[j, k]:.2f}"
              for j in range(n)] for k in keep]
    fig = figure(title="What the CNN hears: MusiCNN's tags per segment (the tagger's output, not emotions)",
                height=360, xaxis=time_axis(float(end_s[-1])), yaxis=dict(autorange="reversed"))
    fig.add_trace(go.Heatmap(z=tags[:, keep].T, x=x, y=[escape_html(names[k]) for k in keep], colorscale="Greens", zmin=0,
                             zmax=max(0.5, float(tags[:, keep].max())), text=hover, hoverinfo="text",
                             colorbar=dict(title="p", thickness=12)))
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
    from ..valence import CLEAR, QUADRANTS

    n = len(path.valence)
    fig = figure(title="Valence and arousal, segment by segment",
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
    fig = figure(title="The nine emotions, track by track", height=470, barmode="group",
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
    fig = figure(title="FFT spectrum", height=360, yaxis_title="magnitude (dB re full scale)",
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
    fig = figure(title=f"Log-mel, segment {segment + 1}", height=360, xaxis_title="time in segment (s)",
                yaxis_title="mel band")
    fig.add_trace(go.Heatmap(z=logmel, x=t, colorscale=LOGMEL_COLORSCALE, zmin=-80, zmax=0,
                             colorbar=dict(title="dB", thickness=12)))
    return fig
