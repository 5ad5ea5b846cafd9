"""Frozen configuration dataclasses with defaults, checked where they are built.

A model directory stores its configs in ``config.json``; :func:`mer.serial.from_dict` rebuilds them, so a model can
always be rebuilt and its features recomputed exactly as they were when it was trained. Each training setting
carries its label and help in its field's metadata, the one text the command line, the Train page and the docs
show.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from .choices import (
    CHOICES,
    DatasetKind,
    FitKind,
    FrontEndKind,
    Sampler,
    SegmentTarget,
    Ship,
    Target,
    TrackWeights,
    VAInput,
)
from .errors import ConfigError
from .serial import Record

__all__ = ["AudioConfig", "FeatureConfig", "ModelConfig", "TrainConfig", "VAConfig", "DatasetInfo", "Fit",
           "MAX_SEED", "SETTING_TEXT", "MAIN_SETTINGS", "RESAMPLERS", "MAX_PARAMETERS"]

#: The largest seed numpy's and torch's generators take alike.
MAX_SEED = 2**32 - 1


def _field(default: Any, label: str, help: str, *, main: bool = False) -> Any:  # noqa: A002 - argparse's word
    """A training setting: its default, its label and help (``main``: the Train page shows it at the top)."""
    return dataclasses.field(default=default, metadata={"label": label, "help": help, "main": main})


@dataclass(frozen=True)
class Fit:
    """One fit of a training run: what the loop trains, the job counts and the pages show.

    Attributes
    ----------
    kind : FitKind
        Which fit.
    index : int >= 1
        The fold (folds only; 0 otherwise).
    folds : int >= 2
        The run's number of folds (folds only; 0 otherwise).
    """

    kind: FitKind
    index: int = 0
    folds: int = 0

    @classmethod
    def fold(cls, index: int, folds: int) -> Fit:
        """Fold ``index`` (from 1) of ``folds``."""
        return cls(FitKind.FOLD, index, folds)

    @property
    def label(self) -> str:
        """The fit's name, as the stage of its epoch records (:class:`mer.progress.Epoch`): ``"fold 2/5"``."""
        if self.kind == FitKind.FOLD:
            return f"fold {self.index}/{self.folds}"
        return {FitKind.SEGMENT: "ladder: segment protocol", FitKind.STUDY: "ladder: study protocol",
                FitKind.FINAL: "final model"}[self.kind]

    def __str__(self) -> str:
        return self.label


RESAMPLERS: tuple[str, ...] = ("soxr_vhq", "soxr_hq", "soxr_mq", "soxr_lq", "soxr_qq")
#: The most weights a model may have (all members together): 100 M parameters, 400 MB in float32. A config
#: asking for more is refused before anything is built (a typo such as 100000 channels would need 100+ GB).
MAX_PARAMETERS = 100_000_000


def _number(value: float) -> str:
    """A bound as people read it: ``4,294,967,295``, ``0.01``, ``1e-07``."""
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


#: What a field of each type must be, in words (a tuple field holds whole numbers: conv_channels).
_KINDS = {bool: "true or false", int: "a whole number", float: "a finite number", str: "text",
          tuple: "a list of whole numbers"}


def _check(config: Any, ranges: dict[str, tuple[float, float]], extra: list[str] = ()) -> None:
    """Raise :class:`~mer.errors.ConfigError` naming every field of ``config`` of the wrong type or out of range.

    ``ranges`` maps a numeric field (or a tuple-of-int field, checked element-wise) to its inclusive bounds.
    """
    problems = list(extra)
    for f in dataclasses.fields(config):
        value, default = getattr(config, f.name), f.default
        if isinstance(default, StrEnum):  # a persisted choice: read back from JSON as text, kept as its enum
            try:
                object.__setattr__(config, f.name, type(default)(value))
            except ValueError:
                problems.append(f"{f.name} must be one of {', '.join(type(default))} (got {value!r})")
            continue
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)
        elif isinstance(default, tuple):
            ok = isinstance(value, tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            problems.append(f"{f.name} must be {_KINDS.get(type(default), 'a ' + type(default).__name__)} "
                            f"(got {value!r})")
            continue
        if f.name in ranges:
            lo, hi = ranges[f.name]
            values = value if isinstance(value, tuple) else (value,)
            if not values or not all(lo <= v <= hi for v in values):
                problems.append(f"{f.name} must be between {_number(lo)} and {_number(hi)} (got {value!r})")
        if f.name in CHOICES and value not in CHOICES[f.name]:
            problems.append(f"{f.name} must be one of {', '.join(CHOICES[f.name])} (got {value!r})")
    if problems:
        raise ConfigError(f"Invalid {type(config).__name__}: " + "; ".join(problems) + ".")


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

    def __post_init__(self) -> None:
        _check(self, {"sample_rate": (8_000, 96_000), "min_duration_s": (0.1, 7_200), "max_duration_s": (0.1, 7_200),
                      "min_source_rate": (1_000, 768_000), "max_source_rate": (1_000, 768_000),
                      "silence_dbfs": (-200, 0)},
               [f"min_duration_s ({self.min_duration_s}) must not exceed max_duration_s ({self.max_duration_s})"]
               * (self.min_duration_s > self.max_duration_s)
               + [f"resampler must be one of {', '.join(RESAMPLERS)} (got {self.resampler!r})"]
               * (self.resampler not in RESAMPLERS))


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

    def __post_init__(self) -> None:
        _check(self, {"n_segments": (1, 100), "n_fft": (64, 16_384), "hop_length": (1, 16_384),
                      "n_mels": (4, 256), "fmin": (0, 20_000), "window_frames": (4, 4_096), "floor_db": (-200, -1)},
               [f"hop_length ({self.hop_length}) must not exceed n_fft ({self.n_fft})"]
               * (isinstance(self.hop_length, int) and isinstance(self.n_fft, int) and self.hop_length > self.n_fft))


@dataclass(frozen=True)
class ModelConfig:
    """The CNN-LSTM's shape; the network is built from this and the size of its input alone."""

    front_end: FrontEndKind = _field(
        FrontEndKind.MUSICNN, "Front-end (what hears each segment)",
        "MusiCNN: the pretrained tagger's embeddings (frozen). Log-mel: a small CNN trained from scratch on the "
        "segment's log-mel image (needs a corpus with audio).")
    time_pool: int = _field(
        4, "Time pooling (log-mel frames averaged)",
        "Log-mel frames averaged before the CNN: 4 turns 126 frames of 23 ms into 31 of 93 ms (log-mel front-end "
        "only).")
    conv_channels: tuple[int, ...] = _field(
        (96, 96), "CNN channels per block (comma-separated)",
        "One 1-D convolution block per number, each halving time, e.g. 96,96 (log-mel front-end only; the MusiCNN "
        "front-end ignores it).")
    embedding: int = _field(64, "Segment embedding size", "Size of each segment's embedding, the LSTM's input.")
    lstm_hidden: int = _field(48, "LSTM hidden units", "Units of the LSTM that reads the 20 segments in order.")
    lstm_layers: int = _field(1, "LSTM layers", "Stacked LSTM layers.")
    bidirectional: bool = _field(True, "Bidirectional LSTM",
                                 "The LSTM reads the segments both forwards and backwards.")
    # chosen for the MusiCNN front-end by inner validation (the log-mel model used 0.1)
    dropout: float = _field(0.5, "Dropout", "Share of the network's units switched off at random while it learns.",
                            main=True)
    track_statistics: bool = _field(True, "Track statistics in the track head",
                                    "The track head also reads each band's mean and spread over the whole track.")
    # The bundled embeddings hold only pooled layers: fine-tuning needs the audio (train --root DIR).
    fine_tune: bool = _field(
        False, "Fine-tune MusiCNN's last block",
        "Train MusiCNN's last mid-end layer (28,864 weights) with the LSTM instead of keeping it frozen; needs a "
        "corpus with audio.")

    def __post_init__(self) -> None:
        _check(self, {"time_pool": (1, 64), "conv_channels": (1, 1_024), "embedding": (1, 4_096),
                      "lstm_hidden": (1, 2_048), "lstm_layers": (1, 8), "dropout": (0, 0.9)},
               ["conv_channels needs 1 to 8 blocks"] * (isinstance(self.conv_channels, tuple)
                                                       and not 1 <= len(self.conv_channels) <= 8)
               + ["fine_tune needs front_end 'musicnn': the log-mel CNN has no pretrained block to fine-tune"]
               * (self.fine_tune is True and self.front_end == FrontEndKind.LOGMEL))


@dataclass(frozen=True)
class VAConfig:
    """How the valence–arousal head (:mod:`mer.valence`) is trained on 4Q and evaluated (cross-validation grouped
    by artist; the regularisation chosen inside each training set)."""

    valence_input: VAInput = VAInput.PENULTIMATE
    arousal_input: VAInput = VAInput.PENULTIMATE_MEAN_POOL
    # Neighbouring segments (each side) whose logits a segment's value averages with its own: valence gains from
    # one (spliced clips from opposite quadrants, segments on their own clip's side: 0.769 against 0.739), arousal
    # is heard in a segment alone (0.868 against 0.858 with one). benchmarks/valence_cv.py --splices measures it.
    valence_context: int = 1
    arousal_context: int = 0
    # The logistic regressions' inverse L2 strength C is chosen among c_steps values spaced evenly in log from
    # c_min to c_max, by artist-grouped inner folds of the training clips (log loss of the clips' quadrant sides).
    c_min: float = 0.003
    c_max: float = 0.03
    c_steps: int = 3
    inner_folds: int = 3
    cv_folds: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        _check(self, {"c_min": (1e-6, 1e6), "c_max": (1e-6, 1e6), "c_steps": (1, 20), "inner_folds": (2, 10),
                      "cv_folds": (2, 20), "seed": (0, 2**32 - 1), "valence_context": (0, 10),
                      "arousal_context": (0, 10)},
               [f"c_min ({self.c_min}) must not exceed c_max ({self.c_max})"]
               * (isinstance(self.c_min, float) and isinstance(self.c_max, float) and self.c_min > self.c_max))

    @property
    def layers(self) -> tuple[str, ...]:
        """Every layer either side reads, in the order the head's input concatenates them."""
        wanted = set(VAInput(self.valence_input).layers) | set(VAInput(self.arousal_input).layers)
        return tuple(name for name in ("penultimate", "mean_pool") if name in wanted)

    @property
    def c_grid(self) -> tuple[float, ...]:
        """The values of C the inner folds choose among."""
        return tuple(float(c) for c in np.geomspace(self.c_min, self.c_max, self.c_steps))


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained and evaluated."""

    epochs: int = _field(50, "Epochs (at most; early stopping)", "Passes over the training tracks, at most.",
                         main=True)
    lr: float = _field(1e-3, "Learning rate", "AdamW's step size at the start; cut when validation stalls.",
                       main=True)
    batch_size: int = _field(16, "Tracks per batch", "Tracks (20 segments each) per training step.", main=True)
    weight_decay: float = _field(1e-2, "Weight decay (AdamW)",
                                 "Pulls the weights towards zero each step; larger values regularise more.")
    target: Target = _field(Target.SHARES, "Target",
                            "What the track head learns: the listeners' vote shares, or the one-hot of the "
                            "dominant emotion.", main=True)
    segment_weight: float = _field(
        1.0, "Segment-head loss weight",
        "How much the per-segment head's loss counts beside the track head's; 0 trains the track head alone (the "
        "timeline then has no loss of its own).")
    # "shares" = each segment its track's target as is; "dominant" = each segment the one-hot of the track
    # target's largest emotion (sharper segment probabilities); "pooled" = the mean of the segments'
    # probabilities learns the track's target, so segments may differ as long as they agree on average
    # (multiple-instance learning). The default: its timeline follows spliced tracks best on the inner
    # validation tracks (benchmarks/emotify_cv.py)
    segment_target: SegmentTarget = _field(
        SegmentTarget.POOLED, "What each segment learns",
        "The target of the per-segment head, which draws the timeline on the Analyze page.")
    # By how many listeners voted on a track (11 to 59 in Emotify), since few votes make noisy shares:
    # "sqrt_responses" = √n (the standard error of a share falls as 1/√n), "responses" = n, "none" = equal;
    # normalised to mean 1 over the fitted tracks, and applied to early stopping's validation loss too. Tracks of
    # unknown count weigh 1. The default: the lowest inner-validation loss of the three (benchmarks/emotify_cv.py)
    track_weights: TrackWeights = _field(
        TrackWeights.SQRT_RESPONSES, "Weight of each training track",
        "Tracks with few listeners have noisy vote shares: weight each track's loss by the square root of its "
        "number of listeners, by the number itself, or equally.")
    genre_weight: float = _field(
        0.0, "Genre loss weight",
        "Weight of an auxiliary loss that predicts the track's genre (a target, never an input); 0 = off.")
    sampler: Sampler = _field(Sampler.NONE, "Oversampling (training tracks only)",
                              "How the training tracks' classes are balanced; fitted on the training tracks only.",
                              main=True)
    k_neighbors: int = _field(5, "Oversampling neighbours",
                              "Neighbours the SMOTE-style samplers interpolate between (ignored without "
                              "oversampling).")
    class_weighted: bool = _field(False, "Class-weighted loss",
                                  "Weight the loss by the inverse class frequency of the training tracks.", main=True)
    mixup: float = _field(0.4, "Mixup strength (α)",
                          "Blends random pairs of training tracks and their targets with a Beta(α, α) weight; 0 = "
                          "off.")
    fine_tune_lr: float = _field(
        1e-4, "Fine-tuning learning rate",
        "Learning rate of MusiCNN's last block when it is fine-tuned (see 'Fine-tune MusiCNN'); small, as it "
        "starts from weights learnt on a million songs.")
    augment: bool = _field(
        True, "Augment log-mel images",
        "During training, mask one band of frequencies and one stretch of time per batch and shift each segment in "
        "time (log-mel front-end only).")
    val_fraction: float = _field(0.15, "Validation share of the training tracks",
                                 "Training tracks held out to decide early stopping and learning-rate cuts.")
    patience: int = _field(12, "Early-stopping patience (epochs)",
                           "Stop after this many epochs without a better validation loss.")
    lr_patience: int = _field(3, "Learning-rate patience (epochs)",
                              "Cut the learning rate after this many epochs without a better validation loss.")
    lr_factor: float = _field(0.5, "Learning-rate cut factor", "The learning rate is multiplied by this at each cut.")
    seed: int = _field(0, "Seed", "Seed of the splits, samplers and weights: the same seed, the same numbers.",
                       main=True)
    cv_folds: int = _field(5, "Cross-validation folds (0 = none)",
                           "Track-grouped cross-validation folds of the reported metrics.", main=True)
    ladder: bool = _field(False, "Also measure the leakage ladder",
                          "Also measure the study and segment protocols (two segment-level runs).", main=True)
    ship: Ship = _field(Ship.FOLDS, "Which model is saved",
                        "Average the cross-validation fold models, or train one more network on every track.")

    def fits(self) -> list[Fit]:
        """The fits a training run makes, in order (their labels are the stages of its epoch records)."""
        k = self.cv_folds
        return ([Fit.fold(i + 1, k) for i in range(k)]
                + ([Fit(FitKind.SEGMENT), Fit(FitKind.STUDY)] if self.ladder and k else [])
                + ([Fit(FitKind.FINAL)] if self.ship == "all" else []))

    def __post_init__(self) -> None:
        extra = []
        if isinstance(self.cv_folds, int) and self.cv_folds == 1:
            extra.append("cv_folds must be 0 (none) or at least 2 folds (got 1)")
        if self.ship == "folds" and self.cv_folds == 0:
            extra.append("shipping the fold models (ship='folds') needs cross-validation (cv_folds of 2 or more)")
        _check(self, {"epochs": (1, 10_000), "lr": (1e-7, 0.99), "batch_size": (2, 4_096), "weight_decay": (0, 1),
                      "segment_weight": (0, 100), "genre_weight": (0, 100), "k_neighbors": (1, 100),
                      "mixup": (0, 10), "fine_tune_lr": (1e-7, 0.99), "val_fraction": (0.01, 0.49), "patience": (1, 10_000),
                      "lr_patience": (0, 10_000), "lr_factor": (0.01, 0.99), "seed": (0, MAX_SEED),
                      "cv_folds": (0, 50)}, extra)


def _settings(*classes: type) -> dict[str, tuple[str, str]]:
    return {f.name: (f.metadata["label"], f.metadata["help"]) for cls in classes for f in dataclasses.fields(cls)}


#: Every training setting's label and help (TrainConfig and ModelConfig fields): read by the command line's
#: ``--help``, the Train page and the docs alike.
SETTING_TEXT: dict[str, tuple[str, str]] = _settings(TrainConfig, ModelConfig)
#: The settings the Train page shows at the top, each with its own input; the others are advanced.
MAIN_SETTINGS = frozenset(f.name for cls in (TrainConfig, ModelConfig) for f in dataclasses.fields(cls)
                          if f.metadata.get("main"))


@dataclass(frozen=True)
class DatasetInfo(Record):
    """What a model was trained on, as its ``config.json`` records it and its card and pages show it (a model saved
    without one: unknown data)."""

    description: str = "unknown data"  # e.g. "Emotify, 320 tracks with their listeners' votes (the bundled MusiCNN embeddings)"
    kind: str = DatasetKind.UNKNOWN  # a DatasetKind: real listeners' votes or a synthetic corpus
    n_tracks: int = 0
    root: str = ""  # the corpus folder, or "bundled"
    fingerprint: str = ""  # changes when the data does
