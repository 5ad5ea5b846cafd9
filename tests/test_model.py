"""The networks: a timeline and a track distribution, the LSTM's context, long segments."""

from __future__ import annotations

import numpy as np
import torch

from mer.config import ModelConfig
from mer.model import build_model, count_parameters, predict_windows


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
