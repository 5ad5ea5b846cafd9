"""The bookkeeping every training loop shares (mer.training.loop): shuffled batches that stop when asked, and
early stopping's record of the best epoch."""

from __future__ import annotations

import pytest
import torch

from mer.errors import TrainingCancelled
from mer.training.loop import BestEpoch, shuffled_batches


def test_an_epochs_batches_cover_each_row_once_and_drop_a_last_batch_of_one():
    gen = torch.Generator().manual_seed(0)
    batches = list(shuffled_batches(11, 5, gen, None, "cancelled"))
    assert [len(b) for b in batches] == [5, 5]  # the 11th row alone would break batch norm: dropped
    rows = torch.cat(batches).tolist()
    assert len(set(rows)) == 10 and set(rows) <= set(range(11))
    again = list(shuffled_batches(11, 5, torch.Generator().manual_seed(0), None, "cancelled"))
    assert all(torch.equal(a, b) for a, b in zip(batches, again))  # the seed fixes the order
    assert [len(b) for b in shuffled_batches(12, 5, gen, None, "x")] == [5, 5, 2]


def test_batches_stop_as_soon_as_asked_with_the_callers_message():
    asked = []
    batches = shuffled_batches(20, 4, torch.Generator().manual_seed(0), lambda: asked.append(1) or len(asked) > 2,
                               "Training cancelled at epoch 3.")
    assert len(next(batches)) == 4 and len(next(batches)) == 4
    with pytest.raises(TrainingCancelled, match="Training cancelled at epoch 3."):
        next(batches)


def test_the_best_epoch_keeps_its_weights_and_early_stopping_counts_from_it():
    net = torch.nn.Linear(2, 1)
    best = BestEpoch("fold 1/5", epochs=10, patience=2, min_delta=0.01)
    losses = [1.0, 0.8, 0.795, 0.9, 0.7]
    records = []
    for epoch, loss in enumerate(losses, 1):
        with torch.no_grad():
            net.bias.fill_(float(epoch))  # each epoch's weights tell which epoch they are
        records.append(best.record(net, epoch, 1.0, loss, 0.5, 1e-3, 0.1))
    # 0.795 is better than 0.8 by less than min_delta: not a new best
    assert [r.best_epoch for r in records] == [1, 2, 2, 2, 5]
    assert [r.early_stop for r in records] == [False, False, False, True, False]
    assert records[2].stage == "fold 1/5" and records[2].epochs == 10 and best.history == records
    with torch.no_grad():
        net.bias.fill_(0.0)
    best.restore(net)
    assert net.bias.item() == 5.0 and best.loss == 0.7
