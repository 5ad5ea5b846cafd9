"""Where a batch's files are analysed (mer.batch.engines): in this process, or also on a pool that starts only on
idle cores. The pool's processes themselves run in test_batch.py (slow); here the analysis is stood in for."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from mer.batch import engines
from mer.batch.inputs import FileRef


@pytest.fixture
def analysed(monkeypatch):
    """The refs the stand-in analysis was given, and the torch threads it ran with."""
    import torch

    seen: list[tuple[str, int]] = []

    def analyze_ref(ref, model):
        seen.append((ref.path, torch.get_num_threads()))
        return ref.path

    monkeypatch.setattr(engines, "analyze_ref", analyze_ref)
    return seen


def _refs(n: int) -> list[FileRef]:
    return [FileRef(path=f"/m/{i}.wav", track_id=i, size_bytes=i, mtime_ns=i) for i in range(n)]


def test_one_worker_analyses_in_this_process_in_order_on_one_thread(analysed):
    import torch

    threads = torch.get_num_threads()
    assert list(engines.local_results(_refs(3), model=None, workers=1)) == ["/m/0.wav", "/m/1.wav", "/m/2.wav"]
    assert [t for _, t in analysed] == [1, 1, 1] and torch.get_num_threads() == threads  # given back after


def test_the_pool_queue_takes_back_the_files_no_worker_has_begun():
    queue = engines._PoolQueue(None, per_worker=2)
    begun, waiting = Future(), Future()
    begun.set_running_or_notify_cancel()
    refs = _refs(2)
    queue.pending = {begun: refs[0], waiting: refs[1]}
    assert queue.take_back() == refs[1] and waiting.cancelled()
    assert queue.take_back() is None and list(queue.pending) == [begun]  # a begun file stays with its worker
    begun.set_result("done")
    assert list(queue.collect()) == ["done"] and queue.pending == {}


def test_the_default_batch_pool_takes_only_idle_cores():
    from mer.batch.engines import _free_workers

    assert _free_workers(0.95, 1) == 1  # a quiet 2-core machine: the core this process leaves
    assert _free_workers(0.3, 1) == 0  # the other core is busy with other work: no pool, as one worker
    assert _free_workers(2.8, 15) == 3 and _free_workers(14.9, 15) == 15
    assert _free_workers(None, 3) == 3  # idleness unknown (no /proc/stat): every worker asked for
