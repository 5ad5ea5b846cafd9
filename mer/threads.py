"""numpy's BLAS threads, kept off the cores torch is about to use.

numpy's OpenBLAS keeps its worker threads spinning for a while after a matrix product. When torch's
OpenMP threads start work on the same cores straight after (MusiCNN after the log-mel product), the two
pools fight over them: on 2 cores a 12 ms log-mel product made the MusiCNN pass that followed it take
0.17 s instead of 0.11 s. The small products mer runs in numpy (mel filterbanks) are as fast on one thread.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import lru_cache

__all__ = ["one_blas_thread"]


@lru_cache(maxsize=1)
def _blas():
    from threadpoolctl import ThreadpoolController  # comes with scikit-learn

    return ThreadpoolController().select(user_api="blas")


def one_blas_thread() -> AbstractContextManager:
    """A context in which numpy's BLAS runs on one thread (and leaves none spinning behind it)."""
    return _blas().limit(limits=1)
