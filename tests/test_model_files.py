"""One model on disk: checkpoints round trip, metrics and card, loading without pickled code, mismatched configs,
config.json as one record."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from mer.choices import FitKind
from mer.config import AudioConfig, DatasetInfo, FeatureConfig, Fit, ModelConfig, TrainConfig
from mer.emotions import EMOTIONS
from mer.errors import ModelError
from mer.model import predict_tracks
from mer.model_files import load_metrics, load_model, save_model
from mer.training.train import fit

from .helpers import TINY_TRAIN, separable


def test_checkpoint_round_trip_gives_the_trained_networks_outputs(tmp_path):
    data = separable(20)
    res = fit(data, np.arange(16), np.arange(16, 20), TrainConfig(epochs=2, batch_size=8), ModelConfig(front_end="logmel"))
    path = save_model(res.net, name="rt", root=tmp_path, audio_config=AudioConfig(),
                      feature_config=FeatureConfig(), model_config=ModelConfig(front_end="logmel"),
                      train_config=TrainConfig(), dataset=DatasetInfo("test"), metrics={}, card="# rt")
    loaded = load_model(path)
    np.testing.assert_allclose(predict_tracks(loaded.net, data.X)[0], predict_tracks(res.net, data.X)[0], atol=1e-6)
    assert loaded.net.band_std.abs().sum() > 0  # the normalisation travelled with the weights


def test_model_directory_holds_cv_metrics_and_card(tiny_models):
    model_dir = tiny_models / "default"
    assert {p.name for p in model_dir.iterdir()} == {"weights.pt", "config.json", "metrics.json", "card.md"}
    meta = json.loads((model_dir / "config.json").read_text())
    assert meta["emotions"] == list(EMOTIONS) and meta["train"]["cv_folds"] == TINY_TRAIN["cv_folds"]
    assert "threads" not in meta["train"] and "n_mels" not in meta["model"]  # one place per setting
    assert meta["dataset"]["kind"] == "demo" and "torch" in meta["versions"]
    metrics = load_metrics(model_dir)
    assert metrics.cv.pooled.n == 36 and sum(map(sum, metrics.cv.pooled.confusion)) == 36
    assert {"majority", "genre prior", "logistic regression on log-mel"} == set(metrics.cv.baselines)
    assert meta["members"] == 2 and load_model(model_dir).net.members[1].band_std.sum() > 0  # the fold models
    card = (model_dir / "card.md").read_text()
    assert "synthetic" in card and "not a model of human emotion" in card and "Cross-validated" in card
    # a demo model's card does not borrow Emotify's ceiling, and a fold average names each fold model's best epoch
    assert "69 %" not in card and "not how people hear emotion" in card
    assert "best epochs of the fold models " + ", ".join(str(f.best_epoch) for f in metrics.cv.folds) in card


def test_weights_are_loaded_without_running_pickled_code(tiny_models, tmp_path):
    bad = tmp_path / "evil"
    shutil.copytree(tiny_models / "default", bad)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (marker,))

    torch.save({"x": Exploit()}, bad / "weights.pt")
    with pytest.raises(ModelError, match="cannot be read"):
        load_model(bad)
    assert not marker.exists()


def test_config_that_does_not_match_the_weights_is_refused(tiny_models, tmp_path):
    bad = tmp_path / "mismatch"
    shutil.copytree(tiny_models / "default", bad)
    meta = json.loads((bad / "config.json").read_text())
    meta["model"]["lstm_hidden"] = 32
    (bad / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="do not match its config.json"):
        load_model(bad)


def test_a_model_of_another_feature_version_is_refused_with_how_to_retrain(tiny_models, tmp_path):
    from mer.audio.features import FEATURES_VERSION

    old = tmp_path / "old"
    shutil.copytree(tiny_models / "default", old)
    meta = json.loads((old / "config.json").read_text())
    assert meta["features_version"] == FEATURES_VERSION  # recorded when saved
    meta["features_version"] = FEATURES_VERSION - 1
    (old / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="computes differently.*python -m mer train"):
        load_model(old)


def test_a_config_json_is_one_record_that_round_trips(tiny_models):
    from mer.record import ModelRecord

    written = json.loads((tiny_models / "default" / "config.json").read_text())
    record = ModelRecord.from_dict(written)
    assert json.loads(json.dumps(record.to_dict())) == written  # every key mer writes, read back as written
    model = load_model(tiny_models / "default")
    assert model.record == record and model.model_config == record.model and model.record.members == 2
    assert model.trained_on == record.dataset.description and record.dataset.kind == "demo"
    metrics = load_metrics(tiny_models / "default")  # the Model page's learning curves, by fit
    assert metrics.fits() == [Fit.fold(1, 2), Fit.fold(2, 2)]  # the fold models ship: no final fit
    assert metrics.curves(Fit.fold(2, 2)) == (metrics.cv.folds[1].history, metrics.cv.folds[1].best_epoch)
    assert metrics.curves(Fit(FitKind.FINAL)) == (metrics.history, metrics.best_epoch)
