"""The circumplex projection (the learned head's baseline), and the plane the pages draw."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mer.circumplex import ANGLES_DEG, COORDINATES, project, va_path
from mer.emotions import EMOTIONS
from mer.plots.analyze import circumplex_figure
from mer.valence import CLEAR, QUADRANTS, quadrant

R = math.sqrt(0.5)  # cos 45°


def one_hot(name: str) -> np.ndarray:
    p = np.zeros(len(EMOTIONS))
    p[EMOTIONS.index(name)] = 1.0
    return p


@pytest.mark.parametrize("name,valence,arousal", [
    ("joyful_activation", R, R),  # Russell's excitement, 45°
    ("tension", -R, R),  # distress, 135°
    ("sadness", -R, -R),  # depression, 225°
    ("calmness", R, -R),  # relaxation, 315°
    ("power", math.cos(math.radians(67.5)), math.sin(math.radians(67.5))),  # between excitement and arousal
    ("nostalgia", math.cos(math.radians(247.5)), math.sin(math.radians(247.5))),
])
def test_a_one_hot_probability_lands_exactly_on_that_emotions_coordinates(name, valence, arousal):
    assert project(one_hot(name)) == pytest.approx([valence, arousal], abs=1e-12)


def test_every_emotion_sits_on_the_unit_circle_in_its_named_quadrant():
    np.testing.assert_allclose(np.hypot(COORDINATES[:, 0], COORDINATES[:, 1]), 1.0)
    where = {e: quadrant(*COORDINATES[i]) for i, e in enumerate(EMOTIONS)}
    assert where == {"amazement": "excited, happy", "power": "excited, happy", "joyful_activation": "excited, happy",
                     "tension": "tense, distressed", "sadness": "sad, depressed", "nostalgia": "sad, depressed",
                     "solemnity": "calm, relaxed", "calmness": "calm, relaxed", "tenderness": "calm, relaxed"}
    assert sorted(ANGLES_DEG.values()) == [22.5, 45.0, 67.5, 135.0, 225.0, 247.5, 292.5, 315.0, 337.5]
    assert set(QUADRANTS.values()) == {"excited, happy", "tense, distressed", "sad, depressed", "calm, relaxed"}


def test_a_mixture_is_the_probability_weighted_mean_of_the_positions():
    p = 0.75 * one_hot("calmness") + 0.25 * one_hot("tension")
    assert project(p) == pytest.approx([0.5 * R, -0.5 * R])  # 0.75·(R, −R) + 0.25·(−R, R)
    opposite = 0.5 * one_hot("joyful_activation") + 0.5 * one_hot("sadness")
    assert project(opposite) == pytest.approx([0.0, 0.0], abs=1e-12)  # opposite directions cancel
    unnormalised = 3 * one_hot("calmness") + one_hot("tension")  # rows are normalised first
    assert project(unnormalised) == pytest.approx(project(p))


def test_the_path_has_each_segment_and_the_track_as_its_weighted_mean():
    rng = np.random.default_rng(3)
    seg = rng.dirichlet(np.ones(9), size=20)
    track = rng.dirichlet(np.ones(9))
    path = va_path(seg, track)
    assert path.valence.shape == path.arousal.shape == (20,)
    expected = seg @ COORDINATES
    np.testing.assert_allclose(np.stack([path.valence, path.arousal], axis=1), expected)
    assert (path.track_valence, path.track_arousal) == pytest.approx(tuple(track @ COORDINATES))
    assert path.track_quadrant == quadrant(path.track_valence, path.track_arousal)


@pytest.mark.parametrize("bad", [np.ones(8), np.zeros(9), -one_hot("power"), np.full(9, np.nan)])
def test_probabilities_that_are_not_a_distribution_are_refused(bad):
    with pytest.raises(ValueError):
        project(bad)


def test_the_plane_draws_the_path_the_track_the_learned_emotions_and_the_quadrants():
    rng = np.random.default_rng(0)
    path = va_path(rng.dirichlet(np.ones(9), size=20), one_hot("sadness"))
    anchors = {"calmness": (0.42, -0.55, 31), "tension": (-0.2, 0.6, 12)}
    fig = circumplex_figure(path, np.arange(20) * 1.5, segment=6, anchors=anchors)
    traces = {t.name: t for t in fig.data}
    placed = traces["Emotify's emotions, placed by the head"]
    assert list(placed.x) == [0.42, -0.2] and list(placed.text) == ["calmness", "tension"]
    assert list(placed.customdata) == [31, 12]  # the hover says how many tracks each mean is over
    assert list(traces["segments, in time order"].x) == pytest.approx(path.valence.tolist())
    assert list(traces["segment 7"].y) == pytest.approx([path.arousal[6]])
    assert list(traces["whole track"].x) == pytest.approx([-R]) and list(traces["whole track"].y) == pytest.approx([-R])
    assert {a.text for a in fig.layout.annotations} == set(QUADRANTS.values()) | {"no clear mood"}
    assert fig.layout.shapes[0].x1 == CLEAR  # the undecided square
    # no anchors, no emotions drawn: fixed places would look like measurements
    assert "emotions" not in {t.name for t in circumplex_figure(path, np.arange(20) * 1.5).data}


def test_emotions_the_head_puts_close_together_are_labelled_on_opposite_sides():
    path = va_path(np.tile(one_hot("calmness"), (20, 1)), one_hot("calmness"))
    anchors = {"nostalgia": (0.18, -0.74, 20), "calmness": (0.12, -0.75, 40), "power": (-0.2, 0.4, 9)}
    placed = {t.name: t for t in circumplex_figure(path, np.arange(20.0), anchors=anchors).data}[
        "Emotify's emotions, placed by the head"]
    sides = dict(zip(placed.text, placed.textposition))
    assert sides["calmness"] != sides["nostalgia"] and sides["power"] == "top center"
