"""When a process pool pays: figures, not tests. ``python benchmarks/pool.py [--root DIR] [--workers N]``.

Times, each in a fresh process (so imports and the pool's fork server are counted as a user meets them):
* segment features of the first N tracks of an Emotify folder (default ``../shared/emotify``) in one process
  and on a pool of N workers;
* the demo synthesiser for a few corpus sizes, the same two ways.

``mer.pool.map_with_progress``'s default ``min_jobs`` and ``mer.data.demo.corpus.POOL_MIN_SECONDS`` come from these
figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FEATURE_TRACKS = (12, 24, 36, 64, 128, 320)
DEMO_SIZES = ((8, 10.5), (16, 10.5), (36, 10.5), (24, 60.0), (96, 60.0))


def _features(root: str, n: int, workers: int) -> None:
    from mer.config import AudioConfig, FeatureConfig
    from mer.data.dataset import _windows, decode_and_summarise
    from mer.data.emotify import load_corpus
    from mer.pool import AUDIO_MODULES, map_with_progress

    paths = list(load_corpus(root, allow_missing=True).tracks["path"])[:n]
    jobs = [(p, AudioConfig(), FeatureConfig(), _windows, f"use '{p}'") for p in paths]
    map_with_progress(decode_and_summarise, jobs, message="features", workers=workers, min_jobs=0,
                      preload=("mer.data.dataset", *AUDIO_MODULES))


def _demo(tracks: int, seconds: float, workers: int) -> None:
    from mer.data.demo import DemoConfig
    from mer.data.demo.corpus import _plan, _render_to_file
    from mer.pool import map_with_progress

    with tempfile.TemporaryDirectory() as tmp:
        config = DemoConfig(tracks=tracks, seconds=seconds, seed=1)
        jobs = [(p, seconds, config.sample_rate, f"{tmp}/{i}.flac") for i, p in enumerate(_plan(config))]
        map_with_progress(_render_to_file, jobs, message="demo", workers=workers, min_jobs=0, chunksize=2,
                          preload=("mer.data.demo.corpus",))


def _timed(root: str, *args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--root", root, "--one", *args], check=True, cwd=ROOT)
    return time.perf_counter() - t


def main() -> None:
    from mer.pool import default_workers

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(ROOT.parent / "shared" / "emotify"))
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        kind, a, b, w = args.one
        _features(args.root, int(a), int(w)) if kind == "features" else _demo(int(a), float(b), int(w))
        return
    print(f"{'job':<34} {'1 process':>10} {f'{args.workers} workers':>10}")
    for n in FEATURE_TRACKS:
        one, pool = (_timed(args.root, "features", str(n), "0", str(w)) for w in (1, args.workers))
        print(f"{f'features of {n} Emotify tracks':<34} {one:9.1f}s {pool:9.1f}s", flush=True)
    for tracks, seconds in DEMO_SIZES:
        one, pool = (_timed(args.root, "demo", str(tracks), str(seconds), str(w)) for w in (1, args.workers))
        print(f"{f'demo: {tracks} tracks of {seconds:g} s':<34} {one:9.1f}s {pool:9.1f}s", flush=True)


if __name__ == "__main__":
    main()
