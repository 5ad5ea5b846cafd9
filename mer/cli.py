"""``python -m mer``: the command line, as thin as the app's pages.

Every :class:`~mer.errors.MerError` ends the program with exit status 2 and
one line on stderr that begins with ``error:``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .config import EMOTIONS, PROTOCOLS, SAMPLERS, TrainConfig
from .errors import MerError, MerWarning

__all__ = ["main"]


class _ProgressLine:
    """A progress line on stderr: rewritten in place on a terminal, every 10 % otherwise."""

    def __init__(self) -> None:
        self._last: tuple[str, int] | None = None

    def __call__(self, done: int, total: int, message: str) -> None:
        pct = int(100 * done / total) if total else 100
        tty = sys.stderr.isatty()
        step = (message, pct // 10)
        if not tty and step == self._last and done < total:
            return
        self._last = step
        end = "\r" if tty and done < total else "\n"
        print(f"[{done}/{total} {pct:3d}%] {message}", end=end, file=sys.stderr, flush=True)


_print_progress = _ProgressLine()


def _print_json(obj: object) -> int:
    """One JSON object on stdout; exit status 0."""
    json.dump(obj, sys.stdout)
    print()
    return 0


def _cmd_spectra(args: argparse.Namespace) -> int:
    from .audio import load_audio
    from .features import track_features

    audio = load_audio(args.file)
    feats = track_features(audio)
    seg, spec = feats.segments, feats.spectra
    if args.json:
        out = {
            "file": str(args.file),
            "duration_s": round(audio.duration_s, 4),
            "sample_rate": audio.sample_rate,
            "segments": [
                {
                    "index": i,
                    "start_s": round(float(seg.start_s[i]), 4),
                    "end_s": round(float(seg.end_s[i]), 4),
                    "freqs_hz": [round(float(f), 3) for f in spec.freqs_hz],
                    "magnitude_db": [round(float(m), 2) for m in spec.magnitude_db[i]],
                    "dominant_hz": round(float(spec.dominant_hz[i]), 3),
                    "centroid_hz": round(float(spec.centroid_hz[i]), 2),
                    "rms_dbfs": round(float(spec.rms_dbfs[i]), 2),
                }
                for i in range(len(seg))
            ],
        }
        return _print_json(out)
    print(f"{audio.name}: {audio.duration_s:.2f} s, {audio.source_sample_rate} Hz {audio.source_format}, "
          f"{audio.source_channels} ch → {audio.sample_rate} Hz mono, {len(seg)} segments")
    print(f"{'seg':>3}  {'start–end (s)':>15}  {'dominant (Hz)':>13}  {'centroid (Hz)':>13}  {'RMS (dBFS)':>10}")
    for i in range(len(seg)):
        span = f"{seg.start_s[i]:.2f}–{seg.end_s[i]:.2f}"
        print(f"{i + 1:>3}  {span:>15}  {spec.dominant_hz[i]:>13.1f}  {spec.centroid_hz[i]:>13.1f}  "
              f"{spec.rms_dbfs[i]:>10.1f}")
    return 0


def _cmd_data_demo(args: argparse.Namespace) -> int:
    import time

    from .demo import DemoConfig, generate_demo_corpus

    config = DemoConfig(tracks=args.tracks, seconds=args.seconds, seed=args.seed)
    t0 = time.perf_counter()
    root = generate_demo_corpus(args.out, config, on_progress=_print_progress)
    print(f"wrote {config.tracks} synthetic tracks of {config.seconds:g} s (seed {config.seed}) to {root} "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def _corpus_root(args: argparse.Namespace) -> Path:
    if args.root is not None:
        return args.root
    from .demo import ensure_demo_corpus

    return ensure_demo_corpus(on_progress=_print_progress)


def _cmd_data_stats(args: argparse.Namespace) -> int:
    from .stats import corpus_stats

    stats = corpus_stats(_corpus_root(args), sampler=args.sampler, k_neighbors=args.k, seed=args.seed,
                         on_progress=_print_progress)
    if args.json:
        return _print_json(stats)
    print(f"{stats['tracks']} tracks, {stats['segments']} segments; training fold ({stats['protocol']} split, "
          f"seed {args.seed}) oversampled with {stats['sampler']}")
    print(f"{'emotion':<18} {'tracks':>6} {'train segs':>10} {'after':>7}")
    for e in stats["emotions"]:
        print(f"{e:<18} {stats['tracks_per_class'][e]:>6} {stats['segments_per_class_before'][e]:>10} "
              f"{stats['segments_per_class_after'][e]:>7}")
    print(f"imbalance ratio (majority/minority): {stats['imbalance_ratio_before']:.2f} before, "
          f"{stats['imbalance_ratio_after']:.2f} after")
    for note in stats["notes"]:
        print(f"note: {note}")
    return 0


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    from .emotify import EMOTIFY_BASE_URL, fetch_emotify

    corpus = fetch_emotify(args.out, base_url=args.url or EMOTIFY_BASE_URL, on_progress=_print_progress)
    print(f"Emotify ready in {args.out}: {len(corpus)} tracks", file=sys.stderr)
    return 0


def _load_model_arg(path: Path | None):
    from .registry import load_active, load_model

    if path is not None:
        return load_model(path)
    model = load_active()
    if model.fallback_reason:
        print(f"warning: {model.fallback_reason}", file=sys.stderr)
    return model


def _cmd_analyze(args: argparse.Namespace) -> int:
    from .analyze import analyze
    from .config import emotion_label

    result = analyze(args.file, model=_load_model_arg(args.model))
    if args.json:
        return _print_json(result.to_dict(str(args.file)))
    seg = result.features.segments
    print(f"{result.audio.name}: {result.audio.duration_s:.2f} s — model '{result.model_name}' "
          f"({result.model_protocol} protocol, trained on {result.model_trained_on})")
    print(f"{'seg':>3}  {'start–end (s)':>15}  {'top emotion':<18} {'p':>5}   second")
    for i in range(len(seg)):
        order = np.argsort(result.probabilities[i])[::-1]
        span = f"{seg.start_s[i]:.2f}–{seg.end_s[i]:.2f}"
        print(f"{i + 1:>3}  {span:>15}  {emotion_label(EMOTIONS[order[0]]):<18} "
              f"{result.probabilities[i, order[0]]:>5.2f}   {emotion_label(EMOTIONS[order[1]])} "
              f"{result.probabilities[i, order[1]]:.2f}")
    tp = result.track_probabilities
    print(f"track: {emotion_label(result.track_top)} ({tp.max():.2f}); "
          + ", ".join(f"{emotion_label(EMOTIONS[j])} {tp[j]:.2f}" for j in np.argsort(tp)[::-1][1:4]))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    import signal

    from .config import TrainConfig
    from .errors import TrainingCancelled
    from .train import _epoch_line, train

    config = TrainConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, dropout=args.dropout,
                         sampler=args.sampler, k_neighbors=args.k, protocol=args.protocol, seed=args.seed,
                         patience=args.patience, threads=args.threads, augment=not args.no_augment)
    stop = {"flag": False}

    def _request_stop(signum, frame):  # finish the current batch, then stop cleanly
        stop["flag"] = True

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)

    def on_epoch(entry: dict) -> None:
        print(_epoch_line(entry), file=sys.stderr, flush=True)
        if args.progress_json:
            print(json.dumps({"event": "epoch", **entry}), flush=True)

    def on_progress(done: int, total: int, message: str) -> None:
        _print_progress(done, total, message)
        if args.progress_json:
            print(json.dumps({"event": "progress", "done": done, "total": total, "message": message}), flush=True)

    try:
        path = train(_corpus_root(args), config=config, out=args.out, both_protocols=args.both_protocols,
                     replace=args.replace, on_progress=on_progress, on_epoch=on_epoch,
                     should_stop=lambda: stop["flag"])
    except TrainingCancelled as e:
        if args.progress_json:
            print(json.dumps({"event": "cancelled", "message": str(e)}), flush=True)
        print(f"error: {e}", file=sys.stderr)
        return 130
    metrics = json.loads((path / "metrics.json").read_text())
    for proto, m in metrics["test"].items():
        print(f"test ({proto} protocol): segment accuracy {m['segment_accuracy']:.3f}, track accuracy "
              f"{m['track_accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f} on {m['n_tracks']} tracks", file=sys.stderr)
    print(f"model written to {path}", file=sys.stderr)
    if args.progress_json:
        print(json.dumps({"event": "done", "model": str(path)}), flush=True)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_corpus

    result = evaluate_corpus(_load_model_arg(args.model), _corpus_root(args), on_progress=_print_progress)
    if args.json:
        return _print_json(result)
    print(f"model '{result['model']}' on {result['n_tracks']} tracks ({result['n_segments']} segments):")
    print(f"segment accuracy {result['segment_accuracy']:.3f}, track accuracy {result['track_accuracy']:.3f}, "
          f"macro-F1 {result['macro_f1']:.3f}, balanced accuracy {result['balanced_accuracy']:.3f}")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from .registry import active_name, list_models, set_active

    if args.activate:
        set_active(args.activate)
        print(f"active model: {args.activate}")
        return 0
    active = active_name()
    for m in list_models():
        t = m.metrics.get("test", {}).get(m.protocol, {})
        acc = f"track acc {t['track_accuracy']:.3f}" if t else "no metrics"
        print(f"{'*' if m.name == active else ' '} {m.name:<28} {m.created:<26} {m.protocol:<8} {acc}  {m.trained_on}")
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from .batch import run_batch
    from .batch.progress import BatchProgress

    progress = BatchProgress(bar=not args.no_progress, json_lines=args.progress_json)
    try:
        s = run_batch(args.inputs, args.out, model=_load_model_arg(args.model) if args.model else None,
                      engine=args.engine, workers=args.workers, address=args.address, chunk_size=args.chunk_size,
                      csv=args.csv, retry_errors=args.retry_errors, on_progress=progress)
    finally:
        progress.close()
    print(f"done: {s.analysed} analysed, {s.skipped} skipped, {s.failed} failed in {s.seconds:.1f} s "
          f"({s.files_per_s:.2f} files/s, {s.engine} engine); {s.tracks} tracks ({s.ok_tracks} ok) in {s.out}",
          file=sys.stderr)
    if args.progress_json:
        print(json.dumps({"event": "done", "analysed": s.analysed, "skipped": s.skipped, "failed": s.failed,
                          "tracks": s.tracks, "ok_tracks": s.ok_tracks, "seconds": round(s.seconds, 3),
                          "out": str(s.out)}), flush=True)
    if s.ok_tracks == 0:
        print(f"error: none of the {s.tracks} files could be analysed; the reasons are in the error column of "
              f"{s.out / 'tracks.parquet'}", file=sys.stderr)
        return 2
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mer", description="Music emotion recognition (CNN-LSTM, GEMS-9).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("spectra", help="per-segment FFT spectra of an audio file")
    p.add_argument("file", type=Path, help="WAV, MP3, FLAC or OGG file")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_cmd_spectra)

    data = sub.add_parser("data", help="datasets: demo corpus, class balance, Emotify download")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = dsub.add_parser("demo", help="generate the synthetic demo corpus in Emotify's layout")
    p.add_argument("--out", type=Path, required=True, help="folder to write (replaced if it exists)")
    p.add_argument("--tracks", type=int, default=240, help="number of tracks (default 240)")
    p.add_argument("--seconds", type=float, default=60.0, help="seconds per track (default 60)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.set_defaults(func=_cmd_data_demo)
    p = dsub.add_parser("stats", help="class balance before and after oversampling the training fold")
    p.add_argument("--root", type=Path, default=None, help="Emotify-layout folder (default: the demo corpus)")
    p.add_argument("--sampler", choices=SAMPLERS, default="smote")
    p.add_argument("--k", type=int, default=5, help="k_neighbors for SMOTE-style samplers")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and the sampler")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_data_stats)
    p = dsub.add_parser("fetch-emotify", help="download and unpack the official Emotify dataset")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--url", default=None, help="base URL (default: the official Utrecht University address)")
    p.set_defaults(func=_cmd_data_fetch)

    p = sub.add_parser("analyze", help="20-segment emotion timeline of an audio file")
    p.add_argument("file", type=Path)
    p.add_argument("--model", type=Path, default=None, help="model directory (default: the active model)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_analyze)

    d = TrainConfig()
    p = sub.add_parser("train", help="train a CNN-LSTM on an Emotify-layout corpus")
    p.add_argument("--root", type=Path, default=None, help="corpus folder (default: the demo corpus)")
    p.add_argument("--out", type=Path, default=None, help="model directory to write (default: models/<protocol>-<time>)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--dropout", type=float, default=d.dropout)
    p.add_argument("--sampler", choices=SAMPLERS, default=d.sampler)
    p.add_argument("--k", type=int, default=d.k_neighbors, help="k_neighbors for SMOTE-style samplers")
    p.add_argument("--protocol", choices=PROTOCOLS, default=d.protocol)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--patience", type=int, default=d.patience, help="early-stopping patience (epochs)")
    p.add_argument("--threads", type=int, default=d.threads)
    p.add_argument("--no-augment", action="store_true", help="train without pitch/time shifts and masks")
    p.add_argument("--both-protocols", action="store_true", help="also test under the other protocol")
    p.add_argument("--replace", action="store_true", help="replace --out if it exists")
    p.add_argument("--progress-json", action="store_true", help="one JSON object per line on stdout")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="test a model on a corpus")
    p.add_argument("--model", type=Path, default=None, help="model directory (default: the active model)")
    p.add_argument("--root", type=Path, default=None, help="corpus folder (default: the demo corpus)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("models", help="list models, or switch the active one")
    p.add_argument("--activate", metavar="NAME", default=None)
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("batch", help="analyse a whole library into Parquet tables (resumable, all cores or Ray)")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="folder (recursive), audio file, glob such as 'music/**/*.mp3', or text file of paths")
    p.add_argument("--out", type=Path, required=True, help="output folder (tracks.parquet, segments.parquet)")
    p.add_argument("--model", type=Path, default=None, help="model directory (default: the active model)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: one process per core (default); ray: a Ray cluster")
    p.add_argument("--address", default=None, metavar="HOST:PORT", help="Ray cluster (default: start a local Ray)")
    p.add_argument("--workers", type=int, default=None, help="processes or Ray actors (default: all cores)")
    p.add_argument("--chunk-size", type=int, default=256, help="files per atomically written chunk (default 256)")
    p.add_argument("--csv", action="store_true", help="also write tracks.csv and segments.csv")
    p.add_argument("--retry-errors", action="store_true", help="analyse files that failed last time again")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--progress-json", action="store_true", help="one JSON object per line on stdout")
    p.set_defaults(func=_cmd_batch)
    return parser


def _silence_c_stderr() -> None:
    """Send what C libraries write to fd 2 (libmpg123's resync notes) to /dev/null.

    Python's own ``sys.stderr`` keeps writing to the real stderr, so the user
    sees our progress, warnings and the one ``error:`` line, and nothing else.
    """
    try:
        real = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        sys.stderr = os.fdopen(real, "w", buffering=1)
    except OSError:  # no fd 2 (e.g. some service managers): nothing to silence
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if argv is None:  # a real process, not a test calling main()
        _silence_c_stderr()
    func: Callable[[argparse.Namespace], int] = args.func
    warnings.simplefilter("default", MerWarning)
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"  # type: ignore[assignment]
    try:
        return func(args)
    except MerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
