"""Two analysed tracks side by side: what differs between them, in numbers and in one sentence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .analyze import Analysis
from .emotions import EMOTIONS, emotion_label

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True)
class Comparison:
    """How track B differs from track A.

    Attributes
    ----------
    names : tuple of str
        The two tracks' names, A first.
    difference : np.ndarray [shape=(9,)]
        B's track probabilities minus A's, in :data:`mer.emotions.EMOTIONS` order.
    valence_change, arousal_change : float or None
        B's learned valence and arousal minus A's (:mod:`mer.valence`); None where a model has no head.
    zmax : float
        One colour scale for both timelines: the larger probability of the two, rounded up to a tenth (at least 0.3).
    sentence : str
        The difference, for people.
    """

    names: tuple[str, str]
    difference: np.ndarray
    valence_change: float | None
    arousal_change: float | None
    zmax: float
    sentence: str


def _direction(change: float, up: str, down: str) -> str:
    return f"{abs(change):.2f} {up if change > 0 else down}"


def compare(a: Analysis, b: Analysis) -> Comparison:
    """What sets ``b`` apart from ``a``: the emotions that gained and lost the most, and the move on the plane.

    Returns
    -------
    Comparison
        Its sentence names both top emotions, the emotion with the largest gain and the one with the largest
        loss (from A to B, in track probability), and how far B lies from A in valence and arousal.
    """
    names = (a.audio.name, b.audio.name)
    diff = b.track_probabilities.astype(np.float64) - a.track_probabilities.astype(np.float64)
    va, vb = a.va_path, b.va_path
    dv, da = (vb.track_valence - va.track_valence, vb.track_arousal - va.track_arousal) if va and vb else (None, None)
    gain, loss = int(diff.argmax()), int(diff.argmin())
    same = a.track_top == b.track_top
    tops = (f"Both are mostly {emotion_label(a.track_top)} ({a.track_probabilities.max():.2f} and "
            f"{b.track_probabilities.max():.2f})." if same else
            f"{names[0]} is mostly {emotion_label(a.track_top)} ({a.track_probabilities.max():.2f}); {names[1]} is "
            f"mostly {emotion_label(b.track_top)} ({b.track_probabilities.max():.2f}).")
    moves = (f" Compared with {names[0]}, {names[1]} has more {emotion_label(EMOTIONS[gain])} above all "
             f"({diff[gain]:+.2f}) and less {emotion_label(EMOTIONS[loss])} ({diff[loss]:+.2f})")
    moves += (f"; it lies {_direction(dv, 'more pleasant', 'less pleasant')} and "
              f"{_direction(da, 'more energetic', 'calmer')} in learned valence and arousal." if dv is not None
              else ".")
    top_p = max(float(a.probabilities.max()), float(b.probabilities.max()))
    return Comparison(names=names, difference=diff, valence_change=None if dv is None else float(dv),
                      arousal_change=None if da is None else float(da),
                      zmax=max(0.3, float(np.ceil(top_p * 10) / 10)), sentence=tops + moves)
