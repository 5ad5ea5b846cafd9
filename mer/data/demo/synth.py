"""Synthetic music from emotion archetypes, deterministic from a seed.

Each of the nine GEMS emotions is an :class:`Archetype`: ranges of the cues that
music psychology links to perceived emotion (Juslin & Laukka 2003; Gabrielsson
& Lindström 2010) — tempo, mode, register, loudness, articulation, brightness,
rhythmic density, dissonance. A track draws its cues from its archetype, may be
pulled part of the way towards a neighbouring archetype, and may change
character part-way through. Instruments follow the genre.

This is music made by a program, for demonstrating and testing mer; it is not a
model of how people feel music.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["SR", "Archetype", "ARCHETYPES", "CUES", "GENRE_AFFINITY", "render_track"]

SR = 22_050


@dataclass(frozen=True)
class Archetype:
    """One emotion as music: the ranges of cues a track draws from, and how the simulation treats it.

    Every cue is a (low, high) range drawn uniformly per track, except ``major``, a probability.
    """

    emotion: str
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
    neighbours: tuple[str, ...]  # musical neighbours: tracks blend towards these, listeners confuse them
    share: float  # share of a corpus's tracks (skewed like Emotify's: majority ≥ 4× minority)
    clarity: float  # how sharply listeners agree; lowest for amazement, sadness, solemnity, as in Emotify


#: The nine archetypes by emotion name, in Emotify order.
ARCHETYPES: dict[str, Archetype] = {a.emotion: a for a in (
    Archetype(
        "amazement",
        tempo=(105, 140), major=0.8, register=(70, 82), loudness=(-20, -14),
        legato=(0.4, 0.8), brightness=(0.6, 0.9), density=(1.5, 3),
        dissonance=(0.15, 0.35), drums=(0.2, 0.6), dynamics=(0.6, 1), reverb=(0.15, 0.35),
        neighbours=("joyful_activation", "power", "tension"), share=0.06, clarity=0.8,
    ),
    Archetype(
        "solemnity",
        tempo=(48, 68), major=0.35, register=(50, 60), loudness=(-22, -15),
        legato=(0.9, 1), brightness=(0.2, 0.45), density=(0.25, 0.6),
        dissonance=(0.05, 0.2), drums=(0, 0.15), dynamics=(0.1, 0.3), reverb=(0.3, 0.5),
        neighbours=("sadness", "calmness", "power"), share=0.07, clarity=0.9,
    ),
    Archetype(
        "tenderness",
        tempo=(62, 86), major=0.9, register=(66, 76), loudness=(-30, -23),
        legato=(0.85, 1), brightness=(0.15, 0.4), density=(0.5, 1.2),
        dissonance=(0, 0.1), drums=(0, 0.15), dynamics=(0.05, 0.25), reverb=(0.2, 0.4),
        neighbours=("calmness", "nostalgia"), share=0.13, clarity=1.6,
    ),
    Archetype(
        "nostalgia",
        tempo=(68, 96), major=0.55, register=(60, 70), loudness=(-27, -20),
        legato=(0.75, 0.95), brightness=(0.3, 0.55), density=(0.6, 1.3),
        dissonance=(0.05, 0.2), drums=(0.1, 0.45), dynamics=(0.1, 0.3), reverb=(0.25, 0.45),
        neighbours=("tenderness", "sadness", "calmness"), share=0.1, clarity=1.1,
    ),
    Archetype(
        "calmness",
        tempo=(52, 74), major=0.8, register=(58, 68), loudness=(-34, -26),
        legato=(0.95, 1), brightness=(0.1, 0.3), density=(0.2, 0.6),
        dissonance=(0, 0.08), drums=(0, 0.08), dynamics=(0, 0.15), reverb=(0.3, 0.5),
        neighbours=("tenderness", "solemnity"), share=0.17, clarity=1.3,
    ),
    Archetype(
        "power",
        tempo=(96, 132), major=0.45, register=(46, 58), loudness=(-15, -10),
        legato=(0.35, 0.7), brightness=(0.65, 0.95), density=(1, 2),
        dissonance=(0.15, 0.35), drums=(0.75, 1), dynamics=(0.2, 0.45), reverb=(0.05, 0.2),
        neighbours=("tension", "joyful_activation"), share=0.14, clarity=1.6,
    ),
    Archetype(
        "joyful_activation",
        tempo=(118, 150), major=0.95, register=(72, 84), loudness=(-17, -11),
        legato=(0.25, 0.55), brightness=(0.6, 0.9), density=(1.8, 3.5),
        dissonance=(0, 0.12), drums=(0.7, 1), dynamics=(0.15, 0.35), reverb=(0.05, 0.2),
        neighbours=("amazement", "power"), share=0.15, clarity=1.6,
    ),
    Archetype(
        "tension",
        tempo=(88, 136), major=0.1, register=(52, 68), loudness=(-21, -13),
        legato=(0.3, 0.75), brightness=(0.45, 0.8), density=(1.5, 3),
        dissonance=(0.55, 0.9), drums=(0.35, 0.75), dynamics=(0.45, 0.8), reverb=(0.1, 0.25),
        neighbours=("power", "amazement"), share=0.145, clarity=1.3,
    ),
    Archetype(
        "sadness",
        tempo=(46, 66), major=0.08, register=(55, 65), loudness=(-31, -24),
        legato=(0.85, 1), brightness=(0.1, 0.3), density=(0.3, 0.8),
        dissonance=(0.05, 0.2), drums=(0, 0.1), dynamics=(0.05, 0.2), reverb=(0.25, 0.45),
        neighbours=("nostalgia", "solemnity"), share=0.035, clarity=0.9,
    ),
)}

#: The cue fields of an :class:`Archetype` (what a track draws).
CUES: tuple[str, ...] = ("tempo", "major", "register", "loudness", "legato", "brightness", "density", "dissonance",
                         "drums", "dynamics", "reverb")

#: How likely each genre is to carry each emotion (multiplies the archetypes' ``share``).
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
    beat = 60.0 / cues.tempo
    scale = _MAJOR if cues.major else _MINOR
    progression = (_PROGRESSIONS_MAJOR if cues.major else _PROGRESSIONS_MINOR)[rng.integers(5)]
    centre = cues.register + 4 * (intensity - 0.5)
    # the parts draw from rng in this order; keep it, or every seed's audio changes
    _chords_and_bass(out, rng, cues, genre, key, scale, progression, beat, centre, sr, intensity)
    _melody(out, rng, cues, genre, key, scale, beat, centre, sr, intensity)
    _drums(out, rng, cues, genre, beat, sr, intensity)
    return out


def _chords_and_bass(out: np.ndarray, rng: np.random.Generator, cues: _Cues, genre: str, key: int, scale, progression,
                     beat: float, centre: float, sr: int, intensity: float) -> None:
    """One chord per bar (dissonance adds a minor second or a tritone) and a bass line, added to ``out``."""
    timbres, dyn, bar = _GENRE_TIMBRES[genre], cues.dynamics, 4 * beat
    for b in range(int(np.ceil(len(out) / sr / bar))):
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


def _melody(out: np.ndarray, rng: np.random.Generator, cues: _Cues, genre: str, key: int, scale, beat: float,
            centre: float, sr: int, intensity: float) -> None:
    """A random walk on the scale around the register, notes per beat = density, added to ``out``."""
    t, total = 0.0, len(out) / sr
    step = int(rng.integers(0, 7))
    leap = 3 if cues.dynamics > 0.5 else 2
    while t < total:
        slot = beat / cues.density * rng.choice([0.5, 1.0, 1.0, 1.0, 2.0])
        step += int(rng.integers(-leap, leap + 1))
        octave, degree = divmod(step, 7)
        pitch = key + 12 * octave + scale[degree]
        pitch += 12 * round((centre - pitch) / 12)
        if rng.random() < cues.dissonance * 0.3:
            pitch += 1  # chromatic neighbour
        vel = 0.6 * (1 + cues.dynamics * (rng.random() - 0.5)) * (0.7 + 0.6 * intensity)
        if rng.random() > 0.12:  # rests
            y = _note(_midi_hz(pitch), slot, slot * cues.legato, vel, _GENRE_TIMBRES[genre]["lead"], cues.brightness, sr)
            _add(out, int(t * sr), 0.5 * y)
        t += slot


def _drums(out: np.ndarray, rng: np.random.Generator, cues: _Cues, genre: str, beat: float, sr: int,
           intensity: float) -> None:
    """Kick on 1 and 3 (every beat in dance music), snare on 2 and 4, hats by density; timpani in classical."""
    total = len(out) / sr
    if cues.drums > 0.05 and genre != "classical":
        kit = _drum_kit(rng, sr, genre)
        level = cues.drums * (0.7 + 0.6 * intensity)
        hats_per_beat = 1 if cues.density < 1 else (2 if cues.density < 2.5 else 4)
        four_floor = genre == "electronic" or cues.tempo > 125
        for i in range(int(total / beat) + 1):
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
        One of :data:`~mer.emotions.GENRES`; sets the instruments.
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
