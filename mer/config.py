"""Frozen configuration dataclasses with defaults.

A model directory stores all four configs in ``config.json``; :func:`from_dict`
rebuilds them, so a model can always be rebuilt and its features recomputed
exactly as they were when it was trained.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "EMOTIONS",
    "GENRES",
    "AudioConfig",
    "FeatureConfig",
    "ModelConfig",
    "TrainConfig",
    "SAMPLERS",
    "PROTOCOLS",
    "to_dict",
    "from_dict",
    "emotion_label",
    "data_dir",
]

#: The nine GEMS emotions, in the column order of Emotify's ``data.csv``.
EMOTIONS: tuple[str, ...] = (
    "amazement",
    "solemnity",
    "tenderness",
    "nostalgia",
    "calmness",
    "power",
    "joyful_activation",
    "tension",
    "sadness",
)

#: Emotify's four genres, 100 excerpts each.
GENRES: tuple[str, ...] = ("classical", "rock", "electronic", "pop")

SAMPLERS: tuple[str, ...] = ("smote", "borderline_smote", "adasyn", "random", "none")
PROTOCOLS: tuple[str, ...] = ("track", "segment")


def data_dir() -> Path:
    """Where generated data lives (demo corpus, feature cache): ``$MER_DATA_DIR`` or ``data/`` (git-ignored)."""
    return Path(os.environ.get("MER_DATA_DIR", Path(__file__).resolve().parent.parent / "data"))


def emotion_label(name: str) -> str:
    """Readable form of an emotion name: ``"joyful_activation"`` → ``"joyful activation"``."""
    return name.replace("_", " ")


@dataclass(frozen=True)
class AudioConfig:
    """How audio is decoded and which files are accepted."""

    sample_rate: int = 22_050  # analysis rate; everything is resampled to it
    min_duration_s: float = 10.0
    max_duration_s: float = 1_200.0  # 20 minutes
    min_source_rate: int = 8_000
    max_source_rate: int = 192_000
    silence_dbfs: float = -60.0  # a track whose peak is below this is "silent"
    resampler: str = "soxr_hq"


@dataclass(frozen=True)
class FeatureConfig:
    """How a track becomes 20 segments, their FFT spectra and model inputs."""

    n_segments: int = 20
    n_fft: int = 2_048  # FFT size for both the spectra and the log-mel frames
    hop_length: int = 512
    n_mels: int = 64
    fmin: float = 30.0
    # Frames in one model window: 126 frames (n_fft 2048, hop 512, no centring) is exactly one
    # segment of a 60 s track (Emotify's excerpt length), so training sees whole segments.
    window_frames: int = 126
    floor_db: float = -80.0  # log-mel and spectrum floor; 0 dB is a full-scale sine


@dataclass(frozen=True)
class ModelConfig:
    """The CNN-LSTM's shape; the network is built from this alone."""

    n_mels: int = 64
    n_classes: int = 9
    conv_channels: tuple[int, ...] = (16, 32, 48)  # one conv block per entry, each halves both axes
    lstm_hidden: int = 48
    lstm_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.3


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained."""

    epochs: int = 40
    lr: float = 1e-3
    batch_size: int = 64
    dropout: float = 0.3
    weight_decay: float = 1e-4
    sampler: str = "smote"  # one of SAMPLERS, fitted on the training fold only
    k_neighbors: int = 5
    protocol: str = "track"  # "track": split by track; "segment": segments shuffled (the study's)
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    patience: int = 8  # early stopping: epochs without a better validation loss
    lr_patience: int = 2  # ReduceLROnPlateau patience
    lr_factor: float = 0.5
    seed: int = 0
    threads: int = 2
    # Training-time augmentation of each window: mel-axis shift of up to ±2 bands (a small
    # transposition), a circular time shift, and one frequency and one time mask (SpecAugment).
    augment: bool = True


_C = TypeVar("_C")


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass."""
    return dataclasses.asdict(config)


def from_dict(cls: type[_C], data: dict[str, Any] | None) -> _C:
    """Rebuild a config dataclass from :func:`to_dict` output.

    Unknown keys are ignored (a newer mer may add fields); lists become tuples
    where the field default is a tuple.
    """
    data = data or {}
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        value = data[f.name]
        if isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)
