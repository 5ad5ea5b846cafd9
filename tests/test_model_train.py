"""The CNN-LSTM, training, checkpoints, the registry, analysis and evaluation."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mer.analyze import analyze
from mer.config import EMOTIONS, ModelConfig, TrainConfig
from mer.dataset import segment_data
from mer.emotify import load_corpus
from mer.errors import ModelError, TrainingCancelled, TrainingError
from mer.model import build_model, count_parameters, predict_proba
from mer.registry import list_models, load_active, load_model, set_active
from mer.train import fit, train

from .conftest import TINY_TRAIN, tone


def test_model_maps_windows_to_nine_logits():
    net = build_model(ModelConfig())
    out = net(torch.full((3, 64, 126), -40.0))
    assert out.shape == (3, 9)
    assert 50_000 < count_parameters(net) < 400_000  # small enough for CPUs


def test_same_seed_same_metrics(tiny_corpus):
    corpus = load_corpus(tiny_corpus)
    data = segment_data(corpus)
    config = TrainConfig(**TINY_TRAIN)
    a = fit(data, corpus.labels, config, ModelConfig())
    b = fit(data, corpus.labels, config, ModelConfig())
    assert a.test["segment_accuracy"] == b.test["segment_accuracy"]
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]
    # SMOTE balanced the training fold only
    after = [c for c in a.counts_after.values() if c]
    assert len(set(after)) == 1 and sum(a.counts_after.values()) > sum(a.counts_before.values())


def test_model_directory_round_trip_gives_identical_outputs(tiny_models, tiny_corpus):
    model_dir = tiny_models / "default"
    assert {p.name for p in model_dir.iterdir()} == {"weights.pt", "config.json", "metrics.json", "card.md"}
    meta = json.loads((model_dir / "config.json").read_text())
    assert meta["emotions"] == list(EMOTIONS) and meta["train"]["protocol"] == "track"
    assert meta["dataset"]["kind"] == "demo" and len(meta["dataset"]["fingerprint"]) == 16
    assert "torch" in meta["versions"]
    metrics = json.loads((model_dir / "metrics.json").read_text())
    track = metrics["test"]["track"]
    assert 0 <= track["track_accuracy"] <= 1 and len(track["confusion"]) == 9
    assert {"majority", "logreg"} <= set(track["baselines"])
    assert len(track["history"]) == 2
    card = (model_dir / "card.md").read_text()
    assert "synthetic" in card and "not a model of human emotion" in card

    X = segment_data(load_corpus(tiny_corpus)).X[:50]
    a, b = load_model(model_dir), load_model(model_dir)
    np.testing.assert_array_equal(predict_proba(a.net, X), predict_proba(b.net, X))


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


def test_cancel_leaves_no_model_and_the_active_one_intact(tiny_models, tiny_corpus, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(tiny_models, root)
    before = (root / "default" / "weights.pt").read_bytes()
    calls = {"n": 0}

    def stop_after_three_batches() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    with pytest.raises(TrainingCancelled, match="no model was written"):
        train(tiny_corpus, config=TrainConfig(**TINY_TRAIN), out=root / "new", should_stop=stop_after_three_batches)
    assert not (root / "new").exists()
    assert [m.name for m in list_models(root)] == ["default"]
    assert sorted(p.name for p in root.iterdir()) == ["default"]
    assert (root / "default" / "weights.pt").read_bytes() == before


def test_bad_settings_and_existing_output_are_refused(tiny_models, tiny_corpus):
    with pytest.raises(TrainingError, match="epochs must be at least 1"):
        train(tiny_corpus, config=TrainConfig(epochs=0), out=tiny_models / "x")
    with pytest.raises(TrainingError, match="already exists"):
        train(tiny_corpus, config=TrainConfig(**TINY_TRAIN), out=tiny_models / "default")


def test_analysis_gives_twenty_probability_vectors(tiny_models, write_audio):
    model = load_model(tiny_models / "default")
    path = write_audio("a.wav", tone(30.0, freq=330.0), 22_050)
    result = analyze(path, model=model)
    assert result.probabilities.shape == (20, 9)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert result.track_top == EMOTIONS[int(result.probabilities.mean(axis=0).argmax())]
    assert all(t in EMOTIONS for t in result.segment_top)
    d = result.to_dict("a.wav")
    assert d["model"] == {"name": "default", "protocol": "track", "trained_on": model.trained_on}
    assert [s["index"] for s in d["segments"]] == list(range(20))


def test_long_tracks_average_over_several_windows(tiny_models, write_audio):
    model = load_model(tiny_models / "default")
    result = analyze(write_audio("long.flac", tone(150.0, sr=8_000, freq=200.0), 8_000), model=model)
    # 7.5 s segments: 1 + (165,375 − 2,048) // 512 = 319 frames → 3 windows of 126
    assert result.features.windows.shape[:2] == (20, 3)
    assert result.probabilities.shape == (20, 9)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, atol=1e-5)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mer", *args], capture_output=True, text=True, timeout=600)


def test_analyze_cli_json_and_table(tiny_models, write_audio):
    path = write_audio("b.ogg", tone(20.0, freq=500.0, channels=2), 22_050)
    res = run("analyze", str(path), "--model", str(tiny_models / "default"), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) == {"file", "duration_s", "emotions", "segments", "track", "model"}
    assert out["emotions"] == list(EMOTIONS) and len(out["segments"]) == 20
    assert abs(sum(out["track"]["probabilities"]) - 1) < 1e-4
    table = run("analyze", str(path), "--model", str(tiny_models / "default"))
    assert table.returncode == 0 and len(table.stdout.strip().splitlines()) == 2 + 20 + 1


def test_analyze_cli_bad_file_and_bad_model(tiny_models, tmp_path, write_audio):
    (tmp_path / "x.mp3").write_text("not audio")
    res = run("analyze", str(tmp_path / "x.mp3"), "--model", str(tiny_models / "default"))
    assert res.returncode == 2 and res.stderr.startswith("error:") and "not an audio file" in res.stderr
    res = run("analyze", str(write_audio("ok.wav", tone(11.0), 22_050)), "--model", str(tmp_path / "nothing"))
    assert res.returncode == 2 and res.stderr.startswith("error: No model at")
    assert "Traceback" not in res.stderr


def test_train_and_evaluate_cli_end_to_end(tiny_corpus, tmp_path):
    from mer.demo import DemoConfig, generate_demo_corpus

    out = tmp_path / "cli-model"
    res = run("train", "--root", str(tiny_corpus), "--out", str(out), "--epochs", "1", "--progress-json",
              "--both-protocols")
    assert res.returncode == 0, res.stderr
    events = [json.loads(line) for line in res.stdout.splitlines()]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert len(epochs) == 2 and events[-1] == {"event": "done", "model": str(out)}  # one epoch per protocol
    assert "epoch 1/1: train loss" in res.stderr and "ETA" in res.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]) == {"track", "segment"}
    fresh = generate_demo_corpus(tmp_path / "fresh", DemoConfig(tracks=8, seconds=10.5, seed=99))
    res = run("evaluate", "--model", str(out), "--root", str(fresh), "--json")
    assert res.returncode == 0, res.stderr
    ev = json.loads(res.stdout)
    assert ev["n_tracks"] == 8 and ev["n_segments"] == 160
    assert np.array(ev["confusion"]).sum() == 160 and 0 <= ev["track_accuracy"] <= 1
