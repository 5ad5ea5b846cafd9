"""Frozen configuration dataclasses with defaults.

A model directory stores all four configs in ``config.json``; :func:`from_dict`
rebuilds them, so a model can always be rebuilt and its features recomputed
exactly as they were when it was trained.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "EMOTIONS",
    "GENRES",
    "AudioConfig",
    "FeatureConfig",
    "ModelConfig",
    "TrainConfig",
    "RunOptions",
    "MAX_SEED",
    "SAMPLERS",
    "PROTOCOLS",
    "TARGETS",
    "SHIPS",
    "FRONT_ENDS",
    "FrontEndKind",
    "FitKind",
    "Fit",
    "Sampler",
    "Target",
    "SegmentTarget",
    "TrackWeights",
    "Ship",
    "SHIP_LABELS",
    "CHOICES",
    "SETTING_TEXT",
    "MAIN_SETTINGS",
    "RESAMPLERS",
    "MAX_PARAMETERS",
    "to_dict",
    "from_dict",
    "read_run_config",
    "write_run_config",
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

class Sampler(StrEnum):
    """How a training fold's classes are balanced (:mod:`mer.data.balance`)."""

    NONE = "none"
    SMOTE = "smote"
    BORDERLINE_SMOTE = "borderline_smote"
    ADASYN = "adasyn"
    RANDOM = "random"


class Target(StrEnum):
    """What the track head learns: the listeners' vote shares, or the one-hot of the dominant emotion."""

    SHARES = "shares"
    DOMINANT = "dominant"


class SegmentTarget(StrEnum):
    """What the segment head learns (``TrainConfig.segment_target``)."""

    SHARES = "shares"
    DOMINANT = "dominant"
    POOLED = "pooled"


class TrackWeights(StrEnum):
    """How much each training track's loss counts (``TrainConfig.track_weights``)."""

    NONE = "none"
    SQRT_RESPONSES = "sqrt_responses"
    RESPONSES = "responses"


class Ship(StrEnum):
    """What a training run saves: the cross-validation's fold models averaged, or one network on every track."""

    FOLDS = "folds"
    ALL = "all"


class FrontEndKind(StrEnum):
    """What hears each segment (:mod:`mer.frontend`): the pretrained MusiCNN, or a CNN on the log-mel image."""

    MUSICNN = "musicnn"
    LOGMEL = "logmel"


class FitKind(StrEnum):
    """Which fit of a training run's plan (:meth:`TrainConfig.fits`)."""

    FOLD = "fold"  # a cross-validation fold
    SEGMENT = "segment"  # the leakage ladder's segment protocol
    STUDY = "study"  # the leakage ladder's study protocol
    FINAL = "final"  # one network on every track


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


SAMPLERS: tuple[str, ...] = tuple(Sampler)
PROTOCOLS: tuple[str, ...] = ("study", "segment", "track")
TARGETS: tuple[str, ...] = tuple(Target)
SEGMENT_TARGETS: tuple[str, ...] = tuple(SegmentTarget)
TRACK_WEIGHTS: tuple[str, ...] = tuple(TrackWeights)
SHIPS: tuple[str, ...] = tuple(Ship)
FRONT_ENDS: tuple[str, ...] = tuple(FrontEndKind)
SHIP_LABELS: dict[str, str] = {"folds": "the cross-validation fold models, averaged",
                               "all": "one network trained on every track"}
#: The allowed values of each text setting: the command line's choices, the Train page's options.
CHOICES: dict[str, tuple[str, ...]] = {"target": TARGETS, "segment_target": SEGMENT_TARGETS, "track_weights": TRACK_WEIGHTS, "sampler": SAMPLERS, "ship": SHIPS,
                                       "front_end": FRONT_ENDS}


#: The folder above the package: a checkout of mer's repository, or an installation's site-packages.
PACKAGE_PARENT = Path(__file__).resolve().parent.parent


def from_checkout() -> bool:
    """Whether mer runs from a checkout of its repository (its bundled models beside the package), not from an
    installed package."""
    return (PACKAGE_PARENT / "models" / "default" / "config.json").is_file()


def data_dir() -> Path:
    """Where generated data lives (demo corpus, feature cache, an installation's models): ``$MER_DATA_DIR``, else
    ``data/`` of the checkout (git-ignored), else ``$XDG_DATA_HOME/mer`` (``~/.local/share/mer``) for an
    installed package."""
    if "MER_DATA_DIR" in os.environ:
        return Path(os.environ["MER_DATA_DIR"])
    if from_checkout():
        return PACKAGE_PARENT / "data"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "mer"


def emotion_label(name: str) -> str:
    """Readable form of an emotion name: ``"joyful_activation"`` → ``"joyful activation"``."""
    return name.replace("_", " ")


RESAMPLERS: tuple[str, ...] = ("soxr_vhq", "soxr_hq", "soxr_mq", "soxr_lq", "soxr_qq")
#: The most weights a model may have (all members together): 100 M parameters, 400 MB in float32. A config
#: asking for more is refused before anything is built (a typo such as 100000 channels would need 100+ GB).
MAX_PARAMETERS = 100_000_000


def _number(value: float) -> str:
    """A bound as people read it: ``4,294,967,295``, ``0.01``, ``1e-07``."""
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _check(config: Any, ranges: dict[str, tuple[float, float]], extra: list[str] = ()) -> None:
    """Raise :class:`~mer.errors.ConfigError` naming every field of ``config`` of the wrong type or out of range.

    ``ranges`` maps a numeric field (or a tuple-of-int field, checked element-wise) to its inclusive bounds.
    """
    from .errors import ConfigError

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
            kind = "finite number" if isinstance(default, float) else type(default).__name__
            problems.append(f"{f.name} must be a {kind} (got {value!r})")
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

    # What hears each segment: "musicnn" = the pretrained MusiCNN (frozen; its embeddings feed the LSTM),
    # "logmel" = the 1-D CNN below, trained from scratch on the segment's log-mel image.
    front_end: FrontEndKind = FrontEndKind.MUSICNN
    time_pool: int = 4  # log-mel frames averaged before the CNN: 126 frames of 23 ms → 31 of 93 ms
    conv_channels: tuple[int, ...] = (96, 96)  # one 1-D conv block per entry (mel bands in), each halves time
    embedding: int = 64  # size of a segment's embedding, the LSTM's input
    lstm_hidden: int = 48
    lstm_layers: int = 1
    bidirectional: bool = True  # the LSTM runs across the 20 segments both ways
    dropout: float = 0.5  # chosen for the MusiCNN front-end by inner validation (the log-mel model used 0.1)
    track_statistics: bool = True  # the track head also reads each band's mean and std over the whole track
    # MusiCNN front-end: train its last mid-end layer (28,864 weights) with the LSTM instead of keeping it frozen.
    # Needs the audio (the bundled embeddings hold only pooled layers): train --root DIR.
    fine_tune: bool = False

    def __post_init__(self) -> None:
        _check(self, {"time_pool": (1, 64), "conv_channels": (1, 1_024), "embedding": (1, 4_096),
                      "lstm_hidden": (1, 2_048), "lstm_layers": (1, 8), "dropout": (0, 0.9)},
               ["conv_channels needs 1 to 8 blocks"] * (isinstance(self.conv_channels, tuple)
                                                       and not 1 <= len(self.conv_channels) <= 8)
               + ["fine_tune needs front_end 'musicnn': the log-mel CNN has no pretrained block to fine-tune"]
               * (self.fine_tune is True and self.front_end == FrontEndKind.LOGMEL))


class VAInput(StrEnum):
    """The MusiCNN layers one side of the valence–arousal head reads per segment (both ship for 4Q's clips).

    Chosen on 4Q's grouped cross-validation (benchmarks/valence_cv.py --variants): valence reads best from the
    tagger's 200 last hidden units alone (single segments 0.756 against 0.745 with mean_pool added), arousal from
    both (0.877 against 0.866).
    """

    PENULTIMATE = "penultimate"  # the tagger's 200 last hidden units
    MEAN_POOL = "mean_pool"  # the GEMS head's input, 753 values
    PENULTIMATE_MEAN_POOL = "penultimate+mean_pool"

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(self.value.split("+"))


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

    epochs: int = 50
    lr: float = 1e-3
    batch_size: int = 16  # tracks per batch (each 20 segments)
    weight_decay: float = 1e-2  # AdamW
    target: Target = Target.SHARES  # one of TARGETS: "shares" = listeners' vote shares, "dominant" = one-hot argmax
    segment_weight: float = 1.0  # weight of the segment head's loss (see segment_target)
    # What the segment head learns, one of SEGMENT_TARGETS: "shares" = each segment its track's target as is;
    # "dominant" = each segment the one-hot of the track target's largest emotion (sharper segment
    # probabilities); "pooled" = the mean of the segments' probabilities learns the track's target, so
    # segments may differ as long as they agree on average (multiple-instance learning). The default: its
    # timeline follows spliced tracks best on the inner validation tracks (benchmarks/emotify_cv.py)
    segment_target: SegmentTarget = SegmentTarget.POOLED
    # How much each training track's loss counts, one of TRACK_WEIGHTS: by how many listeners voted on it (11 to
    # 59 in Emotify), since few votes make noisy shares. "sqrt_responses" = √n (the standard error of a share
    # falls as 1/√n), "responses" = n, "none" = equal; normalised to mean 1 over the fitted tracks, and applied
    # to early stopping's validation loss too. Tracks of unknown count weigh 1. The default: the lowest
    # inner-validation loss of the three (benchmarks/emotify_cv.py)
    track_weights: TrackWeights = TrackWeights.SQRT_RESPONSES
    genre_weight: float = 0.0  # weight of the auxiliary genre loss (genre is a target, never an input)
    sampler: Sampler = Sampler.NONE  # one of SAMPLERS, fitted on the training tracks only
    k_neighbors: int = 5
    class_weighted: bool = False  # weight the loss by inverse class frequency of the training tracks
    mixup: float = 0.4  # Beta(α, α) mixup between training tracks and their targets; 0 = off
    # With ModelConfig.fine_tune: the learning rate of MusiCNN's last block (no weight decay), small because
    # it starts from weights learnt on a million songs.
    fine_tune_lr: float = 1e-4
    # Training-time augmentation: one frequency and one time mask per batch (SpecAugment) and a circular
    # time shift of every segment image.
    augment: bool = True
    val_fraction: float = 0.15  # training tracks held out for early stopping and learning-rate decisions
    patience: int = 12  # early stopping: epochs without a better validation loss
    lr_patience: int = 3  # ReduceLROnPlateau patience
    lr_factor: float = 0.5
    seed: int = 0
    cv_folds: int = 5  # track-grouped cross-validation folds for the reported metrics; 0 = none
    ladder: bool = False  # also measure the study and segment protocols (two segment-level runs)
    ship: Ship = Ship.FOLDS  # one of SHIPS: "folds" = average the cross-validation fold models; "all" = one fit on all tracks

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


#: The settings the Train page shows at the top, each with its own input; the others are advanced.
MAIN_SETTINGS = frozenset({"epochs", "lr", "batch_size", "target", "sampler", "class_weighted", "cv_folds", "ladder",
                           "seed", "dropout"})
#: The Train page's label and help text of every advanced setting (TrainConfig and ModelConfig fields), one
#: source for both; a test holds it to the dataclasses' fields.
SETTING_TEXT: dict[str, tuple[str, str]] = {
    "weight_decay": ("Weight decay (AdamW)", "Pulls the weights towards zero each step; larger values regularise more."),
    "segment_weight": ("Segment-head loss weight",
                       "How much the per-segment head's loss counts beside the track head's; 0 trains the track "
                       "head alone (the timeline then has no loss of its own)."),
    "segment_target": ("What each segment learns",
                       "The target of the per-segment head, which draws the timeline on the Analyze page."),
    "track_weights": ("Weight of each training track",
                      "Tracks with few listeners have noisy vote shares: weight each track's loss by the square "
                      "root of its number of listeners, by the number itself, or equally."),
    "genre_weight": ("Genre loss weight",
                     "Weight of an auxiliary loss that predicts the track's genre (a target, never an input); 0 = off."),
    "k_neighbors": ("Oversampling neighbours",
                    "Neighbours the SMOTE-style samplers interpolate between (ignored without oversampling)."),
    "mixup": ("Mixup strength (α)",
              "Blends random pairs of training tracks and their targets with a Beta(α, α) weight; 0 = off."),
    "fine_tune_lr": ("Fine-tuning learning rate",
                     "Learning rate of MusiCNN's last block when it is fine-tuned (see 'Fine-tune MusiCNN'); "
                     "small, as it starts from weights learnt on a million songs."),
    "augment": ("Augment log-mel images",
                "During training, mask one band of frequencies and one stretch of time per batch and shift each "
                "segment in time (log-mel front-end only)."),
    "val_fraction": ("Validation share of the training tracks",
                     "Training tracks held out to decide early stopping and learning-rate cuts."),
    "patience": ("Early-stopping patience (epochs)",
                 "Stop after this many epochs without a better validation loss."),
    "lr_patience": ("Learning-rate patience (epochs)",
                    "Cut the learning rate after this many epochs without a better validation loss."),
    "lr_factor": ("Learning-rate cut factor", "The learning rate is multiplied by this at each cut."),
    "ship": ("Which model is saved",
             "Average the cross-validation fold models, or train one more network on every track."),
    "front_end": ("Front-end (what hears each segment)",
                  "MusiCNN: the pretrained tagger's embeddings (frozen). Log-mel: a small CNN trained from scratch "
                  "on the segment's log-mel image (needs a corpus with audio)."),
    "time_pool": ("Time pooling (log-mel frames averaged)",
                  "Log-mel frames averaged before the CNN: 4 turns 126 frames of 23 ms into 31 of 93 ms "
                  "(log-mel front-end only)."),
    "conv_channels": ("CNN channels per block (comma-separated)",
                      "One 1-D convolution block per number, each halving time, e.g. 96,96 (log-mel front-end "
                      "only; the MusiCNN front-end ignores it)."),
    "embedding": ("Segment embedding size", "Size of each segment's embedding, the LSTM's input."),
    "lstm_hidden": ("LSTM hidden units", "Units of the LSTM that reads the 20 segments in order."),
    "lstm_layers": ("LSTM layers", "Stacked LSTM layers."),
    "bidirectional": ("Bidirectional LSTM", "The LSTM reads the segments both forwards and backwards."),
    "track_statistics": ("Track statistics in the track head",
                         "The track head also reads each band's mean and spread over the whole track."),
    "fine_tune": ("Fine-tune MusiCNN's last block",
                  "Train MusiCNN's last mid-end layer (28,864 weights) with the LSTM instead of keeping it frozen; "
                  "needs a corpus with audio."),
}


#: The largest seed numpy's and torch's generators take alike.
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class RunOptions:
    """The numbers a command takes besides a model's configs, checked before any work starts.

    Each is None where the command line left it out (the command's default then applies).

    Attributes
    ----------
    seed : int in [0, 2**32 - 1], optional
        Seed of the splits and samplers.
    k_neighbors : int in [1, 100], optional
        Neighbours of the SMOTE-style samplers.
    threads : int in [1, 1024], optional
        Torch threads of this process.
    workers : int in [1, 1024], optional
        Worker processes (or Ray actors).
    chunk_size : int in [1, 1_000_000], optional
        Files per chunk of a batch's tables.
    """

    seed: int | None = None
    k_neighbors: int | None = None
    threads: int | None = None
    workers: int | None = None
    chunk_size: int | None = None

    def __post_init__(self) -> None:
        from .errors import ConfigError

        ranges = {"seed": (0, MAX_SEED), "k_neighbors": (1, 100), "threads": (1, 1_024), "workers": (1, 1_024),
                  "chunk_size": (1, 1_000_000)}
        problems = []
        for name, (lo, hi) in ranges.items():
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(f"{name} must be a whole number (got {value!r})")
            elif not lo <= value <= hi:
                problems.append(f"{name} must be between {lo:,} and {hi:,} (got {value:,})")
        if problems:
            raise ConfigError("Invalid options: " + "; ".join(problems) + ".")


_C = TypeVar("_C")


def read_run_config(path: str | os.PathLike) -> tuple[TrainConfig, ModelConfig]:
    """The configs of a training run from a JSON file ``{"train": {...}, "model": {...}}`` (see :func:`write_run_config`).

    Raises
    ------
    TrainingError
        The file is missing, not JSON, or holds a field no config has.
    """
    from .errors import TrainingError
    from .files import read_json

    try:
        data = read_json(path, error=TrainingError)
        return _strict(TrainConfig, data.get("train", {})), _strict(ModelConfig, data.get("model", {}))
    except FileNotFoundError:
        raise TrainingError(f"No run config at '{path}'.") from None
    except (AttributeError, TypeError, ValueError) as e:
        raise TrainingError(f"'{path}' is not a valid run config ({e}). Write it with write_run_config.") from None


def write_run_config(path: str | os.PathLike, train: TrainConfig, model: ModelConfig,
                     va: VAConfig | None = VAConfig()) -> None:
    """Write the configs of a training run as JSON (read back by ``python -m mer train --config``), atomically;
    ``va`` None trains no valence–arousal head."""
    from .files import write_json_atomic

    write_json_atomic(path, {"train": to_dict(train), "model": to_dict(model),
                             "valence_arousal": None if va is None else to_dict(va)})


def read_va_config(path: str | os.PathLike) -> VAConfig | None:
    """The valence–arousal settings of a run config (:func:`write_run_config`): its ``valence_arousal`` section,
    the defaults where the file has none, None where it says null (no head).

    Raises
    ------
    TrainingError
        The file is missing or not JSON, or the section holds a field :class:`VAConfig` has not.
    """
    from .errors import TrainingError
    from .files import read_json

    try:
        data = read_json(path, error=TrainingError)
        section = data.get("valence_arousal", {})
        return None if section is None else _strict(VAConfig, section)
    except FileNotFoundError:
        raise TrainingError(f"No run config at '{path}'.") from None
    except (AttributeError, TypeError, ValueError) as e:
        raise TrainingError(f"'{path}' is not a valid run config ({e}). Write it with write_run_config.") from None


def _strict(cls: type[_C], data: dict[str, Any]) -> _C:
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {sorted(unknown)}")
    return from_dict(cls, data)


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


@dataclass(frozen=True)
class DatasetInfo:
    """What a model was trained on, as its ``config.json`` records it and its card and pages show it."""

    description: str  # e.g. "Emotify, 320 tracks with their listeners' votes (the bundled MusiCNN embeddings)"
    kind: str = "unknown"  # "emotify" (real listeners) or "demo" (synthetic)
    n_tracks: int = 0
    root: str = ""  # the corpus folder, or "bundled"
    fingerprint: str = ""  # changes when the data does

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> DatasetInfo:
        """From ``config.json``'s ``"dataset"`` (unknown keys ignored; a model saved without one: unknown data)."""
        d = d if isinstance(d, dict) else {}
        return cls(description=str(d.get("description", "unknown data")), kind=str(d.get("kind", "unknown")),
                   n_tracks=int(d.get("n_tracks", 0) or 0), root=str(d.get("root", "")),
                   fingerprint=str(d.get("fingerprint", "")))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
