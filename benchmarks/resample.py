"""Benchmark: MusiCNN's input resampled once (source → 16 kHz) or twice (source → 22.05 kHz → 16 kHz, as mer does).

``python benchmarks/resample.py [--files 4] [--rounds 5] [--json]`` reads a few real files (Emotify's excerpts
under ``../shared/emotify/emotifymusic/*/`` and 4Q's clips under ``../shared/4q/Q*/``: all 22.05 kHz mono Ogg
Vorbis), and the same files written as 44.1 kHz WAV (upsampled with soxr's very-high quality, so they hold nothing
above 11 kHz), plus a 44.1 kHz synthetic track with energy up to 22 kHz (a sine in white noise). For each source
kind it prints

* the median time to decode to 22.05 kHz (what an analysis needs for its spectra anyway), to resample those
  samples on to 16 kHz (mer's second resampling), and to decode straight to 16 kHz;
* how far MusiCNN's 16 kHz log-mel, the embeddings, the tag probabilities and the default model's track
  probabilities move when the input is resampled once instead of twice (largest absolute difference), and on how
  many files the top emotion changes: with the segments an analysis cuts at 22.05 kHz (only the samples differ),
  and with segments cut on the 16 kHz samples (as embedding a corpus straight from 16 kHz would: a boundary can
  then round to another MusiCNN frame, moving a patch by 16 ms); beside them, for scale, how far the same numbers
  move between MusiCNN's two precisions (float32 and int8) on today's input.

MusiCNN runs in float32 with the direct kernel for the comparison (so that only the resampling differs).
Timings are wall-clock medians on whatever machine runs it: say how busy it was.
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mer.audio import musicnn  # noqa: E402
from mer.audio.decode import load_audio, resample  # noqa: E402
from mer.audio.embeddings import embed_samples  # noqa: E402
from mer.audio.segments import segment_bounds  # noqa: E402
from mer.config import AudioConfig  # noqa: E402

SHARED = ROOT.parent / "shared"
MUSICNN = AudioConfig(sample_rate=musicnn.SAMPLE_RATE)


def _real_files(per_kind: int) -> list[Path]:
    emotify = sorted(glob.glob(str(SHARED / "emotify" / "emotifymusic" / "*" / "*.ogg")))
    fourq = sorted(glob.glob(str(SHARED / "4q" / "Q*" / "*.ogg")))
    if not emotify and not fourq:
        raise SystemExit(f"error: no audio under {SHARED}/emotify/emotifymusic or {SHARED}/4q; pass --shared")
    step = lambda paths: paths[:: max(1, len(paths) // per_kind)][:per_kind]  # noqa: E731  spread over genres
    return [Path(p) for p in step(emotify) + step(fourq)]


def _at_44k(paths: list[Path], folder: Path) -> list[Path]:
    """The files upsampled to 44.1 kHz WAV, and a full-band synthetic track."""
    out = []
    for i, path in enumerate(paths):
        y, sr = sf.read(path, dtype="float32")
        out.append(folder / f"{i}-{path.stem}.wav")
        sf.write(out[-1], resample(y, sr, 44_100, "soxr_vhq"), 44_100, subtype="FLOAT")
    rng = np.random.default_rng(0)
    t = np.arange(44_100 * 23) / 44_100
    out.append(folder / "sine-in-noise.wav")
    sf.write(out[-1], (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32),
             44_100, subtype="FLOAT")
    return out


def _median_s(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def timings(paths: list[Path], rounds: int, net) -> dict[str, float]:
    """Median milliseconds per file of each step, summed over the files and divided by their number; MusiCNN's
    embedding of the file (float32, one thread), for scale."""
    total = {"decode_22k": 0.0, "resample_22k_to_16k": 0.0, "decode_16k": 0.0, "musicnn": 0.0}
    for path in paths:
        y22 = load_audio(path).samples
        total["decode_22k"] += _median_s(lambda: load_audio(path), rounds)
        total["resample_22k_to_16k"] += _median_s(lambda: resample(y22, 22_050, musicnn.SAMPLE_RATE), rounds)
        total["decode_16k"] += _median_s(lambda: load_audio(path, config=MUSICNN), rounds)
        total["musicnn"] += _median_s(lambda: embed_samples(y22, 22_050, net=net), min(rounds, 2))
    return {k: 1000 * v / len(paths) for k, v in total.items()}


#: What each comparison sets beside today's path (twice resampled, float32): the once-resampled input with the
#: segments an analysis cuts at 22.05 kHz, the same cutting its own segments on the 16 kHz samples (as a corpus's
#: embedding would, with no 22.05 kHz audio), and today's input in int8 (for scale).
CASES = {"once_vs_twice": "once", "once_own_segments_vs_twice": "once_own_segments", "int8_vs_float32": "twice_int8"}


def _readings(path: Path, model, net32, net8) -> dict[str, dict[str, np.ndarray]]:
    """MusiCNN's log-mel, embeddings, tags and the model's track probabilities on each path."""
    y22, y16 = load_audio(path).samples, load_audio(path, config=MUSICNN).samples
    cut = segment_bounds(len(y22), n_segments=20, sample_rate=22_050)
    inputs = {"twice": (y22, 22_050, net32, None), "once": (y16, 16_000, net32, cut),
              "once_own_segments": (y16, 16_000, net32, None), "twice_int8": (y22, 22_050, net8, None)}
    out = {}
    for name, (y, sr, net, segments) in inputs.items():
        emb = embed_samples(y, sr, net=net, segments=segments)
        track, _ = model.front_end.predict(model.net, emb.vectors)
        mel = musicnn.logmel(y if sr == musicnn.SAMPLE_RATE else resample(y, sr, musicnn.SAMPLE_RATE))
        out[name] = {"logmel": mel, "vectors": emb.vectors, "tags": emb.tags, "track": track}
    return out


def differences(paths: list[Path], model, net32, net8) -> dict[str, dict[str, float]]:
    """Largest absolute differences from today's path (:data:`CASES`), and the files whose top emotion changes."""
    keys = ("logmel", "vectors", "tags", "track")
    diff = {case: dict.fromkeys(keys, 0.0) for case in CASES}
    flips = dict.fromkeys(CASES, 0)
    for path in paths:
        r = _readings(path, model, net32, net8)
        for case, other in CASES.items():
            for key in keys:
                a, b = r["twice"][key], r[other][key]
                n = min(len(a), len(b))  # the log-mel: frame counts may differ by one
                diff[case][key] = max(diff[case][key], float(np.abs(a[:n] - b[:n]).max()))
            flips[case] += int(np.argmax(r["twice"]["track"]) != np.argmax(r[other]["track"]))
    for case in diff:
        diff[case]["top_emotion_changes"] = flips[case]
        diff[case]["files"] = len(paths)
    return diff


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4, help="files of each corpus (Emotify, 4Q)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import torch

    from mer.model_files import load_model

    torch.set_num_threads(1)
    model = load_model(ROOT / "models" / "default")
    net32 = musicnn.load_musicnn(precision="float32", kernel="direct")
    net8 = musicnn.load_musicnn(precision="int8")
    real = _real_files(args.files)
    with tempfile.TemporaryDirectory() as tmp:
        kinds = {"22.05 kHz Ogg (Emotify, 4Q)": real, "44.1 kHz WAV (the same, upsampled; a full-band sine in noise)":
                 _at_44k(real, Path(tmp))}
        report = {kind: {"timing_ms": timings(paths, args.rounds, net32), **differences(paths, model, net32, net8)}
                  for kind, paths in kinds.items()}
    report["cpu"] = torch.backends.cpu.get_cpu_capability()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"CPU capability: {report['cpu']}; one torch thread")
    for kind, r in report.items():
        if kind == "cpu":
            continue
        t = r["timing_ms"]
        print(f"\n{kind}: {r['once_vs_twice']['files']} files; milliseconds per file, medians of {args.rounds}")
        print(f"  decode to 22.05 kHz {t['decode_22k']:.1f} ms, then on to 16 kHz {t['resample_22k_to_16k']:.1f} ms "
              f"(twice: {t['decode_22k'] + t['resample_22k_to_16k']:.1f} ms); decode straight to 16 kHz "
              f"{t['decode_16k']:.1f} ms; MusiCNN on the file {t['musicnn']:.0f} ms")
        for case in CASES:
            d = r[case]
            print(f"  {case}: max |Δ| log-mel {d['logmel']:.2e}, embedding {d['vectors']:.2e}, tags {d['tags']:.2e}, "
                  f"track probabilities {d['track']:.2e}; top emotion changes on {d['top_emotion_changes']} of "
                  f"{d['files']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
