"""Every persisted or dispatched choice of mer as a StrEnum (the strings on disk are their values), and the
allowed values of each text setting: what a config field, a command-line flag or a page's option may say."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Sampler", "Target", "SegmentTarget", "TrackWeights", "Ship", "FrontEndKind", "FitKind", "VAInput", "DatasetKind",
           "Engine", "TrackStatus", "SimilarBy", "Protocol", "Family", "SAMPLERS", "PROTOCOLS", "TARGETS", "SEGMENT_TARGETS", "TRACK_WEIGHTS", "SHIPS", "FRONT_ENDS", "SHIP_LABELS",
           "CHOICES"]


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


class DatasetKind(StrEnum):
    """What a model was trained on (``DatasetInfo.kind``): real listeners' votes, a synthetic corpus, or unknown."""

    EMOTIFY = "emotify"
    DEMO = "demo"
    UNKNOWN = "unknown"


class Engine(StrEnum):
    """Where a batch runs (``python -m mer batch --engine``): a local pool of processes, or a Ray cluster."""

    LOCAL = "local"
    RAY = "ray"


class TrackStatus(StrEnum):
    """A batch track's ``status`` column: analysed, or failed with the CLI's one-line message in ``error``."""

    OK = "ok"
    ERROR = "error"


class SimilarBy(StrEnum):
    """What "similar tracks" measures: the emotion profile, or what MusiCNN hears (where the batch stores it)."""

    EMOTION = "emotion"
    SOUND = "sound"


class Protocol(StrEnum):
    """A rung of the leakage ladder, most leaky first (:data:`mer.results.PROTOCOL_LABELS` says what each leaks)."""

    STUDY = "study"  # SMOTE on all segments, then a random segment split
    SEGMENT = "segment"  # a random segment split, SMOTE on the training fold only
    TRACK = "track"  # cross-validation grouped by track: the honest number


class Family(StrEnum):
    """A network family of the leakage ladder: the study's recipe, or mer's."""

    STUDY = "study"
    MER = "mer"


SAMPLERS: tuple[str, ...] = tuple(Sampler)
PROTOCOLS: tuple[str, ...] = tuple(Protocol)
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
