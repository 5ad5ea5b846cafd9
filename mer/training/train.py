"""Training: corpus → cached features → folds → balance (training tracks only) → fit → model directory.

The loop follows the study (dropout, learning-rate adjustment, early stopping,
SMOTE available) and nanoGPT's shape: :func:`run_epoch` trains one pass,
:func:`validate` scores the held-out tracks, :func:`fit` keeps the best epoch.
:func:`cross_validate` gives the honest, track-grouped numbers; :func:`ladder`
measures what the study's and the segment protocol's leakage adds; :func:`train`
does all of that for a corpus and writes a model directory.

Nothing from a test fold reaches training: oversampling, normalisation
statistics, early stopping and learning-rate decisions see the fold's training
tracks only (early stopping a stratified inner split of them).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..choices import DatasetKind, FitKind, FrontEndKind, Target
from ..config import AudioConfig, DatasetInfo, FeatureConfig, Fit, ModelConfig, TrainConfig, VAConfig
from ..data.balance import class_weights, oversample
from ..data.dataset import TrackData
from ..data.emotify import Corpus, load_corpus
from ..data.folds import Fold, folds_problem, inner_split, segment_split, track_folds
from ..device import resolve_device
from ..emotions import EMOTIONS
from ..errors import ModelError, TrainingCancelled, TrainingError
from ..files import name_lock
from ..frontend import front_end
from ..model import estimate_parameters
from ..model_files import check_model_out, model_inputs, save_model
from ..progress import Epoch, EpochFn, ProgressFn
from ..registry import models_dir, new_model_name
from ..results import PROTOCOL_LABELS, CVReport, FoldReport, Rung
from .evaluate import genre_prior_baseline, logreg_baseline, majority_baseline, pooled_logmel, score
from .loop import Schedule, StopFn, run_epochs, train_pass

__all__ = ["FitResult", "TrainedModel", "fit", "cross_validate", "ladder", "train", "describe_dataset",
           "load_training_data"]

if TYPE_CHECKING:
    from torch import nn


@dataclass
class FitResult:
    """A trained network (best epoch's weights) and its curve."""

    net: nn.Module
    history: list[Epoch]
    best_epoch: int


@dataclass
class TrainedModel:
    """What :func:`train` computed before writing the model directory."""

    net: nn.Module  # one network, or the Ensemble of the fold models
    history: list[Epoch]
    best_epoch: int
    cv: CVReport | None
    ladder: dict[str, Rung] = field(default_factory=dict)
    seconds: float = 0.0


def load_training_data(root: str | os.PathLike | None, *, model_config: ModelConfig,
                       audio_config: AudioConfig = AudioConfig(), feature_config: FeatureConfig = FeatureConfig(),
                       cache_dir: str | os.PathLike | None = None,
                       on_progress: ProgressFn | None = None) -> tuple[TrackData, DatasetInfo]:
    """The network's inputs for a corpus and what the model card says about them.

    ``root`` None with the MusiCNN front-end is the bundled Emotify (embeddings of its 320 tracks: nothing to
    download or decode); a folder is decoded and embedded (MusiCNN, cached) or turned into log-mel windows.
    """
    fe = front_end(model_config)
    if root is None:
        return fe.bundled_data()
    corpus = load_corpus(root)
    return fe.corpus_data(corpus, audio_config=audio_config, feature_config=feature_config, cache_dir=cache_dir,
                          on_progress=on_progress), describe_dataset(corpus)


def describe_dataset(corpus: Corpus) -> DatasetInfo:
    """What a model card says about its data."""
    demo = (corpus.root / "demo.json").is_file()
    return DatasetInfo(kind=DatasetKind.DEMO if demo else DatasetKind.EMOTIFY, n_tracks=len(corpus), root=str(corpus.root),
                       fingerprint=corpus.fingerprint(),
                       description=f"synthetic demo corpus ({len(corpus)} tracks)" if demo else
                       f"Emotify, {len(corpus)} tracks with their listeners' votes")


# --- one fit ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rows:
    """Training or validation rows as tensors: inputs (n, S, mels, frames), targets (n, 9), genres (n,)."""

    X: Any
    target: Any
    genre: Any
    y: np.ndarray

    def to(self, device: Any) -> _Rows:
        return _Rows(self.X.to(device), self.target.to(device), self.genre.to(device), self.y)


def _targets(data: TrackData, idx: np.ndarray, kind: Target) -> np.ndarray:
    if kind == Target.SHARES:
        return data.targets[idx]
    return np.eye(len(EMOTIONS))[data.labels[idx]]


def _weights(data: TrackData, idx: np.ndarray, config: TrainConfig) -> np.ndarray:
    """Each row's loss weight (``TrainConfig.track_weights``), mean 1 over ``idx``: carried by scaling its target,
    which every loss term is linear in."""
    if config.track_weights == "none" or data.responses is None or len(idx) == 0:
        return np.ones(len(idx))
    n = np.maximum(np.asarray(data.responses[idx], dtype=np.float64), 1.0)
    w = np.sqrt(n) if config.track_weights == "sqrt_responses" else n
    return w / w.mean()


def _balanced_rows(data: TrackData, idx: np.ndarray, config: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inputs, targets, labels and genres of the fit rows, oversampled when ``config.sampler`` asks.

    Synthetic rows get the one-hot target of their class and no genre (-1).
    """
    X, y = data.X[idx], data.labels[idx]
    target, genre = _targets(data, idx, config.target) * _weights(data, idx, config)[:, None], data.genre[idx]
    if config.sampler == "none":
        return X, target, y, genre
    # a class with one training track (Emotify has 3 amazement tracks) has nothing to interpolate: it stays as is
    counts = np.bincount(y, minlength=len(EMOTIONS))
    lone = np.isin(y, np.flatnonzero(counts == 1)) if config.sampler != "random" else np.zeros(len(y), bool)
    res = oversample(X[~lone], y[~lone], sampler=config.sampler, k_neighbors=config.k_neighbors, seed=config.seed)
    synthetic = res.y[res.n_original:]
    return (np.concatenate([X[~lone], X[lone], res.X[res.n_original:]]),
            np.concatenate([target[~lone], target[lone], np.eye(len(EMOTIONS))[synthetic]]),
            np.concatenate([y[~lone], y[lone], synthetic]),
            np.concatenate([genre[~lone], genre[lone], np.full(len(synthetic), -1)]))


def _soft_ce(logits, target):
    import torch

    return -(target * torch.log_softmax(logits, dim=-1)).sum(dim=-1)


def _augment(xb, gen):
    """SpecAugment-style masks (one frequency band, one time span per batch) and a circular time shift."""
    import torch

    _, _, m, t = xb.shape
    f0, fw, t0, tw, shift = torch.randint(0, 1 << 30, (5,), generator=gen).tolist()
    fw, tw = fw % 8, tw % 16
    f0, t0 = f0 % (m - fw + 1), t0 % (t - tw + 1)
    xb = xb.clone()
    floor = xb.amin()
    xb[:, :, f0:f0 + fw] = floor
    xb[:, :, :, t0:t0 + tw] = floor
    return torch.roll(xb, shifts=shift % t, dims=3)


def _loss(net, xb, tb, gb, config: TrainConfig, class_weight):
    out = net(xb)
    per_track = _soft_ce(out.track, tb)
    if config.segment_weight:
        per_track = per_track + config.segment_weight * _segment_loss(out.segment, tb, config.segment_target)
    if class_weight is not None:  # of the target's emotions; its sum is the track's weight, applied already
        per_track = per_track * (tb * class_weight).sum(dim=-1) / tb.sum(dim=-1).clamp_min(1e-12)
    loss = per_track.mean()
    known = gb >= 0
    if config.genre_weight and known.any():
        import torch.nn.functional as F

        loss = loss + config.genre_weight * F.cross_entropy(out.genre[known], gb[known])
    return loss


def _segment_loss(logits, target, kind: str):
    """The segment head's loss per track (``TrainConfig.segment_target``), shape (B,), for logits (B, S, 9) and
    track targets (B, 9)."""
    import math

    import torch
    import torch.nn.functional as F

    if kind == "pooled":  # cross-entropy of the segments' mean distribution; its log, exactly: logsumexp − log S
        log_mean = torch.logsumexp(F.log_softmax(logits, dim=-1), dim=1) - math.log(logits.shape[1])
        return -(target * log_mean).sum(dim=-1)
    if kind == "dominant":  # one-hot, of the same weight (the target's sum)
        target = F.one_hot(target.argmax(dim=-1), target.shape[-1]).to(target.dtype) * target.sum(-1, keepdim=True)
    return _soft_ce(logits, target[:, None, :].expand_as(logits)).mean(dim=1)


def run_epoch(net, opt, rows: _Rows, config: TrainConfig, gen, class_weight=None,
              should_stop: StopFn | None = None) -> float:
    """Train one pass over ``rows`` in shuffled batches; returns the mean loss."""
    import torch

    def batch_loss(b):
        b = b.to(rows.X.device)
        xb, tb, gb = rows.X[b], rows.target[b], rows.genre[b]
        if config.augment and xb.ndim == 4:  # masks and shifts of log-mel images; embeddings are not augmented
            xb = _augment(xb, gen)
        if config.mixup > 0:
            lam = float(torch.distributions.Beta(config.mixup, config.mixup).sample())
            perm = torch.randperm(len(b), generator=gen).to(xb.device)
            xb, tb = lam * xb + (1 - lam) * xb[perm], lam * tb + (1 - lam) * tb[perm]
        return _loss(net, xb, tb, gb, config, class_weight)

    return train_pass(net, opt, batch_loss, len(rows.y), config.batch_size, gen, should_stop,
                      "Training was cancelled; no model was written and the active model is unchanged.")


def validate(net, rows: _Rows) -> tuple[float, float]:
    """Validation loss (cross-entropy of the track head against the targets) and track accuracy."""
    import torch

    net.eval()
    with torch.no_grad():
        logits = torch.cat([net(rows.X[lo:lo + 64]).track for lo in range(0, len(rows.y), 64)])
    loss = float(_soft_ce(logits, rows.target).mean())
    return loss, float((logits.argmax(dim=1).cpu().numpy() == rows.y).mean())


def _tensor_rows(X, target, y, genre) -> _Rows:
    import torch

    return _Rows(torch.from_numpy(np.asarray(X, dtype=np.float32)), torch.from_numpy(np.asarray(target, dtype=np.float32)),
                 torch.from_numpy(np.asarray(genre, dtype=np.int64)), np.asarray(y))




def fit(data: TrackData, fit_idx: np.ndarray, val_idx: np.ndarray, config: TrainConfig, model_config: ModelConfig,
        *, on_epoch: EpochFn | None = None, should_stop: StopFn | None = None, which: Fit | None = None,
        device: Any = None) -> FitResult:
    """Train on rows ``fit_idx`` of ``data``, stop early on rows ``val_idx``, return the best epoch's network.

    ``which`` is the fit of the run's plan (:meth:`TrainConfig.fits`) this is: its label names the epoch records.
    ``device`` (a :class:`torch.device`, default the CPU) is where the epochs run; the network returned is on
    the CPU.
    """
    import torch

    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    net, rows, val, weight = _prepare(data, fit_idx, val_idx, config, model_config, device or torch.device("cpu"))
    opt = torch.optim.AdamW(_parameter_groups(net, config), lr=config.lr, weight_decay=config.weight_decay)
    schedule = Schedule(config.epochs, config.patience, config.lr_factor, config.lr_patience, min_delta=1e-4)
    best = run_epochs(net, opt, lambda: run_epoch(net, opt, rows, config, gen, weight, should_stop),
                      lambda: validate(net, val), schedule, stage=which.label if which else "", on_epoch=on_epoch)
    net.to("cpu").eval()
    return FitResult(net=net, history=best.history, best_epoch=best.epoch)


def _parameter_groups(net, config: TrainConfig) -> list[dict]:
    """All weights at ``lr``, except a fine-tuned pretrained block: ``fine_tune_lr``, no weight decay (which
    would pull its weights towards zero, away from what it learnt)."""
    block = getattr(net, "last_block", None)
    if block is None:
        return [{"params": list(net.parameters())}]
    own = {id(p) for p in block.parameters()}
    return [{"params": [p for p in net.parameters() if id(p) not in own]},
            {"params": list(block.parameters()), "lr": config.fine_tune_lr, "weight_decay": 0.0}]


def _prepare(data: TrackData, fit_idx: np.ndarray, val_idx: np.ndarray, config: TrainConfig,
             model_config: ModelConfig, device: Any) -> tuple[Any, _Rows, _Rows, Any]:
    """A fresh network standardised on the fit rows, the fit and validation rows, the class weights: on ``device``."""
    import torch

    from ..model import build_model

    X, target, y, genre = _balanced_rows(data, fit_idx, config)
    net = build_model(model_config, data.X.shape[2])
    net.set_normalisation(*_band_stats(X[:len(fit_idx)]))  # the real fit rows come first; synthetic ones after
    rows = _tensor_rows(X, target, y, genre).to(device)
    val = _tensor_rows(data.X[val_idx], _targets(data, val_idx, "shares") * _weights(data, val_idx, config)[:, None],
                       data.labels[val_idx], data.genre[val_idx]).to(device)
    weight = (torch.tensor(class_weights(y, len(EMOTIONS), cap=5.0), dtype=torch.float32, device=device)
              if config.class_weighted else None)
    return net.to(device), rows, val, weight


def _band_stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each input (mel band, or embedding dimension: axis 2) over everything
    else (float64 sums)."""
    axes = tuple(a for a in range(X.ndim) if a != 2)
    mean = np.zeros(X.shape[2])
    sq = np.zeros(X.shape[2])
    for chunk in np.array_split(np.arange(len(X)), max(1, len(X) // 32)):
        x = X[chunk].astype(np.float64)
        mean += x.sum(axis=axes)
        sq += (x ** 2).sum(axis=axes)
    n = X.size // X.shape[2]
    mean /= n
    return mean, np.sqrt(np.maximum(sq / n - mean ** 2, 0.0))


#: The baseline on the pretrained embeddings (the team's recipe: StandardScaler, C = 0.01).
EMBEDDING_BASELINE = "logistic regression on MusiCNN"


# --- protocols -------------------------------------------------------------------------


def _baseline_probs(data: TrackData, fold: Fold, seed: int) -> dict[str, np.ndarray]:
    tr, te = fold.train, fold.test
    out = {
        "majority": majority_baseline(data.labels[tr], len(te)),
        "genre prior": genre_prior_baseline(data.labels[tr], data.genre_names[tr], data.genre_names[te]),
    }
    feats = pooled_logmel(data.X) if data.X.ndim == 4 else data.summary
    if feats is not None:
        out["logistic regression on log-mel"] = logreg_baseline(feats[tr], data.labels[tr], feats[te], seed=seed)
    if data.X.ndim == 3:  # the network reads MusiCNN embeddings: a linear model of their track mean beside it
        from ..audio.embeddings import EMBEDDING_DIM

        emb = np.asarray(data.X[..., :EMBEDDING_DIM], dtype=np.float32).mean(axis=1)  # not a fine-tuner's block inputs
        out[EMBEDDING_BASELINE] = logreg_baseline(emb[tr], data.labels[tr], emb[te], seed=seed, C=0.01)
    return out


def cross_validate(data: TrackData, config: TrainConfig, model_config: ModelConfig, *, description: str,
                   on_epoch: EpochFn | None = None, on_progress: ProgressFn | None = None,
                   should_stop: StopFn | None = None, device: Any = None) -> tuple[CVReport, list[Any]]:
    """Track-grouped, stratified k-fold cross-validation of the model and the baselines on the same folds.

    Returns the report and the fold models (each trained without its fold's test tracks).
    """
    from ..model import predict_tracks

    folds = track_folds(data.labels, n_folds=config.cv_folds, val_fraction=config.val_fraction, seed=config.seed)
    oof = np.zeros((len(data), len(EMOTIONS)))
    base_oof: dict[str, np.ndarray] = {}
    reports, nets = [], []
    plan = [f for f in config.fits() if f.kind == FitKind.FOLD]
    for k, (fold, which) in enumerate(zip(folds, plan, strict=True)):
        if on_progress:
            on_progress(k, len(folds), f"cross-validation fold {k + 1}/{len(folds)}")
        res = fit(data, fold.fit, fold.val, replace(config, seed=config.seed + k), model_config,
                  on_epoch=on_epoch, should_stop=should_stop, which=which, device=device)
        nets.append(res.net)
        oof[fold.test] = predict_tracks(res.net, data.X[fold.test])[0]
        reports.append(FoldReport(score(data.labels[fold.test], probs=oof[fold.test], shares=data.shares[fold.test]),
                                  res.history, res.best_epoch, len(fold.train)))
        for name, p in _baseline_probs(data, fold, config.seed).items():
            base_oof.setdefault(name, np.zeros_like(oof))[fold.test] = p
    baselines = {name: score(data.labels, probs=p, shares=data.shares) for name, p in base_oof.items()}
    report = CVReport(pooled=score(data.labels, probs=oof, shares=data.shares), folds=reports, baselines=baselines,
                      n_folds=len(folds), seed=config.seed, data=description)
    return report, nets


def _segment_rows(data: TrackData) -> TrackData:
    """Every segment as a one-segment 'track' labelled with its track's emotion (the study's sample unit)."""
    n, s = data.X.shape[:2]
    rep = np.repeat(np.arange(n), s)
    return TrackData(X=data.X.reshape(n * s, 1, *data.X.shape[2:]), labels=data.labels[rep],
                     shares=data.shares[rep], genre=data.genre[rep], track_id=data.track_id[rep])


def ladder(data: TrackData, config: TrainConfig, model_config: ModelConfig, cv: CVReport, *,
           test_fraction: float = 0.2, on_epoch: EpochFn | None = None,
           should_stop: StopFn | None = None, device: Any = None) -> dict[str, Rung]:
    """The leakage ladder: the same network under the study's, the segment and the track protocol.

    ``study`` oversamples all segments with SMOTE and then splits them at random
    (the order of the study's code), ``segment`` splits segments at random and
    oversamples the training fold only; both train the CNN-LSTM on one-segment
    sequences and report segment accuracy. ``track`` is the cross-validated
    track accuracy of ``cv``.
    """
    seg = _segment_rows(data)
    split = segment_split(seg.labels, test_fraction=test_fraction, val_fraction=config.val_fraction, seed=config.seed)
    seg_config = replace(config, sampler="smote", target="dominant", segment_weight=0.0, mixup=0.0)
    res = fit(seg, split.fit, split.val, seg_config, model_config, on_epoch=on_epoch, should_stop=should_stop,
              which=Fit(FitKind.SEGMENT), device=device)
    from ..model import predict_tracks

    acc_segment = score(seg.labels[split.test], probs=predict_tracks(res.net, seg.X[split.test])[0]).accuracy
    leaked = _study_rows(seg, config)
    split = segment_split(leaked.labels, test_fraction=test_fraction, val_fraction=config.val_fraction,
                          seed=config.seed)
    res = fit(leaked, split.fit, split.val, replace(seg_config, sampler="none"), model_config,
              on_epoch=on_epoch, should_stop=should_stop, which=Fit(FitKind.STUDY),
              device=device)
    acc_study = score(leaked.labels[split.test], probs=predict_tracks(res.net, leaked.X[split.test])[0]).accuracy
    n_test = len(split.test)
    return {
        "study": Rung("study", "segment", acc_study, n_test, PROTOCOL_LABELS["study"]),
        "segment": Rung("segment", "segment", acc_segment, int(round(test_fraction * len(seg.labels))),
                        PROTOCOL_LABELS["segment"]),
        "track": Rung("track", "track", cv.pooled.accuracy, cv.pooled.n, PROTOCOL_LABELS["track"]),
    }


def _study_rows(seg: TrackData, config: TrainConfig) -> TrackData:
    """All segments oversampled with SMOTE before any split, as the study's code does."""
    res = oversample(seg.X, seg.labels, sampler="smote", k_neighbors=config.k_neighbors, seed=config.seed)
    extra = len(res.y) - len(seg.labels)
    onehot = np.eye(len(EMOTIONS))[res.y]
    return TrackData(X=res.X, labels=res.y, shares=np.concatenate([seg.shares, onehot[len(seg.labels):]]),
                     genre=np.concatenate([seg.genre, np.full(extra, -1)]),
                     track_id=np.concatenate([seg.track_id, np.full(extra, -1)]))


# --- a model directory -----------------------------------------------------------------


def train(root: str | os.PathLike, *, config: TrainConfig = TrainConfig(), out: str | os.PathLike | None = None,
          feature_config: FeatureConfig = FeatureConfig(), audio_config: AudioConfig = AudioConfig(),
          model_config: ModelConfig = ModelConfig(), replace_existing: bool = False,
          cache_dir: str | os.PathLike | None = None, on_progress: ProgressFn | None = None,
          on_epoch: EpochFn | None = None, should_stop: StopFn | None = None, device: str = "cpu",
          va_config: VAConfig | None = VAConfig()) -> Path:
    """Cross-validate, optionally measure the leakage ladder, train on every track, write the model directory.

    Parameters
    ----------
    root : path or None
        Corpus folder (``data.csv`` + ``emotifymusic/``); None: the bundled Emotify embeddings (MusiCNN front-end).
    config : TrainConfig
        ``cv_folds`` and ``ladder`` choose the evaluations run before the final fit.
    out : path, optional
        Model directory to write; default ``models/track-<timestamp>``.
    replace_existing : bool
        Replace an existing model directory at ``out`` (only once the new one is complete).
    device : str
        Where the epochs run: ``"cpu"``, ``"cuda"``, ``"mps"`` or ``"auto"`` (see :mod:`mer.device`); not saved.
    va_config : VAConfig or None
        How the valence–arousal head is trained beside the GEMS head, on the bundled 4Q clips (MusiCNN models
        only); None: no head.

    Returns
    -------
    Path of the new model directory.
    """
    torch_device = resolve_device(device)
    out = Path(out) if out is not None else models_dir() / new_model_name("track")
    check_model_out(out, replace=replace_existing)
    estimate_parameters(model_config, model_inputs(model_config, feature_config),
                        members=config.cv_folds if config.ship == "folds" else 1)
    # a second run writing this name is told at once
    with name_lock(out.parent, out.name, what="the model", error=ModelError):
        return _train(root, out, config, feature_config, audio_config, model_config, replace_existing, cache_dir,
                      on_progress, on_epoch, should_stop, torch_device, va_config)


def _train(root, out: Path, config: TrainConfig, feature_config: FeatureConfig, audio_config: AudioConfig,
           model_config: ModelConfig, replace_existing: bool, cache_dir, on_progress: ProgressFn | None,
           on_epoch: EpochFn | None, should_stop: StopFn | None, torch_device: Any,
           va_config: VAConfig | None = None) -> Path:
    t_start = time.perf_counter()
    data, dataset = load_training_data(root, model_config=model_config, audio_config=audio_config,
                                       feature_config=feature_config, cache_dir=cache_dir, on_progress=on_progress)
    why = folds_problem(data.labels, n_folds=config.cv_folds, val_fraction=config.val_fraction, seed=config.seed)
    if why:
        raise TrainingError(f"Cannot train on {len(data)} tracks with these settings: {why}.")
    if len(data) < max(10, 2 * config.cv_folds):
        raise TrainingError(f"{len(data)} tracks are too few to train and validate on; use a corpus of at least "
                            f"{max(10, 2 * config.cv_folds)} tracks.")
    model = _evaluate_and_fit(data, config, model_config, dataset.description, on_epoch=on_epoch,
                              on_progress=on_progress, should_stop=should_stop, device=torch_device)
    va = _valence_arousal(model.net, model_config, va_config, on_progress, should_stop)
    model.seconds = time.perf_counter() - t_start
    from ..card import model_card, model_metrics

    metrics = replace(model_metrics(model), valence_arousal=va[1] if va else None)
    return save_model(model.net, name=out.name, root=out.parent, audio_config=audio_config,
                      feature_config=feature_config, model_config=model_config, train_config=config,
                      dataset=dataset, metrics=metrics.to_dict(),
                      card=model_card(out.name, dataset, config, model_config, metrics), replace=replace_existing,
                      precision=data.precision, va=(va[0], va_config) if va else None)


def _valence_arousal(net: Any, model_config: ModelConfig, va_config: VAConfig | None,
                     on_progress: ProgressFn | None, should_stop: StopFn | None) -> tuple[Any, Any] | None:
    """The valence–arousal head and its evaluation, for a MusiCNN model (the head reads MusiCNN's layers)."""
    if va_config is None or model_config.front_end != FrontEndKind.MUSICNN or model_config.fine_tune:
        return None
    if should_stop is not None and should_stop():
        raise TrainingCancelled("Training was cancelled; the active model is unchanged.")
    from ..model import predict_tracks
    from .valence import train_head

    return train_head(va_config, gems=lambda X: predict_tracks(net, X)[0], on_progress=on_progress,
                      should_stop=should_stop)


def _evaluate_and_fit(data: TrackData, config: TrainConfig, model_config: ModelConfig, description: str, *,
                      on_epoch: EpochFn | None, on_progress: ProgressFn | None,
                      should_stop: StopFn | None, device: Any) -> TrainedModel:
    cv, nets = None, []
    if config.cv_folds:
        cv, nets = cross_validate(data, config, model_config, description=description, on_epoch=on_epoch,
                                  on_progress=on_progress, should_stop=should_stop, device=device)
    rungs = ladder(data, config, model_config, cv, on_epoch=on_epoch, should_stop=should_stop, device=device) \
        if config.ladder and cv is not None else {}
    if config.ship == "folds":
        from ..model import Ensemble

        return TrainedModel(net=Ensemble(nets), history=[], best_epoch=0, cv=cv, ladder=rungs)
    if on_progress:
        on_progress(0, 1, f"training on all {len(data)} tracks")
    fit_idx, val_idx = inner_split(np.arange(len(data)), data.labels, val_fraction=config.val_fraction,
                                   seed=config.seed)
    final = fit(data, fit_idx, val_idx, config, model_config, on_epoch=on_epoch, should_stop=should_stop,
                which=Fit(FitKind.FINAL), device=device)
    return TrainedModel(net=final.net, history=final.history, best_epoch=final.best_epoch, cv=cv, ladder=rungs)
