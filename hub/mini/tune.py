"""`lienzo train-mini --tune-from FOLDER`: bring a trained mini to the world's aspects and phrasings, keeping its
image side.

The image side (CLIP vision tower and MoVQ) stays locked: it already sees every scene, and keeping it keeps the
decoder's conditioning space, so the decoder continues from its weights. The language side is learnt again:
  tokenizer   trained on the canonical and the varied captions (world.phrase)
  text        a fresh text tower, contrastive against the locked image tower (LiT: Zhai et al. 2022, "locked-image
              text tuning"), each scene with a drawn hard negative as in the CLIP stage; the pictures' embeddings
              are computed once (the tower is locked), so a step costs the text tower alone
  prior       a fresh prior on the new text tower, on the same embedded scenes
  unet        the decoder continued on aspect-ratio buckets (recipe.bucket_weights), EMA from its own weights
then export, and the draft decoder distilled from the tuned one (from_folder.draft_from).
`--stages unet,export` alone is a decoder-only tune: the folder's tokenizer, text tower and prior are kept as they
are (what the bundled mini shipped in session 16: the decoder brought to every aspect, the language side as trained).
`--stages text,prior,export` alone is a language-only tune: the folder's decoders (draft, inpainting and tiny
latent decoder included) are kept, since the prior's target, the locked image tower's embedding, does not change.
A tune of a tuned folder keeps the earlier tunes' records in training.json ("tunes").
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from hub.mini import world
from hub.mini.stage import Stage, cosine_lr, save_atomic
from hub.loading import DRAFT_UNET, FAST_VAE, INPAINT_UNET
from hub.mini.data import Batches, _device, image_embeds, pixels, zero_image_embed
from hub.mini.recipe import ARCH, TrainConfig, bucket_weights
from hub.mini.train import prior_step, run_facts, train_tokenizer, train_unet


def embedded_pairs(work: Path, cfg: TrainConfig, vision, n: int) -> tuple[list, list, torch.Tensor]:
    """`n` (scene, hard negative) pairs drawn square, with the locked image tower's embeddings of both (2n, D),
    kept in `work`."""
    path = work / "tune-pairs.pt"
    if path.exists():
        saved = torch.load(path, weights_only=False)
        return saved["scenes"], saved["negatives"], saved["embeds"]
    batches = Batches(cfg.seed + 11)
    scenes, negatives, embeds = [], [], []
    dev = _device(vision)
    with torch.no_grad():
        for start in tqdm(range(0, n, 256), desc="embed scenes", unit="batch", dynamic_ncols=True):
            pairs = [batches.hard_negative(s) for s in batches.scenes(min(256, n - start))]  # no more than kept
            a, b = [p[0] for p in pairs], [p[1] for p in pairs]
            scenes += a
            negatives += b
            embeds.append(torch.stack([image_embeds(vision, pixels(x, device=dev)) for x in (a, b)], 1).cpu())
    out = {"scenes": scenes, "negatives": negatives, "embeds": torch.cat(embeds)}  # (n, 2, D)
    save_atomic(out, path)
    return out["scenes"], out["negatives"], out["embeds"]


def _ids(tok, texts, dev):
    enc = tok(texts, padding="max_length", max_length=ARCH.max_length, truncation=True, return_tensors="pt")
    return enc.input_ids.to(dev), enc.attention_mask.to(dev)


def train_text_tower(work, cfg, tok, text, pairs) -> None:
    scenes, negatives, embeds = pairs
    dev = _device(text)
    scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.07), device=dev))  # CLIP's temperature, learnt
    opt = torch.optim.AdamW(list(text.parameters()) + [scale], lr=cfg.lr, weight_decay=0.01)
    stage = Stage(work, "tune-text", {"text": text}, opt, cfg.tune_text_steps, cfg.checkpoint_every)
    if stage.finished:
        return
    rng = random.Random(cfg.seed + 12)
    image = F.normalize(embeds.to(dev), dim=-1)
    text.train()
    for step in stage.loop():
        cosine_lr(opt, step, cfg.tune_text_steps, cfg.lr)
        i = torch.randint(0, len(scenes), (cfg.tune_text_batch,))
        both = [scenes[k] for k in i.tolist()] + [negatives[k] for k in i.tolist()]
        captions = [world.phrase(s, "en" if rng.random() < 0.5 else "es", rng) for s in both]
        ids, mask = _ids(tok, captions, dev)
        t = F.normalize(text(input_ids=ids, attention_mask=mask).text_embeds, dim=-1)
        v = torch.cat([image[i.to(dev), 0], image[i.to(dev), 1]])
        logits = scale.exp().clamp(max=100) * v @ t.T
        labels = torch.arange(len(both), device=dev)
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 200 == 0:
            tqdm.write(f"tune-text {step}: contrastive {loss.item():.3f}")
    text.eval()


def train_prior_on(work, cfg, tok, text, prior, sched, pairs) -> None:
    """The prior from scratch on the new text tower; its targets are the embedded scenes (both of each pair)."""
    scenes, negatives, embeds = pairs
    dev = _device(prior)
    all_scenes = scenes + negatives
    flat = torch.cat([embeds[:, 0], embeds[:, 1]]).to(dev)
    opt = torch.optim.AdamW(prior.parameters(), lr=cfg.lr, weight_decay=0.0)
    stage = Stage(work, "tune-prior", {"prior": prior}, opt, cfg.tune_prior_steps, cfg.checkpoint_every)
    if stage.finished:
        return
    if stage.step == 0:
        prior.clip_mean.data.copy_(flat.mean(0, keepdim=True))
        prior.clip_std.data.copy_(flat.std(0, keepdim=True).clamp(min=1e-4))
    rng = random.Random(cfg.seed + 13)
    alphas = sched.alphas_cumprod.to(dev)
    prior.train()
    for step in stage.loop():
        cosine_lr(opt, step, cfg.tune_prior_steps, cfg.lr)
        i = torch.randint(0, len(all_scenes), (cfg.prior_batch,))
        texts = [
            world.phrase(all_scenes[k], "en" if rng.random() < 0.5 else "es", rng)
            if rng.random() > cfg.cond_drop
            else ""
            for k in i.tolist()
        ]
        t = torch.randint(0, len(alphas), (len(i),)).to(dev)
        noise = torch.randn(len(i), flat.shape[1]).to(dev)
        with torch.no_grad():
            ids, mask = _ids(tok, texts, dev)
            out = text(ids)
            x0 = (flat[i.to(dev)] - prior.clip_mean) / prior.clip_std
        loss = prior_step(prior, opt, alphas, x0, out, mask, t, noise)
        if step % 200 == 0:
            tqdm.write(f"tune-prior {step}: loss {loss.item():.4f}")
    prior.eval()


TUNE_STAGES = ("text", "prior", "unet", "export")


def earlier_tunes(base: dict) -> list[dict]:
    """The tune records a new tune (or average) of a folder with training.json `base` keeps: the folder's earlier
    ones and, when it was tuned itself, its own record (and its note), with when it finished."""
    earlier = list(base.get("tunes", []))
    if "tune" in base:
        earlier.append({**base["tune"], "finished": base.get("finished"), "note": base.get("tune_note", "")})
    return earlier


def draft_record(seconds: float, draft: dict, how: str, facts: dict) -> dict:
    """training.json's top-level "draft": how the draft decoder a folder ships was made (what the card tells)."""
    return {"seconds": seconds, "threads": draft["threads"], "how": how, "finished": facts["finished"]}


def tune_from(
    folder: Path, work: Path, out: Path, cfg: TrainConfig, settings=None, device=None, stages=TUNE_STAGES
) -> dict:
    """The whole tune (resumable in `work`): a model folder in `out` (the draft decoder included). `stages`: only
    some; the language side (text, prior) and the decoder (unet) are independent and can run in two processes
    at once; export needs all three finished."""
    from diffusers import KandinskyV22Pipeline, KandinskyV22PriorPipeline

    from hub import catalog
    from hub.loading import Loader
    from hub.mini.tiny import prior_components, square_image_processor
    from hub.mini.from_folder import draft_from
    from hub.settings import Settings

    settings = (settings or Settings.from_env()).with_(mini_weights=folder)
    weights = Loader(settings).kandinsky(catalog.get("mini"))
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    work.mkdir(parents=True, exist_ok=True)
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    times: dict[str, float] = {}
    done = {s for s in TUNE_STAGES[:-1] if (work / f"tune-{s}.done").exists() or s in stages}
    language = bool(done & {"text", "prior"})  # else a decoder-only tune: the folder's language side is kept
    decoder = "unet" in done  # else a language-only tune: the folder's decoders are kept
    if "export" in stages and (not (language or decoder) or (language and not {"text", "prior"} <= done)):
        from hub.errors import ConfigError

        raise ConfigError(
            "export needs a tune to export: the unet stage (the decoder), text and prior together (the language "
            "side), or all three"
        )
    prior_parts = dict(weights.prior)
    if language:  # the language side: a new tokenizer, text tower and prior
        tok = train_tokenizer(work / "language", cfg)
        fresh = prior_components(tok, replace(ARCH, text_layers=cfg.tune_text_layers), cfg.seed)
        prior_parts.update(tokenizer=tok, text_encoder=fresh["text_encoder"], prior=fresh["prior"])
    decoder_parts = dict(weights.decoder)
    for part in list(prior_parts.values()) + list(decoder_parts.values()):
        if isinstance(part, torch.nn.Module):
            part.float().to(dev)
    vision, movq, unet = prior_parts["image_encoder"], decoder_parts["movq"], decoder_parts["unet"]
    vision.eval().requires_grad_(False)
    movq.eval().requires_grad_(False)

    def timed(name, fn):  # a stage asked for is trained; a finished one is loaded for export
        if name not in stages and not (work / f"tune-{name}.done").exists():
            return
        start = time.perf_counter()
        fn()
        if name in stages and not (work / f"tune-{name}.seconds").exists():
            (work / f"tune-{name}.seconds").write_text(f"{time.perf_counter() - start:.1f}\n")

    if language:
        pairs = embedded_pairs(work, cfg, vision, cfg.tune_pool)
        tok = prior_parts["tokenizer"]
        timed("text", lambda: train_text_tower(work, cfg, tok, prior_parts["text_encoder"], pairs))
        prior_parts["text_encoder"].eval().requires_grad_(False)
        timed(
            "prior",
            lambda: train_prior_on(
                work, cfg, tok, prior_parts["text_encoder"], prior_parts["prior"], prior_parts["scheduler"], pairs
            ),
        )
    zero = zero_image_embed(vision)
    unet_cfg = replace(
        cfg,
        unet_steps=cfg.tune_unet_steps,
        unet_schedule=cfg.tune_unet_schedule,
        unet_pool=cfg.tune_pool,
        unet_lr=cfg.tune_unet_lr,
    )
    timed(
        "unet",
        lambda: train_unet(
            work,
            unet_cfg,
            unet,
            movq,
            vision,
            decoder_parts["scheduler"],
            zero,
            Batches(cfg.seed + 14),
            "tune-unet",
            bucket_weights(cfg.tune_wide_weight),
        ),
    )
    if "export" not in stages:
        return {"tune": {"seconds": {}}}
    for name in sorted(done):
        times[name] = float((work / f"tune-{name}.seconds").read_text())
    out.mkdir(parents=True, exist_ok=True)
    square_image_processor(prior_parts["image_processor"], ARCH.image_size)
    for part in list(prior_parts.values()) + list(decoder_parts.values()):
        if isinstance(part, torch.nn.Module):
            part.cpu().half()
    KandinskyV22PriorPipeline(**prior_parts).save_pretrained(out / "prior", safe_serialization=True)
    KandinskyV22Pipeline(**decoder_parts).save_pretrained(out / "decoder", safe_serialization=True)
    # carried along as they are: mini-text is not tuned; the MoVQ is kept, and so its tiny decoder; the inpainting
    # decoder is a UNet of its own, already taught on every aspect (retrain with --fastvae-from / --inpaint-from to
    # follow a tune); the draft decoder when the decoder is kept (a new decoder gets its draft distilled below)
    for kept in ("text", FAST_VAE, INPAINT_UNET.parent) + (() if decoder else (DRAFT_UNET.parent,)):
        if (folder / kept).is_dir() and not (out / kept).exists():
            shutil.copytree(folder / kept, out / kept)
    draft = None
    if decoder:  # a new decoder: its draft distilled again, the student starting from the new decoder itself
        start = time.perf_counter()
        draft = draft_from(out, work / "draft", replace(cfg, draft_steps=cfg.tune_draft_steps), settings)
        took = work / "tune-draft.seconds"  # its first run's time: a resumed export finds the stage done at once
        if not took.exists():
            took.write_text(f"{time.perf_counter() - start:.1f}\n")
        times["draft"] = float(took.read_text())
    times["total"] = round(sum(times.values()), 1)
    base = {}
    if (folder / "training.json").exists():
        base = json.loads((folder / "training.json").read_text(encoding="utf-8"))
    earlier = earlier_tunes(base)
    carried = ("config", "arch", "seconds", "note", "inpaint", "fastvae") + (() if decoder else ("draft",))
    facts = run_facts(dev)
    meta = {
        **{k: base[k] for k in carried if k in base},
        **({"tunes": earlier} if earlier else {}),
        "tune": {
            "from": base.get("finished"),
            "config": {k: v for k, v in asdict(cfg).items() if k.startswith("tune_") or k == "seed"},
            "seconds": times,
            **({"draft": draft} if draft else {}),
            **({} if language else {"language": "kept"}),
            **({} if decoder else {"decoder": "kept"}),
            **facts,  # where this tune ran; the top level keeps where the base recipe ran
        },
        **(facts | {k: base[k] for k in ("threads", "device", "torch") if k in base}),
    }
    if draft:  # the card's draft section tells how the draft it ships was made (a kept draft carries its own)
        how = (
            f"distilled again from the tuned decoder, starting from it ({cfg.tune_draft_steps} steps of "
            f"{cfg.draft_batch} on {cfg.draft_pool} fresh scenes at every aspect), which it does not change"
        )
        meta["draft"] = draft_record(times["draft"], draft, how, facts)
    (out / "training.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta
