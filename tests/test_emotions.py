"""The nine GEMS emotions (mer.emotions): Emotify's column order, and their names for people."""

from __future__ import annotations

from mer.emotions import EMOTIONS, GENRES, emotion_label


def test_the_emotions_are_in_emotifys_column_order_and_read_as_words():
    assert EMOTIONS[0] == "amazement" and EMOTIONS[-1] == "sadness" and len(set(EMOTIONS)) == 9
    assert emotion_label("joyful_activation") == "joyful activation" and GENRES == ("classical", "rock", "electronic", "pop")
