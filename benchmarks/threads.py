"""Benchmark: threads that share the cores (``mer.threads``). Figures, not tests.

``python benchmarks/threads.py [--rounds 5] [--json]`` analyses a one-minute MP3 (synthesised by mer's demo
synthesiser, 44.1 kHz stereo) with the active model in one process and prints the median time of each case:

* idle, one thread (``MER_THREADS=1``): the yardstick of the issue's targets;
* idle, mer's default (the free cores shared among the analyses running at once);
* beside one CPU hog (a ``python -c 'while True: pass'`` process), mer's default, and a thread per usable core
  (torch's own default, what mer did before);
* two analyses at once in this process (two threads released together, as two visitors of the app), mer's
  default, and a thread per core each;

then the ratios against the targets of issue 35: beside one hog ÷ idle one-thread ≤ 1.3×, and each of two at once
≤ 1.3× its time alone on one thread. "Idle" means no hog of this benchmark's: the load average printed says how
busy the machine was otherwise. The cases take turns within each round, so a change in the machine's load
touches them alike. Beside each time, the CPU seconds this process spent per analysis (all its threads): on a
machine other work keeps busy, wall time says how long a user waits, CPU time whether threads wasted cores
spinning while they waited for each other.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mer.analyze import analyze  # noqa: E402
from mer.data.demo import render_track  # noqa: E402
from mer.kernels import cpu_int8_flags  # noqa: E402
from mer.pool import usable_cores  # noqa: E402
from mer.registry import load_active  # noqa: E402
from mer.settings import THREADS as ENV_VAR  # noqa: E402

TARGET = 1.3


def one_minute_mp3(path: Path) -> Path:
    y = render_track(1000, "joyful_activation", "pop", 60.0, sr=44_100)
    sf.write(path, np.stack([y, 0.9 * y], axis=1), 44_100, format="MP3")
    return path


def with_threads(threads: int | None, fn: Callable[[], object]) -> None:
    """``fn()`` with ``$MER_THREADS`` at ``threads`` (None: unset, mer's default)."""
    before = os.environ.pop(ENV_VAR, None)
    if threads is not None:
        os.environ[ENV_VAR] = str(threads)
    try:
        fn()
    finally:
        os.environ.pop(ENV_VAR, None)
        if before is not None:
            os.environ[ENV_VAR] = before


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def two_at_once(fn: Callable[[], object]) -> list[float]:
    """Each one's seconds when two threads run ``fn`` released at the same instant."""
    barrier, times = threading.Barrier(2), [0.0, 0.0]

    def run(i: int) -> None:
        barrier.wait()
        times[i] = timed(fn)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def with_cpu(measure_: Callable[[], float | list[float]]) -> tuple[float | list[float], float]:
    """What ``measure_()`` returns, and the CPU seconds this process spent per analysis meanwhile."""
    cpu = time.process_time()
    seconds = measure_()
    return seconds, (time.process_time() - cpu) / (len(seconds) if isinstance(seconds, list) else 1)


class Hog:
    """A process that keeps one core busy while the block runs."""

    def __enter__(self) -> Hog:
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)  # on the run queue, and seen by the next look at the load
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()


def measure(path: Path, rounds: int) -> dict:
    model = load_active()
    cores = usable_cores()
    once = lambda: analyze(path, model=model)  # noqa: E731
    analyze(path, model=model)  # warm: the model's first run and the kernels' choice are not what is measured
    cases: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}

    def add(name: str, measured: tuple[float | list[float], float]) -> None:
        seconds, cpu_s = measured
        cases.setdefault(name, []).extend(seconds if isinstance(seconds, list) else [seconds])
        cpu.setdefault(name, []).append(cpu_s)

    for _ in range(rounds):
        with_threads(1, lambda: add("idle, one thread", with_cpu(lambda: timed(once))))
        with_threads(None, lambda: add("idle, mer's default", with_cpu(lambda: timed(once))))
        with Hog():
            with_threads(None, lambda: add("beside one hog, mer's default", with_cpu(lambda: timed(once))))
            with_threads(cores, lambda: add("beside one hog, a thread per core", with_cpu(lambda: timed(once))))
        with_threads(None, lambda: add("two at once, mer's default (each)", with_cpu(lambda: two_at_once(once))))
        with_threads(cores, lambda: add("two at once, a thread per core (each)",
                                        with_cpu(lambda: two_at_once(once))))
    return {name: {"seconds": statistics.median(times), "cpu_s": statistics.median(cpu[name])}
            for name, times in cases.items()} | {
        "two at once, mer's default (slower of the pair, worst round)":
            {"seconds": max(cases["two at once, mer's default (each)"]), "cpu_s": max(cpu[
                "two at once, mer's default (each)"])}}


def report(figures: dict) -> list[str]:
    one = figures["idle, one thread"]["seconds"]
    lines = [f"{name}: {f['seconds']:.3f} s ({f['seconds'] / one:.2f}× idle one-thread), CPU {f['cpu_s']:.3f} s"
             for name, f in figures.items()]
    hog = figures["beside one hog, mer's default"]["seconds"] / one
    pair = figures["two at once, mer's default (each)"]["seconds"] / one
    lines += [f"target: beside one hog ÷ idle one-thread = {hog:.2f}× (≤ {TARGET}×: {'met' if hog <= TARGET else 'NOT met'})",
              f"target: two at once, each ÷ alone on one thread = {pair:.2f}× (median; ≤ {TARGET}×: "
              f"{'met' if pair <= TARGET else 'NOT met'})"]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    import torch

    machine = {"capability": torch.backends.cpu.get_cpu_capability(), "int8_flags": list(cpu_int8_flags()),
               "usable_cores": usable_cores(), "load_at_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        figures = measure(one_minute_mp3(Path(tmp) / "one-minute.mp3"), args.rounds)
    machine["load_at_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"machine": machine, "seconds": figures}, indent=2))
        return
    print(f"torch {machine['capability']}, 8-bit flags {', '.join(machine['int8_flags']) or 'none'}, "
          f"{machine['usable_cores']} usable cores, load average {machine['load_at_start']:.2f} at start and "
          f"{machine['load_at_end']:.2f} at end; median of {args.rounds} rounds")
    print("\n".join(report(figures)))


if __name__ == "__main__":
    main()
