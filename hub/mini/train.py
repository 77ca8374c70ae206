"""`lienzo train-mini`: train the miniature Kandinsky 2.2 on the shapes world, stage by stage.

Stages (each resumable from its checkpoint in the work folder, fixed seed, a progress bar each):
  tokenizer -> clip (contrastive over pictures and captions with drawn hard negatives, plus attribute heads)
  -> prior (text embedding -> image embedding, x0-prediction as Kandinsky's prior)
  -> movq (autoencoder on 32x32 crops of scenes at every aspect; latent statistics folded into its convs)
  -> unet (v-prediction on normalised MoVQ latents in aspect-ratio buckets, conditioned on the CLIP image
     embedding of the same scene drawn square)
  -> draft (the UNet distilled to a few steps with its guidance built in: hub/mini/distil.py)
  -> inpaint (the UNet widened to 9 input channels and taught to fill holes: hub/mini/inpaint.py)
  -> text (mini-text: a tiny GPT that expands "red circle" into a full scene description)
  -> fastvae (a tiny latent decoder distilled from the MoVQ, for drafts and previews: hub/mini/fastvae.py)
  -> export (diffusers/transformers folders: prior/, decoder/, decoder-draft/, decoder-inpaint/, text/, vae-fast/,
     fp16)
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from hub.mini import world
from hub.mini.distil import distil_decoder, save_draft
from hub.mini.fastvae import FOLDER as FASTVAE
from hub.mini.fastvae import fastvae_pool, save_fastvae, train_fastvae
from hub.mini.inpaint import inpaint_pool, save_inpaint, train_inpaint
from hub.mini.minitext import train_text
from hub.mini.stage import (
    BucketPool,
    Stage,
    bucket_share,
    cosine_lr,
    default_workers,
    optimise,
    prefetch,
    save_atomic,
)
from hub.mini.tiny import TinyArch, decoder_components, prior_components

CLIP_MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
CLIP_STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    clip_steps: int = 4000
    clip_batch: int = 128
    prior_steps: int = 2500
    prior_batch: int = 128
    movq_steps: int = 1200
    movq_batch: int = 32
    unet_steps: int = 5000
    unet_batch: int = 64
    text_steps: int = 4000
    lr: float = 1e-3
    unet_lr: float = 5e-4
    unet_pool: int = 40960  # scenes encoded once for the UNet stage (see latent_pool)
    unet_schedule: int = 0  # the learning rate's cosine length in steps (0: unet_steps)
    min_snr: float = 0.0  # 0: no Min-SNR clamp (see train_unet)
    cond_noise: float = 0.8  # the decoder's conditioning noise, at most this fraction of the embedding's norm
    cond_drop: float = 0.1  # classifier-free guidance dropout (prior and decoder)
    aux_weight: float = 1.0  # the CLIP stage's attribute heads (see HEADS)
    shape_weight: float = 3.0  # the shape heads' weight among them: shape is what the tower learns last
    # the draft decoder (hub/mini/distil.py): consistency distillation of the guided UNet
    draft_steps: int = 600
    draft_batch: int = 32
    draft_lr: float = 1e-4
    draft_ema: float = 0.95
    draft_guidance: float = 2.0  # the mini's decoder guidance, built into the student
    draft_huber: float = 0.001
    draft_pool: int = 8192  # scenes for --draft-from (a from-scratch run distils on the UNet stage's pool)
    draft_wide_weight: float = 0.15  # --draft-from: the 80x48 and 48x80 buckets' weight (bucket_weights)
    # the inpainting decoder (hub/mini/inpaint.py): the decoder UNet with 9 input channels, taught to fill holes
    inpaint_steps: int = 1600
    inpaint_batch: int = 32
    inpaint_lr: float = 3e-4
    inpaint_pool: int = 8192  # examples (scene, hole, conditioning) drawn once
    # the tiny latent decoder (hub/mini/fastvae.py): drafts' and previews' decode, distilled from the MoVQ
    fastvae_steps: int = 2000
    fastvae_batch: int = 32
    fastvae_lr: float = 2e-3
    fastvae_pool: int = 4096  # scenes encoded and decoded by the MoVQ once
    # --fastvae-from: continue the folder's own vae-fast/ instead of starting afresh (the bundled one's session-26 600
    # steps at lr 5e-4 and wide weight 0.5)
    fastvae_continue: bool = False
    fastvae_wide_weight: float = 0.15  # the 80x48 and 48x80 buckets' weight in the fastvae stage's draws
    # --tune-from (hub/mini/tune.py): a new language side against the locked image side, the decoder continued
    tune_text_steps: int = 4000
    tune_text_batch: int = 128  # scenes, each with its hard negative
    tune_prior_steps: int = 2500
    tune_text_layers: int = 3  # the new text tower's depth (ARCH's is 2): 3 generalised better to held-out phrasings
    tune_unet_steps: int = 1000
    tune_unet_schedule: int = 1500  # its cosine is 1500 steps long: the bundled tune stopped at 1000 for time
    tune_unet_lr: float = 3e-4
    # the decoder tune's loss on the latents that tell each object's shape from the shape most like it
    # (world.shape_cues: a square's corners against a circle) weighs 1 + this; 0: all latents alike. Measured in
    # session 19, decoder-only tunes of 1000 steps from the bundled mini: at 3 it drew shapes no better than at 0
    # (32 + 32 prompts, 2 images, en: 82.4 against 83.6% at 16:9, 82.4/84.0 at 9:16, 85.9/86.7 at 1:1)
    tune_shape_focus: float = 0.0
    # the decoder tune's 80x48 and 48x80 buckets' weight (train.bucket_weights: 0.15 as the recipe, against the
    # square's 0.25 and 0.05 for each of the other ten); every --ar from 4:3 to 16:9, and their portraits, is one.
    # Session 23's tune ran at 0.35. (What else bounds shape there: the MoVQ itself gives back the shape of 94.7% of
    # objects at 80x48 and 48x80, 97.9% at 64x64, when it encodes and decodes the true scenes; continuing its decoder
    # half 800 steps on whole scenes, encoder locked, halved its loss and left those at 94.1% and 98.0%.)
    tune_wide_weight: float = 0.15
    tune_pool: int = 16384  # embedded scene pairs (text, prior) and the decoder's bucketed pool
    # a tuned decoder's draft, distilled again as the recipe's draft stage: the student starts from the tuned
    # decoder. Session 22: 600 steps from the fourth-tuned decoder drew shape 89.1/87.6% at 1:1 (en/es) where the
    # session-15 draft drew 84.0/83.9 beside it; session 19's 200 steps from the earlier draft drew 68.6/68.5
    tune_draft_steps: int = 600
    checkpoint_every: int = 500

    def scaled(self, factor: float) -> "TrainConfig":
        """The same recipe with every step count and pool multiplied (a smoke run takes a tiny fraction: two steps a
        stage, pools of tens of scenes); batches stay the recipe's."""

        def scale(k, v):
            if k.endswith("_steps") or (k.endswith("_schedule") and v):
                return max(2, int(v * factor))
            return max(64, int(v * factor)) if k.endswith("_pool") else v

        return TrainConfig(**{k: scale(k, v) for k, v in asdict(self).items()})


ARCH = TinyArch(
    width=64, max_length=32, prior_layers=4, vision_layers=3, vision_width=128, unet_channels=(64, 128, 128)
)


# --- data ---------------------------------------------------------------------------------------
# The decoder's aspect-ratio buckets (as SDXL trains): each batch is one bucket's size, drawn with these weights.
# 80x48 and 48x80 are what --ar 4:3, 3:2, 5:3 and 16:9 (and their portraits) all give, so they get more.
def bucket_weights(wide: float = 0.15) -> dict[tuple[int, int], float]:
    """`wide`: the 80x48 and 48x80 buckets' weight before normalising (square 0.25, the rest 0.05 each)."""
    raw = {
        b: 0.25 if b == (world.SIZE, world.SIZE) else wide if b in ((80, 48), (48, 80)) else 0.05 for b in world.BUCKETS
    }
    total = sum(raw.values())
    return {b: w / total for b, w in raw.items()}


class Batches:
    """Endless seeded batches of scenes, rendered on the fly (no dataset on disk, nothing to overfit)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def scenes(self, n: int, size: tuple[int, int] = (world.SIZE, world.SIZE)) -> list[world.Scene]:
        return [world.sample_scene(self.rng, size=size) for _ in range(n)]

    def captions(self, scenes) -> list[str]:
        """As people write them (world.phrase): synonyms, word order, either object first; never a held-out one."""
        return [world.phrase(s, "en" if self.rng.random() < 0.5 else "es", self.rng) for s in scenes]

    def hard_negative(self, scene: world.Scene) -> tuple[world.Scene, world.Scene]:
        """(scene, negative): a picture and caption that differ from `scene` in one attribute only.

        The negative is drawn as well as captioned, so it is a hard negative on both sides of the contrastive
        loss. Where the attribute is optional in captions (position, size), the scene is made to say it too.
        """
        rng = self.rng
        if scene.relation:
            a, b = scene.objects
            kind = rng.choice(("places", "colours", "shape", "colour"))
            if kind == "places":
                return scene, world.swap_places(scene)
            if kind == "colours":
                return scene, world.swap_colours(scene)
            i, o = rng.choice(((0, a), (1, b)))
            if kind == "shape":
                o = replace(o, shape=rng.choice([x for x in world.SHAPES if x != o.shape]))
            else:
                o = replace(
                    o, colour=rng.choice([c for c in world.COLOURS if c not in (a.colour, b.colour, scene.background)])
                )
            return scene, replace(scene, objects=(o, b) if i == 0 else (a, o))
        o = scene.objects[0]
        kind = rng.choice(("colour", "shape", "position", "size"))
        if kind == "colour":
            return scene, replace(
                scene,
                objects=(
                    replace(o, colour=rng.choice([c for c in world.COLOURS if c not in (o.colour, scene.background)])),
                ),
            )
        if kind == "shape":
            return scene, replace(
                scene, objects=(replace(o, shape=rng.choice([x for x in world.SHAPES if x != o.shape])),)
            )
        if kind == "position":
            scene = replace(scene, show_position=True)
            return scene, world.move_to(scene, rng.choice([p for p in world.POSITIONS if p != o.position]), rng)
        scene = replace(scene, show_size=True)
        return scene, replace(scene, objects=(replace(o, size="large" if o.size == "small" else "small"),))


# What the image embedding must carry for the decoder to draw a caption. The world is known, so the CLIP
# stage also trains linear heads that read these back from the image embedding (dropped at export): the
# contrastive loss alone left shape and position barely readable (linear probes at 44% and 56%), and the
# decoder cannot draw what its conditioning does not hold. Only what a picture shows is asked for: of two
# objects, "the first one named" is not in the picture, so they are read as top/left (a) and bottom/right (b).
# A lone object and the top/left one of two get heads of their own: sharing one "shape" head asked the tower to
# report a lone shape wherever it stands but to ignore the bottom/right one of two, and the top/left shape of
# two objects stayed at 67% (circle/square and star/triangle swapped) while the bottom/right one reached 93%.
HEADS = {
    "background": world.BACKGROUNDS,
    "colour": tuple(world.COLOURS),
    "shape": world.SHAPES,
    "position": tuple(world.POSITIONS),
    "size": tuple(world.SIZES),
    "colour_a": tuple(world.COLOURS),
    "shape_a": world.SHAPES,
    "colour_b": tuple(world.COLOURS),
    "shape_b": world.SHAPES,
    "axis": ("vertical", "horizontal"),
}


def attribute_labels(scenes) -> dict[str, torch.Tensor]:
    """Per head, the class index of each scene (-100 where the scene does not have that attribute)."""
    rows = []
    for s in scenes:
        if len(s.objects) == 1:
            o = s.objects[0]
            rows.append(
                {
                    "background": s.background,
                    "colour": o.colour,
                    "shape": o.shape,
                    "position": o.position,
                    "size": o.size,
                }
            )
            continue
        a, b = s.objects if s.relation in ("above", "left of") else s.objects[::-1]  # a: the top or left one
        rows.append(
            {
                "background": s.background,
                "colour_a": a.colour,
                "shape_a": a.shape,
                "colour_b": b.colour,
                "shape_b": b.shape,
                "axis": "vertical" if s.relation in ("above", "below") else "horizontal",
            }
        )
    return {
        h: torch.tensor([classes.index(r[h]) if r.get(h) is not None else -100 for r in rows])
        for h, classes in HEADS.items()
    }


class AttributeHeads(torch.nn.Module):
    def __init__(self, width: int, shape_weight: float = 1.0):
        super().__init__()
        self.weights = {h: shape_weight if h.startswith("shape") else 1.0 for h in HEADS}
        self.linear = torch.nn.Linear(width, sum(len(c) for c in HEADS.values()))
        self.logit_scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.07)))  # CLIP's temperature

    def loss(self, embeds: torch.Tensor, labels: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = self.linear(embeds).split([len(c) for c in HEADS.values()], dim=1)
        used = [(lg, h) for lg, h in zip(logits, HEADS) if (labels[h] != -100).any()]  # a batch of lone
        # objects has nothing for the two-object heads
        total = sum(self.weights[h] * F.cross_entropy(lg, labels[h], ignore_index=-100) for lg, h in used)
        return total / sum(self.weights[h] for _, h in used)


def pixels(scenes, square: bool = False, device="cpu") -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1]: the scenes at their own size (one size a batch), or all drawn square."""
    arr = np.stack([np.asarray(world.render(s.square() if square else s)) for s in scenes])
    return (torch.from_numpy(arr).to(device).permute(0, 3, 1, 2).float() / 127.5 - 1).contiguous()


def clip_pixels(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] images -> what CLIPImageProcessor gives the vision tower (64 px, CLIP mean/std)."""
    return ((x + 1) / 2 - CLIP_MEAN.to(x.device)) / CLIP_STD.to(x.device)


def _device(module) -> torch.device:
    return next(module.parameters()).device


# --- stages -------------------------------------------------------------------------------------
def step_batches(cfg: TrainConfig, stage: str, step: int) -> Batches:
    """The scenes of one step of a stage: their own seed, so any process can draw them, in any order."""
    return Batches(stage_seed(cfg.seed, stage) * 1_000_003 + step)


_TOKENIZERS: dict = {}


def _tokens(tok_dir: str, texts: list[str]):
    if tok_dir not in _TOKENIZERS:  # each data worker loads the tokenizer once
        from hub.mini.tokenizer import load_clip_bpe

        _TOKENIZERS[tok_dir] = load_clip_bpe(Path(tok_dir), max_length=ARCH.max_length)
    enc = _TOKENIZERS[tok_dir](texts, padding="max_length", max_length=ARCH.max_length, truncation=True)
    return torch.tensor(enc["input_ids"]), torch.tensor(enc["attention_mask"])


def _scene_pixels(scenes) -> torch.Tensor:
    """(B, H, W, 3) uint8, cheap to send from a data worker."""
    return torch.from_numpy(np.stack([np.asarray(world.render(s)) for s in scenes]))


def _as_input(raw: torch.Tensor, device) -> torch.Tensor:
    return (raw.to(device).permute(0, 3, 1, 2).float() / 127.5 - 1).contiguous()


def clip_batch(cfg: TrainConfig, tok_dir: str, step: int) -> dict:
    """One CLIP step's data: scenes and their drawn hard negatives, captions as people write them, attributes."""
    batches = step_batches(cfg, "clip", step)
    scenes, negatives = zip(*(batches.hard_negative(s) for s in batches.scenes(cfg.clip_batch)))
    both = list(scenes) + list(negatives)
    ids, mask = _tokens(tok_dir, batches.captions(both))
    return {"ids": ids, "mask": mask, "pixels": _scene_pixels(both), "labels": attribute_labels(both)}


def prior_batch(cfg: TrainConfig, tok_dir: str, step: int) -> dict:
    batches = step_batches(cfg, "prior", step)
    scenes = batches.scenes(cfg.prior_batch)
    texts = [c if batches.rng.random() > cfg.cond_drop else "" for c in batches.captions(scenes)]
    ids, mask = _tokens(tok_dir, texts)
    return {"ids": ids, "mask": mask, "pixels": _scene_pixels(scenes)}


def train_clip(work, cfg, comps, workers=0):
    text, vision = comps["text_encoder"], comps["image_encoder"]
    dev = _device(text)
    heads = AttributeHeads(ARCH.width, cfg.shape_weight).to(dev)
    params = list(text.parameters()) + list(vision.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    stage = Stage(
        work, "clip", {"text": text, "vision": vision, "heads": heads}, opt, cfg.clip_steps, cfg.checkpoint_every
    )
    if stage.finished:
        return
    text.train(), vision.train()
    data = prefetch(partial(clip_batch, cfg, str(work / "tokenizer")), stage.step, cfg.clip_steps, workers)
    for step, batch in zip(stage.loop(), data):
        cosine_lr(opt, step, cfg.clip_steps, cfg.lr)
        ids, mask = batch["ids"].to(dev), batch["mask"].to(dev)
        t = F.normalize(text(input_ids=ids, attention_mask=mask).text_embeds, dim=-1)
        raw = vision(pixel_values=clip_pixels(_as_input(batch["pixels"], dev))).image_embeds
        v = F.normalize(raw, dim=-1)
        logits = heads.logit_scale.exp().clamp(max=100) * v @ t.T  # (2B, 2B): pictures and captions, negatives too
        labels = torch.arange(len(ids), device=dev)
        contrastive = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        aux = heads.loss(raw, {k: v.to(dev) for k, v in batch["labels"].items()})
        loss = contrastive + cfg.aux_weight * aux
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            tqdm.write(f"clip {step}: contrastive {contrastive.item():.3f} attributes {aux.item():.3f}")
    text.eval(), vision.eval()


@torch.no_grad()
def image_embeds(vision, x: torch.Tensor) -> torch.Tensor:
    return vision(pixel_values=clip_pixels(x)).image_embeds


@torch.no_grad()
def zero_image_embed(vision) -> torch.Tensor:
    """The vision tower's embedding of an all-zero input: the decoder's unconditional embedding."""
    side = vision.config.image_size
    return vision(pixel_values=torch.zeros(1, 3, side, side, device=_device(vision))).image_embeds[0]


def train_prior(work, cfg, comps, batches, workers=0):
    prior, text, vision, sched = comps["prior"], comps["text_encoder"], comps["image_encoder"], comps["scheduler"]
    dev = _device(prior)
    opt = torch.optim.AdamW(prior.parameters(), lr=cfg.lr, weight_decay=0.0)
    stage = Stage(work, "prior", {"prior": prior}, opt, cfg.prior_steps, cfg.checkpoint_every)
    if stage.finished:
        return
    if stage.step == 0:  # clip_mean/clip_std from data: the prior works on standardised embeddings
        embs = torch.cat([image_embeds(vision, pixels(batches.scenes(256), device=dev)) for _ in range(8)])
        prior.clip_mean.data.copy_(embs.mean(0, keepdim=True))
        prior.clip_std.data.copy_(embs.std(0, keepdim=True).clamp(min=1e-4))
    alphas = sched.alphas_cumprod.to(dev)
    prior.train()
    data = prefetch(partial(prior_batch, cfg, str(work / "tokenizer")), stage.step, cfg.prior_steps, workers)
    for step, batch in zip(stage.loop(), data):
        cosine_lr(opt, step, cfg.prior_steps, cfg.lr)
        ids, mask = batch["ids"].to(dev), batch["mask"].to(dev)
        with torch.no_grad():
            out = text(ids)
            x0 = (image_embeds(vision, _as_input(batch["pixels"], dev)) - prior.clip_mean) / prior.clip_std
        t = torch.randint(0, len(alphas), (len(ids),)).to(dev)
        noise = torch.randn(x0.shape).to(dev)
        loss = prior_step(prior, opt, alphas, x0, out, mask, t, noise)
        if step % 200 == 0:
            tqdm.write(f"prior {step}: loss {loss.item():.4f}")
    prior.eval()


def prior_step(prior, opt, alphas, x0, text_out, mask, t, noise) -> torch.Tensor:
    """One step of the prior's x0-prediction on standardised image embeddings `x0`, as Kandinsky's prior."""
    a = alphas[t].unsqueeze(1)
    xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
    pred = prior(
        xt,
        timestep=t,
        proj_embedding=text_out.text_embeds,
        encoder_hidden_states=text_out.last_hidden_state,
        attention_mask=mask.bool(),
    ).predicted_image_embedding
    loss = F.mse_loss(pred, x0)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(prior.parameters(), 1.0)
    opt.step()
    return loss


def train_movq(work, cfg, movq, batches):
    opt = torch.optim.AdamW(movq.parameters(), lr=cfg.lr)
    stage = Stage(work, "movq", {"movq": movq}, opt, cfg.movq_steps, cfg.checkpoint_every)
    if stage.finished:
        return
    dev = _device(movq)
    buckets = list(world.BUCKETS)
    movq.train()
    for step in stage.loop():
        cosine_lr(opt, step, cfg.movq_steps, cfg.lr)
        width, height = random.choice(buckets)  # scenes at every aspect, 32x32 crops on the latent grid
        x = pixels(batches.scenes(cfg.movq_batch, (width, height)), device=dev)
        i, j = random.randrange(0, height - 31, 4), random.randrange(0, width - 31, 4)
        x = x[:, :, i : i + 32, j : j + 32]
        h = movq.encode(x).latents
        rec = movq.decode(h, force_not_quantize=True).sample
        loss = F.l1_loss(rec, x) + F.mse_loss(rec, x) + 1e-4 * h.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 200 == 0:
            tqdm.write(f"movq {step}: loss {loss.item():.4f}")
    movq.eval()


@torch.no_grad()
def fold_latent_stats(movq, batches) -> None:
    """Make the MoVQ's latents zero-mean, unit-variance per channel, exactly, by rescaling its convs.

    The decoder pipeline calls decode(latents, force_not_quantize=True) with no scaling factor, and the
    spatial norms read the latents directly, so quant_conv, post_quant_conv and every SpatialNorm's
    conv_y/conv_b are rewritten for z = (h - mean) / std.
    """
    from diffusers.models.attention_processor import SpatialNorm

    h = torch.cat([movq.encode(pixels(batches.scenes(64), device=_device(movq))).latents for _ in range(4)])
    mean, std = h.mean((0, 2, 3)), h.std((0, 2, 3)).clamp(min=1e-4)
    qc = movq.quant_conv
    qc.weight.div_(std.view(-1, 1, 1, 1))
    qc.bias.sub_(mean).div_(std)

    def feed_z(conv):  # conv(h) == conv'(z) with h = z * std + mean
        conv.bias.add_((conv.weight.sum((2, 3)) * mean.view(1, -1)).sum(1))
        conv.weight.mul_(std.view(1, -1, 1, 1))

    feed_z(movq.post_quant_conv)
    for m in movq.decoder.modules():
        if isinstance(m, SpatialNorm):
            feed_z(m.conv_y)
            feed_z(m.conv_b)


def _cue_grid(scenes, grid) -> torch.Tensor:
    """(B, 1, *grid) uint8: 1 on each latent that holds a pixel of the scene's shape cues (world.shape_cues)."""
    where = torch.from_numpy(np.stack([world.shape_cues(s) for s in scenes])).float().unsqueeze(1)
    return F.adaptive_max_pool2d(where, tuple(grid)).to(torch.uint8)


def latent_pool(
    work, cfg, movq, vision, batches, scenes=None, name="unet-pool", dtype=torch.float32, cues=False, weights=None
) -> dict:
    """A fixed pool of scenes per aspect-ratio bucket, as (MoVQ latents of the scene at the bucket's size, CLIP
    image embedding of the same scene drawn square), computed once and kept in `work`; with `cues`, a third
    tensor: where the latents hold the pixels that tell each object's shape (world.shape_cues, max-pooled to the
    latent grid, uint8).

    Encoding every batch afresh cost more than the UNet step itself (0.30 s of MoVQ for 64 images against
    0.23 s for the small UNet's step); with the pool each scene is encoded once and seen ~8 times. The embedding
    is the square picture's because that is what the prior learns to give for a caption, which names no aspect.
    """
    name = f"{name}-cues" if cues else name  # a pool kept without them is not one with them
    keys = ("latents", "embeds", "cues") if cues else ("latents", "embeds")
    path = work / f"{name}.pt"
    if path.exists():
        saved = torch.load(path)
        return {tuple(map(int, k.split("x"))): tuple(v[key] for key in keys) for k, v in saved.items()}
    total = scenes or cfg.unet_pool
    dev = _device(movq)
    pools = {}
    with torch.no_grad():
        buckets = (weights or bucket_weights()).items()
        for (width, height), weight in tqdm(buckets, desc=name.replace("-", " "), unit="bucket"):
            n = bucket_share(total, weight, 64)
            latents, embeds, marks = [], [], []
            for start in range(0, n, 256):  # no more scenes drawn than kept: a small pool stays cheap
                batch = batches.scenes(min(256, n - start), (width, height))
                z = movq.encode(pixels(batch, device=dev)).latents
                latents.append(z.to(dtype).cpu())
                embeds.append(image_embeds(vision, pixels(batch, square=True, device=dev)).cpu())
                if cues:
                    marks.append(_cue_grid(batch, z.shape[-2:]))
            kept = (latents, embeds, marks)[: len(keys)]
            pools[(width, height)] = tuple(torch.cat(parts)[:n] for parts in kept)
    saved = {f"{w}x{h}": dict(zip(keys, kept)) for (w, h), kept in pools.items()}
    save_atomic(saved, path)
    return pools


def draft_from(folder: Path, work: Path, cfg: TrainConfig, settings=None, init=None) -> dict:
    """The draft stage alone on a model trained earlier (`lienzo train-mini --draft-from FOLDER`): its decoder
    distilled on `cfg.draft_pool` fresh scenes (seed + 2, latents kept in fp16), written to FOLDER/decoder-draft.
    The folder is loaded the way Lienzo runs it (hub.loading), on this machine's device."""
    from hub import catalog
    from hub.loading import Loader
    from hub.settings import Settings

    settings = (settings or Settings.from_env()).with_(mini_weights=folder)
    weights = Loader(settings).kandinsky(catalog.get("mini"))
    teacher, sched, movq = (weights.decoder[k] for k in ("unet", "scheduler", "movq"))
    vision = weights.prior["image_encoder"]
    dev = _device(teacher)
    for m in (teacher, movq, vision):
        m.float().eval().to(dev)
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    zero = zero_image_embed(vision)
    pools = latent_pool(work, cfg, movq, vision, Batches(cfg.seed + 2), cfg.draft_pool, "draft-pool", torch.float16)
    start = time.perf_counter()
    weights = bucket_weights(cfg.draft_wide_weight)
    student = distil_decoder(work, cfg, teacher, sched, BucketPool(pools, weights, dev), zero, init)
    took = round(time.perf_counter() - start, 1)
    save_draft(student.cpu(), sched.config, folder / "decoder-draft")
    return {
        "draft_seconds": took,
        "steps": cfg.draft_steps,
        "batch": cfg.draft_batch,
        "wide_weight": cfg.draft_wide_weight,
        "threads": torch.get_num_threads(),
    }


def fastvae_from(folder: Path, work: Path, cfg: TrainConfig, settings=None) -> dict:
    """The fastvae stage alone on a model trained earlier (`lienzo train-mini --fastvae-from FOLDER`): a tiny
    latent decoder distilled from FOLDER's MoVQ on `cfg.fastvae_pool` fresh scenes (seed + 4), written to
    FOLDER/vae-fast. Loaded the way Lienzo runs it (hub.loading)."""
    from hub import catalog
    from hub.loading import Loader
    from hub.settings import Settings

    settings = (settings or Settings.from_env()).with_(mini_weights=folder)
    loaded = Loader(settings).kandinsky(catalog.get("mini"))
    movq = loaded.decoder["movq"]
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    movq.float().eval().to(dev)
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed + 4)
    random.seed(cfg.seed + 4)
    start = time.perf_counter()
    init = None
    if cfg.fastvae_continue:
        if loaded.fast_vae is None:
            from hub.errors import ConfigError

            raise ConfigError(f"--set fastvae_continue=true: the folder has no {FASTVAE}/ to continue; leave it out")
        init = loaded.fast_vae.float()  # loaded the way Lienzo runs it (hub.loading)
    pools = fastvae_pool(work, movq, Batches(cfg.seed + 4), cfg.fastvae_pool, bucket_weights(), pixels)
    vae = train_fastvae(work, cfg, pools, bucket_weights(cfg.fastvae_wide_weight), dev, init)
    took = round(time.perf_counter() - start, 1)
    save_fastvae(vae.cpu(), folder / FASTVAE)
    return {
        "fastvae_seconds": took,
        "steps": cfg.fastvae_steps,
        "batch": cfg.fastvae_batch,
        "pool": cfg.fastvae_pool,
        "wide_weight": cfg.fastvae_wide_weight,
        "continued": cfg.fastvae_continue,
        "threads": torch.get_num_threads(),
    }


def inpaint_from(folder: Path, work: Path, cfg, settings=None) -> dict:
    """The inpaint stage alone on a model trained earlier: FOLDER's decoder taught to inpaint on `cfg.inpaint_pool`
    fresh examples, written to FOLDER/decoder-inpaint. Loaded the way Lienzo runs it (hub.loading)."""
    from hub import catalog
    from hub.loading import Loader
    from hub.settings import Settings

    settings = (settings or Settings.from_env()).with_(mini_weights=folder)
    weights = Loader(settings).kandinsky(catalog.get("mini"))
    decoder, sched, movq = (weights.decoder[k] for k in ("unet", "scheduler", "movq"))
    vision = weights.prior["image_encoder"]
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for m in (decoder, movq, vision):
        m.float().eval().to(dev)
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed + 3)
    zero = zero_image_embed(vision)
    start = time.perf_counter()
    pools = inpaint_pool(work, movq, partial(image_embeds, vision), cfg.seed + 3, cfg.inpaint_pool, bucket_weights())
    unet = train_inpaint(work, cfg, decoder, sched, pools, bucket_weights(), zero)
    took = round(time.perf_counter() - start, 1)
    save_inpaint(unet.cpu(), folder / "decoder-inpaint")
    return {
        "inpaint_seconds": took,
        "steps": cfg.inpaint_steps,
        "batch": cfg.inpaint_batch,
        "pool": cfg.inpaint_pool,
        "threads": torch.get_num_threads(),
    }


def train_unet(work, cfg, unet, movq, vision, sched, zero_embed, batches, name="unet", weights=None):
    """`weights`: the aspect buckets' (train.bucket_weights() when None), for the pool's sizes and the draws."""
    from diffusers.training_utils import EMAModel

    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.unet_lr, weight_decay=0.01)
    ema = EMAModel(unet.parameters(), decay=0.999)
    stage = Stage(
        work, name, {"unet": unet}, opt, cfg.unet_steps, cfg.checkpoint_every, extra=lambda: {"ema": ema.state_dict()}
    )
    if "ema" in stage.state:
        ema.load_state_dict(stage.state["ema"])
    if stage.finished:
        ema.copy_to(unet.parameters())
        return
    dev = _device(unet)
    focus = cfg.tune_shape_focus  # a from-scratch recipe has none; a tune may (see TrainConfig)
    weights = weights or bucket_weights()
    pool = BucketPool(latent_pool(work, cfg, movq, vision, batches, cues=focus > 0, weights=weights), weights, dev)
    alphas = sched.alphas_cumprod.to(dev)
    v_pred = sched.config.prediction_type == "v_prediction"  # see tiny.decoder_components
    # The noise-prediction loss's weighting over timesteps, written for v. Min-SNR (Hang et al. 2023,
    # `min_snr` > 0) takes weight off the near-clean steps; here those steps draw the corners that tell a
    # square from a circle and a star from a triangle: continuing the decoder 1500 steps without the clamp
    # lifted shape on true embeddings from 76% to 83%, with it only to 80%.
    snr = alphas / (1 - alphas)  # on the device, as alphas
    weight = (snr.clamp(max=cfg.min_snr) if cfg.min_snr else snr) / (snr + 1 if v_pred else snr)
    unet.train()
    for step in stage.loop():
        cosine_lr(opt, step, cfg.unet_schedule or cfg.unet_steps, cfg.unet_lr)
        z0, emb, *cues = pool.draw(cfg.unet_batch)  # one aspect-ratio bucket a batch
        n = len(z0)
        # The decoder meets the prior's embeddings, not the pictures' own: noise of a random strength (up to
        # cond_noise of the embedding's norm) teaches it to draw from an embedding that is only near a true one.
        # Continuing the decoder so lifted shape through the whole pipeline from 76% to 79%.
        strength = cfg.cond_noise * torch.rand(n, 1)
        cond_noise = torch.randn(emb.shape)
        drop = torch.rand(n) < cfg.cond_drop
        t = torch.randint(0, len(alphas), (n,))
        noise = torch.randn(z0.shape)  # every draw on the CPU generator: the same numbers on any device
        strength, cond_noise, drop, t, noise = (x.to(dev) for x in (strength, cond_noise, drop, t, noise))
        emb = emb + strength * emb.norm(dim=1, keepdim=True) / emb.shape[1] ** 0.5 * cond_noise
        emb[drop] = zero_embed  # the decoder's unconditional embedding is exactly the zero-image one
        a = alphas[t].view(-1, 1, 1, 1)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        pred = unet(zt, t, encoder_hidden_states=None, added_cond_kwargs={"image_embeds": emb}).sample
        target = a.sqrt() * noise - (1 - a).sqrt() * z0 if v_pred else noise
        err = (pred[:, : z0.shape[1]] - target).pow(2)  # only the first half: variance is unused
        if focus:  # the latents that tell a shape weigh 1 + focus (see TrainConfig.tune_shape_focus)
            err = err * (1 + focus * cues[0].float())
        err = err.mean((1, 2, 3))
        loss = (weight[t] * err).mean()
        optimise(opt, unet, loss, ema)
        if step % 200 == 0:
            tqdm.write(f"unet {step}: loss {loss.item():.4f}")
    ema.copy_to(unet.parameters())
    unet.eval()


# --- the whole run ------------------------------------------------------------------------------
def _same_recipe(work: Path, cfg: TrainConfig) -> None:
    """A work folder resumes only the recipe it started with: a finished 2-step smoke stage must not pass for a
    trained one. The recipe is written on the first run and checked on every later one."""
    from hub.errors import ConfigError

    recipe = json.loads(json.dumps({"config": asdict(cfg), "arch": asdict(ARCH)}))  # tuples as JSON reads them back
    path = work / "recipe.json"
    if not path.exists():
        path.write_text(json.dumps(recipe, indent=2) + "\n")
        return
    before = json.loads(path.read_text())
    changed = sorted(
        f"{part}.{k}: {before.get(part, {}).get(k)} -> {v}"
        for part, values in recipe.items()
        for k, v in values.items()
        if before.get(part, {}).get(k) != v
    )
    if changed:
        raise ConfigError(
            f"the work folder {str(work)!r} holds a run of another recipe ({'; '.join(changed)}); "
            "give a new --work folder, or delete this one to start over"
        )


# fastvae comes last (stage_seed reads a stage's place here: the earlier stages keep the seeds they trained with)
STAGES = ("tokenizer", "clip", "prior", "movq", "unet", "draft", "inpaint", "text", "fastvae", "export")
NEEDS = {
    "prior": ("clip",),
    "unet": ("clip", "movq"),
    "draft": ("unet",),
    "inpaint": ("unet",),
    "fastvae": ("movq",),
    "export": STAGES[1:-1],
}


def stage_seed(seed: int, stage: str) -> int:
    """Each stage's own seed, so a stage draws the same scenes and noise whether the stages run one after another
    (the CPU recipe) or side by side in separate processes (`--stages`, on a machine with many cores)."""
    return seed * 1000 + STAGES.index(stage) + 1


def _fresh(stage: str, cfg: TrainConfig) -> Batches:
    random.seed(stage_seed(cfg.seed, stage))
    torch.manual_seed(stage_seed(cfg.seed, stage))
    return Batches(stage_seed(cfg.seed, stage))


def train(
    out_dir: Path,
    work: Path,
    cfg: TrainConfig = TrainConfig(),
    threads: int | None = None,
    device: str | None = None,
    stages: tuple[str, ...] = STAGES,
) -> dict:
    """The stages named (all by default: the whole recipe), each resumable, on `device` (default: a CUDA GPU when
    there is one, else the CPU). A stage needs the ones it builds on finished first (NEEDS); independent ones
    (clip, movq and text; then prior beside unet) can run at once in separate processes on the same work folder.
    """
    from diffusers import KandinskyV22Pipeline, KandinskyV22PriorPipeline

    from hub.errors import ConfigError

    if threads:
        torch.set_num_threads(threads)
    work.mkdir(parents=True, exist_ok=True)
    _same_recipe(work, cfg)
    for name in stages:
        missing = [n for n in NEEDS.get(name, ()) if n not in stages[: stages.index(name)] and not _finished(work, n)]
        if missing:
            raise ConfigError(f"stage {name!r} needs {', '.join(missing)} finished first (run those stages before it)")
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    tok = train_tokenizer(work, cfg)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    prior_parts = prior_components(tok, ARCH, cfg.seed)
    decoder_parts = decoder_components(ARCH, cfg.seed)
    for part in list(prior_parts.values()) + list(decoder_parts.values()):
        if isinstance(part, torch.nn.Module):
            part.to(dev)
    movq, vision, sched = decoder_parts["movq"], prior_parts["image_encoder"], decoder_parts["scheduler"]
    wanted = set(stages)

    def run(name: str, fn):  # train a wanted stage; only load a finished one that a later wanted stage reads
        if name not in wanted and not _finished(work, name):
            return None
        start = time.perf_counter()
        out = fn(_fresh(name, cfg))
        if name in wanted and not (work / f"{name}.seconds").exists():
            (work / f"{name}.seconds").write_text(f"{time.perf_counter() - start:.1f}\n")
        return out

    def movq_stage(batches):
        train_movq(work, cfg, movq, batches)
        if not (work / "movq-folded.pt").exists():
            fold_latent_stats(movq, Batches(cfg.seed + 1))
            torch.save(movq.state_dict(), work / "movq-folded.pt")
        movq.load_state_dict(torch.load(work / "movq-folded.pt", map_location="cpu"))

    workers = default_workers(dev)
    run("clip", lambda b: train_clip(work, cfg, prior_parts, workers))
    run("prior", lambda b: train_prior(work, cfg, prior_parts, b, workers))
    run("movq", movq_stage)
    zero = zero_image_embed(vision)
    run("unet", lambda b: train_unet(work, cfg, decoder_parts["unet"], movq, vision, sched, zero, b))
    pool = lambda: BucketPool(  # noqa: E731  the UNet stage's scenes (kept in the work folder)
        latent_pool(work, cfg, movq, vision, Batches(stage_seed(cfg.seed, "unet"))), bucket_weights(), dev
    )
    draft = run("draft", lambda b: distil_decoder(work, cfg, decoder_parts["unet"], sched, pool(), zero))

    def inpaint_stage(batches):
        embed = partial(image_embeds, vision)
        pools = inpaint_pool(work, movq, embed, stage_seed(cfg.seed, "inpaint"), cfg.inpaint_pool, bucket_weights())
        return train_inpaint(work, cfg, decoder_parts["unet"], sched, pools, bucket_weights(), zero)

    inpaint = run("inpaint", inpaint_stage)
    fastvae = run(
        "fastvae",
        lambda b: train_fastvae(
            work,
            cfg,
            fastvae_pool(work, movq, b, cfg.fastvae_pool, bucket_weights(), pixels),
            bucket_weights(cfg.fastvae_wide_weight),
            dev,
        ),
    )
    if "text" in wanted:
        out_dir.mkdir(parents=True, exist_ok=True)
        run("text", lambda b: train_text(work, cfg, out_dir, b, dev))
    if "export" not in wanted:
        return {"stages": [s for s in STAGES if _finished(work, s)]}

    out_dir.mkdir(parents=True, exist_ok=True)
    if "text" not in wanted:  # trained in another process: its folder is written from the checkpoint
        train_text(work, cfg, out_dir, None, dev)
    for part in list(prior_parts.values()) + list(decoder_parts.values()):
        if isinstance(part, torch.nn.Module):
            part.cpu().half()  # stored fp16 (loaded back as fp32 on CPU: fp16 on a CPU is ~13x slower)
    KandinskyV22PriorPipeline(**prior_parts).save_pretrained(out_dir / "prior", safe_serialization=True)
    KandinskyV22Pipeline(**decoder_parts).save_pretrained(out_dir / "decoder", safe_serialization=True)
    save_draft(draft.cpu(), sched.config, out_dir / "decoder-draft")
    save_inpaint(inpaint.cpu(), out_dir / "decoder-inpaint")
    save_fastvae(fastvae.cpu(), out_dir / FASTVAE)
    times = {s: float((work / f"{s}.seconds").read_text()) for s in STAGES if (work / f"{s}.seconds").exists()}
    times["total"] = round(sum(times.values()), 1)
    meta = {"config": asdict(cfg), "arch": asdict(ARCH), "seconds": times, **run_facts(dev)}
    (out_dir / "training.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def train_tokenizer(work: Path, cfg: TrainConfig):
    """The CLIP BPE on canonical and varied captions (or, resuming, the one trained before: its ids were learnt)."""
    from hub.mini.tokenizer import load_clip_bpe, train_clip_bpe

    if (work / "tokenizer" / "vocab.json").exists():
        return load_clip_bpe(work / "tokenizer", max_length=ARCH.max_length)
    corpus_rng = random.Random(cfg.seed)
    scenes = [world.sample_scene(corpus_rng) for _ in range(4000)]
    corpus = [s.caption(lang) for s in scenes for lang in ("en", "es")]
    corpus += [world.phrase(s, lang, corpus_rng) for s in scenes for lang in ("en", "es") for _ in range(2)]
    corpus += ["0 1 2 3 4 5 6 7 8 9 . , ! ? : ; - ' \" ( )"] * 20
    return train_clip_bpe(corpus, work / "tokenizer", vocab_size=ARCH.vocab_size, max_length=ARCH.max_length)


def run_facts(dev: torch.device) -> dict:
    """Where and when a training ran, for training.json."""
    return {
        "threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        "torch": torch.__version__,
    }


def _finished(work: Path, stage: str) -> bool:
    if stage == "tokenizer":
        return (work / "tokenizer" / "vocab.json").exists()
    if stage == "movq":
        return (work / "movq-folded.pt").exists()
    return (work / f"{stage}.done").exists()
