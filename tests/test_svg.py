"""The report's charts (mer.svg): few points whatever the length, valid SVG, names as text."""

from __future__ import annotations

import numpy as np


def test_the_reports_waveform_is_a_few_hundred_points_whatever_the_length():
    from mer.analyze import envelope
    from mer.svg import waveform_svg

    rng = np.random.default_rng(0)
    w = envelope(rng.uniform(-1, 1, 600 * 8_000).astype(np.float32), 8_000)  # ten minutes: 2,000 blocks
    svg = waveform_svg(w.times_s, w.low, w.high, w.duration_s, np.arange(20) * 30.0, ["calmness"] * 20)
    outline = svg.split('<polygon points="')[1].split('"')[0].split()
    assert len(outline) <= 2 * 600 and len(svg.encode()) < 30_000
    assert ">10:00</text>" in svg and ">0:00</text>" in svg  # round ticks, the last at ten minutes


def _heatmap() -> str:
    from mer.svg import heatmap_svg

    values = np.linspace(0, 1, 4 * 3).reshape(4, 3)  # 4 segments × 3 rows
    return heatmap_svg(values, ["a<b>", "c & d", "e"], np.arange(4) * 15.0, np.arange(1, 5) * 15.0,
                       title="<script>x</script>", marks=np.array([2, 2, 1, 0]))


def test_a_heatmap_has_a_cell_per_segment_and_row_and_shows_names_as_text():
    import re

    svg = _heatmap()
    cells = re.findall(r"<rect [^>]*><title>([^<]*)</title></rect>", svg)
    assert len(cells) == 12 and svg.count("<circle ") == 4  # the top emotion of each segment ringed
    assert cells[0] == "a&lt;b&gt;, 0:00–0:15: 0.00" and cells[-1] == "e, 0:45–1:00: 1.00"
    assert "<script>" not in svg and "c &amp; d" in svg


def test_every_chart_is_well_formed_with_its_title_at_15_px():
    import xml.etree.ElementTree as ET

    from mer.svg import bars_svg, plane_svg, waveform_svg

    t = np.linspace(0, 30, 50)
    charts = [_heatmap(), bars_svg(np.array([0.2, 0.8]), ["a", "b"], ["#000", "#111"], title="Bars"),
              waveform_svg(t, -np.ones(50), np.ones(50), 30.0, np.arange(20) * 1.5, ["calmness"] * 20),
              plane_svg(np.array([0.1, -0.2]), np.array([0.3, 0.1]), (0.0, 0.2), title="Plane", x_title="valence",
                        y_title="arousal", anchors={"calmness": (0.3, -0.4, 10)},
                        corner_labels={(True, True): "excited"}, clear=0.3)]
    for svg in charts:
        root = ET.fromstring(svg)  # a repeated attribute (font-size twice) would not parse
        texts = [e for e in root.iter() if e.tag.endswith("text")]
        assert texts and all(e.get("font-family") for e in texts)
        if 'font-weight="600"' in svg:
            assert next(e for e in texts if e.get("font-weight") == "600").get("font-size") == "15"
