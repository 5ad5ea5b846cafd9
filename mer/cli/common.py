"""What the commands share: the progress line, JSON on stdout, the model and corpus a command reads, torch's
threads, the ``--device`` flag."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..progress import ProgressPrinter
from ..run_config import RunOptions

__all__ = ["print_progress", "print_json", "load_model_arg", "corpus_root", "set_threads", "add_model_argument",
           "add_device_argument"]


#: The commands' progress: one line on stderr.
print_progress = ProgressPrinter()


def _finite(obj: object) -> object:
    """``obj`` with every float that is not a finite number (NaN, ±inf) as None, in dicts, lists and tuples."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def print_json(obj: object) -> int:
    """One JSON object on stdout, valid JSON always (a number that is not finite is ``null``); exit status 0."""
    json.dump(_finite(obj), sys.stdout, allow_nan=False)
    print()
    return 0


def load_model_arg(path: Path | None, device: str = "cpu"):
    from ..device import resolve_device
    from ..model_files import load_model
    from ..registry import load_active

    torch_device = resolve_device(device)  # before loading: a missing GPU is named before any work
    model = load_model(path) if path is not None else load_active()
    if model.fallback_reason:
        print(f"warning: {model.fallback_reason}", file=sys.stderr)
    model.net.to(torch_device)
    return model


def corpus_root(args: argparse.Namespace, bundled: bool = False) -> Path | None:
    """``--root``, else the bundled Emotify where the command can use it (``bundled``), else the demo corpus."""
    if args.root is not None or bundled:
        return args.root
    from ..data.demo import ensure_demo_corpus

    return ensure_demo_corpus(on_progress=print_progress)


def set_threads(options: RunOptions) -> None:
    """Torch's threads in this process, where the command line sets them."""
    if options.threads is not None:
        import torch

        torch.set_num_threads(options.threads)


def add_model_argument(p: argparse.ArgumentParser) -> None:
    """``--model DIR``: the model a command reads (default: the active one)."""
    p.add_argument("--model", type=Path, default=None, help="model directory (default: the active model)")


def add_device_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", metavar="{auto,cpu,cuda,mps}",
                   help="where the network computes (default: cpu; auto takes a GPU where there is one; not saved "
                        "with the model)")
