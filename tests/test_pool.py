"""Process pools: the same results in the same order as one process, and one only where it pays."""

from __future__ import annotations

import os

from mer.pool import map_with_progress


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_a_pool_returns_every_result_in_order_and_reports_progress():
    progress: list[tuple[int, int]] = []
    out = map_with_progress(_square_and_pid, list(range(30)), message="squaring", workers=2, min_jobs=30,
                            chunksize=4, on_progress=lambda done, total, _: progress.append((done, total)))
    assert [value for value, _ in out] == [x * x for x in range(30)]
    pids = {pid for _, pid in out}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2  # computed in the pool's workers
    assert progress == [(i, 30) for i in range(1, 31)]


def test_fewer_jobs_than_min_jobs_run_in_this_process():
    out = map_with_progress(_square_and_pid, list(range(29)), message="squaring", workers=2, min_jobs=30)
    assert [value for value, _ in out] == [x * x for x in range(29)]
    assert {pid for _, pid in out} == {os.getpid()}
