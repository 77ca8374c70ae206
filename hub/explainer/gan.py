"""A 2-D GAN trained live: a generator maps noise to points, a discriminator tells them from real ones.

Presets: "stable" (non-saturating loss, balanced learning rates) covers all 8 modes of the ring;
"mode collapse" (the original minimax loss, a fast generator and a slow discriminator) ends on a few.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from hub.explainer import frame_due, toy2d
from hub.explainer.presets import GAN_PRESETS, GANConfig


PRESETS = GAN_PRESETS


def mlp(inp: int, hidden: int, out: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(inp, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, out)
    )


class GAN(nn.Module):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cfg = cfg
        self.G = mlp(cfg.noise_dim, cfg.hidden, 2)  # z (B, noise_dim) -> x (B, 2)
        self.D = mlp(2, cfg.hidden, 1)  # x (B, 2) -> logit (B, 1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.G(torch.randn(n, self.cfg.noise_dim, generator=generator))


def d_loss(model: GAN, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if model.cfg.loss == "wasserstein-gp":
        alpha = torch.rand(len(real), 1)
        mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        grad = torch.autograd.grad(model.D(mix).sum(), mix, create_graph=True)[0]
        return model.D(fake).mean() - model.D(real).mean() + 10 * ((grad.norm(dim=1) - 1) ** 2).mean()
    real_logit, fake_logit = model.D(real), model.D(fake)
    return F.binary_cross_entropy_with_logits(
        real_logit, torch.ones_like(real_logit)
    ) + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit))


def g_loss(model: GAN, fake: torch.Tensor) -> torch.Tensor:
    logit = model.D(fake)
    if model.cfg.loss == "wasserstein-gp":
        return -logit.mean()
    if model.cfg.loss == "minimax":  # min log(1 - D(G(z))): saturates when D is confident
        return -F.binary_cross_entropy_with_logits(logit, torch.zeros_like(logit))
    return F.binary_cross_entropy_with_logits(logit, torch.ones_like(logit))  # max log D(G(z))


@dataclass
class Frame:
    step: int
    image: object  # PIL image: real vs generated points over D's decision heatmap
    d_losses: list[float]
    g_losses: list[float]
    coverage: np.ndarray  # per-mode share relative to fair (ring only)
    modes: int


def train(cfg: GANConfig = GANConfig(), points: np.ndarray | None = None) -> Iterator[Frame]:
    """Train and yield a frame every `frame_every` steps (and at the end)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = GAN(cfg)
    opt_g = torch.optim.Adam(model.G.parameters(), lr=cfg.lr_g, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(model.D.parameters(), lr=cfg.lr_d, betas=(0.5, 0.9))
    d_losses, g_losses = [], []
    eval_real = toy2d.sample(cfg.data, 512, np.random.default_rng(cfg.seed + 1), points)
    grid = torch.tensor(toy2d.grid_points(48), dtype=torch.float32)
    fixed = torch.Generator().manual_seed(cfg.seed + 2)
    z_eval = torch.randn(2000, cfg.noise_dim, generator=fixed)
    for step in range(1, cfg.steps + 1):
        for _ in range(cfg.d_steps):
            real = torch.tensor(toy2d.sample(cfg.data, cfg.batch, rng, points), dtype=torch.float32)
            with torch.no_grad():
                fake = model.sample(cfg.batch)
            loss_d = d_loss(model, real, fake)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        loss_g = g_loss(model, model.sample(cfg.batch))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        d_losses.append(loss_d.item())
        g_losses.append(loss_g.item())
        if frame_due(step, cfg.frame_every, cfg.steps):
            with torch.no_grad():
                fake = model.G(z_eval).numpy()
                heat = torch.sigmoid(model.D(grid)).numpy().reshape(48, 48)
            cov = toy2d.coverage(fake) if cfg.data == "ring" else np.array([])
            modes = toy2d.modes_covered(fake) if cfg.data == "ring" else 0
            title = f"step {step}" + (f"  modes {modes}/8" if cfg.data == "ring" else "")
            yield Frame(
                step, toy2d.plot(eval_real, fake[:600], heat, title=title), list(d_losses), list(g_losses), cov, modes
            )


def preset(name: str, **changes) -> GANConfig:
    return replace(PRESETS[name], **changes)
