"""A training run's settings file (mer.run_config): read back as written; a field no config has is refused."""

from __future__ import annotations

import json

import pytest

from mer.choices import Sampler, Target
from mer.config import ModelConfig, TrainConfig
from mer.errors import TrainingError
from mer.run_config import read_run_config, write_run_config


def test_a_run_config_is_read_back_as_written_and_a_foreign_field_is_refused(tmp_path):
    train = TrainConfig(epochs=3, sampler=Sampler.SMOTE, target=Target.DOMINANT)
    write_run_config(tmp_path / "run.json", train, ModelConfig())
    assert read_run_config(tmp_path / "run.json") == (train, ModelConfig())
    (tmp_path / "bad.json").write_text(json.dumps({"train": {"epoch": 3}, "model": {}}))
    with pytest.raises(TrainingError):
        read_run_config(tmp_path / "bad.json")
