"""A synthetic corpus in Emotify's layout, deterministic from a seed.

The real Emotify audio cannot be downloaded on every machine, and the app must
work out of the box, so mer synthesises music that follows the same format:
``ROOT/data.csv`` with one row per (simulated) listener response and
``ROOT/emotifymusic/<genre>/<rank>.flac``. :func:`mer.emotify.load_corpus`
reads it with no special case.

Each of the nine GEMS emotions is an *archetype*: ranges of the cues that
music psychology links to perceived emotion (Juslin & Laukka 2003; Gabrielsson
& Lindström 2010) — tempo, mode, register, loudness, articulation, brightness,
rhythmic density, dissonance. A track draws its cues from its archetype, is
pulled part of the way towards a neighbouring archetype (tenderness ↔ calmness,
power ↔ tension, ...), and a fifth of tracks change character part-way through.
Simulated listeners then tick one to three emotions from the track's emotion
profile, with more disagreement on the emotions that real listeners agreed on
least (amazement, sadness, solemnity; Aljanaki et al. 2016), so vote shares are
not one-hot and some tracks are ambiguous.

This corpus is for demonstrating and testing the product. It is *not* a model
of how people feel music; train on the real Emotify for that.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import soundfile as sf

from .config import EMOTIONS, GENRES, data_dir

__all__ = ["DemoConfig", "ARCHETYPES", "generate_demo_corpus", "ensure_demo_corpus", "demo_votes", "DEMO_EXAMPLES", "demo_example_audio", "render_track", "default_demo_root"]

ProgressFn = Callable[[int, int, str], None]

SR = 22_050


@dataclass(frozen=True)
class DemoConfig:
    """Size and seed of a demo corpus."""

    tracks: int = 240  # split equally over the four genres
    seconds: float = 60.0  # Emotify excerpts are one minute
    seed: int = 7
    sample_rate: int = SR
    mean_listeners: float = 20.0  # Emotify: 8,407 responses over 400 tracks ≈ 21
    change_fraction: float = 0.2  # tracks whose character changes part-way through


@dataclass(frozen=True)
class Archetype:
    """Ranges of musical cues for one emotion (each a (low, high) pair)."""

    tempo: tuple[float, float]  # beats per minute
    major: float  # probability of a major key
    register: tuple[float, float]  # melody centre, MIDI note
    loudness: tuple[float, float]  # RMS target, dBFS
    legato: tuple[float, float]  # sounding fraction of each note's slot
    brightness: tuple[float, float]  # 0 dark … 1 bright (harmonic roll-off)
    density: tuple[float, float]  # melody notes per beat
    dissonance: tuple[float, float]  # 0 consonant … 1 clusters and tritones
    drums: tuple[float, float]  # 0 none … 1 full kit
    dynamics: tuple[float, float]  # spread of note velocities and section contrast
    reverb: tuple[float, float]  # wet share


ARCHETYPES: dict[str, Archetype] = {
    "amazement": Archetype((105, 140), 0.8, (70, 82), (-20, -14), (0.4, 0.8), (0.6, 0.9), (1.5, 3.0), (0.15, 0.35), (0.2, 0.6), (0.6, 1.0), (0.15, 0.35)),
    "solemnity": Archetype((48, 68), 0.35, (50, 60), (-22, -15), (0.9, 1.0), (0.2, 0.45), (0.25, 0.6), (0.05, 0.2), (0.0, 0.15), (0.1, 0.3), (0.3, 0.5)),
    "tenderness": Archetype((62, 86), 0.9, (66, 76), (-30, -23), (0.85, 1.0), (0.15, 0.4), (0.5, 1.2), (0.0, 0.1), (0.0, 0.15), (0.05, 0.25), (0.2, 0.4)),
    "nostalgia": Archetype((68, 96), 0.55, (60, 70), (-27, -20), (0.75, 0.95), (0.3, 0.55), (0.6, 1.3), (0.05, 0.2), (0.1, 0.45), (0.1, 0.3), (0.25, 0.45)),
    "calmness": Archetype((52, 74), 0.8, (58, 68), (-34, -26), (0.95, 1.0), (0.1, 0.3), (0.2, 0.6), (0.0, 0.08), (0.0, 0.08), (0.0, 0.15), (0.3, 0.5)),
    "power": Archetype((96, 132), 0.45, (46, 58), (-15, -10), (0.35, 0.7), (0.65, 0.95), (1.0, 2.0), (0.15, 0.35), (0.75, 1.0), (0.2, 0.45), (0.05, 0.2)),
    "joyful_activation": Archetype((118, 150), 0.95, (72, 84), (-17, -11), (0.25, 0.55), (0.6, 0.9), (1.8, 3.5), (0.0, 0.12), (0.7, 1.0), (0.15, 0.35), (0.05, 0.2)),
    "tension": Archetype((88, 136), 0.1, (52, 68), (-21, -13), (0.3, 0.75), (0.45, 0.8), (1.5, 3.0), (0.55, 0.9), (0.35, 0.75), (0.45, 0.8), (0.1, 0.25)),
    "sadness": Archetype((46, 66), 0.08, (55, 65), (-31, -24), (0.85, 1.0), (0.1, 0.3), (0.3, 0.8), (0.05, 0.2), (0.0, 0.1), (0.05, 0.2), (0.25, 0.45)),
}

#: Each emotion's musical neighbours: tracks blend towards these, and listeners confuse them.
NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "amazement": ("joyful_activation", "power", "tension"),
    "solemnity": ("sadness", "calmness", "power"),
    "tenderness": ("calmness", "nostalgia"),
    "nostalgia": ("tenderness", "sadness", "calmness"),
    "calmness": ("tenderness", "solemnity"),
    "power": ("tension", "joyful_activation"),
    "joyful_activation": ("amazement", "power"),
    "tension": ("power", "amazement"),
    "sadness": ("nostalgia", "solemnity"),
}

#: Share of tracks per dominant emotion (skewed like Emotify's: majority ≥ 4× minority).
CLASS_WEIGHTS: dict[str, float] = {
    "amazement": 0.06, "solemnity": 0.07, "tenderness": 0.13, "nostalgia": 0.10, "calmness": 0.17,
    "power": 0.14, "joyful_activation": 0.15, "tension": 0.145, "sadness": 0.035,
}

#: How sharply listeners agree on each emotion (higher: more agreement). Amazement,
#: sadness and solemnity had the lowest agreement in the Emotify game.
CLARITY: dict[str, float] = {
    "amazement": 0.8, "solemnity": 0.9, "tenderness": 1.6, "nostalgia": 1.1, "calmness": 1.3,
    "power": 1.6, "joyful_activation": 1.6, "tension": 1.3, "sadness": 0.9,
}

#: How likely each genre is to carry each emotion (multiplies CLASS_WEIGHTS).
GENRE_AFFINITY: dict[str, dict[str, float]] = {
    "classical": {"solemnity": 2.0, "tenderness": 1.5, "calmness": 1.5, "sadness": 1.5, "power": 0.4, "joyful_activation": 0.5},
    "rock": {"power": 2.0, "tension": 1.5, "calmness": 0.4, "tenderness": 0.6, "solemnity": 0.5},
    "electronic": {"tension": 1.5, "joyful_activation": 1.3, "amazement": 1.5, "tenderness": 0.5, "sadness": 0.7},
    "pop": {"joyful_activation": 1.5, "nostalgia": 1.5, "tenderness": 1.2, "solemnity": 0.4},
}

_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
_MINOR = np.array([0, 2, 3, 5, 7, 8, 10])
_PROGRESSIONS_MAJOR = ([0, 4, 5, 3], [0, 3, 4, 0], [0, 5, 3, 4], [0, 3, 0, 4], [5, 3, 0, 4])
_PROGRESSIONS_MINOR = ([0, 5, 2, 6], [0, 3, 4, 0], [0, 6, 5, 4], [0, 3, 6, 2], [0, 5, 3, 4])


def default_demo_root() -> Path:
    """Where the app and CLI keep the default demo corpus (git-ignored)."""
    return data_dir() / "demo"


# --- synthesis ------------------------------------------------------------------------


def _midi_hz(note: np.ndarray | float) -> np.ndarray | float:
    return 440.0 * 2.0 ** ((np.asarray(note) - 69) / 12)


@dataclass(frozen=True)
class _Cues:
    """One section's concrete cue values, drawn from an archetype."""

    tempo: float
    major: bool
    register: float
    loudness: float
    legato: float
    brightness: float
    density: float
    dissonance: float
    drums: float
    dynamics: float
    reverb: float


def _draw_cues(rng: np.random.Generator, emotion: str, blend_to: str | None, blend: float) -> _Cues:
    a = ARCHETYPES[emotion]
    b = ARCHETYPES[blend_to] if blend_to else a

    def pick(field: str) -> float:
        lo, hi = getattr(a, field)
        lo2, hi2 = getattr(b, field)
        return float((1 - blend) * rng.uniform(lo, hi) + blend * rng.uniform(lo2, hi2))

    major_p = (1 - blend) * a.major + blend * b.major
    return _Cues(
        tempo=pick("tempo"), major=bool(rng.random() < major_p), register=pick("register"),
        loudness=pick("loudness"), legato=pick("legato"), brightness=pick("brightness"),
        density=pick("density"), dissonance=pick("dissonance"), drums=pick("drums"),
        dynamics=pick("dynamics"), reverb=pick("reverb"),
    )


@dataclass(frozen=True)
class _Timbre:
    """Additive timbre: harmonic roll-off, per-harmonic decay, attack, detune."""

    rolloff: float  # amplitude of harmonic h is h ** -rolloff
    n_harmonics: int
    decay: float  # 1/s for the fundamental; 0 = sustained
    attack: float  # s
    odd_only: float = 0.0  # 0: all harmonics, 1: odd only (clarinet/square-ish)
    drive: float = 0.0  # tanh distortion amount (rock guitar)


_GENRE_TIMBRES: dict[str, dict[str, _Timbre]] = {
    "classical": {
        "lead": _Timbre(1.3, 8, 0.0, 0.08),  # strings
        "chord": _Timbre(1.6, 6, 0.0, 0.25),  # string pad
        "bass": _Timbre(1.5, 6, 0.0, 0.05),  # cello/bass
    },
    "rock": {
        "lead": _Timbre(0.9, 10, 0.8, 0.005, drive=2.5),  # overdriven guitar
        "chord": _Timbre(1.0, 8, 0.6, 0.005, drive=3.0),  # power chords
        "bass": _Timbre(1.4, 6, 1.2, 0.005),  # bass guitar
    },
    "electronic": {
        "lead": _Timbre(1.0, 12, 0.0, 0.01),  # saw lead
        "chord": _Timbre(1.2, 8, 0.0, 0.15, odd_only=0.7),  # square-ish pad
        "bass": _Timbre(1.1, 8, 0.5, 0.005, odd_only=0.5),  # synth bass
    },
    "pop": {
        "lead": _Timbre(1.5, 8, 1.5, 0.005),  # piano-like
        "chord": _Timbre(1.7, 7, 1.2, 0.005),  # piano chords
        "bass": _Timbre(1.6, 5, 0.8, 0.01),  # bass
    },
}


_TABLE_SIZE = 4096


@lru_cache(maxsize=512)
def _wavetable(timbre: _Timbre, brightness_q: int, n_harmonics: int) -> np.ndarray:
    """One cycle of the timbre's waveform (``brightness_q`` in twentieths), peak-normalised."""
    brightness = brightness_q / 20
    h = np.arange(1, n_harmonics + 1, dtype=np.float64)
    rolloff = timbre.rolloff + 1.2 * (0.5 - brightness)
    amps = h**-rolloff
    if timbre.odd_only:
        amps = amps * np.where(h % 2 == 0, 1 - timbre.odd_only, 1.0)
    phase = np.arange(_TABLE_SIZE) / _TABLE_SIZE
    table = np.sin(2 * np.pi * np.outer(phase, h)) @ amps
    return (table / np.max(np.abs(table))).astype(np.float32)


def _note(freq: float, dur: float, sounding: float, velocity: float, timbre: _Timbre, brightness: float,
          sr: int) -> np.ndarray:
    """One note from wavetables, with attack, decay and release; ``sounding`` s long plus a short tail.

    A decaying timbre crossfades from its full table to a dark one (two partials),
    so upper partials die faster than the fundamental, as in struck and plucked strings.
    """
    n = max(1, int((sounding + 0.08) * sr))
    t = np.arange(n, dtype=np.float32) / sr
    n_h = max(1, int(timbre.n_harmonics * (0.4 + 0.9 * brightness)))
    n_h = min(n_h, int((sr / 2 - 500) // freq))  # no partial above Nyquist: no aliasing
    if n_h < 1:
        return np.zeros(n, dtype=np.float32)
    b_q = int(round(np.clip(brightness, 0, 1) * 20))
    idx = ((np.arange(n) * (freq / sr)) % 1.0 * _TABLE_SIZE).astype(np.intp)
    y = _wavetable(timbre, b_q, n_h)[idx]
    if timbre.decay > 0:
        dark = _wavetable(timbre, 0, min(2, n_h))[idx]
        w = np.exp(-timbre.decay * t)
        y = (w * y + (1 - w) * dark) * w
    env = np.minimum(1.0, t / max(timbre.attack, 1e-3))
    env *= np.clip((sounding + 0.08 - t) / 0.08, 0.0, 1.0)
    y = y * env
    if timbre.drive:
        y = np.tanh(timbre.drive * y) / np.tanh(timbre.drive)
    return (velocity * 0.5 * y).astype(np.float32)


def _drum_kit(rng: np.random.Generator, sr: int, genre: str) -> dict[str, np.ndarray]:
    t = np.arange(int(0.35 * sr)) / sr
    sweep = 2 * np.pi * np.cumsum(45 + 110 * np.exp(-t * 30)) / sr
    kick = np.sin(sweep) * np.exp(-t * (9 if genre != "electronic" else 6))
    noise = rng.standard_normal(len(t))
    snare = (0.6 * np.diff(noise, prepend=0) * np.exp(-t * 18) + 0.5 * np.sin(2 * np.pi * 185 * t) * np.exp(-t * 25))
    th = t[: int(0.08 * sr)]
    hat = np.diff(np.diff(rng.standard_normal(len(th)), prepend=0), prepend=0) * np.exp(-th * 60) * 0.35
    return {"kick": kick.astype(np.float32), "snare": snare.astype(np.float32), "hat": hat.astype(np.float32)}


def _add(out: np.ndarray, start: int, y: np.ndarray) -> None:
    if start >= len(out):
        return
    end = min(len(out), start + len(y))
    out[start:end] += y[: end - start]


def _render_section(rng: np.random.Generator, cues: _Cues, genre: str, key: int, n: int, sr: int,
                    intensity: float) -> np.ndarray:
    """Melody, chords, bass and drums for one stretch of music, n samples long."""
    out = np.zeros(n, dtype=np.float32)
    timbres = _GENRE_TIMBRES[genre]
    beat = 60.0 / cues.tempo
    scale = _MAJOR if cues.major else _MINOR
    progression = (_PROGRESSIONS_MAJOR if cues.major else _PROGRESSIONS_MINOR)[rng.integers(5)]
    bar = 4 * beat
    n_bars = int(np.ceil(n / sr / bar))
    dyn = cues.dynamics
    centre = cues.register + 4 * (intensity - 0.5)

    # Chords and bass: one chord per bar; dissonance adds a minor second or a tritone.
    for b in range(n_bars):
        degree = progression[b % len(progression)]
        root = key + scale[degree % 7] + 12 * (degree // 7)
        tones = [root + (scale[(degree + k) % 7] - scale[degree % 7]) % 12 for k in (0, 2, 4)]
        if rng.random() < cues.dissonance:
            tones.append(root + (6 if rng.random() < 0.5 else 1))
        if rng.random() < cues.dissonance * 0.6:
            tones.append(root + 13)
        chord_octave = 12 * round((centre - 12 - 60) / 12) + 60 - 12
        start = int(b * bar * sr)
        vel = 0.5 * (1 + dyn * (rng.random() - 0.5)) * (0.7 + 0.6 * intensity)
        strums = 1 if cues.legato > 0.7 else (2 if cues.density < 2 else 4)
        for s in range(strums):
            slot = bar / strums
            for tone in tones:
                y = _note(_midi_hz(tone % 12 + chord_octave), slot, slot * min(1.0, cues.legato + 0.1), vel,
                          timbres["chord"], cues.brightness, sr)
                _add(out, start + int(s * slot * sr), 0.35 * y)
        bass_note = root % 12 + 36 + (12 if cues.register > 70 else 0)
        bass_hits = 1 if cues.density < 0.8 else (2 if cues.density < 2 else 4)
        for s in range(bass_hits):
            slot = bar / bass_hits
            y = _note(_midi_hz(bass_note), slot, slot * cues.legato, vel * 1.1, timbres["bass"], cues.brightness * 0.6, sr)
            _add(out, start + int(s * slot * sr), 0.45 * y)

    # Melody: a random walk on the scale around the register, notes per beat = density.
    t = 0.0
    step = int(rng.integers(0, 7))
    total = n / sr
    leap = 3 if dyn > 0.5 else 2
    while t < total:
        slot = beat / cues.density * rng.choice([0.5, 1.0, 1.0, 1.0, 2.0])
        step += int(rng.integers(-leap, leap + 1))
        octave, degree = divmod(step, 7)
        pitch = key + 12 * octave + scale[degree]
        pitch += 12 * round((centre - pitch) / 12)
        if rng.random() < cues.dissonance * 0.3:
            pitch += 1  # chromatic neighbour
        vel = 0.6 * (1 + dyn * (rng.random() - 0.5)) * (0.7 + 0.6 * intensity)
        if rng.random() > 0.12:  # rests
            y = _note(_midi_hz(pitch), slot, slot * cues.legato, vel, timbres["lead"], cues.brightness, sr)
            _add(out, int(t * sr), 0.5 * y)
        t += slot

    # Drums: kick on 1 and 3 (every beat in dance music), snare on 2 and 4, hats by density.
    if cues.drums > 0.05 and genre != "classical":
        kit = _drum_kit(rng, sr, genre)
        level = cues.drums * (0.7 + 0.6 * intensity)
        n_beats = int(total / beat) + 1
        hats_per_beat = 1 if cues.density < 1 else (2 if cues.density < 2.5 else 4)
        four_floor = genre == "electronic" or cues.tempo > 125
        for i in range(n_beats):
            start = int(i * beat * sr)
            if i % 2 == 0 or four_floor:
                _add(out, start, level * 0.9 * kit["kick"])
            if i % 2 == 1 and cues.drums > 0.3:
                _add(out, start, level * 0.5 * kit["snare"])
            for k in range(hats_per_beat):
                if cues.drums > 0.2:
                    _add(out, start + int(k * beat / hats_per_beat * sr), level * 0.4 * kit["hat"])
    elif cues.drums > 0.05:  # classical: timpani-like low strokes on strong beats
        kit = _drum_kit(rng, sr, genre)
        for i in range(0, int(total / beat) + 1, 4):
            _add(out, int(i * beat * sr), cues.drums * 0.6 * kit["kick"])
    return out


def _reverb(y: np.ndarray, wet: float, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Convolution with decaying noise (a cheap room), by FFT."""
    if wet <= 0.01:
        return y
    n_ir = int(1.2 * sr)
    ir = rng.standard_normal(n_ir) * np.exp(-np.arange(n_ir) / (0.25 * sr))
    ir /= np.sqrt(np.sum(ir**2))
    size = 1 << int(np.ceil(np.log2(len(y) + n_ir)))
    wet_y = np.fft.irfft(np.fft.rfft(y, size) * np.fft.rfft(ir, size), size)[: len(y)]
    return ((1 - wet) * y + wet * wet_y).astype(np.float32)


def render_track(seed: int, emotion: str, genre: str, seconds: float, *, second_emotion: str | None = None,
                 blend_to: str | None = None, blend: float = 0.0, sr: int = SR) -> np.ndarray:
    """Synthesise one excerpt.

    Parameters
    ----------
    seed : int
        The track's own seed: same arguments, same samples.
    emotion : str
        Archetype of the excerpt (or of its first half when ``second_emotion`` is set).
    genre : str
        One of :data:`~mer.config.GENRES`; sets the instruments.
    seconds : float > 0
    second_emotion : str, optional
        Archetype of the second half (a change of character midway).
    blend_to, blend : str, float in [0, 1)
        Pull the cues this far towards another archetype.

    Returns
    -------
    np.ndarray [shape=(round(seconds * sr),), dtype=float32], peak below 1.
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    key = 48 + int(rng.integers(0, 12))
    cues = _draw_cues(rng, emotion, blend_to, blend)
    parts = [(cues, n)] if second_emotion is None else []
    if second_emotion is not None:
        split = int(n * rng.uniform(0.55, 0.7))  # the first character lasts longer and names the track
        parts = [(cues, split), (_draw_cues(rng, second_emotion, None, 0.0), n - split)]

    out = []
    for cues_i, length in parts:
        # Song form: quieter verse, fuller chorus, a bridge, last chorus.
        form = [(0.25, 0.35), (0.25, 0.8), (0.2, 0.5), (0.3, 0.9)]
        sec = []
        for share, intensity in form:
            m = int(length * share)
            sec.append(_render_section(rng, cues_i, genre, key, m, sr, intensity * (0.5 + cues_i.dynamics)))
        y = np.concatenate(sec)
        y = np.pad(y, (0, length - len(y)))
        y = _reverb(y, cues_i.reverb, rng, sr)
        rms = np.sqrt(np.mean(y.astype(np.float64) ** 2)) + 1e-9
        y = y * (10 ** (cues_i.loudness / 20) / rms)
        out.append(y)
    y = np.concatenate(out)
    fade = int(0.05 * sr)
    y[:fade] *= np.linspace(0, 1, fade)
    y[-fade:] *= np.linspace(1, 0, fade)
    return (np.tanh(y * 1.2) / 1.2).astype(np.float32)  # soft limiter


# --- the corpus -----------------------------------------------------------------------


@dataclass(frozen=True)
class _TrackPlan:
    track_id: int
    genre: str
    rank: int
    emotion: str
    second_emotion: str | None
    blend_to: str | None
    blend: float
    seed: int


def _plan(config: DemoConfig) -> list[_TrackPlan]:
    rng = np.random.default_rng(config.seed)
    per_genre = int(np.ceil(config.tracks / len(GENRES)))
    plans = []
    track_id = 0
    for g, genre in enumerate(GENRES):
        n_here = min(per_genre, config.tracks - g * per_genre)
        weights = np.array([CLASS_WEIGHTS[e] * GENRE_AFFINITY[genre].get(e, 1.0) for e in EMOTIONS])
        for rank in range(1, n_here + 1):
            track_id += 1
            emotion = EMOTIONS[rng.choice(len(EMOTIONS), p=weights / weights.sum())]
            neighbours = NEIGHBOURS[emotion]
            blend_to = neighbours[rng.integers(len(neighbours))]
            blend = float(rng.uniform(0.0, 0.45))
            second = None
            if rng.random() < config.change_fraction:
                pool = [e for e in EMOTIONS if e != emotion]
                second = pool[rng.integers(len(pool))]
            plans.append(_TrackPlan(track_id, genre, rank, emotion, second, blend_to, blend,
                                    int(rng.integers(2**31))))
    return plans


def _emotion_profile(plan: _TrackPlan) -> np.ndarray:
    """What the track expresses, as a distribution over the nine emotions."""
    p = np.full(len(EMOTIONS), 0.02)
    idx = {e: i for i, e in enumerate(EMOTIONS)}
    main = 1.0 if plan.second_emotion is None else 0.65
    p[idx[plan.emotion]] += main * (1 - plan.blend * 0.8)
    if plan.blend_to:
        p[idx[plan.blend_to]] += main * plan.blend * 0.8
    if plan.second_emotion:
        p[idx[plan.second_emotion]] += 0.35
    return p / p.sum()


def _listener_rows(plan: _TrackPlan, rng: np.random.Generator, mean_listeners: float) -> list[dict]:
    profile = _emotion_profile(plan)
    clarity = np.array([CLARITY[e] for e in EMOTIONS])
    n = max(5, int(rng.poisson(mean_listeners)))
    rows = []
    for _ in range(n):
        # A listener's felt scores: the profile, sharpened by how clear each emotion is, plus taste.
        scores = clarity * np.log(profile) + rng.gumbel(size=len(EMOTIONS)) * 0.9
        k = int(rng.choice([1, 2, 3], p=[0.45, 0.35, 0.2]))
        ticked = np.argsort(scores)[::-1][:k]
        votes = np.zeros(len(EMOTIONS), dtype=int)
        votes[ticked] = 1
        row = {"track id": plan.track_id, "genre": plan.genre}
        row.update(dict(zip(EMOTIONS, votes.tolist())))
        row.update({
            "mood": int(rng.integers(1, 6)), "liked": int(rng.random() < 0.3), "disliked": int(rng.random() < 0.1),
            "age": int(rng.integers(18, 66)), "gender": int(rng.integers(0, 2)),
            "mother tongue": ["English", "Dutch", "Russian", "German", "Spanish"][int(rng.integers(5))],
        })
        rows.append(row)
    return rows


def demo_votes(config: DemoConfig = DemoConfig(), plans: list[_TrackPlan] | None = None) -> pd.DataFrame:
    """The simulated listener responses of a demo corpus (the rows of its ``data.csv``), without audio."""
    plans = plans if plans is not None else _plan(config)
    rng = np.random.default_rng(config.seed + 1)
    return pd.DataFrame([r for p in plans for r in _listener_rows(p, rng, config.mean_listeners)])


def _render_to_file(args: tuple[_TrackPlan, float, int, str]) -> str:
    plan, seconds, sr, path = args
    y = render_track(plan.seed, plan.emotion, plan.genre, seconds, second_emotion=plan.second_emotion,
                     blend_to=plan.blend_to, blend=plan.blend, sr=sr)
    sf.write(path, y, sr, subtype="PCM_16", format="FLAC")
    return path


def generate_demo_corpus(out: str | os.PathLike, config: DemoConfig = DemoConfig(), *,
                         on_progress: ProgressFn | None = None, workers: int | None = None) -> Path:
    """Write a demo corpus in Emotify's layout to ``out``.

    Written into a temporary folder beside ``out`` and renamed into place, so an
    interrupted run never leaves a half corpus where one is expected.

    Parameters
    ----------
    out : path
        Target folder; replaced if it exists.
    config : DemoConfig
    on_progress : callable(done, total, message), optional
    workers : int, optional
        Processes used for synthesis (default: the machine's cores, at most 4).

    Returns
    -------
    Path of the corpus root (``out``).
    """
    if config.tracks < len(GENRES):
        raise ValueError(f"a demo corpus needs at least {len(GENRES)} tracks (one per genre), got {config.tracks}")
    if config.seconds <= 0:
        raise ValueError(f"seconds must be positive, got {config.seconds}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        plans = _plan(config)
        votes = demo_votes(config, plans)
        jobs = []
        for p in plans:
            folder = tmp / "emotifymusic" / p.genre
            folder.mkdir(parents=True, exist_ok=True)
            jobs.append((p, config.seconds, config.sample_rate, str(folder / f"{p.rank}.flac")))
        workers = workers or min(4, os.cpu_count() or 1)
        if workers > 1 and len(jobs) > 4:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for i, _ in enumerate(pool.map(_render_to_file, jobs, chunksize=2), 1):
                    if on_progress:
                        on_progress(i, len(jobs), "synthesising demo tracks")
        else:
            for i, job in enumerate(jobs, 1):
                _render_to_file(job)
                if on_progress:
                    on_progress(i, len(jobs), "synthesising demo tracks")
        # The real data.csv has a space after every comma in its header.
        votes.columns = [c if i == 0 else f" {c}" for i, c in enumerate(votes.columns)]
        votes.to_csv(tmp / "data.csv", index=False)
        (tmp / "README.txt").write_text(
            "Synthetic demo corpus generated by mer (python -m mer data demo). "
            f"{config.tracks} tracks x {config.seconds:g} s, seed {config.seed}. "
            "Same layout and data.csv format as Emotify; the music and the listeners are simulated.\n"
        )
        (tmp / "demo.json").write_text(json.dumps(dataclasses.asdict(config)))
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def ensure_demo_corpus(root: str | os.PathLike | None = None, config: DemoConfig = DemoConfig(), *,
                       on_progress: ProgressFn | None = None) -> Path:
    """The demo corpus at ``root`` (default :func:`default_demo_root`), generated on first use."""
    root = Path(root) if root is not None else default_demo_root()
    if not (root / "data.csv").is_file():
        generate_demo_corpus(root, config, on_progress=on_progress)
    return root


@dataclass(frozen=True)
class DemoExample:
    """A ready-made track for the Analyze page: rendered on demand, never part of any training corpus."""

    title: str
    emotion: str
    genre: str
    seed: int
    second_emotion: str | None = None


#: One example per emotion plus two that change character, seeds outside any corpus.
DEMO_EXAMPLES: tuple[DemoExample, ...] = (
    DemoExample("Joyful pop", "joyful_activation", "pop", 90_001),
    DemoExample("Tender classical", "tenderness", "classical", 90_002),
    DemoExample("Powerful rock", "power", "rock", 90_003),
    DemoExample("Tense electronic", "tension", "electronic", 90_004),
    DemoExample("Sad classical", "sadness", "classical", 90_005),
    DemoExample("Calm electronic", "calmness", "electronic", 90_006),
    DemoExample("Nostalgic pop", "nostalgia", "pop", 90_007),
    DemoExample("Solemn classical", "solemnity", "classical", 90_008),
    DemoExample("Amazing electronic", "amazement", "electronic", 90_009),
    DemoExample("Calm, then powerful (rock)", "calmness", "rock", 90_010, "power"),
    DemoExample("Sad, then joyful (pop)", "sadness", "pop", 90_011, "joyful_activation"),
)


def demo_example_audio(example: DemoExample, seconds: float = 60.0) -> bytes:
    """The example rendered as FLAC bytes (about half a second of synthesis)."""
    import io

    y = render_track(example.seed, example.emotion, example.genre, seconds, second_emotion=example.second_emotion)
    buf = io.BytesIO()
    sf.write(buf, y, SR, format="FLAC", subtype="PCM_16")
    return buf.getvalue()
