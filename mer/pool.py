"""Process pools that are safe to start from the Streamlit server (and anywhere else)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Sequence

from .progress import ProgressFn

__all__ = ["process_pool", "usable_cores", "default_workers", "map_with_progress"]


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one, else every core)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def default_workers(limit: int = 4) -> int:
    """The usable cores, at most ``limit``."""
    return min(limit, usable_cores())


#: Imported once by the fork server, so that a new pool's workers start without seconds of imports each
#: (librosa's filters and resampler pull in scipy.signal and numba, batch workers torch: ~2 s each).
#: Importing starts no threads: forking the fork server stays safe.
PRELOAD = ["mer.dataset", "mer.compact", "mer.demo.corpus", "librosa.filters", "librosa.core.audio",
           "mer.batch.worker", "mer.analyze", "mer.registry", "mer.model"]


def process_pool(workers: int, *, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A pool whose workers come from a fork server, never from ``fork()`` of the calling process.

    Forking a process in which torch or the server already run threads can
    deadlock the child (a lock held by another thread is copied locked), so
    feature extraction and the demo generator use this instead of the default
    ``fork`` context on Linux. The fork server is single-threaded and has
    imported :data:`PRELOAD`, so forking from it is safe and quick.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)  # takes effect when the fork server starts (the first pool)
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=initializer, initargs=initargs)


def map_with_progress(fn: Callable[[Any], Any], jobs: Sequence[Any], *, message: str, workers: int | None = None,
                      on_progress: ProgressFn | None = None, min_jobs: int = 8, chunksize: int = 4) -> list[Any]:
    """``[fn(job) for job in jobs]`` in order, on a :func:`process_pool` when there are enough jobs and cores.

    ``on_progress(done, total, message)`` is called after each job.
    """
    workers = workers or default_workers()
    out: list[Any] = []
    if workers > 1 and len(jobs) > min_jobs:
        with process_pool(workers) as pool:
            results = pool.map(fn, jobs, chunksize=chunksize)
            for i, result in enumerate(results, 1):
                out.append(result)
                if on_progress:
                    on_progress(i, len(jobs), message)
        return out
    for i, job in enumerate(jobs, 1):
        out.append(fn(job))
        if on_progress:
            on_progress(i, len(jobs), message)
    return out
