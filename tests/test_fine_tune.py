"""Fine-tuning MusiCNN's last block: the block on its own, what it reads, a model that trains it, and where
it is refused (the bundled embeddings hold no block inputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mer.audio import embeddings, musicnn
from mer.config import AudioConfig, FeatureConfig, ModelConfig, TrainConfig
from mer.errors import ConfigError, ModelError, TrainingError

from .helpers import tone

FIXTURE = Path(__file__).parent / "fixtures" / "musicnn_parity.npz"
SMALL = dict(fine_tune=True, embedding=8, lstm_hidden=4)


def _song(seconds: float, sr: int = 22_050) -> np.ndarray:
    """A tone that moves up in steps, so that each segment differs."""
    parts = [tone(seconds / 4, sr, freq=f) for f in (220.0, 330.0, 440.0, 660.0)]
    return np.concatenate(parts)


def test_the_last_block_alone_recomputes_the_end_of_mean_pool():
    net = musicnn.load_musicnn(precision="float32")
    with np.load(FIXTURE) as f:
        x = torch.from_numpy(f["patches"])
    with torch.no_grad():
        out = net(x)
        alone = musicnn.LastBlock.pretrained(net)(out.last_block_input)
    assert out.last_block_input.shape == (len(x), 64, musicnn.PATCH_FRAMES)
    torch.testing.assert_close(alone, out.mean_pool[:, musicnn.LAST_BLOCK_MEAN_POOL], rtol=0, atol=1e-6)


@pytest.mark.parametrize("seconds", [12.0, 150.0])  # segments shorter than a patch, and of 2.5 patches
def test_at_its_pretrained_weights_a_fine_tuning_model_reads_the_frozen_embeddings(seconds):
    from mer.model import build_model

    emb = embeddings.embed_samples(_song(seconds), 22_050, block_inputs=True)
    assert list(emb.patches) == [1] * 20  # one patch a segment, so the block's input is the embedding's own
    inputs = emb.fine_tune_inputs()
    assert inputs.shape == (20, embeddings.EMBEDDING_DIM + musicnn.LAST_BLOCK_INPUTS)
    net = build_model(ModelConfig(**SMALL), inputs.shape[1]).eval()
    with torch.no_grad():
        seen = net.fine_tuned(torch.from_numpy(inputs[None]))[0].numpy()
    np.testing.assert_allclose(seen, emb.vectors, rtol=0, atol=2e-5)
    assert np.ptp(emb.vectors[:, musicnn.LAST_BLOCK_MEAN_POOL], axis=0).max() > 0.1  # the block's part moves
    with pytest.raises(ModelError, match="block_inputs=True"):
        build_model(ModelConfig(**SMALL), embeddings.EMBEDDING_DIM)  # the embeddings alone


def test_a_fine_tuned_model_trains_its_block_then_saves_loads_and_analyses(tmp_path, write_audio):
    from mer.analyze import analyze
    from mer.config import DatasetInfo
    from mer.data.demo import DemoConfig, generate_demo_corpus
    from mer.model import predict_tracks
    from mer.model_files import load_model, save_model
    from mer.training.train import fit, load_training_data

    root = generate_demo_corpus(tmp_path / "c", DemoConfig(tracks=6, seconds=10.5, seed=3))
    model_config = ModelConfig(**SMALL)
    data, _ = load_training_data(root, model_config=model_config, cache_dir=tmp_path / "cache")
    assert data.X.shape == (6, 20, embeddings.EMBEDDING_DIM + musicnn.LAST_BLOCK_INPUTS)
    config = TrainConfig(epochs=2, cv_folds=0, ship="all", fine_tune_lr=1e-2)
    net = fit(data, np.arange(4), np.arange(4, 6), config, model_config).net
    shared = musicnn.load_musicnn()
    pretrained = shared.midend.convs[-1].weight
    assert (net.last_block.conv.weight - pretrained).abs().max() > 1e-3  # it learnt
    on_file = torch.load(musicnn.WEIGHTS_PATH, weights_only=True)["midend.convs.2.weight"]
    assert torch.equal(pretrained, on_file)  # the MusiCNN every analysis shares is untouched

    path = save_model(net, name="tuned", root=tmp_path / "models", audio_config=AudioConfig(),
                      feature_config=FeatureConfig(), model_config=model_config, train_config=config,
                      dataset=DatasetInfo("6 demo tracks"), metrics={}, card="")
    model = load_model(path)
    assert model.model_config.fine_tune
    torch.testing.assert_close(model.net.last_block.conv.weight, net.last_block.conv.weight)
    song = write_audio("song.wav", _song(12.0), 22_050)
    result = analyze(song, model=model)
    emb = embeddings.embed_audio(result.audio, block_inputs=True)
    np.testing.assert_allclose(result.probabilities, predict_tracks(net, emb.fine_tune_inputs()[None])[1][0],
                               rtol=0, atol=1e-6)


def test_fine_tuning_is_refused_where_it_cannot_work(tmp_path):
    from mer.training.job import start_training
    from mer.training.train import load_training_data

    with pytest.raises(ConfigError, match="fine_tune needs front_end 'musicnn'"):
        ModelConfig(front_end="logmel", fine_tune=True)
    with pytest.raises(TrainingError, match="needs the audio.*--root"):
        load_training_data(None, model_config=ModelConfig(fine_tune=True))
    with pytest.raises(TrainingError, match="needs the audio"):
        start_training(None, TrainConfig(), ModelConfig(fine_tune=True), models_root=tmp_path)
    assert not list(tmp_path.iterdir())  # refused before a job or a lock was written
