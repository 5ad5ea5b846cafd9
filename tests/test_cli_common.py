"""What the commands share (mer.cli.common): JSON that is always valid."""

from __future__ import annotations

import json
import math

from mer.cli.common import print_json


def test_json_output_turns_numbers_that_are_not_finite_into_null(capsys):
    assert print_json({"a": math.nan, "b": [1.5, math.inf, (-math.inf, 2)], "c": {"d": "x"}}) == 0
    assert json.loads(capsys.readouterr().out) == {"a": None, "b": [1.5, None, [None, 2]], "c": {"d": "x"}}
