"""The Dataset page's figures: the corpus before and after oversampling, tracks per emotion, the PCA of its
features, genre × emotion, and how far listeners agree."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ..emotions import EMOTIONS, emotion_label
from ..text import escape_html
from .common import EMOTION_COLORS, LABELS, figure, legend_below

__all__ = ["balance_figure", "tracks_figure", "pca_figure", "genre_figure", "agreement_figure"]


def balance_figure(before: dict[str, int], after: dict[str, int], sampler_label: str, title: str) -> go.Figure:
    """Segments per emotion before and after oversampling, side by side."""
    fig = figure(title=title, height=380, barmode="group", yaxis_title="segments",
                legend=dict(orientation="h", x=1, xanchor="right", y=1.0, yanchor="bottom"))
    fig.add_trace(go.Bar(x=LABELS, y=[before[e] for e in EMOTIONS], name="before",
                         marker_color=[EMOTION_COLORS[e] for e in EMOTIONS], opacity=0.45))
    fig.add_trace(go.Bar(x=LABELS, y=[after[e] for e in EMOTIONS], name=f"after {sampler_label}",
                         marker_color=[EMOTION_COLORS[e] for e in EMOTIONS]))
    return fig


def tracks_figure(tracks: dict[str, int]) -> go.Figure:
    fig = figure(title="Tracks per dominant emotion (whole corpus)", height=380, yaxis_title="tracks", showlegend=False)
    fig.add_trace(go.Bar(x=LABELS, y=[tracks[e] for e in EMOTIONS], marker_color=[EMOTION_COLORS[e] for e in EMOTIONS],
                         text=[tracks[e] for e in EMOTIONS], textposition="outside"))
    return fig


def pca_figure(df: pd.DataFrame, emotion: str) -> go.Figure:
    """PCA of the training fold: one emotion's real (dots) and synthetic (crosses) samples over every other
    sample (grey), so that where the synthetic ones fall reads at a glance; three legend entries."""
    ev = df.attrs.get("explained", [0, 0])
    label = emotion_label(emotion)
    fig = figure(title=f"Real and synthetic samples of {label} (PCA of the training fold)",
                xaxis_title=f"PC1 ({ev[0]:.0%} of variance)", yaxis_title=f"PC2 ({ev[1]:.0%})")
    rest = df[df["emotion"] != emotion]
    fig.add_trace(go.Scattergl(x=rest["pc1"], y=rest["pc2"], mode="markers", name="the other emotions",
                               marker=dict(color="#b0bec5", size=4, opacity=0.5)))
    for kind, symbol, opacity in (("real", "circle", 0.8), ("synthetic", "x", 0.6)):
        part = df[(df["emotion"] == emotion) & (df["kind"] == kind)]
        fig.add_trace(go.Scattergl(x=part["pc1"], y=part["pc2"], mode="markers", name=f"{label} ({kind}, {len(part):,})",
                                   marker=dict(color=EMOTION_COLORS[emotion], symbol=symbol, size=6,
                                               opacity=opacity)))
    fig.update_layout(**legend_below(len(fig.data), per_row=1, plot_height=430))  # a row each: long names fit
    return fig


def genre_figure(table: pd.DataFrame) -> go.Figure:
    fig = figure(title="Genre × dominant emotion (tracks)", height=300)
    fig.add_trace(go.Heatmap(z=table.to_numpy(), x=[emotion_label(c) for c in table.columns],
                             y=[escape_html(g) for g in table.index],
                             colorscale="Blues", text=table.to_numpy(), texttemplate="%{text}", showscale=False))
    return fig


def agreement_figure(agreement: pd.Series) -> go.Figure:
    fig = figure(title="Listener agreement: share who ticked the dominant emotion", height=300,
                xaxis=dict(title="share of listeners", range=[0, 1]), yaxis_title="tracks", showlegend=False)
    fig.add_trace(go.Histogram(x=agreement.to_numpy(), xbins=dict(start=0, end=1, size=0.05), marker_color="#546e7a"))
    return fig
