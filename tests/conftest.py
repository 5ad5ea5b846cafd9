"""Fixtures: audio the tests write themselves, in every accepted format."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def tone(seconds: float, sr: int = 22_050, freq: float = 440.0, amp: float = 0.5, channels: int = 1) -> np.ndarray:
    """A sine (with a little noise so it is not pathological), shape (n,) or (n, channels)."""
    rng = np.random.default_rng(0)
    t = np.arange(int(round(seconds * sr))) / sr
    y = amp * (np.sin(2 * np.pi * freq * t) + 0.002 * rng.standard_normal(len(t)))
    y = y.astype(np.float32)
    if channels == 1:
        return y
    return np.stack([y * (1 - 0.1 * c) for c in range(channels)], axis=1)


def encode(y: np.ndarray, sr: int, fmt: str, subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.fixture
def write_audio(tmp_path: Path):
    """Write audio to tmp_path; returns the path."""

    def _write(name: str, y: np.ndarray, sr: int, subtype: str | None = None) -> Path:
        path = tmp_path / name
        sf.write(path, y, sr, subtype=subtype)
        return path

    return _write
