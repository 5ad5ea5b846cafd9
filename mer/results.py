"""The records of a run, in one place: metrics, cross-validation reports, the leakage ladder's rungs, what
``metrics.json`` and ``ladder.json`` hold.

Pure data: frozen dataclasses with ``to_dict`` / ``from_dict``, so the JSON files round-trip into the same objects
the pages and the command line read. No I/O here (the registry reads and writes the files), nothing above
:mod:`mer.progress` imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .choices import Family, FitKind
from .config import Fit
from .progress import Epoch
from .serial import DIGITS6, OMIT_NONE, Record

__all__ = ["PROTOCOL_LABELS", "CURVES_NOTE", "FAMILIES", "FAMILY_LABELS", "STUDY_PUBLISHED", "LEAKS", "ClassScore", "Metrics",
           "FoldReport", "CVReport", "Rung", "ModelMetrics", "FitSummary", "FamilyLadder", "LadderReport",
           "rung_sentences", "VAScores", "VAMetrics"]

#: What each protocol is, and what it leaks, in one sentence each (shown by the CLI, the card and the Model page).
#: Why a learning curve's training loss may sit above its validation loss (what mer.training.train.run_epoch and
#: mer.training.train.validate each measure).
CURVES_NOTE = ("The training loss is measured while the network learns, on made-harder inputs (some of the network "
               "switched off at random, tracks blended together) and with extra terms added (each segment's own "
               "answer). The validation loss is the whole track's answer alone, on real tracks with the whole "
               "network on, so it can sit below the training loss.")

PROTOCOL_LABELS: dict[str, str] = {
    "study": "study: SMOTE on all segments, then a random segment split — synthetic training points are "
             "interpolated from test segments, and each test segment's 19 siblings are in training",
    "segment": "segment: random segment split, SMOTE on the training fold only — segments of one track still "
               "sit on both sides of the split",
    "track": "track: cross-validation grouped by track — no track on both sides; the honest number",
}
#: The leakage ladder's two families: the study's recipe and mer's network.
FAMILIES: tuple[str, ...] = tuple(Family)
FAMILY_LABELS: dict[str, str] = {
    "study": "the study's recipe (28 librosa means per segment, Conv1D-LSTM)",
    "mer": "mer's default model (MusiCNN embeddings, BiLSTM)",
}
#: The study's published accuracy (segments, its own protocol), drawn as a reference line.
STUDY_PUBLISHED = 0.947


@dataclass(frozen=True)
class ClassScore(Record):
    """Precision, recall and F1 of one emotion, and how many true samples it had."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Metrics(Record):
    """Scores of one set of predictions against the dominant emotions.

    Attributes
    ----------
    accuracy, macro_f1, balanced_accuracy : float
        Macro averages run over the classes present in the truth.
    top3 : float or None
        Share of samples whose true class is among the three most probable
        (None when only hard predictions were scored).
    agreement : float or None
        Mean share of listeners who ticked the predicted emotion (None without vote shares).
    n : int
    per_class : dict[str, ClassScore]
    confusion : list[list[int]]
        ``confusion[i][j]`` counts true ``i`` predicted ``j``.
    """

    accuracy: float
    macro_f1: float
    balanced_accuracy: float
    top3: float | None
    agreement: float | None
    n: int
    per_class: dict[str, ClassScore]
    confusion: list[list[int]]



@dataclass(frozen=True)
class FoldReport(Record):
    """One cross-validation fold: its test metrics, training curve and best epoch."""

    metrics: Metrics
    history: list[Epoch] = field(default_factory=list)
    best_epoch: int = 0
    n_train: int = 0



@dataclass(frozen=True)
class CVReport(Record):
    """Cross-validated track-level results of one model family, with baselines on the same folds.

    Attributes
    ----------
    pooled : Metrics
        Every track's out-of-fold prediction, scored together.
    folds : list[FoldReport]
    baselines : dict[str, Metrics]
        Pooled out-of-fold scores of the baselines on the same folds.
    n_folds, seed : int
    data : str
        What was cross-validated ("320 Emotify tracks, ...").
    """

    pooled: Metrics
    folds: list[FoldReport]
    baselines: dict[str, Metrics]
    n_folds: int
    seed: int
    data: str

    @property
    def fold_accuracy(self) -> tuple[float, float]:
        """Mean and standard deviation of track accuracy over folds."""
        acc = np.array([f.metrics.accuracy for f in self.folds])
        return float(acc.mean()), float(acc.std())



@dataclass(frozen=True)
class Rung(Record):
    """One protocol of the leakage ladder: an accuracy and what it is an accuracy of."""

    protocol: str  # "study", "segment" or "track"
    unit: str  # "segment" or "track"
    accuracy: float
    n_test: int
    description: str



@dataclass(frozen=True)
class VAScores(Record):
    """How well a valence–arousal model sides 4Q's clips: accuracy of each sign, its ROC AUC, and the quadrant."""

    valence_accuracy: float = field(metadata=DIGITS6)
    valence_auc: float = field(metadata=DIGITS6)
    arousal_accuracy: float = field(metadata=DIGITS6)
    arousal_auc: float = field(metadata=DIGITS6)
    quadrant_accuracy: float = field(metadata=DIGITS6)



@dataclass(frozen=True)
class VAMetrics(Record):
    """The valence–arousal head's evaluation, and where it puts Emotify's emotions.

    Attributes
    ----------
    data, protocol : str
        What the clips are, and how they were split (grouped by artist).
    n_clips, n_artists, folds : int
    head : VAScores
        The head's out-of-fold scores, whole clips (mean of the segments' logits).
    fold_quadrant : list of float
        Quadrant accuracy of each fold (the spread of the headline).
    segments : tuple of float
        Valence and arousal accuracy of single segments against their clip's label (each 1.5 s of a 30 s clip,
        with the head's context: what the timeline's points are worth).
    brier : tuple of float
        Valence's and arousal's Brier score of the clips' out-of-fold probabilities (0.25 is a coin).
    baselines : dict of str to VAScores
        The same folds for the GEMS projection (mer's old plane) and a logistic regression on the clips' pooled
        MusiCNN embeddings.
    anchors : dict of str to tuple
        Each emotion's (valence, arousal, tracks): the mean of the head's values over the Emotify tracks whose
        listeners chose that emotion most, where the plane draws it.
    c : tuple of float
        The regularisation the shipped head was fitted with (valence's, arousal's), chosen by grouped folds.
    """

    data: str
    protocol: str
    n_clips: int
    n_artists: int
    folds: int
    head: VAScores
    fold_quadrant: list[float] = field(metadata=DIGITS6)
    segments: tuple[float, float] = field(metadata=DIGITS6)
    brier: tuple[float, float] = field(metadata=DIGITS6)
    baselines: dict[str, VAScores]
    anchors: dict[str, tuple[float, float, int]] = field(default_factory=dict, metadata=DIGITS6)
    c: tuple[float, float] = (0.0, 0.0)



@dataclass(frozen=True)
class ModelMetrics(Record):
    """The contents of ``metrics.json``.

    Attributes
    ----------
    cv : CVReport or None
        Track-grouped cross-validation of this model's recipe (the honest headline).
    ladder : dict[str, Rung]
        The same network under the ``study``, ``segment`` and ``track`` protocols.
    history : list of Epoch
        Epochs of the final fit on all tracks (validation on an inner split).
    best_epoch : int
    seconds : float
        Wall time of the whole training command.
    valence_arousal : VAMetrics or None
        The valence–arousal head's grouped cross-validation on 4Q (None: a model without the head).
    """

    cv: CVReport | None
    ladder: dict[str, Rung] = field(default_factory=dict)
    history: list[Epoch] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0
    valence_arousal: VAMetrics | None = field(default=None, metadata=OMIT_NONE)


    def fits(self) -> list[Fit]:
        """The fits whose learning curves this holds: the cross-validation's folds, then the final fit (if any)."""
        n = len(self.cv.folds) if self.cv is not None else 0
        return [Fit.fold(i + 1, n) for i in range(n)] + ([Fit(FitKind.FINAL)] if self.history else [])

    def curves(self, which: Fit) -> tuple[list[Epoch], int]:
        """The epochs and the best epoch of one fit: a cross-validation fold, or the final fit.

        Raises
        ------
        IndexError
            A fold this model's cross-validation does not have.
        """
        if which.kind == FitKind.FOLD and self.cv is not None:
            fold = self.cv.folds[which.index - 1]
            return fold.history, fold.best_epoch
        return self.history, self.best_epoch



@dataclass(frozen=True)
class FitSummary(Record):
    """How long one fit trained: where the ladder's time goes."""

    stage: str
    epochs: int
    best_epoch: int
    seconds: float



@dataclass(frozen=True)
class FamilyLadder(Record):
    """One family under the three protocols."""

    family: str  # one of FAMILIES
    rungs: dict[str, Rung]  # "study", "segment", "track"
    seconds: float  # time to run this family's ladder
    config: dict[str, Any]  # the family's settings, as run
    fits: list[FitSummary] = field(default_factory=list)  # the study family's fits: epochs and seconds each



@dataclass(frozen=True)
class LadderReport(Record):
    """Both families' ladders on one set of tracks."""

    data: str  # what the tracks are
    n_tracks: int
    seed: int
    families: dict[str, FamilyLadder]



#: What leaks under each protocol, for the sentences beside the ladder.
LEAKS: dict[str, str] = {
    "study": "SMOTE ran on all segments before the split, so synthetic training points are interpolated from test "
             "segments, and each test segment's 19 siblings of the same track are in training: a network that "
             "memorises recognises the track, not the emotion",
    "segment": "SMOTE sees the training segments only, but segments of one track still sit on both sides of the "
               "split: the siblings still give the track away",
    "track": "every track is tested by a model that never heard any of it: what a listener with new music gets",
}


def rung_sentences(report: LadderReport) -> list[str]:
    """One sentence per protocol: what leaks, and each family's number (Markdown)."""
    out = []
    for protocol, leak in LEAKS.items():
        scores = [f"{FAMILY_LABELS[f.family].split(' (')[0]} **{f.rungs[protocol].accuracy:.1%}**"
                  for f in report.families.values() if protocol in f.rungs]
        if scores:
            unit = next(f.rungs[protocol] for f in report.families.values() if protocol in f.rungs)
            out.append(f"**{protocol}** ({unit.n_test:,} test {unit.unit}s): {', '.join(scores)}. {leak[0].upper()}"
                       f"{leak[1:]}.")
    return out
