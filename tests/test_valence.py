"""Valence and arousal learned from 4Q: the head, its words, its training and its honest evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from mer.config import VAConfig
from mer.errors import ConfigError, ModelError
from mer.valence import CLEAR, VAHead, describe, to_unit


def _head(d: int = 200) -> VAHead:
    return VAHead(layers=("penultimate",), mean=np.zeros(d), scale=np.ones(d),
                  coef=np.array([[2.0] + [0.0] * (d - 1), [0.0, -3.0] + [0.0] * (d - 2)]), intercept=np.zeros(2))


def test_a_segment_is_read_from_its_own_inputs_and_the_track_from_their_mean_logit():
    X = np.zeros((4, 200))
    X[:2, 0], X[2:, 0] = 2.0, -2.0  # pleasant, then unpleasant
    X[:, 1] = 0.5  # calm throughout
    path = _head().path(X)
    np.testing.assert_allclose(path.valence, [to_unit(4.0)] * 2 + [to_unit(-4.0)] * 2)
    assert path.valence[0] == pytest.approx(2 / (1 + np.exp(-4.0)) - 1)  # 2 P - 1
    assert path.track_valence == pytest.approx(0.0, abs=1e-12)  # halves that disagree: undecided
    assert path.track_arousal == pytest.approx(to_unit(-1.5)) and path.track_arousal < 0


def test_context_averages_a_segments_neighbours_on_its_own_side_only():
    import dataclasses

    X = np.zeros((5, 200))
    X[:, 0] = [1.0, 1.0, -1.0, 1.0, 1.0]  # valence logits 2, 2, -2, 2, 2
    X[:, 1] = [0.0, 0.0, 1.0, 0.0, 0.0]  # arousal logits 0, 0, -3, 0, 0
    path = dataclasses.replace(_head(), context=(1, 0)).path(X)
    np.testing.assert_allclose(path.valence, to_unit(np.array([2.0, 2 / 3, 2 / 3, 2 / 3, 2.0])))
    np.testing.assert_allclose(path.arousal, to_unit(np.array([0.0, 0.0, -3.0, 0.0, 0.0])))  # no context
    assert path.track_valence == pytest.approx(to_unit(1.2))  # the track reads each segment once


def test_the_head_round_trips_without_pickle_and_refuses_what_does_not_fit(tmp_path):
    head = _head()
    head.save(tmp_path / "h.npz")
    again = VAHead.load(tmp_path / "h.npz")
    assert again.layers == ("penultimate",) and np.array_equal(again.coef, head.coef)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="cannot be read"):
        VAHead.load(tmp_path / "bad.npz")
    with pytest.raises(ModelError, match="reads 200 values of MusiCNN's penultimate"):
        head.path(np.zeros((20, 5)))
    with pytest.raises(ModelError, match="do not match its 200 inputs"):
        VAHead(layers=("penultimate", "mean_pool"), mean=np.zeros(200), scale=np.ones(200), coef=np.zeros((2, 200)),
               intercept=np.zeros(2))
    with pytest.raises(ModelError, match="do not fit"):
        VAHead(layers=("penultimate",), mean=np.zeros(200), scale=np.ones(200), coef=np.zeros((2, 4)),
               intercept=np.zeros(2))
    coef = np.zeros((2, 200))
    coef[0, 0] = np.nan
    with pytest.raises(ModelError, match="non-finite"):
        VAHead(layers=("penultimate",), mean=np.zeros(200), scale=np.ones(200), coef=coef, intercept=np.zeros(2))


@pytest.mark.parametrize("valence, arousal, words", [
    (0.8, 0.6, "excited, happy"), (-0.5, 0.9, "tense, distressed"), (-0.7, -0.4, "sad, depressed"),
    (0.4, -0.9, "calm, relaxed"), (0.1, 0.7, "energetic, neither clearly pleasant nor unpleasant"),
    (-0.6, 0.05, "unpleasant, neither clearly energetic nor calm"), (0.1, -0.1, "near the centre: no clear mood"),
    (CLEAR - 0.01, CLEAR - 0.01, "near the centre: no clear mood"),
])
def test_words_name_a_quarter_only_where_both_values_lean_clearly(valence, arousal, words):
    assert describe(valence, arousal) == words


def test_the_config_is_checked_where_it_is_built():
    with pytest.raises(ConfigError, match="c_min .* must not exceed c_max"):
        VAConfig(c_min=1.0, c_max=0.1)
    with pytest.raises(ConfigError, match="inner_folds"):
        VAConfig(inner_folds=1)
    with pytest.raises(ConfigError, match="valence_input must be one of"):
        VAConfig(valence_input="conv1")
    assert VAConfig().c_grid == pytest.approx((0.003, 0.003 * 10 ** 0.5, 0.03))
    assert VAConfig().layers == ("penultimate", "mean_pool")
    assert VAConfig(arousal_input="penultimate").layers == ("penultimate",)


