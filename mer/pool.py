"""Process pools that are safe to start from the Streamlit server (and anywhere else)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

__all__ = ["process_pool", "default_workers"]


def default_workers(limit: int = 4) -> int:
    """The machine's cores, at most ``limit``."""
    return min(limit, os.cpu_count() or 1)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool whose workers come from a fork server, never from ``fork()`` of the calling process.

    Forking a process in which torch or the server already run threads can
    deadlock the child (a lock held by another thread is copied locked), so
    feature extraction and the demo generator use this instead of the default
    ``fork`` context on Linux.
    """
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))
