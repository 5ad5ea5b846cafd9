"""The demo corpus: synthetic tracks and simulated listeners in Emotify's exact layout.

``ROOT/data.csv`` has one row per simulated listener response, with the official
header, and ``ROOT/emotifymusic/<genre>/<rank>.flac`` the audio, so
:func:`mer.data.emotify.load_corpus` reads it with no special case. Simulated
listeners tick one to three emotions from the track's emotion profile, with more
disagreement on the emotions real listeners agreed on least (amazement,
sadness, solemnity; Aljanaki et al. 2016), so vote shares are not one-hot and
some tracks are ambiguous.

For demonstrating and testing the product; train on the real Emotify for a
model of human emotion.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from ...config import MAX_SEED, _check
from ...emotions import EMOTIONS, GENRES
from ...files import check_output_dir, replace_dir
from ...pool import map_with_progress
from ...progress import ProgressFn
from ...settings import demo_dir
from ...text import csv_safe
from .synth import ARCHETYPES, GENRE_AFFINITY, SR, render_track

#: Seconds of audio below which one process synthesises a corpus sooner than a pool (which first starts its fork
#: server): on 2 cores 8 tracks of 10.5 s took 2.0 s in one process and 2.1 s on a pool of two, 16 tracks 2.7 s
#: and 2.1 s, 96 tracks of 60 s 49.7 s and 33.0 s (``benchmarks/pool.py``).
POOL_MIN_SECONDS = 120.0
#: What a demo corpus folder holds: replacing one that holds anything else is refused.
DEMO_FILES = ("data.csv", "emotifymusic", "README.txt", "demo.json")

__all__ = ["DemoConfig", "demo_votes", "generate_demo_corpus", "ensure_demo_corpus"]


@dataclass(frozen=True)
class DemoConfig:
    """Size and seed of a demo corpus."""

    tracks: int = 240  # split equally over the four genres; at least one per genre
    seconds: float = 60.0  # Emotify excerpts are one minute; at least the 10 s an analysis needs, at most 10 min
    seed: int = 7
    sample_rate: int = SR
    mean_listeners: float = 20.0  # Emotify: 8,407 responses over 400 tracks ≈ 21
    change_fraction: float = 0.2  # tracks whose character changes part-way through

    def __post_init__(self) -> None:
        _check(self, {"tracks": (len(GENRES), 10_000), "seconds": (10.0, 600.0), "seed": (0, MAX_SEED),
                      "sample_rate": (8_000, 96_000), "mean_listeners": (1, 1_000), "change_fraction": (0, 1)})



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
        weights = np.array([ARCHETYPES[e].share * GENRE_AFFINITY[genre].get(e, 1.0) for e in EMOTIONS])
        for rank in range(1, n_here + 1):
            track_id += 1
            emotion = EMOTIONS[rng.choice(len(EMOTIONS), p=weights / weights.sum())]
            neighbours = ARCHETYPES[emotion].neighbours
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
    clarity = np.array([ARCHETYPES[e].clarity for e in EMOTIONS])
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
        Target folder: new, empty, or an earlier demo corpus (which is replaced). Any other folder is refused.
    config : DemoConfig
    on_progress : callable(done, total, message), optional
    workers : int, optional
        Processes used for synthesis (default: the machine's cores, at most 4).

    Returns
    -------
    Path of the corpus root (``out``).
    """
    out = Path(out)
    check_output_dir(out, markers=("demo.json",), allowed=DEMO_FILES, what="a demo corpus")
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
        map_with_progress(_render_to_file, jobs, message="synthesising demo tracks", workers=workers,
                          on_progress=on_progress, min_jobs=max(4, math.ceil(POOL_MIN_SECONDS / config.seconds)),
                          chunksize=2, preload=("mer.data.demo.corpus",))
        # The real data.csv has a space after every comma in its header.
        votes.columns = [c if i == 0 else f" {c}" for i, c in enumerate(votes.columns)]
        csv_safe(votes).to_csv(tmp / "data.csv", index=False)
        (tmp / "README.txt").write_text(
            "Synthetic demo corpus generated by mer (python -m mer data demo). "
            f"{config.tracks} tracks x {config.seconds:g} s, seed {config.seed}. "
            "Same layout and data.csv format as Emotify; the music and the listeners are simulated.\n"
        )
        (tmp / "demo.json").write_text(json.dumps(dataclasses.asdict(config)))
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def ensure_demo_corpus(root: str | os.PathLike | None = None, config: DemoConfig = DemoConfig(), *,
                       on_progress: ProgressFn | None = None) -> Path:
    """The demo corpus at ``root`` (default :func:`mer.settings.demo_dir`), generated on first use."""
    root = Path(root) if root is not None else demo_dir()
    if not (root / "data.csv").is_file():
        generate_demo_corpus(root, config, on_progress=on_progress)
    return root
