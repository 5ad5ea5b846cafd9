"""Benchmarks: figures, not tests. ``python benchmarks/run.py [--quick]`` prints a table.

Measures, in one run on this machine:
* analysis speed: decode-only vs full analysis (segments, spectra, log-mel, CNN-LSTM)
  for a 60 s MP3 and a 10-minute FLAC;
* training speed: seconds per epoch at Emotify scale (8,000 segments, batch 64);
* memory: peak RSS of a process analysing a 20-minute track;
* the app: time until the Analyze page has drawn its timeline for a demo track, cold and warm (AppTest).

Audio is synthesised by mer's demo synthesiser, so nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mer.analyze import analyze_audio  # noqa: E402
from mer.audio import load_audio  # noqa: E402
from mer.demo import render_track  # noqa: E402
from mer.registry import load_active  # noqa: E402


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _track(path: Path, seconds: float, sr: int) -> Path:
    y = np.concatenate([render_track(1000 + i, e, "pop", min(60.0, seconds - 60.0 * i), sr=22_050)
                        for i, e in zip(range(int(np.ceil(seconds / 60))), ["joyful_activation", "calmness"] * 20)])
    if sr != 22_050:
        import librosa

        y = librosa.resample(y, orig_sr=22_050, target_sr=sr)
    stereo = np.stack([y, 0.9 * y], axis=1)
    sf.write(path, stereo, sr)
    return path


def bench_analysis(tmp: Path, repeat: int) -> list[dict]:
    model = load_active()
    rows = []
    for name, seconds, sr in (("60 s MP3 (44.1 kHz stereo)", 60.0, 44_100), ("10 min FLAC (44.1 kHz stereo)", 600.0, 44_100)):
        ext = "mp3" if "MP3" in name else "flac"
        path = _track(tmp / f"bench.{ext}", seconds, sr)
        decode = _best(lambda: load_audio(path, config=model.audio_config), repeat)
        full = _best(lambda: analyze_audio(load_audio(path, config=model.audio_config), model), repeat)
        rows.append({"what": name, "decode_s": decode, "full_s": full, "ratio": full / decode,
                     "x_realtime": seconds / full})
    return rows


def bench_training(epochs: int = 1) -> dict:
    import torch
    import torch.nn.functional as F

    from mer.config import FeatureConfig, ModelConfig, TrainConfig
    from mer.model import build_model
    from mer.train import _augment

    torch.manual_seed(0)
    torch.set_num_threads(TrainConfig().threads)
    fc = FeatureConfig()
    X = np.random.default_rng(0).uniform(-80, 0, size=(8000, fc.n_mels, fc.window_frames)).astype(np.float16)
    y = torch.from_numpy(np.random.default_rng(1).integers(0, 9, 8000))
    net = build_model(ModelConfig())
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(epochs):
        for lo in range(0, 8000, 64):
            xb = _augment(torch.from_numpy(X[lo:lo + 64].astype(np.float32)), gen, fc.floor_db)
            loss = F.cross_entropy(net(xb), y[lo:lo + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return {"seconds_per_epoch_8000": (time.perf_counter() - t0) / epochs}


def bench_memory(tmp: Path) -> dict:
    path = _track(tmp / "long.flac", 1200.0, 44_100)
    code = ("import sys, resource; sys.path.insert(0, %r)\n"
            "from mer.analyze import analyze\n"
            "analyze(%r)\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)") % (str(ROOT), str(path))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {"peak_rss_mb_20min": int(out.stdout.strip().splitlines()[-1]) / 1024,
            "seconds_20min_process": time.perf_counter() - t0}


def bench_app() -> dict:
    from streamlit.testing.v1 import AppTest

    out = {}
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
        assert not at.exception and any(m.label == "Overall emotion" for m in at.metric)
        out[f"app_timeline_{label}_s"] = time.perf_counter() - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition, no 20-minute memory run")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results["analysis"] = bench_analysis(tmp, repeat)
        for r in results["analysis"]:
            print(f"{r['what']:<32} decode {r['decode_s']:6.2f} s   full analysis {r['full_s']:6.2f} s   "
                  f"full/decode {r['ratio']:4.2f}   {r['x_realtime']:6.0f}× real time")
        results["training"] = bench_training()
        print(f"training: {results['training']['seconds_per_epoch_8000']:.1f} s per epoch at 8,000 segments (batch 64)")
        if not args.quick:
            results["memory"] = bench_memory(tmp)
            print(f"memory: peak RSS {results['memory']['peak_rss_mb_20min']:.0f} MB analysing a 20-minute FLAC "
                  f"({results['memory']['seconds_20min_process']:.1f} s for the whole process)")
        results["app"] = bench_app()
        print(f"app: Analyze page with its timeline (AppTest, demo track): cold {results['app']['app_timeline_cold_s']:.1f} s, "
              f"warm {results['app']['app_timeline_warm_s']:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
