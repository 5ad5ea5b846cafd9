"""The HTML, JSON and CSV reports of an analysis (mer.report)."""

from __future__ import annotations

import numpy as np

from mer.analyze import analyze
from mer.model_files import load_model

from .helpers import tone


def test_the_html_report_holds_the_charts_the_numbers_the_caveats_and_the_model(tiny_models, write_audio):
    import html

    from mer.card import card_paragraph
    from mer.model_files import load_metrics
    from mer.report import analysis_csv, html_report
    from mer.yardstick import how_sure

    model = load_model(tiny_models / "default")
    result = analyze(write_audio("a b.wav", tone(30.0, freq=330.0), 22_050), model=model)
    metrics = load_metrics(model.path)
    page = html_report(result, model, metrics)
    assert len(page.encode()) < 150_000  # was 5 MB with plotly.js inside
    assert "<script" not in page and page.count("<svg") == 3  # no plotly.js: three inline charts (no head, no tags)
    assert "no valence–arousal head" in page  # the log-mel model: said, not drawn
    assert "Emotion timeline" in page and "Whole track" in page and "Waveform and the 20 segments" in page
    assert page.count("<tr><td>") == 20 and "<b>default</b>" in page
    top = result.track_top.replace("_", " ")
    assert f"Overall emotion: {top}" in page and f"{result.track_probabilities.max():.2f}" in page
    assert html.escape(how_sure(result.track_probabilities).sentence) in page  # the page's "how sure" line
    about = card_paragraph(model.name, model.dataset, model.model_config, metrics, quote=html.escape)
    assert f"<b>About the model.</b> {about}" in page and "for a guess" in about  # the card's paragraph, yardstick
    rows = analysis_csv(result).splitlines()
    assert len(rows) == 22 and rows[0].startswith("segment,start_s,end_s,top_emotion,amazement")
    assert rows[0].endswith("sadness,valence,arousal")  # the tiny model reads log-mel: no tag columns
    assert all(row.endswith(",,") for row in rows[1:])  # no head: empty cells, not made-up numbers

    whole = rows[-1].split(",")  # the whole track: the track head's probabilities, over the whole duration
    assert whole[:4] == ["track", "0.0", f"{result.duration_s:.1f}", result.track_top]
    np.testing.assert_allclose([float(v) for v in whole[4:13]], result.track_probabilities, atol=1e-5)
