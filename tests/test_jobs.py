"""Background training jobs: run configs, refusals. The Train page test runs a whole job with every setting."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mer.config import ModelConfig, TrainConfig, read_run_config, write_run_config
from mer.errors import TrainingError
from mer.jobs import job_status, start_training

from .helpers import DEPENDENT, MODEL, TRAIN


def test_the_table_names_every_setting_with_a_non_default_value():
    for cls, values in ((TrainConfig, TRAIN), (ModelConfig, MODEL)):
        default = cls()
        assert set(values) | DEPENDENT >= {f.name for f in dataclasses.fields(cls)} and not set(values) & DEPENDENT
        assert all(values[name] != getattr(default, name) for name in values)


def test_run_config_files_round_trip_and_refuse_unknown_settings(tmp_path):
    path = tmp_path / "run.json"
    write_run_config(path, TrainConfig(**TRAIN), ModelConfig(**MODEL))
    assert read_run_config(path) == (TrainConfig(**TRAIN), ModelConfig(**MODEL))
    path.write_text(json.dumps({"train": {"epochs": 3, "threads": 4}}))
    with pytest.raises(TrainingError, match="threads"):
        read_run_config(path)
    with pytest.raises(TrainingError, match="No run config"):
        read_run_config(tmp_path / "missing.json")


def test_a_job_on_a_missing_gpu_is_refused_before_it_starts(tiny_corpus, tmp_path):
    import torch

    from mer.errors import DeviceError

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal cannot be shown")
    with pytest.raises(DeviceError, match="--device cpu"):
        start_training(tiny_corpus, TrainConfig(epochs=1), models_root=tmp_path / "models", device="cuda")
    assert job_status(tmp_path / "models").state == "idle"  # nothing started, no lock left


def test_a_default_run_on_the_bundled_emotify_announces_its_plan_and_its_bar_ends_full(tmp_path):
    """The Train page's default: the bundled embeddings, 5 folds, the fold models shipped (no final fit)."""
    import time

    root = tmp_path / "models"
    start_training(None, TrainConfig(epochs=2), ModelConfig(embedding=16, lstm_hidden=8), models_root=root)
    seen, deadline = [], time.monotonic() + 120
    while (status := job_status(root)).state == "running" and time.monotonic() < deadline:
        seen.append(status.progress)
        time.sleep(0.2)
    assert status.state == "done", status.message
    assert status.plan == ["fold 1/5", "fold 2/5", "fold 3/5", "fold 4/5", "fold 5/5"]
    assert [e.stage for e in status.epochs] == [f for f in status.plan for _ in range(2)]
    assert seen == sorted(seen) and status.progress == 1.0
    meta = json.loads((root / status.model_dir.rsplit("/", 1)[-1] / "config.json").read_text())
    assert meta["model"]["front_end"] == "musicnn" and meta["dataset"]["root"] == "bundled"


def test_the_bundled_emotify_cannot_train_the_log_mel_front_end(tmp_path):
    with pytest.raises(TrainingError, match="MusiCNN embeddings"):
        start_training(None, TrainConfig(), ModelConfig(front_end="logmel"), models_root=tmp_path / "models")


# A stand-in for `python -m mer train`: it reads the run config it was given, "trains" for a moment, and writes
# that config as its model's config.json, so a test sees which settings the launched run actually got.
_FAKE_TRAIN = """
import json, pathlib, sys, time
args = sys.argv
out, config = pathlib.Path(args[args.index('--out') + 1]), pathlib.Path(args[args.index('--config') + 1])
time.sleep(0.15)
out.mkdir()
(out / 'config.json').write_text(config.read_text())
print(json.dumps({'event': 'done'}), flush=True)
"""


@pytest.fixture
def quick_runs(monkeypatch):
    """Background runs launch the stand-in above instead of a real training."""
    import sys

    from mer import jobs

    monkeypatch.setattr(jobs, "_train_command", lambda root, out, run_config, device: [
        sys.executable, "-S", "-c", _FAKE_TRAIN, "--out", str(out), "--config", str(run_config)])


def _wait(root, timeout=20.0):
    """The run's status once its process has exited (it holds the lock until then, a moment after "done")."""
    import time

    from mer.jobs import _alive

    pid = json.loads((root / ".jobs" / "job.json").read_text())["pid"]
    deadline = time.monotonic() + timeout
    while (_alive(pid) or job_status(root).state == "running") and time.monotonic() < deadline:
        time.sleep(0.02)
    return job_status(root)


def test_two_starts_at_one_instant_launch_one_run_with_its_own_settings_while_the_page_polls(tmp_path, quick_runs):
    import threading

    from mer.errors import TrainingBusyError
    from mer.jobs import JobStatus

    root = tmp_path / "models"
    configs = (TrainConfig(epochs=2, cv_folds=2, seed=1), TrainConfig(epochs=7, cv_folds=3, seed=2))
    stop, polls = threading.Event(), []

    def poll():  # the Train page's fragment, every instant
        while not stop.is_set():
            polls.append(job_status(root).state)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        for attempt in range(12):  # each attempt after the first finds the last run "done", not dismissed
            barrier, results = threading.Barrier(2), [None, None]

            def start(i, attempt=attempt, barrier=barrier, results=results):
                barrier.wait()
                try:
                    results[i] = start_training(None, configs[i], models_root=root, name=f"m{attempt}-{i}")
                except TrainingBusyError as e:
                    results[i] = e

            threads = [threading.Thread(target=start, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            winners = [i for i, r in enumerate(results) if isinstance(r, JobStatus)]
            assert len(winners) == 1, (attempt, results)
            won, lost = winners[0], 1 - winners[0]
            assert "starting or already in progress" in str(results[lost])
            assert results[won].settings["epochs"] == configs[won].epochs
            status = _wait(root)
            assert status.state == "done", status.message
            saved = read_run_config(root / f"m{attempt}-{won}" / "config.json")
            assert saved == (configs[won], ModelConfig())  # the run trained with its own settings
            assert not (root / f"m{attempt}-{lost}").exists()
            assert len(list((root / ".jobs" / "runs").iterdir())) == 1  # one run folder: the current run's
    finally:
        stop.set()
        poller.join()
    assert len(polls) > 12 and "done" in polls


def test_a_start_in_progress_is_respected_by_other_starts_the_poll_and_dismiss(tmp_path, quick_runs):
    """A start holds the lock before job.json names its run: meanwhile job.json still shows the last run, done.
    Nothing may take that for a stale lock."""
    import fcntl
    import os

    from mer.errors import TrainingBusyError
    from mer.jobs import clear_finished

    root = tmp_path / "models"
    start_training(None, TrainConfig(epochs=3), models_root=root, name="first")
    assert _wait(root).state == "done"
    fd = os.open(root / ".jobs" / "lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a second start, between taking the lock and job.json
    try:
        for _ in range(20):
            assert job_status(root).state == "done"
        clear_finished(root)  # Dismiss at that instant: must not delete the starting run's files
        assert job_status(root).state == "done"
        with pytest.raises(TrainingBusyError, match="starting or already in progress"):
            start_training(None, TrainConfig(epochs=4), models_root=root, name="second")
        assert not (root / "second").exists()
    finally:
        os.close(fd)
    start_training(None, TrainConfig(epochs=4), models_root=root, name="second")  # the lock is free again
    assert _wait(root).state == "done"
    assert read_run_config(root / "second" / "config.json")[0].epochs == 4
    clear_finished(root)
    assert job_status(root).state == "idle" and list((root / ".jobs" / "runs").iterdir()) == []


def test_a_batch_start_losing_the_race_says_starting_and_a_poll_removes_only_its_own_lock(tmp_path, monkeypatch):
    import os
    import subprocess

    from mer.batch import BatchError
    from mer.jobs import batch_status, start_batch

    data = tmp_path / "data"
    (data / "music").mkdir(parents=True)
    monkeypatch.setenv("MER_DATA_DIR", str(data))
    monkeypatch.delenv("MER_LIBRARY_ROOTS", raising=False)
    jobs = data / "batches" / ".jobs" / "music"
    jobs.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (jobs / "job.json").write_text(json.dumps({"pid": dead.pid, "folder": str(data / "music"),
                                               "started": "2026-01-01T00:00:00"}))
    (jobs / "progress.jsonl").write_text(json.dumps({"event": "done", "tracks": 3}) + "\n")
    for holder in ("", str(os.getpid())):  # a new start has claimed the lock: before, then after writing its pid
        (jobs / "lock").write_text(holder)
        for _ in range(5):
            assert batch_status("music").state == "done"
        assert (jobs / "lock").read_text() == holder  # the poll left the new start's lock alone
        with pytest.raises(BatchError, match="is starting or already running. Wait") as refused:
            start_batch("music", "music")
        assert "None" not in str(refused.value)
    (jobs / "lock").write_text(str(dead.pid))  # the finished run's own lock: the poll clears it
    assert batch_status("music").state == "done" and not (jobs / "lock").exists()


def test_two_claims_of_a_dead_batchs_lock_at_one_instant_give_it_to_one(tmp_path):
    import os
    import subprocess
    import threading

    from mer.jobs import _claim

    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = tmp_path / "lock"
    for attempt in range(30):
        lock.write_text(str(dead.pid))
        os.utime(lock, (0, 0))  # old: not a start writing its pid
        barrier, got = threading.Barrier(2), []

        def claim():
            barrier.wait()
            got.append(_claim(lock))

        threads = [threading.Thread(target=claim) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [fd for fd in got if fd is not None]
        assert len(winners) == 1, (attempt, got)
        os.close(winners[0])
        assert lock.exists()  # the winner's fresh lock, not removed by the other
        lock.unlink()
