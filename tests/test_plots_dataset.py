"""The Dataset page's figures (mer.plots.dataset): the PCA of real and synthetic points."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mer.emotions import EMOTIONS
from mer.plots.dataset import pca_figure

from .helpers import legend_in_bottom_margin


def test_the_pca_shows_one_emotion_over_the_others_with_a_legend_of_three_below_the_plot():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"pc1": rng.normal(size=180), "pc2": rng.normal(size=180),
                       "emotion": np.repeat(list(EMOTIONS), 20), "kind": np.tile(["real", "synthetic"], 90)})
    fig = pca_figure(df, "sadness")
    assert [t.name for t in fig.data] == ["the other emotions", "sadness (real, 10)", "sadness (synthetic, 10)"]
    assert len(fig.data[0].x) == 160  # every sample of the other eight emotions, in grey
    legend_in_bottom_margin(fig, rows=3)  # three entries, a row each: the longest name fits a narrow chart

