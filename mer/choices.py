"""The named choices that are stored on disk or dispatched on: each an enum whose members are the strings written
to Parquet, JSON and the command line, so a member compares equal to its string and files read as before.

The configs' own choices (:class:`mer.config.Sampler`, :class:`mer.config.Target`, …) live beside the configs.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Engine", "TrackStatus", "SimilarBy", "Protocol", "Family"]


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
