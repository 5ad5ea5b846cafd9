"""A newly trained model beside the active one, by their cross-validated numbers: what the Train page shows when a
run finishes, before the model is promoted."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..model_files import load_metrics

__all__ = ["ScoredModel", "ModelComparison", "compare_models"]


@dataclass(frozen=True)
class ScoredModel:
    """One model's pooled out-of-fold scores: track accuracy, the folds' spread of it, macro-F1, listener
    agreement, and the data it was cross-validated on (in words)."""

    label: str
    accuracy: float
    fold_spread: float
    macro_f1: float
    agreement: float
    data: str


@dataclass(frozen=True)
class ModelComparison:
    """The models that have cross-validated numbers, the new one first.

    Attributes
    ----------
    models : tuple of ScoredModel
        One or two.
    """

    models: tuple[ScoredModel, ...]

    def rows(self) -> list[dict[str, str]]:
        """The table as the page shows it: accuracy and spread in percent, the rest to three decimals, and, with two
        models, the difference (new − active; accuracy in points)."""
        rows = [{"model": m.label, "CV track accuracy": f"{m.accuracy:.1%}", "folds ±": f"{m.fold_spread:.1%}",
                 "macro-F1": f"{m.macro_f1:.3f}", "agreement": f"{m.agreement:.3f}"} for m in self.models]
        if len(self.models) == 2:
            new, old = self.models
            rows.append({"model": "difference (new − active)",
                         "CV track accuracy": f"{(new.accuracy - old.accuracy) * 100:+.1f} points", "folds ±": "",
                         "macro-F1": f"{new.macro_f1 - old.macro_f1:+.3f}",
                         "agreement": f"{new.agreement - old.agreement:+.3f}"})
        return rows

    @property
    def data(self) -> str:
        """What each model was cross-validated on: ``label: data; label: data`` (plain text)."""
        return "; ".join(f"{m.label}: {m.data}" for m in self.models)


def compare_models(new: str | os.PathLike, active: str | os.PathLike, active_name: str) -> ModelComparison | None:
    """The model folder ``new`` beside the active model (folder ``active``, named ``active_name``), each labelled
    ``new: NAME`` and ``active: NAME``; a model without cross-validation is left out, and None where neither has
    it."""
    new = Path(new)
    models = []
    for label, path in ((f"new: {new.name}", new), (f"active: {active_name}", Path(active))):
        metrics = load_metrics(path)
        if metrics and metrics.cv:
            cv = metrics.cv
            models.append(ScoredModel(label=label, accuracy=cv.pooled.accuracy, fold_spread=cv.fold_accuracy[1],
                                      macro_f1=cv.pooled.macro_f1, agreement=cv.pooled.agreement, data=cv.data))
    return ModelComparison(tuple(models)) if models else None
