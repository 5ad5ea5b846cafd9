"""Charts as inline SVG for the HTML report: no script, a few kilobytes each, the same at any screen width and
in print.

The app's charts are Plotly's; a report that embedded plotly.js weighed 5 MB, too much for an email. These draw
what a reader of the report needs (the timeline, the whole track's nine probabilities, the waveform, a path in
a plane, MusiCNN's tags) in the app's colours and with its time axis (:func:`mer.plots.common.time_ticks`). Every text
that comes from data is escaped here.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
from plotly.colors import sample_colorscale

from .emotions import EMOTIONS
from .plots.common import EMOTION_COLORS, clock, time_ticks

__all__ = ["heatmap_svg", "bars_svg", "waveform_svg", "plane_svg", "WIDTH"]

#: Every chart's width in SVG units; the page scales it to the column (``width: 100%``).
WIDTH = 900
def _font(size: int = 12, fill: str = "#37474f") -> str:
    """A text's font attributes, each once (a repeated attribute makes the SVG malformed; HTML keeps the first)."""
    return f'font-family="system-ui, sans-serif" font-size="{size}" fill="{fill}"'


_FONT = _font()


def _svg(height: float, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" role="img" '
            f'aria-label="{html.escape(title)}" style="max-width:{WIDTH}px;display:block;margin:1em 0">'
            f'<text x="0" y="16" {_font(15)} font-weight="600">{html.escape(title)}</text>'
            + "".join(body) + "</svg>")


def _time_axis(x0: float, x1: float, y: float, duration_s: float) -> list[str]:
    """Round time ticks (0:00, 0:30 …) under a plot spanning ``x0``..``x1`` for ``duration_s``."""
    out = [f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" stroke="#90a4ae"/>']
    for t, label in zip(*time_ticks(duration_s)):
        x = x0 + (x1 - x0) * t / max(duration_s, 1e-9)
        out.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y + 4:.1f}" stroke="#90a4ae"/>'
                   f'<text x="{x:.1f}" y="{y + 17:.1f}" text-anchor="middle" {_FONT}>{label}</text>')
    return out


def heatmap_svg(values: np.ndarray, rows: Sequence[str], start_s: np.ndarray, end_s: np.ndarray, *, title: str,
                colorscale: str = "Blues", zmax: float | None = None, marks: np.ndarray | None = None) -> str:
    """A rows × segments heatmap of ``values`` ``(segments, rows)`` on a time axis, its scale from 0 to ``zmax``
    (the largest value, rounded up to a tenth, at least 0.3), each segment's ``marks`` row (its top) ringed."""
    n, k = values.shape
    left, right, top, row_h = 150, 70, 30, 22
    x0, x1, bottom = left, WIDTH - right, top + k * row_h
    duration = float(end_s[-1])
    zmax = zmax if zmax is not None else max(0.3, float(np.ceil(values.max() * 10) / 10))
    colours = sample_colorscale(colorscale, list(np.clip(values.T.ravel() / zmax, 0, 1)))
    body = []
    for i in range(k):
        y = top + i * row_h
        body.append(f'<text x="{left - 6}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" {_FONT}>'
                    f'{html.escape(rows[i])}</text>')
        for j in range(n):
            a, b = (x0 + (x1 - x0) * t / duration for t in (start_s[j], end_s[j]))
            body.append(f'<rect x="{a:.1f}" y="{y}" width="{b - a + 0.3:.1f}" height="{row_h}" '
                        f'fill="{colours[i * n + j]}"><title>{html.escape(rows[i])}, {clock(start_s[j])}–'
                        f'{clock(end_s[j])}: {values[j, i]:.2f}</title></rect>')
    if marks is not None:
        for j, i in enumerate(marks):
            cx = x0 + (x1 - x0) * (start_s[j] + end_s[j]) / 2 / duration
            body.append(f'<circle cx="{cx:.1f}" cy="{top + (i + 0.5) * row_h:.1f}" r="6" fill="none" '
                        f'stroke="{EMOTION_COLORS.get(EMOTIONS[i], "#212121") if k == len(EMOTIONS) else "#212121"}" '
                        'stroke-width="2.5"/>')
    for s, label in ((0.0, "0"), (1.0, f"{zmax:.1f}")):  # the scale, as a bar beside the plot
        body.append(f'<text x="{x1 + 34}" y="{bottom - s * (bottom - top) + (12 if s == 0 else 0):.1f}" {_FONT}>'
                    f'{label}</text>')
    stops = "".join(f'<stop offset="{s:.2f}" stop-color="{c}"/>'
                    for s, c in zip(np.linspace(0, 1, 6), sample_colorscale(colorscale, list(np.linspace(1, 0, 6)))))
    gid = f"scale-{colorscale}"
    body.append(f'<defs><linearGradient id="{gid}" x1="0" y1="0" x2="0" y2="1">{stops}</linearGradient></defs>'
                f'<rect x="{x1 + 12}" y="{top}" width="14" height="{bottom - top}" fill="url(#{gid})"/>')
    body += _time_axis(x0, x1, bottom, duration)
    return _svg(bottom + 26, body, title)


def bars_svg(values: np.ndarray, labels: Sequence[str], colors: Sequence[str], *, title: str) -> str:
    """Horizontal bars of ``values`` in [0, 1], largest first, each labelled with its value."""
    order = np.argsort(values)[::-1]
    left, top, row_h, width = 150, 30, 22, WIDTH - 150 - 60
    body = []
    for r, i in enumerate(order):
        y = top + r * row_h
        w = width * float(np.clip(values[i], 0, 1))
        body.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" {_FONT}>{html.escape(labels[i])}</text>'
                    f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colors[i]}"/>'
                    f'<text x="{left + w + 5:.1f}" y="{y + 15}" {_FONT}>{values[i]:.2f}</text>')
    return _svg(top + len(values) * row_h + 8, body, title)


def waveform_svg(times_s: np.ndarray, low: np.ndarray, high: np.ndarray, duration_s: float,
                 boundaries_s: np.ndarray, top: Sequence[str] | None = None, *, points: int = 600,
                 title: str = "Waveform and the 20 segments") -> str:
    """A waveform's min/max envelope at most ``points`` wide (kilobytes whatever the track's length), its segments
    shaded in the colour of their top emotion."""
    step = max(1, int(np.ceil(len(times_s) / points)))
    cut = len(times_s) // step * step or len(times_s)
    t = times_s[:cut].reshape(-1, step).mean(axis=1) if cut >= step else times_s
    hi = high[:cut].reshape(-1, step).max(axis=1) if cut >= step else high
    lo = low[:cut].reshape(-1, step).min(axis=1) if cut >= step else low
    left, right, y0, h = 40, 20, 30, 120
    x0, x1, mid = left, WIDTH - right, y0 + h / 2
    x = x0 + (x1 - x0) * t / max(duration_s, 1e-9)
    body = []
    edges = np.append(boundaries_s, duration_s)
    for i in range(len(boundaries_s)):
        a, b = (x0 + (x1 - x0) * e / duration_s for e in (edges[i], edges[i + 1]))
        fill = EMOTION_COLORS[top[i]] if top is not None else "#eceff1"
        body.append(f'<rect x="{a:.1f}" y="{y0}" width="{b - a:.1f}" height="{h}" fill="{fill}" opacity="0.18"/>'
                    f'<line x1="{a:.1f}" y1="{y0}" x2="{a:.1f}" y2="{y0 + h}" stroke="#90a4ae" '
                    'stroke-dasharray="2,2"/>')
    outline = [f"{a:.1f},{mid - v * h / 2:.1f}" for a, v in zip(x, np.clip(hi, -1, 1))]
    outline += [f"{a:.1f},{mid - v * h / 2:.1f}" for a, v in zip(x[::-1], np.clip(lo[::-1], -1, 1))]
    body.append(f'<polygon points="{" ".join(outline)}" fill="#37474f"/>')
    body += _time_axis(x0, x1, y0 + h, duration_s)
    return _svg(y0 + h + 26, body, title)


def plane_svg(x: np.ndarray, y: np.ndarray, star: tuple[float, float], *, title: str, x_title: str, y_title: str,
              anchors: dict[str, tuple[float, float, int]] | None = None,
              corner_labels: dict[tuple[bool, bool], str] | None = None, clear: float | None = None) -> str:
    """A path of points in the plane [-1, 1]² joined in order (light to dark) and a star for the whole; with
    ``anchors`` (emotion → x, y, count) each emotion at its measured place; ``corner_labels`` names each quarter
    and ``clear`` shades the square about the centre where no quarter is named ("no clear mood")."""
    size, pad, top = 420, 40, 30
    cx, cy, r = WIDTH / 2, top + pad + size / 2, size / 2 / 1.1

    def at(u: float, v: float) -> tuple[float, float]:
        return cx + u * r, cy - v * r

    body = [f'<line x1="{cx - 1.1 * r}" y1="{cy}" x2="{cx + 1.1 * r}" y2="{cy}" stroke="#b0bec5"/>',
            f'<line x1="{cx}" y1="{cy - 1.1 * r}" x2="{cx}" y2="{cy + 1.1 * r}" stroke="#b0bec5"/>',
            f'<text x="{cx}" y="{cy + 1.1 * r + 28}" text-anchor="middle" {_FONT}>{html.escape(x_title)}</text>',
            f'<text x="{cx - 1.1 * r - 12}" y="{cy}" text-anchor="end" {_FONT}>{html.escape(y_title)}</text>']
    if clear is not None:
        (a, b), side = at(-clear, clear), 2 * clear * r
        body.insert(0, f'<rect x="{a:.1f}" y="{b:.1f}" width="{side:.1f}" height="{side:.1f}" fill="#eceff1" '
                       f'stroke="#cfd8dc" stroke-dasharray="3,3"/><text x="{cx}" y="{b + side + 13:.1f}" '
                       f'text-anchor="middle" {_font(11, "#90a4ae")}>no clear mood</text>')
    for (right, up), name in (corner_labels or {}).items():
        u, v = at(1.05 if right else -1.05, 1.0 if up else -1.05)
        body.append(f'<text x="{u:.1f}" y="{v:.1f}" text-anchor="{"end" if right else "start"}" '
                    f'{_font(fill="#78909c")}>{html.escape(name)}</text>')
    for e in [e for e in EMOTIONS if anchors and e in anchors]:
        px, py = at(*anchors[e][:2])
        body.append(f'<rect x="{px - 4:.1f}" y="{py - 4:.1f}" width="8" height="8" fill="{EMOTION_COLORS[e]}" '
                    f'transform="rotate(45 {px:.1f} {py:.1f})"/><text x="{px:.1f}" y="{py - 9:.1f}" '
                    f'text-anchor="middle" {_font(11)}>{html.escape(e.replace("_", " "))}</text>')
    pts = [at(u, v) for u, v in zip(x, y)]
    body.append(f'<polyline points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in pts)}" fill="none" stroke="#90a4ae" '
                'stroke-width="1.5"/>')
    shades = sample_colorscale("Blues", list(np.linspace(0.3, 1.0, max(len(pts), 1))))
    body += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="4.5" fill="{c}" stroke="#37474f" stroke-width="0.8"/>'
             for (a, b), c in zip(pts, shades)]
    sx, sy = at(*star)
    spikes = [(sx + rr * np.sin(k * np.pi / 5), sy - rr * np.cos(k * np.pi / 5))
              for k, rr in zip(range(10), [9, 4] * 5)]
    body.append(f'<polygon points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in spikes)}" fill="#212121"/>')
    return _svg(cy + 1.1 * r + 40, body, title)
