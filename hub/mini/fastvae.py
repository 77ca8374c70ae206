"""The mini's tiny latent decoder (`train-mini` stage "fastvae", or `lienzo train-mini --fastvae-from FOLDER`).

diffusers' AutoencoderTiny (the TAESD architecture: plain 3x3 convs, no attention, no normalisation) taught to
decode the MoVQ's latents as the MoVQ does, at about a quarter of its cost on a CPU (4 pictures at 64x64: 18 ms
against 67 ms on 2 cores). Drafts are decoded with it, and so are the progress previews of every job, as TAESD does
for Stable Diffusion in A1111 and ComfyUI; a full-quality picture is always the MoVQ's own decode.

Distillation, not reconstruction: its targets are the MoVQ decoder's pictures, so a draft looks like what the full
decoder would have drawn from the same latents. The latents are the MoVQ encoder's, of drawn scenes in every
aspect-ratio bucket, half of them with a little noise added (a few-step draft's latents are not quite an
encoder's). The encoder half learns the way back (the teacher's picture -> its latents), so the folder is a whole
autoencoder and `encode` gives usable latents too (the shipped one, on 32 fresh scenes: mean squared difference
0.004 from the MoVQ encoder's unit-variance latents; the MoVQ's pictures of the two differ by 3.6 levels of 255).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from hub.mini.stage import BucketPool, Stage, bucket_share, cosine_lr, save_atomic

FOLDER = "vae-fast"  # in a model folder, beside decoder/ (hub/loading.py reads it)
DECODER_CHANNELS = (32, 32, 32)  # two 2x upsamplings: the MoVQ's 16x16 latents of a 64x64 picture
DECODER_BLOCKS = (3, 3, 1)  # the width goes into the small sizes, where a conv is cheap
ENCODER_CHANNELS = (32, 32, 32)
ENCODER_BLOCKS = (1, 1, 1)
AUGMENT = 0.25  # the largest noise (in latent standard deviations: the MoVQ's latents are unit-variance)


def new_fastvae(latent_channels: int = 4):
    from diffusers import AutoencoderTiny

    return AutoencoderTiny(
        latent_channels=latent_channels,
        decoder_block_out_channels=DECODER_CHANNELS,
        num_decoder_blocks=DECODER_BLOCKS,
        encoder_block_out_channels=ENCODER_CHANNELS,
        num_encoder_blocks=ENCODER_BLOCKS,
    )


@torch.no_grad()
def fastvae_pool(work: Path, movq, batches, scenes: int, weights: dict, pixels) -> dict:
    """Per aspect bucket: (latents, the MoVQ decoder's picture of them in fp16), computed once, kept in `work`.
    `pixels`: scenes -> (B, 3, H, W) in [-1, 1] (hub/mini/data.py's)."""
    path = work / "fastvae-pool.pt"
    if path.exists():
        saved = torch.load(path)
        return {tuple(map(int, k.split("x"))): (v["latents"], v["pictures"]) for k, v in saved.items()}
    dev = next(movq.parameters()).device
    pools = {}
    for (width, height), weight in tqdm(weights.items(), desc="fastvae pool", unit="bucket"):
        n = bucket_share(scenes, weight, 16)
        latents, pictures = [], []
        for start in range(0, n, 64):
            z = movq.encode(pixels(batches.scenes(min(64, n - start), (width, height)), device=dev)).latents
            half = torch.arange(len(z), device=dev) % 2 == 1  # every other row: a little noise added
            sigma = AUGMENT * torch.rand(len(z), 1, 1, 1).to(dev) * half.view(-1, 1, 1, 1)
            z = z + sigma * torch.randn(z.shape).to(dev)
            latents.append(z.cpu())
            pictures.append(movq.decode(z, force_not_quantize=True).sample.clamp(-1, 1).half().cpu())
        pools[(width, height)] = (torch.cat(latents), torch.cat(pictures))
    save_atomic({f"{w}x{h}": {"latents": z, "pictures": p} for (w, h), (z, p) in pools.items()}, path)
    return pools


def train_fastvae(work: Path, cfg, pools: dict, weights: dict, device, init=None) -> torch.nn.Module:
    """Train (or resume) the tiny autoencoder on `pools` (fastvae_pool's), drawing buckets by `weights`, from `init`
    (a trained one, continued) or afresh; returns it in eval mode."""
    vae = (init if init is not None else new_fastvae(next(iter(pools.values()))[0].shape[1])).to(device)
    opt = torch.optim.AdamW(vae.parameters(), lr=cfg.fastvae_lr, weight_decay=0.0)
    stage = Stage(work, "fastvae", {"vae": vae}, opt, cfg.fastvae_steps, cfg.checkpoint_every)
    if stage.finished:
        return vae.eval().requires_grad_(False)
    pool = BucketPool(pools, weights, device)
    vae.train()
    for step in stage.loop():
        cosine_lr(opt, step, cfg.fastvae_steps, cfg.fastvae_lr)
        z, target = pool.draw(cfg.fastvae_batch)
        target = target.float()
        out = vae.decoder(z)
        back = vae.encoder(target)
        loss = F.l1_loss(out, target) + F.mse_loss(out, target) + 0.5 * F.mse_loss(back, z)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        if step % 200 == 0:
            tqdm.write(f"fastvae {step}: loss {loss.item():.4f}")
    return vae.eval().requires_grad_(False)


def save_fastvae(vae, out: Path) -> None:
    """`out` (a model folder's vae-fast/), fp16 like the other weights."""
    import copy

    copy.deepcopy(vae).half().save_pretrained(Path(out), safe_serialization=True)
