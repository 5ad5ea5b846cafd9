"""Decoding audio: from a path or bytes to float32 mono at the analysis rate.

libsndfile (through soundfile) reads WAV, FLAC, OGG/Vorbis and MP3, so every
format the product accepts goes through one decoder; nothing is written to
disk for an upload. Decoding, mixing down and resampling go block by block
(soxr's stream gives the one-shot resampler's samples, to the bit), and the
checks count as the blocks come, so a file's samples at its source rate are
never all held: memory follows the analysis rate, not what the file claims.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import soundfile as sf

from ..config import AudioConfig
from ..errors import (
    CorruptAudioError,
    EmptyAudioError,
    InvalidSamplesError,
    MerWarning,
    NotAudioError,
    SilentAudioError,
    TooLongError,
    TooShortError,
    UnsupportedSampleRateError,
)
from ..text import display_text

__all__ = ["Audio", "AudioSource", "load_audio", "resample", "validate_samples", "SUPPORTED_EXTENSIONS"]

AudioSource = Union[str, os.PathLike, bytes, bytearray, memoryview]

#: File endings the product accepts (uploads, corpus folders).
SUPPORTED_EXTENSIONS: tuple[str, ...] = (".wav", ".mp3", ".flac", ".ogg")

_BLOCK_FRAMES = 1 << 16


@dataclass(frozen=True)
class Audio:
    """A decoded track.

    Attributes
    ----------
    samples : np.ndarray [shape=(n,), dtype=float32]
        Mono samples at ``sample_rate``.
    sample_rate : int
        The analysis rate the samples were resampled to.
    name : str
        File name (or ``"upload"`` for anonymous bytes).
    source_sample_rate, source_channels : int
        What the file held before mixing down and resampling.
    source_format : str
        libsndfile's name of the container, e.g. ``"MP3"`` or ``"WAV"``.
    notes : tuple of str
        Recoverable problems met while decoding (also issued as :class:`MerWarning`).
    """

    samples: np.ndarray
    sample_rate: int
    name: str
    source_sample_rate: int
    source_channels: int
    source_format: str
    notes: tuple[str, ...] = field(default=())

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def _fmt_duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


# Leading bytes of the containers we accept: a file that starts like one of
# these but does not open is damaged, anything else is not audio at all.
_MAGIC = (b"RIFF", b"RF64", b"fLaC", b"OggS", b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xfa")


def _looks_like_audio(source: AudioSource) -> bool:
    if isinstance(source, (bytes, bytearray, memoryview)):
        head = bytes(source[:4])
    else:
        with open(source, "rb") as f:
            head = f.read(4)
    return head.startswith(_MAGIC)


def _open(source: AudioSource, name: str) -> tuple[sf.SoundFile, BinaryIO | None]:
    """Open a SoundFile on a path or bytes, translating libsndfile's errors."""
    handle: BinaryIO | None = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise EmptyAudioError(f"'{name}' is empty (0 bytes). Choose a WAV, MP3, FLAC or OGG file that holds audio.")
        handle = io.BytesIO(data)
        target: object = handle
    else:
        path = Path(source)
        if not path.is_file():
            raise NotAudioError(f"'{path}' does not exist or is not a file. Check the path.")
        if path.stat().st_size == 0:
            raise EmptyAudioError(f"'{name}' is empty (0 bytes). Choose a WAV, MP3, FLAC or OGG file that holds audio.")
        target = os.fsencode(path)  # the file system's bytes: a name that is not UTF-8 opens too
    try:
        return sf.SoundFile(target), handle
    except (sf.LibsndfileError, RuntimeError, ValueError) as e:
        if _looks_like_audio(source):
            raise CorruptAudioError(
                f"'{name}' looks like an audio file but is damaged ({e}). Re-export or re-download it."
            ) from None
        raise NotAudioError(
            f"'{name}' is not an audio file: its contents are not WAV, MP3, FLAC or OGG/Vorbis. "
            "Choose an audio file in one of these formats; if it plays elsewhere, re-export it as one."
        ) from None


@dataclass
class _Decoded:
    """What :func:`_decode` kept of a stream: the mono samples at the analysis rate, and what was counted as the
    source's blocks went by (none of which is kept)."""

    samples: np.ndarray  # float32 mono at the analysis rate (empty once a non-finite sample was met)
    frames: int  # source frames decoded
    peak: float  # largest absolute source sample (mono mix)
    bad: int  # non-finite source samples
    notes: list[str]


def _decode(snd: sf.SoundFile, name: str, config: AudioConfig) -> _Decoded:
    """Decode, mix down and resample block by block: the source-rate samples of one block are all that is held.

    A damaged tail is cut off and noted; a stream that decodes past the longest accepted duration (whatever its
    header said) is refused as soon as it does.
    """
    import soxr

    rate, target, notes = snd.samplerate, config.sample_rate, []
    expected = snd.frames
    limit = int(config.max_duration_s * 1.01 * rate) + 1  # source frames past which a file is too long
    stream = soxr.ResampleStream(rate, target, 1, dtype="float32", quality=config.resampler) if rate != target else None
    # the output goes straight into one buffer sized from the header (grown if the header undercounts)
    out = np.empty(max(int(np.ceil(max(expected, 0) * target / rate)), _BLOCK_FRAMES), dtype=np.float32)
    kept = decoded = bad = 0
    peak = 0.0
    while True:
        try:
            block = snd.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as e:
            notes.append(f"the stream is damaged after {_fmt_duration(decoded / rate)} ({e})")
            break
        if block.shape[0] == 0:
            break
        decoded += block.shape[0]
        if decoded > limit:
            raise TooLongError(
                f"'{name}' is too long (more than {_fmt_duration(limit / rate)}); at most "
                f"{_fmt_duration(config.max_duration_s)} is accepted. Trim it to the part you want analysed.")
        mono = np.ascontiguousarray(block.mean(axis=1) if block.shape[1] > 1 else block[:, 0])
        bad += int(np.count_nonzero(~np.isfinite(mono)))
        if bad:  # refused at the end; only counted from here on
            continue
        peak = max(peak, float(np.max(np.abs(mono))))
        out, kept = _put(out, kept, stream.resample_chunk(mono) if stream is not None else mono)
    if stream is not None and not bad and decoded:
        out, kept = _put(out, kept, stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    if 0 < expected and decoded < expected * 0.99 and not notes:
        notes.append(
            f"the file announces {_fmt_duration(expected / rate)} "
            f"but only {_fmt_duration(decoded / rate)} decode (truncated?)"
        )
    if decoded == 0:
        if notes or expected > 0:
            raise CorruptAudioError(
                f"'{name}' is damaged: no audio could be decoded from it. Re-export or re-download the file."
            )
        raise EmptyAudioError(f"'{name}' holds no audio samples (its header announces none). Choose another file.")
    if notes and decoded / rate < config.min_duration_s:
        raise CorruptAudioError(
            f"'{name}' is damaged: {notes[0]}, leaving less than the minimum of "
            f"{_fmt_duration(config.min_duration_s)}. Re-export or re-download the file."
        )
    n = int(np.ceil(decoded * float(target) / rate))  # librosa.resample's length: cut or padded to it
    samples = out[:0] if bad else out[:n] if kept >= n else np.pad(out[:kept], (0, n - kept))
    return _Decoded(samples=samples, frames=decoded, peak=peak, bad=bad, notes=notes)


def _put(out: np.ndarray, kept: int, chunk: np.ndarray) -> tuple[np.ndarray, int]:
    """``out`` with ``chunk`` written after its first ``kept`` samples (into a larger copy where it does not
    fit), and the new count of samples kept."""
    end = kept + len(chunk)
    if end > len(out):
        grown = np.empty(max(2 * len(out), end), dtype=out.dtype)
        grown[:kept] = out[:kept]
        out = grown
    out[kept:end] = chunk
    return out, end


def validate_samples(samples: np.ndarray, sample_rate: int, name: str, config: AudioConfig) -> None:
    """Raise the matching :class:`AudioError` if decoded samples cannot be analysed.

    Checks, in order: NaN/Inf samples, duration limits, silence.
    """
    bad = int(np.count_nonzero(~np.isfinite(samples)))
    peak = float(np.max(np.abs(samples))) if len(samples) and not bad else 0.0
    _validate(len(samples) / sample_rate, peak, bad, name, config)


def _validate(duration: float, peak: float, bad: int, name: str, config: AudioConfig) -> None:
    """:func:`validate_samples` on what was counted of a stream: its duration, peak and non-finite samples."""
    if bad:
        raise InvalidSamplesError(
            f"'{name}' contains {bad} invalid samples (NaN or infinity), so it cannot be analysed. "
            "Re-export it from your audio editor."
        )
    if duration < config.min_duration_s:
        raise TooShortError(
            f"'{name}' is too short ({_fmt_duration(duration)}); at least {_fmt_duration(config.min_duration_s)} "
            "is needed to cut it into segments. Choose a longer excerpt."
        )
    if duration > config.max_duration_s:
        raise TooLongError(
            f"'{name}' is too long ({_fmt_duration(duration)}); at most {_fmt_duration(config.max_duration_s)} "
            "is accepted. Trim it to the part you want analysed."
        )
    peak_db = 20 * np.log10(peak) if peak > 0 else -np.inf
    if peak_db < config.silence_dbfs:
        level = "digital silence" if peak == 0 else f"peak {peak_db:.0f} dBFS"
        raise SilentAudioError(
            f"'{name}' is silent ({level}, below the {config.silence_dbfs:.0f} dBFS threshold). "
            "Check that the right file was chosen and that it was not exported muted."
        )


def _check_header(snd, name: str, config: AudioConfig) -> None:
    """Refuse an unsupported rate, or a file too long by its header, before spending time decoding it."""
    rate = snd.samplerate
    if not config.min_source_rate <= rate <= config.max_source_rate:
        raise UnsupportedSampleRateError(
            f"'{name}' has a sample rate of {rate} Hz; rates from {config.min_source_rate} to "
            f"{config.max_source_rate} Hz are supported. Resample it in an audio editor first."
        )
    announced = snd.frames / rate if snd.frames > 0 else 0.0
    if announced > config.max_duration_s * 1.01:
        raise TooLongError(
            f"'{name}' is too long ({_fmt_duration(announced)}); at most {_fmt_duration(config.max_duration_s)} "
            "is accepted. Trim it to the part you want analysed."
        )


def resample(samples: np.ndarray, rate: int, target: int, method: str = "soxr_hq") -> np.ndarray:
    """``librosa.resample(samples, orig_sr=rate, target_sr=target, res_type=method)``, to the bit.

    The soxr methods call soxr directly, as librosa does, and cut or pad to
    librosa's length; importing librosa's resampler would pull in scipy.signal
    and numba (~2 s at the start of a process). Other methods go to librosa.
    """
    if not method.startswith("soxr"):
        import librosa

        return librosa.resample(samples, orig_sr=rate, target_sr=target, res_type=method)
    import soxr

    out = soxr.resample(samples, rate, target, quality=method)
    n = int(np.ceil(samples.shape[-1] * float(target) / rate))
    return np.asarray(out[:n] if len(out) >= n else np.pad(out, (0, n - len(out))), dtype=samples.dtype)


def load_audio(source: AudioSource, *, name: str | None = None, config: AudioConfig = AudioConfig()) -> Audio:
    """Decode a file or bytes to mono float32 at ``config.sample_rate``.

    Parameters
    ----------
    source : path or bytes
        A path to a WAV, MP3, FLAC or OGG/Vorbis file, or the file's bytes (an upload).
    name : str, optional
        Name used in messages; defaults to the file name, or ``"upload"`` for bytes.
    config : AudioConfig
        Analysis rate, accepted durations, source rates and silence threshold.

    Returns
    -------
    Audio

    Raises
    ------
    EmptyAudioError, NotAudioError, CorruptAudioError, TooShortError, TooLongError,
    SilentAudioError, InvalidSamplesError, UnsupportedSampleRateError
        Each with a message that names the problem and the remedy.

    Warns
    -----
    MerWarning
        When a damaged tail was cut off but enough audio decoded.
    """
    if name is None:
        name = "upload" if isinstance(source, (bytes, bytearray, memoryview)) else display_text(Path(source).name)
    snd, handle = _open(source, name)
    with snd:
        rate, channels, fmt = snd.samplerate, snd.channels, snd.format
        _check_header(snd, name, config)
        decoded = _decode(snd, name, config)
    if handle is not None:
        handle.close()
    _validate(decoded.frames / rate, decoded.peak, decoded.bad, name, config)
    samples, notes = decoded.samples, decoded.notes
    for note in notes:
        warnings.warn(f"'{name}': {note}; analysing what decoded.", MerWarning, stacklevel=2)
    return Audio(
        samples=samples,
        sample_rate=config.sample_rate,
        name=name,
        source_sample_rate=rate,
        source_channels=channels,
        source_format=fmt,
        notes=tuple(notes),
    )
