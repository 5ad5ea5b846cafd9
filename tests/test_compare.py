"""Two tracks side by side: the difference in numbers and in a sentence."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mer.analyze import Analysis
from mer.circumplex import COORDINATES, va_path
from mer.compare import compare
from mer.emotions import EMOTIONS
from mer.plots.analyze import circumplex_pair_figure, paired_bars_figure


def leaning(name: str, emotion: str, p: float) -> Analysis:
    """An analysis of 20 identical segments: ``p`` on ``emotion``, the rest shared evenly."""
    track = np.full(9, (1 - p) / 8)
    track[EMOTIONS.index(emotion)] = p
    segments = np.tile(track, (20, 1))
    return Analysis(audio=SimpleNamespace(name=name), features=None, probabilities=segments,
                    track_probabilities=track, model_name="m", model_trained_on="t", waveform=None,
                    va=va_path(segments, track))  # any values on the plane serve: the projection's are known


def test_the_difference_is_stated_with_its_numbers():
    a, b = leaning("calm.wav", "calmness", 0.6), leaning("<b>joy</b>.wav", "joyful_activation", 0.44)
    diff = compare(a, b)
    rest_a, rest_b = 0.4 / 8, 0.56 / 8  # 0.05 and 0.07
    expected = np.full(9, rest_b - rest_a)
    expected[EMOTIONS.index("calmness")] = rest_b - 0.6
    expected[EMOTIONS.index("joyful_activation")] = 0.44 - rest_a
    np.testing.assert_allclose(diff.difference, expected)
    (va, aa), (vb, ab) = a.track_probabilities @ COORDINATES, b.track_probabilities @ COORDINATES
    assert (diff.valence_change, diff.arousal_change) == pytest.approx((vb - va, ab - aa))
    assert diff.zmax == pytest.approx(0.6)  # one scale for both timelines: the larger top, to a tenth
    assert diff.sentence == (
        "calm.wav is mostly calmness (0.60); <b>joy</b>.wav is mostly joyful activation (0.44). Compared with "
        f"calm.wav, <b>joy</b>.wav has more joyful activation above all (+0.39) and less calmness (-0.53); it lies "
        f"{abs(vb - va):.2f} {'more' if vb > va else 'less'} pleasant and {ab - aa:.2f} more energetic in learned "
        "valence and arousal.")
    assert ab - aa > 0.5  # from calm to joyful: a long way up


def test_two_tracks_with_the_same_top_say_so():
    diff = compare(leaning("a.wav", "sadness", 0.5), leaning("b.wav", "sadness", 0.3))
    assert diff.sentence.startswith("Both are mostly sadness (0.50 and 0.30).")
    assert diff.zmax == pytest.approx(0.5)


def test_the_pair_figures_draw_both_tracks_with_escaped_names():
    a, b = leaning("a.wav", "power", 0.5), leaning("<i>b</i>.wav", "tenderness", 0.5)
    bars = paired_bars_figure(("a.wav", "<i>b</i>.wav"), (a.track_probabilities, b.track_probabilities))
    assert [t.name for t in bars.data] == ["a.wav", "&lt;i&gt;b&lt;/i&gt;.wav"]
    assert list(bars.data[1].x) == pytest.approx(b.track_probabilities.tolist())  # horizontal bars
    plane = circumplex_pair_figure(("a.wav", "b.wav"), (a.va_path, b.va_path))
    stars = {t.name: (t.x[0], t.y[0]) for t in plane.data if t.name.endswith("whole track")}
    assert stars["b.wav: whole track"] == pytest.approx((b.va_path.track_valence, b.va_path.track_arousal))
    assert len([t for t in plane.data if t.name.endswith("segments")]) == 2
