"""An experiment, not product code: MusiCNN's timbral convolutions as a DFT along the mel bands, against the
direct ``F.conv2d`` the port runs. ``python benchmarks/timbral_dft.py [--reps N]`` prints, for each timbral
layer (7 × 38 and 7 × 67) on the 20 patches of a one-minute track, wall and CPU time at 1 and 2 threads and the
DFT's largest error relative to the layer's output scale.

Measured on an AVX2-only AMD EPYC (2 cores, the machine loaded by other work, so CPU time is the figure to trust):
1 thread, CPU time, both layers: conv2d 622 ms, DFT 378 ms (1.65×), error 5e-7 to 8e-7 of the output scale.
The turn-3 note in mer/musicnn.py found a DFT along frequency *tied* with oneDNN's direct convolution on an
AVX-512 CPU, so if this lands it must be chosen per CPU, as mer/kernels.py chooses int8. Not yet wired in.

How it works: per patch, an rfft along the 96 bands (no aliasing at the valid positions); the 7 time taps
(real and imaginary parts as rows) are the inner dimension of one ``torch.bmm`` per frequency bin; a real
inverse DFT evaluated only at the valid positions, as one matrix product over column chunks, with the max over
frequency straight after. When there are more than 40 positions (38 bands), bins w and 48 − w are combined in
the bmm so the inverse runs on even and odd positions separately, each half as long.
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

from mer.musicnn import PATCH_FRAMES, load_musicnn  # noqa: E402

_cache: dict = {}


def _tables(weight: torch.Tensor, n: int):
    key = (id(weight), weight._version, tuple(weight.shape), n)
    if key in _cache:
        return _cache[key]
    filters, _, k, bands = weight.shape
    positions = n - bands + 1
    spec = torch.fft.rfft(weight[:, 0].double(), n=n, dim=-1).conj()            # (F, K, n/2+1): correlation
    half = n // 2
    split = positions > 40   # long outputs: fold one radix-2 step (even / odd positions) into the per-bin matmul
    if split:
        nb = half // 2 + 1
        def stack(c):   # complex (Q, F, K) acting on [re K, im K] -> rows [re F; im F]
            return torch.cat([torch.cat([c.real, -c.imag], -1), torch.cat([c.imag, c.real], -1)], -2)
        a = stack(spec[:, :, :nb].permute(2, 0, 1))
        b = stack(spec[:, :, half - torch.arange(nb)].permute(2, 0, 1))
        conj = torch.cat([torch.ones(filters), -torch.ones(filters)]).double()[:, None]
        u = torch.cat([a, conj * b], -1)                   # Z[w] + conj Z[n/2-w]: even positions' spectrum
        d = torch.cat([a, -conj * b], -1)                  # Z[w] - conj Z[n/2-w], times e^{2 pi i w / n}: odd
        th = 2 * math.pi * torch.arange(nb, dtype=torch.float64) / n
        c, s = torch.cos(th)[:, None, None], torch.sin(th)[:, None, None]
        v = torch.cat([c * d[:, :filters] - s * d[:, filters:], s * d[:, :filters] + c * d[:, filters:]], 1)
        mats, length, bins = [u, v], half, nb
        counts = [(positions + 1) // 2, positions // 2]
        gather = torch.cat([torch.arange(nb), half - torch.arange(nb)])
    else:
        q = spec.shape[-1]
        w = spec.permute(2, 0, 1)
        mats = [torch.cat([torch.cat([w.real, -w.imag], -1), torch.cat([w.imag, w.real], -1)], -2)]
        length, bins, counts, gather = n, q, [positions], None
    inverses = []
    for count in counts:  # real inverse DFT of a Hermitian spectrum, rows (bin, re/im), only the needed positions
        p = torch.arange(count, dtype=torch.float64)[:, None]
        f = torch.arange(bins, dtype=torch.float64)[None]
        alpha = torch.full((bins,), 2.0, dtype=torch.float64)
        alpha[0] = alpha[-1] = 1
        ang = 2 * math.pi * p * f / length
        inverses.append((torch.stack([alpha * torch.cos(ang), -alpha * torch.sin(ang)], 2) / n).reshape(count, 2 * bins).float())
    t = ([m.float().contiguous() for m in mats], inverses, gather, bins)
    if len(_cache) > 8:
        _cache.clear()
    _cache[key] = t
    return t


def peak(patches: torch.Tensor, weight: torch.Tensor, n: int = 96, cols: int = 8192) -> torch.Tensor:
    mats, inverses, gather, bins = _tables(weight, n)
    filters, _, k, _ = weight.shape
    outs = []
    for patch in patches.split(1):   # one patch at a time keeps the spectra (~15 MB) near cache
        frames = patch.shape[2] - k + 1
        x = torch.view_as_real(torch.fft.rfft(patch[0, 0], n=n, dim=-1))          # (T', Q, 2)
        a = x.permute(1, 2, 0).unfold(2, k, 1).permute(0, 1, 3, 2).reshape(-1, 2 * k, frames)  # (Q, 2K, T)
        if gather is not None:
            a = torch.cat([a[:bins], a[gather[bins:]]], 1)                          # bins w and n/2-w: (nb, 4K, T)
        ys = [torch.bmm(m, a).view(2 * bins, filters * frames) for m in mats]        # rows (bin, re/im), cols (f, t)
        out = torch.empty(filters * frames)
        for c in range(0, filters * frames, cols):
            part = [(inv @ y[:, c:c + cols]).amax(0) for inv, y in zip(inverses, ys)]
            out[c:c + cols] = part[0] if len(part) == 1 else torch.maximum(part[0], part[1])
        outs.append(out.view(1, filters, frames))
    return torch.cat(outs)


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
