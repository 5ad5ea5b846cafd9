"""Process pools that are safe to start from the Streamlit server (and anywhere else), and that never outlive
the process that made them.

A pool's processes are a fork server and its workers (:func:`process_pool`). When the process that owns the pool
dies, however it dies (``kill -9``, the OOM killer, a stopped container), they exit within a second:

* the fork server gets SIGKILL from Linux when the owner's main thread ends (``PR_SET_PDEATHSIG``, set by
  :mod:`mer.forkserver_guard`, the first module it imports), and each worker gets SIGKILL when the fork server
  ends (set first thing in the worker, :func:`die_with_parent`);
* belt and braces, on any system: each worker watches its owner from its first moment (a pipe that reads end
  of file once the owner is gone) and its fork server (its parent process id changes), and exits.

A fork server started from a thread other than the main one (a pool made by a Streamlit session) is not told
to die with its starter, since Linux would kill it when that thread ends; it exits when the owner and every
worker have closed the pipe it watches (which the workers' watch makes happen), once it has finished importing
the jobs' modules if it was still at it.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable, Sequence

from .progress import ProgressFn

__all__ = ["AUDIO_MODULES", "process_pool", "StartingPool", "IdleCores", "usable_cores", "default_workers",
           "map_with_progress", "die_with_parent", "OWNER_ENV"]


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the system has one (else every core), at most
    its control group's CPU quota (a container started with ``--cpus 2`` on a larger machine), rounded up."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cores, -int(-quota // 1)) if quota else cores)


def _cgroup_cpu_quota(root: str = "/sys/fs/cgroup", membership: str = "/proc/self/cgroup") -> float | None:
    """The CPU time this process's control group may use per second of wall time (cgroup v2 ``cpu.max``, v1
    ``cpu.cfs_quota_us``); None where it has no quota or none can be read."""
    try:
        with open(membership) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        try:
            if controllers == "":  # v2: "max 100000" or "200000 100000"
                with open(os.path.join(root, path.lstrip("/"), "cpu.max")) as f:
                    quota, period = f.read().split()
            elif "cpu" in controllers.split(","):
                with open(f"{root}/cpu/cpu.cfs_quota_us") as f, open(f"{root}/cpu/cpu.cfs_period_us") as g:
                    quota, period = f.read().strip(), g.read().strip()
            else:
                continue
        except (OSError, ValueError):
            continue
        if quota not in ("max", "-1") and float(period) > 0:
            return float(quota) / float(period)
    return None


def default_workers(limit: int | None = None) -> int:
    """Worker processes by default: one per usable core, at most ``limit`` (batch analysis takes every core;
    :func:`map_with_progress`'s short feature jobs stop at 4)."""
    return usable_cores() if limit is None else min(limit, usable_cores())


def _idle_seconds() -> float | None:
    """Seconds the usable cores have spent idle since boot (``/proc/stat``: idle + iowait); None where unknown."""
    cpus = {f"cpu{i}" for i in os.sched_getaffinity(0)} if hasattr(os, "sched_getaffinity") else None
    try:
        with open("/proc/stat") as f:
            lines = f.read().splitlines()
        ticks = 0
        for line in lines:
            name, *fields = line.split()
            if name.startswith("cpu") and name != "cpu" and (cpus is None or name in cpus):
                ticks += int(fields[3]) + int(fields[4])
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class IdleCores:
    """How many of this process's usable cores sat idle over a window of time: what another worker would get.

    The window starts when the object is made and again at each :meth:`measure`. Linux only (``/proc/stat``);
    elsewhere :meth:`measure` says None.
    """

    def __init__(self) -> None:
        self._t, self._idle = time.monotonic(), _idle_seconds()

    def elapsed(self) -> float:
        """Seconds since the window started."""
        return time.monotonic() - self._t

    def measure(self) -> float | None:
        """Idle cores over the window (0 to the number of usable cores), and a new window from now."""
        t, idle = time.monotonic(), _idle_seconds()
        before_t, before_idle = self._t, self._idle
        self._t, self._idle = t, idle
        if idle is None or before_idle is None or t <= before_t:
            return None
        return max(0.0, (idle - before_idle) / (t - before_t))


#: What a job that decodes audio and computes features needs.
AUDIO_MODULES: tuple[str, ...] = ("mer.audio.decode", "mer.audio.features", "soxr", "soundfile")


#: The environment variable through which a fork server learns which process started it (see
#: :mod:`mer.forkserver_guard`).
OWNER_ENV = "MER_POOL_OWNER"
_PR_SET_PDEATHSIG = 1
_START_LOCK = threading.Lock()


def die_with_parent(parent: int | None = None) -> None:
    """On Linux, have this process killed (SIGKILL) when the thread that started it ends, and exit at once if
    ``parent`` (the pid it was started by) is already gone; elsewhere nothing happens.

    Linux ties the signal to the starting *thread*, not its process (``prctl(2)``, ``PR_SET_PDEATHSIG``): call
    this only in a process started by a thread that lives as long as its process (a main thread, or the single
    thread of a fork server).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl in this libc: the workers' watch still ends them
        return
    if parent is not None and os.getppid() != parent:  # the parent died before the line above
        os._exit(0)


def _watch_owner() -> None:
    """End this worker once the process that owns its pool is gone, or its fork server is."""
    owner, fork_server = multiprocessing.parent_process(), os.getppid()
    while True:
        # the owner holds the write end of a pipe whose read end is the sentinel: end of file once it is gone
        if owner is not None and multiprocessing.connection.wait([owner.sentinel], timeout=1.0):
            os._exit(0)
        if owner is None:
            time.sleep(1.0)
        if os.getppid() != fork_server:
            os._exit(0)


def _guarded(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    """A worker's first act: die with its fork server, watch its owner, then the pool's own initializer."""
    die_with_parent()
    threading.Thread(target=_watch_owner, name="mer-watch-owner", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _forkserver_context(preload: Sequence[str]) -> Any:
    """The ``forkserver`` context, its fork server running (started now, with ``preload``, if it was not).

    Started from the main thread on Linux, the fork server imports :mod:`mer.forkserver_guard` first and dies
    with this process; from another thread it would die with that thread, so it is started without.
    """
    ctx = multiprocessing.get_context("forkserver")
    guard = threading.current_thread() is threading.main_thread() and sys.platform.startswith("linux")
    with _START_LOCK:  # the preload list is the module's: set and used in one step
        if guard:
            os.environ[OWNER_ENV] = str(os.getpid())
        ctx.set_forkserver_preload([*(["mer.forkserver_guard"] if guard else []), *preload])
        multiprocessing.forkserver.ensure_running()  # quick: its imports happen in the fork server
    return ctx


def process_pool(workers: int, *, preload: Sequence[str] = (), initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A pool whose workers come from a fork server, never from ``fork()`` of the calling process, and end with
    the calling process (see the module's notes).

    Forking a process in which torch or the server already run threads can
    deadlock the child (a lock held by another thread is copied locked), so
    feature extraction, the demo generator and batch analysis use this instead
    of the default ``fork`` context on Linux. The fork server is
    single-threaded, so forking from it is safe and quick.

    Parameters
    ----------
    workers : int
    preload : module names
        What the jobs import. The fork server imports them once, before its
        first fork, so workers start without seconds of imports each. A
        process has one fork server, started by its first pool: workers of
        later pools import what it lacks themselves.
    initializer, initargs
        As for :class:`~concurrent.futures.ProcessPoolExecutor` (run after the worker's watch has begun).
    """
    ctx = _forkserver_context(preload)
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_guarded,
                               initargs=(initializer, initargs))


def _init_then_ready(initializer: Callable[..., None] | None, initargs: tuple[Any, ...], ready: Any) -> None:
    if initializer is not None:
        initializer(*initargs)
    ready.put(os.getpid())


class StartingPool:
    """A :func:`process_pool` that starts in a background thread while the caller goes on working.

    Starting a pool takes seconds (the fork server imports the jobs' modules before the first worker is
    forked, then each worker runs its initializer), and the first ``submit`` waits for all of it. Here a
    thread waits instead, and each worker says when its initializer is done (:meth:`ready_workers`), so the
    caller can keep working itself and hand jobs only to workers that can take them at once.
    :meth:`stop` stops the pool at once, even while it is still starting (the thread stops it when its
    start returns).
    """

    def __init__(self, workers: int, *, preload: Sequence[str] = (), initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = ()) -> None:
        self._ready = multiprocessing.get_context("forkserver").SimpleQueue()
        self._n_ready = 0
        self._pool = process_pool(workers, preload=preload, initializer=_init_then_ready,
                                  initargs=(initializer, initargs, self._ready))
        self._lock = threading.Lock()
        self._started = self._stopped = False
        self._thread = threading.Thread(target=self._start, args=(workers,), name="mer-pool-start", daemon=True)
        self._thread.start()

    def _start(self, workers: int) -> None:
        try:
            for _ in range(workers):  # a pool starts a process per job submitted while none is idle
                self._pool.submit(int)
        except RuntimeError:  # stopped meanwhile
            pass
        with self._lock:
            self._started = True
            if self._stopped:
                self._stop_now()

    def ready_workers(self) -> int:
        """How many workers have run their initializer (and can take a job at once)."""
        while not self._ready.empty():
            self._ready.get()
            self._n_ready += 1
        return self._n_ready

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._pool.submit(fn, *args)

    def stop(self) -> None:
        """Cancel the jobs not begun and end the workers now (those still starting as soon as they exist)."""
        with self._lock:
            self._stopped = True
            if self._started:
                self._stop_now()

    def _stop_now(self) -> None:
        processes = list((self._pool._processes or {}).values())  # shutdown() forgets them
        self._pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(timeout=10)


def map_with_progress(fn: Callable[[Any], Any], jobs: Sequence[Any], *, message: str, workers: int | None = None,
                      on_progress: ProgressFn | None = None, min_jobs: int = 24, chunksize: int = 4,
                      preload: Sequence[str] = ()) -> list[Any]:
    """``[fn(job) for job in jobs]`` in order, on a :func:`process_pool` when there are enough jobs and cores.

    A pool first waits for its fork server's imports (numpy, pandas, mer:
    about a second), so it pays off only with ``min_jobs`` or more jobs. The
    default suits jobs of about a minute of audio each: on 2 cores the
    features of 12 Emotify tracks took 3.5 s in one process and 3.8 s on a
    pool of two, 24 tracks 4.5 s and 4.3 s, 320 tracks 44.5 s and 35.0 s
    (``benchmarks/pool.py``).
    ``on_progress(done, total, message)`` is called after each job; ``preload``
    is passed on to :func:`process_pool`.
    """
    workers = workers or default_workers(limit=4)
    out: list[Any] = []
    if workers > 1 and len(jobs) >= min_jobs:
        with process_pool(workers, preload=preload) as pool:
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
