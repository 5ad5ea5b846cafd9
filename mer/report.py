"""Exports of an analysis: JSON, CSV, and a self-contained HTML report for stakeholders (no scripts: its charts
are inline SVG, so it stays small enough to send by email)."""

from __future__ import annotations

import html
import json
from datetime import datetime

import numpy as np
import pandas as pd

from .analyze import Analysis
from .card import card_paragraph
from .emotions import EMOTIONS, emotion_label
from .model_files import LoadedModel
from .plots.common import EMOTION_COLORS, LABELS, clock
from .results import ModelMetrics
from .svg import bars_svg, heatmap_svg, plane_svg, waveform_svg
from .text import csv_text
from .valence import NO_HEAD
from .valence import SOURCE as VA_SOURCE
from .yardstick import how_sure, reference, va_sureness

__all__ = ["analysis_json", "analysis_csv", "html_report"]


def analysis_json(analysis: Analysis) -> str:
    """The same JSON as ``python -m mer analyze --json``."""
    return json.dumps(analysis.to_dict(), indent=2)


def analysis_csv(analysis: Analysis) -> str:
    """One row per segment, then one for the whole track (``segment`` = ``track``): times, top emotion, the nine
    probabilities and the learned valence and arousal (:mod:`mer.valence`; empty cells for a model without the
    head), then MusiCNN's 50 tag probabilities, as ``musicnn_tag:<tag>`` columns, when the model has that
    front-end.

    The whole-track row holds the track head's probabilities (which read all the segments; not their mean), the
    track's valence and arousal, and the tags' mean over the segments.
    """
    seg = analysis.features.segments
    n = len(seg)
    df = pd.DataFrame({"segment": [*map(str, range(1, n + 1)), "track"],
                       "start_s": [*seg.start_s.round(3), 0.0], "end_s": [*seg.end_s.round(3), round(analysis.duration_s, 3)],
                       "top_emotion": [*analysis.segment_top, analysis.track_top]})
    probabilities = np.vstack([analysis.probabilities, analysis.track_probabilities])
    for i, e in enumerate(EMOTIONS):
        df[e] = probabilities[:, i].round(5)
    va = analysis.va_path
    df["valence"] = np.append(va.valence, va.track_valence).round(5) if va else None
    df["arousal"] = np.append(va.arousal, va.track_arousal).round(5) if va else None
    if analysis.tags is not None:  # the pretrained tagger's output, in columns named so it is not read as emotions
        from .audio.musicnn import TAGS

        tags = np.vstack([analysis.tags, analysis.tags.mean(axis=0)])
        for i, tag in enumerate(TAGS):
            df[f"musicnn_tag:{tag}"] = tags[:, i].round(5)
    return csv_text(df)


def _charts(analysis: Analysis, anchors: dict[str, tuple[float, float, int]] | None) -> list[str]:
    """The report's charts as inline SVG: the waveform, the timeline, the whole track, the valence–arousal path
    (with the emotions where the head puts them, ``anchors``) and, for a MusiCNN model, its tags; kilobytes
    whatever the track's length."""
    from .valence import CLEAR, QUADRANTS

    seg, w, va = analysis.features.segments, analysis.waveform, analysis.va_path
    charts = [
        waveform_svg(w.times_s, w.low, w.high, w.duration_s, seg.start_s, analysis.segment_top),
        heatmap_svg(analysis.probabilities, LABELS, seg.start_s, seg.end_s, marks=analysis.probabilities.argmax(axis=1),
                    title="Emotion timeline (CNN-LSTM, per segment; ringed: the segment's top emotion)"),
        bars_svg(analysis.track_probabilities, LABELS, [EMOTION_COLORS[e] for e in EMOTIONS],
                 title="Whole track: the nine emotions' probabilities"),
    ]
    if va is not None:
        charts.append(plane_svg(va.valence, va.arousal, (va.track_valence, va.track_arousal), anchors=anchors,
                                title="Valence and arousal, segment by segment (light to dark; the star: the whole "
                                      "track)", x_title="valence (unpleasant ← → pleasant)",
                                y_title="arousal (calm ← → energetic)", corner_labels=QUADRANTS, clear=CLEAR))
    if analysis.tags is not None:
        from .audio.musicnn import TAGS

        keep = np.argsort(analysis.tags.mean(axis=0))[::-1][:12]
        charts.append(heatmap_svg(analysis.tags[:, keep], [TAGS[k] for k in keep], seg.start_s, seg.end_s,
                                  colorscale="Greens", zmax=max(0.5, float(analysis.tags[:, keep].max())),
                                  title="What the CNN hears: MusiCNN's tags per segment (not emotions)"))
    return charts


def html_report(analysis: Analysis, model: LoadedModel | None = None, metrics: ModelMetrics | None = None) -> str:
    """A single HTML file for stakeholders, without scripts: the answer and how sure it is, the model card's
    paragraph (its accuracy beside chance and the baselines, its limits), the charts as SVG and the numbers.

    Parameters
    ----------
    analysis : Analysis
    model : LoadedModel, optional
        The model that analysed it, for the card's paragraph (:func:`mer.card.card_paragraph`).
    metrics : ModelMetrics, optional
        Its ``metrics.json``: the cross-validated accuracy and baselines (:func:`mer.yardstick.reference`).
    """
    seg = analysis.features.segments
    va = analysis.va_path
    heard = ""
    if analysis.tags is not None:
        top = analysis.tagger_dict()["top"]
        heard = (f"<p class=\"note\">What the CNN hears (MusiCNN's Last.fm tags, the tagger's output, not emotions): "
                 f"{html.escape(', '.join(top))}.</p>")
    about = (card_paragraph(model.name, model.dataset, model.model_config, metrics, quote=html.escape)
             if model is not None else html.escape(reference(metrics.cv if metrics else None).sentence))
    ev = metrics.valence_arousal if metrics is not None else None
    anchors = ev.anchors if ev is not None else None
    rows = "".join(
        f"<tr><td>{i + 1}</td><td>{clock(seg.start_s[i])}–{clock(seg.end_s[i])}</td>"
        f"<td>{html.escape(emotion_label(analysis.segment_top[i]))}</td>"
        + "".join(f"<td>{p:.2f}</td>" for p in analysis.probabilities[i])
        + (f"<td>{va.valence[i]:+.2f}</td><td>{va.arousal[i]:+.2f}</td></tr>" if va else "<td></td><td></td></tr>")
        for i in range(len(seg))
    )
    head = "".join(f"<th>{html.escape(emotion_label(e))}</th>" for e in EMOTIONS)
    tp = analysis.track_probabilities
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mer report: {html.escape(analysis.audio.name)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:920px;margin:2em auto;padding:0 1em;color:#263238}}
.table{{overflow-x:auto}}table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #cfd8dc;padding:2px 4px;text-align:right}}th{{font-weight:600;vertical-align:bottom}}
.note{{color:#607d8b;font-size:13px}}</style></head><body>
<h1>Music emotion report: {html.escape(analysis.audio.name)}</h1>
<p><b>Overall emotion: {html.escape(emotion_label(analysis.track_top))}</b> (track probability {tp.max():.2f}) ·
duration {analysis.duration_s:.1f} s · {len(seg)} segments</p>
<p><b>How sure is this?</b> {html.escape(how_sure(tp).sentence)}</p>
<p><b>About the model.</b> {about}</p>
{_va_lines(va, metrics, analysis.track_top)}
<p class="note">Model: <b>{html.escape(analysis.model_name)}</b>,
trained on {html.escape(analysis.model_trained_on)}. Generated by mer on {datetime.now():%Y-%m-%d %H:%M}.</p>
{heard}{''.join(_charts(analysis, anchors))}
<h2>Per segment</h2><div class="table"><table><tr><th>segment</th><th>time</th><th>top emotion</th>{head}<th>valence</th>
<th>arousal</th></tr>{rows}</table></div>
</body></html>
"""


def _va_lines(va, metrics: ModelMetrics | None, top: str) -> str:
    """The report's valence–arousal sentence, how sure it is (:func:`mer.yardstick.va_sureness`, as on the page,
    with the head's evaluation when the model's metrics hold it) and where the values come from (HTML)."""
    if va is None:
        return f'<p class="note">{html.escape(NO_HEAD)}</p>'
    ev = metrics.valence_arousal if metrics is not None else None
    sure = va_sureness(va.track_valence, va.track_arousal,
                       *((ev.head.valence_accuracy, ev.head.arousal_accuracy) if ev else ()),
                       top=top, anchors=ev.anchors if ev else None)
    return (f"<p>Valence {va.track_valence:+.2f}, arousal {va.track_arousal:+.2f}: {html.escape(va.track_words)}.</p>"
            f"<p>{html.escape(sure.sentence)}</p>"
            f'<p class="note">{html.escape(VA_SOURCE)}</p>')
