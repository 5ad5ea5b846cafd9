"""The model card (mer.card): the numbers it prints are the run's, names from files are escaped, and what it warns
about follows the data the model learnt from."""

from __future__ import annotations

import numpy as np
import pytest

from mer.card import CITATION, card_paragraph, model_card, precision_note, va_lines
from mer.config import DatasetInfo, ModelConfig, TrainConfig
from mer.results import CVReport, FoldReport, ModelMetrics, Rung
from mer.training.evaluate import score


def _cv() -> CVReport:
    """Two folds of 0.5 and 1.0 (pooled 0.75 of 4 tracks), and one baseline."""
    y = np.array([0, 1, 2, 2])
    pooled = score(y, y_pred=np.array([0, 1, 2, 0]))
    folds = [FoldReport(metrics=score(y[:2], y_pred=np.array([0, 0])), best_epoch=7),
             FoldReport(metrics=score(y[2:], y_pred=np.array([2, 2])), best_epoch=11)]
    return CVReport(pooled=pooled, folds=folds, baselines={"majority": score(y, y_pred=np.full(4, 2))}, n_folds=2,
                    seed=3, data="4 *tracks*")


@pytest.fixture
def metrics() -> ModelMetrics:
    ladder = {"study": Rung("study", "segment", 0.912, 80, "study: leaky"),
              "track": Rung("track", "track", 0.75, 4, "track: honest")}
    return ModelMetrics(cv=_cv(), ladder=ladder, best_epoch=9, seconds=90.0)


EMOTIFY = DatasetInfo("Emotify, 4 tracks", kind="emotify", fingerprint="abc123")
DEMO = DatasetInfo("the demo corpus", kind="demo")


def test_the_card_prints_the_cross_validation_and_the_ladder_of_the_run(metrics):
    card = model_card("default", EMOTIFY, TrainConfig(ship="folds"), ModelConfig(), metrics)
    assert "| **this CNN-LSTM** | **0.750** (folds 0.750 ± 0.250) |" in card
    assert "| majority | 0.500 |" in card and "2 folds grouped by track" in card and "(seed 3)" in card
    assert card.index("| study: leaky | 0.912 | segment |") < card.index("| track: honest | 0.750 | track |")
    assert "best epochs of the fold models 7, 11" in card and "the average of the 2 cross-validation" in card
    assert "Whole training command: 1.5 min." in card and "fingerprint `abc123`" in card
    # per-class recall only for the emotions the tracks hold
    recall = next(line for line in card.splitlines() if line.startswith("Per-class recall"))
    assert recall.count(",") == 2 and "0.50" in recall


def test_one_network_on_every_track_reports_its_own_best_epoch(metrics):
    card = model_card("default", EMOTIFY, TrainConfig(ship="all"), ModelConfig(), metrics)
    assert "one network trained on all tracks" in card and "best epoch 9;" in card


def test_without_cross_validation_the_card_says_so():
    card = model_card("quick", EMOTIFY, TrainConfig(ship="all"), ModelConfig(), ModelMetrics(cv=None))
    assert "No cross-validation was run for this model." in card and "leakage ladder" not in card


def test_names_and_descriptions_from_files_are_escaped(metrics):
    card = model_card("*my* [model](http://x)", DatasetInfo("# heading", kind="other"), TrainConfig(), ModelConfig(),
                      metrics)
    assert "*my*" not in card and "](http" not in card and "\n# heading" not in card
    assert r"\*my\*" in card and r"Cross-validated on 4 \*tracks\*" in card


def test_what_the_card_warns_about_follows_the_data(metrics):
    emotify = model_card("m", EMOTIFY, TrainConfig(), ModelConfig(), metrics)
    demo = model_card("m", DEMO, TrainConfig(), ModelConfig(), metrics)
    assert CITATION in emotify and "69 %" in emotify and "synthetic" not in emotify
    assert CITATION not in demo and "this model is not a model of human emotion" in demo
    other = card_paragraph("m", DatasetInfo("my songs", kind="other"), ModelConfig(), None)
    assert "a corpus mer knows nothing about" in other and "my songs" in other


def test_the_paragraph_quotes_names_with_the_callers_escaping():
    import html

    text = card_paragraph("<b>", DatasetInfo("a & b", kind="demo"), ModelConfig(), None, quote=html.escape)
    assert "'&lt;b&gt;'" in text and "a &amp; b" in text and "<b>" not in text


def test_a_model_without_a_head_or_a_recorded_precision_says_so_in_one_line():
    assert va_lines(None) == ["## Valence and arousal", "", "This model has no valence–arousal head.", ""]
    assert precision_note(None) is None
