"""Background training jobs: one path from a form's configs to a saved model, field by field."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from mer.config import ModelConfig, TrainConfig, from_dict, read_run_config, write_run_config
from mer.errors import TrainingError
from mer.jobs import clear_finished, job_status, start_training

# A valid value other than the default for every setting, the cheap side of it where there is one (the job
# trains five networks); a new field must be added here to pass.
TRAIN = dict(epochs=1, lr=0.002, batch_size=32, weight_decay=0.002, target="dominant", segment_weight=0.5,
             genre_weight=0.2, sampler="random", k_neighbors=3, class_weighted=True, mixup=0.2, augment=False,
             val_fraction=0.2, patience=3, lr_patience=1, lr_factor=0.3, seed=7, cv_folds=2, ladder=True, ship="all")
MODEL = dict(time_pool=8, conv_channels=(32, 32), embedding=32, lstm_hidden=16, lstm_layers=2, bidirectional=False,
             dropout=0.2, track_statistics=False)


def test_the_table_names_every_setting_with_a_non_default_value():
    for cls, values in ((TrainConfig, TRAIN), (ModelConfig, MODEL)):
        default = cls()
        assert set(values) == {f.name for f in dataclasses.fields(cls)}
        assert all(values[name] != getattr(default, name) for name in values)


def test_every_setting_reaches_the_saved_model_through_a_background_job(tiny_corpus, tmp_path):
    models = tmp_path / "models"
    train, model = TrainConfig(**TRAIN), ModelConfig(**MODEL)
    start_training(tiny_corpus, train, model, models_root=models, name="job-model")
    deadline = time.monotonic() + 600
    while (status := job_status(models)).state == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status.state == "done", status.message
    meta = json.loads((models / "job-model" / "config.json").read_text())
    assert from_dict(TrainConfig, meta["train"]) == train
    assert from_dict(ModelConfig, meta["model"]) == model
    stages = {e["stage"] for e in status.epochs}
    assert stages == {"fold 1/2", "fold 2/2", "ladder: segment protocol", "ladder: study protocol", "final model"}
    clear_finished(models)
    assert job_status(models).state == "idle"


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
