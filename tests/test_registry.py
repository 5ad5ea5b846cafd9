"""Models on disk: checkpoints, metrics and cards, loading without pickled code, fallback, mismatched configs."""

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
from mer.registry import list_models, load_active, set_active
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


def test_corrupt_weights_fall_back_to_the_default_model(tiny_models, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(tiny_models, root)
    shutil.copytree(root / "default", root / "mine")
    set_active("mine", root)
    assert load_active(root).name == "mine"
    (root / "mine" / "weights.pt").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ModelError, match="damaged"):
        load_model(root / "mine")
    model = load_active(root)
    assert model.name == "default" and "mine" in model.fallback_reason


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


def test_the_bundled_models_are_listed_with_their_front_ends_and_cv_accuracy():
    models = {m.name: m for m in list_models(Path(__file__).resolve().parent.parent / "models")}
    assert {"default", "logmel"} <= set(models)  # models a user trained may sit beside them
    assert (models["default"].front_end, models["logmel"].front_end) == ("musicnn", "logmel")
    assert models["default"].cv_accuracy > models["logmel"].cv_accuracy  # 0.487 against 0.341 (grouped CV)


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


def test_an_old_config_json_is_migrated_as_it_is_read(tiny_models, tmp_path):
    """A model saved before the front-end, the feature version, the fold ensembles and the dataset were recorded."""
    from mer.audio.features import FEATURES_VERSION
    from mer.record import ModelRecord

    written = json.loads((tiny_models / "default" / "config.json").read_text())
    old = {k: written[k] for k in ("audio", "features", "train")}
    old["train"] = {**old["train"], "ship": "all"}  # one network: ensembles came later
    record = ModelRecord.from_dict(old)
    assert record.model.front_end == "logmel" and record.features_version == FEATURES_VERSION
    assert (record.members, record.dataset.kind, record.dataset.description) == (1, "unknown", "unknown data")
    assert record.front_end is None and record.precision == "float32" and record.created is None
    assert record.emotions == EMOTIONS and record.model == ModelConfig(front_end="logmel")
    legacy = {"name": "MSD_musicnn", "layers": ["penultimate"]}  # a MusiCNN record from before the precision
    assert ModelRecord.from_dict({**old, "front_end": legacy}).precision == "float32"
    with pytest.raises(TypeError, match="'model' is not an object"):
        ModelRecord.from_dict({**old, "model": [1, 2]})
    folder = tmp_path / "old"  # and such a folder is listed as a log-mel model of unknown data
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({**old, "model": written["model"]}))
    shutil.copy(tiny_models / "default" / "weights.pt", folder / "weights.pt")
    (info,) = list_models(tmp_path)
    assert (info.front_end, info.trained_on, info.created, info.broken) == ("logmel", "unknown data", "", None)


def test_an_installed_mer_seeds_its_writable_models_folder_from_the_wheel(tmp_path, monkeypatch):
    # a checkout reads models/; an installed package copies the bundled models it carries into the data folder
    from mer import registry, settings

    bundled = tmp_path / "site-packages" / "mer" / "bundled_models"
    (bundled / "default").mkdir(parents=True)
    (bundled / "default" / "config.json").write_text("{}")
    (bundled / "ladder.json").write_text('{"x": 1}')
    (bundled / "__pycache__").mkdir()
    monkeypatch.setattr(settings, "from_checkout", lambda: False)
    monkeypatch.setattr(registry, "INSTALLED_MODELS", bundled)
    monkeypatch.delenv("MER_MODELS_DIR", raising=False)
    monkeypatch.delenv("MER_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home-data"))
    root = registry.models_dir()
    assert root == tmp_path / "home-data" / "mer" / "models" and settings.data_dir() == root.parent
    assert sorted(p.name for p in root.iterdir()) == ["default", "ladder.json"]
    (root / "ladder.json").write_text('{"x": 2}')  # a user's ladder is never overwritten
    assert registry.models_dir() == root and (root / "ladder.json").read_text() == '{"x": 2}'
    monkeypatch.setenv("MER_MODELS_DIR", str(tmp_path / "mine"))
    assert registry.models_dir() == tmp_path / "mine" and not (tmp_path / "mine").exists()
