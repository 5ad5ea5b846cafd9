"""The kernel MusiCNN runs in is chosen once per machine, never by its load, and MER_PRECISION overrides it."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os

import pytest

from mer import kernels
from mer.errors import ConfigError

VNNI = kernels.MachineId(cpu="Some Xeon", int8_flags=("avx512_vnni",), capability="AVX512", torch="2.13.0+cpu")
AVX2 = kernels.MachineId(cpu="Some EPYC", int8_flags=(), capability="AVX2", torch="2.13.0+cpu")


@pytest.fixture
def machine(monkeypatch, tmp_path):
    """A fresh data folder and a machine of the test's choosing (VNNI unless the test sets another)."""
    monkeypatch.setenv("MER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MER_PRECISION", raising=False)
    monkeypatch.delenv("MER_KERNEL", raising=False)
    kernels.kernel_choice.cache_clear()

    def use(m: kernels.MachineId) -> None:
        monkeypatch.setattr(kernels, "machine_id", lambda: m)
        kernels.kernel_choice.cache_clear()

    use(VNNI)
    yield use
    kernels.kernel_choice.cache_clear()


def _rates(monkeypatch, f32_i8=(90.0, 700.0), direct_dft=(16.0, 16.0)) -> list[str]:
    """Make the probes answer these rates; returns the list the probes append to when they run."""
    calls: list[str] = []
    monkeypatch.setattr(kernels, "_probe", lambda: calls.append("int8") or f32_i8)
    monkeypatch.setattr(kernels, "_probe_float_kernels", lambda: calls.append("float") or direct_dft)
    return calls


def _cpuinfo(tmp_path, flags: str):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 {flags}\n\n"
                    f"processor\t: 1\nflags\t\t: fpu sse2 {flags}\n")
    return path


def test_flags_and_model_are_read_from_cpuinfo(tmp_path):
    assert kernels.cpu_int8_flags(_cpuinfo(tmp_path, "avx2 fma")) == ()
    assert kernels.cpu_int8_flags(_cpuinfo(tmp_path, "avx2 avx512f avx512_vnni amx_int8")) == ("avx512_vnni",
                                                                                                "amx_int8")
    assert kernels.cpu_int8_flags(tmp_path / "absent") == ()
    here = kernels.machine_id(_cpuinfo(tmp_path, "avx2 avx_vnni"))
    assert (here.cpu, here.int8_flags) == ("Some CPU", ("avx_vnni",))


def test_without_vnni_int8_is_never_probed_and_float32_runs(monkeypatch, machine):
    machine(AVX2)
    calls = _rates(monkeypatch, direct_dft=(16.0, 10.0))
    choice = kernels.kernel_choice()
    assert calls == ["float"] and choice.precision == "float32" and choice.int8_gops is None
    assert "no 8-bit dot-product" in choice.reason and choice.kernel == "dft"
    assert kernels.kernel_choice() is choice  # once per process


@pytest.mark.parametrize("rates, expected", [((90.0, 700.0), "int8"), ((90.0, 120.0), "float32"),
                                             ((50.0, 2.0), "float32")])
def test_with_vnni_the_measurement_decides(monkeypatch, machine, rates, expected):
    _rates(monkeypatch, f32_i8=rates)
    choice = kernels.kernel_choice()
    assert choice.precision == expected and (choice.float32_gflops, choice.int8_gops) == rates
    assert f"{rates[1]:.0f} GOP/s" in choice.reason


def test_the_choice_is_made_once_per_machine_and_load_cannot_flip_it(monkeypatch, machine):
    calls = _rates(monkeypatch, f32_i8=(90.0, 700.0))
    first = kernels.kernel_choice()
    assert first.precision == "int8" and calls == ["int8", "float"] and "cached in" in first.basis
    saved = json.loads(kernels.choice_path(VNNI).read_text())
    assert saved["choice"]["precision"] == "int8" and saved["machine"]["cpu"] == "Some Xeon"
    # a later process on a busy machine, whose probe would now say float32: it never probes, and runs int8
    kernels.kernel_choice.cache_clear()
    calls = _rates(monkeypatch, f32_i8=(90.0, 100.0))
    again = kernels.kernel_choice()
    assert calls == [] and again.precision == "int8" and "read from" in again.basis
    assert dataclasses.replace(again, basis="") == dataclasses.replace(first, basis="")


def test_another_cpu_or_torch_probes_again(monkeypatch, machine):
    _rates(monkeypatch, f32_i8=(90.0, 700.0))
    assert kernels.kernel_choice().precision == "int8"
    machine(dataclasses.replace(VNNI, torch="2.14.0+cpu"))
    calls = _rates(monkeypatch, f32_i8=(90.0, 100.0))
    assert kernels.kernel_choice().precision == "float32" and calls == ["int8", "float"]
    assert kernels.choice_path(VNNI) != kernels.choice_path(dataclasses.replace(VNNI, cpu="Other"))


@pytest.mark.parametrize("damage", ["{not json", json.dumps({"machine": {}, "probed": "x", "choice": {}}),
                                    json.dumps([1, 2])])
def test_a_damaged_cache_is_probed_again_and_rewritten(monkeypatch, machine, damage):
    path = kernels.choice_path(VNNI)
    path.parent.mkdir(parents=True)
    path.write_text(damage)
    calls = _rates(monkeypatch)
    assert kernels.kernel_choice().precision == "int8" and calls == ["int8", "float"]
    assert json.loads(path.read_text())["choice"]["precision"] == "int8"


def test_a_read_only_data_folder_still_chooses_and_says_why(monkeypatch, machine, tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv("MER_DATA_DIR", str(blocked))
    _rates(monkeypatch)
    choice = kernels.kernel_choice()
    assert choice.precision == "int8" and "could not be cached" in choice.basis


def _choose(barrier, out) -> None:
    barrier.wait()
    out.put(kernels.kernel_choice().float32_gflops)


def test_processes_starting_together_on_a_new_machine_share_one_probe(monkeypatch, machine):
    """Four processes start at once on a machine that has never probed: one probes, three read its answer (each
    probe here answers its own process id, so two probes would give two numbers)."""
    monkeypatch.setattr(kernels, "_probe", lambda: (float(os.getpid()), 1e6))
    monkeypatch.setattr(kernels, "_probe_float_kernels", lambda: (16.0, 16.0))
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_choose, args=(barrier, out)) for _ in range(4)]
    for p in procs:
        p.start()
    answers = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert len(set(answers)) == 1 and answers[0] in {float(p.pid) for p in procs}


def test_a_probe_keeps_each_kernels_fastest_run_timed_in_turn(monkeypatch):
    """Interleaved after one warm-up call each, so a burst of load slows both; the fastest run of each counts."""
    import types

    clock, calls = [0.0], []

    def kernel(name: str, seconds: list[float]):
        def run() -> None:
            calls.append(name)
            clock[0] += seconds.pop(0)
        return run

    monkeypatch.setattr(kernels, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    best = kernels._interleaved_best(kernel("a", [9.0, 3.0, 2.0, 4.0]), kernel("b", [9.0, 5.0, 6.0, 1.0]), rounds=3)
    assert best == (2.0, 1.0) and calls == ["a", "b"] * 4


def test_the_probes_report_rates_and_milliseconds_of_their_timings(monkeypatch):
    monkeypatch.setattr(kernels, "_interleaved_best", lambda first, second, rounds=7: (0.002, 0.0005))
    f32, i8 = kernels._probe()  # 2 · 1024 · 256 · 256 operations a product
    assert (f32, i8) == pytest.approx((2 * 1024 * 256 * 256 / 0.002 / 1e9, 2 * 1024 * 256 * 256 / 0.0005 / 1e9))
    assert kernels._probe_float_kernels() == pytest.approx((2.0, 0.5))


@pytest.mark.parametrize("times, expected", [((16.0, 10.0), "dft"), ((16.0, 14.0), "direct"), ((8.0, 16.0), "direct")])
def test_float32s_kernel_is_the_dft_only_where_it_is_clearly_faster(monkeypatch, machine, times, expected):
    machine(AVX2)
    _rates(monkeypatch, direct_dft=times)
    choice = kernels.kernel_choice()
    assert (choice.kernel, choice.direct_ms, choice.dft_ms) == (expected, *times) and kernels.run_kernel() == expected
    monkeypatch.setenv("MER_KERNEL", "direct" if expected == "dft" else "dft")
    assert kernels.run_kernel() != expected
    monkeypatch.setenv("MER_KERNEL", "fft")
    with pytest.raises(ConfigError, match="MER_KERNEL='fft' is not one of auto, direct, dft"):
        kernels.run_kernel()


def test_mer_precision_overrides_and_is_checked(monkeypatch, machine):
    machine(AVX2)
    _rates(monkeypatch)
    assert kernels.run_precision() == "float32"
    monkeypatch.setenv("MER_PRECISION", "int8")
    assert kernels.run_precision() == "int8" and kernels.run_precision("float32") == "float32"
    monkeypatch.setenv("MER_PRECISION", " Auto ")
    assert kernels.run_precision() == "float32"
    monkeypatch.setenv("MER_PRECISION", "bfloat16")
    with pytest.raises(ConfigError, match="MER_PRECISION='bfloat16' is not one of auto, float32, int8"):
        kernels.run_precision()
