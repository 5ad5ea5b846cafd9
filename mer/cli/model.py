"""``python -m mer train | evaluate | card | ladder | models``: training, scoring and choosing models."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from ..choices import CHOICES, Family
from ..config import ModelConfig, TrainConfig
from ..progress import Cancelled, Epoch, ProgressPrinter, TrainingDone, emit
from ..run_config import RunOptions
from .common import (
    add_device_argument,
    add_model_argument,
    corpus_root,
    load_model_arg,
    print_json,
    print_progress,
    set_threads,
)

__all__ = ["add_model_commands", "add_models_command", "TRAIN_THREADS"]


def _add_config_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--flag`` per field of a config dataclass, all defaulting to None (= keep the config's value)."""
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        text = f.metadata["help"].replace("%", "%%")  # the Train page's help, the docs' table
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                                help=f"{text} (default: {default})")
        elif isinstance(default, tuple):
            parser.add_argument(flag, type=lambda v: tuple(int(x) for x in v.split(",")), default=None,
                                metavar="N,N,...", help=f"{text} (default: {','.join(map(str, default))})")
        else:
            parser.add_argument(flag, type=type(default), default=None, choices=CHOICES.get(f.name),
                                help=f"{text} (default: {default})")


def _configs_from_args(args: argparse.Namespace) -> tuple[TrainConfig, ModelConfig]:
    """The run's configs: ``--config FILE`` if given, then every flag given on the command line over it."""
    from ..run_config import read_run_config

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

    from ..errors import TrainingCancelled
    from ..frontend import front_end
    from ..settings import threads
    from ..training.train import train

    options = RunOptions(threads=args.threads or threads() or TRAIN_THREADS)
    train_config, model_config = _configs_from_args(args)
    from ..config import VAConfig
    from ..run_config import read_va_config

    va_config = read_va_config(args.config) if args.config else VAConfig()
    stop = {"flag": False}

    def _request_stop(signum, frame):  # finish the current batch, then stop cleanly
        stop["flag"] = True

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)

    def on_epoch(entry: Epoch) -> None:
        print(entry.line(), file=sys.stderr, flush=True)
        if args.progress_json:
            emit(entry)

    on_progress = ProgressPrinter(json_lines=args.progress_json)

    set_threads(options)
    try:
        root = corpus_root(args, bundled=front_end(model_config).bundled_refusal() is None)
        path = train(root, config=train_config, model_config=model_config, out=args.out,
                     replace_existing=args.replace, on_progress=on_progress, on_epoch=on_epoch,
                     should_stop=lambda: stop["flag"], device=args.device, va_config=va_config)
    except TrainingCancelled as e:
        if args.progress_json:
            emit(Cancelled(str(e)))
        print(f"error: {e}", file=sys.stderr)
        return 130
    _print_card_lines(path)
    print(f"model written to {path}", file=sys.stderr)
    if args.progress_json:
        emit(TrainingDone(model=str(path)))
    return 0


def _print_card_lines(path: Path) -> None:
    from ..model_files import load_metrics

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
    from ..training.evaluate import evaluate_corpus

    model = load_model_arg(args.model, args.device)
    root = corpus_root(args)
    result = evaluate_corpus(model, root, on_progress=print_progress)
    if args.json:
        return print_json({"model": model.name, "root": str(root), **result.to_dict()})
    print(f"model '{model.name}' on {result.n} tracks it was not trained on (track level): accuracy "
          f"{result.accuracy:.3f}, macro-F1 {result.macro_f1:.3f}, top-3 {result.top3:.3f}, listener agreement "
          f"{result.agreement:.3f}")
    return 0


def _cmd_card(args: argparse.Namespace) -> int:
    from ..card import card_summary, precision_note
    from ..model_files import load_card, load_metrics
    from ..registry import load_ladder

    model = load_model_arg(args.model)
    metrics = load_metrics(model.path)
    if args.json:
        from ..results import ModelMetrics

        return print_json(card_summary(model.name, model.record, metrics or ModelMetrics(cv=None), load_ladder()))
    print(load_card(model.path))
    note = precision_note(model.recorded_precision)
    if note:
        print(f"\n{note}")
    return 0


def _cmd_ladder(args: argparse.Namespace) -> int:
    from ..registry import save_ladder
    from ..results import FAMILIES, FAMILY_LABELS, STUDY_PUBLISHED
    from ..training.ladder import LADDER_STUDY_CONFIG, run_ladder
    from ..training.study import StudyConfig

    options = RunOptions(seed=args.seed, workers=args.workers, threads=args.threads)
    set_threads(options)
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
        return print_json(report.to_dict())
    print(f"{report.data}, seed {report.seed}; the study publishes {STUDY_PUBLISHED:.1%} (segments, its protocol)")
    for fam in report.families.values():
        print(f"{FAMILY_LABELS[fam.family]} ({fam.seconds:.0f} s):")
        for r in fam.rungs.values():
            print(f"  {r.protocol:<8} {r.accuracy:6.1%} of {r.n_test} {r.unit}s")
        for f in fam.fits:
            print(f"  {f.stage}: {f.epochs} epochs (best {f.best_epoch}), {f.seconds:.0f} s")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from ..registry import active_name, list_models, set_active

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


def add_model_commands(sub) -> None:
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
    add_device_argument(p)
    p.add_argument("--replace", action="store_true", help="replace --out if it exists")
    p.add_argument("--progress-json", action="store_true", help="one JSON object per line on stdout")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="score a model on a corpus it was not trained on (track level)")
    add_model_argument(p)
    p.add_argument("--root", type=Path, default=None, help="corpus folder (default: the demo corpus)")
    p.add_argument("--json", action="store_true")
    add_device_argument(p)
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("card", help="the model card: data, cross-validated metrics, leakage ladder")
    add_model_argument(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_card)

    p = sub.add_parser("ladder", help="the leakage ladder: the study's recipe and mer's model under three protocols",
                       description="Trains each family under the study's protocol (SMOTE on all segments, then a "
                                   "random segment split), a segment split and track-grouped cross-validation, on "
                                   "the same tracks, splits and seed.")
    p.add_argument("--family", choices=(*Family, "both"), default="both")
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


def add_models_command(sub) -> None:
    """``python -m mer models [--activate NAME]``."""
    p = sub.add_parser("models", help="list models, or switch the active one")
    p.add_argument("--activate", metavar="NAME", default=None)
    p.set_defaults(func=_cmd_models)
