"""Where the work runs: this process, a local pool of processes (one per core) or a Ray cluster
(:mod:`mer.batch.cluster`). Same worker code on all."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterable, Iterator

from ..choices import Engine
from ..errors import BatchError
from ..kernels import run_kernel, run_precision
from ..pool import AUDIO_MODULES, IdleCores, StartingPool
from .cluster import ray_results
from .inputs import FileRef
from .worker import TrackResult, analyze_in_worker, analyze_ref, init_worker, one_thread

__all__ = ["ENGINES", "inline_results", "local_results", "ray_results"]

ENGINES: tuple[str, ...] = tuple(Engine)


def inline_results(refs: Iterable[FileRef], model: Any) -> Iterator[TrackResult]:
    """Results from this process, one file after another, with one thread like a pool's worker.

    One worker needs no pool: this saves starting a process and loading a second copy of the model, and
    computes the same bits as a worker (see :func:`~mer.batch.worker.single_thread`).
    """
    with one_thread():
        for ref in refs:
            yield analyze_ref(ref, model)


def local_results(refs: Iterable[FileRef], model: Any, *, workers: int, adaptive: bool = False,
                  inflight_per_worker: int = 4) -> Iterator[TrackResult]:
    """Results in completion order from this process and up to ``workers - 1`` pool processes, each with its
    own model.

    This process analyses files from the first moment, as with one worker, while the pool starts (a fork
    server importing mer, then each worker importing torch and loading the model: seconds). A pool worker
    gets files only once it has said it is ready, so a library that is done before the pool is up never waits
    for it, and the pool is stopped unused. At most ``inflight_per_worker`` files wait for each pool worker,
    and at the end this process takes back the ones no worker has begun, so no core idles while another works
    through a queue. Processes come from :func:`mer.pool.process_pool`'s fork server (never a fork of a process
    whose torch threads are running).

    With ``adaptive`` (the default worker count), the pool starts only on cores that are idle: measured while
    this process analyses its first half second of files, and again every 10 s while there is no pool. On a
    machine whose cores are busy with other work, a pool would only take time from this process (its start
    costs seconds of CPU), so the batch runs as with one worker there.
    """
    if workers < 2:
        yield from inline_results(refs, model)
        return
    todo = iter(refs)
    pool: StartingPool | None = None
    queue = _PoolQueue(None, inflight_per_worker)
    idle = IdleCores() if adaptive else None
    window = _FIRST_LOOK_S
    try:
        with one_thread():
            for ref in todo:
                if pool is None and (idle is None or idle.elapsed() >= window):
                    n = workers - 1 if idle is None else _free_workers(idle.measure(), workers - 1)
                    if n:
                        arithmetic = (run_precision(), run_kernel())  # the workers compute as this process
                        pool = queue.pool = StartingPool(n, preload=("mer.batch.worker", *AUDIO_MODULES),
                                                         initializer=init_worker,
                                                         initargs=(str(model.path), arithmetic))
                    window = _LOOK_AGAIN_S
                yield from queue.collect()
                queue.fill(todo)
                yield analyze_ref(ref, model)
            while queue.pending:
                ref = queue.take_back()
                if ref is not None:
                    yield analyze_ref(ref, model)
                yield from queue.collect(block=ref is None)
    except BrokenProcessPool:
        raise BatchError("A worker process died (out of memory, or a crash inside a decoder). The results written "
                         "so far are kept: run the same command again to resume, with fewer --workers if memory "
                         "is short.") from None
    finally:
        if pool is not None:
            pool.stop()


#: Seconds of this process's own work before the idle cores are first measured, and between later looks.
_FIRST_LOOK_S, _LOOK_AGAIN_S = 0.5, 10.0


def _free_workers(idle_cores: float | None, most: int) -> int:
    """Pool workers for ``idle_cores`` idle cores (this process's own core is busy, so not counted): one per
    core at least three quarters idle; all ``most`` where idleness cannot be measured."""
    return most if idle_cores is None else max(0, min(most, int(idle_cores + 0.25)))


class _PoolQueue:
    """The files handed to the pool (none while there is no pool): at most ``per_worker`` for each worker that
    said it is ready."""

    def __init__(self, pool: StartingPool | None, per_worker: int) -> None:
        self.pool, self.per_worker = pool, per_worker
        self.pending: dict[Future, FileRef] = {}

    def fill(self, todo: Iterator[FileRef]) -> None:
        """Hand files from ``todo`` to the ready workers until each has ``per_worker`` waiting or running."""
        while self.pool is not None and len(self.pending) < self.pool.ready_workers() * self.per_worker:
            ref = next(todo, None)
            if ref is None:
                return
            self.pending[self.pool.submit(analyze_in_worker, ref)] = ref

    def collect(self, block: bool = False) -> Iterator[TrackResult]:
        """The results that are ready (with ``block``: at least one, waiting for it)."""
        if block:
            wait(self.pending, return_when=FIRST_COMPLETED)
        for f in [f for f in self.pending if f.done()]:
            del self.pending[f]
            yield f.result()

    def take_back(self) -> FileRef | None:
        """A file the pool has not begun (the most recently handed), taken back; ``None`` if none is left."""
        for f in reversed(list(self.pending)):
            if f.cancel():
                return self.pending.pop(f)
        return None
