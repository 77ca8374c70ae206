"""The draft decoder: the mini's UNet distilled to a few steps with its guidance built in (`train-mini` stage
"draft", or `lienzo train-mini --draft-from FOLDER` for a model already trained: hub/mini/from_folder.py's draft_from).

Latent consistency distillation (Luo et al. 2023, "LCM"), as diffusers' LCMScheduler samples it: on the grid of
50 DDIM timesteps (19, 39 ... 999), the student learns to map a noisy latent at t straight to where the
*guided* teacher's trajectory ends, by agreeing with an EMA copy of itself one DDIM step of the teacher further on.
The teacher runs classifier-free guidance (its own scale, two UNet rows an image); the student needs neither the
unconditional row nor more than a few steps, which is what makes a draft fast.
"""

from __future__ import annotations

import copy
import json

import torch
from tqdm import tqdm

from hub.mini.stage import Stage, cosine_lr, optimise

GRID = 50  # DDIM timesteps of the distillation grid: LCMScheduler's original_inference_steps
TIMESTEP_SCALING = 10.0  # LCMScheduler's boundary-condition scaling (its default)
SIGMA_DATA = 0.5


def scalings(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """c_skip, c_out of LCM's boundary condition (f(x, 0) = x), as LCMScheduler computes them."""
    scaled = t.float() * TIMESTEP_SCALING
    c_skip = SIGMA_DATA**2 / (scaled**2 + SIGMA_DATA**2)
    c_out = scaled / (scaled**2 + SIGMA_DATA**2) ** 0.5
    return c_skip.view(-1, 1, 1, 1), c_out.view(-1, 1, 1, 1)


def _v(unet, z, t, emb) -> torch.Tensor:
    return unet(z, t, encoder_hidden_states=None, added_cond_kwargs={"image_embeds": emb}).sample[:, : z.shape[1]]


def _x0_eps(z, v, a):
    """x0 and noise from a v-prediction at cumulative alpha `a`."""
    return a.sqrt() * z - (1 - a).sqrt() * v, (1 - a).sqrt() * z + a.sqrt() * v


def lcm_scheduler_config(teacher_config: dict) -> dict:
    """The LCMScheduler that samples the student: the teacher's noise schedule, the distillation grid."""
    keep = ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "prediction_type", "trained_betas")
    return {
        **{k: teacher_config[k] for k in keep if k in teacher_config},
        "original_inference_steps": GRID,
        "timestep_scaling": TIMESTEP_SCALING,
        "timestep_spacing": "leading",
        "clip_sample": False,
        "set_alpha_to_one": True,
    }


def distil_decoder(work, cfg, teacher, sched, pool, zero_embed, init=None):
    """Train (or resume) the draft student from `teacher`; returns it, in eval mode. `cfg`: TrainConfig's draft_*
    fields and cond_noise (the decoder meets the prior's embeddings, as in the UNet stage). Runs on the device
    the teacher is on. `pool`: a stage.BucketPool (the UNet stage's scenes at every aspect, on that device)."""
    device = next(teacher.parameters()).device
    zero_embed = zero_embed.to(device)
    from diffusers.training_utils import EMAModel

    teacher.eval().requires_grad_(False)
    # the student starts as the teacher, or as `init` (a draft decoder distilled from an earlier teacher)
    student = copy.deepcopy(init if init is not None else teacher).float().to(device).requires_grad_(True)
    target = copy.deepcopy(student).requires_grad_(False)
    opt = torch.optim.AdamW(student.parameters(), lr=cfg.draft_lr, weight_decay=0.0)
    ema = EMAModel(student.parameters(), decay=cfg.draft_ema)
    stage = Stage(
        work,
        "draft",
        {"unet": student},
        opt,
        cfg.draft_steps,
        cfg.checkpoint_every,
        extra=lambda: {"ema": ema.state_dict()},
    )
    if "ema" in stage.state:
        ema.load_state_dict(stage.state["ema"])
        ema.copy_to(target.parameters())
    if stage.finished:
        return student.eval().requires_grad_(False)
    alphas = sched.alphas_cumprod.to(device)
    k = sched.config.num_train_timesteps // GRID
    grid = torch.arange(1, GRID + 1, device=device) * k - 1  # 19, 39 ... 999
    w = cfg.draft_guidance
    student.train()
    for step in stage.loop():
        cosine_lr(opt, step, cfg.draft_steps, cfg.draft_lr)
        # every random draw on the CPU generator, whatever the device: the same recipe draws the same numbers
        z0, emb, *_ = pool.draw(cfg.draft_batch)  # one aspect-ratio bucket a batch
        n = len(z0)
        strength = cfg.cond_noise * torch.rand(n, 1)
        cond_noise = torch.randn(n, emb.shape[1])
        t = grid[torch.randint(0, GRID, (n,)).to(device)]
        noise = torch.randn(z0.shape)
        strength, cond_noise, noise = (x.to(device) for x in (strength, cond_noise, noise))
        emb = emb + strength * emb.norm(dim=1, keepdim=True) / emb.shape[1] ** 0.5 * cond_noise
        s = (t - k).clamp(min=0)
        a_t, a_s = alphas[t].view(-1, 1, 1, 1), alphas[s].view(-1, 1, 1, 1)
        zt = a_t.sqrt() * z0 + (1 - a_t).sqrt() * noise
        with torch.no_grad():
            both = _v(teacher, torch.cat([zt, zt]), torch.cat([t, t]), torch.cat([emb, zero_embed.expand_as(emb)]))
            v_cond, v_uncond = both.chunk(2)
            x0, eps = _x0_eps(zt, v_uncond + w * (v_cond - v_uncond), a_t)
            zs = a_s.sqrt() * x0 + (1 - a_s).sqrt() * eps  # one DDIM step of the guided teacher, t -> s
            skip_s, out_s = scalings(s)
            target_x0, _ = _x0_eps(zs, _v(target, zs, s, emb), a_s)
            goal = skip_s * zs + out_s * target_x0
        skip_t, out_t = scalings(t)
        pred_x0, _ = _x0_eps(zt, _v(student, zt, t, emb), a_t)
        pred = skip_t * zt + out_t * pred_x0
        loss = (torch.sqrt((pred - goal).pow(2) + cfg.draft_huber**2) - cfg.draft_huber).mean()  # pseudo-Huber
        optimise(opt, student, loss, ema)
        ema.copy_to(target.parameters())  # the target network is the student's EMA
        if step % 100 == 0:
            tqdm.write(f"draft {step}: loss {loss.item():.5f}")
    return student.eval().requires_grad_(False)


def save_draft(student, teacher_scheduler_config: dict, out) -> None:
    """`out`/unet (fp16, as the other weights) and `out`/scheduler (the LCMScheduler that samples it)."""
    from pathlib import Path

    from diffusers import LCMScheduler

    out = Path(out)
    copy.deepcopy(student).half().save_pretrained(out / "unet", safe_serialization=True)
    config = out / "unet" / "config.json"  # where the teacher was loaded from: this machine's path, not the folder's
    kept = json.loads(config.read_text(encoding="utf-8")) | {"_name_or_path": "decoder/unet"}
    config.write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    LCMScheduler.from_config(lcm_scheduler_config(dict(teacher_scheduler_config))).save_pretrained(out / "scheduler")
