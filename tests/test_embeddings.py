"""MusiCNN's view of a track's segments: which patches a segment reads, the embeddings and tags, and a model
whose front-end is MusiCNN (the corpora's embeddings, cached and bundled: test_embedded.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mer.audio import embeddings, musicnn
from mer.data.embedded import bundled_track_data
from mer.errors import ConfigError
from mer.kernels import run_precision

from .helpers import tone


def _frames(seconds: float) -> int:
    return 1 + int(seconds * musicnn.SAMPLE_RATE) // musicnn.HOP


def test_a_60_s_excerpt_reads_one_patch_per_segment_aligned_with_musicnns_own():
    edges = np.linspace(0, 60, 21)
    starts = embeddings.patch_starts(_frames(60), edges[:-1], edges[1:])
    assert [len(s) for s in starts] == [1] * 20
    first = np.concatenate(starts)
    # musicnn's extractor cuts patches at 0, 187, 374, ...: the segments' patches are within a few frames of them
    assert np.abs(first - 187 * np.arange(20)).max() <= 10 and np.all(np.diff(first) >= 185)


def test_long_segments_average_a_bounded_number_of_patches_inside_them_and_short_ones_are_centred():
    edges = np.linspace(0, 1200, 21)  # 20 minutes: 60 s segments
    starts = embeddings.patch_starts(_frames(1200), edges[:-1], edges[1:])
    assert [len(s) for s in starts] == [embeddings.MAX_PATCHES] * 20
    for s, a, b in zip(starts, edges[:-1] * 62.5, edges[1:] * 62.5):
        assert s.min() >= a - 1 and s.max() + musicnn.PATCH_FRAMES <= b + 1 and np.all(np.diff(s) > 0)
    edges = np.linspace(0, 10, 21)  # 10 s: segments of 0.5 s (31 frames)
    starts = np.concatenate(embeddings.patch_starts(_frames(10), edges[:-1], edges[1:]))
    centres = starts + musicnn.PATCH_FRAMES / 2
    inner = slice(3, 17)  # away from the ends, where the patch is clamped to the track
    np.testing.assert_allclose(centres[inner], ((edges[:-1] + edges[1:]) / 2 * 62.5)[inner], atol=1)
    assert starts.min() == 0 and starts.max() == _frames(10) - musicnn.PATCH_FRAMES


def test_segment_embeddings_and_tags_follow_the_music():
    sr = 22_050
    rng = np.random.default_rng(0)
    y = np.concatenate([0.3 * rng.standard_normal(6 * sr), tone(6.0, sr=sr, freq=220.0)]).astype(np.float32)
    emb = embeddings.embed_samples(y, sr)
    assert emb.vectors.shape == (20, embeddings.EMBEDDING_DIM) and emb.tags.shape == (20, len(musicnn.TAGS))
    assert np.isfinite(emb.vectors).all() and 0 <= emb.tags.min() and emb.tags.max() <= 1
    assert list(emb.patches) == [1] * 20
    noise, sine = emb.vectors[1:9], emb.vectors[11:19]
    within = np.linalg.norm(noise - noise.mean(0), axis=1).mean() + np.linalg.norm(sine - sine.mean(0), axis=1).mean()
    assert np.linalg.norm(noise.mean(0) - sine.mean(0)) > within  # the halves are heard apart


@pytest.fixture(scope="module")
def musicnn_model(tmp_path_factory):
    """A MusiCNN CNN-LSTM trained briefly on 120 of the bundled Emotify tracks, saved like any model."""
    import dataclasses

    from mer.config import AudioConfig, DatasetInfo, FeatureConfig, ModelConfig, TrainConfig
    from mer.model_files import save_model
    from mer.training.train import fit

    data = bundled_track_data()
    data = dataclasses.replace(data, X=data.X[:120], labels=data.labels[:120], shares=data.shares[:120],
                               genre=data.genre[:120], track_id=data.track_id[:120], summary=data.summary[:120])
    config, model_config = TrainConfig(epochs=3, cv_folds=0, ship="all"), ModelConfig(embedding=16, lstm_hidden=8)
    res = fit(data, np.arange(100), np.arange(100, 120), config, model_config)
    root = tmp_path_factory.mktemp("musicnn-models")
    return save_model(res.net, name="musicnn", root=root, audio_config=AudioConfig(), feature_config=FeatureConfig(),
                      model_config=model_config, train_config=config, dataset=DatasetInfo("120 tracks"),
                      metrics={}, card="")


def test_a_musicnn_model_records_its_front_end_and_analyses_with_tags(musicnn_model, write_audio):
    from mer.analyze import analyze
    from mer.model_files import load_model

    meta = json.loads((musicnn_model / "config.json").read_text())
    assert meta["model"]["front_end"] == "musicnn" and meta["front_end"] == embeddings.front_end_record()
    path = write_audio("song.wav", tone(12.0, freq=330.0), 22_050)
    result = analyze(path, model=load_model(musicnn_model))
    out = result.to_dict()
    assert np.array(out["segments"][0]["probabilities"]).shape == (9,) and len(out["segments"]) == 20
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, rtol=1e-5)
    tagger = out["tagger"]
    assert len(tagger["tags"]) == 50 and np.array(tagger["segments"]).shape == (20, 50)
    assert "not emotions" in tagger["source"] and tagger["top"][0] == tagger["tags"][int(np.argmax(tagger["track"]))]


def test_a_model_trained_on_another_front_end_is_refused(musicnn_model, tmp_path):
    import shutil

    from mer.errors import ModelError
    from mer.model_files import load_model

    copy = tmp_path / "other"
    shutil.copytree(musicnn_model, copy)
    meta = json.loads((copy / "config.json").read_text())
    meta["front_end"]["weights_sha256"] = "0000000000000000"
    (copy / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="inputs this version of mer computes differently.*Retrain"):
        load_model(copy)


def test_a_model_analyses_in_the_precision_this_machine_runs_and_says_which(musicnn_model, tmp_path, write_audio,
                                                                            monkeypatch):
    # The model records int8 (its embeddings'); MusiCNN runs in what MER_PRECISION or the CPU chooses, and the
    # analysis says what ran. Models from before the choice record no precision: they read as float32 and load.
    import shutil

    from mer.analyze import analyze
    from mer.audio.decode import load_audio
    from mer.kernels import kernel_choice
    from mer.model import predict_tracks
    from mer.model_files import load_model

    model = load_model(musicnn_model)
    assert model.record.precision == model.recorded_precision == embeddings.BUNDLED_PRECISION == "int8"
    path = write_audio("song.wav", tone(12.0, freq=330.0), 22_050)
    audio = load_audio(path, config=model.audio_config)
    monkeypatch.setenv("MER_PRECISION", "float32")
    result = analyze(path, model=model)
    assert result.precision == model.run_precision == "float32" and result.to_dict()["model"]["precision"] == "float32"
    assert result.to_dict()["model"]["kernel"] == result.kernel == kernel_choice().kernel  # float32 names its kernel
    vectors = embeddings.embed_audio(audio, precision="float32").vectors
    np.testing.assert_allclose(predict_tracks(model.net, vectors[None])[1][0], result.probabilities, rtol=0, atol=1e-6)
    monkeypatch.setenv("MER_PRECISION", "auto")
    assert model.run_precision == kernel_choice().precision
    monkeypatch.setenv("MER_PRECISION", "fp8")
    with pytest.raises(ConfigError, match="MER_PRECISION='fp8' is not one of auto, float32, int8"):
        analyze(path, model=model)
    copy = tmp_path / "legacy"
    shutil.copytree(musicnn_model, copy)
    meta = json.loads((copy / "config.json").read_text())
    del meta["front_end"]["precision"]
    (copy / "config.json").write_text(json.dumps(meta))
    assert load_model(copy).recorded_precision == "float32"


def test_the_shipped_models_card_names_its_front_end_and_precision(capsys):
    from pathlib import Path

    from mer.cli import main

    assert main(["card", "--json", "--model", str(Path(__file__).resolve().parent.parent / "models" / "default")]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["front_end"] == embeddings.front_end_record() and card["front_end"]["precision"] == "int8"
    assert card["runs_here"]["precision"] == run_precision() and "MusiCNN runs here in" in card["runs_here"]["note"]
    assert "probed once on this machine" in card["runs_here"]["choice_basis"]  # how the choice was made
    assert card["model"]["fine_tune"] is False and card["cross_validation"]["folds"] == 5


def test_the_shipped_model_gives_the_stored_answer_on_a_bundled_example():
    """Pins the bundled default model, its front-end and the analysis pipeline: any change shows here."""
    from pathlib import Path

    from mer.analyze import analyze
    from mer.model_files import load_model

    root = Path(__file__).resolve().parent.parent
    golden = json.loads((Path(__file__).parent / "fixtures" / "default_model_motion.json").read_text())
    result = analyze(root / golden["file"], model=load_model(root / golden["model"]))
    stored = golden["precisions"][result.precision]  # stored per precision: this CPU's choice is checked exactly
    np.testing.assert_allclose(result.track_probabilities, stored["track"], atol=2e-4)
    np.testing.assert_allclose(result.probabilities, stored["segments"], atol=2e-4)
    assert result.track_top == "joyful_activation" and result.tagger_dict()["top"] == stored["top_tags"]
    other = golden["precisions"]["int8" if result.precision == "float32" else "float32"]  # and the two agree
    np.testing.assert_allclose(result.probabilities, other["segments"], atol=0.005)


def test_missing_musicnn_weights_fall_back_to_the_log_mel_model_with_the_reason(tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    from mer.errors import ModelError
    from mer.model_files import load_model
    from mer.registry import load_active

    models = Path(__file__).resolve().parent.parent / "models"
    for name in ("default", "logmel"):
        shutil.copytree(models / name, tmp_path / name)
    monkeypatch.setattr(musicnn, "WEIGHTS_PATH", tmp_path / "gone.pt")
    musicnn._load_bundled.cache_clear()
    try:
        with pytest.raises(ModelError, match="gone.pt.*convert_musicnn.py"):
            load_model(tmp_path / "default")
        model = load_active(tmp_path)
    finally:
        musicnn._load_bundled.cache_clear()
    assert model.name == "logmel" and "gone.pt" in model.fallback_reason
