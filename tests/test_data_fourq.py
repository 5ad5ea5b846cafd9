"""The bundled 4Q clips (mer.data.fourq): 449 balanced clips with their artists; bad annotations refused."""

from __future__ import annotations

import numpy as np
import pytest

from mer.data.fourq import load_fourq, read_annotations, song_number
from mer.errors import DataError


def test_the_bundled_4q_is_449_balanced_clips_with_their_artists():
    clips = read_annotations()
    assert len(clips) == 449 and np.bincount(clips.quadrant)[1:].tolist() == [112, 113, 112, 112]
    assert clips.n_artists > 300 and clips.valence.sum() == 224 and clips.arousal.sum() == 225
    data = load_fourq()
    assert data.X.shape == (449, 20, 200) and data.layers == ("penultimate",) and np.isfinite(data.X).all()
    both = load_fourq(("penultimate", "mean_pool"))
    assert both.X.shape == (449, 20, 953) and np.array_equal(both.X[..., :200], data.X)
    assert song_number("MT0000011975") == 11975
    with pytest.raises(DataError, match="not a 4Q song id"):
        song_number("../etc/passwd")
    with pytest.raises(DataError, match="ships 4Q's"):
        load_fourq(("conv1",))


def test_annotations_with_a_bad_quadrant_are_refused(tmp_path):
    path = tmp_path / "annotations.csv"
    path.write_text("Song,Artist,Quadrant,PQuad\nMT0000000001,A,Q5,1\n")
    with pytest.raises(DataError, match="quadrant other than Q1-Q4"):
        read_annotations(path)
    path.write_text("Song,Artist\nMT0000000001,A\n")
    with pytest.raises(DataError, match="needs the columns"):
        read_annotations(path)
