"""Batch analysis of a music library: many files → the analysis of each, on a local pool or a Ray cluster →
two Parquet tables (tracks, segments), written in atomic chunks so an interrupted run resumes.

:func:`run_batch` is ``python -m mer batch``; :func:`analyze_many` yields results for notebooks;
:mod:`mer.batch.library` lists batches and :mod:`mer.batch.folders` the folders the app may read;
:mod:`mer.batch.catalogue` queries a finished batch at catalogue scale (the Library page, ``python -m mer library``)
with the records of :mod:`mer.batch.query`; :mod:`mer.batch.similar` finds similar tracks on it,
:mod:`mer.batch.journey` journeys, and :mod:`mer.batch.playlist` writes them as M3U playlists.
"""

from ..errors import BatchCancelled, BatchError
from ..pool import default_workers
from .engines import ENGINES
from .inputs import FileRef, iter_paths
from .run import BatchSummary, analyze_many, run_batch
from .worker import TrackResult, model_identity

__all__ = ["analyze_many", "run_batch", "BatchSummary", "TrackResult", "BatchError", "BatchCancelled", "FileRef", "ENGINES",
           "default_workers", "iter_paths", "model_identity"]
