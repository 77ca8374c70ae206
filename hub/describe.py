"""/describe and /shorten on a Kandinsky model's own CLIP: no extra captioning model needed.

describe: score phrases from a small bank against the image's CLIP embedding and compose the
best-scoring candidates into four prompts, ranked by the whole prompt's similarity.
shorten: tokenise with the model's tokenizer; each word's weight is how much the prompt's text
embedding moves when that word is left out; words past the token limit are cut.
"""

from __future__ import annotations

import itertools

import torch

from hub.types import DescribeResult, ShortenResult, TokenInfo

BANK = {
    "subject": [
        "a red circle",
        "a blue square",
        "a yellow star",
        "a green triangle",
        "a purple heart",
        "a cat",
        "a dog",
        "a bird",
        "a horse",
        "a portrait of a woman",
        "a portrait of a man",
        "a child",
        "a city street",
        "a mountain landscape",
        "a beach at sunset",
        "a forest",
        "a bowl of fruit",
        "a vase of flowers",
        "a car",
        "a house",
        "a castle",
        "a robot",
        "a spaceship",
        "a dragon",
        "an abstract pattern",
        "geometric shapes",
    ],
    "medium": [
        "a photograph",
        "an oil painting",
        "a watercolor painting",
        "a pencil sketch",
        "a 3d render",
        "pixel art",
        "a flat vector illustration",
        "an anime drawing",
        "a digital painting",
    ],
    "detail": [
        "vibrant colors",
        "pastel colors",
        "black and white",
        "golden hour light",
        "neon lights",
        "on a white background",
        "on a dark background",
        "highly detailed",
        "minimalist",
    ],
}


def describe(engine, image, n: int = 4, shapes_world: bool = False) -> DescribeResult:
    """shapes_world: the model is the bundled mini, which draws only its world's shapes, colours and relations, so
    the candidates come from that world's grammar; a general model gets the phrase bank above."""
    if shapes_world:
        return _describe_shapes(engine, image, n)
    with torch.no_grad():
        img = torch.nn.functional.normalize(engine.image_embeds([image]).float(), dim=-1)[0]
        best: dict[str, list[str]] = {}
        for slot, phrases in BANK.items():
            txt = torch.nn.functional.normalize(engine.text_embeds(phrases).float(), dim=-1)
            order = (txt @ img).argsort(descending=True).tolist()
            best[slot] = [phrases[i] for i in order[:3]]
        combos = [
            f"{s}, {m}, {d}" for s, m, d in itertools.product(best["subject"], best["medium"][:2], best["detail"][:2])
        ]
        txt = torch.nn.functional.normalize(engine.text_embeds(combos).float(), dim=-1)
        scores = (txt @ img).tolist()
    ranked = sorted(zip(scores, combos), reverse=True)
    out, seen = [], set()
    for score, text in ranked:  # four prompts with different subjects where possible
        subject = text.split(",")[0]
        if subject in seen and len(seen) < len(best["subject"]):
            continue
        seen.add(subject)
        out.append((score, text))
        if len(out) == n:
            break
    for score, text in ranked:
        if len(out) == n:
            break
        if (score, text) not in out:
            out.append((score, text))
    return DescribeResult(prompts=tuple(t for _, t in out), scores=tuple(round(s, 4) for s, _ in out))


def _describe_shapes(engine, image, n: int) -> DescribeResult:
    """The best one-shape captions, then those on each background and the best pairs in each relation, all
    scored against the image: every prompt offered is one the mini can draw."""
    from hub.mini.world import BACKGROUNDS, COLOURS, RELATIONS, SHAPES
    from hub.mini.world import _article_en as article_for  # the captions' own rule: "an orange", "a red"

    def article(word: str) -> str:
        return article_for(None, word)

    def scored(texts: list[str]) -> list[tuple[float, str]]:
        txt = torch.nn.functional.normalize(engine.text_embeds(texts).float(), dim=-1)
        return sorted(zip((txt @ img).tolist(), texts), reverse=True)

    with torch.no_grad():
        img = torch.nn.functional.normalize(engine.image_embeds([image]).float(), dim=-1)[0]
        singles = [f"{article(c)} {c} {s}" for c in COLOURS for s in SHAPES]
        top = [t for _, t in scored(singles)[:6]]
        candidates = top + [f"{t} on {article(b)} {b} background" for t in top[:3] for b in BACKGROUNDS]
        candidates += [f"{a} {r} {b}" for a in top for b in top if a != b for r in RELATIONS]
        ranked = scored(candidates)
    out, firsts = [], set()
    for score, text in ranked:  # different leading shapes first, so the four are not one prompt reworded
        first = " ".join(text.split()[:3])
        if first not in firsts:
            firsts.add(first)
            out.append((score, text))
        if len(out) == n:
            break
    out += [pair for pair in ranked if pair not in out][: n - len(out)]
    return DescribeResult(prompts=tuple(t for _, t in out), scores=tuple(round(s, 4) for s, _ in out))


def kept(tokenizer, words: list[str]) -> list[bool]:
    """Which words the text encoder reads: those whose tokens fit its window (less the start and end tokens)."""
    budget, used, flags = tokenizer.model_max_length - 2, 0, []
    for w in words:
        used += len(tokenizer(w, add_special_tokens=False).input_ids)
        flags.append(used <= budget)
    return flags


def cut_words(tokenizer, text: str) -> str:
    """The words of `text` the text encoder never reads ("" when it reads them all)."""
    if len(tokenizer(text, truncation=False).input_ids) <= tokenizer.model_max_length:
        return ""
    words = text.split()
    return " ".join(w for w, k in zip(words, kept(tokenizer, words)) if not k)


def shorten(engine, prompt: str) -> ShortenResult:
    tok = engine.prior.tokenizer
    limit = tok.model_max_length
    words = prompt.split()
    ids = tok(prompt, truncation=False).input_ids
    kept_flags = kept(tok, words)
    kept_words = [w for w, k in zip(words, kept_flags) if k]
    with torch.no_grad():
        variants = [" ".join(kept_words)] + [
            " ".join(kept_words[:i] + kept_words[i + 1 :]) for i in range(len(kept_words))
        ]
        emb = torch.nn.functional.normalize(engine.text_embeds(variants).float(), dim=-1)
        shifts = (1 - emb[1:] @ emb[0]).clamp(min=0).tolist() if kept_words else []
    total = sum(shifts) or 1.0
    weights = iter(s / total for s in shifts)
    infos = tuple(TokenInfo(w, round(next(weights), 4) if k else 0.0, k) for w, k in zip(words, kept_flags))
    mean = 1 / max(1, len(kept_words))
    short = " ".join(t.text for t in infos if t.kept and t.weight >= 0.5 * mean) or " ".join(kept_words)
    cut = " ".join(w for w, k in zip(words, kept_flags) if not k)
    return ShortenResult(words=infos, shortened=short, token_count=len(ids), token_limit=limit, cut=cut)
