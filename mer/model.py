"""The hybrid CNN-LSTM, built from a :class:`~mer.config.ModelConfig` alone.

Input: a batch of log-mel windows in dB, shape ``(batch, n_mels, frames)``.
Convolution blocks (conv 3×3 → batch norm → ReLU → 2×2 max pooling → dropout)
learn local time-frequency patterns; the remaining time axis is read by an LSTM
(bidirectional by default) whose last states go through dropout to a linear
layer with one logit per emotion.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig

__all__ = ["CNNLSTM", "build_model", "count_parameters", "predict_proba"]


class CNNLSTM(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        blocks = []
        in_ch = 1
        for out_ch in config.conv_channels:
            blocks += [
                nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(out_ch),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Dropout2d(config.dropout / 2),  # lighter in the conv stack, where features are shared
            ]
            in_ch = out_ch
        self.cnn = nn.Sequential(*blocks)
        freq_after = config.n_mels // (2 ** len(config.conv_channels))
        if freq_after < 1:
            raise ValueError(f"{len(config.conv_channels)} pooling blocks leave no frequency bins of {config.n_mels}")
        self.lstm = nn.LSTM(
            input_size=in_ch * freq_after,
            hidden_size=config.lstm_hidden,
            num_layers=config.lstm_layers,
            batch_first=True,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.lstm_layers > 1 else 0.0,
        )
        directions = 2 if config.bidirectional else 1
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(config.lstm_hidden * directions, config.n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(batch, n_classes)`` from log-mel dB of shape ``(batch, n_mels, frames)``."""
        x = (x.float() + 40.0) / 40.0  # dB in [-80, 0] → about [-1, 1]
        x = self.cnn(x.unsqueeze(1))  # (B, C, F', T')
        b, c, f, t = x.shape
        x = x.permute(0, 3, 1, 2).reshape(b, t, c * f)  # time steps for the LSTM
        _, (h, _) = self.lstm(x)
        directions = 2 if self.config.bidirectional else 1
        last = torch.cat([h[-d] for d in range(directions, 0, -1)], dim=1) if directions == 2 else h[-1]
        return self.head(last)


def build_model(config: ModelConfig) -> CNNLSTM:
    """A fresh CNN-LSTM for ``config``."""
    return CNNLSTM(config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def predict_proba(net: nn.Module, X, batch_size: int = 256):
    """Softmax probabilities for log-mel windows ``X`` (numpy, any float dtype) as a numpy array (n, n_classes)."""
    import numpy as np

    was_training = net.training
    net.eval()
    out = []
    for lo in range(0, len(X), batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(X[lo : lo + batch_size], dtype=np.float32))
        out.append(torch.softmax(net(xb), dim=1).numpy())
    net.train(was_training)
    if not out:
        return np.zeros((0, net.config.n_classes), dtype=np.float32)
    return np.concatenate(out)
