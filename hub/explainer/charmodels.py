"""Character-level language models trained live: an LSTM and a small GPT-style transformer, against a bigram.

Corpus: a public-domain passage (Alice in Wonderland / Don Quijote) plus the explainer's own lessons,
in English or Spanish. Loss is in nats per character on held-out text: the passage's last tenth, never a lesson.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
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
    """Everything the models see in `lang`: the public-domain passage, then the lessons."""
    train_text, val_text = split_corpus(lang)
    return train_text + val_text


def split_corpus(lang: str) -> tuple[str, str]:
    """(training text, held-out text): the held-out text is the passage's last tenth (literature, like the rest of
    the passage), so the validation loss measures prose the model never saw, not a lesson it half memorised."""
    if lang not in ("en", "es"):
        raise ValueError(f"language {lang!r}: en or es")
    passage = (HERE / "corpus" / f"{lang}.txt").read_text(encoding="utf-8")
    lessons = [p.read_text(encoding="utf-8") for p in sorted((HERE / "texts" / lang).glob("*.md"))]
    train_part, held_out = split(passage)
    return "\n".join(lessons + [train_part]), held_out


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

    keep_attention = False  # set while the weights are shown: asking for them takes attention's slow path

    def forward(self, x, mask):  # x (B, T, C)
        h = self.ln1(x)
        out, weights = self.attn(h, h, h, attn_mask=mask, need_weights=self.keep_attention, average_attn_weights=False)
        if self.keep_attention:
            self.last_attention = weights.detach()  # (B, heads, T, T): row = query, column = key
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
    train_text, val_text = split_corpus(cfg.lang)
    vocab = Vocab(train_text + val_text)
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


def filtered(probs: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Next-character probabilities kept to the k likeliest (top-k; 0 = all) and to the smallest set whose mass
    reaches p (top-p, nucleus; 1 = all), renormalised: the two knobs that trade variety for safety."""
    keep = torch.ones_like(probs, dtype=torch.bool)
    order = torch.argsort(probs, descending=True)
    if top_k > 0:
        keep[order[top_k:]] = False
    if top_p < 1.0:
        mass_before = torch.cumsum(probs[order], 0) - probs[order]  # the mass of the likelier characters
        keep[order[mass_before >= top_p]] = False  # the first character is always kept
    out = torch.where(keep, probs, torch.zeros_like(probs))
    return out / out.sum()


@torch.no_grad()
def generate(
    model,
    vocab: Vocab,
    prompt: str,
    n: int = 200,
    temperature: float = 0.8,
    block: int = 64,
    seed: int = 0,
    top_k: int = 0,
    top_p: float = 1.0,
) -> str:
    model.eval()
    g = torch.Generator().manual_seed(seed)
    idx = vocab.encode(prompt or "\n").tolist()
    for _ in range(n):
        logits, _ = model(torch.tensor([idx[-block:]]))
        probs = filtered(F.softmax(logits[0, -1] / max(temperature, 1e-3), dim=-1), top_k, top_p)
        idx.append(int(torch.multinomial(probs, 1, generator=g)))
    return vocab.decode(idx)


@torch.no_grad()
def next_char_probs(
    model, vocab: Vocab, text: str, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, k: int = 8
) -> list[tuple[str, float, float]]:
    """The model's k likeliest characters after `text` (the GPT-style next-token view): (character, its
    probability at this temperature, its probability once top-k and top-p have cut the rest; 0 = never drawn)."""
    model.eval()
    logits, _ = model(vocab.encode(text[-64:] or "\n")[None])
    probs = F.softmax(logits[0, -1] / max(temperature, 1e-3), dim=-1)
    kept = filtered(probs, top_k, top_p)
    top = torch.topk(probs, min(k, len(vocab.chars)))
    return [(vocab.chars[i], float(p), float(kept[i])) for p, i in zip(top.values, top.indices)]


@torch.no_grad()
def closing_probe(model, vocab: Vocab, lang: str = "en", lengths=(4, 16, 40)) -> dict[int, float]:
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
            ps.append({c: p for c, p, _ in next_char_probs(model, vocab, text, k=len(vocab.chars))})
        out[n] = float(np.mean([p.get(")", 0.0) for p in ps]))
    return out


@torch.no_grad()
def heatmap(model, vocab: Vocab, text: str, block: int = 64):
    """The LSTM's hidden state (units x characters), or the transformer's attention of its last layer, all heads
    averaged (characters x characters); the characters label the axes and a colour key gives the scale."""
    model.eval()
    shown = text[-block:] or "\n"
    with _attention_kept(model):
        model(vocab.encode(shown)[None])
    if isinstance(model, CharLSTM):
        values = model.last_hidden[0].T.numpy()[:32]  # (units, T): the first 32 units
        return keyed_map(values, columns=shown, rows=None, cell=6, cell_w=max(8, 240 // len(shown)))
    values = model.blocks[-1].last_attention[0].mean(0).numpy()  # (T, T): row = query, column = key
    return keyed_map(values, columns=shown, rows=shown, cell=max(8, 240 // len(shown)))


@torch.no_grad()
def attention_heads(model, vocab: Vocab, text: str, block: int = 64) -> list[tuple[object, str]]:
    """Every head of every layer of the transformer: which earlier character each character looks at (rows:
    the character asking, the query; columns: the characters it reads, the keys); (picture, "layer L · head H")."""
    if isinstance(model, CharLSTM):
        return []
    model.eval()
    shown = (text[-block:] or "\n")[-24:]  # a readable stretch: a character a row
    with _attention_kept(model):
        model(vocab.encode(shown)[None])
    out = []
    for layer, blk in enumerate(model.blocks, 1):
        for head, weights in enumerate(blk.last_attention[0], 1):
            out.append((keyed_map(weights.numpy(), columns=shown, rows=shown, cell=14), f"{layer} · {head}"))
    return out


@contextmanager
def _attention_kept(model):
    """The transformer's blocks keep their attention weights for the forward passes inside."""
    blocks = list(getattr(model, "blocks", []))
    for b in blocks:
        b.keep_attention = True
    try:
        yield
    finally:
        for b in blocks:
            b.keep_attention = False


def keyed_map(values: np.ndarray, columns: str, rows: str | None, cell: int = 8, cell_w: int | None = None):
    """A heatmap (blue = low, orange = high) with a character under each column, one beside each row (when
    given), and a colour key from the lowest value to the highest."""
    from PIL import Image, ImageDraw

    low, high = float(values.min()), float(values.max())
    norm = (values - low) / (high - low + 1e-9)

    def colour(v):
        return np.stack([255 * v, 80 + 100 * v, 255 * (1 - v)], -1).astype(np.uint8)

    h, w = norm.shape
    cw = cell_w or cell
    body = Image.fromarray(colour(norm)).resize((w * cw, h * cell), Image.NEAREST)
    left, bottom, key = (cell + 4 if rows else 0), 16, 48
    img = Image.new("RGB", (left + body.width + key, body.height + bottom), "white")
    img.paste(body, (left, 0))
    draw = ImageDraw.Draw(img)
    label = lambda c: {"\n": "¶", " ": "·"}.get(c, c)  # noqa: E731  (glyphs the bitmap font has)
    for i, c in enumerate(columns[-w:]):
        draw.text((left + i * cw + cw // 4, body.height + 2), label(c), fill=(0, 0, 0))
    for i, c in enumerate((rows or "")[-h:]):
        draw.text((1, i * cell), label(c), fill=(0, 0, 0))
    strip = Image.fromarray(colour(np.linspace(1, 0, body.height)[:, None].repeat(10, 1)))
    img.paste(strip, (left + body.width + 6, 0))
    draw.text((left + body.width + 18, 0), f"{high:.2f}", fill=(0, 0, 0))
    draw.text((left + body.width + 18, body.height - 10), f"{low:.2f}", fill=(0, 0, 0))
    return img
