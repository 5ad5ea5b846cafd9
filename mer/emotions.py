"""The nine GEMS emotions of Emotify, in its column order, and its four genres: names every layer shares."""

from __future__ import annotations

__all__ = ["EMOTIONS", "GENRES", "emotion_label"]

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


def emotion_label(name: str) -> str:
    """Readable form of an emotion name: ``"joyful_activation"`` → ``"joyful activation"``."""
    return name.replace("_", " ")
