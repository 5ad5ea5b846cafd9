"""The Model and Train pages' figures (mer.plots.model): the ladder, per-class scores, learning curves."""

from __future__ import annotations

import numpy as np

from mer.emotions import EMOTIONS, emotion_label


def test_the_ladders_figures_sit_inside_their_bars_and_the_majority_line_is_named_in_the_legend():
    from mer.plots.model import ladder_figure
    from mer.results import Rung

    rungs = [Rung("study", "segment", 0.854, 2700, "s"), Rung("track", "track", 0.184, 320, "t")]
    fig = ladder_figure({"study": rungs}, baseline=0.234, published=0.947)
    assert fig.data[0].textposition == "inside" and list(fig.data[0].text) == ["85.4%", "18.4%"]
    assert not [a for a in fig.layout.annotations if "majority" in a.text]  # no label on the line itself
    assert fig.data[-1].name == "always the most common emotion (majority baseline): 23.4%"


def test_per_class_f1_markers_stand_beside_the_recall_bars_and_their_labels():
    from mer.plots.model import PER_CLASS_BAR_WIDTH, per_class_figure

    score = type("Score", (), {"recall": 0.5, "f1": 0.52, "support": 4})  # F1 just above recall: the old overlap
    fig = per_class_figure({e: score for e in EMOTIONS})
    bars, f1 = fig.data
    assert list(fig.layout.xaxis.ticktext) == [emotion_label(e) for e in EMOTIONS]
    gaps = np.asarray(f1.x) - np.asarray(bars.x)
    assert np.all(gaps > PER_CLASS_BAR_WIDTH / 2) and np.all(gaps < 0.5)  # right of its bar, before the next one
    assert list(bars.text) == ["0.50"] * 9 and bars.textposition == "outside"


def test_learning_curve_axes_read_as_round_numbers():
    from mer.plots.model import history_figure
    from mer.progress import Epoch

    history = [Epoch(stage="fold 1/5", epoch=i, epochs=3, train_loss=2.1 - i / 10, val_loss=1.9 - i / 10,
                     val_accuracy=0.242, lr=1e-3, seconds=1.0, best_epoch=i, early_stop=False) for i in range(1, 4)]

    fig = history_figure(history)
    assert fig.layout.yaxis2.tickformat == ".0%" and fig.layout.yaxis2.dtick == 0.2  # 20 %, 40 %…, never 0.242
    assert fig.layout.yaxis.tickformat == ".2f"

