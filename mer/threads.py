"""numpy's BLAS threads, kept off the cores torch is about to use.

numpy's OpenBLAS keeps its worker threads spinning for a while after a matrix product. When torch's
OpenMP threads start work on the same cores straight after (MusiCNN after the log-mel product), the two
pools fight over them: on 2 cores a 12 ms log-mel product made the MusiCNN pass that followed it take
0.17 s instead of 0.11 s. The small products mer runs in numpy (mel filterbanks) are as fast on one thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

__all__ = ["one_blas_thread"]

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
