"""The batch job (mer.batch.run) around a stand-in engine: what it skips, keeps, counts and refuses. The engines
themselves (processes, Ray) are tested in test_batch.py and test_batch_ray.py."""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from mer.analyze import Reading
from mer.audio.segments import Segments
from mer.batch import run
from mer.batch.worker import TrackResult, error_result
from mer.choices import Engine, TrackStatus
from mer.emotions import EMOTIONS
from mer.errors import BatchCancelled, BatchError

MODEL = types.SimpleNamespace(name="stand-in", path=None, record=None)


def _analysed(ref) -> TrackResult:
    """What the stand-in engine says of a file: ``bad*`` fails, the rest lean to emotion (file size mod 9)."""
    if Path(ref.path).name.startswith("bad"):
        return error_result(ref, "The file is not an audio file mer can read (stand-in).")
    probs = np.full((4, len(EMOTIONS)), 0.05, dtype=np.float32)
    probs[:, ref.size_bytes % len(EMOTIONS)] = 0.6
    probs /= probs.sum(axis=1, keepdims=True)
    return TrackResult(path=ref.path, track_id=ref.track_id, size_bytes=ref.size_bytes, mtime_ns=ref.mtime_ns,
                       status=TrackStatus.OK, duration_s=12.0,
                       reading=Reading(Segments(np.arange(4) * 3, np.arange(1, 5) * 3, 1), probs, probs.mean(axis=0)))


@pytest.fixture
def engine(monkeypatch):
    """The files each run's engine was handed, in order (the engine analyses them with :func:`_analysed`)."""
    handed: list[list[str]] = []

    def results(refs, model, *, engine, workers, address, total):
        assert model is MODEL and engine in Engine
        handed.append([])
        for ref in refs:
            handed[-1].append(Path(ref.path).name)
            yield _analysed(ref)

    monkeypatch.setattr(run, "_results", results)
    return handed


@pytest.fixture
def library(tmp_path) -> Path:
    """Six .wav files (never decoded: the stand-in engine reads their size) and a bad one, in two folders."""
    root = tmp_path / "music"
    for i, name in enumerate(["a/one", "a/two", "a/three", "b/four", "b/five", "b/six", "bad"]):
        path = root / f"{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * (10 + i))
    return root


def _tracks(out: Path) -> dict[str, str]:
    t = pq.read_table(out / "tracks.parquet", columns=["path", "status"]).to_pylist()
    return {Path(r["path"]).name: r["status"] for r in t}


def test_a_batch_stores_every_file_once_counts_them_and_writes_its_summary(engine, library, tmp_path):
    out = tmp_path / "out"
    s = run.run_batch([library], out, model=MODEL, chunk_size=2)
    assert (s.total, s.analysed, s.failed, s.skipped, s.tracks, s.ok_tracks) == (7, 6, 1, 0, 7, 6)
    assert s.engine is Engine.LOCAL and s.model_name == "stand-in"
    assert _tracks(out) == {**{f"{n}.wav": "ok" for n in ("one", "two", "three", "four", "five", "six")},
                            "bad.wav": "error"}
    summary = json.loads((out / "batch.json").read_text())
    assert summary["engine"] == "local" and summary["tracks"] == 7 and summary["inputs"] == [str(library)]
    assert summary["roots"] == [str(library)] and summary["files_per_s"] == round(s.files_per_s, 3)


def test_a_second_run_skips_what_is_done_and_starts_no_engine_and_errors_are_retried_on_request(engine, library,
                                                                                                tmp_path):
    out = tmp_path / "out"
    run.run_batch([library], out, model=MODEL)
    again = run.run_batch([library], out, model=MODEL)
    assert (again.analysed, again.failed, again.skipped, again.tracks) == (0, 0, 7, 7) and len(engine) == 1
    (library / "a" / "one.wav").write_bytes(b"changed")  # a new size: analysed again
    retried = run.run_batch([library], out, model=MODEL, retry_errors=True)
    assert sorted(engine[-1]) == ["bad.wav", "one.wav"]
    assert (retried.analysed, retried.failed, retried.skipped, retried.tracks) == (1, 1, 5, 7)


def test_a_cancelled_batch_keeps_what_it_analysed_and_the_next_run_does_the_rest(engine, library, tmp_path):
    out, asked = tmp_path / "out", []
    with pytest.raises(BatchCancelled, match="Cancelled after 2 analysed, 1 failed, 0 skipped"):
        run.run_batch([library], out, model=MODEL, should_stop=lambda: asked.append(1) or len(asked) == 3)
    rest = run.run_batch([library], out, model=MODEL)
    assert (rest.skipped, rest.analysed + rest.failed, rest.tracks) == (3, 4, 7)
    assert set(engine[0][:3]).isdisjoint(engine[1]) and len(engine[1]) == 4


def test_progress_counts_this_runs_work(engine, library, tmp_path):
    seen = []
    run.run_batch([library], tmp_path / "out", model=MODEL, on_progress=lambda d, t, m: seen.append((d, t, m)))
    assert seen[0] == (0, 7, "starting the workers") and seen[-1] == (7, 7, "merging the results")
    assert [d for d, _, m in seen if "analysed" in m] == list(range(1, 8))
    seen.clear()
    run.run_batch([library], tmp_path / "out", model=MODEL, on_progress=lambda d, t, m: seen.append((d, t, m)))
    assert seen[-1] == (0, 0, "merging the results")  # all 7 skipped: no work of this run left to count
    assert seen[-2][2] == "0 analysed, 0 failed, 7 skipped"


@pytest.mark.parametrize("kwargs, words", [({"engine": "spark"}, "Unknown engine 'spark'. Choose one of: local, ray"),
                                           ({"workers": 0}, "workers must be at least 1, got 0"),
                                           ({"chunk_size": 0}, "chunk_size must be at least 1, got 0")])
def test_bad_settings_are_refused_before_anything_is_written(engine, library, tmp_path, kwargs, words):
    with pytest.raises(BatchError, match=words):
        run.run_batch([library], tmp_path / "out", model=MODEL, **kwargs)
    assert not (tmp_path / "out").exists() and engine == []


def test_no_input_and_no_audio_are_refused(engine, tmp_path):
    with pytest.raises(BatchError, match="No input given"):
        run.run_batch([], tmp_path / "out", model=MODEL)
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(BatchError, match="No audio files"):
        run.run_batch([tmp_path / "notes.txt"], tmp_path / "out", model=MODEL)


def test_analyze_many_yields_every_file_and_writes_nothing(engine, library, tmp_path):
    seen = []
    results = list(run.analyze_many(library, model=MODEL, engine="local", on_progress=lambda d, t, m: seen.append(d)))
    assert sorted(Path(r.path).name for r in results if r.ok) == sorted(f"{n}.wav" for n in
                                                                       ("one", "two", "three", "four", "five", "six"))
    assert [r.status for r in results if not r.ok] == [TrackStatus.ERROR] and seen == list(range(1, 8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["music"]


def test_the_rate_counts_analysed_and_failed_files():
    s = run.BatchSummary(out=Path("x"), total=10, analysed=6, failed=2, skipped=2, tracks=10, ok_tracks=8,
                         seconds=4.0, engine=Engine.LOCAL, workers=1, model_name="m", model_version="v")
    assert s.files_per_s == 2.0 and run.BatchSummary(**{**s.__dict__, "seconds": 0.0}).files_per_s == 0.0
