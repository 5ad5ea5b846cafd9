"""The Model and Train pages' figures: the confusion matrix, recall and F1 per emotion, the leakage ladder, the
cross-validated accuracy beside the baselines, and learning curves."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..emotions import EMOTIONS
from ..text import escape_html
from .common import EMOTION_COLORS, LABELS, figure

__all__ = ["confusion_figure", "PER_CLASS_BAR_WIDTH", "F1_OFFSET", "per_class_figure", "ladder_figure", "cv_figure",
           "history_figure"]


def confusion_figure(confusion: list[list[int]], title: str) -> go.Figure:
    cm = np.asarray(confusion, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig = figure(title=title, height=460, xaxis=dict(title="predicted"), yaxis=dict(title="true", autorange="reversed"))
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
    fig = figure(title=title, height=340, yaxis=dict(range=[0, 1.05], title="score"), legend=dict(orientation="h", y=-0.3),
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
    fig = figure(title=title, height=420, barmode="group", showlegend=True,
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
    fig = figure(title="Cross-validated, grouped by track", height=120 + 52 * len(names), barmode="group",
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
    fig = figure(title=escape_html(title), height=340, xaxis_title="epoch", yaxis=dict(title="loss", tickformat=".2f"),
                yaxis2=dict(title="validation accuracy", overlaying="y", side="right", range=[0, 1], tickformat=".0%",
                            dtick=0.2),
                legend=dict(orientation="h", y=-0.3))
    fig.add_trace(go.Scatter(x=ep, y=[h.train_loss for h in history], name="train loss", line=dict(color="#1565c0")))
    fig.add_trace(go.Scatter(x=ep, y=[h.val_loss for h in history], name="validation loss", line=dict(color="#ef6c00")))
    fig.add_trace(go.Scatter(x=ep, y=[h.val_accuracy for h in history], name="validation accuracy (tracks)",
                             yaxis="y2", line=dict(color="#2e7d32", dash="dot")))
    return fig
