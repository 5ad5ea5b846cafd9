"""mer.training.comparison: the new model beside the active one, as the Train page shows it."""

from __future__ import annotations

import shutil

from mer.model_files import load_metrics
from mer.training.comparison import compare_models


def test_two_cross_validated_models_and_their_difference(tiny_models, tmp_path):
    new = tmp_path / "new"
    shutil.copytree(tiny_models / "default", new)
    cv = load_metrics(new).cv
    compared = compare_models(new, tiny_models / "default", "default")
    assert [m.label for m in compared.models] == ["new: new", "active: default"]
    assert compared.models[0].accuracy == cv.pooled.accuracy and compared.models[0].fold_spread == cv.fold_accuracy[1]
    rows = compared.rows()
    assert len(rows) == 3 and rows[0]["CV track accuracy"] == f"{cv.pooled.accuracy:.1%}"
    assert rows[2] == {"model": "difference (new − active)", "CV track accuracy": "+0.0 points", "folds ±": "",
                       "macro-F1": "+0.000", "agreement": "+0.000"}
    assert compared.data == f"new: new: {cv.data}; active: default: {cv.data}"


def test_a_model_without_cross_validation_is_left_out(tiny_models, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()  # no metrics.json
    only = compare_models(bare, tiny_models / "default", "default")
    assert [m.label for m in only.models] == ["active: default"] and len(only.rows()) == 1
    assert compare_models(bare, bare, "bare") is None
