"""Training and judging the valence–arousal head on 4Q, with artists kept apart.

The head (:class:`mer.valence.VAHead`) is two L2-regularised logistic regressions on MusiCNN layers of each
segment (:class:`mer.choices.VAInput`: each side reads its own), every segment of a clip labelled with its clip's valence and arousal sign. Its regularisation is chosen
inside the training clips by artist-grouped folds (log loss of the clips' sides), so that in the evaluation
nothing of a test fold reaches training: not the standardisation, not the fit, not the choice of C.

:func:`evaluate_head` runs that recipe in 5 artist-grouped folds (stratified by quadrant) and scores the clips
out of fold, beside two baselines on the same folds: a logistic regression on the clips' pooled MusiCNN
embeddings (nested the same way), and the projection of the GEMS head's nine probabilities onto fixed places of
the circumplex (:mod:`mer.circumplex`, mer's plane before the head; it never sees 4Q).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..choices import VAInput
from ..circumplex import project
from ..config import VAConfig
from ..data.fourq import FourQ
from ..emotions import EMOTIONS
from ..errors import TrainingCancelled
from ..progress import ProgressFn
from ..results import VAMetrics, VAScores
from ..threads import one_blas_thread
from ..valence import LAYER_SIZES, VAHead, to_unit
from .loop import StopFn

__all__ = ["PROTOCOL", "grouped_folds", "fit_head", "evaluate_head", "emotion_anchors", "emotify_anchors",
           "train_head"]

PROTOCOL = ("{k}-fold cross-validation grouped by artist (no artist on both sides of a split), stratified by "
            "quadrant; the regularisation chosen by {inner} artist-grouped folds inside each training set")
#: The pooled baseline's C grid (one row per clip, so it wants more freedom than the segments' head).
_POOLED_C = (0.001, 0.01, 0.1)


def grouped_folds(quadrant: np.ndarray, groups: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray,
                                                                                                   np.ndarray]]:
    """Folds with no group on both sides, each with about the same share of every quadrant."""
    from sklearn.model_selection import StratifiedGroupKFold

    codes = np.unique(groups, return_inverse=True)[1]
    split = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in split.split(np.zeros(len(quadrant)), quadrant, codes)]


def _logistic(Z: np.ndarray, y: np.ndarray, c: float, start: np.ndarray | None = None,
              weights: np.ndarray | None = None) -> np.ndarray:
    """L2-regularised logistic regression: minimises ``c * sum(log loss) + |w|^2 / 2`` (the intercept
    unpenalised), the objective of scikit-learn's ``LogisticRegression(C=c)``, by L-BFGS with the exact gradient,
    from ``start`` (a neighbouring C's answer) or zero; ``weights`` scale each row's loss (default 1). Returns the
    weights, then the intercept. Call it with one
    BLAS thread (:func:`mer.threads.one_blas_thread`): on a busy machine two threads made it six times slower."""
    from scipy.optimize import minimize

    w = np.ones(len(y)) if weights is None else weights

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = Z @ theta[:-1] + theta[-1]
        r = w * (_sigmoid(z) - y)
        value = c * float(w @ (np.logaddexp(0, z) - y * z)) + 0.5 * float(theta[:-1] @ theta[:-1])
        return value, np.r_[c * (Z.T @ r) + theta[:-1], c * np.sum(r)]

    found = minimize(loss, np.zeros(Z.shape[1] + 1) if start is None else start, jac=True, method="L-BFGS-B",
                     options={"maxiter": 5000, "gtol": 1e-6, "ftol": 1e-13})
    return found.x


Model = tuple[np.ndarray, np.ndarray, np.ndarray, float]  # mean, scale, weights (zero where unread), intercept


def _fit_path(X3: np.ndarray, y: np.ndarray, grid: tuple[float, ...], cols: np.ndarray | None = None,
              weights: np.ndarray | None = None) -> list[Model]:
    """One logistic regression per C of ``grid`` on every segment of ``X3`` (n, S, D), each labelled by its clip
    and weighted by its clip's ``weights`` (default 1), reading the inputs ``cols`` (default all): standardised
    once, each C started from the previous one's answer."""
    rows = X3.reshape(-1, X3.shape[-1]).astype(np.float64)
    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale = np.where(scale > 1e-8, scale, 1.0)
    cols = np.arange(rows.shape[1]) if cols is None else cols
    Z, t = ((rows - mean) / scale)[:, cols], np.repeat(y, X3.shape[1]).astype(np.float64)
    w = None if weights is None else np.repeat(weights, X3.shape[1]).astype(np.float64)
    models, theta = [], None
    for c in grid:
        theta = _logistic(Z, t, c, theta, w)
        coef = np.zeros(rows.shape[1])
        coef[cols] = theta[:-1]
        models.append((mean, scale, coef, float(theta[-1])))
    return models


def _fit(X3: np.ndarray, y: np.ndarray, c: float, cols: np.ndarray | None = None,
         weights: np.ndarray | None = None) -> Model:
    """:func:`_fit_path` at one C."""
    return _fit_path(X3, y, (c,), cols, weights)[0]


def _clip_logits(X3: np.ndarray, model: tuple[np.ndarray, np.ndarray, np.ndarray, float]) -> np.ndarray:
    """Each segment's logit, (n, S)."""
    mean, scale, coef, intercept = model
    return ((X3.astype(np.float64) - mean) / scale) @ coef + intercept


def _log_loss(y: np.ndarray, logit: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0, -logit) * y + np.logaddexp(0, logit) * (1 - y)))


def _choose_c(X3: np.ndarray, y: np.ndarray, quadrant: np.ndarray, groups: np.ndarray, grid: tuple[float, ...],
              inner: int, seed: int, cols: np.ndarray | None = None) -> float:
    """The C of ``grid`` with the lowest log loss of the clips' mean logits over artist-grouped inner folds."""
    if len(grid) == 1:
        return grid[0]
    losses = np.zeros(len(grid))
    for tr, te in grouped_folds(quadrant, groups, inner, seed):
        for k, model in enumerate(_fit_path(X3[tr], y[tr], grid, cols)):
            losses[k] += _log_loss(y[te], _clip_logits(X3[te], model).mean(axis=1))
    return grid[int(np.argmin(losses))]


def _fit_side(X3: np.ndarray, y: np.ndarray, data: FourQ, idx: np.ndarray, grid: tuple[float, ...],
              config: VAConfig, cols: np.ndarray | None = None) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                              float], float]:
    """One side's regression on the clips ``idx``, its C chosen on those clips alone."""
    with one_blas_thread():
        c = _choose_c(X3[idx], y[idx], data.quadrant[idx], data.artist[idx], grid, config.inner_folds, config.seed,
                      cols)
        return _fit(X3[idx], y[idx], c, cols), c


def input_columns(layers: tuple[str, ...], wanted: tuple[str, ...]) -> np.ndarray:
    """The columns of an input concatenating ``layers`` that hold the layers ``wanted``."""
    edges = np.cumsum([0, *(LAYER_SIZES[name] for name in layers)])
    return np.concatenate([np.arange(edges[i], edges[i + 1]) for i, name in enumerate(layers) if name in wanted])


def fit_head(data: FourQ, config: VAConfig = VAConfig(), idx: np.ndarray | None = None) -> tuple[VAHead,
                                                                                                 tuple[float, float]]:
    """The head fitted on the clips ``idx`` (default all; ``data`` holds :attr:`VAConfig.layers`), and the C each
    side chose."""
    idx = np.arange(len(data)) if idx is None else idx
    sides = []
    for y, wanted in ((data.valence, config.valence_input), (data.arousal, config.arousal_input)):
        cols = input_columns(data.layers, VAInput(wanted).layers)
        sides.append(_fit_side(data.X, y, data, idx, config.c_grid, config, cols))
    (mean, scale, vc, vi), cv = sides[0]
    (_, _, ac, ai), ca = sides[1]
    # both sides standardise the same rows (the clips idx), so one mean and scale serve the two
    head = VAHead(layers=data.layers, mean=mean, scale=scale, coef=np.stack([vc, ac]), intercept=np.array([vi, ai]),
                  context=(config.valence_context, config.arousal_context))
    return head, (cv, ca)


def _scores(p_valence: np.ndarray, p_arousal: np.ndarray, data: FourQ) -> VAScores:
    from sklearn.metrics import roc_auc_score

    v, a = p_valence >= 0.5, p_arousal >= 0.5
    return VAScores(valence_accuracy=float(np.mean(v == data.valence)),
                    valence_auc=float(roc_auc_score(data.valence, p_valence)),
                    arousal_accuracy=float(np.mean(a == data.arousal)),
                    arousal_auc=float(roc_auc_score(data.arousal, p_arousal)),
                    quadrant_accuracy=float(np.mean(_quadrants(p_valence, p_arousal) == data.quadrant)))


def _quadrants(p_valence: np.ndarray, p_arousal: np.ndarray) -> np.ndarray:
    """The quadrant (1-4) each pair of probabilities points to."""
    v, a = p_valence >= 0.5, p_arousal >= 0.5
    return np.where(v, np.where(a, 1, 4), np.where(a, 2, 3))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + to_unit(x))


def _pooled_baseline(pooled: np.ndarray, data: FourQ, folds: list, config: VAConfig) -> VAScores:
    """Logistic regression on each clip's mean embedding, nested like the head."""
    out = np.zeros((len(data), 2))
    X3 = pooled[:, None, :]
    for tr, te in folds:
        for side, y in enumerate((data.valence, data.arousal)):
            model, _ = _fit_side(X3, y, data, tr, _POOLED_C, config)
            out[te, side] = _sigmoid(_clip_logits(X3[te], model)[:, 0])
    return _scores(out[:, 0], out[:, 1], data)


def evaluate_head(data: FourQ, config: VAConfig = VAConfig(), *, pooled: np.ndarray | None = None,
                  gems: Callable[[np.ndarray], np.ndarray] | None = None, gems_inputs: np.ndarray | None = None,
                  on_progress: ProgressFn | None = None, should_stop: StopFn | None = None) -> VAMetrics:
    """The head's recipe judged by artist-grouped cross-validation on ``data``, beside the baselines.

    Parameters
    ----------
    pooled : np.ndarray [shape=(n_clips, D)], optional
        Each clip's pooled embedding, for the logistic-regression baseline.
    gems, gems_inputs : optional
        The GEMS head (segment inputs → track probabilities, (n, 9)) and its inputs for these clips, for the
        projection baseline.
    should_stop : StopFn, optional
        Asked before each fold and the baselines: True raises :class:`~mer.errors.TrainingCancelled`.
    """
    folds = grouped_folds(data.quadrant, data.artist, config.cv_folds, config.seed)
    clip = np.zeros((len(data), 2))
    seg = np.zeros((len(data), data.X.shape[1], 2))
    fold_quadrant = []
    for k, (tr, te) in enumerate(folds):
        _check_stop(should_stop)
        if on_progress:
            on_progress(k, len(folds) + 1, f"valence and arousal: 4Q fold {k + 1} of {len(folds)}")
        head, _ = fit_head(data, config, tr)
        seg[te] = _sigmoid(np.stack([head.segment_logits(x) for x in data.X[te]]))
        clip[te] = _sigmoid(head.logits(data.X[te]).mean(axis=1))
        fold_quadrant.append(float(np.mean(_quadrants(clip[te, 0], clip[te, 1]) == data.quadrant[te])))
    _check_stop(should_stop)
    if on_progress:
        on_progress(len(folds), len(folds) + 1, "valence and arousal: the baselines")
    baselines = {}
    if pooled is not None:
        baselines["pooled_logistic"] = _pooled_baseline(pooled, data, folds, config)
    if gems is not None and gems_inputs is not None:
        va = project(gems(gems_inputs))
        baselines["gems_projection"] = _scores((va[:, 0] + 1) / 2, (va[:, 1] + 1) / 2, data)
    labels = np.stack([data.valence, data.arousal], axis=1)
    return VAMetrics(
        data=f"4Q (Panda et al. 2018): {len(data)} clips of about 30 s by {data.n_artists} "
             "artists, one quadrant each (the bundled MusiCNN embeddings)",
        protocol=PROTOCOL.format(k=len(folds), inner=config.inner_folds), n_clips=len(data),
        n_artists=data.n_artists, folds=len(folds), head=_scores(clip[:, 0], clip[:, 1], data),
        fold_quadrant=fold_quadrant,
        segments=tuple(float(np.mean((seg[..., i] >= 0.5) == labels[:, None, i])) for i in range(2)),
        brier=tuple(float(np.mean((clip[:, i] - labels[:, i]) ** 2)) for i in range(2)), baselines=baselines)


def _check_stop(should_stop: StopFn | None) -> None:
    if should_stop is not None and should_stop():
        raise TrainingCancelled("Training was cancelled; the active model is unchanged.")


def emotion_anchors(head: VAHead, X: np.ndarray, labels: np.ndarray) -> dict[str, tuple[float, float, int]]:
    """Where the head puts each emotion: the mean valence and arousal of the tracks (segments ``X``, (n, S, D))
    whose dominant emotion (``labels``, indices into :data:`mer.emotions.EMOTIONS`) it is."""
    track = np.array([[p.track_valence, p.track_arousal] for p in map(head.path, X)])
    return {e: (float(track[labels == i, 0].mean()), float(track[labels == i, 1].mean()), int((labels == i).sum()))
            for i, e in enumerate(EMOTIONS) if (labels == i).any()}


def emotify_anchors(head: VAHead) -> dict[str, tuple[float, float, int]]:
    """:func:`emotion_anchors` over the bundled Emotify tracks (empty where mer ships no Emotify embeddings of the
    head's layers)."""
    from ..data.embedded import BUNDLED_LAYER_FILES, load_bundled_embeddings
    from ..data.emotify import load_annotations

    paths = [BUNDLED_LAYER_FILES.get(name) for name in head.layers]
    if any(p is None or not p.is_file() for p in paths):
        return {}
    parts = [load_bundled_embeddings(p, layers=(name,)) for p, name in zip(paths, head.layers)]
    if any(not np.array_equal(e.track_id, parts[0].track_id) for e in parts):
        return {}
    tracks = load_annotations().tracks.set_index("track_id").loc[parts[0].track_id]
    labels = tracks[list(EMOTIONS)].to_numpy(dtype=np.float64).argmax(axis=1)
    X = np.concatenate([e.vectors.astype(np.float32) for e in parts], axis=2)
    return emotion_anchors(head, X, labels)


def train_head(config: VAConfig, *, gems: Callable[[np.ndarray], np.ndarray] | None = None,
               on_progress: ProgressFn | None = None, should_stop: StopFn | None = None) -> tuple[VAHead, VAMetrics]:
    """The shipped head on all of 4Q's bundled clips, with its grouped cross-validation and baselines (``gems``:
    the GEMS head, segment embeddings → track probabilities, for the projection baseline) and the emotions'
    places on its plane."""
    import dataclasses

    from ..data.fourq import load_fourq

    data = load_fourq(config.layers)
    gems_inputs = load_fourq(("mean_pool",)).X
    metrics = evaluate_head(data, config, pooled=gems_inputs.mean(axis=1), gems=gems, gems_inputs=gems_inputs,
                            on_progress=on_progress, should_stop=should_stop)
    _check_stop(should_stop)
    head, c = fit_head(data, config)
    return head, dataclasses.replace(metrics, anchors=emotify_anchors(head), c=c)
