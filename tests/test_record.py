"""What config.json records of a model (mer.record): read back as written, and an older file migrated."""

from __future__ import annotations

import json

import pytest

from mer.config import AudioConfig, DatasetInfo, FeatureConfig, ModelConfig, TrainConfig, VAConfig
from mer.record import ModelRecord


def test_a_record_round_trips_through_config_json():
    record = ModelRecord(audio=AudioConfig(), features=FeatureConfig(n_segments=8), model=ModelConfig(dropout=0.2),
                         train=TrainConfig(epochs=3), dataset=DatasetInfo("d", kind="demo", n_tracks=4),
                         name="m", created="2025-01-01T00:00:00+00:00", members=5,
                         front_end={"precision": "int8"}, versions={"torch": "2"}, valence_arousal=VAConfig())
    back = ModelRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert back == record and back.precision == "int8"


def test_an_older_file_is_a_log_mel_model_in_float32_without_a_head():
    back = ModelRecord.from_dict({"model": {"dropout": 0.3}, "dataset": {"description": "old"}})
    assert back.model.front_end == "logmel" and back.precision == "float32" and back.valence_arousal is None
    assert back.name == "" and back.created is None and back.members == 1 and back.dataset.description == "old"


@pytest.mark.parametrize("d", [[], {"model": ["dropout"]}, {"train": "fast"}])
def test_a_file_that_is_not_the_right_shape_is_refused(d):
    with pytest.raises(TypeError):
        ModelRecord.from_dict(d)
