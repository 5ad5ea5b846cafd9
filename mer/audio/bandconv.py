"""MusiCNN's timbral convolutions, max-pooled over frequency, computed as a DFT along the mel bands.

``DftFilters.of(weight).peak(patch)`` equals ``F.conv2d(patch, weight).amax(dim=3)`` to float32 rounding (about
6e-7 of the output scale). A timbral filter spans 7 frames × 38 or 67 of the 96 bands; along the bands its
correlation with a patch is a product in the frequency domain, so per patch: an rfft of each frame along the
bands, then per frequency bin one matrix product whose inner dimension is the 7 time taps (real and imaginary
parts as rows), then a real inverse DFT evaluated only at the valid band positions (one matrix product over
column chunks), with the max over positions straight after. Where there are more than 40 positions (the 38-band
layer), bins w and n/2 − w are combined inside the product, so that the inverse runs on even and odd positions
separately, each half as long.

About 2.7-3.3 times fewer multiply-adds than the direct convolution, but in smaller matrix products: measured
1.65 times less CPU than oneDNN's direct convolution on an AVX2 CPU and a tie on an AVX-512 one, so
:mod:`mer.kernels` times both on the machine that runs and keeps the faster. ``benchmarks/timbral_dft.py``
prints the comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["DftFilters", "direct_peak"]

_BANDS = 96  # MusiCNN's mel bands: the transform's length (no aliasing at the valid positions)
_COLUMNS = 8192  # inverse-DFT columns per product: the chunk stays in cache for the max that follows


def direct_peak(patch: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Max over frequency of the bias-free convolution of one padded patch: (1, 1, T', 96) → (1, filters, T)."""
    return torch.nn.functional.conv2d(patch, weight).amax(dim=3)


def _complex_rows(c: torch.Tensor) -> torch.Tensor:
    """A complex (Q, F, K) acting on rows [re K; im K] as a real (Q, 2F, 2K) giving rows [re F; im F]."""
    return torch.cat([torch.cat([c.real, -c.imag], -1), torch.cat([c.imag, c.real], -1)], -2)


def _inverse(count: int, bins: int, length: int, n: int) -> torch.Tensor:
    """The real inverse DFT of a Hermitian spectrum (rows: bin, re/im) at positions 0 … count − 1."""
    p = torch.arange(count, dtype=torch.float64)[:, None]
    f = torch.arange(bins, dtype=torch.float64)[None]
    alpha = torch.full((bins,), 2.0, dtype=torch.float64)
    alpha[0] = alpha[-1] = 1
    angle = 2 * math.pi * p * f / length
    return (torch.stack([alpha * torch.cos(angle), -alpha * torch.sin(angle)], 2) / n).reshape(count, 2 * bins).float()


@dataclass(frozen=True)
class DftFilters:
    """A layer's filters as frequency-domain tables, built once (a few ms) and used for every patch."""

    mats: tuple[torch.Tensor, ...]  # per bin, the filters' spectra as real matrices (one, or even and odd)
    inverses: tuple[torch.Tensor, ...]  # the inverse DFT at the valid positions (one, or even and odd)
    gather: torch.Tensor | None  # with the even/odd split: which bins pair up
    bins: int
    filters: int
    taps: int

    @classmethod
    def of(cls, weight: torch.Tensor) -> DftFilters:
        """Tables of conv weights (filters, 1, taps, bands)."""
        filters, _, taps, bands = weight.shape
        n, positions = _BANDS, _BANDS - bands + 1
        spec = torch.fft.rfft(weight[:, 0].detach().double(), n=n, dim=-1).conj()  # correlation: (F, K, n/2 + 1)
        if positions <= 40:
            q = spec.shape[-1]
            return cls((_complex_rows(spec.permute(2, 0, 1)).float().contiguous(),),
                       (_inverse(positions, q, n, n),), None, q, filters, taps)
        half = n // 2
        nb = half // 2 + 1
        a = _complex_rows(spec[:, :, :nb].permute(2, 0, 1))
        b = _complex_rows(spec[:, :, half - torch.arange(nb)].permute(2, 0, 1))
        conj = torch.cat([torch.ones(filters), -torch.ones(filters)]).double()[:, None]
        even = torch.cat([a, conj * b], -1)  # Z[w] + conj Z[n/2 − w]: the even positions' spectrum
        d = torch.cat([a, -conj * b], -1)  # Z[w] − conj Z[n/2 − w], turned by e^(2πiw/n): the odd positions'
        th = 2 * math.pi * torch.arange(nb, dtype=torch.float64) / n
        c, s = torch.cos(th)[:, None, None], torch.sin(th)[:, None, None]
        odd = torch.cat([c * d[:, :filters] - s * d[:, filters:], s * d[:, :filters] + c * d[:, filters:]], 1)
        inverses = (_inverse((positions + 1) // 2, nb, half, n), _inverse(positions // 2, nb, half, n))
        return cls((even.float().contiguous(), odd.float().contiguous()), inverses,
                   torch.cat([torch.arange(nb), half - torch.arange(nb)]), nb, filters, taps)

    def peak(self, patch: torch.Tensor) -> torch.Tensor:
        """:func:`direct_peak` of one padded patch (1, 1, T', 96) → (1, filters, T)."""
        frames = patch.shape[2] - self.taps + 1
        x = torch.view_as_real(torch.fft.rfft(patch[0, 0], n=_BANDS, dim=-1))  # (T', Q, 2)
        a = x.permute(1, 2, 0).unfold(2, self.taps, 1).permute(0, 1, 3, 2).reshape(-1, 2 * self.taps, frames)
        if self.gather is not None:
            a = torch.cat([a[:self.bins], a[self.gather[self.bins:]]], 1)  # bins w and n/2 − w side by side
        ys = [torch.bmm(m, a).view(2 * self.bins, self.filters * frames) for m in self.mats]
        out = torch.empty(self.filters * frames)
        for lo in range(0, self.filters * frames, _COLUMNS):
            parts = [(inv @ y[:, lo:lo + _COLUMNS]).amax(0) for inv, y in zip(self.inverses, ys)]
            out[lo:lo + _COLUMNS] = parts[0] if len(parts) == 1 else torch.maximum(parts[0], parts[1])
        return out.view(1, self.filters, frames)
