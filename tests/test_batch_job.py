"""Background batches of the Library page (mer.batch.job): one run per output folder, refusals, folders of an
older mer."""

from __future__ import annotations

import json

import pytest

from mer.jobs import JobState

from .helpers import at_one_instant


@pytest.fixture
def quick_batches(tmp_path, monkeypatch):
    """A data folder with a library folder 'music'; background batches launch a stand-in that is done at once."""
    import sys

    from mer.batch import job

    data = tmp_path / "data"
    (data / "music").mkdir(parents=True)
    monkeypatch.setenv("MER_DATA_DIR", str(data))
    monkeypatch.delenv("MER_LIBRARY_ROOTS", raising=False)
    done = "import json, time; time.sleep(0.15); print(json.dumps({'event': 'done', 'tracks': 3, 'analysed': 3}))"
    monkeypatch.setattr(job, "_batch_command", lambda folder, out, roots: [sys.executable, "-S", "-c", done])
    return data


def _wait_batch(name, timeout=20.0):
    import time

    from mer.batch.job import batch_status
    from mer.jobs import _alive

    deadline = time.monotonic() + timeout
    while (status := batch_status(name)).state == JobState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.02)
    while _alive(json.loads((quick_batch_folder(name) / "job.json").read_text())["pid"]):  # the lock is free after
        time.sleep(0.02)
    return status


def quick_batch_folder(name):
    from mer.settings import batches_dir

    return batches_dir() / ".jobs" / name


def test_two_batch_starts_at_one_instant_launch_one(quick_batches):

    from mer.batch import BatchError
    from mer.batch.job import BatchJobStatus, start_batch

    for attempt in range(12):  # each attempt after the first finds the last run "done", not dismissed
        results = at_one_instant(lambda i: start_batch("music", "music"), BatchError)
        winners = [r for r in results if isinstance(r, BatchJobStatus)]
        assert len(winners) == 1, (attempt, results)
        assert "is starting or already running" in str(next(r for r in results if isinstance(r, BatchError)))
        status = _wait_batch("music")
        assert status.state == JobState.DONE and status.summary.analysed == 3, status.message
        assert len(list((quick_batch_folder("music") / "runs").iterdir())) == 1  # the current run's folder only


def test_a_batch_start_in_progress_is_respected_by_other_starts_the_poll_and_dismiss(quick_batches):
    import fcntl
    import os

    from mer.batch import BatchError
    from mer.batch.job import batch_jobs, batch_status, clear_batch, start_batch

    start_batch("music", "music")
    assert _wait_batch("music").state == JobState.DONE
    fd = os.open(quick_batch_folder("music") / "lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a second start, between taking the lock and job.json
    try:
        for _ in range(5):
            assert batch_status("music").state == JobState.DONE
        clear_batch("music")  # Dismiss at that instant: must not delete the starting run's files
        assert batch_status("music").state == JobState.DONE and (quick_batch_folder("music") / "lock").exists()
        with pytest.raises(BatchError, match="is starting or already running. Wait") as refused:
            start_batch("music", "music")
        assert "None" not in str(refused.value) and "started" not in str(refused.value)
    finally:
        os.close(fd)
    assert [j.name for j in batch_jobs()] == ["music"]
    clear_batch("music")
    assert batch_status("music").state == JobState.IDLE and batch_jobs() == []


def test_a_batch_folder_of_the_pid_lock_era_is_idle_and_the_next_start_tidies_it(quick_batches):
    import os

    from mer.batch.job import batch_jobs, batch_status, start_batch

    folder = quick_batch_folder("music")
    folder.mkdir(parents=True)
    (folder / "job.json").write_text(json.dumps({"pid": os.getpid(), "folder": "music", "started": "2026-01-01"}))
    for old in ("lock", ".claim", "progress.jsonl", "stderr.log"):
        (folder / old).write_text(str(os.getpid()))  # the pid lock: never read as a lock again
    assert batch_status("music").state == JobState.IDLE and batch_jobs() == []
    start_batch("music", "music")
    assert _wait_batch("music").state == JobState.DONE
    assert {p.name for p in folder.iterdir()} == {"lock", "job.json", "runs"}
