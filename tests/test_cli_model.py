"""The model commands (mer.cli.model): `models` lists the folder and switches the active model. Training, the
card and evaluation end to end: test_cli.py."""

from __future__ import annotations

import json

from mer.cli import main


def test_models_lists_each_model_and_marks_the_active_one(tiny_models, monkeypatch, capsys, tmp_path):
    import shutil

    root = tmp_path / "models"
    shutil.copytree(tiny_models / "default", root / "default")
    shutil.copytree(tiny_models / "default", root / "second")
    (root / "broken").mkdir()
    (root / "broken" / "config.json").write_text("{")
    monkeypatch.setenv("MER_MODELS_DIR", str(root))
    assert main(["models", "--activate", "second"]) == 0
    assert capsys.readouterr().out == "active model: second\n"
    assert main(["models"]) == 0
    lines = {line[2:].split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["second"].startswith("* ") and lines["default"].startswith("  ") and lines["broken"].startswith("! ")
    assert json.loads((root / "active.json").read_text())["name"] == "second"
