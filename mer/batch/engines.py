"""Where the work runs: this process, a local pool of processes (one per core) or a Ray cluster
(:mod:`mer.batch.cluster`). Same worker code on all."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..pool import AUDIO_MODULES, process_pool
from .cluster import ray_results
from .inputs import BatchError, FileRef
from .worker import TrackResult, analyze_in_worker, analyze_ref, init_worker, one_thread

__all__ = ["ENGINES", "inline_results", "local_results", "ray_results"]

ENGINES: tuple[str, ...] = ("local", "ray")


def inline_results(refs: Iterable[FileRef], model: Any) -> Iterator[TrackResult]:
    """Results from this process, one file after another, with one thread like a pool's worker.

    One worker needs no pool: this saves starting a process and loading a second copy of the model, and
    computes the same bits as a worker (see :func:`~mer.batch.worker.single_thread`).
    """
    with one_thread():
        for ref in refs:
            yield analyze_ref(ref, model)


def local_results(refs: Iterable[FileRef], model_dir: Path, *, workers: int,
                  inflight_per_worker: int = 4) -> Iterator[TrackResult]:
    """Results in completion order from ``workers`` processes, each with its own copy of the model.

    At most ``workers * inflight_per_worker`` files are queued at once, so memory does not grow with the
    library. Processes come from :func:`mer.pool.process_pool`'s fork server (never a fork of a process whose
    torch threads are running), which imports torch and mer once for all of them.
    """
    pool = process_pool(workers, preload=("mer.batch.worker", *AUDIO_MODULES), initializer=init_worker,
                         initargs=(str(model_dir),))
    pending: set[Future] = set()
    try:
        for ref in refs:
            pending.add(pool.submit(analyze_in_worker, ref))
            if len(pending) >= workers * inflight_per_worker:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from _results_of(done)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from _results_of(done)
    except BrokenProcessPool:
        raise BatchError("A worker process died (out of memory, or a crash inside a decoder). The results written "
                         "so far are kept: run the same command again to resume, with fewer --workers if memory "
                         "is short.") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _results_of(done: set[Future]) -> Iterator[TrackResult]:
    return (f.result() for f in done)
