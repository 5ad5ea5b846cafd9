"""The CNN-LSTM, training, checkpoints, the registry, analysis and evaluation."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from mer.analyze import analyze
from mer.cli import main
from mer.config import EMOTIONS, AudioConfig, FeatureConfig, ModelConfig, TrainConfig
from mer.dataset import TrackData, segment_data, track_data
from mer.emotify import load_corpus
from mer.errors import ConfigError, ModelError, TrainingCancelled
from mer.model import build_model, count_parameters, predict_tracks, predict_windows
from mer.registry import DatasetInfo, list_models, load_active, load_metrics, load_model, save_model, set_active
from mer.train import _band_stats, cross_validate, fit, train

from .conftest import TINY_TRAIN, tone


def separable(n: int = 40, seed: int = 0, frames: int = 32) -> TrackData:
    """Tracks of two emotions that differ in which mel bands are loud, plus noise: learnable by any sane model.

    Windows of 32 frames instead of the 126 a real segment has: the network takes any length, and the tests
    that train on these run four times faster.
    """
    rng = np.random.default_rng(seed)
    labels = np.array([4, 6] * (n // 2))  # calmness, joyful activation
    X = rng.normal(-50, 6, size=(n, 20, 64, frames)).astype(np.float16)
    X[labels == 4, :, :20] += 15  # calm tracks: loud low bands
    X[labels == 6, :, 40:] += 15  # joyful tracks: loud high bands
    shares = np.full((n, 9), 0.1)
    shares[np.arange(n), labels] = 0.6
    return TrackData(X=X, labels=labels, shares=shares, genre=np.arange(n) % 4, track_id=np.arange(1, n + 1))


def test_network_gives_a_timeline_and_a_track_distribution():
    net = build_model(ModelConfig(front_end="logmel"), 64)
    out = net(torch.full((3, 20, 64, 126), -40.0))
    assert out.segment.shape == (3, 20, 9) and out.track.shape == (3, 9) and out.genre.shape == (3, 4)
    assert 30_000 < count_parameters(net) < 400_000  # small enough for CPUs


def test_lstm_lets_a_segment_see_its_neighbours():
    torch.manual_seed(0)
    net = build_model(ModelConfig(front_end="logmel"), 64).eval()
    x = torch.full((1, 20, 64, 126), -40.0)
    y = x.clone()
    y[0, 15] += 20  # change segment 16 only
    a, b = net(x).segment[0], net(y).segment[0]
    assert not torch.allclose(a[3], b[3])  # segment 4's prediction moved: it reads the whole track


def test_long_segments_average_window_embeddings():
    torch.manual_seed(0)
    net = build_model(ModelConfig(front_end="logmel"), 64).eval()
    rng = np.random.default_rng(0)
    one = rng.normal(-40, 5, (20, 1, 64, 126)).astype(np.float32)
    track, seg = predict_windows(net, np.concatenate([one, one], axis=1))  # two identical windows per segment
    t1, s1 = predict_windows(net, one)
    np.testing.assert_allclose(track, t1, atol=1e-5)
    np.testing.assert_allclose(seg.sum(axis=1), 1.0, atol=1e-5)


def test_the_model_learns_two_separable_emotions_under_cross_validation():
    data = separable()
    config = TrainConfig(epochs=6, batch_size=8, cv_folds=2, patience=6, augment=False, seed=0)
    report, nets = cross_validate(data, config, ModelConfig(front_end="logmel"), description="40 separable tracks")
    assert report.pooled.accuracy >= 0.9 > report.baselines["majority"].accuracy
    assert report.pooled.n == 40 and len(report.folds) == 2 and len(nets) == 2
    from mer.model import Ensemble

    probs = predict_tracks(Ensemble(nets), data.X)[0]  # the shipped average of the fold models
    assert np.allclose(probs.sum(axis=1), 1) and (probs.argmax(axis=1) == data.labels).mean() >= 0.9
    # listener agreement of a right prediction is the share who ticked the dominant emotion (0.6 here)
    assert report.pooled.agreement == pytest.approx(0.6 * report.pooled.accuracy + 0.1 * (1 - report.pooled.accuracy))


def test_normalisation_is_fitted_on_the_training_tracks_only():
    data = separable()
    fit_idx, val_idx = np.arange(0, 30), np.arange(30, 36)
    X = data.X.copy()
    X[36:] = 0  # test tracks far louder: must not move the statistics
    res = fit(dataclasses.replace(data, X=X), fit_idx, val_idx, TrainConfig(epochs=1, batch_size=8), ModelConfig(front_end="logmel"))
    mean, std = _band_stats(data.X[fit_idx])
    np.testing.assert_allclose(res.net.band_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(res.net.band_std.numpy(), std, rtol=1e-4)


def test_same_seed_same_training():
    data = separable(20)
    config = TrainConfig(epochs=2, batch_size=8, seed=3)
    a = fit(data, np.arange(16), np.arange(16, 20), config, ModelConfig(front_end="logmel"))
    b = fit(data, np.arange(16), np.arange(16, 20), config, ModelConfig(front_end="logmel"))
    assert [h.train_loss for h in a.history] == [h.train_loss for h in b.history]
    np.testing.assert_array_equal(predict_tracks(a.net, data.X[:4])[0], predict_tracks(b.net, data.X[:4])[0])


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
    with pytest.raises(ConfigError, match="epochs must be between 1 and"):
        train(tiny_corpus, config=TrainConfig(epochs=0), out=tiny_models / "x")
    with pytest.raises(ConfigError, match="at least 2 folds"):
        train(tiny_corpus, config=TrainConfig(cv_folds=1), out=tiny_models / "x")
    with pytest.raises(ModelError, match="already exists"):
        train(tiny_corpus, config=TrainConfig(**TINY_TRAIN), out=tiny_models / "default")


def test_track_data_keeps_segments_in_order(tiny_corpus):
    corpus = load_corpus(tiny_corpus)
    seg = segment_data(corpus)
    data = track_data(corpus, seg)
    assert data.X.shape == (36, 20, 64, 126)
    row = np.flatnonzero((seg.track == 5) & (seg.segment == 7))[0]
    np.testing.assert_array_equal(data.X[5, 7], seg.X[row])
    np.testing.assert_allclose(data.targets.sum(axis=1), 1.0)


def test_analysis_gives_twenty_probability_vectors_and_a_track_distribution(tiny_models, write_audio):
    model = load_model(tiny_models / "default")
    path = write_audio("a.wav", tone(30.0, freq=330.0), 22_050)
    result = analyze(path, model=model)
    assert result.probabilities.shape == (20, 9) and result.track_probabilities.shape == (9,)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert result.track_probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert result.track_top == EMOTIONS[int(result.track_probabilities.argmax())]
    d = result.to_dict("a.wav")
    assert d["model"] == {"name": "default", "trained_on": model.trained_on}
    assert [s["index"] for s in d["segments"]] == list(range(20))


def test_the_html_report_holds_the_charts_the_numbers_and_the_model(tiny_models, write_audio):
    from mer.report import analysis_csv, html_report

    result = analyze(write_audio("a b.wav", tone(30.0, freq=330.0), 22_050), model=load_model(tiny_models / "default"))
    page = html_report(result)
    assert page.count("<script src") == 0 and page.count("Plotly.newPlot") == 3  # plotly.js inline, three charts
    assert "Emotion timeline" in page and "Whole track" in page and "Waveform and the 20 segments" in page
    assert page.count("<tr><td>") == 20 and "<b>default</b>" in page
    top = result.track_top.replace("_", " ")
    assert f"Overall emotion: {top}" in page and f"{result.track_probabilities.max():.2f}" in page
    rows = analysis_csv(result).splitlines()
    assert len(rows) == 21 and rows[0].startswith("segment,start_s,end_s,top_emotion,amazement")


def test_long_tracks_average_over_several_windows(tiny_models, write_audio):
    model = load_model(tiny_models / "default")
    result = analyze(write_audio("long.flac", tone(150.0, sr=8_000, freq=200.0), 8_000), model=model)
    # 7.5 s segments: 1 + (165,375 − 2,048) // 512 = 319 frames → 3 windows of 126
    assert result.features.windows.shape[:2] == (20, 3)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_analyze_cli_json_and_table(tiny_models, write_audio, capsys):
    path = write_audio("b.ogg", tone(20.0, freq=500.0, channels=2), 22_050)
    assert main(["analyze", str(path), "--model", str(tiny_models / "default"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"file", "duration_s", "emotions", "segments", "track", "model"}
    assert out["emotions"] == list(EMOTIONS) and len(out["segments"]) == 20
    assert abs(sum(out["track"]["probabilities"]) - 1) < 1e-4
    assert main(["analyze", str(path), "--model", str(tiny_models / "default")]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2 + 20 + 1


def test_analyze_cli_bad_file_and_bad_model(tiny_models, tmp_path, write_audio, capsys):
    (tmp_path / "x.mp3").write_text("not audio")
    assert main(["analyze", str(tmp_path / "x.mp3"), "--model", str(tiny_models / "default")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not an audio file" in err
    assert main(["analyze", str(write_audio("ok.wav", tone(11.0), 22_050)), "--model", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No model at") and "Traceback" not in err


def test_train_card_and_evaluate_cli_end_to_end(tiny_corpus, tmp_path, capsys):
    from mer.demo import DemoConfig, generate_demo_corpus

    out = tmp_path / "cli-model"
    code = main(["train", "--root", str(tiny_corpus), "--out", str(out), "--epochs", "1", "--cv-folds", "2",
                 "--ladder", "--progress-json", "--conv-channels", "32,32", "--embedding", "32", "--lstm-hidden", "16"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    events = [json.loads(line) for line in captured.out.splitlines()]
    stages = [e["stage"] for e in events if e["event"] == "epoch"]
    assert stages == ["fold 1/2", "fold 2/2", "ladder: segment protocol", "ladder: study protocol"]  # ships the folds
    assert sorted(set(stages), key=stages.index) == TrainConfig(cv_folds=2, ladder=True).fits()  # the announced plan
    assert events[-1] == {"event": "done", "model": str(out)}
    assert "fold 1/2: epoch 1/1: train loss" in captured.err and "cross-validated (2 folds" in captured.err
    assert main(["card", "--model", str(out), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert set(card["protocols"]) == {"study", "segment", "track"}
    assert card["protocols"]["track"]["accuracy"] == card["cross_validation"]["accuracy"]
    assert card["protocols"]["study"]["unit"] == "segment" and card["protocols"]["track"]["unit"] == "track"
    fresh = generate_demo_corpus(tmp_path / "fresh", DemoConfig(tracks=8, seconds=10.5, seed=99))
    assert main(["evaluate", "--model", str(out), "--root", str(fresh), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["n"] == 8 and np.array(ev["confusion"]).sum() == 8
    shares = load_corpus(fresh).shares
    assert shares.min(axis=1).mean() <= ev["agreement"] <= shares.max(axis=1).mean()


def test_devices_resolve_or_say_what_to_use_instead(tiny_models, write_audio, capsys):
    from mer.device import resolve_device
    from mer.errors import DeviceError

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else
                                           "mps" if torch.backends.mps.is_available() else "cpu")
    with pytest.raises(DeviceError, match="Unknown device 'tpu'"):
        resolve_device("tpu")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal below cannot be shown")
    path = write_audio("c.wav", tone(12.0), 22_050)
    assert main(["analyze", str(path), "--model", str(tiny_models / "default"), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: The device 'cuda' is not available") and "--device cpu" in err


def test_a_network_trained_on_a_device_comes_back_on_the_cpu():
    data = separable(n=12)
    config = TrainConfig(epochs=1, batch_size=4, class_weighted=True, mixup=0.2)
    res = fit(data, np.arange(8), np.arange(8, 12), config, ModelConfig(front_end="logmel"), device=torch.device("cpu"))
    assert all(p.device.type == "cpu" for p in res.net.parameters())
    same = fit(data, np.arange(8), np.arange(8, 12), config, ModelConfig(front_end="logmel"))
    np.testing.assert_allclose(predict_tracks(res.net, data.X)[0], predict_tracks(same.net, data.X)[0], atol=1e-6)
