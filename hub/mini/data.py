"""The mini's training data, drawn on the fly from the shapes world: scenes and their hard negatives, captions as
people write them, the attributes the CLIP stage reads back, pixels, tokens, each stage's batches, and the decoder's
pool of latents per aspect-ratio bucket (no dataset on disk)."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from hub.mini import world
from hub.mini.recipe import ARCH, TrainConfig, bucket_weights, stage_seed
from hub.mini.stage import bucket_share, save_atomic


CLIP_MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
CLIP_STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)


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


@torch.no_grad()
def image_embeds(vision, x: torch.Tensor) -> torch.Tensor:
    return vision(pixel_values=clip_pixels(x)).image_embeds


@torch.no_grad()
def zero_image_embed(vision) -> torch.Tensor:
    """The vision tower's embedding of an all-zero input: the decoder's unconditional embedding."""
    side = vision.config.image_size
    return vision(pixel_values=torch.zeros(1, 3, side, side, device=_device(vision))).image_embeds[0]


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
