"""Which arithmetic runs MusiCNN's timbral convolutions here: chosen once per machine, never by its load.

The int8 path (8-bit inputs and weights summed in int32, ``torch._int_mm``) is about five times faster than
float32 on a CPU with AVX-512 VNNI or AMX, and 25-30 times *slower* on one without (AVX2 alone: 2 GOP/s
against float32's 50-90 GFLOP/s). So int8 runs only where the CPU has an 8-bit dot-product instruction *and* a
measurement on this machine confirms it wins; everywhere else MusiCNN runs in float32, the exact port, through
the faster of two float32 kernels (:mod:`mer.audio.bandconv`, equal to 6e-7).

A probe timed in every process flips with the load of the moment (a busy evening chose float32 where the idle
morning chose int8, and the same file's probabilities moved by 0.007). So the probe runs once per machine, on
one thread, interleaving the kernels it compares so that load slows both alike, and its decision is cached under
mer's data folder (:func:`mer.settings.data_dir`), keyed by the CPU's model, its flags, torch's dispatch level and
torch's version: every later process, whatever the load, reads the same choice. Processes that start together
on a new machine wait for the first one's probe. What ran is reported beside every result, with how the choice
was made (:attr:`KernelChoice.basis`).

``MER_PRECISION=auto|float32|int8`` and ``MER_KERNEL=auto|direct|dft`` override the choice (benchmarks, tests,
a user who knows better); deleting the cached file makes the next process probe again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import settings
from .errors import ConfigError

__all__ = ["INT8_FLAGS", "CHOICE_VERSION", "KernelChoice", "MachineId",
           "machine_id", "choice_path", "kernel_choice", "run_precision", "run_kernel", "cpu_int8_flags"]

#: /proc/cpuinfo flags of CPUs with an 8-bit dot-product instruction that torch's int8 matrix product uses.
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
#: int8 must beat float32 by this factor in the probe to be chosen (a margin for the probe's noise).
_MIN_GAIN = 1.5
#: The DFT kernel must beat the direct convolution by this factor to be chosen.
_MIN_DFT_GAIN = 1.2
_CHOOSING = threading.Lock()  # the server's threads: one probes, the others wait for its answer
#: Bump when the probe or its rule changes: choices cached by an earlier rule are then made again.
CHOICE_VERSION = 2


@dataclass(frozen=True)
class KernelChoice:
    """What MusiCNN runs in on this machine, and why.

    Attributes
    ----------
    precision : {"float32", "int8"}
        What runs when nothing overrides it.
    capability : str
        ``torch.backends.cpu.get_cpu_capability()``: the widest vector instructions torch dispatches to.
    int8_flags : tuple of str
        The CPU's 8-bit dot-product flags (:data:`INT8_FLAGS`) found in /proc/cpuinfo.
    float32_gflops, int8_gops : float or None
        The probe's one-thread rates on this machine (None when int8 was ruled out without measuring).
    reason : str
        One sentence for the card, the Analyze page and ``analyze --json``.
    kernel : {"direct", "dft"}
        How float32 computes the timbral convolutions here (:mod:`mer.audio.bandconv`): the faster of the two on a
        probe (the same numbers to 6e-7 of the output scale).
    direct_ms, dft_ms : float or None
        The kernel probe's times for one patch of the 38-band layer.
    basis : str
        How the choice was made: probed in this process, or read from the machine's cached probe (with its date
        and file), so that every process of the machine runs the same arithmetic whatever its load.
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
    basis: str = ""


@dataclass(frozen=True)
class MachineId:
    """What the choice depends on: a machine with the same CPU model, flags and torch makes the same one."""

    cpu: str
    int8_flags: tuple[str, ...]
    capability: str
    torch: str

    def key(self) -> str:
        """A short hash naming this machine's cached choice."""
        text = json.dumps([CHOICE_VERSION, *dataclasses.astuple(self)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cpuinfo_fields(cpuinfo: str | Path) -> tuple[str, set[str]]:
    """The first CPU's model name and flags (every core lists the same); empty where /proc/cpuinfo is absent."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return "", set()
    model, flags = "", None
    for line in text.splitlines():
        if not model and line.startswith("model name"):
            model = line.split(":", 1)[-1].strip()
        elif flags is None and line.startswith(("flags", "Features")):
            flags = set(line.split(":", 1)[-1].split())
    return model, flags or set()


def cpu_int8_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> tuple[str, ...]:
    """The 8-bit dot-product flags of this CPU (empty where /proc/cpuinfo is absent or names none)."""
    flags = _cpuinfo_fields(cpuinfo)[1]
    return tuple(f for f in INT8_FLAGS if f in flags)


def machine_id(cpuinfo: str | Path = "/proc/cpuinfo") -> MachineId:
    """This machine as the kernel choice sees it."""
    import torch

    model = _cpuinfo_fields(cpuinfo)[0] or platform.processor() or platform.machine()
    return MachineId(cpu=model, int8_flags=cpu_int8_flags(cpuinfo),
                     capability=torch.backends.cpu.get_cpu_capability(), torch=torch.__version__)


def _interleaved_best(first, second, rounds: int = 7) -> tuple[float, float]:
    """Fastest seconds of two functions timed in turn, ``rounds`` times each after a warm-up: a burst of load
    slows both, not one, and the fastest run of each is the one least disturbed."""
    first(), second()
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for i, fn in enumerate((first, second)):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return max(best[0], 1e-9), max(best[1], 1e-9)


def _probe() -> tuple[float, float]:
    """float32 matmul and int8 ``torch._int_mm`` rates (GFLOP/s, GOP/s) on the timbral layer's kind of shape, on
    one thread, the two interleaved.

    Some 30 ms where int8 is fast; only run where the CPU has the instructions, since without them one
    int8 product of this size takes a tenth of a second.
    """
    import torch

    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(1024, 256, generator=gen), torch.randn(256, 256, generator=gen)
    qa, qb = (torch.randint(-128, 128, t.shape, generator=gen, dtype=torch.int8) for t in (a, b))
    ops = 2 * 1024 * 256 * 256
    with _one_thread(), torch.inference_mode():
        f32, i8 = _interleaved_best(lambda: a @ b, lambda: torch._int_mm(qa, qb))
    return ops / f32 / 1e9, ops / i8 / 1e9


def _probe_float_kernels() -> tuple[float, float]:
    """Milliseconds of the direct and the DFT kernel (:mod:`mer.audio.bandconv`) on one patch of the 38-band timbral
    layer's shape, on one thread, interleaved: about 0.2 s in all."""
    import torch

    from .audio.bandconv import DftFilters, direct_peak

    gen = torch.Generator().manual_seed(0)
    patch, weight = torch.randn(1, 1, 193, 96, generator=gen), torch.randn(204, 1, 7, 38, generator=gen)
    tables = DftFilters.of(weight)
    with _one_thread(), torch.no_grad():
        direct, dft = _interleaved_best(lambda: direct_peak(patch, weight), lambda: tables.peak(patch), rounds=3)
    return 1e3 * direct, 1e3 * dft


class _one_thread:
    """torch on one thread for a probe (what a pool worker runs, and what another process's load cannot split)."""

    def __enter__(self) -> None:
        import torch

        self._threads = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc) -> None:
        import torch

        torch.set_num_threads(self._threads)


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


def _measure(machine: MachineId) -> KernelChoice:
    """Probe this machine: int8 against float32 where the CPU could run int8 fast, then float32's two kernels."""
    choice = _precision_choice(machine.capability, machine.int8_flags)
    direct_ms, dft_ms = _probe_float_kernels()
    kernel = "dft" if dft_ms * _MIN_DFT_GAIN <= direct_ms else "direct"
    return dataclasses.replace(choice, kernel=kernel, direct_ms=direct_ms, dft_ms=dft_ms)


def choice_path(machine: MachineId | None = None) -> Path:
    """Where this machine's choice is cached: ``<data folder>/machine/kernels-<key>.json``."""
    return settings.machine_dir() / f"kernels-{(machine or machine_id()).key()}.json"


def _read_cached(path: Path, machine: MachineId) -> KernelChoice | None:
    """The cached choice at ``path`` if it is whole and made for ``machine``, else None (probe again)."""
    from .errors import MerError
    from .files import read_json

    try:
        data = read_json(path, what="the cached kernel choice")
        if data.get("machine") != dataclasses.asdict(machine) | {"int8_flags": list(machine.int8_flags)}:
            return None
        fields = {f.name: data["choice"][f.name] for f in dataclasses.fields(KernelChoice) if f.name != "basis"}
        fields["int8_flags"] = tuple(fields["int8_flags"])
        choice = KernelChoice(**fields)
        if choice.precision not in settings.PRECISIONS[1:] or choice.kernel not in ("direct", "dft"):
            return None
        return dataclasses.replace(choice, basis=f"probed once on this machine on {data['probed']}, read from {path}")
    except (FileNotFoundError, MerError, KeyError, TypeError, AttributeError):
        return None


def _probe_and_cache(path: Path, machine: MachineId) -> KernelChoice:
    """Probe, and write the choice for every later process; the first of processes starting together probes
    while the others wait for its file."""
    from .errors import MerError
    from .files import name_lock, write_json_atomic

    try:
        with name_lock(path.parent, path.name, what="the kernel choice", wait=True):
            cached = _read_cached(path, machine)
            if cached is not None:
                return cached
            choice = _measure(machine)
            probed = time.strftime("%Y-%m-%d")
            write_json_atomic(path, {"machine": dataclasses.asdict(machine) | {"int8_flags": list(machine.int8_flags)},
                                     "probed": probed, "choice": dataclasses.asdict(choice)})
            return dataclasses.replace(choice, basis=f"probed once on this machine on {probed}, cached in {path}")
    except (OSError, MerError) as e:  # a read-only data folder: right for this process, probed again next time
        choice = _measure(machine)
        return dataclasses.replace(choice, basis=f"probed in this process: the choice could not be cached in "
                                                 f"{path.parent} ({getattr(e, 'strerror', None) or e})")


@lru_cache(maxsize=1)
def kernel_choice() -> KernelChoice:
    """What this machine does well: int8 where the CPU has VNNI/AMX and the probe confirms it, else float32; and
    for float32, the direct or the DFT kernel, whichever a probe finds at least 1.2 times faster (direct on a tie).

    Made once per machine (:func:`choice_path`) and cached for the process: a file read on the first call,
    nothing after; about 0.2 s the first time the machine runs mer.
    """
    machine = machine_id()
    path = choice_path(machine)
    with _CHOOSING:
        return _read_cached(path, machine) or _probe_and_cache(path, machine)


def run_kernel() -> str:
    """How float32 computes MusiCNN's timbral convolutions here: ``MER_KERNEL`` (direct|dft) when set, else the
    machine's choice.

    Raises
    ------
    ConfigError
        ``MER_KERNEL`` names neither.
    """
    choice = settings.kernel()
    return kernel_choice().kernel if choice == "auto" else choice


def run_precision(requested: str | None = None) -> str:
    """The precision MusiCNN runs in: ``requested`` or ``MER_PRECISION`` when set to one, else the machine's.

    Raises
    ------
    ConfigError
        ``MER_PRECISION`` (or ``requested``) names none of :data:`mer.settings.PRECISIONS`.
    """
    if requested is not None and requested not in settings.PRECISIONS:
        raise ConfigError(f"precision {requested!r} is not one of {', '.join(settings.PRECISIONS)}.")
    choice = settings.precision() if requested is None else requested
    return kernel_choice().precision if choice == "auto" else choice
