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


def _wait_for(go: str, gave_up: str) -> None:
    """A worker's initializer that waits for the file ``go`` (30 s at most, then writes ``gave_up``)."""
    import time
    from pathlib import Path

    for _ in range(300):
        if Path(go).exists():
            return
        time.sleep(0.1)
    Path(gave_up).touch()


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


def test_a_starting_pool_lets_the_caller_work_and_stops_at_once_while_still_starting(tmp_path):
    go, gave_up = tmp_path / "go", tmp_path / "gave-up"
    # a worker that gets ready only once this test says so (or gives up after 30 s, and says so)
    pool = StartingPool(1, initializer=_wait_for, initargs=(str(go), str(gave_up)))
    assert pool.ready_workers() == 0 and not gave_up.exists()  # back here while the worker still waits
    pool.stop()  # never says go: the start is stopped while the worker waits in its initializer
    pool._thread.join(timeout=20)  # the start ends by stopping the worker it made, not by waiting 30 s for it
    assert not pool._thread.is_alive() and not gave_up.exists()
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


def test_idle_cores_are_measured_between_zero_and_the_usable_cores():
    import time

    from mer.pool import IdleCores, usable_cores

    probe = IdleCores()
    time.sleep(0.2)  # a window long enough for /proc/stat's ticks (1/100 s)
    idle = probe.measure()
    assert idle is None or 0.0 <= idle <= usable_cores() + 0.05


def test_idle_cores_are_the_idle_seconds_over_a_window_that_each_measure_starts_again(monkeypatch):
    import types

    from mer import pool

    now, idle = [100.0], [50.0]
    monkeypatch.setattr(pool, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(pool, "_idle_seconds", lambda: idle[0])
    probe = pool.IdleCores()
    now[0], idle[0] = 102.0, 53.0  # 3 idle core-seconds in 2 s
    assert probe.elapsed() == 2.0 and probe.measure() == 1.5 and probe.elapsed() == 0.0
    now[0], idle[0] = 106.0, 53.0  # every core busy for the next 4 s
    assert probe.elapsed() == 4.0 and probe.measure() == 0.0
    monkeypatch.setattr(pool, "_idle_seconds", lambda: None)  # no /proc/stat
    now[0] = 107.0
    assert probe.measure() is None
