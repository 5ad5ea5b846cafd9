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

from .choices import FitKind
from .config import Fit
from .progress import Epoch

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
FAMILIES: tuple[str, ...] = ("study", "mer")
FAMILY_LABELS: dict[str, str] = {
    "study": "the study's recipe (28 librosa means per segment, Conv1D-LSTM)",
    "mer": "mer's default model (MusiCNN embeddings, BiLSTM)",
}
#: The study's published accuracy (segments, its own protocol), drawn as a reference line.
STUDY_PUBLISHED = 0.947


@dataclass(frozen=True)
class ClassScore:
    """Precision, recall and F1 of one emotion, and how many true samples it had."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Metrics:
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

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["per_class"] = {e: dict(s.__dict__) for e, s in self.per_class.items()}
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Metrics:
        return cls(**{**d, "per_class": {e: ClassScore(**s) for e, s in d["per_class"].items()}})


@dataclass(frozen=True)
class FoldReport:
    """One cross-validation fold: its test metrics, training curve and best epoch."""

    metrics: Metrics
    history: list[Epoch] = field(default_factory=list)
    best_epoch: int = 0
    n_train: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": self.metrics.to_dict(), "history": [e.to_dict() for e in self.history],
                "best_epoch": self.best_epoch,
                "n_train": self.n_train}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FoldReport:
        return cls(Metrics.from_dict(d["metrics"]), [Epoch.from_dict(e) for e in d.get("history", [])],
                   d.get("best_epoch", 0), d.get("n_train", 0))


@dataclass(frozen=True)
class CVReport:
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

    def to_dict(self) -> dict[str, Any]:
        return {"pooled": self.pooled.to_dict(), "folds": [f.to_dict() for f in self.folds],
                "baselines": {k: v.to_dict() for k, v in self.baselines.items()},
                "n_folds": self.n_folds, "seed": self.seed, "data": self.data}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CVReport:
        return cls(pooled=Metrics.from_dict(d["pooled"]), folds=[FoldReport.from_dict(f) for f in d["folds"]],
                   baselines={k: Metrics.from_dict(v) for k, v in d["baselines"].items()},
                   n_folds=d["n_folds"], seed=d["seed"], data=d["data"])


@dataclass(frozen=True)
class Rung:
    """One protocol of the leakage ladder: an accuracy and what it is an accuracy of."""

    protocol: str  # "study", "segment" or "track"
    unit: str  # "segment" or "track"
    accuracy: float
    n_test: int
    description: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Rung:
        return cls(**d)


@dataclass(frozen=True)
class VAScores:
    """How well a valence–arousal model sides 4Q's clips: accuracy of each sign, its ROC AUC, and the quadrant."""

    valence_accuracy: float
    valence_auc: float
    arousal_accuracy: float
    arousal_auc: float
    quadrant_accuracy: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 6) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VAScores:
        return cls(**{k: float(d[k]) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class VAMetrics:
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
    fold_quadrant: list[float]
    segments: tuple[float, float]
    brier: tuple[float, float]
    baselines: dict[str, VAScores]
    anchors: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    c: tuple[float, float] = (0.0, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "protocol": self.protocol, "n_clips": self.n_clips, "n_artists": self.n_artists,
                "folds": self.folds, "head": self.head.to_dict(),
                "fold_quadrant": [round(float(a), 6) for a in self.fold_quadrant],
                "segments": [round(float(a), 6) for a in self.segments],
                "brier": [round(float(a), 6) for a in self.brier],
                "baselines": {k: b.to_dict() for k, b in self.baselines.items()},
                "anchors": {k: [round(float(v), 6), round(float(a), 6), int(n)] for k, (v, a, n) in self.anchors.items()},
                "c": [float(c) for c in self.c]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VAMetrics:
        return cls(data=str(d["data"]), protocol=str(d["protocol"]), n_clips=int(d["n_clips"]),
                   n_artists=int(d["n_artists"]), folds=int(d["folds"]), head=VAScores.from_dict(d["head"]),
                   fold_quadrant=[float(a) for a in d["fold_quadrant"]],
                   segments=(float(d["segments"][0]), float(d["segments"][1])),
                   brier=(float(d["brier"][0]), float(d["brier"][1])),
                   baselines={k: VAScores.from_dict(b) for k, b in d["baselines"].items()},
                   anchors={k: (float(v[0]), float(v[1]), int(v[2])) for k, v in d.get("anchors", {}).items()},
                   c=(float(d["c"][0]), float(d["c"][1])) if d.get("c") else (0.0, 0.0))


@dataclass(frozen=True)
class ModelMetrics:
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
    valence_arousal: VAMetrics | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"cv": self.cv.to_dict() if self.cv else None,
                "ladder": {k: r.to_dict() for k, r in self.ladder.items()},
                "history": [e.to_dict() for e in self.history], "best_epoch": self.best_epoch,
                "seconds": self.seconds,
                **({"valence_arousal": self.valence_arousal.to_dict()} if self.valence_arousal else {})}

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

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelMetrics:
        return cls(cv=CVReport.from_dict(d["cv"]) if d.get("cv") else None,
                   ladder={k: Rung.from_dict(r) for k, r in d.get("ladder", {}).items()},
                   history=[Epoch.from_dict(e) for e in d.get("history", [])], best_epoch=d.get("best_epoch", 0),
                   seconds=d.get("seconds", 0.0),
                   valence_arousal=VAMetrics.from_dict(d["valence_arousal"]) if d.get("valence_arousal") else None)


@dataclass(frozen=True)
class FitSummary:
    """How long one fit trained: where the ladder's time goes."""

    stage: str
    epochs: int
    best_epoch: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FitSummary:
        return cls(**d)


@dataclass(frozen=True)
class FamilyLadder:
    """One family under the three protocols."""

    family: str  # one of FAMILIES
    rungs: dict[str, Rung]  # "study", "segment", "track"
    seconds: float  # time to run this family's ladder
    config: dict[str, Any]  # the family's settings, as run
    fits: list[FitSummary] = field(default_factory=list)  # the study family's fits: epochs and seconds each

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "rungs": {k: r.to_dict() for k, r in self.rungs.items()},
                "seconds": self.seconds, "config": self.config, "fits": [f.to_dict() for f in self.fits]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FamilyLadder:
        return cls(family=d["family"], rungs={k: Rung.from_dict(r) for k, r in d["rungs"].items()},
                   seconds=d["seconds"], config=d["config"],
                   fits=[FitSummary.from_dict(f) for f in d.get("fits", [])])


@dataclass(frozen=True)
class LadderReport:
    """Both families' ladders on one set of tracks."""

    data: str  # what the tracks are
    n_tracks: int
    seed: int
    families: dict[str, FamilyLadder]

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "n_tracks": self.n_tracks, "seed": self.seed,
                "families": {k: f.to_dict() for k, f in self.families.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LadderReport:
        return cls(data=d["data"], n_tracks=d["n_tracks"], seed=d["seed"],
                   families={k: FamilyLadder.from_dict(f) for k, f in d["families"].items()})


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
