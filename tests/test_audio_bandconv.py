"""The DFT kernel of MusiCNN's timbral layer (mer.audio.bandconv) computes what the direct convolution does."""

from __future__ import annotations

import pytest
import torch

from mer.audio.bandconv import DftFilters, direct_peak


@pytest.mark.parametrize("bands", [38, 67])  # the timbral layer's two widths: one table, and the even/odd split
def test_the_dft_kernel_equals_the_direct_convolutions_peak(bands):
    gen = torch.Generator().manual_seed(0)
    patch, weight = torch.randn(1, 1, 40, 96, generator=gen), torch.randn(8, 1, 7, bands, generator=gen)
    direct, dft = direct_peak(patch, weight), DftFilters.of(weight).peak(patch)
    assert dft.shape == direct.shape == (1, 8, 34)
    torch.testing.assert_close(dft, direct, atol=1e-4, rtol=1e-4)
