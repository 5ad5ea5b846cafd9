"""What every figure shares: one colour per emotion, the readable labels, the layout, a legend below the
plot, and round time ticks (:func:`time_ticks`, the HTML report's too)."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..emotions import EMOTIONS, emotion_label

__all__ = ["EMOTION_COLORS", "LABELS", "LAYOUT", "XAXIS_ROOM_PX", "LEGEND_ROW_PX", "legend_below", "figure", "clock",
           "time_ticks", "time_axis"]

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

LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=40, b=10), font=dict(size=13))


#: A legend below a chart gets its own rows in the bottom margin, just under the x axis's tick labels and title
#: (``XAXIS_ROOM_PX``), one ``LEGEND_ROW_PX`` per row of entries: it never covers the axis title, and never
#: scrolls an entry out of view as a tall legend beside the plot does.
XAXIS_ROOM_PX = 60
LEGEND_ROW_PX = 24


def legend_below(entries: int, per_row: int, plot_height: int, lines: int = 1) -> dict[str, Any]:
    """Layout of a figure whose horizontal legend lies in its bottom margin, under the x axis's title.

    Entries take a fixed share of the plot's width, ``per_row`` to a row; an entry is a legend group of
    ``lines`` lines. The margin holds the rows of a narrow chart too, where a long name pushes an entry to the
    next row (one fewer to a row): the legend hangs from the top of the margin, so the spare room is at the
    figure's foot, never over the axis title. Gives ``height``, ``margin`` (its ``b``) and ``legend``.
    """
    rows = max(1, -(-entries // max(per_row - 1, 1))) * lines
    bottom = XAXIS_ROOM_PX + rows * LEGEND_ROW_PX + 10
    height = plot_height + LAYOUT["margin"]["t"] + bottom
    legend = dict(orientation="h", yref="container", y=round((bottom - XAXIS_ROOM_PX) / height, 4), yanchor="top",
                  x=0, xanchor="left", entrywidthmode="fraction", entrywidth=round(0.8 / per_row, 3),
                  font=dict(size=12))
    return {"height": height, "margin": {**LAYOUT["margin"], "b": bottom}, "legend": legend}


def figure(**layout: Any) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(**{**LAYOUT, **layout})
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


def time_axis(duration_s: float, title: str = "time (minutes:seconds)") -> dict[str, Any]:
    values, labels = time_ticks(duration_s)
    return dict(title=title, tickmode="array", tickvals=values, ticktext=labels, range=[0, duration_s],
                showgrid=False, zeroline=False)
