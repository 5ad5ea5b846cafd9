"""The hybrid CNN-LSTM, built from a :class:`~mer.config.ModelConfig` and the number of mel bands.

A track is its 20 segments in order. A **CNN** embeds each segment's log-mel
image: per-band standardisation (statistics fitted on the training fold and
stored in the weights) → average pooling over time → 1-D convolution blocks
along time with the mel bands as input channels (conv k=3, batch norm, ReLU,
max pooling by 2; the study's code also used Conv1D) → mean and max over time
→ a dense embedding. A bidirectional **LSTM** then runs across the 20 embeddings, so
every segment's prediction is informed by its neighbours. Two heads read the
LSTM's states:

* the **segment head** gives each segment its emotion distribution (the timeline);
* the **track head** pools the states with learned attention and gives the
  track's distribution, trained against the listeners' vote shares. Beside the
  pooled state it reads (``track_statistics``) the mean and standard deviation
  of every standardised mel band over the whole track: the summary a linear
  baseline thrives on, handed to the network directly.

An auxiliary genre head (a second training target only; genre is never an
input) shares the pooled state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .choices import FrontEndKind
from .config import MAX_PARAMETERS, ModelConfig
from .device import module_device
from .emotions import EMOTIONS, GENRES

__all__ = ["CNNLSTM", "EmbeddingLSTM", "Ensemble", "NetOutput", "build_model", "count_parameters", "estimate_parameters",
           "predict_tracks", "predict_windows"]


@dataclass
class NetOutput:
    """Logits of one forward pass: segments (B, S, 9), tracks (B, 9), genres (B, 4)."""

    segment: torch.Tensor
    track: torch.Tensor
    genre: torch.Tensor


class _SequenceHeads(nn.Module):
    """The LSTM across a track's segment embeddings and the three heads that read it.

    ``segment_extra`` inputs join each segment's LSTM state in the segment head (the segment's own
    embedding: the timeline hears its own segment, not only the track's drift); ``track_extra`` join
    the attention-pooled state in the track head (a summary of the whole track).
    """

    def __init__(self, config: ModelConfig, *, segment_extra: int, track_extra: int) -> None:
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(config.embedding, config.lstm_hidden, num_layers=config.lstm_layers, batch_first=True,
                            bidirectional=config.bidirectional,
                            dropout=config.dropout if config.lstm_layers > 1 else 0.0)
        width = config.lstm_hidden * (2 if config.bidirectional else 1)
        self.drop = nn.Dropout(config.dropout)
        self.segment_head = nn.Linear(width + segment_extra, len(EMOTIONS))
        self.attention = nn.Linear(width, 1)
        self.track_head = nn.Linear(width + track_extra, len(EMOTIONS))
        self.genre_head = nn.Linear(width, len(GENRES))

    def set_normalisation(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Store per-input statistics (fitted on training data only) used to standardise every input."""
        self.band_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.band_std.copy_(torch.as_tensor(np.maximum(std, 1e-3), dtype=torch.float32))

    def sequence(self, emb: torch.Tensor, summary: torch.Tensor | None = None,
                 own: torch.Tensor | None = None) -> NetOutput:
        """Heads over the LSTM run across segment embeddings of shape (B, S, embedding)."""
        states = self.drop(self.lstm(emb)[0])
        weights = torch.softmax(self.attention(states), dim=1)
        pooled = (weights * states).sum(dim=1)
        track_in = pooled if summary is None else torch.cat([pooled, self.drop(summary)], dim=1)
        segment_in = states if own is None else torch.cat([states, own], dim=2)
        return NetOutput(segment=self.segment_head(segment_in), track=self.track_head(track_in),
                         genre=self.genre_head(pooled))


class CNNLSTM(_SequenceHeads):
    """The log-mel front-end: a 1-D CNN trained from scratch embeds each segment's log-mel image."""

    @staticmethod
    def front_parameters(config: ModelConfig, n_inputs: int, width: int) -> int:
        """Weights of the CNN and the heads' inputs (the shared LSTM is counted by :func:`estimate_parameters`)."""
        n, in_ch = 0, n_inputs
        for out_ch in config.conv_channels:
            n += 3 * in_ch * out_ch + 2 * out_ch
            in_ch = out_ch
        n += 2 * in_ch * config.embedding + config.embedding + (width + 1) * len(EMOTIONS)
        return n + (width + (2 * n_inputs if config.track_statistics else 0) + 1) * len(EMOTIONS)

    def __init__(self, config: ModelConfig, n_mels: int) -> None:
        super().__init__(config, segment_extra=0, track_extra=2 * n_mels if config.track_statistics else 0)
        self.n_mels = n_mels
        # standardisation of each mel band, fitted on the training fold (see set_normalisation)
        self.register_buffer("band_mean", torch.zeros(n_mels))
        self.register_buffer("band_std", torch.ones(n_mels))
        blocks: list[nn.Module] = [nn.AvgPool1d(config.time_pool)] if config.time_pool > 1 else []
        in_ch = n_mels
        for out_ch in config.conv_channels:
            blocks += [nn.Conv1d(in_ch, out_ch, kernel_size=3, padding=1, bias=False), nn.BatchNorm1d(out_ch),
                       nn.ReLU(inplace=True), nn.MaxPool1d(2), nn.Dropout(config.dropout / 3)]
            in_ch = out_ch
        self.cnn = nn.Sequential(*blocks)
        self.embed = nn.Sequential(nn.Linear(2 * in_ch, config.embedding), nn.ReLU(inplace=True),
                                   nn.Dropout(config.dropout))

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """Log-mel dB (..., n_mels, frames) → per-band standardised values."""
        return (x.float() - self.band_mean[:, None]) / self.band_std[:, None]

    def embed_segments(self, z: torch.Tensor) -> torch.Tensor:
        """Embeddings (N, embedding) of standardised log-mel images, shape (N, n_mels, frames)."""
        h = self.cnn(z)  # (N, channels, frames')
        return self.embed(torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1))

    def track_summary(self, z: torch.Tensor) -> torch.Tensor | None:
        """Mean and std of each standardised band over all segments and frames: (B, 2 n_mels), or None."""
        if not self.config.track_statistics:
            return None
        return torch.cat([z.mean(dim=(1, 3)), z.std(dim=(1, 3))], dim=1)

    def forward(self, x: torch.Tensor) -> NetOutput:
        """Logits for log-mel dB of shape (B, S, n_mels, frames): B tracks of S segments."""
        b, s = x.shape[:2]
        z = self.standardise(x)
        emb = self.embed_segments(z.reshape(b * s, *x.shape[2:])).reshape(b, s, -1)
        return self.sequence(emb, self.track_summary(z))


class EmbeddingLSTM(_SequenceHeads):
    """The pretrained front-end: each segment arrives as its MusiCNN embedding (:mod:`mer.audio.embeddings`).

    Standardised (statistics of the training fold), each embedding is projected to ``embedding`` units
    for the LSTM. The segment head reads a segment's LSTM state beside its own projection; with
    ``track_statistics`` the track head reads the mean embedding over the track beside the pooled state
    (what a linear model of the embeddings thrives on, handed to the network directly).

    With ``fine_tune`` each segment's row also holds its middle patch's input to MusiCNN's last block
    (:meth:`mer.audio.embeddings.SegmentEmbeddings.fine_tune_inputs`); a trainable copy of that block
    (:class:`mer.audio.musicnn.LastBlock`, starting from the pretrained weights) recomputes the embedding's last 64
    values from it.
    """

    @staticmethod
    def front_parameters(config: ModelConfig, n_inputs: int, width: int) -> int:
        """Weights of the embedding projection (and a fine-tuned last block) and the heads' inputs."""
        from .audio.musicnn import LAST_BLOCK_INPUTS, LAST_BLOCK_PARAMETERS

        n = LAST_BLOCK_PARAMETERS if config.fine_tune else 0
        n_inputs -= LAST_BLOCK_INPUTS if config.fine_tune else 0
        n += (n_inputs + 1) * config.embedding + (width + config.embedding + 1) * len(EMOTIONS)
        return n + (width + (n_inputs if config.track_statistics else 0) + 1) * len(EMOTIONS)

    def __init__(self, config: ModelConfig, n_inputs: int) -> None:
        from .audio.musicnn import LAST_BLOCK_INPUTS
        from .errors import ModelError

        n_embedding = n_inputs - LAST_BLOCK_INPUTS if config.fine_tune else n_inputs
        if n_embedding < 1:
            raise ModelError(f"A model that fine-tunes MusiCNN's last block reads each segment's embedding and its "
                             f"block input ({LAST_BLOCK_INPUTS} more numbers), not {n_inputs} numbers: compute them "
                             "with block_inputs=True (train --root DIR).")
        super().__init__(config, segment_extra=config.embedding,
                         track_extra=n_embedding if config.track_statistics else 0)
        self.n_inputs = n_embedding
        self.register_buffer("band_mean", torch.zeros(n_embedding))
        self.register_buffer("band_std", torch.ones(n_embedding))
        self.embed = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(n_embedding, config.embedding),
                                   nn.ReLU(inplace=True), nn.Dropout(config.dropout))
        self.last_block = _pretrained_last_block() if config.fine_tune else None

    def set_normalisation(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Statistics of the embedding's values (a fine-tuning model's block inputs need none)."""
        super().set_normalisation(mean[:self.n_inputs], std[:self.n_inputs])

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.band_mean) / self.band_std

    def fine_tuned(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings (B, S, n_inputs) of inputs (B, S, n_inputs), or, when fine-tuning, of inputs
        (B, S, n_inputs + LAST_BLOCK_INPUTS) whose last block values the trainable block recomputes."""
        if self.last_block is None:
            return x
        from .audio.musicnn import LAST_BLOCK_MEAN_POOL

        b, s, _ = x.shape
        block_in = x[..., self.n_inputs:].reshape(b * s, self.last_block.conv.in_channels, -1)
        emb = x[..., :self.n_inputs].clone()
        emb[..., LAST_BLOCK_MEAN_POOL] = self.last_block(block_in.float()).reshape(b, s, -1)
        return emb

    def forward(self, x: torch.Tensor) -> NetOutput:
        """Logits for B tracks of S segments: embeddings (B, S, n_inputs), followed by the block inputs when
        fine-tuning (see :meth:`fine_tuned`)."""
        z = self.standardise(self.fine_tuned(x))
        emb = self.embed(z)
        return self.sequence(emb, z.mean(dim=1) if self.config.track_statistics else None, own=emb)


def _pretrained_last_block() -> nn.Module:
    from .audio.musicnn import LastBlock, load_musicnn

    return LastBlock.pretrained(load_musicnn())


class Ensemble(nn.Module):
    """Several networks of one config whose probabilities are averaged (e.g. the cross-validation fold models)."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.config = members[0].config


#: The network of each front-end: a CNN over log-mel images, or the LSTM over MusiCNN's embeddings.
NETWORKS: dict[FrontEndKind, type[_SequenceHeads]] = {FrontEndKind.LOGMEL: CNNLSTM,
                                                      FrontEndKind.MUSICNN: EmbeddingLSTM}


def estimate_parameters(config: ModelConfig, n_inputs: int, members: int = 1) -> int:
    """How many weights :func:`build_model` would allocate, counted without building anything.

    Raises
    ------
    ConfigError
        More than ``MAX_PARAMETERS`` (a typo such as 100000 channels), or ``members`` outside 1–50.
    """
    from .errors import ConfigError

    if not isinstance(members, int) or not 1 <= members <= 50:
        raise ConfigError(f"A model averages 1 to 50 networks (got members={members!r}).")
    dirs, h = 2 if config.bidirectional else 1, config.lstm_hidden
    width = dirs * h
    n = NETWORKS[config.front_end].front_parameters(config, n_inputs, width)
    for layer in range(config.lstm_layers):
        n += dirs * 4 * (h * ((config.embedding if layer == 0 else dirs * h) + h) + 2 * h)
    n += width + 1 + (width + 1) * len(GENRES)
    if n * members > MAX_PARAMETERS:
        raise ConfigError(f"This model would have {n * members:,} weights ({members} × {n:,}), more than the "
                          f"{MAX_PARAMETERS:,} mer allows (about {4 * MAX_PARAMETERS // 10**6} MB). Use fewer or "
                          "smaller layers.")
    return n * members


def build_model(config: ModelConfig, n_inputs: int, members: int = 1) -> nn.Module:
    """A fresh network for ``config``: a :class:`CNNLSTM` over ``n_inputs`` mel bands (the FeatureConfig's),
    or an :class:`EmbeddingLSTM` over ``n_inputs`` numbers a segment (:data:`mer.audio.embeddings.EMBEDDING_DIM`, plus
    :data:`mer.audio.musicnn.LAST_BLOCK_INPUTS` when it fine-tunes MusiCNN's last block).

    ``members > 1`` builds an :class:`Ensemble` of that many. The size is checked first
    (:func:`estimate_parameters`).
    """
    estimate_parameters(config, n_inputs, members)
    cls = NETWORKS[config.front_end]
    if members > 1:
        return Ensemble([cls(config, n_inputs) for _ in range(members)])
    return cls(config, n_inputs)


def _members(net: nn.Module) -> list[CNNLSTM]:
    return list(net.members) if isinstance(net, Ensemble) else [net]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def predict_tracks(net: nn.Module, X: np.ndarray, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Track and segment probabilities for tracks ``X`` of shape (n, S, n_mels, frames).

    An :class:`Ensemble` averages its members' probabilities.

    Returns
    -------
    track : np.ndarray [shape=(n, 9)]
    segment : np.ndarray [shape=(n, S, 9)]
    """
    if len(X) == 0:
        return np.zeros((0, len(EMOTIONS))), np.zeros((0, X.shape[1] if X.ndim > 1 else 0, len(EMOTIONS)))
    was_training = net.training
    net.eval()
    device = module_device(net)
    tracks, segments = [], []
    for lo in range(0, len(X), batch_size):
        x = torch.from_numpy(np.asarray(X[lo:lo + batch_size], dtype=np.float32)).to(device)
        outs = [m(x) for m in _members(net)]
        tracks.append(np.mean([torch.softmax(o.track, dim=-1).cpu().numpy() for o in outs], axis=0))
        segments.append(np.mean([torch.softmax(o.segment, dim=-1).cpu().numpy() for o in outs], axis=0))
    net.train(was_training)
    return np.concatenate(tracks), np.concatenate(segments)


@torch.no_grad()
def predict_windows(net: nn.Module, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of one track given as windows, shape (S, W, n_mels, frames).

    A segment longer than one window is covered by W windows whose embeddings
    are averaged before the LSTM; a shorter one arrives padded (see :mod:`mer.audio.features`).

    Returns
    -------
    track : np.ndarray [shape=(9,)]
    segment : np.ndarray [shape=(S, 9)]
    """
    was_training = net.training
    net.eval()
    s, w = windows.shape[:2]
    x = torch.from_numpy(np.asarray(windows, dtype=np.float32).reshape(s * w, *windows.shape[2:]))
    x = x.to(module_device(net))
    tracks, segments = [], []
    for member in _members(net):
        z = member.standardise(x)
        emb = torch.cat([member.embed_segments(z[lo:lo + 256]) for lo in range(0, len(z), 256)])
        out = member.sequence(emb.reshape(s, w, -1).mean(dim=1)[None], member.track_summary(z[None]))
        tracks.append(torch.softmax(out.track[0], -1).cpu().numpy())
        segments.append(torch.softmax(out.segment[0], -1).cpu().numpy())
    net.train(was_training)
    return np.mean(tracks, axis=0), np.mean(segments, axis=0)
