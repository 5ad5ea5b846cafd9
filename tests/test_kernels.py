"""The kernel MusiCNN runs in is chosen by the CPU that runs it, and MER_PRECISION overrides it."""

from __future__ import annotations

import pytest

from mer import kernels
from mer.errors import ConfigError


@pytest.fixture
def fresh_choice():
    kernels.kernel_choice.cache_clear()
    yield
    kernels.kernel_choice.cache_clear()


def _cpuinfo(tmp_path, flags: str):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 {flags}\n\n"
                    f"processor\t: 1\nflags\t\t: fpu sse2 {flags}\n")
    return path


def test_int8_flags_are_read_from_cpuinfo(tmp_path):
    assert kernels.cpu_int8_flags(_cpuinfo(tmp_path, "avx2 fma")) == ()
    assert kernels.cpu_int8_flags(_cpuinfo(tmp_path, "avx2 avx512f avx512_vnni amx_int8")) == ("avx512_vnni",
                                                                                                "amx_int8")
    assert kernels.cpu_int8_flags(tmp_path / "absent") == ()


def test_without_vnni_int8_is_never_probed_and_float32_runs(monkeypatch, fresh_choice):
    monkeypatch.setattr(kernels, "cpu_int8_flags", lambda: ())
    monkeypatch.setattr(kernels, "_probe_float_kernels", lambda: (16.0, 10.0))
    monkeypatch.setattr(kernels, "_probe", lambda: pytest.fail("int8 probed on a CPU without VNNI"))
    choice = kernels.kernel_choice()
    assert choice.precision == "float32" and choice.int8_gops is None and "no 8-bit dot-product" in choice.reason
    assert kernels.kernel_choice() is choice  # once per process


@pytest.mark.parametrize("rates, expected", [((90.0, 700.0), "int8"), ((90.0, 120.0), "float32"),
                                             ((50.0, 2.0), "float32")])
def test_with_vnni_the_measurement_decides(monkeypatch, fresh_choice, rates, expected):
    monkeypatch.setattr(kernels, "cpu_int8_flags", lambda: ("avx512_vnni",))
    monkeypatch.setattr(kernels, "_probe", lambda: rates)
    monkeypatch.setattr(kernels, "_probe_float_kernels", lambda: (16.0, 16.0))
    choice = kernels.kernel_choice()
    assert choice.precision == expected and (choice.float32_gflops, choice.int8_gops) == rates
    assert f"{rates[1]:.0f} GOP/s" in choice.reason


def test_the_probe_is_quick_and_measures_both(monkeypatch):
    import time

    t0 = time.perf_counter()
    f32, i8 = kernels._probe() if kernels.cpu_int8_flags() else (1.0, 1.0)
    assert f32 > 0 and i8 > 0 and time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize("times, expected", [((16.0, 10.0), "dft"), ((16.0, 14.0), "direct"), ((8.0, 16.0), "direct")])
def test_float32s_kernel_is_the_dft_only_where_it_is_clearly_faster(monkeypatch, fresh_choice, times, expected):
    monkeypatch.setattr(kernels, "cpu_int8_flags", lambda: ())
    monkeypatch.setattr(kernels, "_probe_float_kernels", lambda: times)
    monkeypatch.delenv("MER_KERNEL", raising=False)
    choice = kernels.kernel_choice()
    assert (choice.kernel, choice.direct_ms, choice.dft_ms) == (expected, *times) and kernels.run_kernel() == expected
    monkeypatch.setenv("MER_KERNEL", "direct" if expected == "dft" else "dft")
    assert kernels.run_kernel() != expected
    monkeypatch.setenv("MER_KERNEL", "fft")
    with pytest.raises(ConfigError, match="MER_KERNEL='fft' is not one of auto, direct, dft"):
        kernels.run_kernel()


def test_the_kernel_probe_measures_both_quickly():
    import time

    t0 = time.perf_counter()
    direct_ms, dft_ms = kernels._probe_float_kernels()
    assert direct_ms > 0 and dft_ms > 0 and time.perf_counter() - t0 < 5.0


def test_mer_precision_overrides_and_is_checked(monkeypatch, fresh_choice):
    monkeypatch.setattr(kernels, "cpu_int8_flags", lambda: ())
    monkeypatch.setattr(kernels, "_probe_float_kernels", lambda: (16.0, 16.0))
    monkeypatch.delenv("MER_PRECISION", raising=False)
    assert kernels.run_precision() == "float32"
    monkeypatch.setenv("MER_PRECISION", "int8")
    assert kernels.run_precision() == "int8" and kernels.run_precision("float32") == "float32"
    monkeypatch.setenv("MER_PRECISION", " Auto ")
    assert kernels.run_precision() == "float32"
    monkeypatch.setenv("MER_PRECISION", "bfloat16")
    with pytest.raises(ConfigError, match="MER_PRECISION='bfloat16' is not one of auto, float32, int8"):
        kernels.run_precision()
