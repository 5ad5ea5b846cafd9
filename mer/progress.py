"""What long work reports: ``on_progress(done, total, message)``, and training's :class:`Epoch` records.

The CLI prints them as lines, the app draws a bar and learning curves; the library only calls them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["ProgressFn", "Epoch", "EpochFn"]

#: ``on_progress(done, total, message)``: ``done`` of ``total`` units finished, and what is being done.
ProgressFn = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Epoch:
    """One epoch of one fit: what the progress line, the job's bar and the learning curves show."""

    stage: str  # which fit: "fold 2/5", "ladder: segment protocol", "final model"
    epoch: int
    epochs: int  # the most this fit may run (early stopping ends it sooner)
    train_loss: float
    val_loss: float
    val_accuracy: float
    lr: float
    seconds: float
    best_epoch: int
    early_stop: bool  # this fit stops after this epoch

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Epoch:
        """From :meth:`to_dict` output (other keys, such as a progress event's ``"event"``, are ignored)."""
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls)})

    def line(self) -> str:
        """The progress line the command prints."""
        where = f"{self.stage}: " if self.stage else ""
        return (f"{where}epoch {self.epoch}/{self.epochs}: train loss {self.train_loss:.3f}, val loss "
                f"{self.val_loss:.3f}, val acc {self.val_accuracy:.3f}, lr {self.lr:.2g}, {self.seconds:.1f} s")


#: ``on_epoch(epoch)``: called after every epoch of every fit.
EpochFn = Callable[[Epoch], None]
