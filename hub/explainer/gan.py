"""A 2-D GAN trained live: a generator maps noise to points, a discriminator tells them from real ones.

Presets: "stable" (non-saturating loss, balanced learning rates, annealed) covers all 8 modes of the ring;
"mode collapse" (a discriminator far ahead of a generator fed 1-D noise) ends on one or two, every sample there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

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

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Points for noise z, kept inside the plot (a soft bound: tanh), so a generator that chases the
        discriminator's slope cannot run off to infinity: what it does instead is the lesson."""
        return toy2d.EXTENT * torch.tanh(self.G(z) / toy2d.EXTENT)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.generate(torch.randn(n, self.cfg.noise_dim, generator=generator))


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
    precision: float  # share of samples within 3 sigma of a mode (ring only)
    state: State | None = None  # where training stands: Continue and Step pick it up (never sent to front ends)


@dataclass
class State:
    """A GAN mid-training: the nets, their optimisers and schedules, the data's random stream, the curves."""

    cfg: GANConfig
    points: np.ndarray | None
    model: GAN
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    schedules: list
    rng: np.random.Generator
    step: int = 0
    d_losses: list[float] = field(default_factory=list)
    g_losses: list[float] = field(default_factory=list)


TRAIN = ("both", "discriminator", "generator")  # which nets a run updates (GAN Lab's "train D only / G only")


def start(cfg: GANConfig, points: np.ndarray | None = None) -> State:
    torch.manual_seed(cfg.seed)
    model = GAN(cfg)
    opt_g = torch.optim.Adam(model.G.parameters(), lr=cfg.lr_g, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(model.D.parameters(), lr=cfg.lr_d, betas=(0.5, 0.9))
    # linear decay to `anneal` of the rates over the preset's steps, held there after (a run continued past them)
    decay = lambda step: max(cfg.anneal, 1 - (1 - cfg.anneal) * step / cfg.steps)  # noqa: E731
    schedules = [torch.optim.lr_scheduler.LambdaLR(o, decay) for o in (opt_g, opt_d)]
    return State(cfg, points, model, opt_g, opt_d, schedules, np.random.default_rng(cfg.seed))


def run_end(cfg: GANConfig, step: int, run: int | None) -> int:
    """The step a run from `step` ends on: `run` more, or the preset's end, or a preset's length more past it."""
    return step + (run or (cfg.steps - step if step < cfg.steps else cfg.steps))


def train(
    cfg: GANConfig = GANConfig(),
    points: np.ndarray | None = None,
    state: State | None = None,
    run: int | None = None,
    nets: str = "both",
) -> Iterator[Frame]:
    """Train and yield a frame every `frame_every` steps and at the end of the run. From scratch, or from `state`
    (its settings win over `cfg`); `run` steps (default: to the preset's end, or a whole preset's length again
    when it is there); `nets`: both, or only the discriminator or only the generator (the other stays frozen)."""
    state = state or start(cfg, points)
    cfg, points, model = state.cfg, state.points, state.model
    first = state.step + 1
    last = run_end(cfg, state.step, run)
    eval_real = toy2d.sample(cfg.data, 512, np.random.default_rng(cfg.seed + 1), points)
    grid = torch.tensor(toy2d.grid_points(48), dtype=torch.float32)
    z_eval = torch.randn(2000, cfg.noise_dim, generator=torch.Generator().manual_seed(cfg.seed + 2))
    for step in range(first, last + 1):
        loss_d = loss_g = None
        if nets != "generator":
            for _ in range(cfg.d_steps):
                real = torch.tensor(toy2d.sample(cfg.data, cfg.batch, state.rng, points), dtype=torch.float32)
                with torch.no_grad():
                    fake = model.sample(cfg.batch)
                loss_d = d_loss(model, real, fake)
                state.opt_d.zero_grad()
                loss_d.backward()
                state.opt_d.step()
        loss_g = g_loss(model, model.sample(cfg.batch))
        if nets != "discriminator":
            state.opt_g.zero_grad()
            loss_g.backward()
            state.opt_g.step()
        if loss_d is None:  # D frozen: its loss as it stands, for the curve
            with torch.no_grad():
                loss_d = d_loss(
                    model,
                    torch.tensor(toy2d.sample(cfg.data, cfg.batch, state.rng, points)).float(),
                    model.sample(cfg.batch),
                )
        for schedule in state.schedules:
            schedule.step()
        state.step = step
        state.d_losses.append(loss_d.item())
        state.g_losses.append(loss_g.item())
        if frame_due(step - first + 1, cfg.frame_every, last - first + 1):
            yield _frame(state, eval_real, grid, z_eval)


def _frame(state: State, eval_real, grid, z_eval) -> Frame:
    cfg, model = state.cfg, state.model
    with torch.no_grad():
        fake = model.generate(z_eval).numpy()
        heat = torch.sigmoid(model.D(grid)).numpy().reshape(48, 48)
    ring = cfg.data == "ring"
    modes = toy2d.modes_covered(fake) if ring else 0
    title = f"{state.step}" + (f" · {modes}/8" if ring else "")  # numbers: the note says them in words
    return Frame(
        state.step,
        toy2d.plot(eval_real, fake[:600], heat, title=title),
        list(state.d_losses),
        list(state.g_losses),
        toy2d.coverage(fake) if ring else np.array([]),
        modes,
        toy2d.precision(fake) if ring else 0.0,
        state,
    )


def preset(name: str, **changes) -> GANConfig:
    return replace(PRESETS[name], **changes)
