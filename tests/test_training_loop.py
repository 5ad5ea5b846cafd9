"""The one epoch loop every training shares (mer.training.loop): shuffled batches that stop when asked, early
stopping's record of the best epoch, the learning-rate schedule and a pass over the batches."""

from __future__ import annotations

import pytest
import torch

from mer.errors import TrainingCancelled
from mer.training.loop import BestEpoch, Schedule, run_epochs, shuffled_batches, train_pass


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


def _scripted(val_losses, schedule, lr=0.1):
    """A one-weight network whose weight is the epoch's number, validated with ``val_losses`` in turn."""
    net = torch.nn.Linear(1, 1, bias=False)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    epochs = iter(range(1, len(val_losses) + 1))

    def step():
        with torch.no_grad():
            net.weight.fill_(next(epochs))
        return 0.0

    losses = iter(val_losses)
    seen = []
    best = run_epochs(net, opt, step, lambda: (next(losses), 0.5), schedule, stage="fold 1/2", on_epoch=seen.append)
    return net, best, seen


def test_the_best_epoch_is_kept_training_stops_after_patience_and_the_rate_halves_on_a_plateau():
    net, best, seen = _scripted([1.0, 0.5, 0.6, 0.4, 0.45, 0.5, 0.3, 0.2],
                                Schedule(epochs=8, patience=2, lr_factor=0.5, lr_patience=1))
    assert best.epoch == 4 and float(net.weight.detach()) == 4.0  # the best epoch's weights, not the last one's
    assert [e.epoch for e in best.history] == [1, 2, 3, 4, 5, 6]  # two epochs without a better loss: stopped
    assert [e.early_stop for e in seen] == [False] * 5 + [True] and seen == best.history
    assert [e.best_epoch for e in seen] == [1, 2, 2, 4, 4, 4]
    assert [e.lr for e in seen] == pytest.approx([0.1] * 5 + [0.05])  # lowered after two epochs without gain
    assert {e.stage for e in seen} == {"fold 1/2"} and all(e.epochs == 8 for e in seen)


def test_an_improvement_smaller_than_min_delta_does_not_count_and_the_last_epoch_ends_the_run():
    net, best, _ = _scripted([1.0, 0.5, 0.6, 0.45], Schedule(epochs=4, patience=2, lr_factor=0.5, lr_patience=5,
                                                             min_delta=0.1))
    assert best.epoch == 2 and float(net.weight.detach()) == 2.0 and len(best.history) == 4
    net, best, _ = _scripted([1.0, 0.9, 0.8], Schedule(epochs=3, patience=5, lr_factor=0.5, lr_patience=5))
    assert best.epoch == 3 and len(best.history) == 3 and not best.history[-1].early_stop


def test_a_pass_steps_once_per_batch_drops_a_last_batch_of_one_and_reports_the_mean_loss_per_row():
    net = torch.nn.Linear(1, 1, bias=False)
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    batches = []

    def batch_loss(b):
        batches.append(b.tolist())
        return net(torch.ones(len(b), 1)).sum() * 0 + float(len(b))

    mean = train_pass(net, opt, batch_loss, 5, 2, torch.Generator().manual_seed(0), None, "cancelled")
    assert [len(b) for b in batches] == [2, 2] and len(set(sum(batches, []))) == 4  # five rows: the fifth alone is dropped
    assert mean == pytest.approx((2 * 2 + 2 * 2) / 5) and net.training


def test_a_pass_stops_between_batches_when_asked():
    net = torch.nn.Linear(1, 1, bias=False)
    asked = iter([False, True])
    steps = []

    def batch_loss(b):
        steps.append(len(b))
        return net(torch.ones(len(b), 1)).sum()

    with pytest.raises(TrainingCancelled, match="stopped by the test"):
        train_pass(net, torch.optim.SGD(net.parameters(), lr=0.1), batch_loss, 8, 2, torch.Generator().manual_seed(0),
                   lambda: next(asked), "stopped by the test")
    assert steps == [2]
