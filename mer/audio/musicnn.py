"""MusiCNN, the pretrained music tagger of Pons and Serra, ported to PyTorch with its input.

The network is ``MSD_musicnn`` of the ``musicnn`` 0.1.0 wheel (ISC licence;
J. Pons and X. Serra, "musicnn: pre-trained convolutional neural networks for
music audio tagging", ISMIR 2019 late-breaking demo), trained on 50 Last.fm tags
of the Million Song Dataset. Its TensorFlow checkpoint is converted once by
``benchmarks/convert_musicnn.py`` into ``mer/resources/musicnn/msd_musicnn.pt``;
``tests/test_musicnn.py`` holds the port to the original's outputs.

Blocks are named for what they hear, as in musicnn's ``models.py``:

* the **frontend** reads a 3 s patch of log-mel frames with timbral filters (7
  frames × 38 and 67 mel bands: 40 % and 70 % of the mel axis) and temporal
  filters (128, 64 and 32 frames × 1 band), each followed by a max over frequency;
* the **midend** runs three 1-D convolutions along time over those 561
  channels, densely connected (residuals);
* the **backend** pools the 753 channels over time (max and mean), then two
  dense layers give the penultimate embedding (200) and the 50 tags.

The input is musicnn's: 16 kHz mono, centred STFT (n_fft 512, hop 256, Hann),
power through 96 Slaney mel bands, ``log10(10000·x + 1)``, in patches of 187
frames. Unlike musicnn's extractor, the log compression is computed in float32:
its float16 cast overflows to ``inf`` on loud bins.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError
from ..files import file_digest
from ..tags import TAGS
from ..threads import one_blas_thread
from .bandconv import DftFilters, direct_peak
from .features import mel_filterbank

__all__ = [
    "SAMPLE_RATE",
    "N_FFT",
    "HOP",
    "N_MELS",
    "PATCH_FRAMES",
    "PRECISIONS",
    "KERNELS",
    "TAGS",
    "WEIGHTS_PATH",
    "REBUILD_COMMAND",
    "MusiCNN",
    "MusiCNNOutput",
    "LastBlock",
    "LAST_BLOCK_MEAN_POOL",
    "LAST_BLOCK_INPUTS",
    "LAST_BLOCK_PARAMETERS",
    "logmel",
    "patches",
    "load_musicnn",
    "weights_hash",
]

SAMPLE_RATE = 16_000  # Hz; musicnn's configuration.SR
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # 3 s: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1

#: The converted weights that ship with mer.
WEIGHTS_PATH = Path(__file__).resolve().parent.parent / "resources" / "musicnn" / "msd_musicnn.pt"

#: How to rebuild the weights file (see the script's docstring for the TensorFlow venv it needs).
REBUILD_COMMAND = ("pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn && "
                   "python benchmarks/convert_musicnn.py --wheel-dir /tmp/musicnn --tf-python /tmp/tfvenv/bin/python")

#: How the timbral convolutions are computed in eval mode: "float32" is the exact port, "int8" quantises
#: inputs and weights to 8 bits and sums in int32 (several times faster where the CPU has VNNI; mer.kernels).
PRECISIONS = ("float32", "int8")
#: How float32 computes them: oneDNN's direct convolution, or a DFT along the bands (mer.audio.bandconv; the same
#: numbers to 6e-7 of the output scale, faster on some CPUs: mer.kernels times both).
KERNELS = ("direct", "dft")

_BN_EPS = 1e-3  # TensorFlow's default for tf.compat.v1.layers.batch_normalization
_TIMBRAL_BANDS = (int(0.4 * N_MELS), int(0.7 * N_MELS))  # 38 and 67 bands
_TIMBRAL_FILTERS = int(1.6 * 128)  # 204
_TEMPORAL_FRAMES = (128, 64, 32)
_TEMPORAL_FILTERS = int(1.6 * 32)  # 51
_MIDEND_FILTERS = 64
_MIDEND_KERNEL = 7
_PENULTIMATE = 200
#: Where the last mid-end layer's output sits in ``mean_pool`` (561 front-end channels, then three mid-end layers).
LAST_BLOCK_MEAN_POOL = slice(753 - _MIDEND_FILTERS, 753)
#: Numbers in one patch's input of :class:`LastBlock` (64 channels × 187 frames).
LAST_BLOCK_INPUTS = _MIDEND_FILTERS * PATCH_FRAMES
#: Trainable weights of :class:`LastBlock`: the convolution and the batch norm's scale and shift.
LAST_BLOCK_PARAMETERS = _MIDEND_FILTERS * _MIDEND_FILTERS * _MIDEND_KERNEL + 3 * _MIDEND_FILTERS


# ---------------------------------------------------------------------------------------------------------------
# Input


def _hann(n: int) -> np.ndarray:
    """Periodic Hann window in float64: scipy.signal.get_window("hann", n, fftbins=True)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def logmel(samples_16k: np.ndarray) -> np.ndarray:
    """musicnn's input: log-compressed mel spectrogram of 16 kHz mono audio.

    ``np.log10(10000 * librosa.feature.melspectrogram(y, sr=16000, n_fft=512,
    hop_length=256, n_mels=96).T + 1)`` computed in float32, in numpy alone
    (importing librosa costs about 2 s per process). Frames are centred, the
    signal padded with zeros as librosa 0.11 does.

    Parameters
    ----------
    samples_16k : np.ndarray [shape=(n,)]
        Mono audio at :data:`SAMPLE_RATE` (see :func:`mer.audio.decode.resample`).

    Returns
    -------
    np.ndarray [shape=(1 + n // HOP, N_MELS), dtype=float32]
    """
    y = np.asarray(samples_16k, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"logmel expects mono samples of shape (n,), got shape {y.shape}")
    pad, n_frames = N_FFT // 2, 1 + len(y) // HOP
    out = np.empty((n_frames, N_MELS), dtype=np.float32)
    for lo in range(0, n_frames, _LOGMEL_FRAMES):  # frame by frame alike: blocks bound the float64 FFT's memory
        hi = min(n_frames, lo + _LOGMEL_FRAMES)
        # the samples of frames lo..hi of the signal padded with N_FFT // 2 zeros each side (never padded whole)
        start, stop = lo * HOP - pad, (hi - 1) * HOP + N_FFT - pad
        piece = np.zeros(stop - start, dtype=np.float32)
        piece[max(0, -start):len(piece) - max(0, stop - len(y))] = y[max(0, start):min(len(y), stop)]
        out[lo:hi] = _frames_logmel(np.lib.stride_tricks.sliding_window_view(piece, N_FFT)[::HOP])
    return out


#: Frames of :func:`logmel` computed at once (65 s of audio; 17 MB of float64 FFT, where a whole 20-minute track
#: took 600 MB). A track up to that long is computed in one block, as before, to the bit; a longer one differs by
#: the mel product's rounding at the blocks' edges (BLAS sums a block's last columns in another order), about one
#: float32 ulp of the log-mel.
_LOGMEL_FRAMES = 4_096


def _frames_logmel(frames: np.ndarray) -> np.ndarray:
    """:func:`logmel` of a block of frames [shape=(n, N_FFT)]."""
    # As librosa: a float64 window, the FFT in float64, stored as complex64, power in float32.
    spectrum = np.fft.rfft(frames * _hann(N_FFT), axis=-1).astype(np.complex64)
    power = np.abs(spectrum) ** 2
    # librosa's own product (same operand order), so the result is librosa's to the bit
    with one_blas_thread():
        mel = np.ascontiguousarray(np.einsum("...ft,mf->...mt", power.T, _mel_basis(), optimize=True).T)
    return np.log10(np.float32(10000) * mel + np.float32(1))


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    return mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS)


def patches(mel: np.ndarray, n_patches: int | None = None) -> np.ndarray:
    """Consecutive, non-overlapping 187-frame patches of a log-mel spectrogram.

    Like musicnn's extractor, frames after the last whole patch are dropped. With
    ``n_patches``, exactly that many patches are returned: when the frames run
    short, they are repeated end to end (not padded with silence, which would
    make the missing part sound quiet).

    Parameters
    ----------
    mel : np.ndarray [shape=(n_frames, N_MELS)]
    n_patches : int > 0, optional

    Returns
    -------
    np.ndarray [shape=(n_patches, PATCH_FRAMES, N_MELS), dtype=float32]
    """
    if mel.ndim != 2 or mel.shape[1] != N_MELS or len(mel) == 0:
        raise ValueError(f"patches expects a log-mel spectrogram of shape (n_frames > 0, {N_MELS}), got {mel.shape}")
    if n_patches is not None and n_patches < 1:
        raise ValueError(f"n_patches must be positive, got {n_patches}")
    n = n_patches if n_patches is not None else max(1, len(mel) // PATCH_FRAMES)
    need = n * PATCH_FRAMES
    if len(mel) < need:
        mel = np.tile(mel, (-(-need // len(mel)), 1))
    return np.ascontiguousarray(mel[:need].reshape(n, PATCH_FRAMES, N_MELS), dtype=np.float32)


# ---------------------------------------------------------------------------------------------------------------
# Network


@dataclass
class MusiCNNOutput:
    """The layers of one forward pass over N patches (musicnn's extractor names them alike).

    Attributes
    ----------
    tags : torch.Tensor [shape=(N, 50)]
        Sigmoid probabilities of :data:`TAGS` (musicnn's taggram).
    penultimate : torch.Tensor [shape=(N, 200)]
        The batch-normalised dense layer before the tags.
    max_pool, mean_pool : torch.Tensor [shape=(N, 753)]
        The front- and mid-end features, pooled over time.
    last_block_input : torch.Tensor [shape=(N, 64, T)], optional
        What the mid-end's last layer reads (:class:`LastBlock`): kept to fine-tune that layer.
    """

    tags: torch.Tensor
    penultimate: torch.Tensor
    max_pool: torch.Tensor
    mean_pool: torch.Tensor
    last_block_input: torch.Tensor | None = None


def _batch_norm(channels: int, dims: int) -> nn.Module:
    cls = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
    return cls(channels, eps=_BN_EPS)


def _pad_same(kernel: int) -> tuple[int, int]:
    """TensorFlow's "same" padding at stride 1: the odd one out goes at the end."""
    return (kernel - 1) // 2, kernel // 2


class _FrequencyPooledConv(nn.Module):
    """Conv over (time × mel) → ReLU → batch norm → max over frequency: musicnn's timbral and tempo blocks.

    Time is padded as TensorFlow's "same" does (3 + 3 frames for the timbral 7,
    the extra frame at the end for even lengths), frequency is "valid".

    In eval mode the max is taken straight after the convolution, before the
    bias, ReLU and batch norm: each of these is monotonic per filter, so the
    max commutes with them (with the min where the batch norm's scale is
    negative, taken as the max of the negated filter). The result is the same
    to the bit, and the per-position work after the convolution, which cost as
    much as the convolution itself, is gone. The convolution runs one patch at
    a time so that its output (9 MB for a timbral block) is still in cache for
    the max: 3.4x (one core) to 3.8x (two) faster than the plain port in all.

    Why not FFT convolutions: measured on 20 patches, one core, they do fewer
    operations but take longer than oneDNN's direct convolution here (AVX-512,
    over 60 GMAC/s): 0.75 s against 0.35 s for the two timbral blocks (2-D
    FFT; a DFT along frequency with the 7 time taps as matrix products ties at
    0.35 s), 0.27 s against 0.075 s for the three temporal ones.
    """

    def __init__(self, filters: int, frames: int, bands: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, filters, (frames, bands))
        self.bn = _batch_norm(filters, 2)
        self.int8 = False  # set by MusiCNN(precision="int8") on the timbral blocks
        self.dft = False  # set by MusiCNN(kernel="dft") on the timbral blocks: float32 through mer.audio.bandconv
        self._tables: tuple[tuple[int, ...], DftFilters] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised patches (N, 1, T, 96) → (N, filters, T)."""
        x = F.pad(x, (0, 0, *_pad_same(self.conv.kernel_size[0])))
        if self.training:  # batch statistics must see every frequency, as in musicnn's training
            return self.bn(F.relu(self.conv(x))).amax(dim=3)
        signs = torch.where(self.bn.weight < 0, -1.0, 1.0)
        weight = self.conv.weight * signs[:, None, None, None]
        if self.int8:
            filters = _Int8Filters.of(weight)
            peaks = torch.cat([filters.peak(patch) for patch in x.split(1)])
        elif self.dft:
            tables = self._dft_tables(weight)
            peaks = torch.cat([tables.peak(patch) for patch in x.split(1)])
        else:
            peaks = torch.cat([direct_peak(patch, weight) for patch in x.split(1)])
        return self.bn(F.relu(peaks * signs[:, None] + self.conv.bias[:, None]).unsqueeze(3)).squeeze(3)

    def _dft_tables(self, weight: torch.Tensor) -> DftFilters:
        """The sign-folded filters' DFT tables, built once for these weights (rebuilt if they change)."""
        key = (id(self.conv.weight), self.conv.weight._version, self.bn.weight._version)
        if self._tables is None or self._tables[0] != key:
            self._tables = (key, DftFilters.of(weight))
        return self._tables[1]




@dataclass(frozen=True)
class _Int8Filters:
    """Filters quantised to 8 bits, each with its own scale (symmetric), for :meth:`peak`."""

    matrix: torch.Tensor  # (frames · bands, filters), int8
    scale: torch.Tensor  # (filters,)
    sums: torch.Tensor  # (filters,), int32: each filter's sum of its 8-bit weights
    frames: int
    bands: int

    @classmethod
    def of(cls, weight: torch.Tensor) -> _Int8Filters:
        """Quantise conv weights (filters, 1, frames, bands)."""
        scale = weight.abs().amax(dim=(1, 2, 3)).clamp_min(1e-12) / 127
        q = torch.round(weight.flatten(1) / scale[:, None]).to(torch.int8)
        return cls(q.t().contiguous(), scale, q.sum(dim=1, dtype=torch.int32), *weight.shape[2:])

    def peak(self, patch: torch.Tensor) -> torch.Tensor:
        """:func:`mer.audio.bandconv.direct_peak` with 8-bit inputs and weights, summed exactly in int32.

        The patch is quantised with its own range (asymmetric, so that the zero padding stays exactly zero).
        The convolution is one int8 matrix product over the patch's (frames × bands) windows; since both
        scales are positive, the max over frequency is taken on the integer sums and only the peaks are
        scaled back.
        """
        lo, hi = min(float(patch.min()), 0.0), max(float(patch.max()), 0.0)
        x_scale = max(hi - lo, 1e-12) / 255
        zero = round(-lo / x_scale) - 128
        x_q = torch.clamp(torch.round(patch[0, 0] / x_scale) + zero, -128, 127).to(torch.int8)
        windows = x_q.unfold(0, self.frames, 1).unfold(1, self.bands, 1)  # (T, F', frames, bands)
        t, positions = windows.shape[:2]
        # a guard: for one-band filters (not run in int8) the reshape is a strided view, which _int_mm misreads
        rows = windows.reshape(t * positions, self.frames * self.bands).contiguous()
        sums = torch._int_mm(rows, self.matrix)
        peaks = sums.view(t, positions, -1).amax(dim=1).t()  # (filters, T)
        offset = zero * self.sums  # the zero point's share of every sum
        return ((peaks - offset[:, None]).float() * (self.scale * x_scale)[:, None]).unsqueeze(0)


class TimbralBlock(_FrequencyPooledConv):
    """7 frames × 40 % or 70 % of the mel axis: spectral shapes (timbre), wherever they sit in pitch."""


class TemporalBlock(_FrequencyPooledConv):
    """128, 64 or 32 frames × 1 band: rhythm and tempo patterns, in whichever band they sound."""


class Frontend(nn.Module):
    """Musically motivated filters over the normalised log-mel patch: timbre (wide in frequency), tempo (long in time)."""

    def __init__(self) -> None:
        super().__init__()
        self.input_bn = _batch_norm(1, 2)
        self.timbral = nn.ModuleList(TimbralBlock(_TIMBRAL_FILTERS, 7, b) for b in _TIMBRAL_BANDS)
        self.temporal = nn.ModuleList(TemporalBlock(_TEMPORAL_FILTERS, t, 1) for t in _TEMPORAL_FRAMES)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """(N, T, 96) → (N, 561, T): 2 × 204 timbral then 3 × 51 temporal channels."""
        x = self.input_bn(patches.unsqueeze(1))
        return torch.cat([block(x) for block in (*self.timbral, *self.temporal)], dim=1)


class Midend(nn.Module):
    """Three 1-D convolutions along time, each input to the next and summed with it (dense residuals)."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        k = _MIDEND_KERNEL
        self.convs = nn.ModuleList(
            nn.Conv1d(c, _MIDEND_FILTERS, k, padding=k // 2) for c in (in_channels, _MIDEND_FILTERS, _MIDEND_FILTERS))
        self.bns = nn.ModuleList(_batch_norm(_MIDEND_FILTERS, 1) for _ in range(3))

    def forward(self, front: torch.Tensor) -> torch.Tensor:
        """(N, 561, T) → (N, 753, T): the front-end features and the three layers' outputs, concatenated."""
        layers = [front]
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            out = bn(F.relu(conv(layers[-1])))
            layers.append(out if i == 0 else out + layers[-1])  # the first adapts the width, the others add to it
        return torch.cat(layers, dim=1)


class Backend(nn.Module):
    """Max and mean over time, then the dense penultimate layer and the tag layer."""

    def __init__(self, channels: int, n_tags: int) -> None:
        super().__init__()
        self.pool_bn = _batch_norm(2 * channels, 1)
        self.dropout = nn.Dropout(0.5)
        self.dense = nn.Linear(2 * channels, _PENULTIMATE)
        self.dense_bn = _batch_norm(_PENULTIMATE, 1)
        self.tags = nn.Linear(_PENULTIMATE, n_tags)

    def forward(self, features: torch.Tensor) -> MusiCNNOutput:
        max_pool = features.amax(dim=2)
        mean_pool = features.mean(dim=2)
        # TensorFlow flattened a (channels, 2) array: max and mean interleave, channel by channel.
        pooled = torch.stack([max_pool, mean_pool], dim=2).flatten(1)
        penultimate = self.dense_bn(F.relu(self.dense(self.dropout(self.pool_bn(pooled)))))
        logits = self.tags(self.dropout(penultimate))
        return MusiCNNOutput(tags=torch.sigmoid(logits), penultimate=penultimate, max_pool=max_pool,
                             mean_pool=mean_pool)


class MusiCNN(nn.Module):
    """musicnn's ``build_musicnn`` (MSD_musicnn: 64 mid-end filters, 200 dense units, 50 tags)."""

    def __init__(self, n_tags: int = len(TAGS), precision: str = "float32", kernel: str = "direct") -> None:
        super().__init__()
        if precision not in PRECISIONS or kernel not in KERNELS:
            raise ValueError(f"precision must be one of {PRECISIONS} and kernel one of {KERNELS}, "
                             f"got {precision!r} and {kernel!r}")
        self.precision, self.kernel = precision, kernel
        self.frontend = Frontend()
        for block in self.frontend.timbral:  # 87 % of the arithmetic; the rest stays in float32
            block.int8 = precision == "int8"
            block.dft = precision == "float32" and kernel == "dft"
        front = len(_TIMBRAL_BANDS) * _TIMBRAL_FILTERS + len(_TEMPORAL_FRAMES) * _TEMPORAL_FILTERS
        self.midend = Midend(front)
        self.backend = Backend(front + 3 * _MIDEND_FILTERS, n_tags)

    def forward(self, patches: torch.Tensor) -> MusiCNNOutput:
        """Patches of log-mel frames (N, 187, 96) → :class:`MusiCNNOutput`.

        Any number of frames works (musicnn pools over time), 187 is what it was trained on.
        """
        features = self.midend(self.frontend(patches))
        out = self.backend(features)
        out.last_block_input = features[:, LAST_BLOCK_MEAN_POOL.start - _MIDEND_FILTERS:LAST_BLOCK_MEAN_POOL.start]
        return out


class LastBlock(nn.Module):
    """MusiCNN's last mid-end layer on its own, to fine-tune it: conv (64 → 64, 7 frames), ReLU, batch norm, plus
    its input (the residual), then the mean over time: the last 64 values of ``mean_pool``.

    The batch norm keeps MusiCNN's statistics (it always normalises as in eval mode); its scale and shift train
    with the convolution.
    """

    def __init__(self) -> None:
        super().__init__()
        k = _MIDEND_KERNEL
        self.conv = nn.Conv1d(_MIDEND_FILTERS, _MIDEND_FILTERS, k, padding=k // 2)
        self.bn = _batch_norm(_MIDEND_FILTERS, 1)

    @classmethod
    def pretrained(cls, net: MusiCNN) -> LastBlock:
        """A copy of ``net``'s last mid-end layer."""
        block = cls()
        block.conv.load_state_dict(net.midend.convs[-1].state_dict())
        block.bn.load_state_dict(net.midend.bns[-1].state_dict())
        return block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs (N, 64, T) → (N, 64): the layer's output plus its input, averaged over time."""
        bn = self.bn
        out = F.batch_norm(F.relu(self.conv(x)), bn.running_mean, bn.running_var, bn.weight, bn.bias,
                           training=False, eps=bn.eps)
        return (out + x).mean(dim=2)


# ---------------------------------------------------------------------------------------------------------------
# Weights


def _resolve(path: str | Path | None) -> Path:
    return WEIGHTS_PATH if path is None else Path(path)


def _remedy() -> str:
    return f"Rebuild it with `{REBUILD_COMMAND}`."


def weights_hash(path: str | Path | None = None) -> str:
    """First 16 hex digits of the weights file's sha256, to key caches of embeddings.

    Raises
    ------
    ModelError
        If the file is missing.
    """
    path = _resolve(path)
    try:
        st = path.stat()
        return _file_hash(str(path.resolve()), st.st_size, st.st_mtime_ns)
    except OSError as e:
        raise ModelError(f"The MusiCNN weights '{path}' cannot be read ({e.strerror}). {_remedy()}") from None


@lru_cache(maxsize=8)
def _file_hash(path: str, size: int, mtime_ns: int) -> str:
    """Hashed once per version of the file (size and time are the key): every model load and cache look-up asks."""
    return file_digest(path)


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ModelError(f"The MusiCNN weights '{path}' are missing. {_remedy()}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a damaged file (pickle, zip, runtime)
        raise ModelError(f"The MusiCNN weights '{path}' cannot be read ({type(e).__name__}); the file is damaged. "
                         f"{_remedy()}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"The MusiCNN weights '{path}' are not a dict of tensors. {_remedy()}")
    return state


def _check_state(state: dict[str, torch.Tensor], net: MusiCNN, path: Path) -> None:
    """Every key of the architecture present with its shape, and nothing else."""
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = [f"{k} {tuple(state[k].shape)} instead of {tuple(v.shape)}"
             for k, v in expected.items() if k in state and state[k].shape != v.shape]
    problems = ([f"missing {', '.join(missing[:3])}"] if missing else []) + (
        [f"unexpected {', '.join(extra[:3])}"] if extra else []) + wrong[:3]
    if problems:
        raise ModelError(f"The weights '{path}' are not MSD_musicnn's ({'; '.join(problems)}). {_remedy()}")


def load_musicnn(path: str | Path | None = None, precision: str = "float32", kernel: str = "direct") -> MusiCNN:
    """The pretrained MusiCNN in eval mode, its weights read with ``torch.load(weights_only=True)``.

    The bundled weights are loaded once per process, precision and kernel; a network loaded from
    another ``path`` is built anew at each call.

    Parameters
    ----------
    path : path, optional
        A converted weights file; by default :data:`WEIGHTS_PATH`.
    precision : {"float32", "int8"}
        How the timbral convolutions are computed (:data:`PRECISIONS`).
    kernel : {"direct", "dft"}
        How float32 computes them (:data:`KERNELS`; the same numbers, a speed that depends on the CPU).

    Raises
    ------
    ModelError
        If the file is missing, damaged, or holds another network's weights; the
        message names the file and the command that rebuilds it.
    """
    if precision not in PRECISIONS or kernel not in KERNELS:
        raise ModelError(f"MusiCNN runs in one of {', '.join(PRECISIONS)} with a kernel of {', '.join(KERNELS)}, "
                         f"not {precision!r} with {kernel!r}.")
    if path is None or Path(path).resolve() == WEIGHTS_PATH:
        return _load_bundled(precision, kernel)
    return _load(Path(path), precision, kernel)


@lru_cache(maxsize=len(PRECISIONS) * len(KERNELS))
def _load_bundled(precision: str, kernel: str = "direct") -> MusiCNN:
    return _load(WEIGHTS_PATH, precision, kernel)


def _load(path: Path, precision: str, kernel: str = "direct") -> MusiCNN:
    state = _read_state(path)
    net = MusiCNN(precision=precision, kernel=kernel)
    _check_state(state, net, path)
    net.load_state_dict(state, strict=True)
    return net.eval()
