"""Progress (mer.progress): the epoch record the pages and the job read back, and the command line's lines."""

from __future__ import annotations

import io
import json

from mer.progress import Epoch, ProgressPrinter, RateClock


def _epoch(**kw) -> Epoch:
    return Epoch(**{"stage": "fold 2/5", "epoch": 3, "epochs": 50, "train_loss": 1.23456, "val_loss": 1.5,
                    "val_accuracy": 0.4, "lr": 0.001, "seconds": 2.25, "best_epoch": 2, "early_stop": False, **kw})


def test_an_epoch_round_trips_through_a_progress_event_and_prints_one_line():
    e = _epoch()
    assert Epoch.from_dict({**json.loads(json.dumps(e.to_dict())), "event": "epoch"}) == e
    assert e.line() == ("fold 2/5: epoch 3/50: train loss 1.235, val loss 1.500, val acc 0.400, lr 0.001, 2.2 s")
    assert _epoch(stage="").line().startswith("epoch 3/50:")


def test_lines_off_a_terminal_come_every_tenth_and_at_the_end():
    out = io.StringIO()
    show = ProgressPrinter(style="line", stream=out)
    for done in range(0, 21):
        show(done, 20, "files")
    lines = out.getvalue().splitlines()
    assert lines[0] == "[0/20   0%] files" and lines[-1] == "[20/20 100%] files"
    assert len(lines) == 11  # one a tenth, not one a file


def test_json_lines_count_the_unit_and_always_say_the_end(capsys):
    show = ProgressPrinter(style=None, json_lines=True, unit="file", json_every_s=3600)
    show(1, 3, "a")
    show(2, 3, "b")  # within the hour: not printed
    show(3, 3, "c")
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["done"] for e in events] == [1, 3] and all("files_per_s" in e for e in events)
    assert events[-1]["message"] == "c" and events[-1]["total"] == 3


def test_the_rate_clock_says_how_far_how_fast_and_how_long():
    clock = RateClock("files")
    clock._now = lambda: clock._t0 + 2.0  # two seconds in
    assert clock.line(0, 5) == "0 of 5 files"
    assert clock.line(4, 10) == "4 of 10 files · 2.0 files/s · about 3 s left"
