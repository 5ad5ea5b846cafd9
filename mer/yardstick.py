"""Numbers with their yardstick: a track's top probability beside chance, and the model's honest accuracy
beside what simpler answers get.

A probability of 0.19 for one of nine emotions reads as failure to someone who expects a percentage grade;
beside chance (1/9 ≈ 0.11) it is 1.7 times what a guess would give. :func:`how_sure` says in one sentence how
far to trust one answer. :func:`reference` is the one place every page, the report, the card and the README
take the model's yardstick from: its cross-validated track accuracy (how often, on tracks it had not seen, its
top emotion was the listeners' top emotion) beside the best simple baseline, always answering the most common
emotion, and a guess, all scored on the same track-grouped folds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .emotions import EMOTIONS, emotion_label
from .results import CVReport

__all__ = ["CHANCE", "EMOTIFY_CEILING", "Yardstick", "how_sure", "Reference", "reference", "VASureness", "va_sureness"]

#: What a guess among the nine emotions gets right.
CHANCE = 1 / len(EMOTIONS)
#: The best track accuracy Emotify's labels allow: a perfect model of its listeners matches a fresh panel's
#: dominant emotion about this often (a simulation with the observed vote shares; shared/EMOTIFY.md).
EMOTIFY_CEILING = 0.69
#: Below this many times chance, or this close to the runner-up, the answer is called unsure.
UNSURE_TIMES_CHANCE = 1.5
UNSURE_MARGIN = 0.03
#: From this many times chance (one emotion holding a third of the probability) the answer is called clear.
CLEAR_TIMES_CHANCE = 3.0


@dataclass(frozen=True)
class Yardstick:
    """How sure an answer is, in numbers and in words.

    Attributes
    ----------
    top, runner_up : str
        The most and second most probable emotions.
    probability, runner_up_probability : float
    times_chance : float
        ``probability`` over :data:`CHANCE`.
    verdict : {"unsure", "a lean", "clear"}
    sentence : str
        The verdict in one line, for people.
    """

    top: str
    runner_up: str
    probability: float
    runner_up_probability: float
    times_chance: float
    verdict: str
    sentence: str


def how_sure(track_probabilities: np.ndarray) -> Yardstick:
    """The verdict on a track's probabilities, measured against chance.

    How good the model is in general is :func:`reference`'s sentence, said beside this one.

    Parameters
    ----------
    track_probabilities : np.ndarray [shape=(9,)]
        In :data:`mer.emotions.EMOTIONS` order.

    Returns
    -------
    Yardstick
        Unsure below 1.5× chance or within 0.03 of the runner-up; clear from 3× chance; a lean between.

    Raises
    ------
    ValueError
        For a vector that is not nine long.
    """
    p = np.asarray(track_probabilities, dtype=np.float64)
    if p.shape != (len(EMOTIONS),):
        raise ValueError(f"track_probabilities must have shape ({len(EMOTIONS)},), got {p.shape}")
    order = np.argsort(p)[::-1]
    top, second = EMOTIONS[order[0]], EMOTIONS[order[1]]
    p1, p2 = float(p[order[0]]), float(p[order[1]])
    times = p1 / CHANCE
    label, runner = emotion_label(top), emotion_label(second)
    if times < UNSURE_TIMES_CHANCE or p1 - p2 < UNSURE_MARGIN:
        verdict = "unsure"
        said = (f"Unsure: {label} ({p1:.0%}) is barely ahead of {runner} ({p2:.0%}); the model hears a mix of "
                "emotions here.")
    elif times < CLEAR_TIMES_CHANCE:
        verdict = "a lean"
        said = (f"A lean towards {label}: {p1:.0%} is {times:.1f} times the 1 in 9 a guess would give, "
                f"ahead of {runner} ({p2:.0%}).")
    else:
        verdict = "clear"
        said = f"A clear answer: {label} at {p1:.0%}, {times:.1f} times the 1 in 9 a guess would give."
    return Yardstick(top=top, runner_up=second, probability=p1, runner_up_probability=p2, times_chance=times,
                     verdict=verdict, sentence=said)


#: The baseline that always answers the training tracks' most common emotion (mer.training.train's name).
MAJORITY = "majority"


@dataclass(frozen=True)
class Reference:
    """A model's cross-validated track accuracy and what simpler answers got on the same folds.

    Attributes
    ----------
    chance : float
        A guess among the nine emotions (1/9).
    model : float or None
        The model's pooled out-of-fold track accuracy; None without cross-validation.
    majority : float or None
        Always answering the emotion most common among each fold's training tracks.
    majority_emotion : str or None
        That emotion, when every fold's was the same.
    baseline, baseline_accuracy : str or None, float or None
        The best of the other baselines (genre prior, logistic regressions) and its accuracy.
    protocol : str
        How all of them were measured, in words ("" without cross-validation).
    sentence : str
        All of it in two sentences, each number once, for people (plain text: Markdown-escape it on a page).
    """

    chance: float
    model: float | None
    majority: float | None
    majority_emotion: str | None
    baseline: str | None
    baseline_accuracy: float | None
    protocol: str
    sentence: str


def _constant_answer(confusion: list[list[int]]) -> str | None:
    """The one emotion a baseline always answered (its confusion matrix has a single non-empty column)."""
    used = [j for j in range(len(EMOTIONS)) if any(row[j] for row in confusion)]
    return EMOTIONS[used[0]] if len(used) == 1 else None


def reference(cv: CVReport | None, quote: Callable[[str], str] = str) -> Reference:
    """The yardstick of a model's cross-validated accuracy (``load_metrics(path).cv``; None: none was run).

    ``quote`` is applied to what the sentence takes from files (the data's description, the baselines' names):
    :func:`mer.text.escape_markdown` where the sentence goes into Markdown.

    Returns
    -------
    Reference
        Track accuracies as fractions; the sentence says them as percentages with one decimal, the protocol
        once, and whether the best simple baseline beat the model.
    """
    if cv is None:
        return Reference(chance=CHANCE, model=None, majority=None, majority_emotion=None, baseline=None,
                         baseline_accuracy=None, protocol="",
                         sentence=f"This model was not cross-validated, so there is no honest accuracy to give; a "
                                  f"guess names the listeners' top emotion {CHANCE:.1%} of the time.")
    majority = cv.baselines.get(MAJORITY)
    emotion = _constant_answer(majority.confusion) if majority is not None else None
    others = {name: m.accuracy for name, m in cv.baselines.items() if name != MAJORITY}
    best = max(others, key=others.get) if others else None
    protocol = f"{cv.n_folds}-fold cross-validation grouped by track, on {quote(cv.data)}"
    parts = []
    if best is not None:
        beat = ", better than this model" if others[best] > cv.pooled.accuracy else ""
        parts.append(f"{others[best]:.1%} for the best simple baseline ({quote(best)}{beat})")
    if majority is not None:
        which = f" ({emotion_label(emotion)})" if emotion else ""
        parts.append(f"{majority.accuracy:.1%} for always answering the emotion most common among the training "
                     f"tracks{which}")
    parts.append(f"{CHANCE:.1%} for a guess")
    listed = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]
    said = (f"On tracks it had not seen, this model named the listeners' top emotion {cv.pooled.accuracy:.1%} of the "
            f"time, against {listed}. Measured by {protocol}.")
    return Reference(chance=CHANCE, model=cv.pooled.accuracy, majority=majority.accuracy if majority else None,
                     majority_emotion=emotion, baseline=best, baseline_accuracy=others[best] if best else None,
                     protocol=protocol, sentence=said)


@dataclass(frozen=True)
class VASureness:
    """How sure a point on the valence–arousal plane is.

    Attributes
    ----------
    valence, arousal : float
        The learned values, 2 P - 1: their distance from 0 is how far the head leans.
    words : str
        :func:`mer.valence.describe` of the point: a quarter only where both values lean clearly.
    valence_accuracy, arousal_accuracy : float or None
        How often the head sided clips of artists it had not seen right (4Q, grouped cross-validation).
    sentence : str
    """

    valence: float
    arousal: float
    words: str
    valence_accuracy: float | None
    arousal_accuracy: float | None
    sentence: str


def _lean(value: float, positive: str, negative: str) -> str:
    from .valence import CLEAR

    side = positive if value > 0 else negative
    if abs(value) >= 2 * CLEAR:
        return f"clearly {side} ({value:+.2f})"
    if abs(value) >= CLEAR:
        return f"leaning {side} ({value:+.2f})"
    return f"undecided ({value:+.2f})"


def _contrast(top: str, anchor: tuple[float, float, int], valence: float, arousal: float) -> str | None:
    """A clause for where the head's point leans clearly against the side the top emotion usually sits on."""
    from .valence import CLEAR

    said = []
    for value, usual, word in ((valence, anchor[0], ("pleasant", "unpleasant")),
                               (arousal, anchor[1], ("energetic", "calm in energy"))):
        if abs(value) >= CLEAR and abs(usual) >= CLEAR / 2 and (value > 0) != (usual > 0):
            said.append(word[0] if value > 0 else word[1])
    if not said:
        return None
    return (f" {emotion_label(top)[0].upper()}{emotion_label(top)[1:]}, but {' and '.join(said)}: the nine emotions "
            f"and the valence–arousal head are separate models, and here they hear the track differently.")


def va_sureness(valence: float, arousal: float, valence_accuracy: float | None = None,
                arousal_accuracy: float | None = None, *, top: str | None = None,
                anchors: dict[str, tuple[float, float, int]] | None = None) -> VASureness:
    """How far a point leans on each axis, in words, beside the head's cross-validated accuracy; with the track's
    ``top`` emotion and the head's ``anchors`` (where it puts each emotion's Emotify tracks), a clause where the
    point leans clearly against where that emotion usually sits ("joyful activation, but calm in energy").

    >>> va_sureness(0.7, 0.1, 0.81, 0.9).sentence.split(";")[0]
    'Valence clearly pleasant (+0.70), arousal undecided (+0.10)'
    >>> "Joyful activation, but calm in energy" in va_sureness(
    ...     0.5, -0.6, top="joyful_activation", anchors={"joyful_activation": (0.4, 0.5, 20)}).sentence
    True
    """
    from .valence import describe

    said = (f"Valence {_lean(valence, 'pleasant', 'unpleasant')}, arousal "
            f"{_lean(arousal, 'energetic', 'calm')}; 0 means undecided and ±1 certain")
    if valence_accuracy is not None and arousal_accuracy is not None:
        said += (f". On clips by artists it had not seen, the head put {valence_accuracy:.0%} of them on the right "
                 f"side of pleasant and {arousal_accuracy:.0%} on the right side of energetic (a guess: 50%).")
    else:
        said += "."
    if top is not None and anchors and top in anchors:
        said += _contrast(top, anchors[top], valence, arousal) or ""
    return VASureness(valence=valence, arousal=arousal, words=describe(valence, arousal),
                      valence_accuracy=valence_accuracy, arousal_accuracy=arousal_accuracy, sentence=said)
