"""Where the network computes: ``cpu`` (the default), ``cuda``, ``mps``, or ``auto`` (the best one present).

A property of the machine, like the thread count: chosen per process (``--device``), never saved with a model.
A model trained on a GPU is saved with its weights on the CPU and analyses anywhere.
"""

from __future__ import annotations

from typing import Any

from .errors import DeviceError

__all__ = ["DEVICES", "available_devices", "resolve_device", "module_device"]

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


def _available(kind: str) -> bool:
    import torch

    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    return kind == "cpu"


def available_devices() -> list[str]:
    """The devices this machine's torch can compute on, the CPU first."""
    return [kind for kind in ("cpu", "cuda", "mps") if _available(kind)]


def resolve_device(name: str = "cpu") -> Any:
    """The :class:`torch.device` for ``name`` (``"cuda:1"`` picks a GPU).

    Raises
    ------
    DeviceError
        An unknown name, or a device this machine's torch cannot use.
    """
    import torch

    kind = name.split(":", 1)[0]
    if kind not in DEVICES:
        raise DeviceError(f"Unknown device '{name}'. Choose one of: {', '.join(DEVICES)} (or cuda:N).")
    if kind == "auto":
        return torch.device(next(k for k in ("cuda", "mps", "cpu") if _available(k)))
    if not _available(kind):
        build = f"torch {torch.__version__}" + (" (a CPU-only build)" if not torch.backends.cuda.is_built() else "")
        raise DeviceError(f"The device '{name}' is not available here ({build}). Use --device cpu, or --device auto "
                          "to take a GPU only where there is one.")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"'{name}' is not a device name; write cuda:0, cuda:1, ...") from None
    if kind == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise DeviceError(f"There is no GPU {device.index}: this machine has {torch.cuda.device_count()}.")
    return device


def module_device(module: Any) -> Any:
    """The device of a network's parameters (the CPU for a network without any)."""
    import torch

    return next((p.device for p in module.parameters()), torch.device("cpu"))
