"""A CLIP-style BPE tokenizer made locally (no download), loadable with `CLIPTokenizer`.

Trained with the `tokenizers` library on CLIP's own pre-tokenisation (its regex, byte-level
alphabet, `</w>` end-of-word suffix) and written as vocab.json + merges.txt, the files
`CLIPTokenizer` reads. Every byte gets a token with and without `</w>`, so no character falls
back to `<|endoftext|>` (which is the eos token the text encoder pools at).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
_CLIP_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def train_clip_bpe(texts: Iterable[str], out_dir: str | Path, vocab_size: int = 1000, max_length: int = 77):
    """Train on `texts`, write vocab.json/merges.txt/tokenizer_config.json to `out_dir`, return a CLIPTokenizer.

    The same texts give the same files every time. The merges are learnt here rather than by the `tokenizers`
    trainer, which breaks ties between equally frequent pairs, and numbers single characters, in a hash order
    that changes from run to run: a model trained on one run's ids reads nonsense through another run's.
    """
    from tokenizers import Regex, normalizers, pre_tokenizers

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    split = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_CLIP_SPLIT), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    counts = Counter(piece for text in texts for piece, _ in split.pre_tokenize_str(normalizer.normalize_str(text)))
    words = {w: (*w[:-1], w[-1] + "</w>") for w in counts}
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    singles = [piece for ch in alphabet for piece in (ch, ch + "</w>")]  # every byte, word-final or not
    budget = vocab_size - 2 - len(alphabet) - len({w[-1] for w in words.values()})  # ids the corpus can meet
    merges: list[tuple[str, str]] = []
    while len(merges) < budget:
        pairs: Counter = Counter()
        for w, symbols in words.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += counts[w]
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))  # the most frequent pair; ties by spelling
        merges.append(best)
        words = {w: _merge(symbols, best) for w, symbols in words.items()}
    vocab = {t: i for i, t in enumerate(dict.fromkeys([BOS, EOS, *singles, *("".join(m) for m in merges)]))}
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = [" ".join(m) for m in merges]
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(lines) + "\n", encoding="utf-8")
    tok = load_clip_bpe(out, max_length)  # built the way a resumed training reads it back
    tok.save_pretrained(out)  # writes tokenizer.json; vocab.json/merges.txt above serve older transformers
    return tok


def load_clip_bpe(out_dir: str | Path, max_length: int = 77):
    """The tokenizer `train_clip_bpe` wrote to `out_dir`, with the same ids (a resumed training reads it back)."""
    from transformers import CLIPTokenizer

    out = Path(out_dir)
    vocab = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
    lines = (out / "merges.txt").read_text(encoding="utf-8").splitlines()[1:]
    return CLIPTokenizer(vocab=vocab, merges=[tuple(m.split(" ")) for m in lines if m], model_max_length=max_length)


def _merge(symbols: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    out, i = [], 0
    while i < len(symbols):
        if symbols[i : i + 2] == pair:
            out.append(pair[0] + pair[1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return tuple(out)
