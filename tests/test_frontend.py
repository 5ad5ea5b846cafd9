"""The front-end as an object: what each one reads, records and refuses; persisted choices are enums."""

from __future__ import annotations

import json

import pytest

from mer.choices import FrontEndKind, Sampler
from mer.config import FeatureConfig, ModelConfig, TrainConfig
from mer.errors import ConfigError, TrainingError
from mer.frontend import FINE_TUNE_NEEDS_AUDIO, LogMelFrontEnd, MusiCNNFrontEnd, front_end
from mer.serial import from_dict, to_dict


def test_each_front_end_knows_its_input_size_and_record():
    fc = FeatureConfig(n_mels=48)
    musicnn, tuned, logmel = (front_end(ModelConfig(**kw)) for kw in ({}, {"fine_tune": True},
                                                                     {"front_end": "logmel"}))
    assert isinstance(musicnn, MusiCNNFrontEnd) and isinstance(logmel, LogMelFrontEnd)
    assert (musicnn.input_size(fc), tuned.input_size(fc), logmel.input_size(fc)) == (753, 753 + 64 * 187, 48)
    assert musicnn.record("float32")["front_end"]["precision"] == "float32" and "front_end" not in logmel.record()
    assert "MusiCNN" in musicnn.card_sentence() and "from scratch" in logmel.card_sentence()


def test_only_a_frozen_musicnn_trains_on_the_bundled_embeddings():
    assert front_end(ModelConfig()).bundled_refusal() is None
    assert front_end(ModelConfig(fine_tune=True)).bundled_refusal() == FINE_TUNE_NEEDS_AUDIO
    with pytest.raises(TrainingError, match="shipped as MusiCNN embeddings"):
        front_end(ModelConfig(front_end="logmel")).bundled_data()


def test_a_models_record_is_checked_against_what_this_mer_computes():
    from mer.errors import ModelError
    from mer.record import ModelRecord

    fe = front_end(ModelConfig())
    fe.check("m", ModelRecord.from_dict({"features_version": fe.record()["features_version"],
                                         "front_end": fe.record("int8")["front_end"], "model": {"front_end": "musicnn"}}))
    legacy = {k: v for k, v in fe.record()["front_end"].items() if k != "precision"}  # before the choice: float32
    fe.check("m", ModelRecord.from_dict({"front_end": legacy}))
    assert fe.recorded_precision(ModelRecord.from_dict({"front_end": legacy})) == "float32"
    with pytest.raises(ModelError, match="computes differently.*Retrain"):
        fe.check("m", ModelRecord.from_dict({"front_end": {**legacy, "weights_sha256": "other"}}))
    with pytest.raises(ModelError, match="computes differently"):  # a MusiCNN model without its record
        fe.check("m", ModelRecord.from_dict({"model": {"front_end": "musicnn"}}))
    with pytest.raises(ModelError, match="computes differently"):  # another feature version
        front_end(ModelConfig(front_end="logmel")).check("m", ModelRecord.from_dict({"features_version": -1}))


def test_persisted_choices_are_enums_that_round_trip_through_json():
    config = from_dict(TrainConfig, json.loads(json.dumps(to_dict(TrainConfig(sampler="smote")))))
    assert config.sampler is Sampler.SMOTE and config == TrainConfig(sampler=Sampler.SMOTE)
    assert from_dict(ModelConfig, {"front_end": "logmel"}).front_end is FrontEndKind.LOGMEL
    with pytest.raises(ConfigError, match="sampler must be one of none, smote, borderline_smote, adasyn, random"):
        TrainConfig(sampler="smite")


def test_a_track_is_cut_into_segments_once_and_musicnn_reads_the_features_segments(monkeypatch):
    import numpy as np

    from mer.audio import embeddings, features
    from mer.audio.decode import Audio
    from mer.audio.segments import segment_bounds

    from .helpers import tone

    cuts = []
    counted = lambda *a, **k: cuts.append(a) or segment_bounds(*a, **k)  # noqa: E731
    monkeypatch.setattr(features, "segment_bounds", counted)
    monkeypatch.setattr(embeddings, "segment_bounds", counted)
    monkeypatch.setenv("MER_PRECISION", "float32")
    audio = Audio(tone(4.0, freq=330.0), 22_050, "t.wav", 22_050, 1, "WAV")
    fc, fe = FeatureConfig(n_segments=5), front_end(ModelConfig())
    feats = features.track_features(audio, fc)
    inputs = fe.track_inputs(audio, fc, feats)
    assert len(cuts) == 1 and inputs.segments is feats.segments and inputs.X.shape == (5, 753)
    alone = fe.track_inputs(audio, fc)  # without the features: cut once, where MusiCNN reads the track
    assert len(cuts) == 2 and np.array_equal(alone.segments.starts, feats.segments.starts)
    np.testing.assert_array_equal(alone.X, inputs.X)
