"""The records a run returns and saves (mer.results): JSON and back without loss, and the ladder's sentences."""

from __future__ import annotations

import json

import numpy as np

from mer.results import CVReport, FamilyLadder, FoldReport, LadderReport, ModelMetrics, Rung, rung_sentences
from mer.training.evaluate import score


def _cv() -> CVReport:
    y = np.array([0, 1, 2, 2])
    return CVReport(pooled=score(y, probs=np.eye(9)[[0, 1, 2, 0]], shares=np.full((4, 9), 1 / 9)),
                    folds=[FoldReport(metrics=score(y[:2], y_pred=y[:2]), best_epoch=4, n_train=2)],
                    baselines={"majority": score(y, y_pred=np.full(4, 2))}, n_folds=2, seed=1, data="d")


def test_model_metrics_round_trip_through_json():
    m = ModelMetrics(cv=_cv(), ladder={"track": Rung("track", "track", 0.75, 4, "honest")}, best_epoch=4, seconds=9.5)
    back = ModelMetrics.from_dict(json.loads(json.dumps(m.to_dict())))
    assert back.to_dict() == m.to_dict() and back.cv.pooled.accuracy == 0.75 and back.ladder["track"].n_test == 4


def _ladder() -> LadderReport:
    rungs = {p: Rung(p, "segment" if p != "track" else "track", acc, 100, p) for p, acc in
             (("study", 0.947), ("segment", 0.6), ("track", 0.3))}
    return LadderReport(data="d", n_tracks=10, seed=0,
                        families={"study": FamilyLadder(family="study", rungs=rungs, seconds=1.0, config={})})


def test_a_ladder_round_trips_and_says_one_sentence_a_protocol_most_leaky_first():
    report = _ladder()
    assert LadderReport.from_dict(json.loads(json.dumps(report.to_dict()))).to_dict() == report.to_dict()
    sentences = rung_sentences(report)
    assert [s.split("**")[1] for s in sentences] == ["study", "segment", "track"]
    assert "**94.7%**" in sentences[0] and "(100 test segments)" in sentences[0] and "(100 test tracks)" in sentences[2]
