"""Numbers with their yardstick: the top probability against chance, and the sentence a stakeholder reads."""

from __future__ import annotations

import numpy as np
import pytest

from mer.emotions import EMOTIONS
from mer.results import CVReport, Metrics
from mer.yardstick import CHANCE, how_sure, reference


def spread(top: str, p_top: float, second: str, p_second: float) -> np.ndarray:
    """``p_top`` on ``top``, ``p_second`` on ``second``, the rest shared evenly by the other seven."""
    p = np.full(len(EMOTIONS), (1 - p_top - p_second) / (len(EMOTIONS) - 2))
    p[EMOTIONS.index(top)], p[EMOTIONS.index(second)] = p_top, p_second
    return p


def test_chance_is_one_in_nine():
    assert CHANCE == pytest.approx(0.1111, abs=1e-4)


def test_nineteen_percent_is_a_lean_of_one_point_seven_times_chance():
    y = how_sure(spread("joyful_activation", 0.19, "power", 0.12))
    assert (y.top, y.runner_up, y.verdict) == ("joyful_activation", "power", "a lean")
    assert y.times_chance == pytest.approx(1.71, abs=0.01)
    assert y.sentence == ("A lean towards joyful activation: 19% is 1.7 times the 1 in 9 a guess would give, ahead "
                          "of power (12%).")


def test_a_near_tie_or_a_probability_near_chance_is_called_unsure():
    tie = how_sure(spread("calmness", 0.30, "tenderness", 0.28))  # 2.7× chance, but 0.02 ahead
    assert tie.verdict == "unsure" and tie.sentence.startswith("Unsure: calmness (30%) is barely ahead of tenderness")
    low = how_sure(spread("sadness", 0.16, "nostalgia", 0.10))  # 1.44× chance
    assert low.verdict == "unsure"


def test_a_third_or_more_is_clear():
    y = how_sure(spread("tension", 0.40, "power", 0.20))
    assert y.verdict == "clear" and y.times_chance == pytest.approx(3.6)
    assert y.sentence == "A clear answer: tension at 40%, 3.6 times the 1 in 9 a guess would give."


def test_a_vector_that_is_not_nine_long_is_refused():
    with pytest.raises(ValueError):
        how_sure(np.ones(8) / 8)


def _scores(accuracy: float, answers: list[int]) -> Metrics:
    """Metrics of ``accuracy`` whose predictions were ``answers`` (indices into EMOTIONS), one track each."""
    confusion = [[0] * len(EMOTIONS) for _ in EMOTIONS]
    for j in answers:
        confusion[0][j] += 1
    return Metrics(accuracy=accuracy, macro_f1=0.0, balanced_accuracy=0.0, top3=None, agreement=None,
                   n=len(answers), per_class={}, confusion=confusion)


def _cv(model: float, baselines: dict[str, Metrics]) -> CVReport:
    return CVReport(pooled=_scores(model, [0]), folds=[], baselines=baselines, n_folds=5, seed=0, data="40 tracks")


def test_the_reference_names_each_yardstick_once_with_its_protocol():
    calm = EMOTIONS.index("calmness")
    r = reference(_cv(0.5, {"majority": _scores(0.234, [calm] * 4), "genre prior": _scores(0.216, [1, 2]),
                            "logistic regression on MusiCNN": _scores(0.466, [1, 2])}))
    assert (r.model, r.majority, r.majority_emotion, r.baseline, r.baseline_accuracy) == (
        0.5, 0.234, "calmness", "logistic regression on MusiCNN", 0.466)
    assert r.sentence == ("On tracks it had not seen, this model named the listeners' top emotion 50.0% of the time, "
                          "against 46.6% for the best simple baseline (logistic regression on MusiCNN), 23.4% for "
                          "always answering the emotion most common among the training tracks (calmness) and 11.1% "
                          "for a guess. Measured by 5-fold cross-validation grouped by track, on 40 tracks.")


def test_a_baseline_that_beats_the_model_says_so_and_a_mixed_majority_names_no_emotion():
    r = reference(_cv(0.30, {"majority": _scores(0.2, [3, 4]), "logistic regression": _scores(0.35, [1])}))
    assert r.majority_emotion is None and "(logistic regression, better than this model)" in r.sentence
    assert "most common among the training tracks and" in r.sentence


def test_without_cross_validation_only_chance_is_said():
    r = reference(None)
    assert r.model is None and r.sentence.endswith("a guess names the listeners' top emotion 11.1% of the time.")


def test_a_points_sureness_says_how_far_it_leans_and_how_often_the_head_is_right():
    from mer.yardstick import va_sureness

    sure = va_sureness(0.72, -0.1, 0.806, 0.9)
    assert sure.words == "pleasant, neither clearly energetic nor calm"
    assert sure.sentence.startswith("Valence clearly pleasant (+0.72), arousal undecided (-0.10)")
    assert "81% of them on the right side of pleasant and 90% on the right side of energetic" in sure.sentence
    assert va_sureness(-0.35, 0.31).words == "tense, distressed" and "leaning unpleasant" in \
        va_sureness(-0.35, 0.31).sentence


def test_a_point_against_its_top_emotions_usual_side_says_so_and_not_otherwise():
    from mer.yardstick import va_sureness

    anchors = {"joyful_activation": (0.45, 0.5, 30), "calmness": (0.3, -0.55, 40)}
    odd = va_sureness(0.5, -0.6, top="joyful_activation", anchors=anchors)
    assert "Joyful activation, but calm in energy" in odd.sentence and odd.words == "calm, relaxed"
    assert "but" not in va_sureness(0.4, -0.7, top="calmness", anchors=anchors).sentence
    assert "but" not in va_sureness(0.1, -0.1, top="joyful_activation", anchors=anchors).sentence  # nothing clear
