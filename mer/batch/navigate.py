"""What every navigation of a batch by emotion shares (:mod:`mer.batch.similar`, :mod:`mer.batch.journey`): the
most tracks one answer holds, and the check that a track can be compared with the others.
"""

from __future__ import annotations

from ..errors import BatchError
from .catalogue import Catalogue

__all__ = ["MAX_TRACKS", "check_count", "analysed_row"]

#: The most tracks one answer holds (similar's ``top``, a journey's ``steps``): a list to read or play, not an
#: export of the library (``library query --json`` is that).
MAX_TRACKS = 1_000


def check_count(name: str, value: int, low: int) -> None:
    """Refuse a count (``--top``, ``--steps``) below ``low`` or above :data:`MAX_TRACKS`; the message names it."""
    if not low <= value <= MAX_TRACKS:
        raise BatchError(f"{name} must lie between {low} and {MAX_TRACKS:,}, got {value:,}. For more of the "
                         "library, use `python -m mer library query BATCH --json`.")


def analysed_row(cat: Catalogue, path: str) -> int:
    """The row of the track at ``path``, refused where it failed to analyse or its probabilities are not finite."""
    row = cat.find(path)
    if not cat.ok[row]:
        raise BatchError(f"'{path}' failed to analyse in this batch, so it has no emotions to compare. Choose an "
                         "analysed track.")
    if not cat.finite[row]:
        raise BatchError(f"'{path}' holds probabilities that are not finite numbers in this batch (the table is "
                         "damaged), so it cannot be compared with other tracks. Choose another track, or analyse "
                         "the library again into a new folder.")
    return row
