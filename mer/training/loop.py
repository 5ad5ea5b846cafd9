"""The bookkeeping every training loop shares (mer's networks and the study's recipe): shuffled batches that stop
when asked, and early stopping's record of the best epoch."""

from __future__ import annotations

import copy
import math
from typing import Callable

from ..errors import TrainingCancelled
from ..progress import Epoch

__all__ = ["StopFn", "shuffled_batches", "BestEpoch"]

#: Asked between batches: True cancels the run.
StopFn = Callable[[], bool]


def shuffled_batches(n: int, batch_size: int, gen, should_stop: StopFn | None, cancelled: str):
    """Row indices of one epoch in shuffled batches (a last batch of one row is dropped: batch norm needs two).

    Raises :class:`~mer.errors.TrainingCancelled` with the message ``cancelled`` as soon as ``should_stop()``.
    """
    import torch

    order = torch.randperm(n, generator=gen)
    for lo in range(0, n, batch_size):
        if should_stop and should_stop():
            raise TrainingCancelled(cancelled)
        b = order[lo:lo + batch_size]
        if len(b) >= 2:
            yield b


class BestEpoch:
    """Early stopping's bookkeeping for one fit: the epochs' records, the best validation loss's weights, and
    whether ``patience`` epochs have passed without one better by more than ``min_delta``."""

    def __init__(self, stage: str, epochs: int, patience: int, *, min_delta: float = 0.0) -> None:
        self.stage, self.epochs, self.patience, self.min_delta = stage, epochs, patience, min_delta
        self.loss, self.epoch, self.state = math.inf, 0, None
        self.history: list[Epoch] = []

    def record(self, net, epoch: int, train_loss: float, val_loss: float, val_accuracy: float, lr: float,
               seconds: float) -> Epoch:
        """Note an epoch (keeping the network's weights if it is the best so far) and return its record."""
        if val_loss < self.loss - self.min_delta:
            self.loss, self.epoch, self.state = val_loss, epoch, copy.deepcopy(net.state_dict())
        entry = Epoch(stage=self.stage, epoch=epoch, epochs=self.epochs, train_loss=train_loss, val_loss=val_loss,
                      val_accuracy=val_accuracy, lr=lr, seconds=seconds, best_epoch=self.epoch,
                      early_stop=epoch - self.epoch >= self.patience)
        self.history.append(entry)
        return entry

    def restore(self, net) -> None:
        """Give ``net`` the best epoch's weights."""
        net.load_state_dict(self.state)
