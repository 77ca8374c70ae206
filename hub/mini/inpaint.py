"""The mini's inpainting decoder (`train-mini` stage "inpaint", or `lienzo train-mini --inpaint-from FOLDER`).

diffusers' `KandinskyV22InpaintPipeline` feeds its UNet 9 channels: the noisy latents (4), the MoVQ latents of the
image with the repainted area zeroed (4) and the keep mask (1: 1 = keep, 0 = repaint, the user's white area
inverted, brought to the latent grid by nearest sampling and then grown by one latent pixel by its
`prepare_mask`). This stage builds that UNet from the trained decoder's (the first 4 input channels its weights,
the other 5 starting at zero, so step 0 draws as the decoder does) and teaches it, on shapes-world scenes at every
aspect, to fill a hole from its surroundings and the embedding:

- "object": a box or an ellipse around one object; the embedding is mostly that object's alone (drawn square on
  a random background: what the prior gives for a prompt such as "a green triangle"), so a region's prompt
  names what goes in it;
- "rect", "blob": random holes; the embedding is the whole scene's;
- "zoom": the scene shrunk 1.25-2x into the middle of a canvas of its background, the border band repainted;
- "pan": a band along one side repainted (the canvas extended that way).
Zoom and pan are steered as the Hub steers them: half the scene's embedding (what the prior gives for its
prompt), half the new canvas's own (the picture as it will be framed).

Everything is drawn on the CPU generators with a seed, as the other stages.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from tqdm import tqdm

from hub.mini import world
from hub.mini.stage import Stage, bucket_share, cosine_lr, optimise, save_atomic
from hub.mini.tiny import widened_unet

KINDS = {"object": 0.35, "rect": 0.08, "blob": 0.07, "zoom": 0.32, "pan": 0.18}
LATENT_SCALE = 4  # the mini MoVQ's downscale: a latent pixel is 4x4 pixels


def keep_grid(repaint: torch.Tensor, latent_hw: tuple[int, int]) -> torch.Tensor:
    """(B, 1, H, W) pixel repaint masks (1 = repaint) -> the keep mask the inpaint pipeline gives its UNet: inverted,
    nearest-sampled to the latent grid, then every latent pixel next to a repainted one repainted too (diffusers'
    `prepare_mask`, whose six neighbours are these, vectorised)."""
    keep = F.interpolate(1 - repaint.float(), latent_hw, mode="nearest")
    hole = keep < 0.5
    grown = hole.clone()
    padded = F.pad(hole.float(), (1, 1, 1, 1)).bool()
    h, w = latent_hw
    for dy, dx in ((1, 0), (0, 1), (1, 1), (-1, 0), (0, -1), (-1, -1)):  # p repainted if p + (dy, dx) is a hole
        grown |= padded[:, :, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
    return (~grown).float()


def _alone(o: world.Obj, rng: random.Random) -> world.Scene:
    """One object drawn square in the middle, on a random background: what a region's prompt describes."""
    background = rng.choice([b for b in world.BACKGROUNDS if b != o.colour])
    obj = world.Obj(o.shape, o.colour, o.size, 0.5, 0.5, "centre")
    return world.Scene(background, (obj,))


def _box(o: world.Obj, width: int, height: int) -> tuple[float, float, float, float]:
    r = world.radius(o, width, height) * 1.15
    return o.cx * width - r, o.cy * height - r, o.cx * width + r, o.cy * height + r


def example(rng: random.Random, size: tuple[int, int]) -> tuple[Image.Image, np.ndarray, world.Scene, bool]:
    """(target picture, repaint mask (H, W) of 0/1, the scene whose square picture conditions the decoder, and
    whether the target's own picture steers half: zoom and pan, as the Hub runs them)."""
    width, height = size
    kind = rng.choices(list(KINDS), list(KINDS.values()))[0]
    scene = world.sample_scene(rng, size=size)
    target = world.render(scene)
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    cond = scene
    if kind == "object":
        o = rng.choice(scene.objects)
        x0, y0, x1, y1 = _box(o, width, height)
        grow = [rng.uniform(0, 0.25) * (width if i % 2 == 0 else height) for i in range(4)]
        box = [x0 - grow[0], y0 - grow[1], x1 + grow[2], y1 + grow[3]]
        (draw.ellipse if rng.random() < 0.3 else draw.rectangle)(box, fill=255)
        if rng.random() < 0.7:
            cond = _alone(o, rng)
    elif kind == "rect":
        w, h = rng.uniform(0.15, 0.6) * width, rng.uniform(0.15, 0.6) * height
        x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
        draw.rectangle([x, y, x + w, y + h], fill=255)
    elif kind == "blob":
        for _ in range(rng.randint(1, 3)):
            w, h = rng.uniform(0.15, 0.5) * width, rng.uniform(0.15, 0.5) * height
            x, y = rng.uniform(-w / 3, width - 2 * w / 3), rng.uniform(-h / 3, height - 2 * h / 3)
            draw.ellipse([x, y, x + w, y + h], fill=255)
    elif kind == "zoom":
        factor = rng.choice([1.5, 2.0, rng.uniform(1.25, 2.0)])
        inner = zoom_box(size, factor)
        canvas = Image.new("RGB", size, world.COLOURS[scene.background])
        small = target.resize((inner[2] - inner[0], inner[3] - inner[1]), Image.LANCZOS)
        canvas.paste(small, inner[:2])
        target = canvas
        draw.rectangle([0, 0, width, height], fill=255)
        draw.rectangle([inner[0], inner[1], inner[2] - 1, inner[3] - 1], fill=0)
    else:  # pan: a band along one side
        side = rng.choice("lrtb")
        share = rng.uniform(0.25, 0.5)
        band = round(share * (width if side in "lr" else height))
        box = {
            "l": [0, 0, band - 1, height],
            "r": [width - band, 0, width, height],
            "t": [0, 0, width, band - 1],
            "b": [0, height - band, width, height],
        }[side]
        draw.rectangle(box, fill=255)
    return target, (np.asarray(mask) > 127).astype(np.uint8), cond, kind in ("zoom", "pan")


def zoom_box(size: tuple[int, int], factor: float) -> tuple[int, int, int, int]:
    """Where a zoom-out by `factor` puts the original in a canvas of `size`: (left, top, right, bottom), centred."""
    width, height = size
    w, h = max(1, round(width / factor)), max(1, round(height / factor))
    left, top = (width - w) // 2, (height - h) // 2
    return left, top, left + w, top + h


def _tensor(images: list[Image.Image], device) -> torch.Tensor:
    arr = np.stack([np.asarray(im.convert("RGB")) for im in images])
    return (torch.from_numpy(arr).to(device).permute(0, 3, 1, 2).float() / 127.5 - 1).contiguous()


def inpaint_pool(work, movq, embed, seed: int, total: int, weights: dict, name: str = "inpaint-pool") -> dict:
    """Per aspect-ratio bucket: (target latents fp16, keep masks on the latent grid, conditioning embeddings),
    drawn once and kept in `work`. `embed`: pictures in [-1, 1] -> CLIP image embeddings (the vision tower)."""
    path = work / f"{name}.pt"
    if path.exists():
        saved = torch.load(path)
        return {tuple(map(int, k.split("x"))): (v["latents"], v["keep"], v["embeds"]) for k, v in saved.items()}
    rng = random.Random(seed)
    dev = next(movq.parameters()).device
    pools = {}
    with torch.no_grad():
        for (width, height), weight in tqdm(weights.items(), desc="inpaint pool", unit="bucket"):
            n = bucket_share(total, weight, 64)
            lat, keeps, embs = [], [], []
            for start in range(0, n, 256):
                batch = [example(rng, (width, height)) for _ in range(min(256, n - start))]
                z = movq.encode(_tensor([t for t, _, _, _ in batch], dev)).latents
                repaint = torch.from_numpy(np.stack([m for _, m, _, _ in batch]))[:, None].to(dev)
                lat.append(z.half().cpu())
                keeps.append(keep_grid(repaint, tuple(z.shape[-2:])).bool().cpu())
                scene = embed(_tensor([world.render(c.square()) for _, _, c, _ in batch], dev))
                square = [t.resize((world.SIZE, world.SIZE), Image.LANCZOS) for t, _, _, _ in batch]
                framed = embed(_tensor(square, dev))  # squeezed square, as the image processor does
                mixed = torch.tensor([m for _, _, _, m in batch], device=dev)[:, None]
                embs.append(torch.where(mixed, 0.5 * (scene + framed), scene).cpu())
            pools[(width, height)] = (torch.cat(lat), torch.cat(keeps), torch.cat(embs))
    save_atomic({f"{w}x{h}": {"latents": z, "keep": k, "embeds": e} for (w, h), (z, k, e) in pools.items()}, path)
    return pools


def train_inpaint(work, cfg, decoder_unet, sched, pools: dict, weights: dict, zero_embed):
    """Train (or resume) the inpainting UNet from `decoder_unet`; returns it in eval mode."""
    from diffusers.training_utils import EMAModel

    dev = next(decoder_unet.parameters()).device
    unet = widened_unet(copy.deepcopy(decoder_unet).float()).to(dev).requires_grad_(True)
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.inpaint_lr, weight_decay=0.01)
    ema = EMAModel(unet.parameters(), decay=0.995)
    stage = Stage(
        work,
        "inpaint",
        {"unet": unet},
        opt,
        cfg.inpaint_steps,
        cfg.checkpoint_every,
        extra=lambda: {"ema": ema.state_dict()},
    )
    if "ema" in stage.state:
        ema.load_state_dict(stage.state["ema"])
    if stage.finished:
        ema.copy_to(unet.parameters())
        return unet.eval().requires_grad_(False)
    buckets = list(pools)
    bucket_weights = [weights[b] for b in buckets]
    alphas = sched.alphas_cumprod.to(dev)
    snr = alphas / (1 - alphas)
    weight = snr / (snr + 1)  # the UNet stage's weighting for v (no Min-SNR clamp)
    zero_embed = zero_embed.to(dev)
    unet.train()
    for step in stage.loop():
        cosine_lr(opt, step, cfg.inpaint_steps, cfg.inpaint_lr)
        z_all, keep_all, e_all = pools[random.choices(buckets, bucket_weights)[0]]
        i = torch.randint(0, len(z_all), (cfg.inpaint_batch,))
        z0, keep, emb = z_all[i].float().to(dev), keep_all[i].float().to(dev), e_all[i].to(dev)
        n = len(z0)
        strength = cfg.cond_noise * torch.rand(n, 1)
        cond_noise = torch.randn(emb.shape)
        drop = torch.rand(n) < cfg.cond_drop
        t = torch.randint(0, len(alphas), (n,))
        noise = torch.randn(z0.shape)
        strength, cond_noise, drop, t, noise = (x.to(dev) for x in (strength, cond_noise, drop, t, noise))
        emb = emb + strength * emb.norm(dim=1, keepdim=True) / emb.shape[1] ** 0.5 * cond_noise
        emb[drop] = zero_embed
        a = alphas[t].view(-1, 1, 1, 1)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        model_in = torch.cat([zt, z0 * keep, keep], dim=1)
        pred = unet(model_in, t, encoder_hidden_states=None, added_cond_kwargs={"image_embeds": emb}).sample
        target = a.sqrt() * noise - (1 - a).sqrt() * z0
        # the hole counts four times what is kept: the kept latents are given, the hole is the lesson
        where = 1 + 3 * (1 - keep)
        err = ((pred[:, : z0.shape[1]] - target).pow(2) * where).mean((1, 2, 3)) / where.mean((1, 2, 3))
        loss = (weight[t] * err).mean()
        optimise(opt, unet, loss, ema)
        if step % 200 == 0:
            tqdm.write(f"inpaint {step}: loss {loss.item():.4f}")
    ema.copy_to(unet.parameters())
    return unet.eval().requires_grad_(False)


def save_inpaint(unet, out) -> None:
    """`out`/unet in fp16 safetensors, as the other weights (the decoder's MoVQ and scheduler serve it)."""
    copy.deepcopy(unet).half().save_pretrained(Path(out) / "unet", safe_serialization=True)
