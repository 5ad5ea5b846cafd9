"""``python -m mer spectra | analyze``: one audio file's spectra, or its emotion timeline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..emotions import EMOTIONS
from ..progress import ProgressPrinter
from .common import add_device_argument, add_model_argument, load_model_arg, print_json

__all__ = ["add_spectra_command", "add_analyze_command"]


def _cmd_spectra(args: argparse.Namespace) -> int:
    from ..audio.decode import load_audio
    from ..audio.features import track_features

    audio = load_audio(args.file)
    feats = track_features(audio)
    seg, spec = feats.segments, feats.spectra
    if args.json:
        return print_json({"file": str(args.file), "duration_s": round(audio.duration_s, 4),
                           "sample_rate": audio.sample_rate, "segments": feats.spectra_dicts()})
    print(f"{audio.name}: {audio.duration_s:.2f} s, {audio.source_sample_rate} Hz {audio.source_format}, "
          f"{audio.source_channels} ch → {audio.sample_rate} Hz mono, {len(seg)} segments")
    print(f"{'seg':>3}  {'start–end (s)':>15}  {'dominant (Hz)':>13}  {'centroid (Hz)':>13}  {'RMS (dBFS)':>10}")
    for i in range(len(seg)):
        span = f"{seg.start_s[i]:.2f}–{seg.end_s[i]:.2f}"
        print(f"{i + 1:>3}  {span:>15}  {spec.dominant_hz[i]:>13.1f}  {spec.centroid_hz[i]:>13.1f}  "
              f"{spec.rms_dbfs[i]:>10.1f}")
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from ..analyze import analyze
    from ..emotions import emotion_label

    # a line on stderr for people at a terminal; stdout stays the table or the JSON alone
    progress = ProgressPrinter(stream=sys.stderr) if sys.stderr.isatty() else None
    result = analyze(args.file, model=load_model_arg(args.model, args.device), on_progress=progress)
    if args.json:
        return print_json(result.to_dict(str(args.file)))
    seg = result.features.segments
    print(f"{result.audio.name}: {result.duration_s:.2f} s — model '{result.model_name}' "
          f"(trained on {result.model_trained_on})")
    va = result.va_path
    print(f"{'seg':>3}  {'start–end (s)':>15}  {'top emotion':<18} {'p':>5}   {'second':<24}"
          + ("valence arousal" if va else ""))
    for i in range(len(seg)):
        order = np.argsort(result.probabilities[i])[::-1]
        span = f"{seg.start_s[i]:.2f}–{seg.end_s[i]:.2f}"
        second = f"{emotion_label(EMOTIONS[order[1]])} {result.probabilities[i, order[1]]:.2f}"
        print(f"{i + 1:>3}  {span:>15}  {emotion_label(EMOTIONS[order[0]]):<18} "
              f"{result.probabilities[i, order[0]]:>5.2f}   {second:<24}"
              + (f"{va.valence[i]:>+7.2f} {va.arousal[i]:>+7.2f}" if va else "").rstrip())
    tp = result.track_probabilities
    print(f"track: {emotion_label(result.track_top)} ({tp.max():.2f}); "
          + ", ".join(f"{emotion_label(EMOTIONS[j])} {tp[j]:.2f}" for j in np.argsort(tp)[::-1][1:4]))
    print(f"valence {va.track_valence:+.2f}, arousal {va.track_arousal:+.2f}: {va.track_words} (learned from 4Q's "
          "labelled clips; 0 means undecided)" if va else "valence and arousal: this model has no head for them")
    if result.tags is not None:
        print("what the CNN hears (MusiCNN's tags, not emotions): "
              + ", ".join(f"{tag} {p:.2f}" for tag, p in result.top_tags()) + f" (MusiCNN ran in {result.precision})")
    return 0


def add_spectra_command(sub) -> None:
    """``python -m mer spectra FILE``."""
    p = sub.add_parser("spectra", help="per-segment FFT spectra of an audio file")
    p.add_argument("file", type=Path, help="WAV, MP3, FLAC or OGG file")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_cmd_spectra)


def add_analyze_command(sub) -> None:
    """``python -m mer analyze FILE``."""
    p = sub.add_parser("analyze", help="20-segment emotion timeline of an audio file")
    p.add_argument("file", type=Path)
    add_model_argument(p)
    p.add_argument("--json", action="store_true")
    add_device_argument(p)
    p.set_defaults(func=_cmd_analyze)
