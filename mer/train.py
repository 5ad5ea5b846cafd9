"""Training: corpus → cached features → split → oversample the training fold → fit → model directory.

The loop follows the study: Adam, dropout in the network, learning-rate
adjustment (ReduceLROnPlateau on validation loss), early stopping, and the
best epoch's weights kept. Oversampling (SMOTE by default) sees the training
fold only. Same seed and same data give the same metrics.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .balance import SAMPLER_LABELS, class_counts, class_weights, oversample
from .config import EMOTIONS, PROTOCOLS, SAMPLERS, AudioConfig, FeatureConfig, ModelConfig, TrainConfig
from .dataset import SegmentData, segment_data, split_data
from .emotify import Corpus, load_corpus
from .errors import TrainingCancelled, TrainingError
from .evaluate import evaluate_model, logreg_baseline, majority_baseline
from .registry import models_dir, new_model_name, save_model

__all__ = ["FitResult", "fit", "train", "check_train_config", "describe_dataset"]

ProgressFn = Callable[[int, int, str], None]
EpochFn = Callable[[dict[str, Any]], None]
StopFn = Callable[[], bool]


@dataclass
class FitResult:
    net: Any
    history: list[dict[str, Any]]
    best_epoch: int
    test: dict[str, Any]
    baselines: dict[str, Any]
    counts_before: dict[str, int]
    counts_after: dict[str, int]
    notes: list[str]
    n_train_tracks: int
    n_test_tracks: int


def check_train_config(config: TrainConfig) -> None:
    """Raise :class:`TrainingError` for a setting that cannot work, naming it."""
    problems = []
    if config.epochs < 1:
        problems.append(f"epochs must be at least 1 (got {config.epochs})")
    if not 0 < config.lr < 1:
        problems.append(f"the learning rate must be between 0 and 1 (got {config.lr})")
    if config.batch_size < 2:
        problems.append(f"the batch size must be at least 2 (got {config.batch_size})")
    if not 0 <= config.dropout < 1:
        problems.append(f"dropout must be in [0, 1) (got {config.dropout})")
    if config.sampler not in SAMPLERS:
        problems.append(f"sampler must be one of {', '.join(SAMPLERS)} (got {config.sampler!r})")
    if config.protocol not in PROTOCOLS:
        problems.append(f"protocol must be 'track' or 'segment' (got {config.protocol!r})")
    if not (0 < config.val_fraction < 0.5 and 0 < config.test_fraction < 0.5):
        problems.append("validation and test fractions must each be between 0 and 0.5")
    if problems:
        raise TrainingError("Cannot train: " + "; ".join(problems) + ".")


def describe_dataset(corpus: Corpus) -> dict[str, Any]:
    """What a model card says about its data."""
    demo = corpus.root / "demo.json"
    info: dict[str, Any] = {"root": str(corpus.root), "n_tracks": len(corpus), "fingerprint": corpus.fingerprint()}
    if demo.is_file():
        d = json.loads(demo.read_text())
        info.update(kind="demo", seed=d.get("seed"), seconds=d.get("seconds"),
                    description=f"synthetic demo corpus ({len(corpus)} tracks, seed {d.get('seed')})")
    else:
        info.update(kind="emotify", description=f"Emotify-layout corpus ({len(corpus)} tracks)")
    return info


def _epoch_line(e: dict[str, Any]) -> str:
    return (f"epoch {e['epoch']}/{e['epochs']}: train loss {e['train_loss']:.3f}, val loss {e['val_loss']:.3f}, "
            f"val acc {e['val_accuracy']:.3f}, val macro-F1 {e['val_macro_f1']:.3f}, lr {e['lr']:.2g}, "
            f"{e['seconds']:.1f} s, ETA {e['eta_s']:.0f} s")


def _augment(xb, gen, floor_db: float):
    """Augment a batch of log-mel windows (batch, n_mels, frames) in place; see ``TrainConfig.augment``."""
    import torch

    b, n_mels, frames = xb.shape
    r = torch.randint(0, 1 << 30, (b, 6), generator=gen).tolist()
    for i, (f_shift, t_shift, f_w, f_0, t_w, t_0) in enumerate(r):
        f_shift = f_shift % 5 - 2
        x = torch.roll(xb[i], shifts=(f_shift, t_shift % frames), dims=(0, 1))
        if f_shift > 0:
            x[:f_shift] = floor_db
        elif f_shift < 0:
            x[f_shift:] = floor_db
        f_w, t_w = f_w % 9, t_w % 17
        f_0, t_0 = f_0 % (n_mels - f_w + 1), t_0 % (frames - t_w + 1)
        x[f_0 : f_0 + f_w] = floor_db
        x[:, t_0 : t_0 + t_w] = floor_db
        xb[i] = x
    return xb


def fit(data: SegmentData, track_labels: np.ndarray, config: TrainConfig, model_config: ModelConfig, *,
        on_epoch: EpochFn | None = None, should_stop: StopFn | None = None,
        floor_db: float = FeatureConfig().floor_db) -> FitResult:
    """Split, oversample the training fold, train with early stopping, and test the best epoch.

    Raises
    ------
    TrainingError
        A fold is empty (too few tracks for the split).
    TrainingCancelled
        ``should_stop()`` returned True.
    """
    import torch
    import torch.nn.functional as F

    from .model import build_model, predict_proba

    check_train_config(config)
    torch.manual_seed(config.seed)
    torch.set_num_threads(max(1, config.threads))
    split = split_data(data, track_labels, protocol=config.protocol, val_fraction=config.val_fraction,
                       test_fraction=config.test_fraction, seed=config.seed)
    for fold in ("train", "val", "test"):
        if len(getattr(split, fold)) == 0:
            raise TrainingError(f"The {fold} fold is empty: {len(track_labels)} tracks are too few for a "
                                f"{config.protocol}-level split. Use a larger corpus.")
    y_train = data.y[split.train]
    res = oversample(data.X[split.train], y_train, sampler=config.sampler, k_neighbors=config.k_neighbors,
                     seed=config.seed)
    X_tr, y_tr = res.X, res.y
    X_val, y_val = data.X[split.val], data.y[split.val]
    weights = torch.tensor(class_weights(y_tr) if config.sampler == "none" else np.ones(len(EMOTIONS)),
                           dtype=torch.float32)

    net = build_model(dataclasses.replace(model_config, dropout=config.dropout))
    opt = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=config.lr_factor,
                                                       patience=config.lr_patience)
    gen = torch.Generator().manual_seed(config.seed)
    y_tr_t = torch.from_numpy(np.asarray(y_tr, dtype=np.int64))
    history: list[dict[str, Any]] = []
    best_loss, best_state, best_epoch, since_best = math.inf, None, 0, 0
    t_start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(len(y_tr), generator=gen).numpy()
        total, seen = 0.0, 0
        for lo in range(0, len(order), config.batch_size):
            if should_stop and should_stop():
                raise TrainingCancelled("Training was cancelled; no model was written and the active model is unchanged.")
            idx = np.sort(order[lo : lo + config.batch_size])
            if len(idx) < 2:  # batch norm needs two samples
                continue
            xb = torch.from_numpy(np.asarray(X_tr[idx], dtype=np.float32))
            if config.augment:
                xb = _augment(xb, gen, floor_db)
            loss = F.cross_entropy(net(xb), y_tr_t[idx], weight=weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        probs = predict_proba(net, X_val)
        val_loss = float(F.nll_loss(torch.log(torch.from_numpy(probs).clamp_min(1e-8)),
                                    torch.from_numpy(np.asarray(y_val, dtype=np.int64))))
        val = evaluate_model(probs, y_val, data.track[split.val], track_labels)
        sched.step(val_loss)
        if val_loss < best_loss - 1e-4:
            best_loss, best_state, best_epoch, since_best = val_loss, copy.deepcopy(net.state_dict()), epoch, 0
        else:
            since_best += 1
        seconds = time.perf_counter() - t0
        elapsed = time.perf_counter() - t_start
        remaining = config.epochs - epoch
        stopping = since_best >= config.patience
        entry = {
            "epoch": epoch, "epochs": config.epochs, "train_loss": total / max(1, seen), "val_loss": val_loss,
            "val_accuracy": val["segment_accuracy"], "val_macro_f1": val["macro_f1"],
            "val_track_accuracy": val["track_accuracy"], "lr": opt.param_groups[0]["lr"], "seconds": seconds,
            "elapsed_s": elapsed, "eta_s": 0.0 if stopping else remaining * elapsed / epoch,
            "best_epoch": best_epoch, "early_stop": stopping,
        }
        history.append(entry)
        if on_epoch:
            on_epoch(entry)
        if stopping:
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    test_probs = predict_proba(net, data.X[split.test])
    test = evaluate_model(test_probs, data.y[split.test], data.track[split.test], track_labels)
    baselines = {
        "majority": majority_baseline(y_train, data.y[split.test]),
        "logreg": logreg_baseline(data.X[split.train], y_train, data.X[split.test], data.y[split.test],
                                  seed=config.seed),
    }
    return FitResult(
        net=net, history=history, best_epoch=best_epoch, test=test, baselines=baselines,
        counts_before=class_counts(y_train), counts_after=class_counts(y_tr), notes=list(res.notes),
        n_train_tracks=int(np.unique(data.track[split.train]).size),
        n_test_tracks=int(np.unique(data.track[split.test]).size),
    )


def _summary(result: FitResult, protocol: str) -> dict[str, Any]:
    t = result.test
    return {
        "protocol": protocol,
        "segment_accuracy": t["segment_accuracy"], "track_accuracy": t["track_accuracy"],
        "macro_f1": t["macro_f1"], "track_macro_f1": t["track_macro_f1"],
        "balanced_accuracy": t["balanced_accuracy"], "n_segments": t["n_segments"], "n_tracks": t["n_tracks"],
        "per_class": t["segment"]["per_class"], "confusion": t["confusion"], "track_confusion": t["track_confusion"],
        "baselines": {
            name: {"accuracy": b["accuracy"], "macro_f1": b["macro_f1"], "balanced_accuracy": b["balanced_accuracy"]}
            for name, b in result.baselines.items()
        },
        "best_epoch": result.best_epoch, "epochs_run": len(result.history),
        "train_tracks": result.n_train_tracks, "test_tracks": result.n_test_tracks,
        "train_segments_before": result.counts_before, "train_segments_after": result.counts_after,
        "history": result.history, "notes": result.notes,
    }


def _card(name: str, dataset: dict[str, Any], config: TrainConfig, metrics: dict[str, Any]) -> str:
    lines = [f"# Model card: {name}", "",
             "A hybrid CNN-LSTM that classifies each of a track's 20 segments into the nine GEMS emotions "
             "of Emotify; the track's emotion is the mean of its segments' probabilities.", "",
             "## Data", f"- {dataset['description']}, fingerprint `{dataset['fingerprint']}`."]
    if dataset.get("kind") == "demo":
        lines.append("- **The demo corpus is synthetic music with simulated listeners.** This model recognises the "
                     "archetypes mer's synthesiser plays; it is not a model of human emotion. Train on the real "
                     "Emotify (`python -m mer data fetch-emotify`) for that.")
    lines += ["", "## Training",
              f"- Split protocol: **{config.protocol}** "
              f"({'tracks split, no track on two sides' if config.protocol == 'track' else 'segments shuffled independently, as in the study'}).",
              f"- Oversampling of the training fold: {SAMPLER_LABELS[config.sampler]} (k={config.k_neighbors}).",
              f"- Adam, lr {config.lr:g} with ReduceLROnPlateau (×{config.lr_factor:g} after {config.lr_patience} "
              f"epochs without progress), dropout {config.dropout:g}, batch {config.batch_size}, "
              f"up to {config.epochs} epochs, early stopping after {config.patience}, seed {config.seed}.",
              "", "## Test metrics", "", "| protocol | segment accuracy | track accuracy | macro-F1 | majority baseline | logistic regression |",
              "|---|---|---|---|---|---|"]
    for proto, m in metrics["test"].items():
        lines.append(f"| {proto} | {m['segment_accuracy']:.3f} | {m['track_accuracy']:.3f} | {m['macro_f1']:.3f} | "
                     f"{m['baselines']['majority']['accuracy']:.3f} | {m['baselines']['logreg']['accuracy']:.3f} |")
    lines += ["", "Chance level for nine classes is 0.111. The segment protocol puts segments of one track on both "
              "sides of the split, so its numbers are inflated; the track protocol is the honest one.", "",
              "## Limits",
              "- Nine-way single-label classification of the dominant emotion; listeners often feel several.",
              "- Trained on one-minute excerpts; very different music, recording quality or lengths may fare worse.", ""]
    return "\n".join(lines)


def train(root: str | os.PathLike, *, config: TrainConfig = TrainConfig(), out: str | os.PathLike | None = None,
          feature_config: FeatureConfig = FeatureConfig(), audio_config: AudioConfig = AudioConfig(),
          model_config: ModelConfig = ModelConfig(), both_protocols: bool = False, replace: bool = False,
          cache_dir: str | os.PathLike | None = None, on_progress: ProgressFn | None = None,
          on_epoch: EpochFn | None = None, should_stop: StopFn | None = None) -> Path:
    """Train a model on an Emotify-layout corpus and write its directory.

    Parameters
    ----------
    root : path
        Corpus folder (``data.csv`` + ``emotifymusic/``).
    config : TrainConfig
    out : path, optional
        Model directory to write; default ``models/<protocol>-<timestamp>``.
    both_protocols : bool
        Also train and test under the other split protocol, so ``metrics.json``
        holds both (the saved weights are those of ``config.protocol``).
    replace : bool
        Replace an existing model directory at ``out`` (only once the new one is complete).

    Returns
    -------
    Path of the new model directory.
    """
    check_train_config(config)
    if model_config.n_mels != feature_config.n_mels:
        raise TrainingError(f"The model expects {model_config.n_mels} mel bands but the features give "
                            f"{feature_config.n_mels}.")
    if out is None:
        out = models_dir() / new_model_name(config.protocol)
    out = Path(out)
    if out.exists() and not replace:
        raise TrainingError(f"'{out}' already exists. Choose another --out, or pass --replace to overwrite it.")
    corpus = load_corpus(root)
    data = segment_data(corpus, audio_config=audio_config, feature_config=feature_config, cache_dir=cache_dir,
                        on_progress=on_progress)
    main = fit(data, corpus.labels, config, model_config, on_epoch=on_epoch, should_stop=should_stop,
               floor_db=feature_config.floor_db)
    metrics: dict[str, Any] = {"protocol": config.protocol, "test": {config.protocol: _summary(main, config.protocol)}}
    if both_protocols:
        other = "segment" if config.protocol == "track" else "track"
        if on_progress:
            on_progress(0, 1, f"training under the {other} protocol for comparison")
        res = fit(data, corpus.labels, dataclasses.replace(config, protocol=other), model_config,
                  on_epoch=on_epoch, should_stop=should_stop, floor_db=feature_config.floor_db)
        metrics["test"][other] = _summary(res, other)
    dataset = describe_dataset(corpus)
    return save_model(main.net, name=out.name, root=out.parent, audio_config=audio_config,
                      feature_config=feature_config, model_config=dataclasses.replace(model_config, dropout=config.dropout),
                      train_config=config, dataset=dataset, metrics=metrics,
                      card=_card(out.name, dataset, config, metrics), replace=replace)
