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

from .errors import MerError, MerWarning

__all__ = ["main"]


def _print_progress(done: int, total: int, message: str) -> None:
    """A progress line on stderr, rewritten in place on a terminal."""
    end = "\r" if sys.stderr.isatty() and done < total else "\n"
    pct = 100 * done / total if total else 100
    print(f"[{done}/{total} {pct:3.0f}%] {message}", end=end, file=sys.stderr, flush=True)


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
        json.dump(out, sys.stdout)
        print()
        return 0
    print(f"{audio.name}: {audio.duration_s:.2f} s, {audio.source_sample_rate} Hz {audio.source_format}, "
          f"{audio.source_channels} ch → {audio.sample_rate} Hz mono, {len(seg)} segments")
    print(f"{'seg':>3}  {'start–end (s)':>15}  {'dominant (Hz)':>13}  {'centroid (Hz)':>13}  {'RMS (dBFS)':>10}")
    for i in range(len(seg)):
        span = f"{seg.start_s[i]:.2f}–{seg.end_s[i]:.2f}"
        print(f"{i + 1:>3}  {span:>15}  {spec.dominant_hz[i]:>13.1f}  {spec.centroid_hz[i]:>13.1f}  "
              f"{spec.rms_dbfs[i]:>10.1f}")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mer", description="Music emotion recognition (CNN-LSTM, GEMS-9).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("spectra", help="per-segment FFT spectra of an audio file")
    p.add_argument("file", type=Path, help="WAV, MP3, FLAC or OGG file")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_cmd_spectra)
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
