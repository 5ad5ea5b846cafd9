"""The valence–arousal head judged on 4Q: grouped cross-validation, its variants, and spliced clips.

    python benchmarks/valence_cv.py [--variants] [--splices N] [--root ../shared/4q]

1. The shipped recipe (:func:`mer.training.valence.evaluate_head`): 5 artist-grouped folds, C chosen inside each
   training set, beside the pooled logistic regression and the GEMS projection (the bundled default model).
2. ``--variants``: the same protocol for other choices, each nested the same way: other MusiCNN layers for each
   side; clips weighted by ``PQuad``; Emotify's tracks added as weak labels (each dominant emotion's side of the
   circumplex projection) at weights 0.25 and 1.
3. ``--splices N``: N splices of two 30 s clips from opposite quadrants (Q1 then Q3, Q3 then Q1, Q2 then Q4, Q4
   then Q2), both from a test fold's artists, the head fitted on the other folds: the share of the 20 segments
   on their own clip's side, for valence and arousal, with and without the two segments at the join. Needs the
   audio (``--root``).

Prints tables; the figures in docs/model.md come from here.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mer.choices import VAInput
from mer.config import VAConfig
from mer.data.fourq import FourQ, load_fourq  # noqa: E402
from mer.emotions import EMOTIONS
from mer.training import valence as va  # noqa: E402


def _row(name: str, s) -> str:
    return (f"| {name} | {s.valence_accuracy:.3f} | {s.valence_auc:.3f} | {s.arousal_accuracy:.3f} | "
            f"{s.arousal_auc:.3f} | {s.quadrant_accuracy:.3f} |")


def recipe(config: VAConfig) -> None:
    from mer.model import predict_tracks
    from mer.model_files import load_model

    data, pooled = load_fourq(config.layers), load_fourq(("mean_pool",)).X
    net = load_model(Path(__file__).resolve().parent.parent / "models" / "default").net
    t0 = time.perf_counter()
    m = va.evaluate_head(data, config, pooled=pooled.mean(axis=1), gems=lambda X: predict_tracks(net, X)[0],
                         gems_inputs=pooled)
    print(f"## {m.protocol} ({time.perf_counter() - t0:.1f} s)\n\n| model | valence | AUC | arousal | AUC | quadrant |\n"
          "|---|---|---|---|---|---|")
    print(_row(f"head (valence {config.valence_input}, arousal {config.arousal_input})", m.head))
    for name, s in m.baselines.items():
        print(_row(name, s))
    print(f"\nfolds' quadrant accuracy {[round(a, 3) for a in m.fold_quadrant]}; segments alone: valence "
          f"{m.segments[0]:.3f}, arousal {m.segments[1]:.3f}; Brier {m.brier[0]:.3f} / {m.brier[1]:.3f}\n")


def _weak_emotify(layers: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Emotify's tracks with the circumplex side of their dominant emotion as weak valence and arousal labels."""
    from mer.circumplex import COORDINATES
    from mer.data.embedded import BUNDLED_LAYER_FILES, load_bundled_embeddings
    from mer.data.emotify import load_annotations

    parts = [load_bundled_embeddings(BUNDLED_LAYER_FILES[name], layers=(name,)) for name in layers]
    tracks = load_annotations().tracks.set_index("track_id").loc[parts[0].track_id]
    dominant = tracks[list(EMOTIONS)].to_numpy(dtype=np.float64).argmax(axis=1)
    side = COORDINATES[dominant] >= 0
    X = np.concatenate([e.vectors.astype(np.float64) for e in parts], axis=2)
    return X, side[:, 0].astype(float), side[:, 1].astype(float)


def _evaluate_with(data: FourQ, config: VAConfig, *, weights: np.ndarray | None = None,
                   extra: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None) -> tuple[float, float, float]:
    """Nested grouped CV with clip weights or extra weakly labelled tracks in every training set (never tested)."""
    folds = va.grouped_folds(data.quadrant, data.artist, config.cv_folds, config.seed)
    clip = np.zeros((len(data), 2))
    inputs = (VAInput(config.valence_input), VAInput(config.arousal_input))
    for tr, te in folds:
        for side, y in enumerate((data.valence, data.arousal)):
            cols = va.input_columns(data.layers, inputs[side].layers)
            best, best_loss = None, np.inf
            inner = va.grouped_folds(data.quadrant[tr], data.artist[tr], config.inner_folds, config.seed)
            for c in config.c_grid:
                loss = np.mean([va._log_loss(y[tr][b], va._clip_logits(
                    data.X[tr][b], _fit_weighted(data, tr[a], y, c, side, weights, extra, cols)).mean(axis=1))
                    for a, b in inner])
                if loss < best_loss:
                    best, best_loss = c, loss
            model = _fit_weighted(data, tr, y, best, side, weights, extra, cols)
            clip[te, side] = va._sigmoid(va._clip_logits(data.X[te], model).mean(axis=1))
    s = va._scores(clip[:, 0], clip[:, 1], data)
    return s.valence_accuracy, s.arousal_accuracy, s.quadrant_accuracy


def _fit_weighted(data: FourQ, idx: np.ndarray, y: np.ndarray, c: float, side: int, weights, extra, cols):
    """The head's regression on the clips ``idx`` weighted by ``weights``, with ``extra`` weakly labelled tracks."""
    X3, t = data.X[idx], y[idx].astype(float)
    w = weights[idx] if weights is not None else np.ones(len(idx))
    if extra is not None:
        ex, ev, ea, weight = extra
        X3, t, w = np.concatenate([X3, ex]), np.r_[t, (ev, ea)[side]], np.r_[w, np.full(len(ex), weight)]
    return va._fit(X3, t, c, cols, w)


def variants(config: VAConfig) -> None:
    from mer.threads import one_blas_thread

    with one_blas_thread():
        _variants(config)


def _variants(config: VAConfig) -> None:
    data = load_fourq(config.layers)
    print("## Variants, each by the same nested grouped cross-validation\n\n| variant | valence | arousal | quadrant |"
          "\n|---|---|---|---|")
    rows = {"valence penultimate, arousal penultimate+mean_pool (shipped)": _evaluate_with(data, config)}
    for v, a in (("penultimate", "penultimate"), ("mean_pool", "mean_pool"),
                 ("penultimate+mean_pool", "penultimate+mean_pool")):
        rows[f"valence {v}, arousal {a}"] = _evaluate_with(
            data, dataclasses.replace(config, valence_input=VAInput(v), arousal_input=VAInput(a)))
    rows["clips weighted by PQuad"] = _evaluate_with(data, config, weights=data.confidence)
    ex, ev, ea = _weak_emotify(config.layers)
    for w in (0.25, 1.0):
        rows[f"+ Emotify weak labels, weight {w:g}"] = _evaluate_with(data, config, extra=(ex, ev, ea, w))
    for name, (v, a, q) in rows.items():
        print(f"| {name} | {v:.3f} | {a:.3f} | {q:.3f} |")
    print()


def splices(config: VAConfig, root: Path, n: int) -> None:
    from mer.audio.decode import load_audio
    from mer.audio.embeddings import embed_samples
    from mer.valence import smooth_logits, to_unit

    data = load_fourq(config.layers)
    files = {int(p.stem[2:]): p for p in root.glob("Q*/MT*.*")}
    folds = va.grouped_folds(data.quadrant, data.artist, config.cv_folds, config.seed)
    rng = np.random.default_rng(config.seed)
    right: dict[tuple[str, int], list[np.ndarray]] = {}
    pairs = [(1, 3), (3, 1), (2, 4), (4, 2)]
    t0 = time.perf_counter()
    for k in range(n):
        if k % (n // len(folds) or 1) == 0 or k == 0:
            tr, te = folds[min(len(folds) - 1, k * len(folds) // n)]
            head, _ = va.fit_head(data, config, tr)
        first, second = pairs[k % 4]
        a, b = (rng.choice(te[data.quadrant[te] == q]) for q in (first, second))
        clips = [load_audio(files[int(data.song[i])]) for i in (a, b)]
        y = np.concatenate([c.samples[:30 * c.sample_rate] for c in clips])
        z = head.logits(embed_samples(y, clips[0].sample_rate, extra_layers=head.layers).extra)
        own = np.repeat([a, b], 10)
        for half in (0, 1, 2):
            values = to_unit(smooth_logits(z, half))
            for axis, truth in ((0, data.valence), (1, data.arousal)):
                right.setdefault(("valence" if axis == 0 else "arousal", half), []).append(
                    (values[:, axis] >= 0) == truth[own].astype(bool))
        print(f"\r[{k + 1}/{n}] splices", end="", file=sys.stderr)
    print(file=sys.stderr)
    print(f"## {n} splices of two 30 s clips from opposite quadrants (Q1-Q3, Q3-Q1, Q2-Q4, Q4-Q2), artists unseen by "
          f"the head ({time.perf_counter() - t0:.0f} s)\n\n| context (segments each side) | valence | arousal | "
          "valence, 2 segments at the join left out | arousal, same |\n|---|---|---|---|---|")
    far = np.r_[np.arange(9), np.arange(11, 20)]
    for half in (0, 1, 2):
        v, a = np.array(right[("valence", half)]), np.array(right[("arousal", half)])
        print(f"| {half} | {v.mean():.3f} | {a.mean():.3f} | {v[:, far].mean():.3f} | {a[:, far].mean():.3f} |")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", action="store_true")
    parser.add_argument("--splices", type=int, default=0)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared" / "4q")
    parser.add_argument("--no-recipe", action="store_true")
    args = parser.parse_args()
    config = VAConfig()
    if not args.no_recipe:
        recipe(config)
    if args.variants:
        variants(config)
    if args.splices:
        splices(config, args.root, args.splices)
    return 0


if __name__ == "__main__":
    sys.exit(main())
