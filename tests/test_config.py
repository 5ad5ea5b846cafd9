"""The configs (mer.config): checked where they are built, written to JSON and read back as they were, so a model
folder rebuilds its features exactly."""

from __future__ import annotations

import json

import pytest

from mer.config import (FeatureConfig, ModelConfig, Sampler, Target, TrainConfig, from_dict, read_run_config, to_dict,
                        write_run_config)
from mer.errors import ConfigError, TrainingError


def test_a_config_round_trips_through_json_with_tuples_as_tuples():
    model = ModelConfig(conv_channels=(8, 16), dropout=0.25)
    back = from_dict(ModelConfig, json.loads(json.dumps(to_dict(model))))
    assert back == model and isinstance(back.conv_channels, tuple)


def test_keys_a_newer_mer_wrote_are_ignored_and_missing_ones_take_the_default():
    assert from_dict(FeatureConfig, {"n_segments": 8, "from_the_future": 1}) == FeatureConfig(n_segments=8)
    assert from_dict(FeatureConfig, None) == FeatureConfig()


def test_every_bad_field_is_named_at_once():
    with pytest.raises(ConfigError) as e:
        FeatureConfig(n_segments=0, n_fft=1024, hop_length=4096)
    assert "n_segments must be between 1 and 100 (got 0)" in str(e.value)
    assert "hop_length (4096) must not exceed n_fft (1024)" in str(e.value)


def test_a_run_config_is_read_back_as_written_and_a_foreign_field_is_refused(tmp_path):
    train = TrainConfig(epochs=3, sampler=Sampler.SMOTE, target=Target.DOMINANT)
    write_run_config(tmp_path / "run.json", train, ModelConfig())
    assert read_run_config(tmp_path / "run.json") == (train, ModelConfig())
    (tmp_path / "bad.json").write_text(json.dumps({"train": {"epoch": 3}, "model": {}}))
    with pytest.raises(TrainingError):
        read_run_config(tmp_path / "bad.json")
