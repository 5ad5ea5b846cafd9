"""Which arithmetic runs MusiCNN's timbral convolutions here: chosen by what this CPU does well, once per process.

The int8 path (8-bit inputs and weights summed in int32, ``torch._int_mm``) is about five times faster than
float32 on a CPU with AVX-512 VNNI or AMX, and 25-30 times *slower* on one without (AVX2 alone: 2 GOP/s
against float32's 50-90 GFLOP/s). So int8 runs only where the CPU has an 8-bit dot-product instruction *and* a
measurement on this machine confirms it wins; everywhere else MusiCNN runs in float32, the exact port. The two
give the same emotions within a few thousandths (tested), so a model analyses correctly in either, whichever
precision its embeddings were computed in; what ran is reported beside every result.

``MER_PRECISION=auto|float32|int8`` overrides the choice (benchmarks, tests, a user who knows better).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import ConfigError

__all__ = ["ENV_VAR", "KERNEL_ENV_VAR", "CHOICES", "INT8_FLAGS", "KernelChoice", "kernel_choice", "run_precision",
           "run_kernel", "cpu_int8_flags"]

ENV_VAR = "MER_PRECISION"
#: What ``MER_PRECISION`` may say: ``auto`` (the machine decides) or one of MusiCNN's precisions.
CHOICES = ("auto", "float32", "int8")
#: /proc/cpuinfo flags of CPUs with an 8-bit dot-product instruction that torch's int8 matrix product uses.
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
#: int8 must beat float32 by this factor in the probe to be chosen (a margin for the probe's noise).
_MIN_GAIN = 1.5
#: The DFT kernel must beat the direct convolution by this factor to be chosen.
_MIN_DFT_GAIN = 1.2
KERNEL_ENV_VAR = "MER_KERNEL"


@dataclass(frozen=True)
class KernelChoice:
    """What this process runs MusiCNN in, and why.

    Attributes
    ----------
    precision : {"float32", "int8"}
        What runs when nothing overrides it.
    capability : str
        ``torch.backends.cpu.get_cpu_capability()``: the widest vector instructions torch dispatches to.
    int8_flags : tuple of str
        The CPU's 8-bit dot-product flags (:data:`INT8_FLAGS`) found in /proc/cpuinfo.
    float32_gflops, int8_gops : float or None
        The probe's rates on this machine (None when int8 was ruled out without measuring).
    reason : str
        One sentence for the card, the Analyze page and ``analyze --json``.
    kernel : {"direct", "dft"}
        How float32 computes the timbral convolutions here (:mod:`mer.audio.bandconv`): the faster of the two on a
        probe (the same numbers to 6e-7 of the output scale).
    direct_ms, dft_ms : float or None
        The kernel probe's times for one patch of the 38-band layer.
    """

    precision: str
    capability: str
    int8_flags: tuple[str, ...]
    float32_gflops: float | None
    int8_gops: float | None
    reason: str
    kernel: str = "direct"
    direct_ms: float | None = None
    dft_ms: float | None = None


def cpu_int8_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> tuple[str, ...]:
    """The 8-bit dot-product flags of this CPU (empty where /proc/cpuinfo is absent or names none)."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return ()
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            flags.update(line.split(":", 1)[-1].split())
            break  # every core lists the same flags
    return tuple(f for f in INT8_FLAGS if f in flags)


def _best_seconds(fn, repeat: int = 5) -> float:
    """Seconds of ``fn``'s fastest of ``repeat`` runs after one warm-up."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return max(best, 1e-9)


def _probe() -> tuple[float, float]:
    """float32 matmul and int8 ``torch._int_mm`` rates (GFLOP/s, GOP/s) on the timbral layer's kind of shape.

    About 20 ms where int8 is fast; only run where the CPU has the instructions, since without them one
    int8 product of this size takes a tenth of a second.
    """
    import torch

    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(1024, 256, generator=gen), torch.randn(256, 256, generator=gen)
    qa, qb = (torch.randint(-128, 128, t.shape, generator=gen, dtype=torch.int8) for t in (a, b))
    ops = 2 * 1024 * 256 * 256
    with torch.inference_mode():
        return ops / _best_seconds(lambda: a @ b) / 1e9, ops / _best_seconds(lambda: torch._int_mm(qa, qb)) / 1e9


def _probe_float_kernels() -> tuple[float, float]:
    """Milliseconds of the direct and the DFT kernel (:mod:`mer.audio.bandconv`) on one patch of the 38-band timbral
    layer's shape, the better of two each after a warm-up: about 0.1 s in all."""
    import torch

    from .audio.bandconv import DftFilters, direct_peak

    gen = torch.Generator().manual_seed(0)
    patch, weight = torch.randn(1, 1, 193, 96, generator=gen), torch.randn(204, 1, 7, 38, generator=gen)
    tables = DftFilters.of(weight)
    with torch.no_grad():
        return (1e3 * _best_seconds(lambda: direct_peak(patch, weight), repeat=2),
                1e3 * _best_seconds(lambda: tables.peak(patch), repeat=2))


def _precision_choice(capability: str, flags: tuple[str, ...]) -> KernelChoice:
    """int8 where the CPU has VNNI/AMX and the probe confirms it, else float32 (see :func:`kernel_choice`)."""
    if not flags:
        return KernelChoice("float32", capability, flags, None, None,
                            f"this CPU ({capability}) has no 8-bit dot-product instruction "
                            "(VNNI/AMX), where int8 is many times slower")
    f32, i8 = _probe()
    if i8 >= _MIN_GAIN * f32:
        return KernelChoice("int8", capability, flags, f32, i8,
                            f"measured {i8:.0f} GOP/s against float32's {f32:.0f} GFLOP/s on this CPU "
                            f"({capability}, {', '.join(flags)})")
    return KernelChoice("float32", capability, flags, f32, i8,
                        f"int8 measured {i8:.0f} GOP/s against float32's {f32:.0f} GFLOP/s on this CPU "
                        f"({capability}, {', '.join(flags)})")


@lru_cache(maxsize=1)
def kernel_choice() -> KernelChoice:
    """What this machine does well: int8 where the CPU has VNNI/AMX and the probe confirms it, else float32; and
    for float32, the direct or the DFT kernel, whichever a probe finds at least 1.2 times faster (direct on a tie).

    Cached for the process: about 0.1 s on the first call, nothing after.
    """
    import dataclasses

    import torch

    choice = _precision_choice(torch.backends.cpu.get_cpu_capability(), cpu_int8_flags())
    if choice.precision == "int8":
        return choice
    direct_ms, dft_ms = _probe_float_kernels()
    kernel = "dft" if dft_ms * _MIN_DFT_GAIN <= direct_ms else "direct"
    return dataclasses.replace(choice, kernel=kernel, direct_ms=direct_ms, dft_ms=dft_ms)


def run_kernel() -> str:
    """How float32 computes MusiCNN's timbral convolutions here: ``MER_KERNEL`` (direct|dft) when set, else the
    probe's choice.

    Raises
    ------
    ConfigError
        ``MER_KERNEL`` names neither.
    """
    choice = os.environ.get(KERNEL_ENV_VAR, "auto").strip().lower() or "auto"
    if choice not in ("auto", "direct", "dft"):
        raise ConfigError(f"{KERNEL_ENV_VAR}={choice!r} is not one of auto, direct, dft; unset it to let mer choose.")
    return kernel_choice().kernel if choice == "auto" else choice


def run_precision(requested: str | None = None) -> str:
    """The precision MusiCNN runs in: ``requested`` or ``MER_PRECISION`` when set to one, else the machine's.

    Raises
    ------
    ConfigError
        ``MER_PRECISION`` (or ``requested``) names none of :data:`CHOICES`.
    """
    choice = requested if requested is not None else os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        raise ConfigError(f"{ENV_VAR}={choice!r} is not one of {', '.join(CHOICES)}; unset it to let mer choose.")
    return kernel_choice().precision if choice == "auto" else choice
