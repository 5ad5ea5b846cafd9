"""Training: cross-validation, normalisation on the training tracks only, seeds, cancelling, bad settings, devices."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import torch

from mer.config import ModelConfig, TrainConfig
from mer.data.dataset import segment_data, track_data
from mer.data.emotify import load_corpus
from mer.errors import ConfigError, ModelError, TrainingCancelled
from mer.model import predict_tracks
from mer.registry import list_models
from mer.training.train import _band_stats, cross_validate, fit, train

from .helpers import TINY_MODEL, TINY_TRAIN, separable


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


def test_cancel_leaves_no_model_and_the_active_one_intact(tiny_models, tiny_corpus, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(tiny_models, root)
    before = (root / "default" / "weights.pt").read_bytes()
    calls = {"n": 0}

    def stop_after_three_batches() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    with pytest.raises(TrainingCancelled, match="no model was written"):
        train(tiny_corpus, config=TrainConfig(**TINY_TRAIN), model_config=ModelConfig(**TINY_MODEL), out=root / "new",
              should_stop=stop_after_three_batches)
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


def test_a_network_trained_on_a_device_comes_back_on_the_cpu():
    data = separable(n=12)
    config = TrainConfig(epochs=1, batch_size=4, class_weighted=True, mixup=0.2)
    res = fit(data, np.arange(8), np.arange(8, 12), config, ModelConfig(front_end="logmel"), device=torch.device("cpu"))
    assert all(p.device.type == "cpu" for p in res.net.parameters())
    same = fit(data, np.arange(8), np.arange(8, 12), config, ModelConfig(front_end="logmel"))
    np.testing.assert_allclose(predict_tracks(res.net, data.X)[0], predict_tracks(same.net, data.X)[0], atol=1e-6)


def test_the_pooled_segment_loss_is_the_cross_entropy_of_the_segments_mean():
    import torch

    from mer.training.train import _segment_loss

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 20, 9, generator=g)
    target = torch.softmax(torch.randn(3, 9, generator=g), dim=-1)
    expected = -(target * torch.softmax(logits, dim=-1).mean(dim=1).log()).sum(dim=-1)
    torch.testing.assert_close(_segment_loss(logits, target, "pooled"), expected)
    same = logits[:, :1].expand(3, 20, 9)  # every segment alike: the mean is each segment
    torch.testing.assert_close(_segment_loss(same, target, "pooled"), _segment_loss(same, target, "shares"))
    # an emotion every segment rules out: a large, finite loss that still pulls the segments towards it
    far = torch.zeros(1, 20, 9)
    far[..., 0] = -200.0
    far.requires_grad_()
    loss = _segment_loss(far, torch.eye(9)[:1], "pooled")
    loss.sum().backward()
    assert torch.isfinite(loss).all() and loss.item() > 150 and far.grad[..., 0].sum() < 0


def test_the_progress_bar_of_a_resumed_batch_ends_full():
    import io

    from mer.progress import ProgressPrinter

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    bar = ProgressPrinter(style="bar", unit="file", stream=out)
    for done, total in ((0, 7), (0, 6), (0, 5), (0, 4), (2, 4), (4, 4)):  # three finished files found and skipped
        bar(done, total, "resuming")
    bar.close()
    assert "4/4" in out.getvalue() and "100%" in out.getvalue()


@pytest.mark.parametrize("segment_target", ["shares", "dominant", "pooled"])
def test_track_weights_scale_each_tracks_whole_loss_by_its_listeners(segment_target):
    import dataclasses

    import torch

    from mer.config import ModelConfig, TrainConfig
    from mer.data.dataset import TrackData
    from mer.model import build_model
    from mer.training.train import _loss, _weights

    rng = np.random.default_rng(0)
    shares = rng.dirichlet(np.ones(9), size=3)
    data = TrackData(X=rng.normal(size=(3, 20, 16)).astype(np.float32), labels=shares.argmax(axis=1),
                     shares=shares, genre=np.zeros(3, dtype=np.int64), track_id=np.arange(3),
                     responses=np.array([4.0, 16.0, 64.0]))
    config = TrainConfig(segment_target=segment_target, track_weights="sqrt_responses")
    w = _weights(data, np.arange(3), config)
    np.testing.assert_allclose(w, np.array([2.0, 4.0, 8.0]) / (14 / 3))  # √n, mean 1
    assert np.all(_weights(dataclasses.replace(data, responses=None), np.arange(3), config) == 1.0)
    torch.manual_seed(0)
    net = build_model(ModelConfig(embedding=8, lstm_hidden=4, dropout=0.0), 16).eval()
    x, genre = torch.from_numpy(data.X), torch.from_numpy(data.genre)
    cw = torch.linspace(0.5, 2.0, 9)
    with torch.no_grad():
        for class_weight in (None, cw):
            target = torch.tensor(data.targets, dtype=torch.float32)
            per = [float(_loss(net, x[i:i + 1], target[i:i + 1], genre[i:i + 1], config, class_weight))
                   for i in range(3)]
            weighted = _loss(net, x, torch.tensor(data.targets * w[:, None], dtype=torch.float32), genre, config,
                             class_weight)
            assert float(weighted) == pytest.approx(float(np.mean(w * np.array(per))), rel=1e-5)
