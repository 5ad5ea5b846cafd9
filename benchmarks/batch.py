"""Batch benchmarks: figures, not tests. ``python benchmarks/batch.py [--quick] [--ray]`` prints a table;
``python benchmarks/batch.py --whole [--rounds N]`` times whole processes instead (below).

Measures, on this machine:
* throughput of ``python -m mer batch``'s local engine on 60 s MP3s (44.1 kHz stereo) with 1 and N workers,
  against decoding alone on the same N cores (the same process pool, decoding only);
* peak RSS of the batch's parent process at 100 and 2,000 short files (flat = memory bounded);
* Parquet size per 1,000 tracks;
* with ``--ray``: the Ray engine on a local cluster of N workers (``ray start --head`` on 127.0.0.1)
  against the local engine on the same 200 files.

With ``--whole``: ``python -m mer batch`` as a user meets it (start-up, model loading and the pool's start
included), one worker against the default, in alternating runs (the machine's speed drifts, and other work may
share it), on two libraries: 47 excerpts of 12–16 s and 80 one-minute MP3s (44.1 kHz stereo). Both are cut
from the Emotify audio in ``--emotify`` (default ``../shared/emotify``, read only) when it is there, else
synthesised; ``--libraries DIR`` keeps them between invocations (encoding 80 MP3s takes a minute or two).

Audio is synthesised (mer's demo synthesiser for the MP3s, tones for the short files) or read from a local
Emotify; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mer.batch import analyze_many  # noqa: E402
from mer.data.demo import render_track  # noqa: E402
from mer.registry import load_active  # noqa: E402

EMOTION_CYCLE = ["joyful_activation", "calmness", "tension", "sadness", "power", "tenderness", "nostalgia", "amazement"]


def make_mp3s(folder: Path, n: int, distinct: int = 8) -> list[Path]:
    """``n`` 60 s MP3s at 44.1 kHz stereo: ``distinct`` synthesised pieces, copied under new names."""
    import librosa

    folder.mkdir(parents=True, exist_ok=True)
    pieces = []
    for i in range(min(distinct, n)):
        y = render_track(2000 + i, EMOTION_CYCLE[i % 8], ("pop", "rock", "classical", "electronic")[i % 4], 60.0)
        y = librosa.resample(y, orig_sr=22_050, target_sr=44_100)
        p = folder / f"piece{i:03d}.mp3"
        sf.write(p, np.stack([y, 0.9 * y], axis=1), 44_100)
        pieces.append(p)
    for i in range(len(pieces), n):
        shutil.copyfile(pieces[i % len(pieces)], folder / f"copy{i:05d}.mp3")
    return sorted(folder.glob("*.mp3"))


def make_short(folder: Path, n: int) -> Path:
    """``n`` 10.5 s tones at 8 kHz (WAV), 100 to a folder."""
    t = np.arange(int(10.5 * 8_000)) / 8_000
    for i in range(n):
        d = folder / f"f{i // 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        y = 0.4 * np.sin(2 * np.pi * (100 + 3 * (i % 500)) * t) + 0.1 * np.sin(2 * np.pi * 7 * t) * np.sin(2 * np.pi * 440 * t)
        sf.write(d / f"t{i:05d}.wav", y.astype(np.float32), 8_000)
    return folder


def _decode(path: str) -> int:
    from mer.audio.decode import load_audio

    return len(load_audio(path).samples)


def decode_only(paths: list[Path], workers: int) -> float:
    """Seconds to decode every file on ``workers`` processes (same pool kind as the batch; start-up excluded)."""
    from mer.pool import process_pool

    with process_pool(workers, initializer=_init_decoder_with, initargs=(str(paths[0]),)) as pool:
        list(pool.map(_sleep, [0.5] * workers))  # every worker started and warm
        t0 = time.perf_counter()
        list(pool.map(_decode, map(str, paths), chunksize=1))
        return time.perf_counter() - t0


def _init_decoder_with(warm: str) -> None:
    from mer.batch.worker import single_thread

    single_thread()
    _decode(warm)


def _sleep(s: float) -> None:
    time.sleep(s)


def analysis_rate(paths: list[Path], workers: int) -> dict:
    """Wall time of analyze_many on ``paths`` and its steady rate (after every worker's first result)."""
    stamps = []
    t0 = time.perf_counter()
    for r in analyze_many([str(p) for p in paths], workers=workers):
        assert r.ok, r.error
        stamps.append(time.perf_counter())
    wall = stamps[-1] - t0
    steady = (len(stamps) - workers) / (stamps[-1] - stamps[workers - 1])
    return {"workers": workers, "files": len(paths), "wall_s": wall, "files_per_s_steady": steady}


def parent_peak_rss(inputs: Path, out: Path, workers: int) -> dict:
    """Peak RSS of a batch's parent process (the workers are separate processes), via getrusage in it."""
    code = ("import resource, sys, time; sys.path.insert(0, %r); from mer.batch import run_batch; t = time.time(); "
            "s = run_batch([%r], %r, workers=%d); "
            "print(s.tracks, s.ok_tracks, time.time() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
            ) % (str(ROOT), str(inputs), str(out), workers)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    tracks, ok, secs, rss = res.stdout.split()[-4:]
    size = sum((out / f).stat().st_size for f in ("tracks.parquet", "segments.parquet"))
    return {"tracks": int(tracks), "ok": int(ok), "seconds": float(secs), "peak_rss_mb": int(rss) / 1024,
            "parquet_bytes": size, "parquet_kb_per_1000": size / 1024 / int(tracks) * 1000}


def ray_vs_local(inputs: Path, tmp: Path, workers: int) -> dict:
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    ray = [sys.executable, "-m", "ray.scripts.scripts"]
    temp = tempfile.mkdtemp(prefix="mer-ray-", dir="/tmp")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = {}
    try:
        t0 = time.perf_counter()
        subprocess.run([*ray, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
                        f"--num-cpus={workers}", "--include-dashboard=false", "--disable-usage-stats",
                        f"--temp-dir={temp}"], check=True, capture_output=True, env=env)
        out["cluster_start_s"] = time.perf_counter() - t0
        for engine, extra in (("local", []), ("ray", ["--engine", "ray", "--address", f"127.0.0.1:{port}"])):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "mer", "batch", str(inputs), "--out", str(tmp / f"out-{engine}"),
                            "--workers", str(workers), "--no-progress", *extra], check=True, capture_output=True,
                           env=env, cwd=ROOT)
            out[f"{engine}_s"] = time.perf_counter() - t0
    finally:
        subprocess.run([*ray, "stop", "--force"], capture_output=True, env=env)
        shutil.rmtree(temp, ignore_errors=True)
    out["ratio"] = out["ray_s"] / out["local_s"]
    return out


def make_whole_libraries(folder: Path, emotify: Path) -> dict[str, Path]:
    """The ``--whole`` libraries in ``folder`` (made once): ``small``, 47 excerpts of 12–16 s (Ogg), and
    ``mp3``, 80 one-minute MP3s at 44.1 kHz stereo. From Emotify's audio when there is some, else synthesised."""
    import soxr

    small, mp3 = folder / "small", folder / "mp3"
    sources = sorted(emotify.glob("emotifymusic/*/*")) if emotify.is_dir() else []
    rng = np.random.default_rng(0)
    if not small.is_dir() or len(list(small.iterdir())) < 47:
        small.mkdir(parents=True, exist_ok=True)
        for i in range(47):
            if sources:
                y, sr = sf.read(sources[1 + 6 * i], dtype="float32")
            else:
                y, sr = render_track(3000 + i, EMOTION_CYCLE[i % 8], "pop", 40.0), 22_050
            seconds, start = rng.uniform(12, 16), rng.uniform(0, len(y) / sr - 16)
            sf.write(small / f"excerpt{i:02d}.ogg", y[int(start * sr): int((start + seconds) * sr)], sr)
    if not mp3.is_dir() or len(list(mp3.glob("*.mp3"))) < 80:
        if not sources:
            make_mp3s(mp3, 80)
        else:
            mp3.mkdir(parents=True, exist_ok=True)
            for i in range(80):
                y, sr = sf.read(sources[4 * i], dtype="float32")
                y = soxr.resample(y, sr, 44_100)
                sf.write(mp3 / f"track{i:02d}.mp3", np.stack([y, 0.95 * y], axis=1), 44_100)
    return {"47 excerpts of 12-16 s": small, "80 one-minute MP3s": mp3}


def whole_process(inputs: Path, out: Path, workers: int | None) -> float:
    """Seconds of ``python -m mer batch INPUTS --out OUT [--workers N]`` from start to exit, on a new folder."""
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mer", "batch", str(inputs), "--out", str(out), "--no-progress",
                    *(["--workers", str(workers)] if workers else [])], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t0


def whole_runs(libraries: dict[str, Path], tmp: Path, rounds: int) -> dict:
    """Alternating whole-process runs, one worker then the default, ``rounds`` times per library."""
    out = {}
    for label, folder in libraries.items():
        one, default, loads = [], [], []
        for _ in range(rounds):
            loads.append(os.getloadavg()[0])
            one.append(whole_process(folder, tmp / "out", 1))
            default.append(whole_process(folder, tmp / "out", None))
        out[label] = {"one_worker_s": one, "default_s": default, "load_at_start": loads,
                      "ratios": [a / b for a, b in zip(one, default)]}
    return out


def _whole_table(r: dict) -> str:
    lines = [f"machine: {r['machine']}; default workers: {r['default_workers']}"]
    for label, v in r["whole"].items():
        lines.append(f"{label}: one worker / default, run by run (load at start):")
        for a, b, q, load in zip(v["one_worker_s"], v["default_s"], v["ratios"], v["load_at_start"]):
            lines.append(f"  {a:6.1f} s / {b:6.1f} s = {q:.2f}x   (load {load:.1f})")
        lines.append(f"  median ratio {float(np.median(v['ratios'])):.2f}x, "
                     f"min {min(v['ratios']):.2f}x, max {max(v['ratios']):.2f}x")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer files (a smoke run, not for the README)")
    parser.add_argument("--ray", action="store_true", help="also time the Ray engine (needs requirements-ray.txt)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--large", type=int, default=2000, help="files of the large memory run (default 2000)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--whole", action="store_true",
                        help="time whole `mer batch` processes, one worker vs the default, alternating")
    parser.add_argument("--rounds", type=int, default=3, help="alternating pairs per library with --whole")
    parser.add_argument("--emotify", type=Path, default=ROOT.parent / "shared" / "emotify")
    parser.add_argument("--libraries", type=Path, default=None, help="keep the --whole libraries here")
    args = parser.parse_args()
    if args.whole:
        from mer.pool import default_workers

        with tempfile.TemporaryDirectory(prefix="mer-bench-whole-") as tmp_s:
            libraries = make_whole_libraries(args.libraries or Path(tmp_s) / "libraries", args.emotify)
            results = {"machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at start",
                       "default_workers": default_workers(), "whole": whole_runs(libraries, Path(tmp_s), args.rounds)}
        results["machine"] += f", {os.getloadavg()[0]:.2f} at end"
        print(json.dumps(results, indent=2) if args.json else _whole_table(results))
        return
    n_mp3, n_small, n_large, n_ray = (8, 20, 100, 40) if args.quick else (40, 100, args.large, 200)
    load_active()  # fail early if no model
    results: dict = {"machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at start"}
    with tempfile.TemporaryDirectory(prefix="mer-bench-batch-") as tmp_s:
        tmp = Path(tmp_s)
        mp3s = make_mp3s(tmp / "mp3", n_mp3)
        one = analysis_rate(mp3s, 1)
        many = analysis_rate(mp3s, args.workers)
        dec = decode_only(mp3s, args.workers)
        results["throughput"] = {
            "one_worker": one, "n_workers": many, "speedup": many["files_per_s_steady"] / one["files_per_s_steady"],
            "efficiency": many["files_per_s_steady"] / one["files_per_s_steady"] / args.workers,
            "decode_only_s": dec, "analysis_over_decode": (len(mp3s) / many["files_per_s_steady"]) / dec,
        }
        make_short(tmp / "short", n_large)
        small = tmp / "small"
        for d in sorted((tmp / "short").iterdir())[: max(1, n_small // 100)]:
            shutil.copytree(d, small / d.name)
        results["memory"] = {"small": parent_peak_rss(small, tmp / "out-small", args.workers),
                             "large": parent_peak_rss(tmp / "short", tmp / "out-large", args.workers)}
        shutil.rmtree(tmp / "out-small"), shutil.rmtree(tmp / "out-large")
        results["parquet_mp3"] = parent_peak_rss(tmp / "mp3", tmp / "out-mp3", args.workers)
        if args.ray:
            ray_in = tmp / "ray"
            for d in sorted((tmp / "short").iterdir())[: max(1, n_ray // 100)]:
                shutil.copytree(d, ray_in / d.name)
            if args.quick:
                for p in sorted(ray_in.rglob("*.wav"))[n_ray:]:
                    p.unlink()
            results["ray"] = ray_vs_local(ray_in, tmp, args.workers)
    results["machine"] += f", {os.getloadavg()[0]:.2f} at end"
    print(json.dumps(results, indent=2) if args.json else _table(results, args.workers))


def _table(r: dict, workers: int) -> str:
    t, m = r["throughput"], r["memory"]
    lines = [f"machine: {r['machine']}",
             f"60 s MP3s, {t['one_worker']['files']} files: 1 worker {t['one_worker']['files_per_s_steady']:.2f} files/s, "
             f"{workers} workers {t['n_workers']['files_per_s_steady']:.2f} files/s (steady) -> speed-up "
             f"{t['speedup']:.2f}x, efficiency {100 * t['efficiency']:.0f} %; wall incl. start-up "
             f"{t['one_worker']['wall_s']:.1f} s vs {t['n_workers']['wall_s']:.1f} s",
             f"decode only on {workers} cores: {t['decode_only_s']:.2f} s; full analysis / decode = "
             f"{t['analysis_over_decode']:.2f}",
             f"parent peak RSS: {m['small']['tracks']} files {m['small']['peak_rss_mb']:.0f} MB, "
             f"{m['large']['tracks']} files {m['large']['peak_rss_mb']:.0f} MB "
             f"({m['large']['tracks'] / m['large']['seconds']:.1f} files/s on the short files)",
             f"Parquet per 1,000 tracks: {r['parquet_mp3']['parquet_kb_per_1000']:.0f} KB (MP3 batch), "
             f"{m['large']['parquet_kb_per_1000']:.0f} KB (short tones batch)"]
    if "ray" in r:
        ray = r["ray"]
        lines.append(f"Ray engine vs local on the same files: {ray['ray_s']:.1f} s vs {ray['local_s']:.1f} s "
                     f"(ratio {ray['ratio']:.2f}; cluster start {ray['cluster_start_s']:.1f} s, not included)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
