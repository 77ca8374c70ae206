"""A CLIP-style BPE tokenizer made locally (no download), loadable with `CLIPTokenizer`.

Trained with the `tokenizers` library on CLIP's own pre-tokenisation (its regex, byte-level
alphabet, `</w>` end-of-word suffix) and written as vocab.json + merges.txt, the files
`CLIPTokenizer` reads. Every byte gets a token with and without `</w>`, so no character falls
back to `<|endoftext|>` (which is the eos token the text encoder pools at).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
_CLIP_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def train_clip_bpe(texts: Iterable[str], out_dir: str | Path, vocab_size: int = 1000, max_length: int = 77):
    """Train on `texts`, write vocab.json/merges.txt/tokenizer_config.json to `out_dir`, return a CLIPTokenizer."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import CLIPTokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    bpe.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                           normalizers.Lowercase()])
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_CLIP_SPLIT), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS, EOS], initial_alphabet=alphabet,
                                  end_of_word_suffix="</w>", show_progress=False)
    bpe.train_from_iterator(texts, trainer)

    vocab: dict[str, int] = json.loads(bpe.to_str())["model"]["vocab"]
    merges = json.loads(bpe.to_str())["model"]["merges"]
    for ch in sorted(alphabet):  # every byte, word-final or not
        for piece in (ch, ch + "</w>"):
            vocab.setdefault(piece, len(vocab))
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = [m if isinstance(m, str) else " ".join(m) for m in merges]
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(lines) + "\n", encoding="utf-8")
    tok = CLIPTokenizer(vocab=vocab, merges=[tuple(m.split(" ")) for m in lines], model_max_length=max_length)
    tok.save_pretrained(out)  # writes tokenizer.json; vocab.json/merges.txt above serve older transformers
    return tok
