"""One file's analysis in a batch worker: a TrackResult holds the network's Reading, and the tables a batch
writes hold the reading's numbers (tracks, segments, sound, valence and arousal) or the file's error."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from mer.analyze import read_audio
from mer.audio.decode import load_audio
from mer.batch.inputs import FileRef, path_id
from mer.batch.rows import segments_table, tracks_table
from mer.batch.worker import TrackResult, analyze_ref
from mer.emotions import EMOTIONS
from mer.model_files import load_model

from .helpers import batch_ref, random_reading, tone


def test_a_worker_keeps_the_reading_analyze_gives(tiny_models, write_audio, tmp_path):
    path = write_audio("t.wav", tone(12.0, freq=330.0), 22_050)
    model = load_model(tiny_models / "default")
    result = analyze_ref(batch_ref(str(path)), model)
    direct = read_audio(load_audio(path, config=model.audio_config), model)
    assert result.ok and result.duration_s == pytest.approx(12.0) and result.reading.precision == direct.precision
    assert result.reading.probabilities.dtype == result.reading.track_probabilities.dtype == np.float32
    np.testing.assert_array_equal(result.reading.probabilities, np.asarray(direct.probabilities, np.float32))
    np.testing.assert_array_equal(result.reading.segments.start_s, direct.segments.start_s)
    refused = analyze_ref(FileRef(str(path), 1, 2, 3, refused="outside the allowed folders"), model)
    assert refused.status == "error" and refused.reading is None and refused.error == "outside the allowed folders"
    tracks_table([result], ("m", "v")), segments_table([result], ("m", "v"))  # the tables take it


def test_parquet_round_trip_keeps_the_segments_bounds_exactly(tmp_path):
    from mer.batch.store import write_part

    r = TrackResult("/m/a.wav", path_id("/m/a.wav"), 1, 2, "ok", duration_s=60.0, reading=random_reading(3))
    part = write_part(tmp_path, [r], ("m", "v1"))
    seg = pq.read_table(part / "segments.parquet").to_pandas()
    np.testing.assert_array_equal(seg["start_s"], r.reading.segments.start_s)
    np.testing.assert_array_equal(seg[list(EMOTIONS)].to_numpy(np.float32), r.reading.probabilities)


def test_a_models_identity_changes_with_its_files(tmp_path):
    import types

    from mer.batch.worker import model_identity

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "weights.pt").write_bytes(b"1")
    model = types.SimpleNamespace(name="m", path=tmp_path)
    name, version = model_identity(model)
    assert name == "m" and len(version) == 12 and model_identity(model) == (name, version)
    (tmp_path / "weights.pt").write_bytes(b"2")  # retrained under the same name: every track again
    assert model_identity(model)[1] != version


def test_one_thread_for_a_block_then_the_threads_as_before():
    import torch

    from mer.batch.worker import one_thread

    before = torch.get_num_threads()
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
