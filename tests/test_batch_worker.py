"""One file's analysis in a worker (mer.batch.worker): what a failure becomes, which model a result is of, and the
one thread every engine computes on. Real analyses in workers: test_batch.py."""

from __future__ import annotations

import types

from mer.batch.inputs import FileRef
from mer.batch.worker import TrackResult, error_result, model_identity, one_thread
from mer.choices import TrackStatus


def test_a_failure_is_an_error_row_with_the_message_on_one_line():
    ref = FileRef(path="/m/a.wav", track_id=3, size_bytes=10, mtime_ns=20)
    r = error_result(ref, "The file is not\naudio.   Use a WAV.")
    assert (r.status, r.error, r.ok, r.track_top) == (TrackStatus.ERROR, "The file is not audio. Use a WAV.", False, None)
    assert (r.path, r.track_id, r.size_bytes, r.mtime_ns) == ("/m/a.wav", 3, 10, 20)


def test_a_models_identity_changes_with_its_files(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "weights.pt").write_bytes(b"1")
    model = types.SimpleNamespace(name="m", path=tmp_path)
    name, version = model_identity(model)
    assert name == "m" and len(version) == 12 and model_identity(model) == (name, version)
    (tmp_path / "weights.pt").write_bytes(b"2")  # retrained under the same name: every track again
    assert model_identity(model)[1] != version


def test_the_top_emotion_is_the_tracks_most_probable():
    import numpy as np

    p = np.full(9, 0.05, dtype=np.float32)
    p[6] = 0.6
    r = TrackResult(path="/m/a.wav", track_id=1, size_bytes=1, mtime_ns=1, status=TrackStatus.OK, track_probabilities=p)
    assert r.ok and r.track_top == "joyful_activation"


def test_one_thread_for_a_block_then_the_threads_as_before():
    import torch

    before = torch.get_num_threads()
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
