"""The demo corpus (mer.data.demo.corpus): the same seed gives the same corpus; its files in Emotify's layout."""

from __future__ import annotations

import numpy as np

from mer.data.demo import DemoConfig, demo_votes
from mer.emotions import EMOTIONS


def dominant_counts(config: DemoConfig) -> list[int]:
    shares = demo_votes(config).groupby("track id")[list(EMOTIONS)].mean().to_numpy()
    return np.bincount(shares.argmax(axis=1), minlength=len(EMOTIONS)).tolist()


def test_same_seed_gives_the_same_track_counts_as_before_the_split():
    # measured with the single-module mer/demo.py (commit ba92783) by `python -m mer data stats --json`
    assert dominant_counts(DemoConfig(tracks=36, seconds=12, seed=7)) == [4, 2, 4, 0, 7, 7, 6, 4, 2]
    assert dominant_counts(DemoConfig(tracks=36, seconds=10.5, seed=1)) == [2, 3, 6, 4, 8, 2, 6, 2, 3]
    assert dominant_counts(DemoConfig()) == [29, 15, 28, 28, 32, 33, 39, 28, 8]  # the README's default corpus


def test_the_corpus_is_in_emotifys_layout_with_its_settings_beside(tiny_corpus):
    import json

    from mer.data.emotify import load_corpus

    files = sorted(tiny_corpus.glob("emotifymusic/*/*.flac"))
    assert len(files) == 36 and {f.parent.name for f in files} <= {"classical", "rock", "electronic", "pop"}
    header = (tiny_corpus / "data.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "track id" and all(c.startswith(" ") for c in header[1:])  # as Emotify's own data.csv
    assert json.loads((tiny_corpus / "demo.json").read_text())["tracks"] == 36
    assert len(load_corpus(tiny_corpus)) == 36


def test_a_folder_that_is_not_a_demo_corpus_is_never_replaced(tmp_path):
    import pytest

    from mer.data.demo import generate_demo_corpus
    from mer.errors import MerError

    (tmp_path / "thesis.docx").write_text("mine")
    with pytest.raises(MerError):
        generate_demo_corpus(tmp_path, DemoConfig(tracks=4, seconds=11))
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.docx"]
