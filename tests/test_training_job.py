"""Background training runs (mer.training.job): run configs, refusals, one run at a time, what the Train page
shows of a run. The Train page test runs a whole job with every setting."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mer.config import ModelConfig, TrainConfig
from mer.errors import TrainingError
from mer.jobs import JobState
from mer.run_config import read_run_config, write_run_config
from mer.training.job import job_status, start_training

from .helpers import DEPENDENT, MODEL, TRAIN, at_one_instant


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


def test_a_runs_plan_is_its_fits_each_with_one_label():
    from mer.choices import FitKind
    from mer.config import Fit

    plan = TrainConfig(cv_folds=3, ladder=True, ship="all").fits()
    assert plan == [Fit.fold(1, 3), Fit.fold(2, 3), Fit.fold(3, 3), Fit(FitKind.SEGMENT), Fit(FitKind.STUDY),
                    Fit(FitKind.FINAL)]
    assert [str(f) for f in plan] == ["fold 1/3", "fold 2/3", "fold 3/3", "ladder: segment protocol",
                                      "ladder: study protocol", "final model"]
    by_label = {f.label: f for f in plan}
    assert len(by_label) == len(plan) and all(by_label[f.label] == f for f in plan)  # a label names one fit
    assert TrainConfig(cv_folds=0, ladder=True, ship="all").fits() == [Fit(FitKind.FINAL)]  # no folds, no ladder
    assert TrainConfig(cv_folds=2).fits() == [Fit.fold(1, 2), Fit.fold(2, 2)]  # the fold models ship


def test_a_job_on_a_missing_gpu_is_refused_before_it_starts(tiny_corpus, tmp_path):
    import torch

    from mer.errors import DeviceError

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal cannot be shown")
    with pytest.raises(DeviceError, match="--device cpu"):
        start_training(tiny_corpus, TrainConfig(epochs=1), models_root=tmp_path / "models", device="cuda")
    assert job_status(tmp_path / "models").state == JobState.IDLE  # nothing started, no lock left


def test_a_default_run_on_the_bundled_emotify_announces_its_plan_and_its_bar_ends_full(tmp_path):
    """The Train page's default: the bundled embeddings, 5 folds, the fold models shipped (no final fit), and the
    valence–arousal head beside them (here one C and 2 folds, for time; its config travels in the run config)."""
    import time

    from mer.config import VAConfig

    root = tmp_path / "models"
    va = VAConfig(c_min=0.0095, c_max=0.0095, c_steps=1, cv_folds=2, inner_folds=2)
    start_training(None, TrainConfig(epochs=2), ModelConfig(embedding=16, lstm_hidden=8), models_root=root,
                   va_config=va)
    seen, deadline = [], time.monotonic() + 120
    while (status := job_status(root)).state == JobState.RUNNING and time.monotonic() < deadline:
        seen.append(status.progress)
        time.sleep(0.2)
    assert status.state == JobState.DONE, status.message
    assert [f.label for f in status.plan] == ["fold 1/5", "fold 2/5", "fold 3/5", "fold 4/5", "fold 5/5"]
    assert [(f.kind, f.index, f.folds) for f in status.plan] == [("fold", i, 5) for i in range(1, 6)]
    assert [e.stage for e in status.epochs] == [f.label for f in status.plan for _ in range(2)]
    assert seen == sorted(seen) and status.progress == 1.0
    folder = root / status.model_dir.rsplit("/", 1)[-1]
    meta = json.loads((folder / "config.json").read_text())
    assert meta["model"]["front_end"] == "musicnn" and meta["dataset"]["root"] == "bundled"
    assert meta["valence_arousal"]["cv_folds"] == 2 and (folder / "valence-arousal.npz").is_file()
    va_metrics = json.loads((folder / "metrics.json").read_text())["valence_arousal"]
    assert va_metrics["folds"] == 2 and 0.6 < va_metrics["head"]["arousal_accuracy"] <= 1.0


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

    from mer.training import job

    monkeypatch.setattr(job, "_train_command", lambda root, out, run_config, device: [
        sys.executable, "-S", "-c", _FAKE_TRAIN, "--out", str(out), "--config", str(run_config)])


def _wait(root, timeout=20.0):
    """The run's status once its process has exited (it holds the lock until then, a moment after "done")."""
    import time

    from mer.jobs import _alive

    pid = json.loads((root / ".jobs" / "job.json").read_text())["pid"]
    deadline = time.monotonic() + timeout
    while (_alive(pid) or job_status(root).state == JobState.RUNNING) and time.monotonic() < deadline:
        time.sleep(0.02)
    return job_status(root)


def test_two_starts_at_one_instant_launch_one_run_with_its_own_settings_while_the_page_polls(tmp_path, quick_runs):
    import threading

    from mer.errors import TrainingBusyError
    from mer.training.job import JobStatus

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
            results = at_one_instant(lambda i, attempt=attempt: start_training(
                None, configs[i], models_root=root, name=f"m{attempt}-{i}"), TrainingBusyError)
            winners = [i for i, r in enumerate(results) if isinstance(r, JobStatus)]
            assert len(winners) == 1, (attempt, results)
            won, lost = winners[0], 1 - winners[0]
            assert "starting or already in progress" in str(results[lost])
            assert results[won].config.epochs == configs[won].epochs
            status = _wait(root)
            assert status.state == JobState.DONE, status.message
            saved = read_run_config(root / f"m{attempt}-{won}" / "config.json")
            assert saved == (configs[won], ModelConfig())  # the run trained with its own settings
            assert not (root / f"m{attempt}-{lost}").exists()
            assert len(list((root / ".jobs" / "runs").iterdir())) == 1  # one run folder: the current run's
    finally:
        stop.set()
        poller.join()
    assert len(polls) > 12 and JobState.DONE in polls


def test_a_start_in_progress_is_respected_by_other_starts_the_poll_and_dismiss(tmp_path, quick_runs):
    """A start holds the lock before job.json names its run: meanwhile job.json still shows the last run, done.
    Nothing may take that for a stale lock."""
    import fcntl
    import os

    from mer.errors import TrainingBusyError
    from mer.training.job import clear_finished

    root = tmp_path / "models"
    start_training(None, TrainConfig(epochs=3), models_root=root, name="first")
    assert _wait(root).state == JobState.DONE
    fd = os.open(root / ".jobs" / "lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a second start, between taking the lock and job.json
    try:
        for _ in range(20):
            assert job_status(root).state == JobState.DONE
        clear_finished(root)  # Dismiss at that instant: must not delete the starting run's files
        assert job_status(root).state == JobState.DONE
        with pytest.raises(TrainingBusyError, match="starting or already in progress"):
            start_training(None, TrainConfig(epochs=4), models_root=root, name="second")
        assert not (root / "second").exists()
    finally:
        os.close(fd)
    start_training(None, TrainConfig(epochs=4), models_root=root, name="second")  # the lock is free again
    assert _wait(root).state == JobState.DONE
    assert read_run_config(root / "second" / "config.json")[0].epochs == 4
    clear_finished(root)
    assert job_status(root).state == JobState.IDLE and list((root / ".jobs" / "runs").iterdir()) == []


def test_a_training_run_killed_while_its_pool_extracts_features_leaves_no_process_behind(tiny_corpus, tmp_path,
                                                                                        monkeypatch):
    """The Train page's run dies by SIGKILL while a pool of the run extracts the corpus's features: 5 s later no
    process of the run is left (its fork server, its workers, the resource tracker), and the page says it failed."""
    import os
    import signal
    import time
    import uuid

    from mer.pool import default_workers

    from .helpers import TINY_MODEL, TINY_TRAIN, processes_of

    if default_workers(limit=4) < 2:
        pytest.skip("one core: the features are extracted without a pool")
    run = uuid.uuid4().hex
    monkeypatch.setenv("MER_TEST_RUN", run)  # the run's processes inherit it
    monkeypatch.setenv("MER_DATA_DIR", str(tmp_path / "data"))  # no cached features: the 36 tracks go to a pool
    root = tmp_path / "models"
    start_training(tiny_corpus, TrainConfig(**TINY_TRAIN), ModelConfig(**TINY_MODEL), models_root=root)
    deadline = time.monotonic() + 120
    while True:
        procs = processes_of(run)
        trainer = next((pid for pid, (_, cmd) in procs.items() if " -m mer train " in cmd), None)
        fork_server = next((pid for pid, (ppid, cmd) in procs.items()
                            if ppid == trainer and "multiprocessing.forkserver" in cmd), None)
        workers = [pid for pid, (ppid, _) in procs.items() if fork_server is not None and ppid == fork_server]
        if workers:
            break
        assert job_status(root).state == JobState.RUNNING, job_status(root).message
        assert time.monotonic() < deadline, f"no pool worker appeared: {procs}"
        time.sleep(0.02)
    os.kill(trainer, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while processes_of(run) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_of(run) == {}
    assert job_status(root).state == JobState.FAILED


def test_a_finished_run_is_reaped_not_left_a_zombie_of_the_server(tmp_path, quick_runs):
    import time

    root = tmp_path / "models"
    start_training(None, TrainConfig(epochs=3), models_root=root, name="reaped")
    stat = Path(f"/proc/{json.loads((root / '.jobs' / 'job.json').read_text())['pid']}/stat")
    deadline = time.monotonic() + 20  # the stand-in ends in a moment; a process never reaped fails here
    while stat.exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # a zombie keeps its /proc entry (state Z) until its parent waits for it
    assert not stat.exists(), stat.read_text().split()[2]
    assert job_status(root).state == JobState.DONE


def test_a_stage_after_the_last_epoch_is_what_the_running_view_says(tmp_path):
    """After the folds' epochs a run may work for minutes on something else (the valence–arousal head): the page
    names that stage rather than the last epoch, which looked stuck."""
    import os

    from mer.progress import Epoch

    jobs = tmp_path / "models" / ".jobs"
    (jobs / "runs" / "run-x").mkdir(parents=True)
    (jobs / "job.json").write_text(json.dumps({"run": "run-x", "pid": os.getpid(), "settings": {}}))
    epoch = Epoch(stage="fold 5/5", epoch=2, epochs=2, train_loss=1.0, val_loss=1.0, val_accuracy=0.5, lr=1e-3,
                  seconds=0.1, best_epoch=2, early_stop=False)
    events = [{"event": "epoch", **epoch.to_dict()}]
    (jobs / "runs" / "run-x" / "progress.jsonl").write_text("\n".join(map(json.dumps, events)) + "\n")
    assert job_status(tmp_path / "models").message == "fold 5/5: epoch 2/2"
    events.append({"event": "progress", "done": 1, "total": 6, "message": "valence and arousal: 4Q fold 2 of 5"})
    (jobs / "runs" / "run-x" / "progress.jsonl").write_text("\n".join(map(json.dumps, events)) + "\n")
    status = job_status(tmp_path / "models")
    assert status.state == JobState.RUNNING and status.message == "valence and arousal: 4Q fold 2 of 5"
