"""Threads that share the cores: each analysis's share of the free cores, counted across the server's threads."""

from __future__ import annotations

import threading

import pytest
import torch

from mer import threads
from mer.errors import ConfigError
from mer.pool import _cgroup_cpu_quota
from mer.threads import analysis_threads, rebalance, thread_share


def test_an_analysis_takes_the_cores_others_leave_free_shared_with_the_analyses_beside_it():
    assert thread_share(2, 1, 0.0) == 2  # alone on an idle 2-core machine: both cores
    assert thread_share(2, 1, 0.04) == 2  # a little background noise still leaves both
    assert thread_share(2, 1, 1.0) == 1  # beside one busy process: the one core it leaves
    assert thread_share(2, 1, 0.3) == 1  # a core a third busy is not free: the team would wait for that thread
    assert thread_share(2, 2, 0.0) == 1  # two analyses at once: a core each
    assert thread_share(2, 1, 7.0) == 1  # an overloaded machine: still one thread, never none
    assert thread_share(16, 3, 4.0) == 4  # 12 free cores among 3 analyses
    assert thread_share(8, 1, 0.5) == 7
    assert thread_share(4, 8, 0.0) == 1  # more analyses than cores


@pytest.fixture
def four_idle_cores(monkeypatch):
    monkeypatch.delenv("MER_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    monkeypatch.setattr(threads, "busy_elsewhere", lambda: 0.0)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_analyses_in_two_threads_share_the_cores_and_each_thread_gets_its_own_count_back(four_idle_cores):
    torch.set_num_threads(3)
    seen: dict[str, int | None] = {}
    a_in, b_in, b_out, a_done = (threading.Event() for _ in range(4))

    def first() -> None:
        before = torch.get_num_threads()
        with analysis_threads() as n:
            seen["a alone"], seen["a torch"] = n, torch.get_num_threads()
            a_in.set()
            b_in.wait(10)
            seen["a beside b"] = rebalance()  # the next stage of a: its share now that b runs too
            seen["a torch beside b"] = torch.get_num_threads()
            b_out.wait(10)
            seen["a alone again"] = rebalance()
        seen["a after"], seen["a before"] = torch.get_num_threads(), before
        a_done.set()

    def second() -> None:
        a_in.wait(10)
        seen["b before"] = torch.get_num_threads()  # a thread new to torch starts from the last count set
        with analysis_threads() as n:
            seen["b beside a"], seen["b torch"] = n, torch.get_num_threads()
            b_in.set()
            a_done.wait(0.2)
        seen["b after"] = torch.get_num_threads()
        b_out.set()

    workers = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(20)
    assert seen["a alone"] == seen["a torch"] == 4  # alone: every free core
    assert seen["b beside a"] == seen["b torch"] == 2  # the second takes its half at once
    assert seen["a beside b"] == seen["a torch beside b"] == 2  # the first at its next stage
    assert seen["a alone again"] == 4
    assert seen["a after"] == seen["a before"] == 3 and seen["b after"] == seen["b before"]  # their own counts back
    assert threads._RUNNING == {} and rebalance() is None  # nothing counted outside an analysis
    fresh = threading.Thread(target=lambda: seen.update(fresh=torch.get_num_threads()))
    fresh.start()
    fresh.join()
    assert seen["fresh"] == 3  # and threads yet to run torch start from the count of before the analyses


def test_mer_threads_fixes_the_count_and_a_bad_value_is_refused_with_the_way_out(four_idle_cores, monkeypatch):
    monkeypatch.setenv("MER_THREADS", "3")
    with analysis_threads() as n:
        assert n == torch.get_num_threads() == 3
        assert rebalance() == 3
    for bad in ("0", "two", "-1", "2000"):
        monkeypatch.setenv("MER_THREADS", bad)
        with pytest.raises(ConfigError, match="MER_THREADS must be a whole number.*unset it"):
            with analysis_threads():
                pass
        assert threads._RUNNING == {}


def test_an_analysis_in_a_pool_worker_takes_one_thread(four_idle_cores, monkeypatch):
    monkeypatch.setattr(threads.multiprocessing, "parent_process", lambda: object())
    with analysis_threads() as n:
        assert n == 1


class _Clock:
    """Stands in for /proc/stat and this process's CPU clock: ``idle`` idle cores and ``own`` cores of this
    process's work per second of ``step``."""

    def __init__(self, idle: float, own: float, step: float) -> None:
        self.idle, self.own, self.step, self.t = idle, own, step, 0.0

    def elapsed(self) -> float:
        return self.step

    def measure(self) -> float:
        return self.idle

    def process_time(self) -> float:
        self.t += self.own * self.step
        return self.t


def test_the_load_of_others_leaves_out_this_processs_own_work_and_takes_the_larger_reading(monkeypatch):
    clock = _Clock(idle=0.5, own=1.0, step=1.0)
    monkeypatch.setattr(threads, "_affinity", lambda: 2)
    monkeypatch.setattr(threads, "IdleCores", lambda: clock)
    monkeypatch.setattr(threads.time, "process_time", clock.process_time)
    monkeypatch.setattr(threads, "_runnable_elsewhere", lambda: None)
    load = threads._Load()
    assert load.busy() == pytest.approx(0.5)  # 2 cores, half a core idle, one busy with this process's own work
    clock.idle, clock.own = 0.0, 0.0
    assert load.busy() == pytest.approx(2.0)  # both cores taken by others
    clock.idle, clock.step = 2.0, 0.05
    assert load.busy() == pytest.approx(2.0)  # a window too short to say anything: the last figure stands
    monkeypatch.setattr(threads, "_runnable_elsewhere", lambda: 3.0)
    assert load.busy() == 3.0  # three of others' processes on the run queue now: the larger reading counts


@pytest.mark.slow  # starts a process
def test_a_busy_process_beside_is_seen_as_a_busy_core():
    import subprocess
    import sys
    import time

    threads.busy_elsewhere()  # a window starts
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.4)
        assert threads.busy_elsewhere() >= 0.8
    finally:
        hog.kill()
        hog.wait()


@pytest.mark.parametrize("membership, files, quota", [
    ("0::/box\n", {"box/cpu.max": "150000 100000\n"}, 1.5),  # cgroup v2 with a quota of 1.5 CPUs
    ("0::/box\n", {"box/cpu.max": "max 100000\n"}, None),  # v2 without a quota
    ("4:cpu,cpuacct:/docker/x\n", {"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2.0),
    ("4:cpu,cpuacct:/\n", {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # v1, none
    ("0::/box\n", {}, None),  # nothing readable
])
def test_a_containers_cpu_quota_is_read_from_its_control_group(tmp_path, membership, files, quota):
    (tmp_path / "cgroup").write_text(membership)
    for name, text in files.items():
        (tmp_path / "fs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "fs" / name).write_text(text)
    assert _cgroup_cpu_quota(str(tmp_path / "fs"), str(tmp_path / "cgroup")) == quota
