"""The features of a track's 20 segments (mer.audio.features): spectra and log-mel windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mer.audio.decode import Audio
from mer.audio.features import model_windows, track_features
from mer.config import FeatureConfig

from .helpers import tone

SR = 22_050


def test_segment_count_comes_from_the_config():
    audio = Audio(tone(12.0), SR, "t", SR, 1, "WAV")
    feats = track_features(audio, FeatureConfig(n_segments=8))
    assert len(feats.segments) == 8 and feats.spectra.magnitude_db.shape[0] == 8


def _audio(y: np.ndarray) -> Audio:
    return Audio(y.astype(np.float32), SR, "t", SR, 1, "WAV")


def test_a_440_hz_tone_peaks_within_one_bin_in_every_segment():
    feats = track_features(_audio(tone(60.0, freq=440.0)))
    spec = feats.spectra
    bin_hz = spec.freqs_hz[1]
    assert bin_hz == pytest.approx(SR / 2048)
    assert np.all(np.abs(spec.dominant_hz - 440.0) <= bin_hz)
    assert spec.freqs_hz[-1] == pytest.approx(SR / 2)  # up to Nyquist
    # amplitude 0.5 → about −6 dB (Hann scalloping costs at most 1.5 dB)
    assert np.all((spec.magnitude_db.max(axis=1) > -7.6) & (spec.magnitude_db.max(axis=1) < -5.9))
    assert np.all(np.abs(spec.rms_dbfs - 20 * np.log10(0.5 / np.sqrt(2))) < 0.1)


def test_each_segment_sees_its_own_audio():
    # first half 300 Hz, second half 3 kHz: segments 0-9 and 10-19 differ
    y = np.concatenate([tone(30.0, freq=300.0), tone(30.0, freq=3000.0)])
    spec = track_features(_audio(y)).spectra
    assert np.all(np.abs(spec.dominant_hz[:10] - 300) <= 11)
    assert np.all(np.abs(spec.dominant_hz[10:] - 3000) <= 11)
    assert np.all(spec.centroid_hz[10:] > spec.centroid_hz[:10])


def test_a_60_s_track_fills_exactly_one_window_per_segment():
    feats = track_features(_audio(tone(60.0)))
    assert feats.logmel.shape == (20, 64, 126)
    assert feats.windows.shape == (20, 1, 64, 126)
    np.testing.assert_array_equal(feats.windows[:, 0], feats.logmel)


def test_long_segments_get_several_windows_short_ones_repeat_their_own_frames():
    config = FeatureConfig()
    long = model_windows(np.zeros((20, 64, 300), dtype=np.float32), config)
    assert long.shape == (20, 3, 64, 126)  # ceil(300 / 126)
    short_logmel = np.random.default_rng(0).uniform(-60, -20, (20, 64, 40)).astype(np.float32)
    short = model_windows(short_logmel, config)
    assert short.shape == (20, 1, 64, 126)
    np.testing.assert_array_equal(short[:, 0, :, :40], short_logmel)
    np.testing.assert_array_equal(short[:, 0, :, 40:80], short_logmel)  # repeated, never silence
    np.testing.assert_array_equal(short[:, 0, :, 120:], short_logmel[:, :, :6])
    assert short.min() >= -60  # no floor_db padding


def test_a_ten_minute_track_is_covered_by_windows_of_its_own_frames():
    y = tone(600.0, freq=220.0, amp=0.3)
    feats = track_features(_audio(y))
    # 30 s segments: 1 + (661,500 − 2,048) // 512 = 1,288 frames → ceil(1,288 / 126) = 11 windows
    assert feats.logmel.shape == (20, 64, 1288)
    assert feats.windows.shape == (20, 11, 64, 126)
    np.testing.assert_array_equal(feats.windows[3, 0], feats.logmel[3, :, :126])
    np.testing.assert_array_equal(feats.windows[3, -1], feats.logmel[3, :, -126:])


@pytest.mark.parametrize("sr,n_fft,n_mels,fmin", [(22_050, 2048, 64, 0.0), (16_000, 512, 40, 30.0),
                                                  (44_100, 1024, 128, 1_200.0), (8_000, 100, 96, 0.0)])
def test_the_mel_filterbank_is_librosas_to_the_bit(sr, n_fft, n_mels, fmin):
    import warnings

    import librosa

    from mer.audio.features import mel_filterbank

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # librosa warns of empty filters at 8 kHz × 96 bands
        theirs = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=sr / 2)
    ours = mel_filterbank(sr, n_fft, n_mels, fmin=fmin, fmax=sr / 2)
    assert ours.dtype == theirs.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)


def test_analysing_a_file_imports_neither_scipy_nor_numba(tmp_path):
    import subprocess
    import sys

    import soundfile as sf

    sf.write(tmp_path / "t.wav", tone(12.0, sr=44_100), 44_100)  # resampled to 22.05 kHz on the way
    code = ("import sys; from mer.audio.decode import load_audio; from mer.audio.features import track_features; "
            f"track_features(load_audio({str(tmp_path / 't.wav')!r})); "
            "print(sorted(m for m in ('scipy', 'numba', 'librosa') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]"  # start-up of a command or a worker: ~2 s less


def _traced_peak(fn, *args):
    """``fn(*args)`` and the most memory numpy (traced by tracemalloc) held at once beyond what was held before."""
    import tracemalloc

    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out = fn(*args)
        return out, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_a_long_tracks_features_come_in_blocks_with_the_numbers_of_one_block(monkeypatch):
    """Five minutes (26 MB of samples): the features take a few MB at a time, and blocks of frames give the
    numbers computing every frame at once gave."""
    import mer.audio.features as features

    y = tone(300.0, SR, freq=523.0) * np.linspace(0.2, 1.0, int(300 * SR), dtype=np.float32)
    audio = Audio(samples=y, sample_rate=SR, name="long", source_sample_rate=SR, source_channels=1,
                  source_format="WAV")
    blocked, peak = _traced_peak(track_features, audio)
    assert peak < 4 * y.nbytes  # a batch of segments at a time; the whole track in int64 indices, a copy and
    # float64 squares, and every frame of a batch in one FFT, took 9 times the samples before
    monkeypatch.setattr(features, "_POWER_FRAMES", 10**9)  # every frame of a segment in one FFT
    whole = track_features(audio)
    np.testing.assert_array_equal(blocked.logmel, whole.logmel)
    np.testing.assert_array_equal(blocked.spectra.magnitude_db, whole.spectra.magnitude_db)
    np.testing.assert_array_equal(blocked.spectra.rms_dbfs, whole.spectra.rms_dbfs)
    assert np.all(np.diff(blocked.spectra.rms_dbfs) > 0)  # the level rises from segment to segment


@pytest.mark.parametrize("seconds,exact", [(60.0, True), (200.0, False)])
def test_musicnns_log_mel_comes_in_blocks_to_the_bit_up_to_a_block(monkeypatch, seconds, exact):
    from mer.audio import musicnn

    y = tone(seconds, 16_000, freq=440.0) * np.float32(0.7)
    blocked, peak = _traced_peak(musicnn.logmel, y)
    assert blocked.shape == (1 + len(y) // musicnn.HOP, musicnn.N_MELS)
    assert peak < blocked.nbytes + 60e6  # the output and a block's FFT (43 MB at 200 s; the whole track's took 115)
    monkeypatch.setattr(musicnn, "_LOGMEL_FRAMES", 10**9)  # the whole track at once, as before
    whole = musicnn.logmel(y)
    if exact:
        np.testing.assert_array_equal(blocked, whole)
    else:  # the mel product's rounding at the blocks' edges: about one float32 ulp
        np.testing.assert_allclose(blocked, whole, rtol=0, atol=2e-6)
