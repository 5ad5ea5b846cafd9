"""Background training jobs: run configs, refusals. The Train page test runs a whole job with every setting."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mer.config import ModelConfig, TrainConfig, read_run_config, write_run_config
from mer.errors import TrainingError
from mer.jobs import job_status, start_training

from .conftest import DEPENDENT, MODEL, TRAIN


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
