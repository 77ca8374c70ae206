"""A VAE on the 8x8 digits: encoder -> (mu, logvar) -> z -> decoder, trained on the ELBO with a beta knob.

beta -> 0 is a plain autoencoder (sharp, messy latent space); a large beta makes the posterior collapse
onto the prior (every reconstruction looks alike). The baseline is PCA with as many dimensions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageDraw

from hub.explainer import digits, frame_due


@dataclass(frozen=True)
class VAEConfig:
    latent: int = 2  # 2: the latent-space picture, and a prior it can fill; 16: sharper reconstructions
    hidden: int = 256
    beta: float = 1.0  # weight of the KL term: 1 is the true ELBO, whose prior samples look like digits
    steps: int = 3000
    batch: int = 128
    lr: float = 2e-3
    frame_every: int = 500
    seed: int = 0


class VAE(nn.Module):
    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.enc = nn.Sequential(
            nn.Linear(64, cfg.hidden),
            nn.ReLU(),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.ReLU(),
            nn.Linear(cfg.hidden, 2 * cfg.latent),
        )
        self.dec = nn.Sequential(
            nn.Linear(cfg.latent, cfg.hidden),
            nn.ReLU(),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.ReLU(),
            nn.Linear(cfg.hidden, 64),
        )

    def encode(self, x):  # x (B, 64) -> mu, logvar (B, latent)
        return self.enc(x).chunk(2, dim=1)

    def decode(self, z):  # z (B, latent) -> pixel probabilities (B, 64)
        return torch.sigmoid(self.dec(z))

    def forward(self, x, beta: float):
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # the reparameterisation trick
        logits = self.dec(z)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / len(x)
        return torch.sigmoid(logits), rec + beta * kl, rec, kl


@dataclass
class Frame:
    step: int
    recon: Image.Image  # inputs (top rows) and reconstructions (bottom rows)
    rec_curve: list[float]
    kl_curve: list[float]
    mse: float  # test reconstruction error (per pixel)
    pca_mse: float  # baseline: PCA with as many dimensions
    model: VAE


def pca_mse(latent: int) -> float:
    """Test reconstruction error of PCA with `latent` components fitted on the training digits."""
    x, _, xt, _ = digits.load()
    mean = x.mean(0)
    axes = np.linalg.svd((x - mean).astype(np.float64), full_matrices=False)[2][:latent]  # principal axes
    rec = (xt - mean) @ axes.T @ axes + mean
    return float(((rec - xt) ** 2).mean())


def reconstruct(model: VAE, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        mu, _ = model.encode(torch.tensor(x))
        return model.decode(mu).numpy()


def train(cfg: VAEConfig = VAEConfig()) -> Iterator[Frame]:
    torch.manual_seed(cfg.seed)
    x, _, xt, _ = digits.load()
    xs = torch.tensor(x)
    model = VAE(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    baseline = pca_mse(cfg.latent)
    gen = torch.Generator().manual_seed(cfg.seed)
    recs, kls = [], []
    for step in range(1, cfg.steps + 1):
        batch = xs[torch.randint(0, len(xs), (cfg.batch,), generator=gen)]
        _, loss, rec, kl = model(batch, cfg.beta)
        opt.zero_grad()
        loss.backward()
        opt.step()
        for g in opt.param_groups:
            g["lr"] = cfg.lr * (1 - 0.9 * step / cfg.steps)
        recs.append(rec.item())
        kls.append(kl.item())
        if frame_due(step, cfg.frame_every, cfg.steps):
            out = reconstruct(model, xt)
            mse = float(((out - xt) ** 2).mean())
            pics = digits.sheet(np.concatenate([xt[:10], out[:10]]))
            yield Frame(step, pics, list(recs), list(kls), mse, baseline, model)


def latent_map(model: VAE, size: int = 320) -> Image.Image:
    """Test digits placed at their 2-D latent means, coloured by class (latent=2 models)."""
    _, _, xt, yt = digits.load()
    with torch.no_grad():
        mu, _ = model.encode(torch.tensor(xt))
    mu = mu[:, :2].numpy()
    lo, hi = mu.min(0), mu.max(0)
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    palette = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ]
    for (a, b), label in zip((mu - lo) / (hi - lo + 1e-9), yt):
        x, y = 10 + a * (size - 20), size - 10 - b * (size - 20)
        draw.text((x - 3, y - 5), str(label), fill=palette[label])
    return img


def latent_grid(model: VAE, n: int = 10, span: float = 2.5) -> Image.Image:
    """Digits decoded on a grid across the first two latent dimensions (the rest at 0)."""
    latent = model.dec[0].in_features
    z = torch.zeros(n * n, latent)
    vals = torch.linspace(-span, span, n)
    z[:, 0] = vals.repeat(n)
    z[:, 1] = vals.flip(0).repeat_interleave(n)
    with torch.no_grad():
        return digits.sheet(model.decode(z).numpy(), cols=n)


def interpolate(model: VAE, a: int, b: int, steps: int = 10) -> Image.Image:
    """Decode the straight line between the latent codes of test digits a and b."""
    _, _, xt, _ = digits.load()
    with torch.no_grad():
        mu, _ = model.encode(torch.tensor(xt[[a, b]]))
        w = torch.linspace(0, 1, steps)[:, None]
        return digits.sheet(model.decode((1 - w) * mu[0] + w * mu[1]).numpy(), cols=steps)


RECOGNISED = 0.7  # a digit is recognised when the classifier puts at least this probability on one class
SWEEP = (0.05, 1.0, 4.0)  # the betas of the trade-off sweep: light, the true ELBO, heavy
SWEEP_STEPS = 800  # each beta's run in the sweep, beside a lesson of VAEConfig.steps (shorter lessons: sweep_steps)


def sweep_steps(steps: int) -> int:
    """Each beta's run in the sweep beside a lesson of `steps`: as long against it as the default's 800 to 3000."""
    return max(100, round(steps * SWEEP_STEPS / VAEConfig.steps))


def prior_samples(model: VAE, n: int = 500, seed: int = 1) -> np.ndarray:
    """n digits decoded from z ~ N(0, I): what the model generates, with no input digit at all."""
    latent = model.dec[0].in_features
    with torch.no_grad():
        return model.decode(torch.randn(n, latent, generator=torch.Generator().manual_seed(seed))).numpy()


def recognised(images: np.ndarray, classifier=None) -> float:
    """The share of (N, 64) images the digit classifier gives at least RECOGNISED probability on one digit (real
    test digits: 89%)."""
    classifier = classifier or digits.classifier()
    return float((classifier.predict_proba(images).max(1) >= RECOGNISED).mean())


def beta_sweep(cfg: VAEConfig, betas=SWEEP, steps: int = SWEEP_STEPS) -> list[dict]:
    """The trade-off, one short training per beta: reconstruction error, KL and prior samples recognised."""
    from dataclasses import replace

    classifier = digits.classifier()
    out = []
    for beta in betas:
        last = None
        for last in train(replace(cfg, beta=beta, steps=steps, frame_every=steps)):
            pass
        out.append(
            {
                "beta": beta,
                "mse": last.mse,
                "kl": float(np.mean(last.kl_curve[-50:])),
                "recognised": recognised(prior_samples(last.model), classifier),
            }
        )
    return out
