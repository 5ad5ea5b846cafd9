"""Per-segment FFT spectra and log-mel model inputs.

One short-time Fourier transform per segment (Hann window, ``n_fft`` samples,
hop ``hop_length``, no centring, so every frame lies inside its segment) feeds
both outputs:

* the **spectrum** of a segment is the mean power of its frames (Welch's
  method with 75 % overlap), as magnitude in dB where a full-scale sine is 0 dB;
* the **log-mel** image of a segment is the same power through a mel filter
  bank, in dB on the same scale, floored at ``floor_db``.

All segments of a track are transformed in one batched call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import FeatureConfig
from ..threads import one_blas_thread
from .decode import Audio
from .segments import Segments, segment_bounds

__all__ = ["Spectra", "TrackFeatures", "mel_filterbank", "segment_spectra_and_logmel", "model_windows",
           "track_features"]

# Segments transformed per batch: bounds memory on 20-minute tracks
# (the frames of 2M samples hold 8M floats, 32 MB, before the FFT).
_MAX_BATCH_SAMPLES = 2_000_000

FEATURES_VERSION = 2  # bump when this module's output changes for the same configs: stale caches are then ignored


@dataclass(frozen=True)
class Spectra:
    """FFT magnitude spectra of a track's segments.

    Attributes
    ----------
    freqs_hz : np.ndarray [shape=(n_bins,)]
        Bin centre frequencies from 0 Hz to Nyquist.
    magnitude_db : np.ndarray [shape=(n_segments, n_bins)]
        Mean magnitude per bin, dB re a full-scale sine, floored at ``floor_db``.
    dominant_hz, centroid_hz, rms_dbfs : np.ndarray [shape=(n_segments,)]
        Strongest bin above DC, spectral centroid, and RMS level (20·log10 of the
        RMS of the samples; a full-scale sine is −3 dBFS).
    """

    freqs_hz: np.ndarray
    magnitude_db: np.ndarray
    dominant_hz: np.ndarray
    centroid_hz: np.ndarray
    rms_dbfs: np.ndarray


@dataclass(frozen=True)
class TrackFeatures:
    """Everything computed from a track's audio before the model."""

    segments: Segments
    spectra: Spectra
    logmel: np.ndarray  # [shape=(n_segments, n_mels, n_frames)], dB
    windows: np.ndarray  # [shape=(n_segments, n_windows, n_mels, window_frames)], dB

    @property
    def n_segments(self) -> int:
        return len(self.segments)

    def spectra_dicts(self) -> list[dict[str, Any]]:
        """Each segment's span and FFT spectrum as ``spectra --json`` writes them (rounded as shown)."""
        seg, spec = self.segments, self.spectra
        return [{"index": i, "start_s": round(float(seg.start_s[i]), 4), "end_s": round(float(seg.end_s[i]), 4),
                 "freqs_hz": [round(float(f), 3) for f in spec.freqs_hz],
                 "magnitude_db": [round(float(m), 2) for m in spec.magnitude_db[i]],
                 "dominant_hz": round(float(spec.dominant_hz[i]), 3), "centroid_hz": round(float(spec.centroid_hz[i]), 2),
                 "rms_dbfs": round(float(spec.rms_dbfs[i]), 2)} for i in range(len(seg))]


# Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above; librosa's constants.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    mel = hz / _F_SP
    log = hz >= _MIN_LOG_HZ
    mel[log] = _MIN_LOG_MEL + np.log(hz[log] / _MIN_LOG_HZ) / _LOGSTEP
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    hz = _F_SP * mel
    log = mel >= _MIN_LOG_MEL
    hz[log] = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel[log] - _MIN_LOG_MEL))
    return hz


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, *, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular mel filters on the Slaney scale, area-normalised: ``librosa.filters.mel``'s defaults.

    The same arithmetic as librosa's, to the bit (a test compares them), in
    numpy alone: librosa's filters module imports scipy.signal and numba,
    about 2 s at the start of every process that analyses audio.

    Returns
    -------
    np.ndarray [shape=(n_mels, 1 + n_fft // 2), dtype=float32]
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_freqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(np.asarray([float(fmin)]))[0],
                                   _hz_to_mel(np.asarray([float(fmax)]))[0], n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, np.newaxis]
    return weights


def _frame_power(rows: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Hann-windowed power spectra of the frames of each row: (rows, bins, frames)."""
    frames = np.lib.stride_tricks.sliding_window_view(rows, n_fft, axis=-1)[:, ::hop, :]
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)  # periodic Hann
    out = np.empty((len(rows), n_fft // 2 + 1, frames.shape[1]), dtype=np.float32)
    for row in range(len(rows)):  # frame by frame alike: blocks of one row's frames bound the FFT's memory
        for lo in range(0, frames.shape[1], _POWER_FRAMES):
            spec = np.fft.rfft(frames[row, lo:lo + _POWER_FRAMES] * window, axis=-1)
            power = spec.real**2 + spec.imag**2
            # Scale so a full-scale sine centred on a bin has power 1 (0 dB).
            power /= (window.sum() / 2) ** 2
            out[row, :, lo:lo + _POWER_FRAMES] = power.T
    return out


#: Frames whose FFT :func:`_frame_power` computes at once: about 20 MB of pocketfft's temporaries at n_fft 2048,
#: where a 20-minute track's minute-long segment took 140 MB.
_POWER_FRAMES = 512


def segment_spectra_and_logmel(
    samples: np.ndarray, segments: Segments, config: FeatureConfig = FeatureConfig()
) -> tuple[Spectra, np.ndarray]:
    """FFT spectra and log-mel images of every segment.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,)]
        Mono audio at ``segments.sample_rate``.
    segments : Segments
    config : FeatureConfig

    Returns
    -------
    spectra : Spectra
    logmel : np.ndarray [shape=(n_segments, n_mels, n_frames), dtype=float32]
        ``n_frames = 1 + (segment_length - n_fft) // hop_length``.
    """
    sr = segments.sample_rate
    length = segments.min_length
    n_fft = min(config.n_fft, length)
    floor = np.float32(10 ** (config.floor_db / 10))
    mel_basis = None  # segments shorter than one FFT frame get an all-floor log-mel image (below)
    if n_fft == config.n_fft:
        mel_basis = mel_filterbank(sr, n_fft, config.n_mels, fmin=config.fmin, fmax=sr / 2)
    per_batch = max(1, _MAX_BATCH_SAMPLES // length)
    mean_power, logmels, rms = [], [], []
    for lo in range(0, len(segments), per_batch):  # a batch of segments' samples at a time, never the whole track
        rows = segments.stack(samples, slice(lo, lo + per_batch))
        rms.append(np.sqrt(np.mean(rows.astype(np.float64) ** 2, axis=1)))
        power = _frame_power(rows, n_fft, config.hop_length)
        mean_power.append(power.mean(axis=-1))
        if mel_basis is not None:
            with one_blas_thread():
                mel = np.einsum("mb,sbt->smt", mel_basis, power, optimize=True)
            logmels.append(10 * np.log10(np.maximum(mel, floor)))
    mean_power = np.concatenate(mean_power)
    if not logmels:  # segments shorter than one FFT frame: an all-floor image, padded later
        logmels = [np.full((len(segments), config.n_mels, 1), config.floor_db, dtype=np.float32)]
    logmel = np.concatenate(logmels).astype(np.float32)

    freqs = np.fft.rfftfreq(n_fft, d=1 / sr)
    magnitude = np.sqrt(mean_power)
    magnitude_db = 20 * np.log10(np.maximum(magnitude, np.sqrt(floor)))
    dominant = freqs[1 + np.argmax(magnitude[:, 1:], axis=1)]
    centroid = (magnitude * freqs).sum(axis=1) / np.maximum(magnitude.sum(axis=1), 1e-12)
    rms_dbfs = 20 * np.log10(np.maximum(np.concatenate(rms), 1e-10))
    spectra = Spectra(
        freqs_hz=freqs,
        magnitude_db=magnitude_db.astype(np.float32),
        dominant_hz=dominant,
        centroid_hz=centroid,
        rms_dbfs=rms_dbfs,
    )
    return spectra, logmel


def model_windows(logmel: np.ndarray, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Fixed-size model inputs from each segment's own log-mel frames.

    A segment is never time-stretched or resampled to fit the model. If it has
    more frames than ``window_frames`` (tracks longer than 60 s), it is covered
    by ``ceil(n_frames / window_frames)`` evenly spaced windows, which may overlap
    slightly; the caller averages the model's predictions over a segment's windows.
    If it has fewer (tracks shorter than 60 s), its frames are repeated end to end
    until they fill one window. Repeating, not padding with silence, keeps what the
    model measures (each band's level and spread over time, its textures) the same
    as in the segment; padding a 30 s track's 1.5 s segments with 1.5 s of silence
    made every short track look quiet and calm.

    Parameters
    ----------
    logmel : np.ndarray [shape=(n_segments, n_mels, n_frames)]

    Returns
    -------
    np.ndarray [shape=(n_segments, n_windows, n_mels, window_frames), dtype=float32]
    """
    w = config.window_frames
    n_seg, n_mels, n_frames = logmel.shape
    if n_frames <= w:
        reps = -(-w // max(n_frames, 1))
        return np.tile(logmel, (1, 1, reps))[:, None, :, :w].astype(np.float32)
    n_windows = int(np.ceil(n_frames / w))
    starts = np.round(np.linspace(0, n_frames - w, n_windows)).astype(int)
    return np.stack([logmel[:, :, s : s + w] for s in starts], axis=1).astype(np.float32)


def track_features(audio: Audio, config: FeatureConfig = FeatureConfig()) -> TrackFeatures:
    """Segments, spectra, log-mel images and model windows of a decoded track."""
    segments = segment_bounds(len(audio.samples), n_segments=config.n_segments, sample_rate=audio.sample_rate)
    spectra, logmel = segment_spectra_and_logmel(audio.samples, segments, config)
    return TrackFeatures(segments=segments, spectra=spectra, logmel=logmel, windows=model_windows(logmel, config))
