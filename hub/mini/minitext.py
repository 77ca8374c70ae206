"""mini-text: a tiny GPT-2, trained on the caption grammar, that expands "red circle" into a full scene description."""

from __future__ import annotations

import random
from pathlib import Path

import torch
from tqdm import tqdm

from hub.mini import world
from hub.mini.stage import Stage, cosine_lr

CHAT_TEMPLATE = "{{ messages[-1]['content'] }} ="


def short_form(scene: world.Scene, caption: str, rng: random.Random) -> str:
    """What a person might type: the content words of the caption, some dropped."""
    stop = {"a", "an", "on", "the", "of", "at", "in", "un", "una", "de", "sobre", "fondo", "la", "el", "background"}
    words = [w for w in caption.split() if w not in stop]
    keep = [w for w in words if rng.random() < 0.7] or words[:2]
    return " ".join(keep)


def train_text(work, cfg, out_dir: Path, batches, device="cpu"):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    rng = random.Random(cfg.seed + 7)
    pairs = []
    for _ in range(6000):
        scene = world.sample_scene(rng)
        full = scene.caption("en" if rng.random() < 0.5 else "es")
        pairs.append(f"{short_form(scene, full, rng)} = {full}")
    saved = work / "text-tokenizer.json"
    if not saved.exists() and (work / "text-tokenizer" / "tokenizer.json").exists():  # kept as a folder for a while
        saved = work / "text-tokenizer" / "tokenizer.json"
    if saved.exists():  # resuming: the checkpoint learnt this tokenizer's ids (the trainer's vary from run to run)
        bpe = Tokenizer.from_file(str(saved))
    else:
        bpe = Tokenizer(models.BPE())
        bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        bpe.decoder = decoders.ByteLevel()
        bpe.train_from_iterator(
            pairs,
            trainers.BpeTrainer(
                vocab_size=400,
                special_tokens=["<|endoftext|>"],
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                show_progress=False,
            ),
        )
        bpe.save(str(saved))
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        model_max_length=64,
    )
    tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(cfg.seed)
    model = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tok),
            n_positions=64,
            n_embd=96,
            n_layer=3,
            n_head=3,
            bos_token_id=tok.eos_token_id,
            eos_token_id=tok.eos_token_id,
        )
    )
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    stage = Stage(work, "text", {"text": model}, opt, cfg.text_steps, cfg.checkpoint_every)
    if not stage.finished:
        model.train()
        for step in stage.loop():
            cosine_lr(opt, step, cfg.text_steps, cfg.lr)
            batch = [p + tok.eos_token for p in rng.sample(pairs, 64)]
            enc = tok(batch, padding="max_length", max_length=48, truncation=True, return_tensors="pt").to(device)
            labels = enc.input_ids.masked_fill(enc.attention_mask == 0, -100)
            labels[:, 0] = -100
            first_pad = enc.attention_mask.sum(1)  # keep the first end token as a target: the model learns to stop
            labels[torch.arange(len(batch), device=device), first_pad.clamp(max=47)] = tok.eos_token_id
            loss = model(input_ids=enc.input_ids, attention_mask=enc.attention_mask, labels=labels).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 200 == 0:
                tqdm.write(f"text {step}: loss {loss.item():.3f}")
    model.eval().cpu()
    model.save_pretrained(out_dir / "text")
    tok.save_pretrained(out_dir / "text")
