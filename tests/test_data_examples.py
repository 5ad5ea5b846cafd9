"""The bundled example excerpts (mer.data.examples): every one is there, credited and licensed."""

from __future__ import annotations

import json

import pytest

from mer.data.examples import list_examples
from mer.errors import DataError


def test_every_bundled_example_is_a_file_with_its_credit_and_licence():
    examples = list_examples()
    assert examples and all(e.path.is_file() and e.read_bytes() for e in examples)
    for e in examples:
        assert e.title in e.credit and e.licence in e.credit and e.package in e.credit and e.licence_url


def test_a_manifest_that_names_a_missing_file_or_is_missing_is_refused(tmp_path):
    with pytest.raises(DataError, match="examples manifest"):
        list_examples(tmp_path)
    entry = {k: "x" for k in ("title", "author", "character", "licence", "licence_url", "package", "source",
                              "excerpt")}
    (tmp_path / "examples.json").write_text(json.dumps([{**entry, "file": "gone.ogg"}]))
    with pytest.raises(DataError):
        list_examples(tmp_path)
