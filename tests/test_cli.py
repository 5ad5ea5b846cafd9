"""The command line end to end: train, its progress and plan, the card, evaluate."""

from __future__ import annotations

import json

import numpy as np

from mer.cli import main
from mer.config import TrainConfig
from mer.emotify import load_corpus


def test_train_card_and_evaluate_cli_end_to_end(tiny_corpus, tmp_path, capsys):
    from mer.demo import DemoConfig, generate_demo_corpus

    out = tmp_path / "cli-model"
    code = main(["train", "--root", str(tiny_corpus), "--out", str(out), "--epochs", "1", "--cv-folds", "2",
                 "--ladder", "--progress-json", "--front-end", "logmel", "--conv-channels", "32,32", "--embedding", "32",
                 "--lstm-hidden", "16"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    events = [json.loads(line) for line in captured.out.splitlines()]
    stages = [e["stage"] for e in events if e["event"] == "epoch"]
    assert stages == ["fold 1/2", "fold 2/2", "ladder: segment protocol", "ladder: study protocol"]  # ships the folds
    assert sorted(set(stages), key=stages.index) == TrainConfig(cv_folds=2, ladder=True).fits()  # the announced plan
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
