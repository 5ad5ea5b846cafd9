"""Threads that share the cores: torch's threads for each analysis, numpy's BLAS threads kept off them.

**Torch's threads.** An analysis uses the cores free for it (:func:`analysis_threads`): the usable cores
(:func:`mer.pool.usable_cores`) less those other processes keep busy, shared among the analyses running in this
process at once (the app runs up to ``MER_MAX_ANALYSES``), one in a pool worker. A team of OpenMP threads waits at
each step for its slowest member, so a thread whose core another process takes stalls the whole team: on 2 cores
beside one busy process, a one-minute MP3 took 0.94–1.21 s with a thread per core against 0.52–0.64 s on one
thread, and 8–10 s against 2 s under heavier load. ``$MER_THREADS`` fixes the count instead.

``torch.set_num_threads`` looks process-wide, but with the OpenMP backend of torch's CPU builds each thread's
parallel work uses the count that thread set last (the value set also becomes the default of threads that have
not run torch yet); so each analysis sets its own, in its own thread. The share is taken when an analysis begins
and again at each of its stages (:func:`rebalance`: before MusiCNN and before the network): an analysis that
began alone keeps its threads until its next stage, while one that begins beside it takes its share at once, so
for that moment the cores hold the first one's extra threads. Locking the count for a whole analysis instead
would give a lone analysis one thread whenever another might come. With a backend whose count is global (torch's
native thread pool), every analysis sets the same share, so they agree but for that same moment.

**numpy's BLAS threads.** numpy's OpenBLAS keeps its worker threads spinning for a while after a matrix product.
When torch's OpenMP threads start work on the same cores straight after (MusiCNN after the log-mel product), the
two pools fight over them: on 2 cores a 12 ms log-mel product made the MusiCNN pass that followed it take 0.17 s
instead of 0.11 s. The small products mer runs in numpy (mel filterbanks) are as fast on one thread.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from . import settings
from .errors import ConfigError
from .pool import IdleCores, usable_cores

__all__ = ["one_blas_thread", "analysis_threads", "rebalance", "thread_share", "busy_elsewhere"]

#: How much of a core others may use for it still to count as free: a thread of an OpenMP team whose core is
#: shared holds up the whole team, so a core must be nearly idle to be worth a thread.
_FREE_TOLERANCE = 0.1
#: The shortest window over which /proc/stat's idle time says something (it counts in ticks of 1–10 ms).
_MIN_WINDOW_S = 0.2


def thread_share(cores: int, running: int, busy: float = 0.0) -> int:
    """Torch threads for one analysis: the cores other processes leave free, shared among ``running`` analyses.

    Parameters
    ----------
    cores : int >= 1
        The cores this process may use.
    running : int >= 1
        Analyses running in this process now, this one included.
    busy : float >= 0
        Cores' worth of work other processes keep busy on them.

    Returns
    -------
    int in [1, cores]
        A core counts as free when others use less than a tenth of it; at least one thread.
    """
    free = max(0.0, cores - max(0.0, busy))
    return max(1, min(cores, int(free / max(1, running) + _FREE_TOLERANCE)))


class _Load:
    """What other processes do on this process's cores, from two readings: the idle time of /proc/stat less this
    process's own CPU time over the window since the previous look (the previous figure stands while the window
    is shorter than :data:`_MIN_WINDOW_S`), and the processes runnable at this instant less this process's own
    runnable threads. The larger is taken: too many threads cost far more than one too few."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle, self._cpu, self._window = IdleCores(), time.process_time(), None

    def busy(self) -> float:
        with self._lock:
            if self._idle.elapsed() >= _MIN_WINDOW_S:
                seconds, cpu = self._idle.elapsed(), time.process_time()
                idle = self._idle.measure()
                own = (cpu - self._cpu) / seconds
                self._cpu = cpu
                self._window = None if idle is None else max(0.0, _affinity() - idle - own)
            window = self._window
        readings = [r for r in (window, _runnable_elsewhere()) if r is not None]
        return max(readings, default=0.0)


def _affinity() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _runnable_elsewhere() -> float | None:
    """Processes of others runnable right now (``procs_running`` of /proc/stat less this process's running
    threads); None where unknown, or where this process may use only some of the machine's cores (the count is
    the whole machine's)."""
    if _affinity() != os.cpu_count():
        return None
    try:
        with open("/proc/stat") as f:
            running = next(int(line.split()[1]) for line in f if line.startswith("procs_running "))
        own = 0
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/stat") as f:
                    own += f.read().rsplit(")", 1)[1].split()[0] == "R"
            except OSError:  # a thread that ended meanwhile
                continue
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    return float(max(0, running - max(1, own)))


#: The first window opens when mer is imported, so the first analysis of a process (``mer analyze``) has seconds
#: of it to read.
_LOAD = _Load()


def busy_elsewhere() -> float:
    """Cores' worth of work other processes are doing on the cores this process may use (0 where unknown).

    Cores outside a CPU quota (:func:`mer.pool.usable_cores`) take others' work first.
    """
    return max(0.0, _LOAD.busy() - (_affinity() - usable_cores()))


_SHARE_LOCK = threading.Lock()
_RUNNING: dict[int, int] = {}  # thread id -> the torch threads its analysis set
_DEFAULT: list[int] = []  # torch's count for threads yet to run torch, from before the first analysis of a run


def _share() -> int:
    """This analysis's threads now (call with :data:`_SHARE_LOCK` held)."""
    fixed = settings.threads()
    if fixed is not None:
        return fixed
    if multiprocessing.parent_process() is not None:  # a pool worker: one thread, a process per core
        return 1
    return thread_share(usable_cores(), len(_RUNNING), busy_elsewhere())


@contextmanager
def analysis_threads() -> Iterator[int]:
    """Count this thread's analysis among the process's running ones for the block, with torch's threads in this
    thread set to its share of the free cores (see the module's notes); yields the count set. On leaving, the
    thread's earlier count comes back (the last analysis to leave puts back the count of before the first).

    Raises
    ------
    ConfigError
        ``$MER_THREADS`` is not a number of threads.
    """
    import torch

    me, before = threading.get_ident(), torch.get_num_threads()
    if me in _RUNNING:  # an analysis within an analysis: already counted
        yield before
        return
    with _SHARE_LOCK:
        if not _RUNNING:
            _DEFAULT[:] = [before]
        _RUNNING[me] = 0
        try:
            n = _RUNNING[me] = _share()
        except ConfigError:
            del _RUNNING[me]
            raise
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        with _SHARE_LOCK:
            del _RUNNING[me]
            # setting a count sets the default of threads yet to run torch too: the last to leave puts it back
            torch.set_num_threads(before if _RUNNING else _DEFAULT[0])


def rebalance() -> int | None:
    """Within :func:`analysis_threads`, set this thread's torch threads to its share now (analyses may have begun
    or ended since, other processes started or stopped); the count, or None outside an analysis."""
    me = threading.get_ident()
    with _SHARE_LOCK:
        if me not in _RUNNING:
            return None
        n = _share()
        if n != _RUNNING[me]:
            import torch

            torch.set_num_threads(n)
            _RUNNING[me] = n
    return n

_lock = threading.Lock()
_users = 0
_limit = None


@lru_cache(maxsize=1)
def _blas():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """A context in which numpy's BLAS runs on one thread (and leaves none spinning behind it).

    The limit is the process's: the app's sessions share it, so the first to enter sets it and the last
    to leave restores the threads (counted under a lock, whatever order they leave in).
    """
    global _users, _limit
    with _lock:
        if _users == 0:
            _limit = _blas().limit(limits=1)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                _limit.restore_original_limits()
                _limit = None
