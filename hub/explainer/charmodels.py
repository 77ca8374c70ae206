"""Character-level language models trained live: an LSTM and a small GPT-style transformer, against a bigram.

Corpus: a public-domain passage (Alice in Wonderland / Don Quijote) plus the explainer's own lessons,
in English or Spanish. Loss is in nats per character on held-out text.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from hub.explainer import frame_due
from hub.explainer.presets import CHAR_PRESETS, CharConfig

HERE = Path(__file__).resolve().parent


def corpus(lang: str) -> str:
    if lang not in ("en", "es"):
        raise ValueError(f"language {lang!r}: en or es")
    parts = [(HERE / "corpus" / f"{lang}.txt").read_text(encoding="utf-8")]
    parts += [p.read_text(encoding="utf-8") for p in sorted((HERE / "texts" / lang).glob("*.md"))]
    return "\n".join(parts)


PRESETS = CHAR_PRESETS


def preset(kind: str, **changes) -> CharConfig:
    if kind not in PRESETS:
        raise ValueError(f"unknown model {kind!r}: lstm or transformer")
    return replace(PRESETS[kind], **changes)


class Vocab:
    def __init__(self, text: str):
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def encode(self, text: str) -> torch.Tensor:
        return torch.tensor([self.index.get(c, 0) for c in text], dtype=torch.long)

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in ids)


def split(text: str) -> tuple[str, str]:
    cut = int(0.9 * len(text))
    return text[:cut], text[cut:]


def bigram_nats(train: str, val: str, vocab: Vocab) -> float:
    """The baseline: p(next | current) from counts with add-one smoothing."""
    v = len(vocab.chars)
    counts = np.ones((v, v))
    ids = vocab.encode(train).numpy()
    np.add.at(counts, (ids[:-1], ids[1:]), 1)
    probs = counts / counts.sum(1, keepdims=True)
    vid = vocab.encode(val).numpy()
    return float(-np.log(probs[vid[:-1], vid[1:]]).mean())


class CharLSTM(nn.Module):
    def __init__(self, cfg: CharConfig, vocab_size: int):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, cfg.width)
        self.lstm = nn.LSTM(cfg.width, cfg.width, cfg.layers, batch_first=True, dropout=cfg.dropout)
        self.head = nn.Linear(cfg.width, vocab_size)

    def forward(self, idx, targets=None):  # idx (B, T)
        h, _ = self.lstm(self.emb(idx))  # (B, T, C)
        self.last_hidden = h.detach()
        logits = self.head(h)  # (B, T, V)
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


class Block(nn.Module):
    def __init__(self, cfg: CharConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.width), nn.LayerNorm(cfg.width)
        self.attn = nn.MultiheadAttention(cfg.width, cfg.heads, dropout=cfg.dropout, batch_first=True)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.width, 4 * cfg.width), nn.GELU(), nn.Linear(4 * cfg.width, cfg.width), nn.Dropout(cfg.dropout)
        )

    def forward(self, x, mask):  # x (B, T, C)
        h = self.ln1(x)
        out, weights = self.attn(h, h, h, attn_mask=mask, need_weights=True, average_attn_weights=True)
        self.last_attention = weights.detach()  # (B, T, T)
        x = x + out
        return x + self.mlp(self.ln2(x))


class CharTransformer(nn.Module):
    def __init__(self, cfg: CharConfig, vocab_size: int):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, cfg.width)
        self.pos = nn.Embedding(cfg.block, cfg.width)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.ln = nn.LayerNorm(cfg.width)
        self.head = nn.Linear(cfg.width, vocab_size)

    def forward(self, idx, targets=None):  # idx (B, T)
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(T))  # (B, T, C)
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)  # a position sees only the past
        for block in self.blocks:
            x = block(x, mask)
        logits = self.head(self.ln(x))
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


def build(cfg: CharConfig, vocab_size: int) -> nn.Module:
    if cfg.kind == "lstm":
        return CharLSTM(cfg, vocab_size)
    if cfg.kind == "transformer":
        return CharTransformer(cfg, vocab_size)
    raise ValueError(f"unknown model {cfg.kind!r}: lstm or transformer")


@dataclass
class Frame:
    step: int
    train_losses: list[float]
    val_nats: float
    bigram_nats: float
    model: nn.Module
    vocab: Vocab


@torch.no_grad()
def evaluate(model, data: torch.Tensor, block: int) -> float:
    model.eval()
    chunks = [data[i : i + block + 1] for i in range(0, len(data) - block - 1, block)]
    x = torch.stack([c[:-1] for c in chunks])
    y = torch.stack([c[1:] for c in chunks])
    _, loss = model(x, y)
    model.train()
    return float(loss)


def train(cfg: CharConfig = CharConfig()) -> Iterator[Frame]:
    torch.manual_seed(cfg.seed)
    text = corpus(cfg.lang)
    vocab = Vocab(text)
    train_text, val_text = split(text)
    data, val = vocab.encode(train_text), vocab.encode(val_text)
    base = bigram_nats(train_text, val_text, vocab)
    model = build(cfg, len(vocab.chars))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(cfg.seed)
    losses = []
    for step in range(1, cfg.steps + 1):
        starts = torch.randint(0, len(data) - cfg.block - 1, (cfg.batch,), generator=gen)
        x = torch.stack([data[s : s + cfg.block] for s in starts])
        y = torch.stack([data[s + 1 : s + cfg.block + 1] for s in starts])
        for g in opt.param_groups:
            g["lr"] = cfg.lr * min(1, step / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / cfg.steps)))
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if frame_due(step, cfg.frame_every, cfg.steps):
            yield Frame(step, list(losses), evaluate(model, val, cfg.block), base, model, vocab)


@torch.no_grad()
def generate(
    model, vocab: Vocab, prompt: str, n: int = 200, temperature: float = 0.8, block: int = 64, seed: int = 0
) -> str:
    model.eval()
    g = torch.Generator().manual_seed(seed)
    idx = vocab.encode(prompt or "\n").tolist()
    for _ in range(n):
        logits, _ = model(torch.tensor([idx[-block:]]))
        probs = F.softmax(logits[0, -1] / max(temperature, 1e-3), dim=-1)
        idx.append(int(torch.multinomial(probs, 1, generator=g)))
    return vocab.decode(idx)


@torch.no_grad()
def next_char_probs(model, vocab: Vocab, text: str, block: int = 64, k: int = 8) -> list[tuple[str, float]]:
    """The model's top-k guesses for the character after `text` (the GPT-style next-token view)."""
    model.eval()
    logits, _ = model(vocab.encode(text[-block:] or "\n")[None])
    probs = F.softmax(logits[0, -1], dim=-1)
    top = torch.topk(probs, min(k, len(vocab.chars)))
    return [(vocab.chars[i], float(p)) for p, i in zip(top.values, top.indices)]


@torch.no_grad()
def closing_probe(model, vocab: Vocab, lang: str = "en", lengths=(4, 16, 40), block: int = 64) -> dict[int, float]:
    """Long-range test: after '(' and n characters of text, how likely is ')' at a word boundary?"""
    model.eval()
    words = corpus(lang).split()
    rng = np.random.default_rng(0)
    out = {}
    for n in lengths:
        ps = []
        for _ in range(20):
            body = ""
            while len(body) < n:
                body += words[rng.integers(len(words))].strip("()") + " "
            text = "and (" + body[:n].rstrip()
            ps.append(next_char_probs(model, vocab, text, block, k=len(vocab.chars)))
        out[n] = float(np.mean([dict(p).get(")", 0.0) for p in ps]))
    return out


@torch.no_grad()
def heatmap(model, vocab: Vocab, text: str, block: int = 64):
    """The LSTM's hidden state (characters x units) or the transformer's last-layer attention (chars x chars)."""
    from PIL import Image

    model.eval()
    model(vocab.encode(text[-block:] or "\n")[None])
    if isinstance(model, CharLSTM):
        values = model.last_hidden[0].T.numpy()  # (units, T)
        values = (values - values.min()) / (values.max() - values.min() + 1e-9)
    else:
        values = model.blocks[-1].last_attention[0].numpy()  # (T, T): row = query, column = key
        values = values / (values.max() + 1e-9)
    rgb = np.stack([255 * values, 80 + 100 * values, 255 * (1 - values)], -1).astype(np.uint8)
    img = Image.fromarray(rgb)
    return img.resize((max(256, img.width * 6), max(128, img.height * 6)), Image.NEAREST)
