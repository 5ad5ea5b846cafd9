"""``python -m mer``: the command line, as thin as the app's pages.

Every :class:`~mer.errors.MerError` ends the program with exit status 2 and
one line on stderr that begins with ``error:``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .choices import CHOICES, SAMPLERS
from .config import ModelConfig, TrainConfig
from .emotions import EMOTIONS
from .run_config import RunOptions
from .errors import MerError, MerWarning
from .progress import Epoch, ProgressPrinter

__all__ = ["main"]


_print_progress = ProgressPrinter()  # one line on stderr


def _finite(obj: object) -> object:
    """``obj`` with every float that is not a finite number (NaN, ±inf) as None, in dicts, lists and tuples."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _print_json(obj: object) -> int:
    """One JSON object on stdout, valid JSON always (a number that is not finite is ``null``); exit status 0."""
    json.dump(_finite(obj), sys.stdout, allow_nan=False)
    print()
    return 0


def _cmd_spectra(args: argparse.Namespace) -> int:
    from .audio.decode import load_audio
    from .audio.features import track_features

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

    from .data.demo import DemoConfig, generate_demo_corpus

    config = DemoConfig(tracks=args.tracks, seconds=args.seconds, seed=args.seed)
    t0 = time.perf_counter()
    root = generate_demo_corpus(args.out, config, on_progress=_print_progress)
    print(f"wrote {config.tracks} synthetic tracks of {config.seconds:g} s (seed {config.seed}) to {root} "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def _corpus_root(args: argparse.Namespace, bundled: bool = False) -> Path | None:
    """``--root``, else the bundled Emotify where the command can use it (``bundled``), else the demo corpus."""
    if args.root is not None or bundled:
        return args.root
    from .data.demo import ensure_demo_corpus

    return ensure_demo_corpus(on_progress=_print_progress)


def _cmd_data_stats(args: argparse.Namespace) -> int:
    from .emotions import emotion_label
    from .data.stats import dataset_stats

    options = RunOptions(seed=args.seed, k_neighbors=args.k)
    stats = dataset_stats(args.root, sampler=args.sampler, k_neighbors=options.k_neighbors, seed=options.seed,
                          allow_missing=args.allow_missing, samples=args.samples, on_progress=_print_progress)
    for m in stats.missing[:5]:
        print(f"warning: no audio for track {m.track_id} ({m.expected}); left out of the class balance",
              file=sys.stderr)
    if len(stats.missing) > 5:
        print(f"warning: {len(stats.missing) - 5} more tracks without audio left out", file=sys.stderr)
    if args.json:
        return _print_json(stats.to_dict())
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
    from .data.emotify import fetch_emotify
    from .settings import emotify_url

    corpus = fetch_emotify(args.out, base_url=args.url or emotify_url(), on_progress=_print_progress)
    print(f"Emotify ready in {args.out}: {len(corpus)} tracks", file=sys.stderr)
    return 0


def _load_model_arg(path: Path | None, device: str = "cpu"):
    from .device import resolve_device
    from .registry import load_active, load_model

    torch_device = resolve_device(device)  # before loading: a missing GPU is named before any work
    model = load_model(path) if path is not None else load_active()
    if model.fallback_reason:
        print(f"warning: {model.fallback_reason}", file=sys.stderr)
    model.net.to(torch_device)
    return model


def _cmd_analyze(args: argparse.Namespace) -> int:
    from .analyze import analyze
    from .emotions import emotion_label

    # a line on stderr for people at a terminal; stdout stays the table or the JSON alone
    progress = ProgressPrinter(stream=sys.stderr) if sys.stderr.isatty() else None
    result = analyze(args.file, model=_load_model_arg(args.model, args.device), on_progress=progress)
    if args.json:
        return _print_json(result.to_dict(str(args.file)))
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


def _add_config_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--flag`` per field of a config dataclass, all defaulting to None (= keep the config's value)."""
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                                help=f"(default: {default})")
        elif isinstance(default, tuple):
            parser.add_argument(flag, type=lambda v: tuple(int(x) for x in v.split(",")), default=None,
                                metavar="N,N,...", help=f"(default: {','.join(map(str, default))})")
        else:
            parser.add_argument(flag, type=type(default), default=None, choices=CHOICES.get(f.name),
                                help=f"(default: {default})")


def _configs_from_args(args: argparse.Namespace) -> tuple[TrainConfig, ModelConfig]:
    """The run's configs: ``--config FILE`` if given, then every flag given on the command line over it."""
    from .run_config import read_run_config

    train_config, model_config = read_run_config(args.config) if args.config else (TrainConfig(), ModelConfig())
    overrides = lambda cls: {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)  # noqa: E731
                             if getattr(args, f.name) is not None}
    return dataclasses.replace(train_config, **overrides(TrainConfig)), dataclasses.replace(model_config, **overrides(ModelConfig))


#: Torch threads of a training run unless ``--threads`` says otherwise. On 2 cores with another process keeping one
#: busy, a 0.1 s epoch of the default model took 16 s on torch's 2 threads (each step waits for the thread that
#: is not running) and stayed at 0.1 s on one; one thread also gives the same numbers on any machine.
TRAIN_THREADS = 1


def _cmd_train(args: argparse.Namespace) -> int:
    import signal

    from .errors import TrainingCancelled
    from .frontend import front_end
    from .settings import threads
    from .training.train import train

    options = RunOptions(threads=args.threads or threads() or TRAIN_THREADS)
    train_config, model_config = _configs_from_args(args)
    from .config import VAConfig
    from .run_config import read_va_config

    va_config = read_va_config(args.config) if args.config else VAConfig()
    stop = {"flag": False}

    def _request_stop(signum, frame):  # finish the current batch, then stop cleanly
        stop["flag"] = True

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)

    def on_epoch(entry: Epoch) -> None:
        print(entry.line(), file=sys.stderr, flush=True)
        if args.progress_json:
            print(json.dumps({"event": "epoch", **entry.to_dict()}), flush=True)

    on_progress = ProgressPrinter(json_lines=args.progress_json)

    _set_threads(options)
    try:
        root = _corpus_root(args, bundled=front_end(model_config).bundled_refusal() is None)
        path = train(root, config=train_config, model_config=model_config, out=args.out,
                     replace_existing=args.replace, on_progress=on_progress, on_epoch=on_epoch,
                     should_stop=lambda: stop["flag"], device=args.device, va_config=va_config)
    except TrainingCancelled as e:
        if args.progress_json:
            print(json.dumps({"event": "cancelled", "message": str(e)}), flush=True)
        print(f"error: {e}", file=sys.stderr)
        return 130
    _print_card_lines(path)
    print(f"model written to {path}", file=sys.stderr)
    if args.progress_json:
        print(json.dumps({"event": "done", "model": str(path)}), flush=True)
    return 0


def _set_threads(options: RunOptions) -> None:
    """Torch's threads in this process, where the command line sets them."""
    if options.threads is not None:
        import torch

        torch.set_num_threads(options.threads)


def _print_card_lines(path: Path) -> None:
    from .registry import load_metrics

    metrics = load_metrics(path)
    if metrics is None:
        return
    if metrics.cv:
        cv, (mean, std) = metrics.cv, metrics.cv.fold_accuracy
        print(f"cross-validated ({cv.n_folds} folds by track, {cv.data}): track accuracy {cv.pooled.accuracy:.3f} "
              f"(folds {mean:.3f} ± {std:.3f}), macro-F1 {cv.pooled.macro_f1:.3f}, top-3 {cv.pooled.top3:.3f}, "
              f"listener agreement {cv.pooled.agreement:.3f}", file=sys.stderr)
        for name, m in cv.baselines.items():
            print(f"  baseline {name}: track accuracy {m.accuracy:.3f}, macro-F1 {m.macro_f1:.3f}, listener "
                  f"agreement {m.agreement:.3f}", file=sys.stderr)
    for rung in metrics.ladder.values():
        print(f"ladder {rung.protocol}: {rung.accuracy:.3f} of {rung.unit}s — {rung.description}", file=sys.stderr)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .training.evaluate import evaluate_corpus

    model = _load_model_arg(args.model, args.device)
    root = _corpus_root(args)
    result = evaluate_corpus(model, root, on_progress=_print_progress)
    if args.json:
        return _print_json({"model": model.name, "root": str(root), **result.to_dict()})
    print(f"model '{model.name}' on {result.n} tracks it was not trained on (track level): accuracy "
          f"{result.accuracy:.3f}, macro-F1 {result.macro_f1:.3f}, top-3 {result.top3:.3f}, listener agreement "
          f"{result.agreement:.3f}")
    return 0


def _cmd_card(args: argparse.Namespace) -> int:
    from .card import card_summary, precision_note
    from .registry import load_card, load_ladder, load_metrics

    model = _load_model_arg(args.model)
    metrics = load_metrics(model.path)
    if args.json:
        from .results import ModelMetrics

        return _print_json(card_summary(model.name, model.record, metrics or ModelMetrics(cv=None), load_ladder()))
    print(load_card(model.path))
    note = precision_note(model.recorded_precision)
    if note:
        print(f"\n{note}")
    return 0


def _cmd_ladder(args: argparse.Namespace) -> int:
    from .training.ladder import LADDER_STUDY_CONFIG, run_ladder
    from .results import FAMILIES, FAMILY_LABELS, STUDY_PUBLISHED
    from .registry import save_ladder
    from .training.study import StudyConfig

    options = RunOptions(seed=args.seed, workers=args.workers, threads=args.threads)
    _set_threads(options)
    families = FAMILIES if args.family == "both" else (args.family,)
    last = {"stage": ""}

    def on_epoch(entry: Epoch) -> None:  # one line per fit, rewritten by each of its epochs
        if entry.stage != last["stage"] and last["stage"]:
            print(file=sys.stderr)
        last["stage"] = entry.stage
        end = "\n" if entry.early_stop or entry.epoch == entry.epochs else ""
        print(f"\r{entry.line()}", end=end, file=sys.stderr, flush=True)

    report = run_ladder(families, root=args.root, allow_missing=args.allow_missing, seed=options.seed,
                        workers=options.workers, study_config=StudyConfig() if args.full_width else LADDER_STUDY_CONFIG,
                        on_progress=ProgressPrinter(), on_epoch=on_epoch)
    if args.save:
        print(f"ladder saved to {save_ladder(report)}", file=sys.stderr)
    if args.json:
        return _print_json(report.to_dict())
    print(f"{report.data}, seed {report.seed}; the study publishes {STUDY_PUBLISHED:.1%} (segments, its protocol)")
    for fam in report.families.values():
        print(f"{FAMILY_LABELS[fam.family]} ({fam.seconds:.0f} s):")
        for r in fam.rungs.values():
            print(f"  {r.protocol:<8} {r.accuracy:6.1%} of {r.n_test} {r.unit}s")
        for f in fam.fits:
            print(f"  {f.stage}: {f.epochs} epochs (best {f.best_epoch}), {f.seconds:.0f} s")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from .registry import active_name, list_models, set_active

    if args.activate:
        set_active(args.activate)
        print(f"active model: {args.activate}")
        return 0
    active = active_name()
    for m in list_models():
        if m.broken:
            print(f"! {m.name:<28} broken: {m.broken}")
            continue
        acc = f"CV track acc {m.cv_accuracy:.3f}" if m.cv_accuracy is not None else "no cross-validation"
        print(f"{'*' if m.name == active else ' '} {m.name:<28} {m.created:<26} {m.front_end:<8} {acc:<22} "
              f"{m.trained_on}")
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    import signal

    from .batch import BatchCancelled, run_batch

    options = RunOptions(workers=args.workers, chunk_size=args.chunk_size)
    progress = ProgressPrinter(style=None if args.no_progress else "bar", json_lines=args.progress_json, unit="file")
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.update(flag=True))  # keep what is done, then stop
    try:
        s = run_batch(args.inputs, args.out, model=_load_model_arg(args.model) if args.model else None,
                      engine=args.engine, workers=options.workers, address=args.address, chunk_size=options.chunk_size,
                      csv=args.csv, retry_errors=args.retry_errors, within=args.within,
                      should_stop=lambda: stop["flag"], on_progress=progress)
    except BatchCancelled as e:
        if args.progress_json:
            print(json.dumps({"event": "cancelled", "message": str(e)}), flush=True)
        print(f"error: {e}", file=sys.stderr)
        return 130
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


def _print_tracks(tracks: list, extra: Callable[[object], str] | None = None) -> None:
    """One line per track: top emotion and probability, the nine probabilities, the learned valence and arousal
    where any track has them, then the path (last: any character may be in it)."""
    from .emotions import emotion_label

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
    """The batch's :class:`~mer.batch.query.Catalogue` (an older batch upgraded once, with a progress line), its
    notes (and why it has no valence and arousal, where it has none) printed on stderr."""
    from .batch.query import Catalogue

    cat = Catalogue(batch, on_progress=ProgressPrinter())
    for note in [*cat.notes, *([cat.va_reason] if cat.va_reason else [])]:
        print(f"note: {note}", file=sys.stderr)
    return cat


def _cmd_library_query(args: argparse.Namespace) -> int:
    from .batch.query import TrackQuery

    query = TrackQuery(emotions=tuple(args.emotion) if args.emotion else None, min_probability=args.min_probability,
                       status=args.status, text=args.text or "", valence_min=args.valence_min,
                       valence_max=args.valence_max, arousal_min=args.arousal_min, arousal_max=args.arousal_max)
    cat = _catalogue(args.batch)
    if args.limit < 1:
        from .batch import BatchError

        raise BatchError(f"--limit must be at least 1, got {args.limit}.")
    ordered = cat.order(cat.select(query), args.sort, descending=False if args.ascending else None)
    tracks = [cat.track(int(r)) for r in ordered[: args.limit]]
    if args.json:
        return _print_json({"batch": str(args.batch), "total": len(ordered), "rows": [t.to_dict() for t in tracks]})
    _print_tracks(tracks)
    print(f"{len(tracks):,} of {len(ordered):,} matching tracks (of {cat.size:,})", file=sys.stderr)
    return 0


def _cmd_library_similar(args: argparse.Namespace) -> int:
    from .batch.navigate import similar

    cat = _catalogue(args.batch)
    near = similar(cat, args.path, top=args.top, by=args.by)
    if args.json:
        return _print_json({"batch": str(args.batch), "path": args.path, "by": args.by,
                            "similar": [n.to_dict() for n in near]})
    _print_tracks(near, lambda n: f"{n.distance:8.3f}  ")
    for n in near:
        shared = n.shared_tags if args.by == "sound" else n.shared
        what = "tags" if args.by == "sound" else "emotions"
        print(f"{what} shared with {n.track.path}: {', '.join(shared) or 'none of the top ones'}", file=sys.stderr)
    return 0


def _journey_ends(args: argparse.Namespace) -> None:
    """Refuse a journey's ends that do not make one: exactly one start and one end, and a point at the end of a
    journey across the plane."""
    from .batch import BatchError

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
    from .batch.navigate import check_point, journey, m3u_target, plane_journey, write_m3u

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
        trip = journey(cat, args.start, args.to, steps=args.steps)
    written = write_m3u([s.track for s in trip.steps], args.m3u, cat.path) if args.m3u else None
    if args.json:
        return _print_json({"batch": str(args.batch), **trip.to_dict(), "m3u": None if written is None else str(written)})
    _print_tracks(list(trip.steps), lambda s: f"{s.change:8.3f}  ")
    where = "on the valence–arousal plane" if trip.points else "in the nine probabilities"
    print(f"{len(trip.steps)} steps from {trip.start} to {trip.target} (the distance column: the change from the "
          f"step before, {where})" + (f"; playlist written to {written}" if written else ""), file=sys.stderr)
    return 0


def _add_library_commands(sub) -> None:
    """``python -m mer library query | similar | journey``: navigation of a finished batch by emotion."""
    lib = sub.add_parser("library", help="a finished batch by emotion: query, similar tracks, journeys")
    lsub = lib.add_subparsers(dest="library_command", required=True, metavar="ACTION")
    p = lsub.add_parser("query", help="the tracks a filter keeps, sorted")
    p.add_argument("batch", type=Path, metavar="BATCH", help="a folder written by `python -m mer batch`")
    p.add_argument("--emotion", action="append", default=None, metavar="E",
                   help="keep tracks whose top emotion is E (repeatable; default any)")
    p.add_argument("--min-probability", type=float, default=0.0, metavar="P", help="top probability at least P")
    p.add_argument("--text", default=None, metavar="T", help="T occurs in the path (any case)")
    p.add_argument("--status", default="ok", metavar="{ok,error,all}", help="(default ok)")
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
    p.add_argument("--by", choices=("emotion", "sound"), default="emotion",
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


def _add_data_commands(sub) -> None:
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


def _add_device_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", metavar="{auto,cpu,cuda,mps}",
                   help="where the network computes (default: cpu; auto takes a GPU where there is one; not saved "
                        "with the model)")


def _add_model_commands(sub) -> None:
    """``python -m mer train | evaluate | card``."""
    p = sub.add_parser("train", help="cross-validate and train a CNN-LSTM on an Emotify-layout corpus",
                       description="Every setting of TrainConfig and ModelConfig has a flag; --config FILE reads "
                                   "them from JSON ({\"train\": {...}, \"model\": {...}}) and flags override it.")
    p.add_argument("--root", type=Path, default=None,
                   help="corpus folder (default: the bundled Emotify embeddings; the demo corpus with "
                        "--front-end logmel)")
    p.add_argument("--out", type=Path, default=None, help="model directory to write (default: models/track-<time>)")
    p.add_argument("--config", type=Path, default=None, help="JSON file with the run's configs")
    _add_config_arguments(p, TrainConfig)
    _add_config_arguments(p, ModelConfig)
    p.add_argument("--threads", type=int, default=None,
                   help=f"torch threads of this process (default: $MER_THREADS, else {TRAIN_THREADS}: mer's networks "
                        "are small, and torch's threads wait for each other at every step when another program uses "
                        "a core)")
    _add_device_argument(p)
    p.add_argument("--replace", action="store_true", help="replace --out if it exists")
    p.add_argument("--progress-json", action="store_true", help="one JSON object per line on stdout")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="score a model on a corpus it was not trained on (track level)")
    p.add_argument("--model", type=Path, default=None, help="model directory (default: the active model)")
    p.add_argument("--root", type=Path, default=None, help="corpus folder (default: the demo corpus)")
    p.add_argument("--json", action="store_true")
    _add_device_argument(p)
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("card", help="the model card: data, cross-validated metrics, leakage ladder")
    p.add_argument("--model", type=Path, default=None, help="model directory (default: the active model)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_card)

    p = sub.add_parser("ladder", help="the leakage ladder: the study's recipe and mer's model under three protocols",
                       description="Trains each family under the study's protocol (SMOTE on all segments, then a "
                                   "random segment split), a segment split and track-grouped cross-validation, on "
                                   "the same tracks, splits and seed.")
    p.add_argument("--family", choices=("study", "mer", "both"), default="both")
    p.add_argument("--root", type=Path, default=None,
                   help="corpus folder with audio (default: the bundled features of Emotify's 320 tracks)")
    p.add_argument("--allow-missing", action="store_true", help="leave out tracks whose audio is missing")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", action="store_true",
                   help="write the result to models/ladder.json (what the Model page and the card show)")
    p.add_argument("--full-width", action="store_true",
                   help="the study's network at its own width (128-256-512 filters; about 6 times slower than the "
                        "default quarter width)")
    p.add_argument("--workers", type=int, default=None,
                   help="the study recipe's fits side by side, one per process (default: one per core); the numbers "
                        "do not depend on it")
    p.add_argument("--threads", type=int, default=None, help="torch threads of this process (default: torch's)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_ladder)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mer", description="Music emotion recognition (CNN-LSTM, GEMS-9).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("spectra", help="per-segment FFT spectra of an audio file")
    p.add_argument("file", type=Path, help="WAV, MP3, FLAC or OGG file")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_cmd_spectra)

    _add_data_commands(sub)

    p = sub.add_parser("analyze", help="20-segment emotion timeline of an audio file")
    p.add_argument("file", type=Path)
    p.add_argument("--model", type=Path, default=None, help="model directory (default: the active model)")
    p.add_argument("--json", action="store_true")
    _add_device_argument(p)
    p.set_defaults(func=_cmd_analyze)

    _add_model_commands(sub)
    _add_library_commands(sub)
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
    p.add_argument("--within", action="append", type=Path, default=None, metavar="DIR",
                   help="read only files whose real path lies under DIR (repeatable; others get an error row)")
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
    except BrokenPipeError:  # `python -m mer analyze FILE | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
