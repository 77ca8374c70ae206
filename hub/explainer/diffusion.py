"""Diffusion, live: forward noising of any image, noise schedules, and a 2-D diffusion model trained on the spot.

Forward process: x_t = sqrt(abar_t) * x_0 + sqrt(1 - abar_t) * eps, eps ~ N(0, I).
The model learns eps from (x_t, t); sampling runs the chain backwards from pure noise (DDPM).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from hub.explainer import frame_due, toy2d


# --- schedules and the forward process -----------------------------------------------------------
def alphas_bar(kind: str, T: int) -> np.ndarray:
    """abar_t for t = 1..T: linear betas (DDPM) or the cosine schedule (Nichol & Dhariwal)."""
    if kind == "linear":
        betas = np.linspace(1e-4, 0.02, T)
        return np.cumprod(1 - betas)
    if kind == "cosine":
        s = 0.008
        f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
        return np.array([f(t) / f(0) for t in range(1, T + 1)]).clip(1e-5, 1)
    raise ValueError(f"unknown schedule {kind!r}: linear or cosine")


def snr(abar: np.ndarray) -> np.ndarray:
    return abar / (1 - abar)


def noise(x0: np.ndarray, t: int, abar: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A sample of q(x_t | x_0) for t in 1..T (x0 in [-1, 1])."""
    a = abar[t - 1]
    return math.sqrt(a) * x0 + math.sqrt(1 - a) * rng.standard_normal(x0.shape)


def image_to_array(image) -> np.ndarray:
    return np.asarray(image.convert("RGB").resize((128, 128)), dtype=np.float64) / 127.5 - 1


def array_to_image(x: np.ndarray):
    from PIL import Image

    return Image.fromarray(((np.clip(x, -1, 1) + 1) * 127.5).astype(np.uint8))


# --- a 2-D diffusion model ------------------------------------------------------------------------
@dataclass(frozen=True)
class Diffusion2DConfig:
    data: str = "ring"
    T: int = 100  # diffusion steps
    schedule: str = "cosine"
    hidden: int = 128
    steps: int = 3000  # training steps
    batch: int = 512
    lr: float = 2e-3
    frame_every: int = 500
    seed: int = 0


class Denoiser(nn.Module):
    """eps_theta(x_t, t): an MLP on the point and a sinusoidal embedding of t."""

    def __init__(self, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2 + 16, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, 2),
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:  # x (B, 2), t (B,) in [0, 1]
        freqs = torch.exp(torch.linspace(0, math.log(1000), 8))
        emb = torch.cat([torch.sin(t[:, None] * freqs), torch.cos(t[:, None] * freqs)], 1)  # (B, 16)
        return self.net(torch.cat([x, emb], 1))


@torch.no_grad()
def sample(
    model: Denoiser, cfg: Diffusion2DConfig, n: int, generator: torch.Generator, keep: tuple[int, ...] = ()
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """DDPM ancestral sampling; also returns the points at the steps in `keep` (for the animation)."""
    abar = torch.tensor(alphas_bar(cfg.schedule, cfg.T), dtype=torch.float32)
    alpha = abar / torch.cat([torch.ones(1), abar[:-1]])
    x = torch.randn(n, 2, generator=generator)
    snaps = {}
    for t in range(cfg.T, 0, -1):
        if t in keep:
            snaps[t] = x.numpy().copy()
        eps = model(x, torch.full((n,), t / cfg.T))
        a, ab = alpha[t - 1], abar[t - 1]
        mean = (x - (1 - a) / (1 - ab).sqrt() * eps) / a.sqrt()
        if t > 1:
            var = (1 - a) * (1 - abar[t - 2]) / (1 - ab)  # the posterior variance
            x = mean + var.sqrt() * torch.randn(n, 2, generator=generator)
        else:
            x = mean
    snaps[0] = x.numpy().copy()
    return x.numpy(), snaps


@dataclass
class Frame:
    step: int
    image: object
    losses: list[float]
    modes: int
    near_share: float  # share of samples within 3 sigma of some centre
    model: Denoiser  # the model as trained so far (for trajectories)


def train(cfg: Diffusion2DConfig = Diffusion2DConfig(), points: np.ndarray | None = None) -> Iterator[Frame]:
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = Denoiser(cfg.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    abar = torch.tensor(alphas_bar(cfg.schedule, cfg.T), dtype=torch.float32)
    real = toy2d.sample(cfg.data, 500, np.random.default_rng(cfg.seed + 1), points)
    losses = []
    for step in range(1, cfg.steps + 1):
        x0 = torch.tensor(toy2d.sample(cfg.data, cfg.batch, rng, points), dtype=torch.float32)
        t = torch.randint(1, cfg.T + 1, (cfg.batch,))
        eps = torch.randn_like(x0)
        a = abar[t - 1][:, None]
        loss = F.mse_loss(model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t / cfg.T), eps)
        opt.zero_grad()
        loss.backward()
        opt.step()
        for g in opt.param_groups:  # linear decay to a tenth: steadier samples at the end
            g["lr"] = cfg.lr * (1 - 0.9 * step / cfg.steps)
        losses.append(loss.item())
        if frame_due(step, cfg.frame_every, cfg.steps):
            out, _ = sample(model, cfg, 1500, torch.Generator().manual_seed(cfg.seed + 2))
            modes = toy2d.modes_covered(out) if cfg.data == "ring" else 0
            near = (
                float(
                    (
                        np.linalg.norm(out[:, None] - toy2d.ring_centres()[None], axis=-1).min(1) < 3 * toy2d.RING_SIGMA
                    ).mean()
                )
                if cfg.data == "ring"
                else 0.0
            )
            yield Frame(
                step,
                toy2d.plot(real, out[:600], title=f"step {step}  modes {modes}/8  near {near:.0%}"),
                list(losses),
                modes,
                near,
                model,
            )


def trajectories(model: Denoiser, cfg: Diffusion2DConfig, n: int = 400, points: np.ndarray | None = None) -> list:
    """Pictures of the reverse chain: pure noise at t = T down to samples at t = 0."""
    keep = tuple(sorted({cfg.T, 3 * cfg.T // 4, cfg.T // 2, cfg.T // 4, cfg.T // 10, 1}))
    _, snaps = sample(model, cfg, n, torch.Generator().manual_seed(cfg.seed + 3), keep)
    real = toy2d.sample(cfg.data, 300, np.random.default_rng(cfg.seed + 1), points)
    return [toy2d.plot(real, snaps[t], title=f"t = {t}") for t in sorted(snaps, reverse=True)]
