"""Process pools: the same results in the same order as one process, and one only where it pays."""

from __future__ import annotations

import os

from mer.pool import StartingPool, map_with_progress


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


def _sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)


def _children(pid: int) -> list[int]:
    """Children, grandchildren, ... of ``pid`` that are still running (pool workers are the fork server's)."""
    from pathlib import Path

    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        for child in map(int, children):
            try:
                state = Path(f"/proc/{child}/stat").read_text().split(")")[-1].split()[0]
            except FileNotFoundError:
                continue
            out += [child, *_children(child)] if state != "Z" else []
    return out


def test_a_starting_pool_lets_the_caller_work_and_stops_at_once_while_still_starting():
    import time

    t0 = time.perf_counter()
    pool = StartingPool(1, initializer=_sleep, initargs=(30.0,))  # a worker that takes 30 s to get ready
    assert time.perf_counter() - t0 < 0.5  # the caller is not kept waiting for the fork server
    assert pool.ready_workers() == 0
    t0 = time.perf_counter()
    pool.stop()
    assert time.perf_counter() - t0 < 0.5
    pool._thread.join(timeout=20)  # the start ends by stopping the worker it made, not by waiting 30 s for it
    assert not pool._thread.is_alive() and time.perf_counter() - t0 < 20
    workers = [pid for child in _children(os.getpid()) for pid in _children(child)]  # the fork server's children
    assert workers == []


def test_a_starting_pool_counts_its_ready_workers_and_runs_jobs():
    import time

    pool = StartingPool(2, initializer=_sleep, initargs=(0.0,))
    deadline = time.monotonic() + 60
    while pool.ready_workers() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.ready_workers() == 2
    assert pool.submit(_square_and_pid, 7).result(timeout=30)[0] == 49
    pool.stop()


def test_the_default_batch_pool_takes_only_idle_cores():
    from mer.batch.engines import _free_workers

    assert _free_workers(0.95, 1) == 1  # a quiet 2-core machine: the core this process leaves
    assert _free_workers(0.3, 1) == 0  # the other core is busy with other work: no pool, as one worker
    assert _free_workers(2.8, 15) == 3 and _free_workers(14.9, 15) == 15
    assert _free_workers(None, 3) == 3  # idleness unknown (no /proc/stat): every worker asked for


def test_idle_cores_are_measured_between_zero_and_the_usable_cores():
    import time

    from mer.pool import IdleCores, usable_cores

    probe = IdleCores()
    time.sleep(0.2)
    assert probe.elapsed() >= 0.2
    idle = probe.measure()
    assert idle is None or 0.0 <= idle <= usable_cores() + 0.05
    assert probe.elapsed() < 0.1  # a new window
