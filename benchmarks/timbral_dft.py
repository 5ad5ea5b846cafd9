"""MusiCNN's timbral convolutions as a DFT along the mel bands (mer/audio/bandconv.py), against the direct
``F.conv2d``: mer.kernels picks the faster on the machine that runs. ``python benchmarks/timbral_dft.py [--reps N]`` prints, for each timbral
layer (7 × 38 and 7 × 67) on the 20 patches of a one-minute track, wall and CPU time at 1 and 2 threads and the
DFT's largest error relative to the layer's output scale.

Measured on an AVX2-only AMD EPYC (2 cores, the machine loaded by other work, so CPU time is the figure to trust):
1 thread, CPU time, both layers: conv2d 622 ms, DFT 378 ms (1.65×), error 5e-7 to 8e-7 of the output scale.
The turn-3 note in mer/audio/musicnn.py found a DFT along frequency *tied* with oneDNN's direct convolution on an
AVX-512 CPU, so it is chosen per CPU (mer/kernels.py: a 0.1 s probe, MER_KERNEL=direct|dft overrides).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mer.audio.bandconv import DftFilters  # noqa: E402
from mer.audio.musicnn import PATCH_FRAMES, load_musicnn  # noqa: E402


def _layer_inputs() -> tuple[torch.Tensor, list[torch.Tensor]]:
    """20 realistic patches after MusiCNN's input batch norm (padded 'same' for 7 frames) and the two layers'
    sign-folded weights, as the eval path uses them."""
    rng = np.random.default_rng(0)
    t = np.arange(PATCH_FRAMES)[:, None] / PATCH_FRAMES
    mel = np.abs(np.sin(7 * t + np.arange(96)[None] / 9)) * 2 + rng.uniform(0, 1, (20, PATCH_FRAMES, 96))
    net = load_musicnn(precision="float32")
    with torch.no_grad():
        x = net.frontend.input_bn(torch.from_numpy(mel.astype(np.float32)).unsqueeze(1))
        x = F.pad(x, (0, 0, 3, 3))
        weights = []
        for block in net.frontend.timbral:
            signs = torch.where(block.bn.weight < 0, -1.0, 1.0)
            weights.append((block.conv.weight * signs[:, None, None, None]).contiguous())
    return x, weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    x, weights = _layer_inputs()

    def direct(w: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.conv2d(p, w).amax(3) for p in x.split(1)])

    tables = {id(w): DftFilters.of(w) for w in weights}

    def peak(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return torch.cat([tables[id(w)].peak(p) for p in x.split(1)])

    with torch.no_grad():
        for w in weights:
            ref = F.conv2d(x.double(), w.double()).amax(3)
            err = float((peak(x, w).double() - ref).abs().max() / ref.abs().max())
            print(f"{w.shape[-1]} bands: DFT error {err:.1e} of the output scale")
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for name, fn in (("conv2d", direct), ("DFT", lambda w: peak(x, w))):
                for w in weights:
                    fn(w)
                    best_wall = best_cpu = math.inf
                    for _ in range(args.reps):
                        c, t = time.process_time(), time.perf_counter()
                        fn(w)
                        best_wall = min(best_wall, time.perf_counter() - t)
                        best_cpu = min(best_cpu, time.process_time() - c)
                    print(f"{threads} thread(s) {name:<7} {w.shape[-1]} bands: wall {best_wall * 1e3:6.1f} ms, "
                          f"CPU {best_cpu * 1e3:6.1f} ms")


if __name__ == "__main__":
    main()
