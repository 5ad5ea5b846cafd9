"""Valence and arousal learned from listeners: a head on MusiCNN's segment embeddings, and the path it draws.

The head is two logistic regressions on MusiCNN layers of each segment (standardised), trained on the 4Q
dataset's clips (Panda, Malheiro and Paiva 2018: each clip a quadrant of Russell's plane, so a valence sign and
an arousal sign) by :mod:`mer.training.valence`. Each segment is read from its own audio, no context: a segment's
valence is ``2 P(pleasant | segment) - 1`` and its arousal ``2 P(energetic | segment) - 1``, each in [-1, 1] with
0 meaning undecided. The whole track's values come from the mean of its segments' logits (the evidence of the
segments added up, then scaled back to one segment's), so a track whose segments agree is as sure as they are
and one whose segments disagree lands near 0.

A point near the centre is one the head could not decide: :func:`describe` names a quarter of the plane only
when both values lean clearly (:data:`CLEAR`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError

__all__ = ["VA_FILE", "LAYER_SIZES", "CLEAR", "smooth_logits", "SOURCE", "NO_HEAD", "QUADRANTS", "VAPath", "VAHead", "quadrant", "describe", "to_unit"]

#: The file of a model folder that holds its valence–arousal head.
VA_FILE = "valence-arousal.npz"
#: How many values each MusiCNN layer the head may read gives per segment (MSD_musicnn's architecture).
LAYER_SIZES: dict[str, int] = {"penultimate": 200, "mean_pool": 753}
#: How far from 0 (on [-1, 1], i.e. P = 0.65 against 0.35) a value must be to count as leaning one way in words.
CLEAR = 0.3

#: One sentence saying where the values come from, for the pages, the exports and the report.
SOURCE = ("Valence and arousal come from a head trained on listeners' labels: two logistic regressions on MusiCNN's "
          "view of each segment, fitted to the 449 clips of the 4Q dataset (Panda et al. 2018) mer ships, each "
          "labelled with its quadrant of Russell's plane; each segment is read from its own audio, and 0 means "
          "undecided.")
#: Why a model has no values on the plane.
NO_HEAD = ("This model has no valence–arousal head (it was trained before the head existed, or on the log-mel "
           "front-end, which does not run MusiCNN): retrain it with `python -m mer train` or pick the default model.")

#: The four quadrants, named by Russell's words at their centres: (valence > 0, arousal > 0) → name.
QUADRANTS: dict[tuple[bool, bool], str] = {(True, True): "excited, happy", (False, True): "tense, distressed",
                                           (False, False): "sad, depressed", (True, False): "calm, relaxed"}


def to_unit(logits: np.ndarray) -> np.ndarray:
    """``2 P - 1`` of logits: [-1, 1], 0 where the head is undecided."""
    return np.tanh(np.asarray(logits, dtype=np.float64) / 2)  # 2 sigmoid(x) - 1, without overflow


def smooth_logits(logits: np.ndarray, half: int) -> np.ndarray:
    """Each segment's logits averaged with ``half`` neighbours on each side (fewer at the ends), along the first
    axis: (S, ...) → (S, ...)."""
    z = np.asarray(logits, dtype=np.float64)
    if half <= 0:
        return z
    out = np.empty_like(z)
    for i in range(len(z)):
        out[i] = z[max(0, i - half):i + half + 1].mean(axis=0)
    return out


def quadrant(valence: float, arousal: float) -> str:
    """The name of the quadrant a point lies in (:data:`QUADRANTS`; a point on an axis counts as positive)."""
    return QUADRANTS[(valence >= 0, arousal >= 0)]


def _side(value: float, positive: str, negative: str) -> str | None:
    return positive if value >= CLEAR else negative if value <= -CLEAR else None


def describe(valence: float, arousal: float) -> str:
    """Words for a point that say no more than it shows: a quarter only where both values lean clearly, one
    side where only one does, "near the centre" otherwise.

    >>> describe(0.8, -0.6)
    'calm, relaxed'
    >>> describe(0.1, 0.7)
    'energetic, neither clearly pleasant nor unpleasant'
    >>> describe(0.05, -0.1)
    'near the centre: no clear mood'
    """
    v = _side(valence, "pleasant", "unpleasant")
    a = _side(arousal, "energetic", "calm")
    if v and a:
        return quadrant(valence, arousal)
    if a:
        return f"{a}, neither clearly pleasant nor unpleasant"
    if v:
        return f"{v}, neither clearly energetic nor calm"
    return "near the centre: no clear mood"


@dataclass(frozen=True)
class VAPath:
    """A track's path through the valence–arousal plane.

    Attributes
    ----------
    valence, arousal : np.ndarray [shape=(n_segments,)]
        Each segment's values in [-1, 1], in time order.
    track_valence, track_arousal : float
        The whole track's.
    """

    valence: np.ndarray
    arousal: np.ndarray
    track_valence: float
    track_arousal: float

    @property
    def track_quadrant(self) -> str:
        return quadrant(self.track_valence, self.track_arousal)

    @property
    def track_words(self) -> str:
        """:func:`describe` of the track's point."""
        return describe(self.track_valence, self.track_arousal)


@dataclass(frozen=True)
class VAHead:
    """Two logistic regressions (valence, arousal) on standardised MusiCNN layers of a segment.

    Attributes
    ----------
    layers : tuple of str
        The MusiCNN layers its input concatenates (:class:`mer.audio.musicnn.MusiCNNOutput` fields).
    mean, scale : np.ndarray [shape=(n_inputs,)]
        The standardisation, from the training segments.
    coef : np.ndarray [shape=(2, n_inputs)]
        Valence's weights, then arousal's (zero on the inputs a side does not read).
    intercept : np.ndarray [shape=(2,)]
    context : tuple of int
        Neighbouring segments (each side) whose logits a segment's valence, then arousal, averages with its own
        (:func:`smooth_logits`); the track's value reads every segment once whatever the context.
    """

    layers: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    context: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        n = self.mean.shape
        if n != (sum(LAYER_SIZES.get(name, -1) for name in self.layers),):
            raise ModelError(f"The valence–arousal head's layers ({'+'.join(self.layers)}) do not match its "
                             f"{n[0] if n else 0} inputs; retrain the model.")
        if len(n) != 1 or self.scale.shape != n or self.coef.shape != (2, n[0]) or self.intercept.shape != (2,):
            raise ModelError("The valence–arousal head's arrays do not fit together; retrain the model.")
        if not all(np.isfinite(a).all() for a in (self.mean, self.scale, self.coef, self.intercept)) or \
                (self.scale <= 0).any():
            raise ModelError("The valence–arousal head holds non-finite or zero-scale values; retrain the model.")

    @property
    def n_inputs(self) -> int:
        return int(self.mean.shape[0])

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Valence and arousal logits of segments: (..., n_inputs) → (..., 2)."""
        X = np.asarray(X, dtype=np.float64)
        if X.shape[-1] != self.n_inputs:
            raise ModelError(f"The valence–arousal head reads {self.n_inputs} values of MusiCNN's "
                             f"{'+'.join(self.layers)} per segment, got {X.shape[-1]}.")
        return ((X - self.mean) / self.scale) @ self.coef.T + self.intercept

    def segment_logits(self, X: np.ndarray) -> np.ndarray:
        """Each segment's logits with its :attr:`context`: (n_segments, n_inputs) → (n_segments, 2)."""
        z = self.logits(X)
        return np.stack([smooth_logits(z[:, side], self.context[side]) for side in (0, 1)], axis=1)

    def path(self, X: np.ndarray) -> VAPath:
        """The path of one track from its segments' inputs (n_segments, n_inputs)."""
        seg, track = to_unit(self.segment_logits(X)), to_unit(self.logits(X).mean(axis=0))
        return VAPath(valence=seg[:, 0], arousal=seg[:, 1], track_valence=float(track[0]),
                      track_arousal=float(track[1]))

    def save(self, path: str | os.PathLike) -> None:
        """Write the head as a plain ``.npz`` (no pickle)."""
        np.savez(path, layers=np.array(self.layers), mean=self.mean, scale=self.scale, coef=self.coef,
                 intercept=self.intercept)

    @classmethod
    def load(cls, path: str | os.PathLike) -> VAHead:
        """Read a head written by :meth:`save`.

        Raises
        ------
        ModelError
            The file is missing, damaged or does not describe a head.
        """
        try:
            with np.load(Path(path), allow_pickle=False) as f:
                arrays = {k: f[k].astype(np.float64) for k in ("mean", "scale", "coef", "intercept")}
                return cls(layers=tuple(str(x) for x in f["layers"]), **arrays)
        except (OSError, KeyError, ValueError) as e:
            raise ModelError(f"The valence–arousal head '{path}' cannot be read ({e}); retrain the model or roll "
                             "back.") from None
