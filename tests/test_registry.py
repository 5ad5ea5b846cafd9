"""The folder of models: the active pointer and its fallback, the list (old and broken folders included), an
installed mer's models folder seeded from the wheel."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mer.config import ModelConfig
from mer.emotions import EMOTIONS
from mer.errors import ModelError
from mer.model_files import load_model
from mer.registry import list_models, load_active, set_active


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


def test_the_bundled_models_are_listed_with_their_front_ends_and_cv_accuracy():
    models = {m.name: m for m in list_models(Path(__file__).resolve().parent.parent / "models")}
    assert {"default", "logmel"} <= set(models)  # models a user trained may sit beside them
    assert (models["default"].front_end, models["logmel"].front_end) == ("musicnn", "logmel")
    assert models["default"].cv_accuracy > models["logmel"].cv_accuracy  # 0.487 against 0.341 (grouped CV)


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
