"""Benchmarks: figures, not tests. ``python benchmarks/run.py [--quick] [--all-precisions]`` prints a table.

Measures, in one run on this machine:
* the CPU: torch's capability (AVX2, AVX512, ...), its 8-bit dot-product flags, and the kernel mer chooses
  (:func:`mer.kernels.kernel_choice`) with its reason;
* analysis speed at each precision MusiCNN may run in (``MER_PRECISION``): decode-only vs full analysis
  (segments, spectra, log-mel, MusiCNN, CNN-LSTM; the active model) for a 60 s MP3 and a 10-minute FLAC;
  on a CPU without VNNI the int8 rows take minutes and run only with ``--all-precisions``;
* MusiCNN's effective GMAC/s at each precision beside the float32 and int8 matrix-product rates;
* batch throughput (files/s) of the local engine with 1 and 2 workers, in the machine's precision;
* training speed: seconds per epoch at Emotify scale (256 training tracks of 20 segments);
* memory: peak RSS of a process analysing a 20-minute track;
* the app: time until the Analyze page has drawn its timeline for its first example, cold and warm (AppTest).

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
from mer.audio.decode import load_audio  # noqa: E402
from mer.data.demo import render_track  # noqa: E402
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


def bench_cpu() -> dict:
    import torch

    from mer.kernels import kernel_choice

    choice = kernel_choice()
    return {"capability": torch.backends.cpu.get_cpu_capability(), "int8_flags": list(choice.int8_flags),
            "threads": torch.get_num_threads(), "chosen": choice.precision, "reason": choice.reason,
            "float32_kernel": choice.kernel, "probe_direct_ms": choice.direct_ms, "probe_dft_ms": choice.dft_ms}


def _precisions(all_precisions: bool) -> list[str]:
    """The precisions worth timing here: int8 only where the CPU has VNNI/AMX, unless asked for."""
    from mer.audio.musicnn import PRECISIONS
    from mer.kernels import kernel_choice

    return list(PRECISIONS) if all_precisions or kernel_choice().int8_flags else ["float32"]


def bench_analysis(tmp: Path, repeat: int, precisions: list[str]) -> list[dict]:
    model = load_active()
    rows = []
    for name, seconds, sr in (("60 s MP3 (44.1 kHz stereo)", 60.0, 44_100), ("10 min FLAC (44.1 kHz stereo)", 600.0, 44_100)):
        ext = "mp3" if "MP3" in name else "flac"
        path = _track(tmp / f"bench.{ext}", seconds, sr)
        decode = _best(lambda: load_audio(path, config=model.audio_config), repeat)
        for precision in precisions:
            os.environ["MER_PRECISION"] = precision
            full = _best(lambda: analyze_audio(load_audio(path, config=model.audio_config), model), repeat)
            rows.append({"what": name, "precision": precision, "decode_s": decode, "full_s": full,
                         "ratio": full / decode, "x_realtime": seconds / full})
        os.environ.pop("MER_PRECISION")
    return rows


def bench_cli(tmp: Path) -> dict:
    """``python -m mer analyze --json`` on a 10-minute FLAC, start-up included, in the machine's precision."""
    path = _track(tmp / "cli.flac", 600.0, 44_100)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "mer", "analyze", str(path), "--json"], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    return {"cli_10min_flac_s": time.perf_counter() - t0, "precision": json.loads(out.stdout)["model"].get("precision")}


def bench_batch(tmp: Path, files: int = 8) -> list[dict]:
    """The local batch engine on ``files`` one-minute MP3s with 1 and 2 workers (whole run, pool start included)."""
    from mer.batch import analyze_many

    folder = tmp / "batch"
    folder.mkdir()
    paths = [_track(folder / f"t{i:02d}.mp3", 60.0, 44_100) for i in range(files)]
    rows = []
    for workers in (1, 2):
        t0 = time.perf_counter()
        results = list(analyze_many([str(p) for p in paths], workers=workers))
        wall = time.perf_counter() - t0
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        rows.append({"workers": workers, "files": files, "wall_s": wall, "files_per_s": files / wall})
    return rows


def bench_musicnn(repeat: int, precisions: list[str]) -> dict:
    """MusiCNN alone on the 20 patches of a 60 s track at each precision, against this machine's matrix-product
    rates (float32 ``torch.matmul``; int8 ``torch._int_mm``, what the int8 timbral convolutions run on)."""
    import torch

    from mer.audio.musicnn import N_MELS, PATCH_FRAMES, load_musicnn

    x = torch.rand(20, PATCH_FRAMES, N_MELS) * 3
    gmac = 20 * 1.40  # multiply-adds of one 3 s patch, counted layer by layer (mer/audio/musicnn.py)
    out = {"threads": torch.get_num_threads()}
    for precision, kernel in [("float32", "direct"), ("float32", "dft"), *(("int8", "direct"),) * ("int8" in precisions)]:
        net = load_musicnn(precision=precision, kernel=kernel)
        with torch.no_grad():
            seconds = _best(lambda: net(x), repeat)
        name = precision if precision == "int8" else f"{precision}_{kernel}"
        out[f"musicnn_{name}_20_patches_s"] = seconds
        out[f"musicnn_{name}_gmac_per_s"] = gmac / seconds
    a = torch.rand(1024, 1024)
    out["matmul_float32_gmac_per_s"] = 1024 ** 3 / _best(lambda: a @ a, repeat) / 1e9
    q = torch.randint(-128, 128, (1024, 1024), dtype=torch.int8)
    out["matmul_int8_gmac_per_s"] = 1024 ** 3 / _best(lambda: torch._int_mm(q, q), 1) / 1e9
    return out


def bench_training(epochs: int = 1) -> dict:
    """Seconds per epoch of the default recipe at Emotify scale: 256 training tracks of 20 segments."""
    import torch

    from mer.config import FeatureConfig, ModelConfig, TrainConfig
    from mer.model import build_model
    from mer.training.train import _tensor_rows, run_epoch

    torch.manual_seed(0)
    fc, config = FeatureConfig(), TrainConfig()
    rng = np.random.default_rng(0)
    X = rng.uniform(-80, 0, size=(256, fc.n_segments, fc.n_mels, fc.window_frames)).astype(np.float16)
    target = rng.dirichlet(np.ones(9), size=256)
    rows = _tensor_rows(X, target, target.argmax(axis=1), rng.integers(0, 4, 256))
    net = build_model(ModelConfig(front_end="logmel"), fc.n_mels)
    opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(epochs):
        run_epoch(net, opt, rows, config, gen)
    return {"seconds_per_epoch_256_tracks": (time.perf_counter() - t0) / epochs}


def bench_memory(tmp: Path) -> dict:
    """Peak RSS of ``python -m mer analyze FILE --json`` on a 20-minute FLAC, as a user runs it (a process of its
    own: ``RUSAGE_CHILDREN`` holds the largest child's peak)."""
    import resource

    path = _track(tmp / "long.flac", 1200.0, 44_100)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mer", "analyze", str(path), "--json"], capture_output=True, text=True,
                   check=True, cwd=ROOT)
    return {"peak_rss_mb_20min": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "seconds_20min_process": time.perf_counter() - t0}


def bench_app() -> dict:
    from streamlit.testing.v1 import AppTest

    out = {}
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
        assert not at.exception and any(m.label == "Overall emotion" for m in at.metric)  # the first real example
        out[f"app_timeline_{label}_s"] = time.perf_counter() - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition, no 20-minute memory run")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--all-precisions", action="store_true",
                        help="time int8 even on a CPU without VNNI/AMX (minutes there)")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    results: dict = {"cpu": bench_cpu()}
    c = results["cpu"]
    print(f"CPU: torch capability {c['capability']}, 8-bit dot-product flags {', '.join(c['int8_flags']) or 'none'}; "
          f"MusiCNN runs in {c['chosen']} ({c['reason']})")
    if c["chosen"] == "float32":
        print(f"float32 kernel: {c['float32_kernel']} (probe, one patch of the 38-band layer: direct "
              f"{c['probe_direct_ms']:.1f} ms, DFT {c['probe_dft_ms']:.1f} ms)")
    precisions = _precisions(args.all_precisions)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results["analysis"] = bench_analysis(tmp, repeat, precisions)
        for r in results["analysis"]:
            print(f"{r['what']:<30} {r['precision']:<8} decode {r['decode_s']:6.2f} s   full analysis "
                  f"{r['full_s']:6.2f} s   full/decode {r['ratio']:5.2f}   {r['x_realtime']:6.0f}× real time")
        results["cli"] = bench_cli(tmp)
        print(f"python -m mer analyze --json, 10-minute FLAC, whole process: {results['cli']['cli_10min_flac_s']:.1f} s "
              f"({results['cli']['precision']})")
        results["batch"] = bench_batch(tmp)
        for r in results["batch"]:
            print(f"batch, local engine, {r['workers']} worker(s): {r['files']} one-minute MP3s in {r['wall_s']:.1f} s = "
                  f"{r['files_per_s']:.2f} files/s (pool start included)")
        results["musicnn"] = bench_musicnn(repeat, precisions)
        m = results["musicnn"]
        for name in [k[len("musicnn_"):-len("_20_patches_s")] for k in m if k.endswith("_20_patches_s")]:
            print(f"MusiCNN {name}, 20 patches (a 60 s track): {m[f'musicnn_{name}_20_patches_s']:.2f} s "
                  f"on {m['threads']} threads = {m[f'musicnn_{name}_gmac_per_s']:.0f} GMAC/s effective")
        print(f"matrix products here: float32 torch.matmul {m['matmul_float32_gmac_per_s']:.0f} GMAC/s, "
              f"int8 torch._int_mm {m['matmul_int8_gmac_per_s']:.1f} GMAC/s")
        results["training"] = bench_training()
        print(f"training: {results['training']['seconds_per_epoch_256_tracks']:.1f} s per epoch of 256 tracks × 20 "
              "segments (one cross-validation fold of Emotify's 320)")
        if not args.quick:
            results["memory"] = bench_memory(tmp)
            print(f"memory: peak RSS {results['memory']['peak_rss_mb_20min']:.0f} MB analysing a 20-minute FLAC "
                  f"({results['memory']['seconds_20min_process']:.1f} s for the whole process)")
        results["app"] = bench_app()
        print(f"app: Analyze page with its timeline (AppTest, first example): cold {results['app']['app_timeline_cold_s']:.1f} s, "
              f"warm {results['app']['app_timeline_warm_s']:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
