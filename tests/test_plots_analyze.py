"""The Analyze page's figures (mer.plots.analyze): the spectra's frequency axis, the log-mel scale."""

from __future__ import annotations

import numpy as np
from plotly.colors import unlabel_rgb

from mer.plots.analyze import LOGMEL_COLORSCALE, logmel_figure


def test_the_frequency_axis_reads_in_hertz_and_kilohertz():
    from mer.plots.analyze import spectrum_figure

    freqs = np.linspace(0, 11_025, 1025)
    axis = spectrum_figure(freqs, np.zeros((2, 1025)), 0, None, np.zeros(2), np.ones(2)).layout.xaxis
    assert list(axis.ticktext) == ["20", "50", "100", "200", "500", "1k", "2k", "5k", "10k"]
    assert axis.type == "log" and list(axis.tickvals)[5] == 1000 and axis.title.text == "frequency (Hz)"


def test_the_log_mel_floor_is_the_darkest_colour_so_silence_looks_quiet():
    stops = [c for _, c in LOGMEL_COLORSCALE]
    assert all(c.startswith("rgb(") for c in stops)  # no "#000004": the browser drew it light pink
    luminance = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in map(unlabel_rgb, stops)]
    assert luminance[0] < 1 and luminance == sorted(luminance)  # black at the floor, brighter all the way up
    heat = logmel_figure(np.full((64, 10), -80.0), 22_050, 512, 0).data[0]
    assert heat.zmin == -80 and heat.colorscale[0][1] == "rgb(0, 0, 4)"

