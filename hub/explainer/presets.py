"""The settings of the teaching models that front ends show as controls: plain dataclasses, no torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GANConfig:
    data: str = "ring"  # ring | moons | custom
    noise_dim: int = 8  # size of z
    hidden: int = 128  # width of both MLPs
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    d_steps: int = 1  # discriminator updates per generator update
    loss: str = "non-saturating"  # non-saturating | minimax | wasserstein-gp
    steps: int = 2500
    anneal: float = 1.0  # the learning rates end at this share of their start (linear decay); 1 = constant
    batch: int = 256
    frame_every: int = 250  # yield a frame this often
    seed: int = 0


# Measured on the ring (2-D, 8 modes, 2000 samples; modes covered and the share of samples within 3 sigma of a
# mode), seeds 0/1/2: "stable" 8/8 modes with 85-87% of its samples near a mode; "mode collapse" ends on 1-2 modes
# with 87-97% of its samples on them: a collapse (each sample real-looking), not a divergence (samples nowhere).
GAN_PRESETS = {
    # small nets, equal fast learning rates, the non-saturating loss, learning rates annealed to 2%: it settles
    "stable": GANConfig(noise_dim=2, hidden=64, lr_g=3e-3, lr_d=3e-3, anneal=0.02),
    # a discriminator far ahead (5 steps a generator step, 10x its learning rate) and a 1-D noise: the generator
    # only finds the modes it is pushed onto, and puts every sample there
    "mode collapse": GANConfig(
        noise_dim=1, hidden=64, lr_g=3e-4, lr_d=3e-3, d_steps=5, anneal=0.02, steps=1500, frame_every=150
    ),
}
GAN_LOSSES = ("non-saturating", "minimax", "wasserstein-gp")


@dataclass(frozen=True)
class CharConfig:
    kind: str = "lstm"  # lstm | transformer
    lang: str = "en"
    block: int = 64  # characters of context per training example
    width: int = 128  # LSTM hidden size / transformer embedding
    layers: int = 2
    heads: int = 4
    dropout: float = 0.1
    steps: int = 1200
    batch: int = 32
    lr: float = 3e-3
    frame_every: int = 100
    seed: int = 0


# What each model trains with by default. The transformer overfits this small corpus with the LSTM's
# settings (3.03 nats/char after 800 steps, worse than the bigram's 2.76): it is narrower, with more
# dropout and a gentler learning rate.
CHAR_PRESETS = {
    "lstm": CharConfig(steps=500),
    # batch 16: 47 s beside a busy process (88 s at 32), 0.899 of the bigram's nats on held-out prose (0.889)
    "transformer": CharConfig(kind="transformer", width=96, dropout=0.25, lr=2e-3, steps=800, batch=16),
}
