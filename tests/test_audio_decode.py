"""Decoding: every format, channel count, rate and bit depth; every bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mer import errors
from mer.audio.decode import load_audio
from mer.config import AudioConfig

from .helpers import encode, tone


@pytest.mark.parametrize(
    "fmt,subtype,ext",
    [("WAV", "PCM_16", "wav"), ("FLAC", "PCM_16", "flac"), ("OGG", "VORBIS", "ogg"), ("MP3", None, "mp3")],
)
def test_each_format_decodes_to_mono_at_analysis_rate(write_audio, fmt, subtype, ext):
    path = write_audio(f"x.{ext}", tone(12.0, sr=44_100), 44_100, subtype)
    audio = load_audio(path)
    assert audio.sample_rate == 22_050
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.duration_s == pytest.approx(12.0, abs=0.06)  # MP3 adds encoder padding
    assert audio.source_format == fmt
    assert np.max(np.abs(audio.samples)) == pytest.approx(0.5, abs=0.05)


def test_bytes_and_path_give_the_same_samples(write_audio):
    path = write_audio("x.flac", tone(11.0), 22_050)
    from_path = load_audio(path)
    from_bytes = load_audio(path.read_bytes(), name="x.flac")
    np.testing.assert_array_equal(from_path.samples, from_bytes.samples)
    assert from_bytes.name == "x.flac"


def test_stereo_is_averaged_to_mono(write_audio):
    y = tone(10.5, channels=2)
    y[:, 1] = -y[:, 1]  # opposite phase: the average cancels (to ~1e-6)
    y[:, 0] *= 2
    path = write_audio("st.wav", y, 22_050, "FLOAT")
    audio = load_audio(path)
    assert audio.source_channels == 2
    np.testing.assert_allclose(audio.samples, (y[:, 0] + y[:, 1]) / 2, atol=1e-6)


@pytest.mark.parametrize("sr", [8_000, 48_000, 96_000, 192_000])
def test_any_rate_is_resampled_keeping_the_pitch(write_audio, sr):
    from mer.audio.features import track_features

    path = write_audio(f"r{sr}.wav", tone(10.2, sr=sr, freq=1000.0), sr)
    audio = load_audio(path)
    assert audio.source_sample_rate == sr and audio.sample_rate == 22_050
    assert audio.duration_s == pytest.approx(10.2, abs=1e-3)
    dominant = track_features(audio).spectra.dominant_hz
    assert np.all(np.abs(dominant - 1000.0) <= 22_050 / 2048)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_bit_depths_decode_to_the_same_level(write_audio, subtype):
    y = tone(10.0, amp=0.25)
    audio = load_audio(write_audio(f"{subtype}.wav", y, 22_050, subtype))
    np.testing.assert_allclose(audio.samples, y, atol=1e-4)  # 16-bit quantisation step is 3e-5


def test_empty_file_is_rejected(tmp_path):
    (tmp_path / "e.wav").write_bytes(b"")
    with pytest.raises(errors.EmptyAudioError, match="empty"):
        load_audio(tmp_path / "e.wav")
    with pytest.raises(errors.EmptyAudioError, match="empty"):
        load_audio(b"")


def test_text_file_named_mp3_is_not_audio(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("these are my notes, not music\n" * 50)
    with pytest.raises(errors.NotAudioError, match="not an audio file") as e:
        load_audio(path)
    assert "notes.mp3" in str(e.value) and "WAV, MP3, FLAC or OGG" in str(e.value)


def test_header_without_samples_is_empty():
    data = encode(np.zeros((0,), dtype=np.float32), 22_050, "WAV", "PCM_16")
    with pytest.raises(errors.EmptyAudioError, match="no audio samples"):
        load_audio(data, name="hollow.wav")


def test_truncated_mp3_keeps_what_decodes_and_warns():
    data = encode(tone(40.0), 22_050, "MP3")
    half = data[: len(data) // 2]
    with pytest.warns(errors.MerWarning, match="truncated|damaged"):
        audio = load_audio(half, name="cut.mp3")
    assert 15.0 < audio.duration_s < 25.0
    assert any("decode" in n or "damaged" in n for n in audio.notes)


def test_truncated_mp3_below_minimum_is_corrupt():
    data = encode(tone(12.0), 22_050, "MP3")
    with pytest.raises(errors.CorruptAudioError, match="damaged"):
        load_audio(data[: len(data) // 3], name="cut.mp3")


def test_truncated_flac_is_corrupt_not_not_audio():
    data = encode(tone(12.0), 22_050, "FLAC")
    with pytest.raises(errors.CorruptAudioError, match="damaged"):
        load_audio(data[: len(data) // 2], name="cut.flac")


def test_too_short_names_duration_and_minimum(write_audio):
    with pytest.raises(errors.TooShortError) as e:
        load_audio(write_audio("short.wav", tone(0.5), 22_050))
    assert "0.5 s" in str(e.value) and "10.0 s" in str(e.value)


def test_too_long_is_refused_from_the_header(write_audio):
    config = AudioConfig(max_duration_s=20.0)
    with pytest.raises(errors.TooLongError) as e:
        load_audio(write_audio("long.wav", tone(21.0, sr=8_000), 8_000), config=config)
    assert "21.0 s" in str(e.value) and "Trim" in str(e.value)


def test_digital_silence_is_rejected(write_audio):
    with pytest.raises(errors.SilentAudioError, match="digital silence"):
        load_audio(write_audio("zero.wav", np.zeros(22_050 * 30, dtype=np.float32), 22_050))


def test_quiet_below_threshold_is_silent_and_above_is_not(write_audio):
    with pytest.raises(errors.SilentAudioError, match="-66 dBFS"):
        load_audio(write_audio("q.wav", tone(10.0, amp=0.0005), 22_050, "FLOAT"))
    assert load_audio(write_audio("ok.wav", tone(10.0, amp=0.002), 22_050, "FLOAT")).duration_s == 10.0


def test_nan_samples_are_rejected(write_audio):
    y = tone(10.0)
    y[1000:1010] = np.nan
    y[5] = np.inf
    with pytest.raises(errors.InvalidSamplesError, match="11 invalid samples"):
        load_audio(write_audio("nan.wav", y, 22_050, "FLOAT"))


def test_rate_outside_range_is_rejected(write_audio):
    with pytest.raises(errors.UnsupportedSampleRateError, match="4000 Hz"):
        load_audio(write_audio("low.wav", tone(10.0, sr=4_000, freq=200), 4_000))


def test_every_audio_error_is_a_mer_error():
    for cls in (errors.EmptyAudioError, errors.NotAudioError, errors.CorruptAudioError, errors.TooShortError, errors.TooLongError,
                errors.SilentAudioError, errors.InvalidSamplesError, errors.UnsupportedSampleRateError):
        assert issubclass(cls, errors.MerError)


def test_clean_file_gives_no_warning(write_audio):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_audio(write_audio("c.wav", tone(10.0), 22_050))


@pytest.mark.parametrize("rate", [8_000, 16_000, 44_100, 48_000])
@pytest.mark.parametrize("method", ["soxr_hq", "soxr_vhq"])
def test_resampling_gives_librosas_samples_to_the_bit(rate, method):
    import librosa

    from mer.audio.decode import resample

    y = np.random.default_rng(rate).standard_normal(rate * 3 + 7).astype(np.float32) * 0.3
    ours = resample(y, rate, 22_050, method)
    theirs = librosa.resample(y, orig_sr=rate, target_sr=22_050, res_type=method)
    assert ours.dtype == theirs.dtype == np.float32 and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("rate,channels,fmt", [(44_100, 2, "WAV"), (48_000, 1, "FLAC"), (192_000, 2, "FLAC"),
                                               (8_000, 1, "OGG"), (22_050, 1, "WAV"), (44_100, 1, "MP3")])
def test_decoding_block_by_block_gives_the_whole_file_resampled_to_the_bit(rate, channels, fmt):
    """What load_audio gave before it streamed: every block decoded and mixed down, then resampled at once."""
    import io

    import soundfile as sf

    from mer.audio.decode import _BLOCK_FRAMES, resample

    data = encode(tone(12.3, rate, freq=330.0, channels=channels), rate, fmt)
    blocks = sf.blocks(io.BytesIO(data), blocksize=_BLOCK_FRAMES, dtype="float32", always_2d=True)
    whole = np.concatenate([b.mean(axis=1) for b in blocks]).astype(np.float32)
    expected = resample(whole, rate, 22_050) if rate != 22_050 else whole
    got = load_audio(data).samples
    assert got.dtype == np.float32 and len(got) == len(expected) == int(np.ceil(len(whole) * 22_050 / rate))
    np.testing.assert_array_equal(got, expected)


def test_a_long_192k_flac_is_never_held_at_its_source_rate(tmp_path):
    """Two minutes at 192 kHz are 92 MB of float32 at the source rate and 10.6 MB at the analysis rate: the
    decoder's peak allocation stays near the latter (numpy's allocations are traced)."""
    import tracemalloc

    import soundfile as sf

    path, rate = tmp_path / "long.flac", 192_000
    burst = 0.4 * np.sin(2 * np.pi * 440 * np.arange(rate // 4) / rate)
    with sf.SoundFile(path, "w", rate, 1, format="FLAC", subtype="PCM_16") as f:
        for _ in range(8):  # mostly silence: a quarter second of tone every 15 s
            block = np.zeros(15 * rate)
            block[: len(burst)] = burst
            f.write(block)
    tracemalloc.start()
    try:
        audio = load_audio(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert audio.duration_s == pytest.approx(120.0) and audio.source_sample_rate == rate
    assert audio.samples.nbytes == 120 * 22_050 * 4
    assert peak < 2.5 * audio.samples.nbytes  # the output, a block, the resampler's state; not 92 MB


def test_a_stream_longer_than_accepted_is_refused_as_it_decodes(monkeypatch):
    """A header that undercounts (here: says nothing of the length) cannot make the decoder hold a long file."""
    import mer.audio.decode as audio_module

    monkeypatch.setattr(audio_module, "_check_header", lambda snd, name, config: None)  # as if the header lied
    reads = []
    real_decode = audio_module._decode

    def counting(snd, name, config):
        real_read = snd.read
        snd.read = lambda *a, **k: reads.append(1) or real_read(*a, **k)
        return real_decode(snd, name, config)

    monkeypatch.setattr(audio_module, "_decode", counting)
    data = encode(tone(60.0, 22_050), 22_050, "WAV")
    with pytest.raises(errors.TooLongError, match=r"too long \(more than 20\.2 s\)"):
        load_audio(data, config=AudioConfig(min_duration_s=10.0, max_duration_s=20.0))
    assert len(reads) == 7  # 20.2 s of 1.49 s blocks, then refused: not the 21 blocks of the minute
