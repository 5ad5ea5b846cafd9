"""mer.serial: one serialiser for every record; the files mer wrote read back into the same objects and bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from mer.choices import Sampler
from mer.config import ModelConfig, TrainConfig
from mer.results import LadderReport, ModelMetrics, VAScores
from mer.serial import DIGITS6, OMIT_NONE, Record, from_dict, to_dict

MODELS = Path(__file__).resolve().parent.parent / "models"


@dataclass(frozen=True)
class Inner(Record):
    x: float = field(default=0.0, metadata=DIGITS6)
    n: int = 0


@dataclass(frozen=True)
class Outer(Record):
    name: str
    inners: dict[str, Inner]
    pair: tuple[float, int] = (0.0, 0)
    items: list[Inner] = field(default_factory=list)
    maybe: Inner | None = field(default=None, metadata=OMIT_NONE)


def test_nested_records_round_trip_with_rounding_and_left_out_nones():
    outer = Outer("a", {"k": Inner(np.float32(0.1234567891), np.int64(3))}, (1, 2), [Inner(2.0, 1)])
    d = outer.to_dict()
    assert d == {"name": "a", "inners": {"k": {"x": 0.123457, "n": 3}}, "pair": [1.0, 2],
                 "items": [{"x": 2.0, "n": 1}]}  # no "maybe": it is None
    assert json.loads(json.dumps(d)) == d and type(d["inners"]["k"]["n"]) is int
    back = Outer.from_dict(json.loads(json.dumps(d)))
    assert back.inners["k"] == Inner(0.123457, 3) and back.pair == (1.0, 2) and back.maybe is None
    assert Outer.from_dict({**d, "maybe": {"x": 5}}).maybe == Inner(5.0, 0)  # missing keys: the defaults


def test_unknown_keys_are_ignored_and_a_missing_required_field_is_an_error():
    assert Inner.from_dict({"x": 1.5, "added_by_a_newer_mer": True}) == Inner(1.5, 0)
    with pytest.raises(TypeError, match="name"):
        Outer.from_dict({"inners": {}})


def test_configs_round_trip_through_json_with_their_enums():
    config = TrainConfig(sampler=Sampler.SMOTE, epochs=3)
    d = json.loads(json.dumps(to_dict(config)))
    assert d["sampler"] == "smote" and from_dict(TrainConfig, d) == config
    model = from_dict(ModelConfig, {"conv_channels": [32, 16], "dropout": 0})
    assert model.conv_channels == (32, 16) and model.dropout == 0.0 and isinstance(model.dropout, float)


@pytest.mark.parametrize("path, cls", [(MODELS / "default" / "metrics.json", ModelMetrics),
                                       (MODELS / "logmel" / "metrics.json", ModelMetrics),
                                       (MODELS / "ladder.json", LadderReport)])
def test_the_shipped_files_read_back_into_the_same_bytes(path, cls):
    text = path.read_text()
    record = cls.from_dict(json.loads(text))
    assert json.dumps(record.to_dict(), indent=2) == text.strip()


def test_a_model_without_a_valence_arousal_head_writes_no_key_for_it():
    metrics = ModelMetrics.from_dict(json.loads((MODELS / "logmel" / "metrics.json").read_text()))
    assert metrics.valence_arousal is None and "valence_arousal" not in metrics.to_dict()
    scores = VAScores(0.80612345, 0.9, 0.91, 0.95, 0.7)
    assert scores.to_dict()["valence_accuracy"] == 0.806123


def test_a_record_refuses_a_value_of_the_wrong_kind_while_a_config_leaves_it_to_its_own_check():
    with pytest.raises(TypeError, match="expected int, got 'many'"):
        Inner.from_dict({"n": "many"})
    with pytest.raises(TypeError, match="expected int, got True"):
        Inner.from_dict({"n": True})
    assert Inner.from_dict({"x": 2}) == Inner(2.0, 0)  # a whole number is a float
    from mer.errors import ConfigError

    with pytest.raises(ConfigError, match="epochs must be a whole number"):  # the config names the field and the remedy
        from_dict(TrainConfig, {"epochs": "many"})
