"""The configs (mer.config): checked where they are built, every bad field named at once, and read back from a
model folder's JSON as they were (the serialiser itself: test_serial.py)."""

from __future__ import annotations

import json

import pytest

from mer.choices import FrontEndKind
from mer.config import FeatureConfig, ModelConfig
from mer.errors import ConfigError
from mer.serial import from_dict, to_dict


def test_a_config_round_trips_through_json_with_tuples_as_tuples():
    model = ModelConfig(conv_channels=(8, 16), dropout=0.25)
    back = from_dict(ModelConfig, json.loads(json.dumps(to_dict(model))))
    assert back == model and isinstance(back.conv_channels, tuple)


def test_every_bad_field_is_named_at_once():
    with pytest.raises(ConfigError) as e:
        FeatureConfig(n_segments=0, n_fft=1024, hop_length=4096)
    assert "n_segments must be between 1 and 100 (got 0)" in str(e.value)
    assert "hop_length (4096) must not exceed n_fft (1024)" in str(e.value)


def test_fine_tuning_needs_the_pretrained_front_end():
    with pytest.raises(ConfigError, match="fine_tune needs front_end 'musicnn'"):
        ModelConfig(front_end=FrontEndKind.LOGMEL, fine_tune=True)
