"""Compact per-segment features: what mer ships of the Emotify audio it has.

Emotify's audio never ships, but the Dataset page must show SMOTE before and
after and a PCA of real versus synthetic samples with nothing downloaded. So
mer bundles, for each of the 320 tracks the team holds, each of its 20 segments
summarised by the mean and the standard deviation over time of its 64 log-mel
bands (dB), computed with :mod:`mer.audio.features` and the default configs:
``X[track, segment] = [mean of band 0..63, std of band 0..63]``, float16,
in ``mer/resources/emotify/segment-features.npz`` beside the annotations.

:func:`build_compact_features` recomputes them from any Emotify-layout folder
(``benchmarks/bundle_features.py`` writes the bundled file with it).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio.decode import Audio
from ..audio.features import FEATURES_VERSION, segment_spectra_and_logmel
from ..audio.segments import segment_bounds
from ..config import AudioConfig, FeatureConfig
from ..errors import DataError
from ..files import loads_json, open_atomic
from ..pool import AUDIO_MODULES, map_with_progress
from ..progress import ProgressFn
from ..serial import to_dict
from .dataset import decode_and_summarise
from .emotify import BUNDLED_DATA_CSV, load_corpus

__all__ = ["CompactFeatures", "BUNDLED_FEATURES", "compact_segment_features", "build_compact_features",
           "save_compact_features", "load_compact_features"]

#: Per-segment log-mel means and standard deviations of the 320 Emotify tracks in the team's folder.
BUNDLED_FEATURES = BUNDLED_DATA_CSV.parent / "segment-features.npz"


@dataclass(frozen=True)
class CompactFeatures:
    """Per-segment summaries of a set of tracks.

    Attributes
    ----------
    X : np.ndarray [shape=(n_tracks, n_segments, 2 * n_mels), dtype=float16]
        Per segment, the mean (first ``n_mels``) and standard deviation (last
        ``n_mels``) over time of each log-mel band, in dB.
    track_id : np.ndarray [shape=(n_tracks,)]
        Emotify's official track ids (those of the bundled ``data.csv``).
    features_version : int
        :data:`mer.audio.features.FEATURES_VERSION` of the code that computed them.
    feature_config : dict
        The :class:`~mer.config.FeatureConfig` used, as a dict.
    """

    X: np.ndarray
    track_id: np.ndarray
    features_version: int
    feature_config: dict

    def __len__(self) -> int:
        return len(self.track_id)

    @property
    def n_segments(self) -> int:
        return int(self.X.shape[1])


def compact_segment_features(samples: np.ndarray, sample_rate: int,
                             config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Mean and standard deviation over time of each log-mel band, per segment.

    Returns
    -------
    np.ndarray [shape=(config.n_segments, 2 * config.n_mels), dtype=float32]
    """
    segments = segment_bounds(len(samples), n_segments=config.n_segments, sample_rate=sample_rate)
    _, logmel = segment_spectra_and_logmel(samples, segments, config)
    return np.concatenate([logmel.mean(axis=-1), logmel.std(axis=-1)], axis=1).astype(np.float32)


def _summary(audio: Audio, feature_config: FeatureConfig) -> np.ndarray:
    return compact_segment_features(audio.samples, audio.sample_rate, feature_config)


def _official_ids(root: Path, ids: np.ndarray) -> np.ndarray:
    """Map a renumbered folder's ids to Emotify's (``original_ids.csv``: track_id, original_track_id)."""
    mapping = root / "original_ids.csv"
    if not mapping.is_file():
        return ids
    table = pd.read_csv(mapping, skipinitialspace=True).set_index("track_id")["original_track_id"]
    return table.loc[ids].to_numpy()


def build_compact_features(root: str | os.PathLike, *, audio_config: AudioConfig = AudioConfig(),
                           feature_config: FeatureConfig = FeatureConfig(), workers: int | None = None,
                           on_progress: ProgressFn | None = None) -> CompactFeatures:
    """Compute the compact features of every track of an Emotify-layout folder.

    A folder whose tracks were renumbered (the team's 320-track folder) carries
    ``original_ids.csv``; its ids are mapped back to Emotify's, so the features
    join the bundled annotations.

    Raises
    ------
    DataError
        The folder is not a complete corpus (see :func:`mer.data.emotify.load_corpus`),
        or a track cannot be decoded.
    """
    root = Path(root)
    corpus = load_corpus(root)
    jobs = [(p, audio_config, feature_config, _summary, f"summarise '{p}'") for p in corpus.tracks["path"]]
    rows = map_with_progress(decode_and_summarise, jobs, message="summarising segments", workers=workers, on_progress=on_progress,
                             preload=("mer.data.compact", *AUDIO_MODULES))
    ids = _official_ids(root, corpus.tracks["track_id"].to_numpy())
    return CompactFeatures(X=np.stack(rows).astype(np.float16), track_id=ids.astype(np.int32),
                           features_version=FEATURES_VERSION, feature_config=to_dict(feature_config))


def save_compact_features(features: CompactFeatures, path: str | os.PathLike) -> Path:
    """Write to a temporary name beside ``path``, then rename (compressed ``.npz``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_atomic(path) as f:
        np.savez_compressed(f, X=features.X, track_id=features.track_id,
                            segment=np.arange(features.n_segments, dtype=np.int8),
                            features_version=np.int32(features.features_version),
                            feature_config=np.array(json.dumps(features.feature_config)))
    return path


def load_compact_features(path: str | os.PathLike = BUNDLED_FEATURES) -> CompactFeatures:
    """Read compact features written by :func:`save_compact_features` (default: the bundled file).

    Raises
    ------
    DataError
        The file is missing or not such a file (names the rebuild command).
    """
    path = Path(path)
    remedy = "Rebuild it with: python benchmarks/bundle_features.py --root <Emotify folder>."
    if not path.is_file():
        raise DataError(f"No compact features at '{path}'. {remedy}")
    try:
        with np.load(path, allow_pickle=False) as z:
            X, ids = z["X"], z["track_id"]
            version, config = int(z["features_version"]), loads_json(str(z["feature_config"]), what="its feature config",
                                                                            error=DataError)
    except (OSError, KeyError, ValueError) as e:
        raise DataError(f"'{path.name}' is not a compact-features file ({e}). {remedy}") from None
    if X.ndim != 3 or len(X) != len(ids):
        raise DataError(f"'{path.name}' holds features of shape {X.shape} for {len(ids)} tracks. {remedy}")
    return CompactFeatures(X=X, track_id=ids, features_version=version, feature_config=config)
