"""The 4Q dataset as mer ships it: each clip's quadrant of Russell's plane, its artist, and MusiCNN's view of it.

4Q (Panda, Malheiro and Paiva 2018) labels 900 30-second clips with one quadrant each of Russell's
valence–arousal plane, from their AllMusic mood tags checked by hand: Q1 pleasant and energetic, Q2 unpleasant
and energetic, Q3 unpleasant and calm, Q4 pleasant and calm. mer ships, for the 449 clips the team gave it
(split from the other half by artist), the annotations it needs (song, artist, quadrant, ``PQuad``: the share of
the clip's mood tags in its quadrant) and MusiCNN's per-segment embeddings (:mod:`mer.data.embedded`'s
bundles, float16), never the audio. Artists repeat inside this half, so every cross-validation groups by artist.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .embedded import load_bundled_embeddings

__all__ = ["RESOURCES", "ANNOTATIONS", "LAYER_FILES", "CITATION", "FourQ", "read_annotations", "load_fourq",
           "song_number"]

RESOURCES = Path(__file__).resolve().parent.parent / "resources" / "4q"
ANNOTATIONS = RESOURCES / "annotations.csv"
#: The bundled per-segment embeddings, by MusiCNN layer.
LAYER_FILES: dict[str, Path] = {"mean_pool": RESOURCES / "segment-embeddings.npz",
                                "penultimate": RESOURCES / "segment-penultimate.npz"}
CITATION = ("R. Panda, R. Malheiro, R. P. Paiva. Novel audio features for music emotion recognition. IEEE "
            "Transactions on Affective Computing 11(4), 614-626, 2018.")
_COLUMNS = ("Song", "Artist", "Quadrant", "PQuad")


def song_number(song: str) -> int:
    """The number of a 4Q song id (``MT0000011975`` → 11975), as the bundles store it."""
    if not (isinstance(song, str) and song.startswith("MT") and song[2:].isdigit()):
        raise DataError(f"'{song}' is not a 4Q song id (MT and ten digits).")
    return int(song[2:])


@dataclass(frozen=True)
class FourQ:
    """4Q clips with their labels and, where loaded, MusiCNN layers per segment.

    Attributes
    ----------
    song : np.ndarray [shape=(n,)] of int
        :func:`song_number` of each clip.
    artist : np.ndarray [shape=(n,)] of str
        The artist, lower-cased and stripped (the cross-validation's groups; an unknown one is its own group).
    quadrant : np.ndarray [shape=(n,)] of int in 1..4
    confidence : np.ndarray [shape=(n,)]
        ``PQuad``: the share of the clip's mood tags that lie in its quadrant.
    X : np.ndarray [shape=(n, n_segments, n_inputs)] or None
    layers : tuple of str
        The MusiCNN layers ``X`` concatenates.
    """

    song: np.ndarray
    artist: np.ndarray
    quadrant: np.ndarray
    confidence: np.ndarray
    X: np.ndarray | None = None
    layers: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.song)

    @property
    def valence(self) -> np.ndarray:
        """1 where the clip is pleasant (Q1, Q4), else 0."""
        return np.isin(self.quadrant, (1, 4)).astype(np.int64)

    @property
    def arousal(self) -> np.ndarray:
        """1 where the clip is energetic (Q1, Q2), else 0."""
        return np.isin(self.quadrant, (1, 2)).astype(np.int64)

    @property
    def n_artists(self) -> int:
        return len(set(self.artist))


def read_annotations(path: str | os.PathLike = ANNOTATIONS) -> FourQ:
    """4Q's ``annotations.csv`` (the dataset's own or the bundled copy), without embeddings.

    Raises
    ------
    DataError
        The file is missing, lacks a column, or holds a quadrant other than Q1-Q4.
    """
    import pandas as pd

    try:
        table = pd.read_csv(path, usecols=list(_COLUMNS), dtype={"Song": str, "Artist": str, "Quadrant": str})
    except (OSError, ValueError) as e:
        raise DataError(f"Cannot read 4Q's annotations '{path}' ({e}). It needs the columns "
                        f"{', '.join(_COLUMNS)}.") from None
    quadrant = table["Quadrant"].str.strip().str.upper().map({"Q1": 1, "Q2": 2, "Q3": 3, "Q4": 4})
    if quadrant.isna().any():
        raise DataError(f"4Q's annotations '{path}' hold a quadrant other than Q1-Q4 "
                        f"({table['Quadrant'][quadrant.isna()].iloc[0]!r}).")
    artist = table["Artist"].fillna("").str.strip().str.lower()
    artist = artist.where(artist != "", "unknown artist of " + table["Song"])
    return FourQ(song=np.array([song_number(s) for s in table["Song"]], dtype=np.int64),
                 artist=artist.to_numpy(dtype=str), quadrant=quadrant.to_numpy(dtype=np.int64),
                 confidence=pd.to_numeric(table["PQuad"], errors="coerce").fillna(1.0).to_numpy(dtype=np.float64))


def load_fourq(layers: tuple[str, ...] = ("penultimate",)) -> FourQ:
    """The bundled 4Q clips with MusiCNN's ``layers`` per segment, concatenated in that order (float32).

    Raises
    ------
    DataError
        No bundle of a layer, or a bundle that names other clips than the annotations.
    """
    unknown = [name for name in layers if name not in LAYER_FILES]
    if unknown or not layers:
        raise DataError(f"mer ships 4Q's {', '.join(LAYER_FILES)} embeddings, not {', '.join(unknown) or 'none'}.")
    clips = read_annotations()
    parts = []
    for name in layers:
        emb = load_bundled_embeddings(LAYER_FILES[name], layers=(name,))
        order = {int(s): i for i, s in enumerate(emb.track_id)}
        if any(s not in order for s in clips.song) or len(order) != len(clips):
            raise DataError(f"The bundled 4Q embeddings ({LAYER_FILES[name].name}) and annotations name different "
                            "clips; rebuild both with `python benchmarks/bundle_4q.py --root ../shared/4q`.")
        parts.append(emb.vectors[[order[s] for s in clips.song]].astype(np.float32))
    return FourQ(song=clips.song, artist=clips.artist, quadrant=clips.quadrant, confidence=clips.confidence,
                 X=np.concatenate(parts, axis=2), layers=tuple(layers))
