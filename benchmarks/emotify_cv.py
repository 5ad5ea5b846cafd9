"""Cross-validated comparison of CNN-LSTM variants on real Emotify: figures, not tests.

``python benchmarks/emotify_cv.py [--root ../shared/emotify] [--variants default,dominant,...] [--folds 5] [--select]``

Variants named ``musicnn …`` read the MusiCNN embeddings: the bundled ones of the 320 tracks
(``--from-audio`` computes them from ``--root`` instead: the same numbers up to float16), except the
fine-tuned ones, which need the audio of ``--root`` (the last block's inputs are not bundled); the others
are the log-mel front-end trained from scratch on the audio.

Every variant runs through :func:`mer.training.train.cross_validate`: 5 folds grouped by track and stratified by
dominant emotion; each fold's oversampling, normalisation statistics, early stopping and learning-rate
decisions see that fold's training tracks only (early stopping an inner 15 % of them). Printed per
variant: fold-wise and pooled track accuracy, macro-F1, top-3 and listener agreement, beside the
baselines on the same folds, and the wall time. Results are appended as JSON lines to ``--log``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from mer.config import ModelConfig, TrainConfig  # noqa: E402
from mer.training.train import cross_validate, load_training_data  # noqa: E402

#: name → (TrainConfig changes, ModelConfig changes) relative to the defaults.
# Each recipe names every setting it depends on, so a name stays true when the defaults move.
MUSICNN_T = {"lr": 1e-3, "weight_decay": 1e-2, "mixup": 0.0, "segment_target": "shares", "segment_weight": 0.3,
             "track_weights": "none"}
MUSICNN_M = {"front_end": "musicnn", "dropout": 0.5}
LOGMEL_T = {"lr": 3e-3, "weight_decay": 1e-3, "mixup": 0.0,  # the log-mel model's recipe (models/logmel)
            "segment_target": "shares", "segment_weight": 0.3, "track_weights": "none"}
LOGMEL = {"front_end": "logmel", "dropout": 0.1}


def _musicnn(train: dict, model: dict) -> tuple[dict, dict]:
    return {**MUSICNN_T, **train}, {**MUSICNN_M, **model}


def _logmel(train: dict, model: dict | None = None) -> tuple[dict, dict]:
    return {**LOGMEL_T, **train}, {**LOGMEL, **(model or {})}


#: name → (TrainConfig changes, ModelConfig changes) relative to the defaults.
VARIANTS: dict[str, tuple[dict, dict]] = {
    "musicnn dropout 0.1, lr 3e-3, wd 1e-3": _musicnn({"lr": 3e-3, "weight_decay": 1e-3}, {"dropout": 0.1}),
    "musicnn dropout 0.3, lr 1e-3, wd 1e-3": _musicnn({"weight_decay": 1e-3}, {"dropout": 0.3}),
    "musicnn dropout 0.5, lr 1e-3, wd 1e-2": _musicnn({}, {}),
    "musicnn dropout 0.5, lr 3e-4, wd 1e-2": _musicnn({"lr": 3e-4}, {}),
    "musicnn dropout 0.5, lr 3e-4, wd 0.1": _musicnn({"lr": 3e-4, "weight_decay": 0.1}, {}),
    "musicnn dropout 0.5, lr 1e-3, wd 1e-2, mixup 0.4": _musicnn({"mixup": 0.4}, {}),
    "musicnn dropout 0.5, lr 1e-3, wd 1e-2, no track statistics": _musicnn({}, {"track_statistics": False}),
    "musicnn dropout 0.5, lr 1e-3, wd 1e-2, class-weighted": _musicnn({"class_weighted": True}, {}),
    "musicnn dropout 0.5, lr 1e-3, wd 1e-2, mixup 0.4, fine-tuned last block": _musicnn({"mixup": 0.4}, {"fine_tune": True}),
    "musicnn dropout 0.5, lr 1e-3, wd 1e-2, mixup 0.4, dominant segment target":
        _musicnn({"mixup": 0.4, "segment_target": "dominant"}, {}),
    "musicnn dropout 0.5, lr 1e-3, wd 1e-2, mixup 0.4, dominant segment target, segment weight 1":
        _musicnn({"mixup": 0.4, "segment_target": "dominant", "segment_weight": 1.0}, {}),
    "musicnn dropout 0.5, lr 1e-3, wd 1e-2, mixup 0.4, segment weight 1": _musicnn({"mixup": 0.4, "segment_weight": 1.0}, {}),
    "musicnn dropout 0.5, lr 1e-3, wd 1e-2, mixup 0.4, pooled segment target":
        _musicnn({"mixup": 0.4, "segment_target": "pooled"}, {}),
    "musicnn dropout 0.5, lr 1e-3, wd 1e-2, mixup 0.4, pooled segment target, segment weight 1":
        _musicnn({"mixup": 0.4, "segment_target": "pooled", "segment_weight": 1.0}, {}),
    "musicnn dropout 0.5, lr 1e-3, wd 1e-2, mixup 0.4, pooled segment target, segment weight 3":
        _musicnn({"mixup": 0.4, "segment_target": "pooled", "segment_weight": 3.0}, {}),
    "musicnn dropout 0.5, lr 1e-3, wd 1e-2, mixup 0.4, pooled segment target, segment weight 1, tracks weighted by "
    "listeners": _musicnn({"mixup": 0.4, "segment_target": "pooled", "segment_weight": 1.0,
                          "track_weights": "responses"}, {}),
    "musicnn dropout 0.5, lr 1e-3, wd 1e-2, mixup 0.4, pooled segment target, segment weight 1, tracks weighted by "
    "sqrt listeners": _musicnn({"mixup": 0.4, "segment_target": "pooled", "segment_weight": 1.0,
                               "track_weights": "sqrt_responses"}, {}),
    "default": _logmel({}),
    "dominant target": _logmel({"target": "dominant"}),
    "class-weighted": _logmel({"class_weighted": True}),
    "random oversampling of tracks": _logmel({"sampler": "random"}),
    "SMOTE on training tracks": _logmel({"sampler": "smote"}),
    "mixup 0.4": _logmel({"mixup": 0.4}),
    "genre multi-task": _logmel({"genre_weight": 0.3}),
    "no segment loss": _logmel({"segment_weight": 0.0}),
    "no augmentation": _logmel({"augment": False}),
    "dropout 0.3, lr 1e-3": _logmel({"lr": 1e-3}, {"dropout": 0.3}),
    "genre multi-task, dominant target": _logmel({"genre_weight": 0.3, "target": "dominant"}),
    "no track statistics path": _logmel({}, {"track_statistics": False}),
}
#: The shipped model's recipe (the defaults): the MusiCNN variant with the lowest mean inner-validation loss
#: (ties within 1e-4, the early-stopping tolerance, go to the timeline that follows spliced validation tracks best).
VARIANTS["musicnn default"] = ({}, {})


def _parse_variants(text: str) -> list[str]:
    """Comma-separated variant names, some of which hold commas themselves: at each place the longest name wins."""
    parts, names, i = [p.strip() for p in text.split(",")], [], 0
    while i < len(parts):
        j = next((j for j in range(len(parts), i, -1) if ", ".join(parts[i:j]) in VARIANTS), i + 1)
        names.append(", ".join(parts[i:j]))
        i = j
    return [n for n in names if n]


def _row(name: str, m) -> str:
    return (f"  {name:<28} acc {m.accuracy:.3f}  macro-F1 {m.macro_f1:.3f}  top-3 {m.top3:.3f}  "
            f"agreement {m.agreement:.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=ROOT.parent / "shared" / "emotify")
    p.add_argument("--from-audio", action="store_true", help="musicnn variants: embed --root's audio (cached)")
    p.add_argument("--variants", default="musicnn default", help=f"comma-separated, from: {'; '.join(VARIANTS)}; or 'all'")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="most epochs per fit (a quick smoke run: 1)")
    p.add_argument("--log", type=Path, default=ROOT / "benchmarks" / "emotify_cv.jsonl")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    p.add_argument("--select", action="store_true",
                   help="also score the nested choice: in each fold, the variant with the lowest inner-validation loss")
    args = p.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    names = list(VARIANTS) if args.variants == "all" else _parse_variants(args.variants)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s) {unknown}")

    inputs = lambda c: (c.front_end, c.fine_tune)  # noqa: E731  (variants that read the same inputs)
    if args.select and len({inputs(ModelConfig(**VARIANTS[n][1])) for n in names}) > 1:
        p.error("--select compares variants of one front-end (their inputs differ)")
    datasets = {}
    runs = {}
    for name in names:
        train_changes, model_changes = VARIANTS[name]
        config = TrainConfig(cv_folds=args.folds, seed=args.seed, epochs=args.epochs, **train_changes)
        model_config = ModelConfig(**model_changes)
        kind = inputs(model_config)
        if kind not in datasets:  # fine-tuning reads the last block's inputs: only the audio has them
            bundled = kind == ("musicnn", False) and not args.from_audio
            root = None if bundled else args.root
            datasets[kind] = load_training_data(root, model_config=model_config)[0]
            print(f"{len(datasets[kind])} tracks ({kind} inputs {datasets[kind].X.shape[2:]}, "
                  f"{'bundled' if root is None else root}); {args.folds}-fold CV grouped by track, seed {args.seed}")
        data = datasets[kind]
        t0 = time.perf_counter()
        report, nets = cross_validate(data, config, model_config, description=f"{len(data)} Emotify tracks")
        runs[name] = (report, nets)
        seconds = time.perf_counter() - t0
        print(f"\n{name} ({seconds / 60:.1f} min)")
        for k, f in enumerate(report.folds):
            print(_row(f"fold {k + 1} (best epoch {f.best_epoch})", f.metrics))
        print(_row("pooled, this CNN-LSTM", report.pooled))
        for base, m in report.baselines.items():
            print(_row(f"pooled, {base}", m))
        mean, std = report.fold_accuracy
        variation = _timeline_variation(data, nets, config)
        inner = _inner_validation_ce(data, nets, config)
        splice, splice_val = _splice_test(data, nets, config), _splice_test(data, nets, config, "val")
        print(f"  fold accuracy {mean:.3f} ± {std:.3f}; timeline variation (out of fold: mean over tracks of the "
              f"std across segments, averaged over emotions) {variation:.4f}; inner-validation loss (unweighted) "
              f"{float(np.mean(inner)):.5f}")
        print(f"  splices of two test tracks (first half of A, second of B; {splice['pairs']} pairs, dominant "
              f"emotions differ): the timeline follows {splice['follows']:.1%} of them; contrast "
              f"{splice['contrast']:.4f}; segments on their own track's side {splice['segment_accuracy']:.1%} "
              f"(a still timeline: 50 %); on the inner validation tracks {splice_val['segment_accuracy']:.1%}")
        with open(args.log, "a") as f:
            f.write(json.dumps({"variant": name, "train": dataclasses.asdict(config),
                                "model": dataclasses.asdict(model_config), "seconds": seconds,
                                "timeline_variation": variation, "splice": splice, "splice_val": splice_val,
                                "inner_validation_loss": inner,
                                "report": report.to_dict()}) + "\n")
    if args.select:
        _nested_choice(data, runs, TrainConfig(cv_folds=args.folds, seed=args.seed), args.log)


def _timeline_variation(data, nets: list, config: TrainConfig) -> float:
    """How much the timeline moves: each test track's segment probabilities from its fold's model, their std
    across the segments, averaged over emotions and tracks."""
    import numpy as np

    from mer.data.folds import track_folds
    from mer.model import predict_tracks

    folds = track_folds(data.labels, n_folds=config.cv_folds, val_fraction=config.val_fraction, seed=config.seed)
    stds = [predict_tracks(net, data.X[f.test])[1].std(axis=1).mean(axis=1) for net, f in zip(nets, folds)]
    return float(np.concatenate(stds).mean())


def _splice_test(data, nets: list, config: TrainConfig, part: str = "test") -> dict:
    """Does the timeline follow the music? Out of fold, every ordered pair (A, B) of a fold's test tracks whose
    dominant emotions a and b differ is spliced (A's first half of segments, then B's second half) and run
    through the fold's model. It *follows* the splice when the first half's mean segment probabilities put a
    above b and the second half's put b above a. The contrast is (first − second half) of p(a) plus
    (second − first half) of p(b), averaged over pairs: 0 for a timeline that does not move. The segment
    accuracy is the share of segments that rank their own track's emotion above the other track's: exactly
    50 % for a timeline that does not move (right in one half, wrong in the other), 50 % by chance.

    ``part="val"`` splices each fold's inner validation tracks instead (inside its training tracks), for
    choosing a variant without the test folds."""
    import numpy as np

    from mer.data.folds import track_folds
    from mer.model import predict_tracks

    folds = track_folds(data.labels, n_folds=config.cv_folds, val_fraction=config.val_fraction, seed=config.seed)
    follows, contrast, sides = [], [], []
    for net, fold in zip(nets, folds):
        rows = getattr(fold, part)
        a, b = (g.ravel() for g in np.meshgrid(rows, rows, indexing="ij"))
        keep = data.labels[a] != data.labels[b]
        a, b = a[keep], b[keep]
        half = data.X.shape[1] // 2
        seg = np.concatenate([predict_tracks(net, np.concatenate([data.X[a[i:i + 256], :half],
                                                                 data.X[b[i:i + 256], half:]], axis=1))[1]
                              for i in range(0, len(a), 256)])  # in chunks: a fine-tuner's inputs are 50 kB a segment
        first, second = seg[:, :half].mean(axis=1), seg[:, half:].mean(axis=1)
        ea, eb, rows = data.labels[a], data.labels[b], np.arange(len(a))
        pa, pb = seg[rows, :, ea], seg[rows, :, eb]  # (pairs, segments)
        sides.append(np.concatenate([pa[:, :half] > pb[:, :half], pb[:, half:] > pa[:, half:]], axis=1))
        follows.append((first[rows, ea] > first[rows, eb]) & (second[rows, eb] > second[rows, ea]))
        contrast.append(first[rows, ea] - second[rows, ea] + second[rows, eb] - first[rows, eb])
    follows, contrast = np.concatenate(follows), np.concatenate(contrast)
    return {"pairs": int(len(follows)), "follows": float(follows.mean()), "contrast": float(contrast.mean()),
            "segment_accuracy": float(np.concatenate(sides).mean())}


def _inner_validation_ce(data, nets: list, config: TrainConfig) -> list[float]:
    """Each fold model's track-head cross-entropy on its fold's inner validation tracks against their vote shares,
    unweighted: comparable across variants whatever their track weights (their own early-stopping losses are not)."""
    import numpy as np

    from mer.data.folds import track_folds
    from mer.model import predict_tracks

    folds = track_folds(data.labels, n_folds=config.cv_folds, val_fraction=config.val_fraction, seed=config.seed)
    return [float(-(data.targets[f.val] * np.log(predict_tracks(net, data.X[f.val])[0])).sum(axis=1).mean())
            for net, f in zip(nets, folds)]


def _nested_choice(data, runs: dict, config: TrainConfig, log: Path) -> None:
    """Score choosing a variant per fold by its (unweighted) inner-validation loss: the choice never sees the test
    fold."""
    import numpy as np

    from mer.data.folds import track_folds
    from mer.model import predict_tracks
    from mer.training.evaluate import score

    folds = track_folds(data.labels, n_folds=config.cv_folds, val_fraction=config.val_fraction, seed=config.seed)
    probs = np.zeros((len(data), data.shares.shape[1]))
    chosen = []
    for k, fold in enumerate(folds):
        val_loss = {name: _inner_validation_ce(data, nets, config)[k] for name, (_, nets) in runs.items()}
        best = min(val_loss, key=val_loss.get)
        chosen.append(best)
        probs[fold.test] = predict_tracks(runs[best][1][k], data.X[fold.test])[0]
        print(f"  fold {k + 1}: inner-validation loss " + ", ".join(f"{n} {v:.4f}" for n, v in val_loss.items())
              + f" -> {best}")
    m = score(data.labels, probs=probs, shares=data.shares)
    print(_row("pooled, nested choice", m))
    with open(log, "a") as f:
        f.write(json.dumps({"variant": "nested choice of " + ", ".join(runs), "chosen": chosen,
                            "report": {"pooled": m.to_dict()}}) + "\n")


if __name__ == "__main__":
    main()
