"""The leakage ladder with two families: the study's recipe and mer's network, on the same tracks and splits.

The study reports 94.7 % on Emotify. Its figure comes from its protocol: SMOTE
on all segments, then a random split of segments, so every test segment has
its 19 siblings, and synthetic points interpolated from it, in training. A
regularised network like mer's gains little from that; a memorising one like
the study's gains a lot. :func:`run_ladder` runs both families under the three
protocols of :data:`mer.training.evaluate.PROTOCOL_LABELS` with the same tracks, the
same segment split, the same track folds and the same seed, so the only thing
that differs between two bars of one protocol is the family.

``python -m mer ladder --save`` writes the result to ``models/ladder.json``
(:func:`mer.registry.save_ladder`); the Model page and ``python -m mer card --json`` read it from there.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..choices import Family
from ..config import ModelConfig, TrainConfig
from ..emotions import EMOTIONS
from ..errors import DataError, ModelError
from ..frontend import front_end
from ..progress import EpochFn, ProgressFn
from ..results import FAMILIES, FAMILY_LABELS, FamilyLadder, FitSummary, LadderReport
from ..run_config import read_run_config
from ..serial import to_dict
from .loop import StopFn
from .study import StudyConfig, corpus_study_features, load_study_features, study_ladder
from .train import cross_validate, ladder

__all__ = ["LADDER_STUDY_CONFIG", "LadderData", "ladder_data", "run_ladder", "default_recipe"]

#: The fraction of segments tested by the two segment-level protocols (as :func:`mer.training.train.ladder`).
TEST_FRACTION = 0.2
#: The study's network as the ladder runs it: a quarter of its convolution filters (32-64-128 instead of
#: 128-256-512; 0.40 M weights instead of 2.5 M), everything else as the study's code. The full width costs
#: about 6 times as much (14 s an epoch on one core against 2.5 s) and would take over half an hour on two
#: cores; ``python -m mer ladder --full-width`` runs it.
LADDER_STUDY_CONFIG = StudyConfig(conv_channels=(32, 64, 128))


@dataclass(frozen=True)
class LadderData:
    """What the two families read, row for row the same tracks."""

    study: np.ndarray | None  # (n_tracks, n_segments, 28): the study's features
    mer: Any  # a mer.data.dataset.TrackData of MusiCNN embeddings, or None
    labels: np.ndarray  # each track's dominant emotion
    description: str


def _aligned_study_features(track_id: np.ndarray) -> np.ndarray:
    """The bundled study features in the order of ``track_id``; refused with the counts when the sets differ."""
    feats = load_study_features()
    have, want = set(feats.track_id.tolist()), set(track_id.tolist())
    if have != want:
        raise DataError(f"The bundled study features are of another set of tracks: they hold {len(have)} tracks, "
                        f"the bundled embeddings {len(want)} ({len(want - have)} of these missing, "
                        f"{len(have - want)} others extra). Rebuild them with "
                        "`python benchmarks/bundle_study_features.py --root ../shared/emotify`.")
    order = {t: i for i, t in enumerate(feats.track_id.tolist())}
    return feats.X[[order[t] for t in track_id.tolist()]]


def ladder_data(families: tuple[Family | str, ...], *, root: str | os.PathLike | None = None, allow_missing: bool = False,
                cache_dir: str | os.PathLike | None = None, on_progress: ProgressFn | None = None) -> LadderData:
    """The inputs of the ladder: the bundled features (``root`` None) or those of a corpus's audio (cached).

    Raises
    ------
    DataError
        Audio missing (without ``allow_missing``), or bundled features of another set of tracks.
    """
    from ..data.embedded import bundled_track_data, embedding_track_data, load_bundled_embeddings
    from ..data.emotify import load_annotations, load_corpus

    fine_tune = Family.MER in families and default_recipe()[1].fine_tune
    refusal = front_end(default_recipe()[1]).bundled_refusal() if Family.MER in families else None
    if root is None and refusal:
        raise DataError(refusal)
    if root is None:
        data = bundled_track_data() if Family.MER in families else None
        ids = data.track_id if data is not None else load_bundled_embeddings().track_id
        labels = data.labels if data is not None else \
            load_annotations().tracks.set_index("track_id").loc[ids][list(EMOTIONS)].to_numpy().argmax(axis=1)
        study = _aligned_study_features(np.asarray(ids)) if Family.STUDY in families else None
        return LadderData(study=study, mer=data, labels=np.asarray(labels),
                          description=f"Emotify, {len(ids)} tracks (bundled features)")
    corpus = load_corpus(root, allow_missing=allow_missing)
    study = corpus_study_features(corpus, cache_dir=cache_dir, on_progress=on_progress) if Family.STUDY in families else None
    data = (embedding_track_data(corpus, block_inputs=fine_tune, cache_dir=cache_dir, on_progress=on_progress)
            if Family.MER in families else None)
    return LadderData(study=study, mer=data, labels=corpus.labels,
                      description=f"{len(corpus)} tracks of '{corpus.root}'")


def default_recipe() -> tuple[TrainConfig, ModelConfig]:
    """mer's family: the bundled default model's training and model settings (``models/default/config.json``)."""
    path = Path(__file__).resolve().parent.parent.parent / "models" / "default" / "config.json"
    try:
        return read_run_config(path)
    except (OSError, ValueError, KeyError) as e:
        raise ModelError(f"Cannot read mer's default recipe from '{path}' ({e}).") from None


def run_ladder(families: tuple[Family | str, ...] = FAMILIES, *, root: str | os.PathLike | None = None,
               allow_missing: bool = False, seed: int = 0, study_config: StudyConfig = LADDER_STUDY_CONFIG,
               cache_dir: str | os.PathLike | None = None, workers: int | None = None,
               on_progress: ProgressFn | None = None, on_epoch: EpochFn | None = None,
               should_stop: StopFn | None = None) -> LadderReport:
    """Each family under the study's, the segment and the track protocol, on the same tracks, splits and seed.

    mer's family is trained with the bundled default model's settings
    (:func:`default_recipe`); its ``track`` rung is its cross-validated track
    accuracy. The study's family uses ``study_config``. Both use the default
    recipe's folds (``cv_folds``, ``val_fraction``) and :data:`TEST_FRACTION`.

    The study's fits run side by side on ``workers`` processes (default: one per core).
    Deterministic for a seed: two runs give the same numbers, whatever ``workers``.
    """
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise DataError(f"Unknown ladder family {unknown or families}: choose from {', '.join(FAMILIES)}.")
    families = tuple(map(Family, families))
    config, model_config = default_recipe()
    config = replace(config, seed=seed, ladder=True)
    data = ladder_data(families, root=root, allow_missing=allow_missing, cache_dir=cache_dir, on_progress=on_progress)
    out: dict[str, FamilyLadder] = {}
    for family in families:
        t0 = time.perf_counter()
        if on_progress:
            on_progress(len(out), len(families), f"ladder: {FAMILY_LABELS[family]}")
        fits: list[FitSummary] = []
        if family == Family.STUDY:
            rungs, fits = study_ladder(data.study, data.labels, config=study_config, seed=config.seed,
                                       test_fraction=TEST_FRACTION, val_fraction=config.val_fraction,
                                       n_folds=config.cv_folds, workers=workers, on_progress=on_progress,
                                       on_epoch=on_epoch, should_stop=should_stop)
            settings = to_dict(study_config)
        else:
            cv, _ = cross_validate(data.mer, config, model_config, description=data.description, on_epoch=on_epoch,
                                   should_stop=should_stop)
            rungs = ladder(data.mer, config, model_config, cv, test_fraction=TEST_FRACTION, on_epoch=on_epoch,
                           should_stop=should_stop)
            settings = {"train": to_dict(config), "model": to_dict(model_config)}
        out[family] = FamilyLadder(family=family, rungs=rungs, seconds=time.perf_counter() - t0, config=settings,
                                   fits=fits)
    if on_progress:
        on_progress(len(families), len(families), "ladder done")
    return LadderReport(data=data.description, n_tracks=len(data.labels), seed=seed, families=out)
