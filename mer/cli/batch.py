"""``python -m mer batch | library query | similar | journey``: a whole library analysed, then navigated by
emotion."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from ..choices import Engine, SimilarBy, TrackStatus
from ..emotions import EMOTIONS
from ..progress import BatchDone, Cancelled, ProgressPrinter, Unit, emit
from ..run_config import RunOptions
from .common import add_model_argument, load_model_arg, print_json

__all__ = ["add_batch_command", "add_library_commands"]


def _cmd_batch(args: argparse.Namespace) -> int:
    import signal

    from ..batch import BatchCancelled, run_batch

    options = RunOptions(workers=args.workers, chunk_size=args.chunk_size)
    progress = ProgressPrinter(style=None if args.no_progress else "bar", json_lines=args.progress_json,
                                unit=Unit.FILE)
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.update(flag=True))  # keep what is done, then stop
    try:
        s = run_batch(args.inputs, args.out, model=load_model_arg(args.model) if args.model else None,
                      engine=args.engine, workers=options.workers, address=args.address, chunk_size=options.chunk_size,
                      csv=args.csv, retry_errors=args.retry_errors, within=args.within,
                      should_stop=lambda: stop["flag"], on_progress=progress)
    except BatchCancelled as e:
        if args.progress_json:
            emit(Cancelled(str(e)))
        print(f"error: {e}", file=sys.stderr)
        return 130
    finally:
        progress.close()
    print(f"done: {s.analysed} analysed, {s.skipped} skipped, {s.failed} failed in {s.seconds:.1f} s "
          f"({s.files_per_s:.2f} files/s, {s.engine} engine); {s.tracks} tracks ({s.ok_tracks} ok) in {s.out}",
          file=sys.stderr)
    if args.progress_json:
        emit(BatchDone(analysed=s.analysed, skipped=s.skipped, failed=s.failed, tracks=s.tracks,
                       ok_tracks=s.ok_tracks, seconds=round(s.seconds, 3), out=str(s.out)))
    if s.ok_tracks == 0:
        print(f"error: none of the {s.tracks} files could be analysed; the reasons are in the error column of "
              f"{s.out / 'tracks.parquet'}", file=sys.stderr)
        return 2
    return 0


def _print_tracks(tracks: list, extra: Callable[[object], str] | None = None) -> None:
    """One line per track: top emotion and probability, the nine probabilities, the learned valence and arousal
    where any track has them, then the path (last: any character may be in it)."""
    from ..emotions import emotion_label

    va = any(getattr(item, "track", item).point is not None for item in tracks)
    head = "".join(f"{e[:6]:>7}" for e in EMOTIONS) + (f"{'valen':>7}{'arous':>7}" if va else "")
    print(f"{'top emotion':<18} {'p':>5}{head}  {'' if extra is None else 'distance  '}path")
    for item in tracks:
        t = getattr(item, "track", item)
        probs = "".join(f"{p:>7.2f}" for p in t.probabilities)
        if va:
            probs += "".join(f"{x:>+7.2f}" for x in t.point) if t.point else f"{'—':>7}" * 2
        top = emotion_label(t.top_emotion) if t.top_emotion else "(failed)"
        p = f"{t.top_probability:.2f}" if t.top_probability is not None else "—"
        shown = t.path if t.path.isprintable() else ascii(t.path)  # a control character or undecodable byte
        print(f"{top:<18} {p:>5}{probs}  {'' if extra is None else extra(item)}{shown}")


def _catalogue(batch: Path):
    """The batch's :class:`~mer.batch.catalogue.Catalogue` (an older batch upgraded once, with a progress line), its
    notes (and why it has no valence and arousal, where it has none) printed on stderr."""
    from ..batch.catalogue import Catalogue

    cat = Catalogue(batch, on_progress=ProgressPrinter())
    for note in [*cat.notes, *([cat.va_reason] if cat.va_reason else [])]:
        print(f"note: {note}", file=sys.stderr)
    return cat


def _cmd_library_query(args: argparse.Namespace) -> int:
    from ..batch.query import TrackQuery

    query = TrackQuery(emotions=tuple(args.emotion) if args.emotion else None, min_probability=args.min_probability,
                       status=args.status, text=args.text or "", valence_min=args.valence_min,
                       valence_max=args.valence_max, arousal_min=args.arousal_min, arousal_max=args.arousal_max)
    cat = _catalogue(args.batch)
    if args.limit < 1:
        from ..batch import BatchError

        raise BatchError(f"--limit must be at least 1, got {args.limit}.")
    ordered = cat.order(cat.select(query), args.sort, descending=False if args.ascending else None)
    tracks = [cat.track(int(r)) for r in ordered[: args.limit]]
    if args.json:
        return print_json({"batch": str(args.batch), "total": len(ordered), "rows": [t.to_dict() for t in tracks]})
    _print_tracks(tracks)
    print(f"{len(tracks):,} of {len(ordered):,} matching tracks (of {cat.size:,})", file=sys.stderr)
    return 0


def _cmd_library_similar(args: argparse.Namespace) -> int:
    from ..batch.similar import similar

    cat = _catalogue(args.batch)
    near = similar(cat, args.path, top=args.top, by=args.by)
    if args.json:
        return print_json({"batch": str(args.batch), "path": args.path, "by": args.by,
                            "similar": [n.to_dict() for n in near]})
    _print_tracks(near, lambda n: f"{n.distance:8.3f}  ")
    for n in near:
        shared = n.shared_tags if args.by == SimilarBy.SOUND else n.shared
        what = "tags" if args.by == SimilarBy.SOUND else "emotions"
        print(f"{what} shared with {n.track.path}: {', '.join(shared) or 'none of the top ones'}", file=sys.stderr)
    return 0


def _journey_ends(args: argparse.Namespace) -> None:
    """Refuse a journey's ends that do not make one: exactly one start and one end, and a point at the end of a
    journey across the plane."""
    from ..batch import BatchError

    if (args.start is None) == (args.from_point is None):
        raise BatchError("Say where the journey starts: --from EMOTION|PATH, or --from-point V A (valence and "
                         "arousal from -1 to 1), one of them.")
    if (args.to is None) == (args.to_point is None):
        raise BatchError("Say where the journey ends: --to EMOTION, or --to-point V A (valence and arousal from -1 "
                         "to 1), one of them.")
    if args.from_point is not None and args.to is not None:
        raise BatchError("A journey from a point of the valence–arousal plane ends at a point too: give --to-point V "
                         "A (or start at an emotion or a track with --from).")


def _cmd_library_journey(args: argparse.Namespace) -> int:
    from ..batch.journey import check_point, journey, journey_start, plane_journey
    from ..batch.playlist import m3u_target, write_m3u

    _journey_ends(args)
    for name, point in (("--from-point", args.from_point), ("--to-point", args.to_point)):
        if point is not None:
            check_point(point, name)
    cat = _catalogue(args.batch)
    if args.m3u:
        m3u_target(args.m3u, cat.path)  # refused before the work, not after
    if args.to_point is not None:
        start = args.start if args.from_point is None else args.from_point
        trip = plane_journey(cat, start, args.to_point, steps=args.steps)
    else:
        trip = journey(cat, args.to, steps=args.steps, **journey_start(cat, args.start))
    written = write_m3u([s.track for s in trip.steps], args.m3u, cat.path) if args.m3u else None
    if args.json:
        return print_json({"batch": str(args.batch), **trip.to_dict(), "m3u": None if written is None else str(written)})
    _print_tracks(list(trip.steps), lambda s: f"{s.change:8.3f}  ")
    where = "on the valence–arousal plane" if trip.points else "in the nine probabilities"
    print(f"{len(trip.steps)} steps from {trip.start} to {trip.target} (the distance column: the change from the "
          f"step before, {where})" + (f"; playlist written to {written}" if written else ""), file=sys.stderr)
    return 0


def add_library_commands(sub) -> None:
    """``python -m mer library query | similar | journey``: navigation of a finished batch by emotion."""
    lib = sub.add_parser("library", help="a finished batch by emotion: query, similar tracks, journeys")
    lsub = lib.add_subparsers(dest="library_command", required=True, metavar="ACTION")
    p = lsub.add_parser("query", help="the tracks a filter keeps, sorted")
    p.add_argument("batch", type=Path, metavar="BATCH", help="a folder written by `python -m mer batch`")
    p.add_argument("--emotion", action="append", default=None, metavar="E",
                   help="keep tracks whose top emotion is E (repeatable; default any)")
    p.add_argument("--min-probability", type=float, default=0.0, metavar="P", help="top probability at least P")
    p.add_argument("--text", default=None, metavar="T", help="T occurs in the path (any case)")
    p.add_argument("--status", default=TrackStatus.OK, choices=(*TrackStatus, "all"), help="(default ok)")
    for name in ("valence", "arousal"):
        for end, word in (("min", "at least"), ("max", "at most")):
            p.add_argument(f"--{name}-{end}", type=float, default=None, metavar="X",
                           help=f"the track's learned {name} {word} X (-1 to 1), where the batch has it")
    p.add_argument("--sort", default="top_probability", metavar="COLUMN",
                   help="an emotion, top_probability (default), valence, arousal, duration_s, path, file or folder")
    p.add_argument("--ascending", action="store_true", help="lowest first (numbers are sorted highest first)")
    p.add_argument("--limit", type=int, default=20, help="rows printed (default 20)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_library_query)
    p = lsub.add_parser("similar", help="the tracks nearest to one by emotion profile (probabilities and timeline "
                                        "shape), or by sound (what MusiCNN hears)")
    p.add_argument("batch", type=Path, metavar="BATCH")
    p.add_argument("path", metavar="PATH", help="a track's path as the batch stored it")
    p.add_argument("--top", type=int, default=10, help="how many (default 10, at most 1,000)")
    p.add_argument("--by", choices=tuple(SimilarBy), default=SimilarBy.EMOTION,
                   help="emotion profile (default), or sound: MusiCNN's 50 tags averaged over the track, where the "
                        "batch stores them (batches of MusiCNN models)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_library_similar)
    p = lsub.add_parser("journey", help="a playlist moving step by step from one mood to another: between emotions, "
                                        "or between points of the valence–arousal plane")
    p.add_argument("batch", type=Path, metavar="BATCH")
    p.add_argument("--from", dest="start", default=None, metavar="EMOTION|PATH", help="where the listener is")
    p.add_argument("--from-point", type=float, nargs=2, default=None, metavar=("V", "A"),
                   help="or a point of the learned valence–arousal plane (each -1 to 1), where the batch has them")
    p.add_argument("--to", default=None, metavar="EMOTION", help="the mood to reach")
    p.add_argument("--to-point", type=float, nargs=2, default=None, metavar=("V", "A"),
                   help="or the point of the plane to reach: the steps follow the line there, each the nearest track "
                        "by valence and arousal")
    p.add_argument("--steps", type=int, default=8, help="tracks in the playlist (default 8, at most 1,000)")
    p.add_argument("--m3u", type=Path, default=None, metavar="FILE",
                   help="also write an extended M3U playlist (under the working folder, the data folder or "
                        "MER_LIBRARY_ROOTS; never into /, the home folder or the batch folder)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_library_journey)


def add_batch_command(sub) -> None:
    """``python -m mer batch INPUT... --out FOLDER``."""
    p = sub.add_parser("batch", help="analyse a whole library into Parquet tables (resumable, all cores or Ray)")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="folder (recursive), audio file, glob such as 'music/**/*.mp3', or text file of paths")
    p.add_argument("--out", type=Path, required=True, help="output folder (tracks.parquet, segments.parquet)")
    add_model_argument(p)
    p.add_argument("--engine", choices=tuple(Engine), default=Engine.LOCAL,
                   help="local: one process per core (default); ray: a Ray cluster")
    p.add_argument("--address", default=None, metavar="HOST:PORT", help="Ray cluster (default: start a local Ray)")
    p.add_argument("--workers", type=int, default=None, help="processes or Ray actors (default: all cores)")
    p.add_argument("--chunk-size", type=int, default=256, help="files per atomically written chunk (default 256)")
    p.add_argument("--csv", action="store_true", help="also write tracks.csv and segments.csv")
    p.add_argument("--retry-errors", action="store_true", help="analyse files that failed last time again")
    p.add_argument("--within", action="append", type=Path, default=None, metavar="DIR",
                   help="read only files whose real path lies under DIR (repeatable; others get an error row)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--progress-json", action="store_true", help="one JSON object per line on stdout")
    p.set_defaults(func=_cmd_batch)
