"""The nine GEMS emotions placed on Russell's valence–arousal plane, and probabilities projected onto it.

Where the numbers come from
---------------------------
Russell (1980, "A circumplex model of affect", *J. Pers. Soc. Psychol.* 39(6), 1161–1178) found that affect
words fall on a circle in this order: pleasure 0°, excitement 45°, arousal 90°, distress 135°, displeasure
180°, depression 225°, sleepiness 270°, relaxation 315° (angles counter-clockwise from the pleasant end of the
valence axis). Those eight compass points are Russell's. Which point each GEMS category takes is mer's
reading of the categories' descriptions (Zentner, Grandjean and Scherer 2008, "Emotions evoked by the sound of
music", *Emotion* 8(4); Emotify's names, Aljanaki, Wiering and Veltkamp 2016): on a compass point where one
fits (joyful activation is excitement, tension distress, sadness depression, calmness relaxation), half-way
between two where the category lies between them (amazement between pleasure and excitement, power between
excitement and arousal, nostalgia between depression and sleepiness, solemnity between sleepiness and
relaxation, tenderness between relaxation and pleasure). Every category sits on the unit circle.

These are fixed coordinates, not measurements of the music: a (valence, arousal) point here is a projection
of the model's nine probabilities, their weighted mean position, not the output of a model trained on
valence–arousal ratings (Emotify has none). A track whose probabilities are spread evenly lands near the
centre; only a confident prediction reaches the rim.

mer no longer shows these points as valence and arousal: on 4Q's labelled clips they get valence right about
half the time (:mod:`mer.training.valence` measures it as a baseline of the learned head, :mod:`mer.valence`).
"""

from __future__ import annotations

import numpy as np

from .emotions import EMOTIONS
from .valence import VAPath

__all__ = ["RUSSELL_POINTS", "ANGLES_DEG", "COORDINATES", "SOURCE", "project", "va_path"]

#: Russell's (1980) eight affect directions, in degrees counter-clockwise from pleasure.
RUSSELL_POINTS: dict[str, float] = {"pleasure": 0.0, "excitement": 45.0, "arousal": 90.0, "distress": 135.0,
                                    "displeasure": 180.0, "depression": 225.0, "sleepiness": 270.0,
                                    "relaxation": 315.0}


def _between(a: str, b: str) -> float:
    lo, hi = RUSSELL_POINTS[a], RUSSELL_POINTS[b]
    hi = hi + 360.0 if hi < lo else hi
    return ((lo + hi) / 2) % 360.0


#: Each GEMS emotion's direction on the circumplex, in degrees (see the module's docstring for why).
ANGLES_DEG: dict[str, float] = {
    "amazement": _between("pleasure", "excitement"),  # 22.5: wonder, dazzled, moved
    "solemnity": _between("sleepiness", "relaxation"),  # 292.5: serious, meditative, spiritual
    "tenderness": _between("relaxation", "pleasure"),  # 337.5: affectionate, mellow, warm
    "nostalgia": _between("depression", "sleepiness"),  # 247.5: sentimental, dreamy, melancholic
    "calmness": RUSSELL_POINTS["relaxation"],  # 315: calm, relaxed, serene
    "power": _between("excitement", "arousal"),  # 67.5: energetic, strong, triumphant
    "joyful_activation": RUSSELL_POINTS["excitement"],  # 45: joyful, animated, dancing
    "tension": RUSSELL_POINTS["distress"],  # 135: nervous, agitated, irritated
    "sadness": RUSSELL_POINTS["depression"],  # 225: sad, sorrowful
}

#: Each emotion's (valence, arousal) on the unit circle, in :data:`mer.emotions.EMOTIONS` order: shape (9, 2).
COORDINATES: np.ndarray = np.array([[np.cos(np.radians(ANGLES_DEG[e])), np.sin(np.radians(ANGLES_DEG[e]))]
                                    for e in EMOTIONS])
COORDINATES.setflags(write=False)

#: One sentence saying where the coordinates come from, for the page, the exports and the report.
SOURCE = ("Valence and arousal are a projection of the nine probabilities onto fixed positions of the GEMS "
          "emotions on Russell's (1980) circumplex (his eight directions; the category of each emotion read from "
          "Zentner et al. 2008), not a model trained on valence–arousal ratings.")


def project(probabilities: np.ndarray) -> np.ndarray:
    """The probability-weighted mean position of the nine emotions on the valence–arousal plane.

    Parameters
    ----------
    probabilities : np.ndarray [shape=(..., 9)]
        Emotion probabilities in :data:`mer.emotions.EMOTIONS` order; each row is normalised to sum to 1.

    Returns
    -------
    np.ndarray [shape=(..., 2)]
        (valence, arousal), each in [-1, 1]; a one-hot row lands exactly on that emotion's coordinates.

    Raises
    ------
    ValueError
        When the last axis is not 9 long, or a row has a negative or non-finite entry or sums to zero.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.shape[-1:] != (len(EMOTIONS),):
        raise ValueError(f"probabilities must have {len(EMOTIONS)} columns, got shape {p.shape}")
    total = p.sum(axis=-1, keepdims=True)
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(total <= 0):
        raise ValueError("probabilities must be finite, non-negative and not all zero in any row")
    return (p / total) @ COORDINATES


def va_path(probabilities: np.ndarray, track_probabilities: np.ndarray) -> VAPath:
    """Each segment's and the track's projected position on the plane (see :func:`project`): the baseline.

    Parameters
    ----------
    probabilities : np.ndarray [shape=(n_segments, 9)]
    track_probabilities : np.ndarray [shape=(9,)]
    """
    seg = project(probabilities)
    track = project(track_probabilities)
    return VAPath(valence=seg[:, 0], arousal=seg[:, 1], track_valence=float(track[0]),
                  track_arousal=float(track[1]))
