"""The Library page's sample batch (mer.batch.sample): the bundled examples, analysed again for another model."""

from __future__ import annotations

import shutil

from mer.batch.frames import load_tracks
from mer.batch.sample import ensure_sample


def test_the_sample_is_analysed_again_for_another_model(fresh_data, tiny_models, tmp_path):
    from mer.model_files import load_model

    first = ensure_sample(load_model(tiny_models / "default"))
    other = tmp_path / "other"
    shutil.copytree(tiny_models / "default", other)
    (other / "config.json").write_text((other / "config.json").read_text() + " ")  # another version
    again = ensure_sample(load_model(other))
    assert load_tracks(again.path)["model_name"].eq("other").all() and first.tracks == again.tracks == 5
