"""The study's recipe and the two-family leakage ladder: its features, its leak, its determinism, where it shows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mer.errors import DataError
from mer.results import Rung
from mer.training.study import FEATURE_NAMES, StudyConfig, segment_features, study_ladder

SR = 22_050


def test_the_study_features_are_librosas_means_of_each_segment():
    t = np.arange(6 * SR) / SR
    sine = 0.5 * np.sin(2 * np.pi * 440 * t)
    clicks = np.zeros_like(t)
    decay = np.random.default_rng(0).normal(size=1000) * np.exp(-np.arange(1000) / 150) * 0.5
    for beat in np.arange(0, 6, 0.5):  # noise bursts at 120 beats per minute
        clicks[int(beat * SR):int(beat * SR) + 1000] = decay
    y = np.concatenate([sine, clicks, [0.9] * 3]).astype(np.float32)  # a remainder the segments drop
    F = segment_features(y, SR, n_segments=4)
    col = {name: F[:, i] for i, name in enumerate(FEATURE_NAMES)}
    assert F.shape == (4, 28) and F.dtype == np.float32 and np.isfinite(F).all()
    np.testing.assert_allclose(col["rms"][:2], 0.5 / np.sqrt(2), rtol=0.03)  # librosa's RMS of a sine
    np.testing.assert_allclose(col["spectral_centroid"][:2], 440, rtol=0.1)
    np.testing.assert_allclose(col["zero_crossing_rate"][:2], 2 * 440 / SR, rtol=0.05)
    assert (col["rms"][2:] < col["rms"][0] / 4).all()  # the sparse bursts, in order
    np.testing.assert_allclose(col["tempo"][2:], 120, rtol=0.05)  # librosa's estimate for 3 s of beats
    assert abs(col["harmonic"][0]) < 0.01 and col["mfcc_1"][0] > col["mfcc_1"][2]


def _tracks(n_tracks: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Tracks of three emotions in turn whose 20 segments sit close to a point of their own."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=(n_tracks, 1, 28))
    return (centre + 0.05 * rng.normal(size=(n_tracks, 20, 28))).astype(np.float32), np.arange(n_tracks) % 3


def test_the_study_recipe_is_deterministic_for_a_seed_whatever_the_threads():
    import torch

    X, labels = _tracks(24, seed=1)
    config = StudyConfig(conv_channels=(8, 8), lstm_hidden=8, dense=8, epochs=3, batch_size=64)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        here, fits = study_ladder(X, labels, config=config, seed=3, n_folds=2, workers=1)
        torch.set_num_threads(2)  # as many as a lone process would take: each fit still runs on one thread
        assert study_ladder(X, labels, config=config, seed=3, n_folds=2, workers=1)[0] == here
    finally:
        torch.set_num_threads(threads)
    assert study_ladder(X, labels, config=config, seed=4, n_folds=2, workers=1)[0] != here
    assert [f.stage for f in fits] == ["study recipe: study protocol", "study recipe: segment protocol",
                                       "study recipe: fold 1/2", "study recipe: fold 2/2"]
    assert all(1 <= f.best_epoch <= f.epochs <= 3 for f in fits)


def test_study_features_of_another_track_set_are_refused_with_the_counts(monkeypatch):
    import mer.training.ladder
    from mer.training.study import StudyFeatures, load_study_features

    real = load_study_features()
    other = StudyFeatures(X=np.concatenate([real.X[2:], real.X[:1]]),
                          track_id=np.concatenate([real.track_id[2:], [9999]]))
    monkeypatch.setattr(mer.training.ladder, "load_study_features", lambda: other)
    with pytest.raises(DataError, match=r"hold 319 tracks, the bundled embeddings 320 \(2 of these missing, "
                                        r"1 others extra\)"):
        mer.training.ladder.ladder_data(("study",))


def test_a_ladder_root_with_missing_audio_is_listed_as_train_lists_it(tiny_corpus, tmp_path, capsys):
    import shutil

    from mer.cli import main

    root = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, root)
    victim = next(root.glob("emotifymusic/*/*"))
    victim.unlink()
    assert main(["ladder", "--family", "study", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 1 audio file(s) listed in data.csv are missing") and "--allow-missing" in err
    assert err.count("\n") == 1  # one line, no traceback


def two_family_report():
    from mer.results import FamilyLadder, LadderReport

    def fam(name, accs):
        rungs = {p: Rung(p, "track" if p == "track" else "segment", a, 64 if p == "track" else 1280, p)
                 for p, a in zip(("study", "segment", "track"), accs)}
        return FamilyLadder(family=name, rungs=rungs, seconds=12.5, config={})

    return LadderReport(data="Emotify, 320 tracks (bundled features)", n_tracks=320, seed=0,
                        families={"study": fam("study", (0.912, 0.803, 0.331)),
                                  "mer": fam("mer", (0.633, 0.446, 0.487))})


def test_the_card_shows_the_study_recipes_ladder_beside_the_models_own(tiny_models, tmp_path, monkeypatch, capsys):
    import shutil

    from mer.cli import main
    from mer.registry import load_ladder, save_ladder

    models = tmp_path / "models"
    shutil.copytree(tiny_models, models)
    monkeypatch.setenv("MER_MODELS_DIR", str(models))
    assert main(["card", "--json"]) == 0
    assert "study_recipe" not in json.loads(capsys.readouterr().out)  # nothing measured, nothing shown
    save_ladder(two_family_report())
    assert load_ladder() == two_family_report()
    assert main(["card", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    recipe = card["study_recipe"]["protocols"]
    assert {k: v["accuracy"] for k, v in recipe.items()} == {"study": 0.912, "segment": 0.803, "track": 0.331}
    assert recipe["study"]["unit"] == "segment" and recipe["track"]["n_test"] == 64
    assert card["protocols"]["track"]["accuracy"] == card["cross_validation"]["accuracy"]  # the model's own, beside


def test_the_ladder_command_reproduces_the_study_family_from_the_bundled_features(tmp_path, monkeypatch, capsys):
    import mer.training.ladder
    from mer.cli import main

    # the recipe's network cut to one block and one epoch: the command, the data and the protocols are real
    monkeypatch.setattr(mer.training.ladder, "LADDER_STUDY_CONFIG",
                        StudyConfig(conv_channels=(8,), lstm_hidden=8, dense=8, epochs=1, batch_size=512))
    monkeypatch.setenv("MER_MODELS_DIR", str(tmp_path))
    assert main(["ladder", "--family", "study", "--workers", "2", "--save", "--json"]) == 0  # fits on a pool
    out = json.loads(capsys.readouterr().out)
    rungs = out["families"]["study"]["rungs"]
    assert out["n_tracks"] == 320 and out["data"] == "Emotify, 320 tracks (bundled features)"
    # 20 % of the 6,400 segments after SMOTE on all of them (9 × 75 tracks × 20), of the real ones, all tracks
    assert [rungs[p]["n_test"] for p in ("study", "segment", "track")] == [2700, 1280, 320]
    assert all(0 <= r["accuracy"] <= 1 for r in rungs.values())
    saved = json.loads((tmp_path / "ladder.json").read_text())
    assert saved["families"]["study"]["rungs"] == rungs and "mer" not in saved["families"]
    assert [f["epochs"] for f in out["families"]["study"]["fits"]] == [1] * 7  # one epoch, seven fits
