"""``python -m mer data demo | stats | fetch-emotify``: the demo corpus, a corpus's class balance, Emotify's
download."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..choices import SAMPLERS
from ..emotions import EMOTIONS
from ..run_config import RunOptions
from .common import print_json, print_progress

__all__ = ["add_data_commands"]


def _cmd_data_demo(args: argparse.Namespace) -> int:
    import time

    from ..data.demo import DemoConfig, generate_demo_corpus

    config = DemoConfig(tracks=args.tracks, seconds=args.seconds, seed=args.seed)
    t0 = time.perf_counter()
    root = generate_demo_corpus(args.out, config, on_progress=print_progress)
    print(f"wrote {config.tracks} synthetic tracks of {config.seconds:g} s (seed {config.seed}) to {root} "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def _cmd_data_stats(args: argparse.Namespace) -> int:
    from ..data.stats import dataset_stats
    from ..emotions import emotion_label

    options = RunOptions(seed=args.seed, k_neighbors=args.k)
    stats = dataset_stats(args.root, sampler=args.sampler, k_neighbors=options.k_neighbors, seed=options.seed,
                          allow_missing=args.allow_missing, samples=args.samples, on_progress=print_progress)
    for m in stats.missing[:5]:
        print(f"warning: no audio for track {m.track_id} ({m.expected}); left out of the class balance",
              file=sys.stderr)
    if len(stats.missing) > 5:
        print(f"warning: {len(stats.missing) - 5} more tracks without audio left out", file=sys.stderr)
    if args.json:
        return print_json(stats.to_dict())
    a, b = stats.annotations, stats.balance
    print(f"{stats.name}: {a.n_tracks} tracks, {a.n_responses:,} responses ({a.source})")
    print(f"{'emotion':<18} {'tracks':>6}   training fold ({b.n_tracks} tracks with features, {b.train_tracks} in "
          f"training): segments before → after {b.sampler_label}")
    for e in EMOTIONS:
        print(f"{emotion_label(e):<18} {a.tracks_per_emotion[e]:>6}   {b.before[e]:>6} → {b.after[e]:<6}")
    print(f"imbalance ratio (majority/minority): {a.imbalance_ratio:.1f} over tracks; training fold "
          f"{b.imbalance_ratio_before:.2f} before, {b.imbalance_ratio_after:.2f} after")
    ties = a.tied_track_ids
    print(f"ties at the top (label goes to the earlier emotion): {len(ties)} tracks"
          + (f" — {', '.join(map(str, ties[:12]))}{' …' if len(ties) > 12 else ''}" if ties else ""))
    print(f"listener agreement (share who ticked the dominant emotion): mean {a.agreement.mean():.3f}; median gap "
          f"to the runner-up {a.median_margin:.3f}")
    print(f"samples: {b.features}")
    for note in b.notes:
        print(f"note: {note}")
    return 0


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    from ..data.fetch import fetch_emotify
    from ..settings import emotify_url

    corpus = fetch_emotify(args.out, base_url=args.url or emotify_url(), on_progress=print_progress)
    print(f"Emotify ready in {args.out}: {len(corpus)} tracks", file=sys.stderr)
    return 0


def add_data_commands(sub) -> None:
    """``python -m mer data demo | stats | fetch-emotify``."""
    data = sub.add_parser("data", help="datasets: demo corpus, class balance, Emotify download")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = dsub.add_parser("demo", help="generate the synthetic demo corpus in Emotify's layout")
    p.add_argument("--out", type=Path, required=True,
                   help="folder to write: new, empty, or an earlier demo corpus (replaced); any other is refused")
    p.add_argument("--tracks", type=int, default=240, help="number of tracks (default 240)")
    p.add_argument("--seconds", type=float, default=60.0, help="seconds per track (default 60)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.set_defaults(func=_cmd_data_demo)
    p = dsub.add_parser("stats", help="tracks per emotion, ties, agreement; class balance before/after oversampling")
    p.add_argument("--root", type=Path, default=None,
                   help="Emotify-layout folder with audio (default: the bundled Emotify annotations and features)")
    p.add_argument("--allow-missing", action="store_true",
                   help="go on without the tracks of data.csv whose audio is missing (they are listed)")
    p.add_argument("--sampler", choices=SAMPLERS, default="smote")
    p.add_argument("--k", type=int, default=5, help="k_neighbors for SMOTE-style samplers")
    p.add_argument("--samples", choices=("logmel", "musicnn"), default="logmel",
                   help="bundled Emotify: oversample the log-mel summaries or the MusiCNN embeddings of the segments")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and the sampler")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_data_stats)
    p = dsub.add_parser("fetch-emotify", help="download and unpack the official Emotify dataset")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--url", default=None,
                   help="base URL (default: $MER_EMOTIFY_URL, else the official Utrecht University address)")
    p.set_defaults(func=_cmd_data_fetch)
