"""The command line end to end: train, its progress and plan, the card, evaluate."""

from __future__ import annotations

import json

import numpy as np

from mer.cli import main
from mer.config import TrainConfig
from mer.data.emotify import load_corpus


def test_train_card_and_evaluate_cli_end_to_end(tiny_corpus, tmp_path, capsys):
    from mer.data.demo import DemoConfig, generate_demo_corpus

    out = tmp_path / "cli-model"
    code = main(["train", "--root", str(tiny_corpus), "--out", str(out), "--epochs", "1", "--cv-folds", "2",
                 "--ladder", "--progress-json", "--front-end", "logmel", "--conv-channels", "32,32", "--embedding", "32",
                 "--lstm-hidden", "16"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    events = [json.loads(line) for line in captured.out.splitlines()]
    stages = [e["stage"] for e in events if e["event"] == "epoch"]
    assert stages == ["fold 1/2", "fold 2/2", "ladder: segment protocol", "ladder: study protocol"]  # ships the folds
    plan = TrainConfig(cv_folds=2, ladder=True).fits()  # the announced plan
    assert sorted(set(stages), key=stages.index) == [f.label for f in plan]
    assert events[-1] == {"event": "done", "model": str(out)}
    assert "fold 1/2: epoch 1/1: train loss" in captured.err and "cross-validated (2 folds" in captured.err
    assert main(["card", "--model", str(out), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert set(card["protocols"]) == {"study", "segment", "track"}
    assert card["protocols"]["track"]["accuracy"] == card["cross_validation"]["accuracy"]
    assert card["protocols"]["study"]["unit"] == "segment" and card["protocols"]["track"]["unit"] == "track"
    fresh = generate_demo_corpus(tmp_path / "fresh", DemoConfig(tracks=8, seconds=10.5, seed=99))
    assert main(["evaluate", "--model", str(out), "--root", str(fresh), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["n"] == 8 and np.array(ev["confusion"]).sum() == 8
    shares = load_corpus(fresh).shares
    assert shares.min(axis=1).mean() <= ev["agreement"] <= shares.max(axis=1).mean()


class _Started(Exception):
    """Raised where a command would start its work: every number before it was accepted."""


def _numeric_flags(parser, command=()):
    """(subcommand words, flag, type) of every option of every subcommand that takes an int or a float."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _numeric_flags(sub, (*command, name))
        elif action.option_strings and action.type in (int, float):
            yield command, action.option_strings[-1], action.type


def test_every_numeric_flag_of_every_command_is_range_checked_before_work_starts(tmp_path, monkeypatch, capsys):
    import torch

    import mer.batch
    import mer.data.demo
    import mer.data.stats
    import mer.training.ladder
    import mer.training.train
    from mer.cli import _build_parser

    def started(*args, **kwargs):
        raise _Started

    for module, name in ((mer.data.demo, "generate_demo_corpus"), (mer.data.stats, "dataset_stats"),
                         (mer.training.train, "train"), (mer.training.ladder, "run_ladder"), (mer.batch, "run_batch")):
        monkeypatch.setattr(module, name, started)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # an accepted --threads: not this process's
    required = {("data", "demo"): ["--out", str(tmp_path / "demo")], ("batch",): [str(tmp_path), "--out", str(tmp_path / "b")]}
    flags = list(_numeric_flags(_build_parser()))
    assert {(c, f) for c, f, _ in flags} >= {(("data", "demo"), "--tracks"), (("data", "demo"), "--seconds"),
                                             (("data", "demo"), "--seed"), (("data", "stats"), "--seed"),
                                             (("train",), "--threads"), (("train",), "--epochs"), (("train",), "--lr"),
                                             (("ladder",), "--threads"), (("ladder",), "--workers"),
                                             (("batch",), "--chunk-size")}
    refused = {}
    for command, flag, kind in flags:
        values = ["-1", "0", "nan", "inf", "-inf", "1e12", "1e-300"] + (["1000000000000"] if kind is int else [])
        for value in values:
            argv = [*command, *required.get(command, []), f"{flag}={value}"]
            try:
                status = main(argv)
            except _Started:
                status = None  # accepted: the work would start now
            except SystemExit as e:  # argparse: not a number of this kind at all
                status = e.code
            out, err = capsys.readouterr()
            assert "Traceback" not in out + err, argv
            if status is None:
                continue
            errors = [line for line in err.splitlines() if "error:" in line]
            assert status == 2 and len(errors) == 1, (argv, status, err)
            refused[(*command, flag, value)] = errors[0]
    for words, flag in ((("data", "demo"), "--tracks"), (("data", "demo"), "--seconds"), (("data", "demo"), "--seed"),
                        (("data", "stats"), "--seed"), (("train",), "--threads"), (("ladder",), "--threads")):
        for value in ("-1", "1e12") if flag != "--seconds" else ("-1", "0", "nan", "inf", "1e-300", "1e12"):
            assert (*words, flag, value) in refused, (words, flag, value)
    assert "tracks must be between 4 and 10,000" in refused[("data", "demo", "--tracks", "-1")]
    assert "seconds must be a finite number" in refused[("data", "demo", "--seconds", "nan")]
    assert "threads must be between 1 and 1,024 (got -1)" in refused[("ladder", "--threads", "-1")]
    assert len(refused) > 4 * len(flags)  # most of these values are out of every range
