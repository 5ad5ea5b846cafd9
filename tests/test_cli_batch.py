"""The library commands (mer.cli.batch) on a small synthetic batch: JSON answers, and one error line for a bad
start. The batch command itself: test_batch.py; the library commands at scale: test_library_scale.py."""

from __future__ import annotations

import json

import pytest

from mer.batch.synthetic import write_synthetic_batch
from mer.cli import main


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli-batch") / "b"
    write_synthetic_batch(out, 40, seed=6, error_rate=0.1)
    return out


def test_query_similar_and_journey_answer_in_json(batch, capsys):
    assert main(["library", "query", str(batch), "--emotion", "calmness", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    tracks = answer["rows"]
    assert len(tracks) == answer["total"] > 0 and {t["top_emotion"] for t in tracks} == {"calmness"}
    assert main(["library", "similar", str(batch), tracks[0]["path"], "--top", "3", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["similar"]) == 3
    assert main(["library", "journey", str(batch), "--from", tracks[0]["path"], "--to", "calmness", "--steps", "3",
                 "--json"]) == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    assert len(steps) == 3 and steps[0]["path"] == tracks[0]["path"]


def test_a_start_that_is_neither_an_emotion_nor_a_track_is_one_error_line(batch, capsys):
    assert main(["library", "journey", str(batch), "--from", "joy", "--to", "calmness"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --from 'joy' is neither one of the nine emotions")
