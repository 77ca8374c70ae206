"""A tiny WaveNet: dilated causal convolutions predicting the next sample of a 1-D signal.

Each layer doubles the dilation (1, 2, 4, ...), so the receptive field grows exponentially with depth
while every output still sees only the past. The baseline predicts "the same as the last sample".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from hub.explainer import frame_due


@dataclass(frozen=True)
class WaveNetConfig:
    layers: int = 6  # dilations 1..32: a receptive field of 64 samples
    channels: int = 32
    steps: int = 400
    lr: float = 3e-3
    seed: int = 0
    frame_every: int = 50


def signal(n: int, seed: int = 0) -> np.ndarray:
    """Two tones and a little noise: the kind of structure WaveNet models in audio."""
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return (
        0.6 * np.sin(2 * np.pi * t / 25) + 0.3 * np.sin(2 * np.pi * t / 7 + 1) + 0.05 * rng.standard_normal(n)
    ).astype(np.float32)


class CausalConv(nn.Conv1d):
    def __init__(self, cin, cout, dilation):
        super().__init__(cin, cout, kernel_size=2, dilation=dilation)
        self.left = dilation  # pad only on the left: output t never sees input t+1

    def forward(self, x):  # x (B, C, T)
        return super().forward(F.pad(x, (self.left, 0)))


class WaveNet(nn.Module):
    def __init__(self, cfg: WaveNetConfig):
        super().__init__()
        self.inp = CausalConv(1, cfg.channels, 1)
        self.layers = nn.ModuleList(CausalConv(cfg.channels, 2 * cfg.channels, 2**i) for i in range(cfg.layers))
        self.out = nn.Conv1d(cfg.channels, 1, 1)
        self.receptive_field = 2**cfg.layers

    def forward(self, x):  # x (B, 1, T) -> prediction of x[t+1] at every t
        h = self.inp(x)
        for layer in self.layers:
            a, b = layer(h).chunk(2, dim=1)
            h = h + torch.tanh(a) * torch.sigmoid(b)  # gated activation, residual
        return self.out(h)


def train(cfg: WaveNetConfig = WaveNetConfig()) -> Iterator[dict]:
    """Train, yielding a frame after the first step, every `frame_every` steps and at the end."""
    torch.manual_seed(cfg.seed)
    x = torch.tensor(signal(4000, cfg.seed))[None, None]
    val = torch.tensor(signal(1000, cfg.seed + 1))[None, None]
    model = WaveNet(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    baseline = float(F.mse_loss(val[..., :-1], val[..., 1:]))  # "same as the last sample"
    for step in range(1, cfg.steps + 1):
        loss = F.mse_loss(model(x[..., :-1]), x[..., 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if frame_due(step, cfg.frame_every, cfg.steps):
            with torch.no_grad():
                pred = model(val[..., :-1])
                mse = float(F.mse_loss(pred, val[..., 1:]))
            yield {
                "step": step,
                "model": model,
                "mse": mse,
                "baseline_mse": baseline,
                "target": val[0, 0, 1:201].numpy(),
                "prediction": pred[0, 0, :200].numpy(),
            }


@torch.no_grad()
def generate(model: WaveNet, prime: np.ndarray, n: int) -> np.ndarray:
    """Free-running: from `prime` (real samples), predict the next sample, append it, and go on `n` times, every
    prediction from the model's own earlier outputs; returns only the n it wrote."""
    x = torch.tensor(prime, dtype=torch.float32)[None, None]
    field = model.receptive_field
    for _ in range(n):
        nxt = model(x[..., -field:])[..., -1:]
        x = torch.cat([x, nxt], dim=2)
    return x[0, 0, len(prime) :].numpy()


def periods(x: np.ndarray, k: int = 2) -> list[float]:
    """The k strongest periods of a sequence (in samples), strongest first, from its spectrum."""
    spectrum = np.abs(np.fft.rfft(x - x.mean()))
    freqs = np.fft.rfftfreq(len(x))
    spectrum[0] = 0
    top = []
    for i in np.argsort(spectrum)[::-1]:
        if all(abs(i - j) > 2 for j in top):  # one peak, not its shoulders
            top.append(i)
        if len(top) == k:
            break
    return [float(1 / freqs[i]) for i in top]


def free_run(model: WaveNet, cfg: WaveNetConfig, n: int = 256) -> dict:
    """What the trained model writes on its own after the receptive field's worth of a held-out signal, beside
    that signal's true continuation."""
    truth = signal(model.receptive_field + n, cfg.seed + 2)
    generated = generate(model, truth[: model.receptive_field], n)
    return {
        "prime": truth[: model.receptive_field],
        "generated": generated,
        "truth": truth[model.receptive_field :],
        "periods": periods(generated),
        "true_periods": periods(truth[model.receptive_field :]),
        "std_ratio": float(generated.std() / truth.std()),
    }
