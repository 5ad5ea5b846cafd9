"""The one epoch loop of mer's networks and the study's recipe: shuffled batches that stop when asked
(:func:`train_pass`), early stopping's record of the best epoch (:class:`BestEpoch`), and the epochs themselves
with the learning rate lowered on plateaus (:func:`run_epochs`). Each fit brings its own loss and validation."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import TrainingCancelled
from ..progress import Epoch, EpochFn

__all__ = ["StopFn", "shuffled_batches", "train_pass", "BestEpoch", "Schedule", "run_epochs"]

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


def train_pass(net, opt, batch_loss: Callable[[Any], Any], n: int, batch_size: int, gen, should_stop: StopFn | None,
               cancelled: str) -> float:
    """Train one pass over ``n`` rows in shuffled batches (:func:`shuffled_batches`), one step of ``opt`` each.

    Parameters
    ----------
    batch_loss : callable
        The loss tensor of one batch, given its row indices (a ``torch.Tensor``).

    Returns
    -------
    float
        The mean loss per row.
    """
    net.train()
    total = 0.0
    for b in shuffled_batches(n, batch_size, gen, should_stop, cancelled):
        loss = batch_loss(b)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(b)
    return total / max(1, n)


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


@dataclass(frozen=True)
class Schedule:
    """How long a fit may run: at most ``epochs``, stopped after ``patience`` epochs without a validation loss
    better by more than ``min_delta``; the learning rate multiplied by ``lr_factor`` after ``lr_patience`` such
    epochs (torch's ``ReduceLROnPlateau``, Keras's callback of the same name)."""

    epochs: int
    patience: int
    lr_factor: float
    lr_patience: int
    min_delta: float = 0.0


def run_epochs(net, opt, step: Callable[[], float], evaluate: Callable[[], tuple[float, float]], schedule: Schedule, *,
               stage: str = "", on_epoch: EpochFn | None = None) -> BestEpoch:
    """Train ``net`` epoch by epoch until the schedule stops it, then give it the best epoch's weights.

    Parameters
    ----------
    step : callable
        Trains one epoch (usually with :func:`train_pass`); returns its mean training loss.
    evaluate : callable
        The validation loss and accuracy of ``net`` as it is now (which puts it in evaluation mode).
    schedule : Schedule
        Early stopping and the learning rate's plateaus.
    stage : str
        The fit's label in the epochs' records.
    on_epoch : callable, optional
        Given each epoch's record as it ends.

    Returns
    -------
    BestEpoch
        The epochs' records (``history``) and the best one (``epoch``); ``net`` holds its weights.
    """
    import torch

    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=schedule.lr_factor, patience=schedule.lr_patience)
    best = BestEpoch(stage, schedule.epochs, schedule.patience, min_delta=schedule.min_delta)
    for epoch in range(1, schedule.epochs + 1):
        t0 = time.perf_counter()
        train_loss = step()
        val_loss, val_accuracy = evaluate()
        sched.step(val_loss)
        entry = best.record(net, epoch, train_loss, val_loss, val_accuracy, opt.param_groups[0]["lr"],
                            time.perf_counter() - t0)
        if on_epoch:
            on_epoch(entry)
        if entry.early_stop:
            break
    best.restore(net)
    return best
