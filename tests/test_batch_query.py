"""What a query of a batch asks (mer.batch.query): emotion names as people type them, and the settings a query
refuses. The Catalogue that answers it is tested in test_batch_catalogue.py."""

from __future__ import annotations

import pytest

from mer.batch.query import TrackQuery, check_emotion
from mer.errors import BatchError


def test_emotion_names_are_read_as_people_type_them():
    assert check_emotion(" Joyful Activation ") == "joyful_activation" and check_emotion("joyful-activation")
    with pytest.raises(BatchError, match="Unknown emotion 'joy'. Choose one of: amazement"):
        check_emotion("joy")


def test_unknown_query_settings_are_refused():
    with pytest.raises(BatchError, match="Unknown status 'done'. Choose one of: ok, error, all"):
        TrackQuery(status="done")
