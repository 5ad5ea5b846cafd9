"""Where the work runs: a local pool of processes (one per core) or a Ray cluster. Same worker code on both."""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..pool import AUDIO_MODULES, default_workers, process_pool
from .inputs import BatchError, FileRef
from .worker import TrackResult, analyze_in_worker, analyze_ref, init_worker, one_thread, single_thread

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


class _RayAnalyzer:
    """A Ray actor holding one model; the model's files travel with it, so nodes need no copy of models/."""

    def __init__(self, model_name: str, files: dict[str, bytes]) -> None:
        from ..registry import load_model

        single_thread()
        self._dir = Path(tempfile.mkdtemp(prefix="mer-model-")) / model_name
        self._dir.mkdir()
        for name, data in files.items():
            (self._dir / name).write_bytes(data)
        self._model = load_model(self._dir)

    def analyze(self, ref: FileRef) -> TrackResult:
        return analyze_ref(ref, self._model)


def _ray_init(address: str | None, workers: int) -> Any:
    if not address:  # a local Ray is one node: keep its servers on the loopback interface (read at import)
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise BatchError("The Ray engine needs Ray: pip install -r requirements-ray.txt (or use --engine local).") from None
    mer_dir = str(Path(__file__).resolve().parent.parent)
    kwargs: dict[str, Any] = dict(runtime_env={"py_modules": [mer_dir]}, include_dashboard=False,
                                  log_to_driver=False, logging_level="WARNING", configure_logging=True)
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:  # a local Ray on this machine only, bound to the loopback interface
            ray.init(num_cpus=workers, _node_ip_address="127.0.0.1", **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise BatchError(f"Cannot connect to the Ray cluster at '{address}' ({e}). Check that `ray start --head` "
                         "runs there and that the address is HOST:PORT of its GCS.") from None
    return ray


def ray_results(refs: Iterable[FileRef], model_dir: Path, *, workers: int | None, address: str | None,
                inflight_per_worker: int = 4) -> Iterator[TrackResult]:
    """Results in completion order from Ray actors (one model per actor, one CPU each).

    ``workers`` actors (default: every CPU of the cluster). Every node must see the audio files at the
    same paths (a shared mount); mer's code and the model travel with the job.
    """
    ray = _ray_init(address, workers or default_workers())
    from ray.util import ActorPool

    try:
        n = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        files = {f.name: f.read_bytes() for f in Path(model_dir).iterdir() if f.is_file()}
        files_ref = ray.put(files)
        actor = ray.remote(num_cpus=1)(_RayAnalyzer)
        pool = ActorPool([actor.remote(Path(model_dir).name, files_ref) for _ in range(n)])
        inflight = 0
        for ref in refs:
            pool.submit(lambda a, r: a.analyze.remote(r), ref)
            inflight += 1
            if inflight >= n * inflight_per_worker:
                yield pool.get_next_unordered()
                inflight -= 1
        while pool.has_next():
            yield pool.get_next_unordered()
    finally:
        ray.shutdown()
