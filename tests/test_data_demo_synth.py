"""The demo corpus's music (mer.data.demo.synth): one readable archetype per emotion, rendered deterministically."""

from __future__ import annotations

import dataclasses

import numpy as np

from mer.data.demo import ARCHETYPES, Archetype, render_track
from mer.data.demo.synth import CUES
from mer.emotions import EMOTIONS


def test_each_emotion_is_one_readable_record():
    assert list(ARCHETYPES) == list(EMOTIONS)
    for name, a in ARCHETYPES.items():
        assert isinstance(a, Archetype) and a.emotion == name
        assert set(a.neighbours) <= set(EMOTIONS) and name not in a.neighbours
        for cue in CUES:
            value = getattr(a, cue)
            if cue != "major":
                assert value[0] <= value[1], (name, cue)
    assert abs(sum(a.share for a in ARCHETYPES.values()) - 1.0) < 1e-9
    assert min(ARCHETYPES, key=lambda e: ARCHETYPES[e].clarity) == "amazement"
    assert {f.name for f in dataclasses.fields(Archetype)} == {"emotion", *CUES, "neighbours", "share", "clarity"}


def test_rendering_is_deterministic_and_follows_the_archetype():
    a = render_track(3, "calmness", "classical", 4.0)
    b = render_track(3, "calmness", "classical", 4.0)
    np.testing.assert_array_equal(a, b)
    loud = render_track(3, "power", "rock", 4.0)
    rms = lambda y: 20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2)))  # noqa: E731
    assert rms(loud) > rms(a) + 8  # power is 10-15 dB louder than calmness by its loudness ranges
